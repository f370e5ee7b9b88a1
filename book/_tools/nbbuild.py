"""Build a chapter notebook from its percent-format source, optionally executing it.

    python book/_tools/nbbuild.py book/_src/01_gan_game.py            # update book/01_gan_game.ipynb, keep outputs
    python book/_tools/nbbuild.py book/_src/01_gan_game.py --execute  # ... and re-run it, storing fresh outputs
    python book/_tools/nbbuild.py book/_src/*.py --check              # exit 1 if a notebook differs from its source

The source is read by jupytext ("py:percent": ``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell
whose lines drop their leading ``# ``; cell metadata such as tags goes on the marker line,
``# %% tags=["hide-input"]``). Writing ``book/NN_name.ipynb`` also writes ``student/book/NN_name.ipynb``, the
student edition's copy: no solutions, no outputs (``build_editions.py``). The tool puts the Colab install cell first (the repository URL comes from
``_config.yml``, the only place it is written) and asks Colab for a GPU in the metadata.

Bookkeeping stays out of the HTML book, decided here, not by hand: the install cell is tagged ``remove-cell`` (it
still runs in Colab, Jupyter and nbval), and the ``glue(...)`` calls that hand numbers to the prose go to cells of
their own tagged ``bookkeeping`` and ``remove-cell`` (``split_bookkeeping``): a code cell whose every statement is
a glue call is tagged as it is; from a mixed cell, the glue calls at its start, and those at its end (only
``print(...)`` calls after them: a glue call moves below a print, which changes nothing but the order of the
outputs), become a cell before or after it. Glue calls between other statements stay where they are.

Without ``--execute`` an existing notebook is updated, not replaced: a cell whose type and text are unchanged keeps
its id and, for code, its stored outputs and execution count; so does a code cell whose code is unchanged and
only its layout differs (line breaks, spaces, adjacent string literals, comments re-wrapped: same ``ast.dump``,
same comment words), and a code cell that the tool now splits into code and bookkeeping (each piece gets its
outputs: glue records to the bookkeeping cell, the rest to the code); an edited code cell loses its outputs (the
tool says which); edited markdown keeps its id. New cells get ids derived from the chapter and their position, so building
twice gives the same file. Execution runs in ``book/`` with the current Python; set ``SSGAN_MODE`` or ``CI`` to pick
the size.
"""
from __future__ import annotations

import argparse
import ast
import copy
import difflib
import hashlib
import io
import re
import sys
import time
import tokenize
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_editions  # noqa: E402  (student/book/*.ipynb, the student edition's notebooks)

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
INSTALL_TAG = "colab-install"
REMOVE_TAG = "remove-cell"  # myst-nb leaves such a cell out of the HTML; Jupyter, Colab and nbval still run it
BOOKKEEPING_TAG = "bookkeeping"  # a cell of glue() calls only (see split_bookkeeping)
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
    install.metadata["tags"] = [INSTALL_TAG, REMOVE_TAG]
    cells = [install]
    for c in read_source(src):
        cells += split_cell(c) if c.cell_type == "code" else [c]
    add_alt_text(cells)
    return cells


# What a caption's LaTeX commands read as in plain text (alt text); a caption may use only these (test).
LATEX_TEXT = {"tfrac12": "½", "frac12": "½", "eta": "η", "epsilon": "ε", "beta": "β", "sigma": "σ", "mu": "μ",
              "lambda": "λ", "log": "log", "exp": "exp", "times": "×", "cdot": "·", "approx": "≈", "le": "≤",
              "ge": "≥", "to": "→"}


def captions(markdown: str) -> list[str]:
    """The figure captions that open a markdown cell: its first paragraphs that start "**Figure N.k.**"."""
    found = []
    for para in re.split(r"\n\s*\n", markdown.strip()):
        if not re.match(r"\*\*Figure \d+\.\d+\.\*\*", para):
            break
        found.append(para)
    return found


def alt_text(markdown: str) -> str:
    """The figure captions that open a markdown cell (its first paragraphs that start "**Figure N.k.**"), as plain
    text for an image's alt attribute: markup and links reduced to their words, a glued value to "…"."""
    text = " ".join(captions(markdown))
    text = re.sub(r"\{glue:text\}`[^`]*`", "…", text)  # a glued value is the run's: not in the alt text
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [words](link) -> words
    text = re.sub(r"\\([a-zA-Z]+\d*)", lambda m: LATEX_TEXT.get(m.group(1), m.group(0)), text)
    text = re.sub(r"[*`$\\]", "", text)
    return " ".join(text.split())


