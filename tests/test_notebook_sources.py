"""Every chapter notebook is its source, built: book/_src/NN_*.py read by jupytext (as nbbuild reads it) gives the
committed book/NN_*.ipynb's cells (type, text, the metadata nbbuild sets). No execution: outputs are not compared.
And nbbuild without --execute updates a notebook in place: unchanged cells keep their ids and outputs."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_tools"))
import nbbuild  # noqa: E402

SOURCES = sorted((ROOT / "book" / "_src").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_notebook_cells_equal_its_source(src: Path):
    nb_path = ROOT / "book" / (src.stem + ".ipynb")
    assert nb_path.exists(), f"{src.stem}: no notebook; python book/_tools/nbbuild.py {src.relative_to(ROOT)} builds it"
    problems = nbbuild.differences(src, nbformat.read(nb_path, as_version=4))
    assert not problems, (
        "\n".join(problems) + f"\nthe source is the truth: python book/_tools/nbbuild.py {src.relative_to(ROOT)} "
        "updates the notebook and keeps the outputs of unchanged code cells (--execute re-runs it)")


def test_every_chapter_notebook_has_a_source_and_unique_cell_ids():
    for nb_path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        assert (ROOT / "book" / "_src" / (nb_path.stem + ".py")).exists(), f"{nb_path.name} has no source"
        ids = [c.get("id") for c in json.loads(nb_path.read_text())["cells"]]
        assert all(ids) and len(ids) == len(set(ids)), f"{nb_path.name}: missing or repeated cell ids"


SOURCE = """# %% [markdown]
# # 1. Demo
#
# Some prose.

# %%
x = 1
print(x)

# %% [markdown]
# More prose.

