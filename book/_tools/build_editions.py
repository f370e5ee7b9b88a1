"""Build the book's two editions: the full book and the student edition, which has no solutions anywhere.

    python book/_tools/build_editions.py              # both: _build/html and _build/student/_build/html
    python book/_tools/build_editions.py --student    # only the student edition
    python book/_tools/build_editions.py --sync       # only refresh student/book/*.ipynb (no HTML)

The full edition is ``jupyter-book build .`` (-W --keep-going). The student edition is built from a temporary copy
of the book whose notebooks have every ``:::{solution}`` block removed, so neither its pages nor the notebooks and
sources its download buttons serve (``_sources/``) contain a solution. Its launch buttons (Colab) open
``student/book/NN_name.ipynb`` in the repository (``_config_student.yml`` sets ``repository.path_to_book:
student``): the same notebooks without solutions and without stored outputs (students run them), in plain Markdown
(no MyST: glued values written in, exercises numbered as in the HTML, each followed by an empty answer cell;
glue-only cells left out, hidden cells collapsed as Colab forms: :func:`colab_notebook`), written by this
script and by ``nbbuild.py`` whenever it writes a chapter, committed with the chapters, and kept in sync by
``tests/test_book_structure.py``. A publisher builds both editions with this one command and pushes the
repository (``student/`` included) for the launch links to work.
"""
from __future__ import annotations

import argparse
import ast
import copy
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
STUDENT_DIR = ROOT / "student"  # repository.path_to_book of _config_student.yml
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
        if c.cell_type == "code" and tags & {"hide-input", "remove-cell"} and "colab-install" not in tags:
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
    args = ap.parse_args()
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
