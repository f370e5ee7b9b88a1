"""The package as ``pip install git+<repository>`` builds it (what every notebook's install cell runs).

Fast checks of the declarations; .ci/run builds the wheel, installs it apart from the checkout and
imports it from elsewhere. Here:

* pyproject's package discovery finds every subpackage (``ssgan_lib.exercises`` was once left out);
* the build requirements can read the license declaration, and the LICENSE file exists;
* the package data ships every stored result of ``book/results/`` (through the ``ssgan_lib/_results`` link);
* the data folder: ``$SSGAN_DATA_DIR``, else the checkout's ``data/``, else a user cache — never
  inside the installed package or site-packages;
* the stored results: the checkout's ``book/results/``, else the copy in the package, else one clear line.
"""
from __future__ import annotations

import glob
import json
import os
import re
import sysconfig
from pathlib import Path

import pytest

import ssgan_lib
from ssgan_lib import data as D
from ssgan_lib import evidence as E
from ssgan_lib.evidence import stored as S

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ssgan_lib"
RESULTS = ROOT / "book" / "results"
EVIDENCE = "ssgan_lib.evidence"  # the subpackage that ships the stored results


def pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def setuptools_config() -> dict:
    return pyproject()["tool"]["setuptools"]


def package_dirs() -> set[str]:
    """Dotted names of the folders under ssgan_lib/ that hold an __init__.py (the link _results not followed)."""
    found = set()
    for folder, subdirs, files in os.walk(PACKAGE):  # os.walk does not follow links
        subdirs[:] = [d for d in subdirs if d != "__pycache__"]
        if "__init__.py" in files:
            found.add(".".join(Path(folder).relative_to(ROOT).parts))
    return found


# ----------------------------------------------------------------------------------------------
# what the wheel holds
# ----------------------------------------------------------------------------------------------
def test_package_discovery_finds_every_subpackage():
    setuptools = pytest.importorskip("setuptools")
    cfg = setuptools_config()
    assert isinstance(cfg.get("packages"), dict), "an explicit package list forgets new subpackages: use packages.find"
    find = cfg["packages"]["find"]
    finder = setuptools.find_namespace_packages if find.get("namespaces", True) else setuptools.find_packages
    found = set(finder(where=str(ROOT / find.get("where", ["."])[0]), include=find["include"],
                       exclude=find.get("exclude", ())))
    assert found == package_dirs()
    assert {"ssgan_lib", "ssgan_lib.exercises"} <= found


def test_every_folder_with_python_code_is_a_package():
    """Discovery skips folders without __init__.py (namespaces = false): code there would not ship."""
    for folder, subdirs, files in os.walk(PACKAGE):
        subdirs[:] = [d for d in subdirs if d != "__pycache__"]
        if any(f.endswith(".py") for f in files):
            assert "__init__.py" in files, f"{folder} holds Python files but no __init__.py: it would not be installed"


def test_build_requirements_read_the_license_declaration():
    cfg = pyproject()
    project = cfg["project"]
    if isinstance(project["license"], str):  # the SPDX form (PEP 639) needs setuptools >= 77
        (req,) = [r for r in cfg["build-system"]["requires"] if r.startswith("setuptools")]
        floor = re.fullmatch(r"setuptools\s*>=\s*(\d+)(\.\d+)*", req)
        assert floor and int(floor.group(1)) >= 77, f"{req!r}: license = {project['license']!r} needs setuptools>=77"
    for name in project["license-files"]:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "MIT License" in text and "Copyright (c) 2026 the ssgan_lib authors" in text