# %% tags=["hide-input"]
print("two")
"""


def fake_run(path: Path) -> None:
    """Give every code cell an output and an execution count, as an execution would."""
    nb = nbformat.read(path, as_version=4)
    for n, c in enumerate(c for c in nb.cells if c.cell_type == "code"):
        c.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"out {n}\n")]
        c.execution_count = n + 1
        c.metadata["execution"] = {"iopub.status.idle": f"t{n}"}
    nbformat.write(nb, path)


def test_build_keeps_outputs_and_ids_of_unchanged_cells(tmp_path: Path):
    src, out = tmp_path / "01_demo.py", tmp_path / "01_demo.ipynb"
    src.write_text(SOURCE)
    nbbuild.build(src, out=out)
    nb = nbformat.read(out, as_version=4)
    assert [c.cell_type for c in nb.cells] == ["code", "markdown", "code", "markdown", "code"]
    assert nb.cells[0].metadata["tags"] == [nbbuild.INSTALL_TAG, "remove-cell"]
    assert nb.cells[4].metadata == {"tags": ["hide-input"]}
    assert nb.cells[1].source == "# 1. Demo\n\nSome prose." and nb.cells[2].source == "x = 1\nprint(x)"
    assert nbbuild.differences(src, nb) == []
    fresh = out.read_text()
    out2 = tmp_path / "copy.ipynb"
    nbbuild.build(src, out=out2)
    assert out2.read_text() == fresh, "a build from scratch is deterministic (cell ids included)"

    fake_run(out)
    ran = nbformat.read(out, as_version=4)
    nbbuild.build(src, out=out)
    assert nbformat.read(out, as_version=4) == ran, "building an unchanged source changes nothing"

    src.write_text(SOURCE.replace("Some prose.", "Some edited prose.").replace("# More prose.\n",
                                                                              "# More prose.\n\n# %%\nnew = 3\n"))
    nbbuild.build(src, out=out)
    nb = nbformat.read(out, as_version=4)
    assert nbbuild.differences(src, nb) == []
    old_ids = [c.id for c in ran.cells]
    assert [c.id for c in nb.cells[:4]] == old_ids[:4] and nb.cells[5].id == old_ids[4], "ids kept, prose edit too"
    assert nb.cells[4].id not in old_ids and nb.cells[4].outputs == [] and nb.cells[4].execution_count is None
    for i, j in ((0, 0), (2, 2), (5, 4)):  # the code cells whose text did not change keep outputs and counts
        assert nb.cells[i].outputs == ran.cells[j].outputs and nb.cells[i].outputs
        assert nb.cells[i].execution_count == ran.cells[j].execution_count
        assert nb.cells[i].metadata.get("execution") == ran.cells[j].metadata["execution"]


def test_build_drops_the_outputs_of_an_edited_code_cell_only(tmp_path: Path, capsys):
    src, out = tmp_path / "01_demo.py", tmp_path / "01_demo.ipynb"
    src.write_text(SOURCE)
    nbbuild.build(src, out=out)
    fake_run(out)
    ran = nbformat.read(out, as_version=4)
    src.write_text(SOURCE.replace("x = 1", "x = 2"))
    nbbuild.build(src, out=out)
    nb = nbformat.read(out, as_version=4)
    assert [c.id for c in nb.cells] == [c.id for c in ran.cells]
    assert nb.cells[2].outputs == [] and nb.cells[2].execution_count is None and "execution" not in nb.cells[2].metadata
    assert nb.cells[0].outputs == ran.cells[0].outputs and nb.cells[4].outputs == ran.cells[4].outputs
    assert "outputs dropped" in capsys.readouterr().err


def test_differences_name_the_chapter_and_the_first_differing_cell(tmp_path: Path):
    src, out = tmp_path / "01_demo.py", tmp_path / "01_demo.ipynb"
    src.write_text(SOURCE)
    nbbuild.build(src, out=out)
    nb = nbformat.read(out, as_version=4)
    nb.cells[4].metadata["tags"] = []
    nb.cells[3].source = "More prose, edited in the notebook."
    (problem,) = nbbuild.differences(src, nb)
    assert problem.startswith("01_demo: cell 3 (markdown, 'More prose.') differs in text\n--- source")
    nb.cells[3].source = "More prose."
    assert nbbuild.differences(src, nb) == ["01_demo: cell 4 (code, 'print(\"two\")') differs in metadata: "
                                            "source {'tags': ['hide-input']}, notebook {'tags': []}"]
    del nb.cells[3:]
    assert nbbuild.differences(src, nb) == ["01_demo: cell 3: the source has 2 cell(s) the notebook lacks, "
                                            "from (markdown, 'More prose.')"]
    nb = nbformat.read(out, as_version=4)
    nb.metadata.pop("accelerator")
    assert nbbuild.differences(src, nb) == ["01_demo: notebook metadata accelerator is None, nbbuild sets 'GPU'"]


def test_split_bookkeeping_moves_glue_calls_at_the_start_and_end_only():
    split = nbbuild.split_bookkeeping
    assert split('glue("a", 1)\nfor k in ks:\n    glue(k, 2)') == [("glue", 'glue("a", 1)\nfor k in ks:\n    glue(k, 2)')]
    assert split("x = 1\nprint(x)") == [("code", "x = 1\nprint(x)")]
    assert split('x = f()\n\n# for the prose\nglue("x", x)\nprint(x)') == [
        ("code", "x = f()\nprint(x)"), ("glue", '# for the prose\nglue("x", x)')]
    assert split('glue("c", 2)\nx = 1\nplt.show()\nglue("x", x)') == [
        ("glue", 'glue("c", 2)'), ("code", "x = 1\nplt.show()"), ("glue", 'glue("x", x)')]
    assert split('x = 1\nglue("x", x)\nx += 1') == [("code", 'x = 1\nglue("x", x)\nx += 1')], \
        "a glue call never moves past a statement that may change what it records"
    assert split('x = 1\nglue("x", x)\nshow(x)') == [("code", 'x = 1\nglue("x", x)\nshow(x)')], "only print"
    assert split("%matplotlib inline\nglue('a', 1)") == [("code", "%matplotlib inline\nglue('a', 1)")]


BOOKKEEPING_SOURCE = """# %% [markdown]
# # 1. Demo

# %%
x = 1
glue("x", x)
print(x)

