"""The instructor kit: per chapter an otter-grader assignment built from the chapter, and grading into a CSV.

    python book/_tools/grading.py build [NN ...]                 # assignments -> _build/grading/<chapter>/
    python book/_tools/grading.py grade NN SUBMISSIONS [--out F]  # points per exercise of every notebook in a folder
    python book/_tools/grading.py fixtures NN DIR                 # three submissions: solutions, blank, library
    python book/_tools/grading.py guide                           # rewrite book/instructors.md

``build`` writes, for each chapter (all of them by default), from the chapter's student notebook
(``student/book/<chapter>.ipynb``, what Colab opens) and the solutions in the chapter itself:

* ``master.ipynb``: otter-grader's master notebook. Every exercise whose solution ends in a self-check
  (``check_...(...)``) becomes a question worth one point: its solution cell (the solution's code between
  ``# BEGIN SOLUTION`` and ``# END SOLUTION``, its self-check call after them, visible to the student) and one
  hidden test that runs the same self-check again on the student's objects (with the library functions the
  exercise reproduces unavailable, :func:`ssgan_lib.exercises.call_student`), falling back to the verdict of the
  student's own call of that check where the student named things differently. Exercises without a self-check
  are open-ended: they stay as they are (an answer cell), graded by hand with the rubric of the instructor page.
* ``dist/student/<chapter>.ipynb`` (hand it out) and ``dist/autograder/<chapter>-autograder_*.zip`` (grade with
  it), written by ``otter assign``.

``grade`` runs ``otter run`` (no Docker: the current environment) on every ``.ipynb`` in a folder and writes one
CSV row per submission and exercise (``submission,exercise,points,max_points``). Set ``CI=1`` (or
``SSGAN_MODE=smoke``) to grade at the smoke size: grading executes the whole notebook again.

``guide`` writes the instructor page ``book/instructors.md`` from the chapters: every exercise, what grades it
(its self-checks, or the rubric below for an open-ended one) and its points, and each chapter's time as measured
when its stored outputs were made (its run-info line). ``tests/test_grading.py`` fails when the page is stale.

``fixtures`` writes the three submissions that CI grades for each chapter: ``solutions.ipynb`` (full marks),
``blank.ipynb`` (the student notebook as handed out: zero) and ``library.ipynb`` (the solutions, but every function
that an exercise asks for hands the work to the library function it reproduces: zero for those exercises).
"""
from __future__ import annotations

import argparse
import ast
import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_editions  # noqa: E402  (exercise numbers, the chapters' notebooks)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "_build" / "grading"
SOLUTION_OPEN = re.compile(r"^(?P<colons>:{3,})\{solution\}\s*(?P<label>\S+)")
CODE_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
OTTER = [sys.executable, "-m", "otter"]


# Open-ended exercises (no self-check): graded by hand, one point each, with these rubrics (by exercise label).
RUBRICS = {
    "ch02-minimax": "Full point: the four runs are shown with their mean D(G(z)); the answer reads from those numbers "
                    "whether the minimax run saturated (a mean D(G(z)) that falls near 0 and stays there, where its "
                    "gradient -D(G(z)) vanishes) or not (a D(G(z)) well away from 0 trains like the non-saturating "
                    "loss, as the solution explains), and does not claim saturation the numbers do not show. "
                    "Half: the runs without a reading of them.",
    "ch02-interpolate": "Full point: the interpolation grid in eval mode, and the answer names smooth morphing "
                        "against a sudden jump as what the grid shows about G's map. Half: the grid only.",
    "ch03-lr": "Full point: the four settings run and each judged from its curves and its samples, as the "
               "solution does: Adam at 2e-5 fails by being slow (healthy-looking D outputs, blobs with low "
               "diversity), Adam at 2e-3 does not fail at the cpu length, beta1 = 0.9 fails because D wins (D(x) "
               "near 1, D(G(z)) near 0), TTUR does not fail; a run that behaves otherwise is read from its own "
               "numbers. Half: runs without reading the curves and samples.",
    "ch03-small-data": "Full point: (a), (b), (c) run and compared on D(x), D(G(z)), diversity and nearest-neighbour "
                       "distances; the answer says that more data helps most, a slower D only delays memorising, "
                       "and augmenting real and fake alike keeps D from memorising. Half: two of the three.",
    "ch04-batchnorm": "Full point: the three samplings (or the error of the one-image batch) and the answer that "
                      "eval() mode, with the running statistics, is right. Half: the grids without the verdict.",
    "ch06-live-avg": "Full point: the three decays trained for the same steps; the answer says the live curves "
                     "agree and that a very slow average is dominated by early weights in a short run. Half: runs "
                     "without the explanation.",
    "ch07-sweep": "Full point: the second run skips every finished group (the sweep resumes) and this loses at most "
                  "the group in progress when a Colab session drops. Half: one of the two.",
    "ch08-memorise": "Full point: FID, diversity and class balance are fooled (at the real-vs-real level) and only "
                     "the nearest-neighbour distances (all 0) expose the copies. Half: the numbers without the "
                     "verdict.",
    "ch09-concat": "Full point: the Salimans D treats each image independently, so one forward of the concatenation "
                   "equals three; batch norm's statistics mix the batches, so for the DCGAN D it does not. Half: "
                   "one of the two halves.",
    "ch10-worst-seed": "Full point: the ranking by the worst seed printed, the answer says whether no-data-init "
                       "still ranks above the reference, and how many seeds stand behind it. Half: ranking only.",
    "ch10-d-wins": "Full point: a correct `wins` (epochs below 0.01 and the first epoch of the final streak), applied "
                   "to paper-300, agreeing with d_wins and the chapter's table. Half: the function without the "
                   "comparison.",
    "ch10-anneal": "Full point: the per-seed differences over the last 30 epochs and the comparison of the largest "
                   "with the seed gap of final-90, with the conclusion it supports. Half: numbers only.",
}