def test_package_data_ships_every_stored_result():
    """The globs of [tool.setuptools.package-data], applied as setuptools applies them (through the
    ``_results`` link), select exactly the stored results of book/results/ (and the trained networks of models/)."""
    link = PACKAGE / "evidence" / "_results"
    assert link.is_symlink() and os.readlink(link) == "../../book/results", \
        "ssgan_lib/evidence/_results -> ../../book/results"
    assert link.resolve() == RESULTS.resolve()
    cfg = setuptools_config()

    def selected(patterns):
        return {Path(p).relative_to(link).as_posix() for pat in patterns
                for p in glob.glob(str(PACKAGE / "evidence" / pat)) if Path(p).is_file()}

    shipped = selected(cfg["package-data"][EVIDENCE]) - selected(cfg.get("exclude-package-data", {}).get(EVIDENCE, []))
    stored = {p.relative_to(RESULTS).as_posix() for p in RESULTS.rglob("*")
              if (p.suffix in (".json", ".csv") or p.relative_to(RESULTS).parts[0] == "models" and p.suffix == ".pt")
              and not any(q.endswith(".partial") for q in p.relative_to(RESULTS).parts)}
    assert stored, "book/results/ holds no stored result"
    assert shipped == stored


def test_package_data_covers_subfolders_and_skips_runs_in_progress(tmp_path, monkeypatch):
    """The same globs on a made-up results tree: top level and one subfolder (json, csv) ship, *.partial/ do not."""
    pkg = tmp_path / "ssgan_lib" / "evidence"
    for f in ("a.json", "b.csv", "recipe/c.json", "recipe/d.csv", "x.partial/e.json", "notes.txt"):
        (pkg / "_results" / f).parent.mkdir(parents=True, exist_ok=True)
        (pkg / "_results" / f).write_text("{}")
    cfg = setuptools_config()

    def selected(patterns):
        return {Path(p).relative_to(pkg / "_results").as_posix() for pat in patterns for p in glob.glob(str(pkg / pat))}

    shipped = selected(cfg["package-data"][EVIDENCE]) - selected(cfg.get("exclude-package-data", {}).get(EVIDENCE, []))
    assert shipped == {"a.json", "b.csv", "recipe/c.json", "recipe/d.csv"}


# ----------------------------------------------------------------------------------------------
# where the data goes
# ----------------------------------------------------------------------------------------------
def _site_dirs() -> list[Path]:
    return [Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")]


def _inside(path: Path, folder: Path) -> bool:
    path = path.resolve()
    return path == folder or folder in path.parents


def test_checkout_is_recognised(tmp_path):
    assert D.IN_CHECKOUT and D.REPO_DATA_DIR == ROOT / "data"  # these tests run from the checkout
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "pyproject.toml").write_text('[project]\nname = "ssgan_lib"\n')
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "pyproject.toml").write_text('[project]\nname = "something_else"\n')
    (tmp_path / "site-packages").mkdir()
    assert D._is_checkout(tmp_path / "repo")
    assert not D._is_checkout(tmp_path / "other") and not D._is_checkout(tmp_path / "site-packages")


