"""Build the book (and its student edition) and read the HTML: figures, Colab links, exercises, solutions.

Each build takes a minute or two (no notebook is executed: the book shows the stored outputs).
"""
from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "book" / "_tools"))
import build_editions  # noqa: E402
import nbbuild  # noqa: E402
from test_book_structure import chapter_notebooks  # noqa: E402

JB = shutil.which("jupyter-book")
pytestmark = [pytest.mark.skipif(JB is None, reason="jupyter-book is not installed"),
              pytest.mark.slow]  # builds the book


def _build(out: Path, config: str) -> Path:
    cmd = [JB, "build", str(ROOT), "--path-output", str(out), "--config", str(ROOT / config), "-W", "--keep-going"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, f"book build failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return out / "_build" / "html"


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("book"), "_config.yml")


@pytest.fixture(scope="module")
def student_html(tmp_path_factory) -> Path:
    """The student edition as build_editions.py builds it (from a copy whose notebooks have no solutions); the
    committed student/book/*.ipynb are left as they are (test_book_structure checks them)."""
    return build_editions.build_student(tmp_path_factory.mktemp("student"), sync=False)


def pages() -> list[str]:
    return [p.stem for p in chapter_notebooks()]


@pytest.mark.parametrize("name", pages())
def test_chapter_page_has_figures_colab_exercises_solutions_no_errors(html: Path, name: str):
    page = (html / "book" / f"{name}.html").read_text()
    assert len(re.findall(r"<img [^>]*src=\"[^\"]*\.png\"", page)) >= 1, "no figure"
    assert re.search(r"https://colab\.research\.google\.com/github/[^\"]+/colab/book/" + re.escape(name) + r"\.ipynb", page), \
        "no Colab link to this notebook"
    assert len(re.findall(r'class="[^"]*\bexercise\b', page)) >= 3, "fewer than 3 exercises"
    assert len(re.findall(r'class="[^"]*\bsolution\b', page)) >= 3, "fewer than 3 solutions"
    assert "Traceback (most recent call last)" not in page and 'class="output traceback' not in page
    assert "run-info:" in page
    # every captioned figure's image says in its alt text what it shows (nbbuild copies the caption), not a file name
    src = (ROOT / "book" / "_src" / f"{name}.py").read_text()
    captions = set(re.findall(r"\*\*Figure (\d+\.\d+)\.\*\*", src))
    alts = [htmllib.unescape(a) for a in re.findall(r'<img [^>]*alt="([^"]*)"[^>]*src="[^"]*\.png"', page)
            + re.findall(r'<img [^>]*src="[^"]*\.png"[^>]*alt="([^"]*)"', page)]
    shown = {m for a in alts for m in re.findall(r"Figure (\d+\.\d+)\.", a)}
    # an animation (matplotlib's JavaScript player, no single image) is captioned as one and must be on the page
    animated = {n for n, line in re.findall(r"\*\*Figure (\d+\.\d+)\.\*\*([^\n]*)", src) if "animation" in line}
    assert len(animated) <= page.count('<div class="animation"'), f"animations {sorted(animated)} not on the page"
    assert captions - animated <= shown, f"figures whose image has no caption as alt text: {sorted(captions - shown)}"
    assert not [a for a in alts if re.fullmatch(r"[\w./-]*\.png", a)], "an image whose alt text is a file name"


def test_pages_load_the_narrow_screen_hint(html: Path):
    """A figure or table wider than a phone's screen scrolls inside its box; book/_static/scroll-hint.js marks such
    boxes so that book.css shows "swipe sideways" under them: every chapter page loads it."""
    assert (html / "_static" / "scroll-hint.js").is_file()
    for name in pages():
        assert "_static/scroll-hint.js" in (html / "book" / f"{name}.html").read_text(), name


def test_intro_and_api_pages_exist(html: Path):
    assert (html / "book" / "intro.html").exists()
    api = (html / "book" / "api.html").read_text()
    assert "feature_matching_loss" in api and "TrainConfig" in api


@pytest.mark.parametrize("name", pages())
def test_student_edition_has_exercises_but_no_solutions(student_html: Path, name: str):
    page = (student_html / "book" / f"{name}.html").read_text()
    assert len(re.findall(r'class="[^"]*\bexercise\b', page)) >= 3
    assert not re.findall(r'class="[^"]*\bsolution\b', page), "a solution leaked into the student edition"