def chapters(selected: list[str] | None = None) -> list[Path]:
    """The chapters' notebooks (``book/NN_*.ipynb``), all or those whose number is in ``selected``."""
    found = [p for p in build_editions.chapter_notebooks() if p.stem[:2].isdigit()]
    if selected:
        want = {f"{int(s):02d}" for s in selected}
        unknown = want - {p.stem[:2] for p in found}
        if unknown:
            raise SystemExit(f"no chapter {', '.join(sorted(unknown))}; chapters: "
                             f"{', '.join(p.stem[:2] for p in found)}")
        found = [p for p in found if p.stem[:2] in want]
    return found


def solutions(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Exercise label -> the Python code of its solution (its code blocks, joined), from the book's notebook."""
    out: dict[str, str] = {}
    for c in nb.cells:
        if c.cell_type != "markdown":
            continue
        lines = c.source.split("\n")
        for i, line in enumerate(lines):
            m = SOLUTION_OPEN.match(line)
            if not m:
                continue
            close = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == m.group("colons")), len(lines))
            body = "\n".join(lines[i + 1:close]) + "\n"
            out[m.group("label")] = "".join(CODE_BLOCK.findall(body))
    return out


def check_calls(code: str) -> list[tuple[str, str]]:
    """The top-level self-check calls of a solution: [(check name, the call's source)]."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    calls = []
    for node in tree.body:
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                and node.value.func.id.startswith("check_")):
            calls.append((node.value.func.id, ast.get_source_segment(code, node)))
    return calls


def on_objects(call: str) -> bool:
    """Whether a self-check call hands the check the student's objects by name only (``check_x(ns_loss)``): then
    the autograder can call it again. A call on expressions or numbers (``check_x(math.log(2), 0.0)``) is the
    answer itself: it stays in the solution, and the autograder reads the verdict of the student's own call."""
    node = ast.parse(call).body[0].value
    return bool(node.args) and all(isinstance(a, ast.Name) for a in node.args) and not node.keywords


def split_solution(code: str) -> tuple[str, str, str]:
    """(imports of the self-checks, the answer itself, the self-check calls left visible) of a solution's code:
    the calls on the student's objects by name stay visible, after the answer; the others are part of it."""
    calls = {src for _, src in check_calls(code) if on_objects(src)}
    prelude, answer, checks = [], [], []
    tree = ast.parse(code)
    lines = code.split("\n")
    for node in tree.body:
        src = "\n".join(lines[node.lineno - 1:node.end_lineno])
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ssgan_lib.exercises"):
            prelude.append(src)
        elif src in calls:
            checks.append(src)
        else:
            answer.append(src)
    return "\n".join(prelude), "\n".join(answer), "\n".join(checks)


