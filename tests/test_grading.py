"""The instructor kit (book/_tools/grading.py): per chapter, otter-grader's assignment built from the chapter, and
three submissions graded with its autograder at the smoke size:

* the solutions: every auto-graded exercise gets its point;
* the blank student notebook, as handed out: no point at all;
* the solutions with every function an exercise asks for handed to the library's own (``library.ipynb``): those
  exercises lose the points of their guarded checks (all of them where every check is guarded), the others keep
  theirs.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "book" / "_tools" / "grading.py"
sys.path.insert(0, str(TOOL.parent))
import grading  # noqa: E402

CHAPTERS = [p.stem[:2] for p in grading.chapters() if grading.auto_graded(p)]  # the appendix's are open-ended


def tool(*args: str, cwd: Path | None = None, code: int = 0) -> str:
    env = {**os.environ, "CI": "1", "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, env=env, cwd=cwd)
    assert run.returncode == code, (run.stdout + run.stderr)[-3000:]
    return run.stdout + run.stderr


def test_a_chapter_without_auto_graded_exercises_says_so_in_one_line(tmp_path):
    open_ended = [p.stem[:2] for p in grading.chapters() if not grading.auto_graded(p)]
    if not open_ended:
        pytest.skip("every chapter has an auto-graded exercise")
    (tmp_path / "subs").mkdir()
    out = tool("grade", open_ended[0], str(tmp_path / "subs"), "--kit", str(tmp_path), code=1)
    assert out.strip().count("\n") == 0 and "open-ended" in out and "Traceback" not in out


def test_every_exercise_with_a_self_check_is_a_question():
    """An exercise whose solution ends in a self-check is graded; the others are open-ended (instructor page)."""
    graded = {q["number"] for nb in grading.chapters() for q in grading.questions(nb) if q["checks"]}
    everything = {q["number"] for nb in grading.chapters() for q in grading.questions(nb)}
    assert len(graded) >= 30 and graded <= everything


def test_every_open_ended_exercise_has_a_rubric_and_the_instructor_page_is_current():
    open_ended = {q["label"] for nb in grading.chapters() for q in grading.questions(nb) if not q["checks"]}
    assert open_ended <= set(grading.RUBRICS), sorted(open_ended - set(grading.RUBRICS))
    assert grading.GUIDE.read_text() == grading.guide(), "run: python book/_tools/grading.py guide"


@pytest.mark.slow  # otter assign, and three executions of the chapter
@pytest.mark.skipif(not os.environ.get("SSGAN_DATA_DIR"), reason="needs MNIST offline ($SSGAN_DATA_DIR)")
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_three_submissions_get_the_points_they_should(chapter, tmp_path):
    pytest.importorskip("otter")
    kit, subs = tmp_path / "kit", tmp_path / "submissions"
    tool("build", chapter, "--out", str(kit))
    changed = json.loads(tool("fixtures", chapter, str(subs), "--kit", str(kit)).strip().splitlines()[-1])
    tool("grade", chapter, str(subs), "--out", str(tmp_path / "grades.csv"), "--kit", str(kit))
    with open(tmp_path / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    by = {}
    for r in rows:
        by.setdefault(r["submission"], {})[r["exercise"]] = float(r["points"])
    (nb,) = grading.chapters([chapter])
    questions = {q["number"] for q in grading.questions(nb) if q["checks"]}
    assert set(by) == {"solutions.ipynb", "blank.ipynb", "library.ipynb"}
    assert set(by["solutions.ipynb"]) == questions
    assert all(v == 1.0 for v in by["solutions.ipynb"].values()), by["solutions.ipynb"]
    assert all(v == 0.0 for v in by["blank.ipynb"].values()), by["blank.ipynb"]
    # the library submission loses the points of exactly the exercises it hands to the library (all of them, or the
    # share of the exercise's checks that guard a library function, e.g. 6.2: D(x) written, K+1 -> K handed over)
    assert {e for e, v in by["library.ipynb"].items() if v < 1.0} == set(changed["library"]), by["library.ipynb"]