def add_alt_text(cells: list) -> None:
    """A code cell followed (after its bookkeeping cell and cells the page leaves out, if any) by a markdown cell
    that opens with "**Figure N.k.**" gets that caption as the alt text of its images (cell metadata
    ``mystnb.image.alt``, which myst-nb writes on each image it renders): a screen reader reads what the figure
    shows, not a file name."""
    def unseen(c) -> bool:  # a code cell with nothing on the page: glue bookkeeping, a hidden check
        return c.cell_type == "code" and bool({"bookkeeping", REMOVE_TAG} & set(c.metadata.get("tags", [])))

    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or unseen(cell):
            continue
        j = i + 1
        while j < len(cells) and unseen(cells[j]):
            j += 1
        if j < len(cells) and cells[j].cell_type == "markdown":
            alt = alt_text(cells[j].source)
            if alt:
                cell.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = alt


def _is_glue(stmt: ast.stmt) -> bool:
    """A ``glue(...)`` call, or a for/if whose every statement is one."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "glue"
    if isinstance(stmt, (ast.For, ast.If)):
        return all(_is_glue(s) for s in stmt.body + stmt.orelse)
    return False


def _is_print(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "print")


def split_bookkeeping(source: str) -> list[tuple[str, str]]:
    """A code cell's text as pieces ``(kind, text)``, kind ``"code"`` or ``"glue"``, in notebook order.

    All glue calls: one glue piece. Otherwise the leading glue calls form a glue piece before the code, and the
    glue calls after the last statement that is neither a glue call nor a ``print(...)`` form one after it (a glue
    call only records a value, and print changes no variable, so moving glue below the prints changes nothing but
    the order of the cell's outputs); comment lines right above a moved call move with it. Text that does not
    parse (IPython magics) is one code piece."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return [("code", source)]
    flags = [_is_glue(s) for s in body]
    if not body or not any(flags):
        return [("code", source)]
    if all(flags):
        return [("glue", source)]
    lead = flags.index(False)
    end = len(body)
    while end > lead and (flags[end - 1] or _is_print(body[end - 1])):
        end -= 1
    trail = [i for i in range(end, len(body)) if flags[i]]
    if not lead and not trail:
        return [("code", source)]
    lines = source.split("\n")

    def span(i: int) -> range:  # the statement's lines and the comment/blank lines right above it
        first = body[i].lineno - 1
        floor = body[i - 1].end_lineno if i else 0
        while first > floor and (not lines[first - 1].strip() or lines[first - 1].lstrip().startswith("#")):
            first -= 1
        return range(first, body[i].end_lineno)

    def text(rows) -> str:
        return "\n".join(lines[r] for r in sorted(set(rows))).strip("\n")

    head = {r for i in range(lead) for r in span(i)}
    tail = {r for i in trail for r in span(i)}
    code = text(set(range(len(lines))) - head - tail)
    pieces = [("glue", text(head))] if head else []
    pieces.append(("code", code))
    if tail:
        pieces.append(("glue", text(tail)))
    return pieces


def split_cell(cell) -> list:
    """The notebook cells for one code cell of the source (see split_bookkeeping): its code keeps the source's
    metadata; a glue piece is tagged bookkeeping and remove-cell (remove-input where a glue call displays)."""
    out = []
    for kind, text in split_bookkeeping(cell.source):
        if kind == "code":
            new = nbformat.v4.new_code_cell(text, metadata=copy.deepcopy(dict(cell.metadata)))
        else:
            shown = re.search(r"\bdisplay\s*=\s*True\b", text)
            tags = [t for t in cell.metadata.get("tags", []) if t not in (REMOVE_TAG, "remove-input")]
            tags += [BOOKKEEPING_TAG, "remove-input" if shown else REMOVE_TAG]
            new = nbformat.v4.new_code_cell(text, metadata={**copy.deepcopy(dict(cell.metadata)), "tags": tags})
        out.append(new)
    return out


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


def code_layout_free(source: str):
    """What a code cell's text means, without its layout: the ``ast.dump`` of its code (line breaks, spaces,
    parentheses and adjacent string literals do not change it; a docstring counts by its words, so it may be
    re-wrapped) and the words of its comments; the text itself when it does not parse."""
    try:
        module = ast.parse(source)
        for node in ast.walk(module):
            body = getattr(node, "body", None)
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body
                    and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                body[0].value.value = " ".join(body[0].value.value.split())
        tree = ast.dump(module)
        comments = [tok.string.lstrip("#").split() for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                    if tok.type == tokenize.COMMENT]
    except (SyntaxError, tokenize.TokenError, IndentationError):
        return source
    return tree, tuple(w for words in comments for w in words)


def _merge_key(cell) -> tuple:
    """How merge aligns cells: markdown by text, code by meaning (see code_layout_free)."""
    return (cell.cell_type, code_layout_free(cell.source)) if cell.cell_type == "code" else _key(cell)


def _is_glue_record(output) -> bool:
    return "scrapbook" in output.get("metadata", {})


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

    def keep_run(j: int, old, outputs=None) -> None:
        cells[j].outputs = old.get("outputs", []) if outputs is None else outputs
        cells[j].execution_count = old.get("execution_count")
        for k in RUN_METADATA_KEYS:
            if k in old.metadata:
                cells[j].metadata[k] = old.metadata[k]

    def split_match(old, j1: int, j2: int) -> list[int] | None:
        """The new cells j (within j1..j2, consecutive) that the old code cell became by split_bookkeeping."""
        pieces = [nbformat.v4.new_code_cell(text) for _, text in split_bookkeeping(old.source)]
        want = [_merge_key(p) for p in pieces]
        if len(pieces) < 2:
            return None
        for j in range(j1, j2 - len(want) + 1):
            if [_merge_key(c) for c in cells[j:j + len(want)]] == want and all(cells[k].cell_type == "code"
                                                                              for k in range(j, j + len(want))):
                return list(range(j, j + len(want)))
        return None

    sm = difflib.SequenceMatcher(None, [_merge_key(c) for c in old_cells], [_merge_key(c) for c in cells],
                                 autojunk=False)
    split_done: set[int] = set()
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            for old, j in zip(old_cells[i1:i2], range(j1, j2)):
                keep_id(j, old)
                if old.cell_type == "code":
                    keep_run(j, old)
            continue
        split_old = set()
        for i in range(i1, i2):  # an old code cell the tool now splits into code and bookkeeping keeps its outputs
            old = old_cells[i]
            js = split_match(old, j1, j2) if old.cell_type == "code" and op == "replace" else None
            if js is None or split_done & set(js):
                continue
            split_old.add(i)
            split_done.update(js)
            code_j = next(j for j in js if BOOKKEEPING_TAG not in cells[j].metadata.get("tags", []))
            glue_js = [j for j in js if j != code_j]
            keep_id(code_j, old)
            outs = old.get("outputs", [])
            keep_run(code_j, old, [o for o in outs if not _is_glue_record(o)])
            for j in glue_js:
                cells[j].outputs = []
            for o in (o for o in outs if _is_glue_record(o)):
                name = o["metadata"]["scrapbook"].get("name", "")
                home = next((j for j in glue_js if f'"{name}"' in cells[j].source or f"'{name}'" in cells[j].source),
                            glue_js[-1])
                cells[home].outputs.append(o)
        for i in range(i1, i2):  # old cells edited or removed
            old = old_cells[i]
            if i in split_old:
                continue
            if old.cell_type == "code" and old.get("outputs"):
                what = "edited" if op == "replace" and i - i1 < j2 - j1 else "removed"
                first = (old.source.splitlines() or [""])[0][:60]
                notes.append(f"{what} code cell {i} ({first!r}): its {len(old.outputs)} stored outputs dropped")
        if op == "replace":
            for i, (old, j) in enumerate(zip(old_cells[i1:i2], range(j1, j2)), i1):
                if old.cell_type == cells[j].cell_type and i not in split_old and j not in split_done:
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
    if out.resolve() == notebook_path(src).resolve():
        build_editions.write_launch_notebooks(out, nb)  # student/ and colab/book/<name>.ipynb (Colab's copies)
    return out


def check(src: Path) -> list[str]:
    out = notebook_path(src)
    if not out.exists():
        return [f"{src.stem}: no notebook {out.relative_to(ROOT)}"]
    nb = nbformat.read(out, as_version=4)
    problems = differences(src, nb)
    for solutions, path in build_editions.launch_paths(out).items():
        if not path.exists() or path.read_text(encoding="utf-8") != build_editions.colab_notebook_text(nb, solutions):
            problems.append(f"{src.stem}: {path.relative_to(ROOT)} (a launch button's notebook) is out of date")
    return problems


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