def test_data_dir_order_in_a_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv(D.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert D.candidate_dirs() == [D.REPO_DATA_DIR]  # the checkout's data/, not the user cache
    monkeypatch.setenv(D.ENV_VAR, str(tmp_path / "env"))
    assert D.candidate_dirs() == [tmp_path / "env", D.REPO_DATA_DIR]


def test_data_dir_order_when_installed(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "REPO_DATA_DIR", None)  # what an installed package computes
    monkeypatch.delenv(D.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert D.candidate_dirs() == [tmp_path / "cache" / "ssgan_lib"]
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert D.candidate_dirs() == [tmp_path / "home" / ".cache" / "ssgan_lib"]
    monkeypatch.setenv(D.ENV_VAR, str(tmp_path / "env"))
    assert D.candidate_dirs() == [tmp_path / "env", tmp_path / "home" / ".cache" / "ssgan_lib"]
    monkeypatch.delenv(D.ENV_VAR)
    monkeypatch.delenv("HOME")  # the real home: still not in the package nor in site-packages
    for d in D.candidate_dirs():
        assert not _inside(d, D.PACKAGE_DIR) and not any(_inside(d, s) for s in _site_dirs()), d


class _FakeTorchvisionMNIST:
    """Stands in for torchvision's MNIST: a "download" writes the four raw files, counted."""

    downloads: list[str] = []

    def __init__(self, root, train=True, download=False):
        raw = Path(root) / "MNIST" / "raw"
        if download and not all((raw / n).exists() for n in D.RAW_FILES):
            type(self).downloads.append(root)
            raw.mkdir(parents=True, exist_ok=True)
            for n in D.RAW_FILES:
                (raw / n).write_bytes(b"")


def test_installed_package_downloads_once_into_the_user_cache(tmp_path, monkeypatch):
    import torchvision.datasets

    monkeypatch.setattr(D, "REPO_DATA_DIR", None)
    monkeypatch.delenv(D.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(_FakeTorchvisionMNIST, "downloads", [])
    monkeypatch.setattr(torchvision.datasets, "MNIST", _FakeTorchvisionMNIST)
    cache = tmp_path / "cache" / "ssgan_lib"
    assert D.find_data_dir(download=True) == cache
    assert D.find_data_dir(download=True) == cache
    assert _FakeTorchvisionMNIST.downloads == [str(cache)]  # once, the second run finds the files


def test_installed_package_without_data_says_where_in_one_line(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(self, *a, **k):
        raise OSError("Could not resolve host")

    monkeypatch.setattr(D, "REPO_DATA_DIR", None)
    monkeypatch.delenv(D.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    with pytest.raises(D.DataNotFoundError) as exc:
        D.find_data_dir(download=True)
    msg = str(exc.value)
    assert "\n" not in msg and "SSGAN_DATA_DIR=" in msg and "OSError" in msg
    assert str(tmp_path / "cache" / "ssgan_lib" / "MNIST" / "raw") in msg
    assert not (tmp_path / "cache" / "ssgan_lib").exists()  # nothing half-made left behind


# ----------------------------------------------------------------------------------------------
# the stored results
# ----------------------------------------------------------------------------------------------
def test_results_come_from_the_checkout():
    assert S.stored_results_dir() == RESULTS
    assert E.results_path("reference_runs.json") == RESULTS / "reference_runs.json"
    assert E.read_result("reference_runs.json") == json.loads((RESULTS / "reference_runs.json").read_text())
    assert E.results_path("recipe") == RESULTS / "recipe"  # a path, whether or not it exists yet
    assert not E.results_path("not_stored_yet.json").exists()


def test_results_come_from_the_package_when_installed(tmp_path, monkeypatch):
    shipped = tmp_path / "site" / "ssgan_lib" / "evidence" / "_results"
    (shipped / "recipe").mkdir(parents=True)
    (shipped / "recipe" / "final.json").write_text('{"seed": 1}')
    (shipped / "rates.csv").write_text("method,labels\nssgan,100\n")
    monkeypatch.setattr(S, "CHECKOUT_RESULTS_DIR", None)
    monkeypatch.setattr(S, "SHIPPED_RESULTS_DIR", shipped)
    assert S.stored_results_dir() == shipped
    assert E.read_result("recipe/final.json") == {"seed": 1}
    assert E.read_result("rates.csv") == [{"method": "ssgan", "labels": "100"}]
    with pytest.raises(FileNotFoundError) as exc:
        E.read_result("nope.json")
    assert "\n" not in str(exc.value) and "recipe/final.json" in str(exc.value)  # says what is there
    with pytest.raises(ValueError):
        E.results_path("../data.py")


def test_no_results_anywhere_gives_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "CHECKOUT_RESULTS_DIR", None)
    monkeypatch.setattr(S, "SHIPPED_RESULTS_DIR", tmp_path / "missing")
    for call in (lambda: E.results_path("reference_runs.json"), lambda: E.read_result("x.json")):
        with pytest.raises(S.StoredResultsNotFoundError) as exc:
            call()
        msg = str(exc.value)
        assert "\n" not in msg and str(tmp_path / "missing") in msg
        assert "Fix:" in msg and "pip install git+" in msg and "checkout" in msg
