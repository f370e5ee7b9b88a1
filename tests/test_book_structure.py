"""The book's notebooks, read as files: the table of contents, the Colab cell, exercises, stored outputs."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_tools"))
import nbbuild  # noqa: E402


def toc_files() -> list[str]:
    return re.findall(r"^\s*(?:root|- file):\s*(\S+)", (ROOT / "_toc.yml").read_text(), re.M)


def chapter_notebooks() -> list[Path]:
    return [ROOT / (f + ".ipynb") for f in toc_files() if (ROOT / (f + ".ipynb")).exists()]


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_toc_lists_intro_and_at_least_8_chapter_notebooks():
    files = toc_files()
    assert files[0] == "book/intro"
    assert (ROOT / "book/intro.md").exists()
    missing = [f for f in files if not any((ROOT / (f + ext)).exists() for ext in (".ipynb", ".md"))]
    assert not missing, f"in _toc.yml but not on disk: {missing}"
    assert len(chapter_notebooks()) >= 8


@pytest.mark.parametrize("nb_path", chapter_notebooks(), ids=lambda p: p.stem)
def test_notebook_is_built_from_its_source_with_the_colab_cell(nb_path: Path):
    nb = load(nb_path)
    first = nb["cells"][0]
    assert first["cell_type"] == "code"
    assert "".join(first["source"]) == nbbuild.install_cell_source(), "install cell differs from _config.yml's URL"
    assert nbbuild.repository_url() in "".join(first["source"])
    assert nb["metadata"].get("accelerator") == "GPU"
    assert (ROOT / "book/_src" / (nb_path.stem + ".py")).exists(), "every notebook has its percent-format source"


@pytest.mark.parametrize("nb_path", chapter_notebooks(), ids=lambda p: p.stem)
def test_notebook_has_exercises_solutions_and_sections(nb_path: Path):
    md = "\n".join("".join(c["source"]) for c in load(nb_path)["cells"] if c["cell_type"] == "markdown")
    exercises = re.findall(r"^:::\{exercise\}", md, re.M)
    solutions = re.findall(r"^:::\{solution\} (\S+)\n:class: dropdown", md, re.M)
    labels = re.findall(r"^:label: (\S+)", md, re.M)
    assert len(exercises) >= 3, f"{nb_path.name}: {len(exercises)} exercises"
    assert len(solutions) >= 3 and set(solutions) <= set(labels), "each solution in a dropdown, for a labelled exercise"
    for heading in ("Learning goals", "What to watch for", "Exercises", "References"):
        assert heading in md, f"{nb_path.name} lacks '{heading}'"


def test_exercise_labels_unique_across_the_book():
    labels = []
    for nb_path in chapter_notebooks():
        md = "\n".join("".join(c["source"]) for c in load(nb_path)["cells"] if c["cell_type"] == "markdown")
        labels += re.findall(r"^:label: (\S+)", md, re.M)
    assert len(labels) == len(set(labels)), f"duplicate labels: {sorted(l for l in labels if labels.count(l) > 1)}"


@pytest.mark.parametrize("nb_path", chapter_notebooks(), ids=lambda p: p.stem)
def test_stored_outputs_have_run_info_figures_and_no_errors(nb_path: Path):
    cells = load(nb_path)["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"], "a stored output is an error"
    texts = "".join("".join(o.get("text", "")) for o in outputs if o["output_type"] == "stream")
    assert re.search(r"run-info: chapter .+ \| mode (smoke|cpu|gpu|full) \| \d+ s\n +\S+ .*\| ssgan_lib ", texts), \
        "the notebook's outputs lack its run-info line (was it executed before committing?)"
    assert "| mode smoke |" not in texts, "stored outputs must come from a cpu, gpu or full run, not CI's smoke mode"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, "a chapter shows at least one figure"
    stderr = [o for o in outputs if o["output_type"] == "stream" and o.get("name") == "stderr"
              and "it/s" not in "".join(o["text"]) and "step/s" not in "".join(o["text"])]
    assert not stderr, f"stderr output (warnings) stored: {''.join(stderr[0]['text'])[:300]}"


def test_student_config_differs_only_in_solutions_title_launch_path_branch_and_repository_button():
    def lines(name: str) -> list[str]:
        return [ln for ln in (ROOT / name).read_text().splitlines() if not ln.startswith("#")]

    full, student = lines("_config.yml"), lines("_config_student.yml")
    diff = [(a, b) for a, b in zip(full, student) if a != b]
    assert len(full) == len(student)
    assert len(diff) == 5
    assert ("    hide_solutions: false", "    hide_solutions: true") in diff
    assert any(a.startswith("  use_repository_button: true") and b.startswith("  use_repository_button: false")
               for a, b in diff), "the student edition links to no repository page (it holds the solutions)"
    assert any(a.startswith("  path_to_book: colab") and b.startswith('  path_to_book: ""') for a, b in diff), \
        "the launch buttons open colab/book/*.ipynb (full) and book/*.ipynb of the student branch (student edition)"
    assert ("  branch: main", "  branch: student") in [(a.split("#")[0].rstrip(), b.split("#")[0].rstrip())
                                                        for a, b in diff], \
        "the student edition's launch buttons open the student branch, which holds no solutions"


@pytest.mark.parametrize("nb_path", chapter_notebooks(), ids=lambda p: p.stem)
def test_running_this_chapter_comes_first_with_its_estimates(nb_path: Path):
    """Right after the title and goals: a "Running this chapter" section whose code cell shows the mode and
    every mode's expected time (RunInfo.explain), before any other code of the chapter runs."""
    cells = [c for c in load(nb_path)["cells"] if "colab-install" not in c.get("metadata", {}).get("tags", [])]
    heading = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                   and "## Running this chapter" in "".join(c["source"]))
    assert all(c["cell_type"] == "markdown" for c in cells[:heading]), "code runs before 'Running this chapter'"
    code = next(c for c in cells[heading:] if c["cell_type"] == "code")
    assert "run.explain(" in "".join(code["source"])
    # it says runs are saved exactly where the chapter trains through RunInfo.trainer / run_dir
    saves = any(k in "".join(c["source"]) for c in cells if c["cell_type"] == "code"
                for k in ("run.trainer(", "run.run_dir("))
    assert ("saves_runs=True" in "".join(code["source"])) == saves
    shown = "".join("".join(o.get("data", {}).get("text/markdown", "")) for o in code.get("outputs", []))
    rows = [m for m in ("smoke", "cpu", "gpu", "full") if f"| {m} |" in shown or f"| **{m}** (this run) |" in shown]
    # the sizes a reader picks, each with its measured-step estimate; smoke (automatic checks) only when it ran
    assert rows[-3:] == ["cpu", "gpu", "full"] and "CPU, 2 cores" in shown, f"the time table is missing (rows: {rows})"
    assert ("smoke" in rows) == ("| **smoke** (this run) |" in shown), "the smoke size is listed though it did not run"
    assert "measured yet" not in shown and "Training alone" in shown, "the table's note is out of date: re-execute"


