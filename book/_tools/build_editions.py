"""Build the book's two editions: the full book and the student edition, which has no solutions anywhere.

    python book/_tools/build_editions.py              # both: _build/html and _build/student/_build/html
    python book/_tools/build_editions.py --student    # only the student edition
    python book/_tools/build_editions.py --sync       # only refresh student/book/*.ipynb (no HTML)
    python book/_tools/build_editions.py --student-tree DIR   # the files of the repository's `student` branch

The full edition is ``jupyter-book build .`` (-W --keep-going). The student edition is built from a temporary copy
of the book whose notebooks have every ``:::{solution}`` block removed, so neither its pages nor the notebooks and
sources its download buttons serve (``_sources/``) contain a solution. Its launch buttons (Colab) open
``book/NN_name.ipynb`` of the student branch (``_config_student.yml`` sets ``repository.branch: student``; the
branch, written by ``--student-tree``, holds ``student/book/NN_name.ipynb`` of this repository there): the same
notebooks without solutions and without stored outputs (students run them), in plain Markdown
(no MyST: glued values written in, exercises numbered as in the HTML, each followed by an empty answer cell;
glue-only cells left out, hidden cells collapsed as Colab forms: :func:`colab_notebook`), written by this
script and by ``nbbuild.py`` whenever it writes a chapter, committed with the chapters, and kept in sync by
``tests/test_book_structure.py``. A publisher builds both editions with this one command and pushes the
repository (``student/`` included) for the launch links to work.

The student notebooks point at nothing that holds a solution: the repository's ``main`` branch holds
``book/*.ipynb`` with every solution, and the HTML book shows them in dropdowns. So their install cell installs
``git+<repository>@student`` and their links into the repository or the book's site are rewritten into the
``student`` branch where it has the same file, else turned into plain text (:func:`student_links`; links to
papers and docs stay). ``--student-tree DIR`` writes that branch's files (:func:`write_student_tree`): the
student notebooks (``book/NN_name.ipynb``), the library as ``pip install`` needs it (``pyproject.toml``,
``LICENSE``, ``ssgan_lib/`` with its stored results as real files) and a README for students; nothing else. An
instructor commits DIR as a history of its own (never a branch of ``main``: its history holds the solutions)
and pushes it as ``student`` (README.md, "Teach with it"); ``tests/test_student_edition.py`` checks the tree.
"""
from __future__ import annotations

import argparse
import ast
import copy
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
STUDENT_DIR = ROOT / "student"  # the student branch's book/ (_config_student.yml's launch buttons)
COLAB_DIR = ROOT / "colab"  # repository.path_to_book of _config.yml: the full edition's launch buttons
STUDENT_CONFIG = "_config_student.yml"
# what the student edition's temporary copy holds besides the stripped chapter notebooks
COPIED = ["_toc.yml", STUDENT_CONFIG, "book/_static", "book/_ext"]
SOLUTION_START = re.compile(r"^(?P<colons>:{3,})\{solution\}")
FENCE = re.compile(r"^(`{3,}|~{3,})")


def strip_solutions(md: str) -> str:
    """Markdown without its ``:::{solution}`` blocks (a block ends at the first line of exactly its colons outside
    a fenced code block; a blank line after it goes with it)."""
    lines, out, i = md.split("\n"), [], 0
    while i < len(lines):
        m = SOLUTION_START.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        colons, fence, i = m.group("colons"), None, i + 1
        while i < len(lines):
            f = FENCE.match(lines[i])
            if fence is None and f:
                fence = f.group(1)
            elif fence is not None and lines[i].strip().startswith(fence):
                fence = None
            elif fence is None and lines[i].strip() == colons:
                break
            i += 1
        i += 1  # the closing colons
        if i < len(lines) and not lines[i].strip() and (not out or not out[-1].strip()):
            i += 1
    return "\n".join(out)


def without_solutions(nb: nbformat.NotebookNode, keep_outputs: bool = True) -> nbformat.NotebookNode:
    """A copy of the notebook with every solution block removed from its markdown (a markdown cell that held
    only solutions is dropped); with keep_outputs=False also without outputs and execution counts."""
    nb = copy.deepcopy(nb)
    cells = []
    for c in nb.cells:
        if c.cell_type == "markdown" and "{solution}" in c.source:
            c.source = strip_solutions(c.source).strip("\n")
            if not c.source.strip():
                continue
        if c.cell_type == "code" and not keep_outputs:
            c.outputs, c.execution_count = [], None
            for k in ("execution", "ExecuteTime"):
                c.metadata.pop(k, None)
        cells.append(c)
    nb.cells = cells
    return nb


