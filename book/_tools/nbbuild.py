"""Build a chapter notebook from its percent-format source, optionally executing it.

    python book/_tools/nbbuild.py book/_src/01_gan_game.py            # update book/01_gan_game.ipynb, keep outputs
    python book/_tools/nbbuild.py book/_src/01_gan_game.py --execute  # ... and re-run it, storing fresh outputs
    python book/_tools/nbbuild.py book/_src/*.py --check              # exit 1 if a notebook differs from its source

The source is read by jupytext ("py:percent": ``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell
whose lines drop their leading ``# ``; cell metadata such as tags goes on the marker line,
``# %% tags=["hide-input"]``). The tool puts the Colab install cell first (the repository URL comes from
``_config.yml``, the only place it is written) and asks Colab for a GPU in the metadata.

Without ``--execute`` an existing notebook is updated, not replaced: a cell whose type and text are unchanged keeps
its id and, for code, its stored outputs and execution count; an edited code cell loses its outputs (the tool says
which); edited markdown keeps its id. New cells get ids derived from the chapter and their position, so building
twice gives the same file. Execution runs in ``book/`` with the current Python; set ``SSGAN_MODE`` or ``CI`` to pick
the size.
"""
from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import re
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
INSTALL_TAG = "colab-install"
# notebook metadata the tool sets (language_info only where the notebook has none: a run fills it in)
NB_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "accelerator": "GPU",
    "colab": {"provenance": [], "gpuType": "T4"},
}
# cell metadata jupytext uses for the text layout only (blank lines, markers): not part of the notebook
JUPYTEXT_LAYOUT_KEYS = {"skipline", "noskipline", "cell_marker", "lines_to_next_cell", "lines_to_end_of_cell_marker"}
# cell metadata an execution writes (nbclient's timings, Jupyter's ExecuteTime): kept with the outputs, never
# compared with the source
RUN_METADATA_KEYS = ("execution", "ExecuteTime")


def repository_url() -> str:
    text = (ROOT / "_config.yml").read_text()
    m = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, re.M)
    if not m:
        raise SystemExit("_config.yml has no repository.url")
    return m.group(1)


def install_cell_source(url: str | None = None) -> str:
    url = url or repository_url()
    return (
        "# Colab (or any machine without ssgan_lib): install it from the repository. torch is not pinned:\n"
        "# Colab's own build is kept. In Colab choose Runtime > Change runtime type > GPU for full-size runs.\n"
        "import importlib.util, subprocess, sys\n"
        "if importlib.util.find_spec(\"ssgan_lib\") is None:\n"
        f"    subprocess.check_call([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"git+{url}\"])"
    )


def read_source(src: Path) -> list:
    """The cells of a percent-format source as jupytext reads them (without the install cell), less jupytext's
    layout metadata; an empty cell is dropped."""
    try:
        import jupytext
    except ImportError:
        raise SystemExit("nbbuild needs jupytext (pip install -r requirements.txt)")
    cells = []
    for c in jupytext.read(src, fmt="py:percent").cells:
        if not c.source.strip():
            continue
        meta = {k: v for k, v in c.metadata.items() if k not in JUPYTEXT_LAYOUT_KEYS}
        new = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell,
               "raw": nbformat.v4.new_raw_cell}[c.cell_type](c.source, metadata=meta)
        cells.append(new)
    return cells


def source_cells(src: Path) -> list:
    """Every cell of the chapter's notebook as the source defines it: the Colab install cell, then the source's."""
    install = nbformat.v4.new_code_cell(install_cell_source())
    install.metadata["tags"] = [INSTALL_TAG]
    return [install] + read_source(src)


def derived_id(stem: str, index: int, taken: set) -> str:
    """A cell id from the chapter and the cell's position (8 hex digits, like Jupyter's), unique in `taken`."""
    salt = 0
    while True:
        cid = hashlib.sha1(f"{stem}:{index}:{salt}".encode()).hexdigest()[:8]
        if cid not in taken:
            return cid
        salt += 1


def _key(cell) -> tuple:
    return cell.cell_type, cell.source