def reference_items(nb_path: Path) -> list[str]:
    """The list items of the chapter's References section (continuation lines joined)."""
    md = "\n".join("".join(c["source"]) for c in load(nb_path)["cells"] if c["cell_type"] == "markdown")
    section = md.split("## References", 1)[1].split("\n#", 1)[0]
    return [" ".join(item.split()) for item in re.split(r"^- ", section, flags=re.M)[1:]]


@pytest.mark.parametrize("nb_path", chapter_notebooks(), ids=lambda p: p.stem)
def test_every_reference_has_a_link(nb_path: Path):
    """Each paper in a chapter's References links to it (arXiv, DOI, or the page of a paper that has neither)."""
    items = reference_items(nb_path)
    assert items, "no References list"
    bare = [i for i in items if not re.search(r"\]\(https://[^)\s]+\)", i)]
    assert not bare, f"references without a link: {bare}"


@pytest.mark.parametrize("solutions", [False, True], ids=["student", "full"])
def test_launch_notebooks_are_the_chapters_in_plain_markdown(solutions):
    """student/book/NN_name.ipynb and colab/book/NN_name.ipynb, which the two editions' launch buttons open, are
    the chapter without outputs (the student's also without solutions), written by nbbuild.py and build_editions.py,
    in plain Markdown: no MyST that Jupyter or Colab would show raw, each exercise followed by an empty answer cell
    (in the full flavour its solution folded inside it), the book's glue-only cells left out and the cells it hides
    collapsed as Colab forms."""
    sys.path.insert(0, str(ROOT / "book" / "_tools"))
    import build_editions
    import nbformat

    for nb_path in chapter_notebooks():
        path = build_editions.launch_paths(nb_path)[solutions]
        assert path.exists(), f"no {path.relative_to(ROOT)}: python book/_tools/build_editions.py --sync"
        text = path.read_text()
        assert text == build_editions.colab_notebook_text(nbformat.read(nb_path, as_version=4), solutions), \
            f"{path.relative_to(ROOT)} is out of date: python book/_tools/build_editions.py --sync"
        assert "{solution}" not in text and '"outputs": []' in text
        nb = nbformat.reads(text, as_version=4)
        md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        left = re.findall(r"\{glue:[a-z]*\}`|^:{3,}\{|^`{3,}\{|\{(?:ref|doc|numref|eq|math)\}`", md, re.M)
        assert not left, f"{path.name}: MyST that Jupyter and Colab show raw: {left[:3]}"
        cells = nb.cells
        assert cells[2].source == build_editions.STORED_NUMBERS, "below the title: whose numbers the text gives"
        asks = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("**Exercise ")]
        assert len(asks) >= 3, f"{path.name}: {len(asks)} exercises"
        for i in asks:  # each exercise in its own cell, an empty cell to answer in right after it
            number = re.match(r"\*\*Exercise (\d+\.\d+)\*\*", cells[i].source).group(1)
            assert cells[i + 1].cell_type == "code" and cells[i + 1].source == f"# Your answer to Exercise {number}\n"
            assert (f"<summary><b>Solution {number}</b></summary>" in cells[i].source) == solutions, number
        for c in cells:
            tags = set(c.metadata.get("tags", []))
            assert "bookkeeping" not in tags, f"{path.name}: a glue-only cell"
            if c.cell_type == "code" and tags & {"hide-input", "remove-cell"} and "colab-install" not in tags:
                assert c.source.startswith("#@title ") and c.metadata.get("cellView") == "form", c.source[:80]
    folder = build_editions.launch_paths(chapter_notebooks()[0])[solutions].parent
    strays = {p.name for p in folder.glob("*.ipynb")} - {p.name for p in chapter_notebooks()}
    assert not strays, f"launch notebooks without a chapter: {strays}"


def test_strip_solutions_removes_solution_blocks_only():
    sys.path.insert(0, str(ROOT / "book" / "_tools"))
    from build_editions import strip_solutions

    md = ("Intro\n\n:::{exercise}\n:label: a\n\nDo it.\n:::\n\n:::{solution} a\n:class: dropdown\n\nText\n"
          "```python\n:::\nx = 1\n```\nmore\n:::\n\nAfter.")
    assert strip_solutions(md) == "Intro\n\n:::{exercise}\n:label: a\n\nDo it.\n:::\n\nAfter."
    assert strip_solutions("::::{solution} a\n:::\n::::\nend") == "end"