GLUE_TEXT = re.compile(r"\{glue:text\}`(?:(?P<nb>[^`:]+\.ipynb)::)?(?P<name>[^`:]+)(?::(?P<fmt>[^`]*))?`")
REF = re.compile(r"\{ref\}`(?P<target>[^`]+)`")
DIRECTIVE = re.compile(r"^(?P<colons>:{3,})\{(?P<name>[\w-]+)\}[ \t]*(?P<arg>.*)$")
EXERCISE = re.compile(r"^:{3,}\{exercise\}")
HIDDEN_TITLE = "#@title Code the book hides (double-click to show)"
STORED_NUMBERS = ("> **The numbers in the text** come from the run stored with the book (the HTML book shows its "
                  "outputs). The cells you run print your own: they differ with the size this notebook picks for "
                  "your machine, and from run to run.")


def glue_values(nb: nbformat.NotebookNode) -> dict[str, object]:
    """The values the notebook's stored run glued (name -> value), from its glue records."""
    values = {}
    for c in nb.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            meta = o.get("metadata", {}).get("scrapbook")
            if meta:
                text = o.get("data", {}).get(meta.get("mime_prefix", "") + "text/plain", "")
                try:
                    values[meta["name"]] = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    values[meta["name"]] = text
    return values


def exercise_numbers() -> dict[str, str]:
    """Every exercise label of the book -> its number as the HTML gives it ("6.2": chapter, then order)."""
    numbers = {}
    for nb_path in chapter_notebooks():
        chapter = int(nb_path.stem.split("_")[0]) if nb_path.stem[:2].isdigit() else 0
        k = 0
        for c in nbformat.read(nb_path, as_version=4).cells:
            if c.cell_type != "markdown":
                continue
            lines = c.source.split("\n")
            for i, line in enumerate(lines):
                if EXERCISE.match(line):
                    k += 1
                    label = next((m.group(1) for m in (re.match(r"^:label:\s*(\S+)", x) for x in lines[i + 1:i + 4])
                                  if m), None)
                    if label:
                        numbers[label] = f"{chapter}.{k}"
    return numbers


def plain_markdown(md: str, glue: dict, numbers: dict, chapter: int, first: int) -> tuple[str, int]:
    """MyST markdown as plain Markdown for Jupyter and Colab: glued values written in, references to exercises by
    number, each exercise as "**Exercise C.k**" (numbered from ``first``), other directives as quoted blocks.
    Returns the text and the number of exercises in it."""
    def value(m: re.Match) -> str:  # another chapter's value: "06_improved_gan.ipynb::name"
        source = glue_values(nbformat.read(BOOK / m.group("nb"), as_version=4)) if m.group("nb") else glue
        if m.group("name") not in source:
            raise SystemExit(f"chapter {chapter}: the text shows the glued value {m.group('name')!r}, which no stored "
                             "output holds: execute the notebook (nbbuild.py --execute) before writing its Colab copy")
        v = source[m.group("name")]
        fmt = m.group("fmt")
        return format(v, fmt) if fmt else str(v)

    md = GLUE_TEXT.sub(value, md)
    md = REF.sub(lambda m: f"Exercise {numbers[m.group('target')]}" if m.group("target") in numbers
                 else m.group("target"), md)
    # within a directive: close, its closing colons; ending, the lines that replace them; quote, its lines quoted
    out, close, ending, quote, k, options = [], None, [], False, 0, False
    for line in md.split("\n"):
        m = DIRECTIVE.match(line)
        if close is None and m:
            name, arg = m.group("name"), m.group("arg")
            close, ending, quote, options = m.group("colons"), [], False, True
            if name == "exercise":
                k += 1
                out.append(f"**Exercise {chapter}.{first + k - 1}**" + (f" ({arg})" if arg else ""))
            elif name == "solution":  # the full flavour: folded, opened by a click
                label = arg.strip()
                out += [f"<details><summary><b>Solution {numbers.get(label, label)}</b></summary>", ""]
                ending = ["", "</details>"]
            else:
                out.append(f"> **{name.capitalize()}.**" + (f" {arg}" if arg else ""))
                quote = True
            continue
        if close is not None and line.strip() == close:
            out += ending
            close, quote = None, False
            continue
        if close is not None and options and re.match(r"^:[\w-]+:", line):  # a directive's options (":label: x")
            continue
        options = False
        out.append(("> " + line if line else ">") if quote else line)
    return "\n".join(out), k


