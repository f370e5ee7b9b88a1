"""The book's stored results (``book/results/``), from a checkout or from an installed package.

Some chapters show runs too long to redo in a notebook (hours of training, GPU benchmarks); their
files live in one place, ``book/results/`` in the repository. Where they are read from:

1. ``book/results/`` of the repository, when ``ssgan_lib`` runs from a checkout (editable install
   included);
2. the copy shipped inside the package, ``ssgan_lib/evidence/_results/``: in the repository that folder is a
   symbolic link to ``book/results``, which the wheel build follows, so ``pip install git+<repository>``
   (the notebooks' install cell, Colab) and ``pip install .`` carry the files as package data.

:func:`results_path` gives the path of one result (``"reference_runs.json"``, ``"recipe"``), whether or
not that file exists yet (chapters test ``.exists()`` to show a result only once it is stored);
:func:`read_result` reads one. When neither folder exists, both raise
:class:`StoredResultsNotFoundError`, whose one-line message says what to do.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..data import IN_CHECKOUT, REPO_ROOT

# book/results/ of the checkout, or None when ssgan_lib is an installed package.
CHECKOUT_RESULTS_DIR: Path | None = REPO_ROOT / "book" / "results" if IN_CHECKOUT else None
# The copy inside the package (a link to book/results in the repository, real files once installed).
SHIPPED_RESULTS_DIR: Path = Path(__file__).resolve().parent / "_results"


class StoredResultsNotFoundError(FileNotFoundError):
    """Neither the checkout's ``book/results/`` nor the copy shipped in the package can be found."""


def candidate_results_dirs() -> list[Path]:
    """Folders searched for the stored results, in order."""
    dirs = [] if CHECKOUT_RESULTS_DIR is None else [CHECKOUT_RESULTS_DIR]
    return dirs + [SHIPPED_RESULTS_DIR]


def stored_results_dir() -> Path:
    """The folder holding the stored results (see the module's docstring for the order)."""
    dirs = candidate_results_dirs()
    for d in dirs:
        if d.is_dir():
            return d
    raise StoredResultsNotFoundError(
        f"the book's stored results were not found (searched {', '.join(map(str, dirs))}). "
        "Fix: run from a checkout of the book's repository, or install ssgan_lib from it without -e "
        "(pip install git+<repository URL>, as the install cell at the top of each notebook does)."
    )


def results_path(name: str = "") -> Path:
    """Path of the stored result ``name`` (a file or a subfolder of ``book/results/``), existing or not.

    >>> results_path("reference_runs.json").exists()  # doctest: +SKIP
    True
    """
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise ValueError(f"a stored result is named relative to book/results/, got {name!r}")
    return stored_results_dir() / name


def read_result(name: str) -> Any:
    """Read one stored result: ``.json`` parsed, ``.csv`` as a list of dicts (strings), anything else as text."""
    path = results_path(name)
    if not path.is_file():
        root = stored_results_dir()
        stored = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        raise FileNotFoundError(f"no stored result {name!r} in {root} (stored: {', '.join(stored) or 'none'})")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    if path.suffix == ".csv":
        return list(csv.DictReader(io.StringIO(text)))
    return text


MODELS = "models"  # book/results/models/: trained networks and their manifest.json (book/_tools/ship_models.py)


def trained_model(name: str, device: str = "cpu"):
    """A trained network shipped with the book, by its name in ``models/manifest.json`` (e.g. ``"final-300-seed2"``):
    ``(D, G, entry)``, float32, loaded by :func:`ssgan_lib.runs.load_trained` against the manifest's checksum;
    ``entry`` is the manifest's record of it (epochs, test error, where it came from)."""
    from ..runs import TrainedModelError, load_trained

    manifest = read_result(f"{MODELS}/manifest.json")
    if name not in manifest:
        raise TrainedModelError(f"no trained model {name!r} is shipped (shipped: {', '.join(sorted(manifest)) or 'none'})")
    entry = manifest[name]
    D, G, info = load_trained(results_path(f"{MODELS}/{entry['file']}"), sha256=entry["sha256"], device=device)
    return D, G, {**entry, **info}
