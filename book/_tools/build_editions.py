"""Build the book's two editions: the full book and the student edition, which has no solutions anywhere.

    python book/_tools/build_editions.py              # both: _build/html and _build/student/_build/html
    python book/_tools/build_editions.py --student    # only the student edition
    python book/_tools/build_editions.py --sync       # only refresh student/book/*.ipynb (no HTML)

The full edition is ``jupyter-book build .`` (-W --keep-going). The student edition is built from a temporary copy
of the book whose notebooks have every ``:::{solution}`` block removed, so neither its pages nor the notebooks and
sources its download buttons serve (``_sources/``) contain a solution. Its launch buttons (Colab) open
``student/book/NN_name.ipynb`` in the repository (``_config_student.yml`` sets ``repository.path_to_book:
student``): the same notebooks without solutions and without stored outputs (students run them), written by this
script and by ``nbbuild.py`` whenever it writes a chapter, committed with the chapters, and kept in sync by
``tests/test_book_structure.py``. A publisher builds both editions with this one command and pushes the
repository (``student/`` included) for the launch links to work.
"""
from __future__ import annotations

import argparse
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


def student_notebook_text(nb: nbformat.NotebookNode) -> str:
    """The text of student/book/NN_name.ipynb for a chapter notebook: no solutions, no outputs."""
    text = nbformat.writes(without_solutions(nb, keep_outputs=False))
    return text if text.endswith("\n") else text + "\n"


def chapter_notebooks() -> list[Path]:
    toc = (ROOT / "_toc.yml").read_text()
    files = re.findall(r"^\s*(?:root|- file):\s*(\S+)", toc, re.M)
    return [ROOT / (f + ".ipynb") for f in files if (ROOT / (f + ".ipynb")).exists()]


def student_path(nb_path: Path) -> Path:
    return STUDENT_DIR / nb_path.relative_to(ROOT)


def write_student_notebook(nb_path: Path, nb: nbformat.NotebookNode | None = None) -> Path:
    """Write student/<path> for the chapter notebook at nb_path (read from disk unless given)."""
    nb = nb if nb is not None else nbformat.read(nb_path, as_version=4)
    out = student_path(nb_path)
    text = student_notebook_text(nb)
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return out


def sync_student_notebooks() -> list[Path]:
    return [write_student_notebook(p) for p in chapter_notebooks()]


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
        sync_student_notebooks()
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
    ap.add_argument("--sync", action="store_true", help="only write student/book/*.ipynb")
    args = ap.parse_args()
    if args.sync:
        for p in sync_student_notebooks():
            print(p.relative_to(ROOT))
        return
    both = not (args.full or args.student)
    if args.full or both:
        print(f"full edition: {build_full() / 'index.html'}")
    if args.student or both:
        print(f"student edition: {build_student() / 'index.html'}")


if __name__ == "__main__":
    main()