def colab_notebook(nb: nbformat.NotebookNode, chapter: int = 0, solutions: bool = False) -> nbformat.NotebookNode:
    """The chapter as a reader meets it in Jupyter or Colab: no outputs, no MyST (glued values written in, exercises
    as plain Markdown each followed by an empty answer cell), the book's bookkeeping cells left out and the cells it
    hides collapsed as Colab forms. ``solutions=False`` (the student flavour) leaves every solution out; with
    ``solutions=True`` (the full flavour) each solution follows its exercise, folded (``<details>``)."""
    glue, numbers = glue_values(nb), exercise_numbers()
    if solutions:
        nb = copy.deepcopy(nb)
        for c in nb.cells:
            if c.cell_type == "code":
                c.outputs, c.execution_count = [], None
                for key in ("execution", "ExecuteTime"):
                    c.metadata.pop(key, None)
    else:
        nb = without_solutions(nb, keep_outputs=False)
    cells, done = [], 0
    for c in nb.cells:
        tags = set(c.metadata.get("tags", []))
        if c.cell_type == "code" and "bookkeeping" in tags:
            continue  # glue() calls only: they hand numbers to the book's prose
        if c.cell_type == "code" and tags & {"hide-input", "hide-cell", "remove-cell"} and "colab-install" not in tags:
            c.source = HIDDEN_TITLE + "\n" + c.source
            c.metadata["cellView"] = "form"
        if c.cell_type == "markdown":
            text, n = plain_markdown(c.source, glue, numbers, chapter, done + 1)
            # each exercise in a cell of its own, followed by an empty cell to answer in
            parts = re.split(r"(?m)^(?=\*\*Exercise \d+\.\d+\*\*)", text)
            if parts[0].strip() or len(parts) == 1:
                c.source = parts[0].rstrip("\n")
                cells.append(c)
            for k, part in zip(range(done + 1, done + n + 1), parts[1:]):
                question = nbformat.v4.new_markdown_cell(part.rstrip("\n"))
                answer = nbformat.v4.new_code_cell(f"# Your answer to Exercise {chapter}.{k}\n")
                question.id, answer.id = f"exercise-{chapter}-{k}", f"answer-{chapter}-{k}"
                cells += [question, answer]
            done += n
            continue
        cells.append(c)
    title = next((i for i, c in enumerate(cells) if c.cell_type == "markdown" and re.match(r"#\s+\d+\.\s", c.source)),
                 None)
    if title is not None:  # right below the chapter's title: whose numbers the text gives
        note = nbformat.v4.new_markdown_cell(STORED_NUMBERS)
        note.id = f"stored-numbers-{chapter}"
        cells.insert(title + 1, note)
    if not solutions:  # the student flavour points at nothing that holds a solution
        for c in cells:
            c.source = student_links(c.source, markdown=c.cell_type == "markdown")
            if "colab-install" in c.metadata.get("tags", []) and f"@{STUDENT_BRANCH}" not in c.source:
                raise SystemExit(f"chapter {chapter}: the install cell names no git+<repository> to point at the "
                                 f"{STUDENT_BRANCH} branch: {c.source[-120:]!r}")
    nb.cells = cells
    return nb


def colab_notebook_text(nb: nbformat.NotebookNode, solutions: bool = False) -> str:
    """The text of student/book/NN_name.ipynb (``solutions=False``) or colab/book/NN_name.ipynb (``True``) for a
    chapter notebook (:func:`colab_notebook`)."""
    text = nbformat.writes(colab_notebook(nb, _chapter_of(nb), solutions))
    return text if text.endswith("\n") else text + "\n"


def _chapter_of(nb: nbformat.NotebookNode) -> int:
    """The chapter number in the notebook's title ("# 6. Improved GAN"), else 0."""
    for c in nb.cells:
        m = re.match(r"#\s+(\d+)\.\s", c.source) if c.cell_type == "markdown" else None
        if m:
            return int(m.group(1))
    return 0


