"""The lowest Python that pyproject.toml declares is the lowest one checked: every module of the package (and
every test) parses with that version's grammar. This catches syntax newer than declared (a ``match`` statement
under 3.9, ``except*`` or PEP 695 generics under 3.10, ...); it cannot catch a library call that appeared later
(e.g. ``datetime.UTC``, 3.11): those show when the tests run under that Python."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def declared_lowest() -> tuple[int, int]:
    text = (ROOT / "pyproject.toml").read_text()
    m = re.search(r'^requires-python\s*=\s*">=\s*(\d+)\.(\d+)"', text, re.M)
    assert m, "pyproject.toml declares requires-python as \">=X.Y\""
    return int(m.group(1)), int(m.group(2))


FILES = sorted((ROOT / "ssgan_lib").rglob("*.py")) + sorted((ROOT / "tests").glob("*.py"))


def test_the_declared_version_is_one_ci_and_colab_run():
    assert declared_lowest() == (3, 10)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_every_module_parses_with_the_lowest_declared_python(path):
    ast.parse(path.read_text(), filename=str(path), feature_version=declared_lowest())
