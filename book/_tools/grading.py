"""The instructor kit: per chapter an otter-grader assignment built from the chapter, and grading into a CSV.

    python book/_tools/grading.py build [NN ...]                 # assignments -> _build/grading/<chapter>/
    python book/_tools/grading.py grade NN SUBMISSIONS [--out F]  # points per exercise of every notebook in a folder
    python book/_tools/grading.py fixtures NN DIR                 # three submissions: solutions, blank, library

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
    numbers = {label: n for label, n in build_editions.exercise_numbers().items()}
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
    f = sub.add_parser("fixtures", help="the three submissions CI grades")
    f.add_argument("chapter")
    f.add_argument("dest", type=Path)
    f.add_argument("--kit", type=Path, default=OUT)
    args = ap.parse_args()
    if args.command == "build":
        for nb in chapters(args.chapters):
            print(f"{nb.stem}: {build(nb, args.out)}")
    elif args.command == "grade":
        (nb,) = chapters([args.chapter])
        rows = grade(args.kit / nb.stem, args.submissions, args.out)
        print(f"{len(rows)} rows ({len({r['submission'] for r in rows})} submissions) -> {args.out}")
    else:
        (nb,) = chapters([args.chapter])
        print(json.dumps(fixtures(args.kit / nb.stem, nb, args.dest)))


if __name__ == "__main__":
    main()