# %%
glue("y", 2)
"""


def test_build_hides_bookkeeping_and_keeps_outputs_of_a_cell_it_splits(tmp_path: Path, capsys):
    """An existing notebook whose cell mixes code and glue calls (as built before the split) keeps every output:
    the glue records go to the new bookkeeping cell, the rest stays with the code."""
    src, out = tmp_path / "01_demo.py", tmp_path / "01_demo.ipynb"
    src.write_text(BOOKKEEPING_SOURCE)
    old = nbformat.v4.new_notebook()
    old.cells = [nbformat.v4.new_code_cell(nbbuild.install_cell_source(), metadata={"tags": [nbbuild.INSTALL_TAG]}),
                 nbformat.v4.new_markdown_cell("# 1. Demo"),
                 nbformat.v4.new_code_cell('x = 1\nglue("x", x)\nprint(x)'),
                 nbformat.v4.new_code_cell('glue("y", 2)')]
    record = nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "1"},
                                    metadata={"scrapbook": {"name": "x", "mime_prefix": "application/papermill.record/"}})
    printed = nbformat.v4.new_output("stream", name="stdout", text="1\n")
    old.cells[2].outputs, old.cells[2].execution_count = [record, printed], 7
    old.cells[3].outputs = [nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "2"},
                                                   metadata={"scrapbook": {"name": "y"}})]
    nbformat.write(old, out)
    nbbuild.build(src, out=out)
    assert "dropped" not in capsys.readouterr().err
    nb = nbformat.read(out, as_version=4)
    assert nbbuild.differences(src, nb) == []
    assert [c.source for c in nb.cells[2:]] == ["x = 1\nprint(x)", 'glue("x", x)', 'glue("y", 2)']
    assert "remove-cell" in nb.cells[0].metadata["tags"], "the install cell is not shown in the book"
    assert nb.cells[2].metadata.get("tags") is None and nb.cells[2].id == old.cells[2].id
    assert nb.cells[3].metadata["tags"] == nb.cells[4].metadata["tags"] == [nbbuild.BOOKKEEPING_TAG, "remove-cell"]
    assert nb.cells[2].outputs == [printed] and nb.cells[2].execution_count == 7
    assert nb.cells[3].outputs == [record] and nb.cells[4].outputs == old.cells[3].outputs
    again = out.read_text()
    nbbuild.build(src, out=out)
    assert out.read_text() == again


def test_build_keeps_outputs_when_only_the_layout_of_code_changes(tmp_path: Path, capsys):
    """Re-wrapping a long line (line breaks, adjacent string literals, re-wrapped comments) keeps the stored
    outputs; a change of code, even of one character in a string, drops them."""
    src, out = tmp_path / "01_demo.py", tmp_path / "01_demo.ipynb"
    long = SOURCE.replace("x = 1\nprint(x)", 'x = 1  # one two three\nprint(f"{x} is x", "and that is all")')
    src.write_text(long)
    nbbuild.build(src, out=out)
    fake_run(out)
    ran = nbformat.read(out, as_version=4)
    wrapped = long.replace('x = 1  # one two three\nprint(f"{x} is x", "and that is all")',
                           'x = 1  # one two\n# three\nprint(\n    f"{x} is"\n    " x",\n    "and that " "is all",\n)')
    src.write_text(wrapped)
    nbbuild.build(src, out=out)
    nb = nbformat.read(out, as_version=4)
    assert nbbuild.differences(src, nb) == [] and nb.cells[2].source.startswith("x = 1  # one two\n# three")
    assert nb.cells[2].outputs == ran.cells[2].outputs and nb.cells[2].execution_count == ran.cells[2].execution_count
    assert nb.cells[2].id == ran.cells[2].id and "dropped" not in capsys.readouterr().err
    assert nbbuild.code_layout_free('def f():\n    """One two three."""') == \
        nbbuild.code_layout_free('def f():\n    """One two\n    three."""'), "a docstring may be re-wrapped"
    assert nbbuild.code_layout_free('x = "one two"') != nbbuild.code_layout_free('x = "one  two"'), "not a string"
    src.write_text(wrapped.replace('"and that " "is all"', '"and that " "is al"'))
    nbbuild.build(src, out=out)
    assert nbformat.read(out, as_version=4).cells[2].outputs == [] and "dropped" in capsys.readouterr().err


SHOWN_CODE_MAX = 88


def shown_code_lines(nb) -> list[tuple[int, str]]:
    """(cell index, line) of every code line the book shows: code cells not removed from the HTML, and the
    fenced code blocks of markdown cells (solutions)."""
    out = []
    for i, c in enumerate(nb.cells):
        tags = c.metadata.get("tags", [])
        if c.cell_type == "code" and not {"remove-cell", "remove-input"} & set(tags):
            out += [(i, ln) for ln in c.source.splitlines()]
        elif c.cell_type == "markdown":
            fenced = False
            for ln in c.source.splitlines():
                if ln.lstrip().startswith("```"):
                    fenced = not fenced
                elif fenced:
                    out.append((i, ln))
    return out


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_shown_code_lines_fit_the_page(src: Path):
    """The book's code column shows about 88 characters; a longer line is cut or scrolls."""
    nb = nbformat.read(ROOT / "book" / (src.stem + ".ipynb"), as_version=4)
    long = [f"cell {i}: {ln}" for i, ln in shown_code_lines(nb) if len(ln) > SHOWN_CODE_MAX]
    assert not long, (f"{len(long)} shown code lines over {SHOWN_CODE_MAX} characters in {src.stem} (wrap them in "
                      f"{src.relative_to(ROOT)}; a re-wrapped code cell keeps its outputs):\n" + "\n".join(long[:10]))


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_figure_captions_hold_no_glued_value(src: Path):
    """A caption is also its figure's alt text (nbbuild.alt_text), which cannot show a run's glued value (it would
    read "…"): the caption says what the figure shows, the values go in the text after it."""
    with_glue = []
    for cell in nbbuild.source_cells(src):
        if cell.cell_type == "markdown" and "{glue:" in cell.source:
            alt = nbbuild.alt_text(cell.source)
            if "…" in alt:
                with_glue.append(alt[:80])
    assert not with_glue, f"{src.stem}: captions with a glued value: {with_glue}"