def chapter_notebooks() -> list[Path]:
    toc = (ROOT / "_toc.yml").read_text()
    files = re.findall(r"^\s*(?:root|- file):\s*(\S+)", toc, re.M)
    return [ROOT / (f + ".ipynb") for f in files if (ROOT / (f + ".ipynb")).exists()]


def launch_paths(nb_path: Path) -> dict[bool, Path]:
    """Where the launch buttons' notebooks of a chapter live, by flavour: {False: student/<path> (the student
    edition's), True: colab/<path> (the full edition's, with solutions)}."""
    rel = nb_path.relative_to(ROOT)
    return {False: STUDENT_DIR / rel, True: COLAB_DIR / rel}


def write_launch_notebooks(nb_path: Path, nb: nbformat.NotebookNode | None = None) -> list[Path]:
    """Write student/<path> and colab/<path> for the chapter notebook at nb_path (read from disk unless given)."""
    nb = nb if nb is not None else nbformat.read(nb_path, as_version=4)
    written = []
    for solutions, out in launch_paths(nb_path).items():
        text = colab_notebook_text(nb, solutions)
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        written.append(out)
    return written


def sync_launch_notebooks() -> list[Path]:
    return [p for nb in chapter_notebooks() for p in write_launch_notebooks(nb)]


# ---- the student branch: the repository's branch that students get (no solution in its files nor its history)
STUDENT_BRANCH = "student"
STUDENT_TREE_FILES = ("pyproject.toml", "LICENSE")  # copied as they are, beside book/, ssgan_lib/ and README.md
LIBRARY = "ssgan_lib"
RESULTS_IN_LIBRARY = "ssgan_lib/evidence/_results"  # in the repository a link to book/results: real files in the tree
COLAB_GITHUB = "https://colab.research.google.com/github"
STUDENT_README_MARK = "<!-- written by book/_tools/build_editions.py --student-tree; edit that, not this -->"
# a markdown link (or image) and, as the other alternative, an address written out (pip's git+ form included)
_URL = r"(?:git\+)?https?://[^\s<>()\[\]{}\"'`]*[^\s<>()\[\]{}\"'`.,;:!?]"
_LINK = (r"(?P<bang>!?)\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"\n]*\")?\)"
         rf"|(?P<url>{_URL})")
# markdown's code: a fenced block, or a code span
_CODE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$|(`+)(?!`).+?(?<!`)\2(?!`)", re.M | re.S)


def repository_url() -> str:
    """The repository's URL, from _config.yml (nbbuild reads it; imported here, since nbbuild imports this module)."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import nbbuild

    return nbbuild.repository_url()


def github_repository() -> tuple[str, str]:
    """(owner, name) of the repository on GitHub."""
    m = re.fullmatch(r"https://github\.com/([^/\s]+)/([^/\s]+?)(?:\.git)?/?", repository_url())
    if not m:
        raise SystemExit(f"_config.yml's repository.url is not a GitHub repository: {repository_url()}")
    return m.group(1), m.group(2)


def book_site_urls() -> list[str]:
    """Where the HTML book may be served (its dropdowns show the solutions): _config.yml's html.baseurl if set,
    and the repository's GitHub Pages address."""
    owner, name = github_repository()
    urls = [f"https://{owner.lower()}.github.io/{name}"]
    m = re.search(r"^\s+baseurl:\s*[\"']?(https?://[^\s\"']+)", (ROOT / "_config.yml").read_text(), re.M)
    return urls + ([m.group(1).rstrip("/")] if m else [])


def student_url(path: str = "", colab: bool = False) -> str:
    """The address of ``path`` (a file of the student tree; "" its root) on the student branch: its GitHub page,
    or with ``colab`` the notebook opened in Colab."""
    owner, name = github_repository()
    if colab:
        return f"{COLAB_GITHUB}/{owner}/{name}/blob/{STUDENT_BRANCH}/{path}"
    if not path:
        return f"https://github.com/{owner}/{name}/tree/{STUDENT_BRANCH}"
    return f"https://github.com/{owner}/{name}/blob/{STUDENT_BRANCH}/{path}"