def hidden_test(module: str, name: str, call: str) -> str:
    """The autograder's test of one self-check: the check called again on the student's objects where it takes
    them by name (the verdict of the student's own call where they named them otherwise), else that verdict."""
    head = (f'""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'
            f"from ssgan_lib import exercises\n")
    if not on_objects(call):
        return head + f"assert exercises.VERDICTS.get({name!r}) is True  # the student's own call of {name}"
    return (head + f"import contextlib, io\nfrom {module} import {name}\n"
            f"with contextlib.redirect_stdout(io.StringIO()):  # the check's verdict line is not the test's output\n"
            f"    try:\n        ok = {call}\n"
            f"    except NameError:  # the answer names things otherwise: the verdict of the student's own call\n"
            f"        ok = exercises.VERDICTS.get({name!r}, False)\n"
            f"assert ok is True")


def questions(book_nb: Path) -> list[dict]:
    """The chapter's exercises in order: number, label, solution code, its self-checks (empty: open-ended)."""
    nb = nbformat.read(book_nb, as_version=4)
    numbers = build_editions.exercise_numbers()
    chapter = int(book_nb.stem[:2])
    sols = solutions(nb)
    out = []
    for label, number in sorted(((l, n) for l, n in numbers.items() if n.split(".")[0] == str(chapter)),
                                key=lambda t: int(t[1].split(".")[1])):
        code = sols.get(label, "")
        out.append({"number": number, "label": label, "code": code, "checks": check_calls(code)})
    return out


def master_notebook(book_nb: Path) -> nbformat.NotebookNode:
    """otter-grader's master notebook of a chapter (see the module docstring)."""
    student = nbformat.read(ROOT / "student" / "book" / book_nb.name, as_version=4)
    qs = {q["number"]: q for q in questions(book_nb)}
    name = book_nb.stem
    config = (f"# ASSIGNMENT CONFIG\nname: {name}\ninit_cell: false\ncheck_all_cell: false\nexport_cell: false\n"
              "run_tests: false\ngenerate: true\nenvironment: null\nrequirements: null\n")
    cells = [nbformat.v4.new_raw_cell(config)]
    module = f"ssgan_lib.exercises.ch{name[:2]}"
    i = 0
    while i < len(student.cells):
        c = student.cells[i]
        m = re.match(r"\*\*Exercise (\d+\.\d+)\*\*", c.source) if c.cell_type == "markdown" else None
        q = qs.get(m.group(1)) if m else None
        if q is None or not q["checks"]:
            cells.append(c)
            i += 1
            continue
        prelude, answer, checks = split_solution(q["code"])
        solution = (f"# Your answer to Exercise {q['number']}\n" + (prelude + "\n" if prelude else "")
                    + "# BEGIN SOLUTION\n" + answer + "\n# END SOLUTION\n" + checks)
        qname = "ex" + q["number"].replace(".", "_")
        cells += [nbformat.v4.new_raw_cell(f"# BEGIN QUESTION\nname: {qname}\npoints: 1"), c,
                  nbformat.v4.new_raw_cell("# BEGIN SOLUTION"), nbformat.v4.new_code_cell(solution),
                  nbformat.v4.new_raw_cell("# END SOLUTION"), nbformat.v4.new_raw_cell("# BEGIN TESTS")]
        tests: dict[str, str] = {}  # one test per check: a call on the student's objects where there is one
        for check, call in q["checks"]:
            if check not in tests or (on_objects(call) and not on_objects(tests[check])):
                tests[check] = call
        cells += [nbformat.v4.new_code_cell(hidden_test(module, check, call)) for check, call in tests.items()]
        cells += [nbformat.v4.new_raw_cell("# END TESTS"), nbformat.v4.new_raw_cell("# END QUESTION")]
        # the student notebook's empty answer cell is replaced by the solution cell
        i += 2 if (i + 1 < len(student.cells) and student.cells[i + 1].source.startswith("# Your answer")) else 1
    nb = nbformat.v4.new_notebook(cells=cells, metadata=student.metadata)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    for k, cell in enumerate(nb.cells):
        cell.id = f"grading-{k}"
    return nb


def build(book_nb: Path, out: Path = OUT) -> Path:
    """Write the chapter's master notebook and run ``otter assign`` on it; returns the chapter's folder."""
    folder = out / book_nb.stem
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    master = folder / f"{book_nb.stem}.ipynb"
    nbformat.write(master_notebook(book_nb), master)
    run = subprocess.run(OTTER + ["assign", master.name, "dist"], cwd=folder, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"otter assign failed for {book_nb.stem}:\n{(run.stdout + run.stderr)[-3000:]}")
    return folder


