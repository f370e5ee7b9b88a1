"""The Colab path, walked on a CPU: each Colab notebook alone in an empty folder, run against the installed package.

What a student in Colab gets: the notebook file by itself (``colab/book/<chapter>.ipynb``, what the launch buttons
open: no checkout, no ``book/results/`` beside it) and ``ssgan_lib`` installed by the install cell as a regular
(non-editable) package. Here:

1. a wheel is built from the checkout's files (offline, with the running environment's setuptools) and
   installed into a fresh virtual environment; that environment sees the running one's third-party packages
   (torch, Jupyter) through a ``.pth`` line, which does not carry the checkout's editable install with it;
2. the installed package is probed from outside the checkout: every module imports, the modules are the
   checkout's, the data folder is the user's cache (never inside the package), every stored result of
   ``book/results/`` ships byte for byte;
3. each chapter's Colab notebook is copied alone into an empty folder and executed there, top to bottom, in
   smoke mode, in a plain Jupyter kernel of the fresh environment, with MNIST from ``$SSGAN_DATA_DIR`` (no
   network); it must run without an error and import ``ssgan_lib`` from the fresh environment (never the
   checkout); a chapter that trains through ``RunInfo.trainer`` leaves its run in ``runs/`` beside it.

(``book/*.ipynb``, the book's own notebooks, are executed by nbval: ``pytest --nbval-lax book/``.)
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds a wheel and a fresh environment, and executes every Colab notebook
ROOT = Path(__file__).resolve().parent.parent

PROBE = """\
import json, ssgan_lib
print("PROBE " + json.dumps({"package": ssgan_lib.__file__}))
"""

# the installed package, probed from outside the checkout (SSGAN_CHECKOUT: the checkout, to compare with)
PACKAGE_PROBE = """\
import importlib, json, os, pkgutil
from pathlib import Path
import ssgan_lib, ssgan_lib.data as D
from ssgan_lib.evidence import read_result, results_path, stored as S
checkout = Path(os.environ["SSGAN_CHECKOUT"])
names = {m.name for m in pkgutil.walk_packages(ssgan_lib.__path__, "ssgan_lib.")}
for name in sorted(names - {"ssgan_lib.__main__"}):  # __main__ would run the CLI
    importlib.import_module(name)
source = {".".join(p.relative_to(checkout).with_suffix("").parts).replace(".__init__", "")
          for p in (checkout / "ssgan_lib").rglob("*.py")} - {"ssgan_lib"}
os.environ.pop("SSGAN_DATA_DIR", None)
results = checkout / "book" / "results"
stored = [p for p in results.rglob("*") if p.suffix in (".json", ".csv") and ".partial" not in str(p.parent)]
missing = [p.relative_to(results).as_posix() for p in stored
           if results_path(p.relative_to(results).as_posix()).read_bytes() != p.read_bytes()]
read_result("reference_runs.json")
print(json.dumps({"package": str(Path(ssgan_lib.__file__).resolve().parent), "modules": sorted(names),
                  "source": sorted(source), "in_checkout": D.IN_CHECKOUT, "repo_data": str(D.REPO_DATA_DIR),
                  "data_dirs": [str(d) for d in D.candidate_dirs()], "cache": str(D.user_cache_dir()),
                  "results": str(S.stored_results_dir()), "stored": len(stored), "not_shipped": missing}))
"""
CHAPTERS = sorted((ROOT / "colab" / "book").glob("*.ipynb"))


def _build_wheel(dest: Path) -> Path:
    src = dest / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "ssgan_lib", src / "ssgan_lib", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(ROOT / "book" / "results", src / "book" / "results",
                    ignore=shutil.ignore_patterns("*.partial"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                          "-w", str(dest / "whl"), str(src)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = (dest / "whl").glob("ssgan_lib-*.whl")
    return wheel


def _fresh_env(dest: Path, wheel: Path) -> Path:
    env_dir = dest / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    out = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                          str(wheel)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    # third-party packages from the running environment, appended after the fresh one's own site-packages
    (site / "zz_running_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return py


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the fresh environment's python, its site-packages), with the wheel of the checkout installed."""
    tmp = tmp_path_factory.mktemp("installed")
    py = _fresh_env(tmp, _build_wheel(tmp))
    site = subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   text=True).strip()
    return py, Path(site).resolve()


def _clean_env(py: Path, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SSGAN_MODE", "SSGAN_RUNS_DIR",
                                                            "VIRTUAL_ENV")}
    active = os.environ.get("VIRTUAL_ENV")  # "python" on PATH must not be the running environment's
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if not active or not p.startswith(active)]
    env.update(CI="1", MPLBACKEND="Agg", HOME=str(home), PATH=os.pathsep.join([str(py.parent)] + path))
    return env


def test_the_installed_package_is_whole_and_apart_from_the_checkout(installed, tmp_path):
    py, site = installed
    env = _clean_env(py, tmp_path / "home")
    env["SSGAN_CHECKOUT"] = str(ROOT)
    run = subprocess.run([str(py), "-c", PACKAGE_PROBE], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.splitlines()[-1])
    assert Path(got["package"]) == site / "ssgan_lib", f"imported {got['package']}"
    assert got["modules"] == got["source"], "the installed package differs from the checkout"
    assert not got["in_checkout"] and got["repo_data"] == "None"
    assert got["data_dirs"] == [got["cache"]] and not Path(got["cache"]).is_relative_to(site)
    assert Path(got["results"]) == site / "ssgan_lib" / "evidence" / "_results"
    assert got["stored"] > 0 and got["not_shipped"] == []


@pytest.mark.skipif(not os.environ.get("SSGAN_DATA_DIR"), reason="needs MNIST offline ($SSGAN_DATA_DIR)")
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_a_colab_notebook_alone_in_an_empty_folder_runs_against_the_installed_package(installed, chapter,
                                                                                       tmp_path):
    pytest.importorskip("nbclient")
    py, site = installed
    folder = tmp_path / "colab"
    folder.mkdir()
    nb = json.loads(chapter.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": PROBE})
    (folder / chapter.name).write_text(json.dumps(nb))
    env = _clean_env(py, tmp_path / "home")
    env["SSGAN_DATA_DIR"] = str(Path(os.environ["SSGAN_DATA_DIR"]).resolve())
    run = subprocess.run([str(py), "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace",
                          "--ExecutePreprocessor.timeout=900", chapter.name],
                         cwd=folder, env=env, capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]

    cells = json.loads((folder / chapter.name).read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    text = "".join("".join(o.get("text", "")) for o in outputs if o["output_type"] == "stream")
    probe = json.loads(text.split("PROBE ", 1)[1].splitlines()[0])
    assert Path(probe["package"]).resolve().is_relative_to(site), probe["package"]
    assert "| mode smoke |" in text
    source = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    if "run.trainer(" in source:  # its runs continue after a lost session: they live beside the notebook
        assert list((folder / "runs").glob(f"{chapter.stem}/*/checkpoint.pt")), "no run in runs/ beside it"