def merge(new_cells: list, old_cells: list, stem: str) -> tuple[list, list[str]]:
    """Cells for the notebook: `new_cells` (from the source) with what `old_cells` (the stored notebook) had for the
    same cells. Cells are aligned by (type, text) as a diff aligns lines. An unchanged cell keeps its id, and a code
    cell its outputs, execution count and run metadata; an edited cell (same type, same place in the diff) keeps
    its id only; a new cell gets a derived id. Returns the cells and one note per code cell whose outputs went."""
    old_cells = [copy.deepcopy(c) for c in old_cells]
    cells = [copy.deepcopy(c) for c in new_cells]
    ids: list[str | None] = [None] * len(cells)
    notes = []

    def keep_id(i: int, old) -> None:
        if old.get("id") and old["id"] not in ids:
            ids[i] = old["id"]

    sm = difflib.SequenceMatcher(None, [_key(c) for c in old_cells], [_key(c) for c in cells], autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            for old, j in zip(old_cells[i1:i2], range(j1, j2)):
                keep_id(j, old)
                if old.cell_type == "code":
                    cells[j].outputs = old.get("outputs", [])
                    cells[j].execution_count = old.get("execution_count")
                    for k in RUN_METADATA_KEYS:
                        if k in old.metadata:
                            cells[j].metadata[k] = old.metadata[k]
            continue
        for i in range(i1, i2):  # old cells edited or removed
            old = old_cells[i]
            if old.cell_type == "code" and old.get("outputs"):
                what = "edited" if op == "replace" and i - i1 < j2 - j1 else "removed"
                first = (old.source.splitlines() or [""])[0][:60]
                notes.append(f"{what} code cell {i} ({first!r}): its {len(old.outputs)} stored outputs dropped")
        if op == "replace":
            for old, j in zip(old_cells[i1:i2], range(j1, j2)):
                if old.cell_type == cells[j].cell_type:
                    keep_id(j, old)
    taken = {i for i in ids if i}
    for j, c in enumerate(cells):
        if ids[j] is None:
            ids[j] = derived_id(stem, j, taken)
            taken.add(ids[j])
        c["id"] = ids[j]
    return cells, notes


def notebook_path(src: Path) -> Path:
    return BOOK / (src.stem + ".ipynb")


def build_notebook(src: Path, old: nbformat.NotebookNode | None = None) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook for `src`, updated from `old` (the stored notebook, or None): see `merge`."""
    nb = nbformat.v4.new_notebook()
    if old is not None:
        nb.metadata = copy.deepcopy(old.metadata)
    nb.metadata.pop("jupytext", None)
    nb.metadata.update(copy.deepcopy(NB_METADATA))
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.cells, notes = merge(source_cells(src), old.cells if old is not None else [], src.stem)
    return nb, notes


def _first_line(cell) -> str:
    return f"({cell.cell_type}, {(cell.source.strip().splitlines() or [''])[0][:60]!r})"


def differences(src: Path, nb: nbformat.NotebookNode) -> list[str]:
    """How the notebook `nb` differs from its source `src`: the first differing cell (type, text, metadata other
    than an execution's, or cells only one side has) and the notebook metadata the tool sets; empty when they
    agree. Outputs and ids are not compared."""
    name, out = src.stem, []
    want = source_cells(src)
    for i, (a, b) in enumerate(zip(want, nb.cells)):
        if _key(a) != _key(b):
            break
        meta_b = {k: v for k, v in b.metadata.items() if k not in RUN_METADATA_KEYS}
        if dict(a.metadata) != meta_b:
            out.append(f"{name}: cell {i} {_first_line(a)} differs in metadata: source {dict(a.metadata)!r}, "
                       f"notebook {meta_b!r}")
            break
    if not out and [_key(c) for c in want] != [_key(c) for c in nb.cells]:
        sm = difflib.SequenceMatcher(None, [_key(c) for c in want], [_key(c) for c in nb.cells], autojunk=False)
        op, i1, i2, j1, j2 = next(o for o in sm.get_opcodes() if o[0] != "equal")
        if op == "insert":
            out.append(f"{name}: cell {j1}: the notebook has {j2 - j1} cell(s) the source lacks, from "
                       f"{_first_line(nb.cells[j1])}")
        elif op == "delete":
            out.append(f"{name}: cell {i1}: the source has {i2 - i1} cell(s) the notebook lacks, from "
                       f"{_first_line(want[i1])}")
        else:
            a, b = want[i1], nb.cells[j1]
            what = "type" if a.cell_type != b.cell_type else "text"
            diff = difflib.unified_diff(a.source.splitlines(), b.source.splitlines(), "source", "notebook",
                                        lineterm="", n=1)
            more = "" if i2 - i1 == j2 - j1 == 1 else f" ({i2 - i1} source cells here, {j2 - j1} in the notebook)"
            out.append(f"{name}: cell {i1} {_first_line(a)} differs in {what}{more}\n" + "\n".join(list(diff)[:12]))
    for k, v in NB_METADATA.items():
        if nb.metadata.get(k) != v:
            out.append(f"{name}: notebook metadata {k} is {nb.metadata.get(k)!r}, nbbuild sets {v!r}")
    return out


def build(src: Path, execute: bool = False, timeout: int = 1800, out: Path | None = None) -> Path:
    out = out or notebook_path(src)
    old = nbformat.read(out, as_version=4) if out.exists() else None
    nb, notes = build_notebook(src, old)
    if execute:
        from nbclient import NotebookClient

        try:  # glue() stores the prose's numbers only where myst_nb is installed; without it the book
            import myst_nb  # noqa: F401  (built with -W) would fail on every {glue:text} reference
        except ImportError:
            raise SystemExit("nbbuild --execute needs myst-nb (pip install -r requirements.txt): without it "
                             "the glued numbers would be missing from the notebook's outputs")

        for c in nb.cells:
            if c.cell_type == "code":
                c.outputs, c.execution_count = [], None
                for k in RUN_METADATA_KEYS:
                    c.metadata.pop(k, None)
        t0 = time.time()
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(BOOK)}}).execute()
        print(f"executed {out.name} in {time.time() - t0:.0f}s", file=sys.stderr)
    else:
        for n in notes:
            print(f"{out.name}: {n}; run with --execute to store new ones", file=sys.stderr)
    text = nbformat.writes(nb)
    if not text.endswith("\n"):
        text += "\n"
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")
    return out


def check(src: Path) -> list[str]:
    out = notebook_path(src)
    if not out.exists():
        return [f"{src.stem}: no notebook {out.relative_to(ROOT)}"]
    return differences(src, nbformat.read(out, as_version=4))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("--execute", action="store_true", help="re-run the notebook and store its new outputs")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook differs from its source")
    ap.add_argument("--timeout", type=int, default=1800)
    args = ap.parse_args()
    if args.check:
        problems = [p for s in args.sources for p in check(s)]
        print("\n".join(problems) or f"{len(args.sources)} notebooks agree with their sources")
        sys.exit(1 if problems else 0)
    for s in args.sources:
        print(build(s, args.execute, args.timeout))


if __name__ == "__main__":
    main()