def student_path(path: str) -> str | None:
    """The path in the student tree of the repository's file ``path`` (a chapter in any flavour or as a page of
    the book: ``book/NN_name.ipynb``; a stored result: its copy in the library), or None where the tree has no
    such file (the book's other pages, tools, tests)."""
    path = path.strip("/")
    m = re.fullmatch(r"(?:student/|colab/)?book/(\w+)(?:\.ipynb|\.md|\.html)?", path)
    if m:
        return f"book/{m.group(1)}.ipynb" if (BOOK / f"{m.group(1)}.ipynb") in chapter_notebooks() else None
    if path.startswith("book/results/"):
        return RESULTS_IN_LIBRARY + path[len("book/results"):]
    return path if path in ("",) + STUDENT_TREE_FILES or path.split("/")[0] == LIBRARY else None


def student_link(target: str) -> str | None:
    """Where a link of a chapter points in the student edition: an external address as it is; the repository
    (any branch, on GitHub, raw or in Colab) and the book's pages at the same file of the student branch (a
    chapter page opens in Colab; ``git+<repository>`` gets ``@student``); None where the student branch has no
    such file (the text stays, the link goes). A relative target is relative to ``book/`` (the chapters')."""
    if target.startswith(("#", "mailto:")):
        return target
    owner, name = github_repository()
    repo = re.escape(f"{owner}/{name}")
    if target.startswith("git+"):
        m = re.fullmatch(rf"git\+https?://(?:www\.)?github\.com/{repo}(?:\.git)?(?:@[^#\s]*)?(?P<egg>#\S*)?",
                         target, re.I)
        return f"git+{repository_url()}@{STUDENT_BRANCH}" + (m.group("egg") or "") if m else target
    address = target.split("#")[0].split("?")[0]
    if re.match(r"https?://", address):
        hosts = [(rf"https?://(?:www\.)?github\.com/{repo}(?:\.git)?",
                  r"/(?:blob|tree|raw)/(?P<ref>[^/]+)(?P<path>/.*)?|@(?P<at>[^/]+)|/?"),
                 (rf"https?://raw\.githubusercontent\.com/{repo}", r"/(?P<ref>[^/]+)(?P<path>/.*)?"),
                 (rf"https?://colab\.research\.google\.com/github/{repo}", r"/blob/(?P<ref>[^/]+)(?P<path>/.*)?")]
        for host, form in hosts:
            m = re.match(host + r"(?=[/@]|$)", address, re.I)
            if not m:
                continue
            f = re.fullmatch(form, address[m.end():])
            if f is None:
                return None  # an issue, a commit, the history: nothing the student branch holds
            if STUDENT_BRANCH in (f.groupdict().get("ref"), f.groupdict().get("at")):
                return target  # already the student branch
            path = student_path(f.groupdict().get("path") or "")
            return None if path is None else student_url(path, colab=path.endswith(".ipynb"))
        for site in book_site_urls():
            if address.lower().rstrip("/") == site.lower() or address.lower().startswith(site.lower() + "/"):
                path = student_path(address[len(site):]) if address[len(site):].strip("/") else None
                return student_url(path, colab=True) if path and path.endswith(".ipynb") else None
        return target  # a paper, a library's documentation, another project
    if re.match(r"[a-z][a-z0-9+.-]*:", address, re.I):
        return target  # another scheme (ftp:, doi:, ...)
    path = os.path.normpath(os.path.join("book", address)).replace(os.sep, "/")
    if path.startswith("../") or path == "..":
        return None
    found = student_path(path)
    return None if found is None else student_url(found, colab=found.endswith(".ipynb"))


def student_links(text: str, markdown: bool = True) -> str:
    """``text`` (a cell's) with every link and address pointed away from what holds a solution (see
    :func:`student_link`): in markdown a link without a student equivalent becomes its text (an image its alt
    text); an address written out without one becomes the student branch's root. In code, and in markdown's code
    spans and fenced blocks, brackets are code: only the addresses written out there are rewritten."""
    def address(m: re.Match) -> str:
        new = student_link(m.group(0))
        return new if new is not None else student_url()

    def link(m: re.Match) -> str:
        if m.group("url") is not None:
            return address(m)
        inner = re.sub(_URL, address, m.group("text"))
        new = student_link(m.group("target"))
        return inner if new is None else f"{m.group('bang')}[{inner}]({new}{m.group('title') or ''})"

    if not markdown:
        return re.sub(_URL, address, text)
    out, done = [], 0
    for code in _CODE.finditer(text):
        out += [re.sub(_LINK, link, text[done:code.start()]), re.sub(_URL, address, code.group(0))]
        done = code.end()
    return "".join(out + [re.sub(_LINK, link, text[done:])])


