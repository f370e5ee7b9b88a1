"""The student branch, as ``python book/_tools/build_editions.py --student-tree DIR`` writes it: what students get
holds no solution and points at nothing that does.

The repository's ``main`` branch holds ``book/*.ipynb`` with every solution and the HTML book shows them in
dropdowns, so the tree (the files an instructor pushes as the ``student`` branch) is checked here, built into a
temporary folder:

(a) no file of it holds the text of a solution: every line longer than 30 characters of a ``:::{solution}`` block
    of ``book/_src/*.py`` (read here by a parser of its own, not by the tool), less the lines the book also shows
    outside its solutions (an exercise's own call of its check, an import); in ``ssgan_lib/`` the library's own
    code is allowed (the library implements some exercises' answers: the checks compare with them and refuse
    them, and ``pip install`` puts them on every student's disk anyway);
(b) every address in its notebooks and README is external (not the repository, not the book's site) or points at
    the ``student`` branch, at a file the tree has; the notebooks have no relative link (Colab cannot follow one);
(c) the install cell of every notebook installs ``git+<repository>@student``;
(d) ``pip wheel --no-deps`` of it builds a wheel that ships every module and stored result of the tree;
and it holds nothing else than the notebooks, the library, its packaging files and the README.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_tools"))
import build_editions  # noqa: E402
import nbbuild  # noqa: E402

BRANCH = "student"
MIN_LEN = 30  # a solution line longer than this is its own text, not a generic line


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("student-branch") / "tree"
    build_editions.write_student_tree(dest)
    return dest


def tree_files(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*") if p.is_file() or p.is_symlink())


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


# ---- the solutions, read from the chapters' sources -------------------------------------------------------------

def _markdown_lines(src: Path) -> list[str | None]:
    """The lines of a percent-format source, markdown comment lines without their ``# `` (code lines: None)."""
    out, markdown = [], False
    for line in src.read_text(encoding="utf-8").split("\n"):
        if line.startswith("# %%"):
            markdown = "[markdown]" in line
            out.append(None)
        elif markdown and (line.startswith("# ") or line == "#"):
            out.append(line[2:])
        else:
            out.append(None)
    return out


def solutions_and_rest(src: Path) -> tuple[dict[str, list[str]], str]:
    """({label: the lines of its solution block}, the source's text outside its solution blocks)."""
    lines, raw = _markdown_lines(src), src.read_text(encoding="utf-8").split("\n")
    blocks, rest, i = {}, [], 0
    while i < len(lines):
        m = re.match(r"^(:{3,})\{solution\}\s*(\S*)", lines[i] or "")
        if not m:
            rest.append(raw[i] if lines[i] is None else lines[i])
            i += 1
            continue
        colons, label, fence, body = m.group(1), m.group(2), None, []
        i += 1
        while i < len(lines) and lines[i] is not None:
            text = lines[i]
            f = re.match(r"^\s*(`{3,}|~{3,})", text)
            if fence is None and f:
                fence = f.group(1)
            elif fence is not None and text.strip().startswith(fence):
                fence = None
            elif fence is None and text.strip() == colons:
                break
            body.append(text)
            i += 1
        blocks[label] = body
        i += 1
    return blocks, "\n".join(rest)


def secret_lines() -> dict[str, str]:
    """Every line of a solution longer than MIN_LEN that the book shows nowhere outside its solutions -> its label."""
    secrets, public = {}, []
    for src in sorted((ROOT / "book" / "_src").glob("*.py")):
        blocks, rest = solutions_and_rest(src)
        public.append(rest)
        assert len(blocks) >= 3, f"{src.name}: {len(blocks)} solution blocks found"
        for label, body in blocks.items():
            for line in body:
                line = line.strip()
                if len(line) > MIN_LEN and not line.startswith(":class:"):
                    secrets.setdefault(line, label)
    shown = "\n".join(public)
    return {line: label for line, label in secrets.items() if line not in shown}


def library_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "ssgan_lib").rglob("*.py"))
                     if "__pycache__" not in p.parts)


def readable_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="ignore")
    if path.suffix == ".ipynb":  # the cells' text too, without JSON's escapes
        text += "\n" + "\n".join(source(c) for c in cells(path))
    return text