def page_text_lines(page: str) -> list[str]:
    """The text a reader sees on a page outside code blocks: <pre> and <script> dropped, tags removed."""
    page = re.sub(r"<(pre|script|style)\b.*?</\1>", "", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", "", page)).splitlines()


RAW_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")


def notebooks_with_markdown_tables() -> list[str]:
    """Chapters whose stored outputs include a markdown table (IPython's Markdown display)."""
    names = []
    for nb_path in chapter_notebooks():
        outputs = [o for c in json.loads(nb_path.read_text())["cells"] for o in c.get("outputs", [])]
        md = "".join("".join(o.get("data", {}).get("text/markdown", "")) for o in outputs)
        if re.search(r"^\|[-:| ]+\|$", md, re.M):
            names.append(nb_path.stem)
    return names


def test_markdown_tables_in_outputs_render_as_tables(html: Path):
    """Markdown printed by code is parsed as MyST (nb_render_markdown_format), so its tables are <table>s,
    not lines of raw | a | b | text."""
    for page in sorted(html.rglob("*.html")):
        raw = [ln for ln in page_text_lines(page.read_text()) if RAW_TABLE_LINE.match(ln)]
        assert not raw, f"{page.relative_to(html)} shows a table as raw text: {raw[:3]}"
    with_tables = notebooks_with_markdown_tables()
    assert with_tables, "no chapter prints a markdown table any more: is this test still needed?"
    for name in with_tables:
        assert "<table" in (html / "book" / f"{name}.html").read_text(), f"{name}: its table is not a <table>"


EXTERNAL = re.compile(r"""<(script|img|iframe|link|source|video|audio)\b[^>]*\b(src|href)=["']((?:https?:)?//[^"']*)""",
                      re.I)


@pytest.mark.parametrize("edition", ["html", "student_html"])
def test_pages_load_nothing_from_outside_and_math_from_the_book(edition: str, request):
    """Offline, every page works: no script, stylesheet, image or frame comes from another host (an <a> link
    may point anywhere), and MathJax is the copy in book/_static/mathjax."""
    out: Path = request.getfixturevalue(edition)
    for page in sorted(out.rglob("*.html")):
        text = page.read_text()
        loads = [m.group(0) for m in EXTERNAL.finditer(text)
                 if m.group(1).lower() != "link" or "stylesheet" in m.group(0) or "preload" in m.group(0)]
        assert not loads, f"{page.relative_to(out)} loads from outside: {loads[:3]}"
    for name in pages():
        text = (out / "book" / f"{name}.html").read_text()
        m = re.search(r'<script[^>]*src="([^"?]*mathjax[^"?]*\.js)', text)
        assert m, f"{name}: no MathJax script"
        assert (out / "book" / m.group(1)).resolve().is_file(), f"{name}: MathJax script {m.group(1)} not shipped"


def solution_snippets() -> list[str]:
    """From every solution block of the chapters, a run of at least 6 plain words of one line: text that shows
    (unchanged by markdown or HTML) wherever the solution does."""
    snippets = []
    for nb_path in chapter_notebooks():
        md = "\n".join("".join(c["source"]) for c in json.loads(nb_path.read_text())["cells"]
                       if c["cell_type"] == "markdown")
        for block in re.findall(r"^:::\{solution\}.*?^:::$", md, re.M | re.S):
            best = max((run for line in block.splitlines()[2:]
                        for run in re.findall(r"(?:[A-Za-z]+[,;]? ){5,}[A-Za-z]+", line)), key=len, default="")
            if best:
                snippets.append(best)
    return snippets


def _visible_text(path: Path) -> str:
    text = path.read_text(errors="ignore")
    if path.suffix == ".html":
        text = htmllib.unescape(re.sub(r"<[^>]+>", " ", text))
    return " ".join(text.split())


def test_student_edition_has_no_solution_anywhere(html: Path, student_html: Path):
    """No solution in the student edition's pages, in the sources its download buttons serve (_sources/), nor in
    the notebooks its launch buttons open (book/*.ipynb of the student branch: student/book/*.ipynb here)."""
    snippets = solution_snippets()
    full = " ".join(_visible_text(p) for p in (html / "book").glob("*.html"))
    assert len(snippets) >= 3 * len(pages()) * 0.8, "too few solution snippets to test with"
    assert sum(s in full for s in snippets) >= 0.9 * len(snippets), "the full edition should show the solutions"
    served = sorted(student_html.rglob("*.html")) + sorted(p for p in (student_html / "_sources").rglob("*")
                                                          if p.is_file())
    assert any(p.suffix == ".ipynb" for p in served), "the student edition serves no notebook to download"
    launched = set()
    for page in sorted((student_html / "book").glob("*.html")):
        for branch, url in re.findall(
                r'https://colab\.research\.google\.com/github/[^/"]+/[^/"]+/blob/([^/"]+)/([^"?#]+)', page.read_text()):
            # the student branch (build_editions.py --student-tree) holds student/book/*.ipynb as book/*.ipynb
            assert branch == build_editions.STUDENT_BRANCH, f"a launch button opens branch {branch}: {url}"
            launched.add(ROOT / "student" / url)
    assert len(launched) == len(pages()), f"launch links: {sorted(str(p) for p in launched)}"
    assert all(p.exists() for p in launched), sorted(launched)
    repo = re.escape(nbbuild.repository_url())  # the repository holds book/*.ipynb, with every solution: no link to it
    to_repo = sorted({u for page in sorted(student_html.rglob("*.html"))
                      for u in re.findall(r'href="(' + repo + r'[^"]*)"', page.read_text())})
    assert not to_repo, f"the student edition links to the repository: {to_repo[:3]}"
    for path in served + sorted(launched):
        text = path.read_text(errors="ignore")
        assert "{solution}" not in text and not re.search(r'class="[^"]*\bsolution\b', text), path
        visible = _visible_text(path) if path.suffix == ".html" else text
        leaked = [s for s in snippets if s in visible]
        assert not leaked, f"{path}: solution text {leaked[:2]}"