def _library_files() -> dict[str, Path]:
    """What ``pip install`` of the repository ships (tree path -> file): every module of the library and the
    package data its pyproject.toml declares (the stored results, read through the _results link: real files)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib
    tools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8")).get("tool", {}).get("setuptools", {})
    files = {p.relative_to(ROOT).as_posix(): p for p in (ROOT / LIBRARY).rglob("*.py")
             if "__pycache__" not in p.parts and not p.is_relative_to(ROOT / RESULTS_IN_LIBRARY)}

    def matched(section: str) -> set[str]:
        found = set()
        for package, patterns in tools.get(section, {}).items():
            folder = ROOT / package.replace(".", "/")
            for pattern in patterns:
                found |= {(folder / f).relative_to(ROOT).as_posix()
                          for f in glob.glob(pattern, root_dir=folder) if (folder / f).is_file()}
        return found

    for rel in sorted(matched("package-data") - matched("exclude-package-data")):
        files[rel] = ROOT / rel
    return files


def student_readme() -> str:
    """The student branch's README.md: what it holds, how to open each chapter in Colab, how to run it locally."""
    title = re.search(r"^title:\s*[\"']?(.*?)[\"']?\s*$", (ROOT / "_config.yml").read_text(), re.M).group(1)
    owner, name = github_repository()
    rows = []
    for nb_path in chapter_notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        heading = next((c.source.split("\n")[0].lstrip("#").strip() for c in nb.cells
                        if c.cell_type == "markdown" and re.match(r"#\s+\d+\.\s", c.source)), nb_path.stem)
        rel = nb_path.relative_to(ROOT).as_posix()
        rows.append(f"| [{heading}]({rel}) | [Open in Colab]({student_url(rel, colab=True)}) |")
    return "\n".join([
        STUDENT_README_MARK,
        f"# {title} (student edition)",
        "",
        "The book's chapters as notebooks, with their exercises and without their solutions, and `ssgan_lib`, the",
        "library they import. Each exercise is followed by an empty cell for your answer; where an answer can be",
        "checked, the exercise names a function of `ssgan_lib.exercises` that prints `correct` or `not yet`.",
        "",
        "## Open a chapter in Colab",
        "",
        "| Chapter | |",
        "|---|---|",
        *rows,
        "",
        f"A chapter opens from this branch: `{COLAB_GITHUB}/{owner}/{name}/blob/{STUDENT_BRANCH}/<path>`.",
        f"Its first cell installs `ssgan_lib` from this branch too (`pip install git+{repository_url()}@"
        f"{STUDENT_BRANCH}`).",
        "Colab keeps none of your changes unless you save them: *File > Save a copy in Drive*. For the full sizes",
        "choose *Runtime > Change runtime type > GPU*; on a CPU each chapter picks a smaller size (its section",
        "\"Running this chapter\" says which, and how long it takes).",
        "",
        "## On your own machine",
        "",
        f"Download https://github.com/{owner}/{name}/archive/refs/heads/{STUDENT_BRANCH}.zip, unpack it and, in "
        "its folder:",
        "",
        "```bash",
        "python -m pip install -e . jupyterlab   # ssgan_lib with torch, torchvision, matplotlib, tqdm, numpy",
        "jupyter lab book/",
        "```",
        "",
        "MNIST is downloaded on first use into `data/` (set `SSGAN_DATA_DIR` to a folder that holds it already).",
        "",
    ])