def test_a_no_file_holds_a_solution(tree):
    secrets = secret_lines()
    assert len(secrets) >= 100, f"only {len(secrets)} solution lines to look for"
    # the lines are the solutions' text: the full notebooks (with solutions) hold nearly all of them
    full = "\n".join(source(c) for nb in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")) for c in cells(nb))
    assert sum(s in full for s in secrets) >= 0.9 * len(secrets), "the solution lines are not the notebooks' text"
    library = library_text()
    leaks = []
    for path in tree_files(tree):
        rel = path.relative_to(tree).as_posix()
        text = readable_text(path)
        if "{solution}" in text or "<summary><b>Solution" in text:
            leaks.append(f"{rel}: a solution block")
        in_library = rel.startswith("ssgan_lib/")
        leaks += [f"{rel}: {secrets[s]}: {s!r}" for s in secrets
                  if s in text and not (in_library and path.suffix == ".py" and s in library)]
    assert not leaks, "solution text in the student branch:\n" + "\n".join(leaks[:10])


# ---- addresses ---------------------------------------------------------------------------------------------------

URL = re.compile(r"(?:git\+)?https?://[^\s<>()\[\]{}\"'`]*[^\s<>()\[\]{}\"'`.,;:!?]")
LINK_TARGET = re.compile(r"\]\(([^)\s]+)|(?:href|src)=[\"']([^\"']+)")


def where(url: str) -> tuple[str, str] | None:
    """("repo" | "raw" | "colab" | "site", the rest of the address) for an address of the repository or of the
    book's site; None for an external one."""
    owner, name = (re.escape(x) for x in build_editions.github_repository())
    url = url.removeprefix("git+")
    for kind, pattern in (("repo", rf"https?://(?:www\.)?github\.com/{owner}/{name}(?=[/@.#?]|$)"),
                          ("raw", rf"https?://raw\.githubusercontent\.com/{owner}/{name}(?=/|$)"),
                          ("colab", rf"https?://colab\.research\.google\.com/github/{owner}/{name}(?=/|$)"),
                          ("site", rf"https?://{owner}\.github\.io/{name}(?=/|$)")):
        m = re.match(pattern, url, re.I)
        if m:
            return kind, url[m.end():]
    for site in build_editions.book_site_urls():
        if url.lower().startswith(site.lower()):
            return "site", url[len(site):]
    return None


def student_file(kind: str, rest: str) -> str | None:
    """The tree's path that an address of the student branch names ("" for the branch itself), or None when the
    address is not the student branch."""
    rest = re.split(r"[#?]", rest)[0]
    forms = {"repo": rf"(?:\.git)?(?:/(?:blob|tree|raw)/{BRANCH}(?:/(?P<path>.+))?|@{BRANCH}"
                     rf"|/archive/refs/heads/{BRANCH}\.(?:zip|tar\.gz))/?",
             "raw": rf"/{BRANCH}/(?P<path>.+)",
             "colab": rf"/blob/{BRANCH}/(?P<path>.*)"}
    m = re.fullmatch(forms[kind], rest) if kind in forms else None
    return None if m is None else (m.groupdict().get("path") or "")


def addresses(tree: Path) -> list[tuple[str, str]]:
    """(file, address) for every address and link target in the tree's notebooks and README."""
    found = []
    for path in sorted((tree / "book").glob("*.ipynb")) + [tree / "README.md"]:
        rel = path.relative_to(tree).as_posix()
        texts = [source(c) for c in cells(path)] if path.suffix == ".ipynb" else [path.read_text(encoding="utf-8")]
        for text in texts:
            found += [(rel, u) for u in URL.findall(text)]
            found += [(rel, a or b) for a, b in LINK_TARGET.findall(text) if not URL.match(a or b)]
    return found


def test_b_every_address_is_external_or_the_student_branch(tree):
    found = addresses(tree)
    assert any("arxiv.org" in u for _, u in found), "the references' links (external) were not found"
    bad = []
    for rel, url in found:
        if not re.match(r"(?:git\+)?https?://", url):
            # a link inside the tree: the README may link to a file of it; a notebook only within itself
            target = url.split("#")[0]
            if not (url.startswith("#") or (rel == "README.md" and target and (tree / target).is_file())):
                bad.append(f"{rel}: relative link {url!r}")
            continue
        place = where(url)
        if place is None:
            continue  # external: a paper, a library's documentation
        path = student_file(*place)
        if path is None:
            bad.append(f"{rel}: {url} (the {place[0]} outside the {BRANCH} branch)")
        elif path and not (tree / path.rstrip("/")).exists():
            bad.append(f"{rel}: {url} (no {path} in the tree)")
    assert not bad, "\n".join(bad[:10])


def test_b_the_readme_opens_every_chapter_in_colab_from_the_student_branch(tree):
    readme = (tree / "README.md").read_text(encoding="utf-8")
    owner, name = build_editions.github_repository()
    for nb in sorted((tree / "book").glob("*.ipynb")):
        url = f"https://colab.research.google.com/github/{owner}/{name}/blob/{BRANCH}/book/{nb.name}"
        assert f"]({url})" in readme, f"README.md does not open {nb.name} in Colab"


def test_b_links_to_the_repository_and_the_book_point_into_the_student_branch():
    owner, name = build_editions.github_repository()
    repo, colab = f"https://github.com/{owner}/{name}", f"https://colab.research.google.com/github/{owner}/{name}"
    site = f"https://{owner.lower()}.github.io/{name}"
    md = (f"[a]({repo}/blob/main/book/05_sgan.ipynb) [b]({site}/book/06_improved_gan.html#x) [c](10_reproduction) "
          f"[d]({repo}/issues/33) [e](instructors.md) [f]({colab}/blob/main/colab/book/02_mlp_gan.ipynb) "
          f"[g](https://arxiv.org/abs/1606.03498) see {repo}/tree/main and `pip install git+{repo}` and "
          "`fns[0](x)`")
    got = build_editions.student_links(md)
    assert got == (f"[a]({colab}/blob/{BRANCH}/book/05_sgan.ipynb) [b]({colab}/blob/{BRANCH}/book/06_improved_gan"
                   f".ipynb) [c]({colab}/blob/{BRANCH}/book/10_reproduction.ipynb) d e [f]({colab}/blob/{BRANCH}/"
                   f"book/02_mlp_gan.ipynb) [g](https://arxiv.org/abs/1606.03498) see {repo}/tree/{BRANCH} and "
                   f"`pip install git+{repo}@{BRANCH}` and `fns[0](x)`"), got


# ---- the install cell, the full flavours -------------------------------------------------------------------------

def test_c_every_install_cell_installs_the_student_branch(tree):
    want = nbbuild.install_cell_source(f"{nbbuild.repository_url()}@{BRANCH}")
    notebooks = sorted((tree / "book").glob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        first = cells(nb)[0]
        assert "colab-install" in first["metadata"].get("tags", []), nb.name
        assert source(first) == want, f"{nb.name}: {source(first)[-120:]!r}"


def test_c_the_full_flavours_still_install_and_link_the_main_branch():
    import nbformat

    nb = nbformat.read(ROOT / "book" / "06_improved_gan.ipynb", as_version=4)
    full = nbformat.reads(build_editions.colab_notebook_text(nb, solutions=True), as_version=4)
    assert full.cells[0].source == nb.cells[0].source == nbbuild.install_cell_source()
    assert f"/blob/{BRANCH}/" not in build_editions.colab_notebook_text(nb, solutions=True)


# ---- the tree: what it holds, and that pip builds it -------------------------------------------------------------

def test_the_tree_holds_the_notebooks_and_the_library_only(tree):
    assert {p.name for p in tree.iterdir()} == {"README.md", "LICENSE", "pyproject.toml", "book", "ssgan_lib"}
    assert {p.name for p in (tree / "book").iterdir()} == {p.name for p in build_editions.chapter_notebooks()}
    assert not [p for p in tree.rglob("*") if p.is_symlink()], "a link: its target is not in the tree"
    assert not [p for p in tree.rglob("*") if p.name in ("__pycache__", "_src", "colab", "tests", "grading.py")]
    results = tree / "ssgan_lib" / "evidence" / "_results"
    assert (results / "reference_runs.json").read_bytes() == (ROOT / "book/results/reference_runs.json").read_bytes()


def test_d_pip_builds_the_tree(tree, tmp_path):
    src = tmp_path / "src"  # a copy: the build writes build/ and *.egg-info beside its sources
    shutil.copytree(tree, src)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                          "-w", str(tmp_path / "whl"), str(src)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = (tmp_path / "whl").glob("ssgan_lib-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    library = {p.relative_to(tree).as_posix() for p in (tree / "ssgan_lib").rglob("*") if p.is_file()}
    assert library and library <= shipped, f"not in the wheel: {sorted(library - shipped)[:5]}"
    assert any(n.startswith("ssgan_lib/evidence/_results/") for n in shipped)