def autograder(folder: Path) -> Path:
    zips = sorted((folder / "dist" / "autograder").glob("*-autograder_*.zip"))
    if not zips:
        raise SystemExit(f"no autograder in {folder}/dist/autograder: run `grading.py build` first")
    return zips[-1]


def auto_graded(book_nb: Path) -> list[dict]:
    """The chapter's exercises that the autograder grades (those whose solution ends in a self-check)."""
    return [q for q in questions(book_nb) if q["checks"]]


def grade(folder: Path, submissions: Path, out: Path) -> list[dict]:
    """Grade every notebook in ``submissions`` with the chapter's autograder; write and return the CSV rows."""
    zip_path = autograder(folder)
    subs = sorted(submissions.glob("*.ipynb"))
    if not subs:
        raise SystemExit(f"no .ipynb in {submissions}")
    rows = []
    for sub in subs:
        with tempfile.TemporaryDirectory() as tmp:
            run = subprocess.run(OTTER + ["run", "-a", str(zip_path), "-o", tmp, str(sub)],
                                 capture_output=True, text=True)
            results = Path(tmp) / "results.json"
            if not results.exists():
                raise SystemExit(f"otter run gave no results for {sub}:\n{(run.stdout + run.stderr)[-3000:]}")
            tests = json.loads(results.read_text())["tests"]
        for t in tests:
            if "max_score" in t:
                rows.append({"submission": sub.name, "exercise": t["name"].removeprefix("ex").replace("_", "."),
                             "points": float(t["score"]), "max_points": float(t["max_score"])})
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["submission", "exercise", "points", "max_points"])
        w.writeheader()
        w.writerows(rows)
    return rows


def library_answer(code: str, library: dict[str, str]) -> str:
    """A solution whose functions (named by its self-check calls) are replaced by calls of the library's own."""
    out = code
    for check, call in check_calls(code):
        target = library.get(check)
        if not target:
            continue
        fn = ast.parse(call).body[0].value.args[0]
        if isinstance(fn, ast.Name):
            mod, attr = target.rsplit(".", 1)
            out += (f"\nimport {mod}\ndef {fn.id}(*args, **kwargs):  # hands the work to the library\n"
                    f"    return {mod}.{attr}(*args, **kwargs)\n{call}\n")
    return out


def fixtures(folder: Path, book_nb: Path, dest: Path) -> dict[str, list[str]]:
    """The three submissions CI grades (see the module docstring); returns {fixture: exercises it changes}."""
    from ssgan_lib.exercises import LIBRARY_ANSWERS

    dest.mkdir(parents=True, exist_ok=True)
    sol = nbformat.read(folder / "dist" / "autograder" / f"{book_nb.stem}.ipynb", as_version=4)
    nbformat.write(sol, dest / "solutions.ipynb")
    shutil.copy(folder / "dist" / "student" / f"{book_nb.stem}.ipynb", dest / "blank.ipynb")
    changed = []
    for c in sol.cells:
        m = re.match(r"# Your answer to Exercise (\d+\.\d+)", c.source) if c.cell_type == "code" else None
        if m:
            new = library_answer(c.source, LIBRARY_ANSWERS)
            if new != c.source:
                c.source = new
                changed.append(m.group(1))
    nbformat.write(sol, dest / "library.ipynb")
    return {"solutions": [], "blank": [], "library": changed}


def run_seconds(book_nb: Path) -> tuple[str, float] | None:
    """(mode, seconds) of the chapter's stored run-info line (how long its stored outputs took to make)."""
    nb = nbformat.read(book_nb, as_version=4)
    for c in reversed(nb.cells):
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            m = re.search(r"run-info: .*?\| mode (\w+) \| ([\d.]+) s", "".join(o.get("text", "")))
            if m:
                return m.group(1), float(m.group(2))
    return None