def write_student_tree(dest: Path) -> list[Path]:
    """Write into ``dest`` the files of the repository's student branch, and only those: the student notebooks
    (``book/NN_name.ipynb``, as ``student/book/`` holds them), the library as ``pip install`` builds it
    (``pyproject.toml``, ``LICENSE``, ``ssgan_lib/`` with its stored results as real files) and a README for
    students (:func:`student_readme`). ``dest`` is new, empty or a tree written here before (its ``.git`` is
    kept, everything else replaced). Returns the files written."""
    dest = Path(dest).resolve()
    if dest == ROOT or dest in ROOT.parents:
        raise SystemExit(f"{dest} holds the repository: give a folder of its own, e.g. _build/student-branch")
    if dest.exists():
        old = [p for p in dest.iterdir() if p.name != ".git"]
        readme = dest / "README.md"
        if old and not (readme.is_file() and readme.read_text(errors="ignore").startswith(STUDENT_README_MARK)):
            raise SystemExit(f"{dest} is neither empty nor a student tree written before: give another folder")
        for p in old:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    dest.mkdir(parents=True, exist_ok=True)
    texts = {nb_path.relative_to(ROOT).as_posix(): colab_notebook_text(nbformat.read(nb_path, as_version=4))
             for nb_path in chapter_notebooks()}
    texts["README.md"] = student_readme()
    copies = {**{name: ROOT / name for name in STUDENT_TREE_FILES}, **_library_files()}
    written = []
    for rel, text in texts.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text, encoding="utf-8")
        written.append(dest / rel)
    for rel, src in copies.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest / rel)  # follows the _results link: a real file
        written.append(dest / rel)
    return sorted(written)


def _jupyter_book() -> str:
    jb = shutil.which("jupyter-book") or str(Path(sys.executable).with_name("jupyter-book"))
    if not Path(jb).exists():
        raise SystemExit("jupyter-book is not installed (pip install -r requirements.txt)")
    return jb


def _run(cmd: list[str]) -> None:
    print("+ " + " ".join(cmd), flush=True)
    res = subprocess.run(cmd)
    if res.returncode:
        raise SystemExit(f"book build failed (exit {res.returncode})")


def build_full(out: Path | None = None) -> Path:
    """``jupyter-book build .`` with warnings as errors; the HTML is in <out>/_build/html (out: the repository,
    as the plain command)."""
    cmd = [_jupyter_book(), "build", str(ROOT), "-W", "--keep-going"]
    if out is not None:
        cmd += ["--path-output", str(out)]
    _run(cmd)
    return (out or ROOT) / "_build" / "html"


def student_source_tree(dest: Path) -> Path:
    """Fill dest with the book as the student edition is built from: the chapter notebooks without solutions
    (outputs kept: the pages show them), the other pages, the config, the static files."""
    for rel in COPIED:
        src = ROOT / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for page in BOOK.glob("*.md"):
        shutil.copy2(page, dest / "book" / page.name)
    for nb_path in chapter_notebooks():
        nb = without_solutions(nbformat.read(nb_path, as_version=4), keep_outputs=True)
        nbformat.write(nb, dest / nb_path.relative_to(ROOT))
    return dest


def build_student(out: Path | None = None, sync: bool = True) -> Path:
    """The student edition: refresh student/book/*.ipynb (unless sync=False), build from a stripped temporary
    copy; the HTML is in <out>/_build/html (default out: _build/student, as before)."""
    out = (out or ROOT / "_build" / "student").resolve()
    if sync:
        sync_launch_notebooks()
    with tempfile.TemporaryDirectory(prefix="ssgan-student-") as tmp:
        src = student_source_tree(Path(tmp))
        _run([_jupyter_book(), "build", str(src), "--config", str(src / STUDENT_CONFIG), "--path-output", str(out),
              "-W", "--keep-going"])
    html = out / "_build" / "html"
    leaked = [p for p in (html / "_sources").rglob("*") if p.is_file() and "{solution}" in p.read_text(errors="ignore")]
    if leaked:
        raise SystemExit(f"a solution is in the student edition's sources: {leaked}")
    return html


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="build the full edition only")
    ap.add_argument("--student", action="store_true", help="build the student edition only")
    ap.add_argument("--sync", action="store_true", help="only write student/book/*.ipynb and colab/book/*.ipynb")
    ap.add_argument("--student-tree", type=Path, metavar="DIR",
                    help="only write the student branch's files into DIR (new, empty or written here before)")
    args = ap.parse_args()
    if args.student_tree:
        files = write_student_tree(args.student_tree)
        print(f"{len(files)} files in {args.student_tree}: commit them as a history of their own and push it as the "
              f"repository's {STUDENT_BRANCH} branch (README.md, 'Teach with it')")
        return
    if args.sync:
        for p in sync_launch_notebooks():
            print(p.relative_to(ROOT))
        return
    both = not (args.full or args.student)
    if args.full or both:
        print(f"full edition: {build_full() / 'index.html'}")
    if args.student or both:
        print(f"student edition: {build_student() / 'index.html'}")


if __name__ == "__main__":
    main()