def test_alt_text_reads_latex_as_plain_text():
    assert nbbuild.alt_text("**Figure 3.1.** SGD at $\\eta = 1$, dotted: $\\tfrac12$, $2 \\log 2$.") == (
        "Figure 3.1. SGD at η = 1, dotted: ½, 2 log 2.")


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_figure_captions_use_latex_the_alt_text_can_read(src: Path):
    """A caption's LaTeX command with no plain-text reading in nbbuild.LATEX_TEXT would reach the alt text as its
    bare name ("tfrac12")."""
    unread = []
    for cell in nbbuild.source_cells(src):
        if cell.cell_type == "markdown":
            for caption in nbbuild.captions(cell.source):
                unread += [m for m in re.findall(r"\\([a-zA-Z]+\d*)", caption) if m not in nbbuild.LATEX_TEXT]
    assert not unread, f"{src.stem}: LaTeX in captions without a plain-text reading: {sorted(set(unread))}"


def test_library_source_printed_by_a_chapter_fits_the_column():
    """A chapter that prints a library function's source (``print(inspect.getsource(train_gan))``) shows it in an
    output box of the code column's width: the function's lines stay within it."""
    import importlib
    import inspect

    modules = [importlib.import_module(f"ssgan_lib.{m}") for m in ("gan", "train", "losses", "models", "step")]
    names = {n for src in SOURCES for n in re.findall(r"inspect\.getsource\((\w+)\)", src.read_text())}
    assert names, "no chapter prints a library function any more: drop this test"
    for name in sorted(names):
        fn = next(getattr(m, name) for m in modules if hasattr(m, name))
        long = [ln for ln in inspect.getsource(fn).split("\n") if len(ln) > SHOWN_CODE_MAX]
        assert not long, f"{name}: {len(long)} lines over {SHOWN_CODE_MAX} characters, e.g. {long[0]!r}"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_printed_lines_fit_the_column(src: Path):
    """A printed line wider than the code column is cut at the box's edge (it scrolls, but a reader rarely
    does): a chapter prints at most as many characters per line as its code shows."""
    nb = nbformat.read(ROOT / "book" / (src.stem + ".ipynb"), as_version=4)
    long = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            long += [f"cell {i}: {ln[:60]}…" for ln in text.split("\n") if len(ln) > SHOWN_CODE_MAX]
    assert not long, f"{src.stem}: printed lines over {SHOWN_CODE_MAX} characters:\n" + "\n".join(long[:10])