def guide() -> str:
    """The instructor page (Markdown), from the chapters (see the module docstring)."""
    lines = ["# For instructors: assigning and grading", "",
             "Every chapter's exercises can be handed out and graded with "
             "[otter-grader](https://otter-grader.readthedocs.io), from the chapter itself. This page is generated "
             "from the chapters by `python book/_tools/grading.py guide`.", "",
             "## Build, hand out, grade", "",
             "```bash",
             "pip install -r requirements.txt       # otter-grader included",
             "python book/_tools/grading.py build   # -> _build/grading/<chapter>/",
             "CI=1 python book/_tools/grading.py grade 6 submissions/ --out grades.csv",
             "```", "",
             "Hand out `_build/grading/<chapter>/dist/student/<chapter>.ipynb` and collect the students' notebooks "
             "in one folder.", "",
             "`grade` runs each submission again with the chapter's autograder (`otter run`, no Docker needed) and "
             "writes one row per submission and exercise: `submission,exercise,points,max_points`. It executes the "
             "whole notebook: `CI=1` grades at the smoke size, the quickest; "
             "without it, at the size the grading machine picks (`cpu` without a GPU). The autograder's tests are "
             "hidden: each runs the exercise's self-check again on the student's objects (or, where the student named "
             "them otherwise, takes the verdict of the student's own call of the check). A check refuses an answer "
             "that calls the library function the exercise asks for (it says which); "
             "`python book/_tools/grading.py fixtures 6 DIR` writes three submissions to try the kit on (the "
             "solutions, the blank notebook, one that calls the library); the book's own tests grade all three for every chapter with an "
             "auto-graded exercise.", "",
             "## Time per chapter", "",
             "How long each chapter's stored outputs took to make, end to end (its run-info line), on the book's "
             "2-core CPU, shared with other work (a quiet machine is faster); each chapter's first cell gives every "
             "size's training time.", "",
             "| chapter | size | measured |", "|---|---|---|"]
    for nb in chapters():
        got = run_seconds(nb)
        lines.append(f"| [{int(nb.stem[:2])}]({nb.stem}) | {got[0] if got else '–'} | "
                     f"{f'{got[1] / 60:.1f} min' if got else 'not measured'} |")
    lines += ["", "## Exercises and points", "",
              "One point per exercise. *auto*: graded by the autograder through the self-checks named; *open-ended*: "
              "graded by hand with its rubric (below).", "", "| exercise | graded by |", "|---|---|"]
    rubrics = []
    for nb in chapters():
        for q in questions(nb):
            if q["checks"]:
                names = ", ".join(f"`{c}`" for c in dict.fromkeys(c for c, _ in q["checks"]))
                lines.append(f"| {q['number']} | auto: {names} |")
            else:
                lines.append(f"| {q['number']} | open-ended |")
                rubrics.append(f"- **{q['number']}** (`{q['label']}`). {RUBRICS.get(q['label'], '**No rubric yet.**')}")
    lines += ["", "## Rubrics of the open-ended exercises", ""] + rubrics
    return "\n".join(lines) + "\n"


GUIDE = ROOT / "book" / "instructors.md"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="assignments, student notebooks and autograders")
    b.add_argument("chapters", nargs="*", help="chapter numbers (default: all)")
    b.add_argument("--out", type=Path, default=OUT)
    g = sub.add_parser("grade", help="grade a folder of submissions into a CSV")
    g.add_argument("chapter")
    g.add_argument("submissions", type=Path)
    g.add_argument("--out", type=Path, default=Path("grades.csv"))
    g.add_argument("--kit", type=Path, default=OUT)
    sub.add_parser("guide", help="rewrite book/instructors.md")
    f = sub.add_parser("fixtures", help="the three submissions CI grades")
    f.add_argument("chapter")
    f.add_argument("dest", type=Path)
    f.add_argument("--kit", type=Path, default=OUT)
    args = ap.parse_args()
    if args.command == "guide":
        GUIDE.write_text(guide())
        print(f"wrote {GUIDE}")
    elif args.command == "build":
        for nb in chapters(args.chapters):
            print(f"{nb.stem}: {build(nb, args.out)}")
    elif args.command == "grade":
        (nb,) = chapters([args.chapter])
        open_ended_only(nb)
        rows = grade(args.kit / nb.stem, args.submissions, args.out)
        print(f"{len(rows)} rows ({len({r['submission'] for r in rows})} submissions) -> {args.out}")
    else:
        (nb,) = chapters([args.chapter])
        print(json.dumps(fixtures(args.kit / nb.stem, nb, args.dest)))


def open_ended_only(nb: Path) -> None:
    """Stop with one line where a chapter has no auto-graded exercise (its exercises are graded by hand)."""
    if not auto_graded(nb):
        raise SystemExit(f"{nb.stem}: every exercise is open-ended (graded by hand with the rubrics of "
                         "book/instructors.md); there is nothing to auto-grade")


if __name__ == "__main__":
    main()
