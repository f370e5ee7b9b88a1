"""The two layers, read from the import graph (the source, not an import at run time):

* the library, ``ssgan_lib`` outside ``evidence/`` and ``exercises/``, imports neither of them: a reader lifts it
  into a project of their own without the book;
* the book's evidence layer (``ssgan_lib.evidence``) and the exercise checks (``ssgan_lib.exercises``) import the
  library, never each other's private helpers through it;
* inside the library, ``cli`` is the top: no other module imports it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ssgan_lib"
BESIDE = ("evidence", "exercises")  # the layers beside the library


def module_name(path: Path, root: Path = PACKAGE.parent) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = PACKAGE.parent) -> set[str]:
    """Every ssgan_lib module a file imports (relative imports resolved), at any depth of the file."""
    name, found = module_name(path, root), set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("ssgan_lib")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            if mod.startswith("ssgan_lib"):
                # `from . import x` / `from .. import evidence` name modules too
                found |= {mod} | {f"{mod}.{a.name}" for a in node.names}
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in BESIDE else "library"


LIBRARY_FILES = [p for p in sorted(PACKAGE.rglob("*.py")) if layer(module_name(p)) == "library"]


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_the_library_imports_neither_the_evidence_layer_nor_the_exercises(path):
    bad = sorted(m for m in imports(path) if layer(m) != "library")
    assert not bad, f"{module_name(path)} imports {bad}: the library must stand without the book"


def test_the_cli_is_the_top_of_the_library():
    users = [module_name(p) for p in LIBRARY_FILES
             if "ssgan_lib.cli" in imports(p) and module_name(p) not in ("ssgan_lib.cli", "ssgan_lib.__main__")]
    assert not users


def test_the_check_sees_a_forbidden_import(tmp_path):
    """The negative control: the same reading flags an import of a layer beside the library, relative or
    absolute, at the top of a file or inside a function, and passes a library import."""
    pkg = tmp_path / "ssgan_lib"
    (pkg / "sub").mkdir(parents=True)
    cases = {"from .evidence.records import load_run": True, "from ssgan_lib.evidence import stored": True,
             "from . import exercises": True, "def f():\n    from ..evidence import read_result": True,
             "import ssgan_lib.exercises.ch01": True, "from .losses import accuracy": False,
             "from .. import data": False}
    for k, (code, forbidden) in enumerate(cases.items()):
        path = pkg / "sub" / f"m{k}.py" if code.startswith(("def", "from ..")) else pkg / f"m{k}.py"
        path.write_text(code + "\n")
        found = imports(path, root=tmp_path)
        assert found and any(layer(m) != "library" for m in found) == forbidden, (code, found)


def test_the_evidence_layer_holds_what_the_book_reads():
    """What moved out of the library: the stored results, the readers of stored runs, the study's tables and
    verdict, the chapters' run info. None of them is left in the library."""
    evidence = {p.stem for p in (PACKAGE / "evidence").glob("*.py")}
    assert {"stored", "records", "study", "runinfo"} <= evidence
    assert not {p.stem for p in PACKAGE.glob("*.py")} & (evidence - {"__init__"})
