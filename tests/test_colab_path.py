"""The Colab path, walked on a CPU: a chapter notebook alone in an empty folder, run against the installed package.

What a student in Colab gets: the notebook file by itself (no checkout, no ``book/results/`` beside it) and
``ssgan_lib`` installed by the install cell as a regular (non-editable) package. Here:

1. a wheel is built from the checkout's files (offline, with the running environment's setuptools) and
   installed into a fresh virtual environment; that environment sees the running one's third-party packages
   (torch, Jupyter) through a ``.pth`` line, which does not carry the checkout's editable install with it;
2. chapter 6 is copied alone into an empty folder and executed there, in smoke mode, by the fresh
   environment's Python, with MNIST from ``$SSGAN_DATA_DIR`` (no network);
3. it must run without an error, import ``ssgan_lib`` from the fresh environment (never the checkout), find its
   stored results, import its exercises' self-checks, and leave its run in ``runs/`` beside the notebook.
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

pytestmark = pytest.mark.slow  # builds a wheel, a fresh environment, and executes chapter 6
ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "book" / "06_improved_gan.ipynb"

PROBE = """\
import json, ssgan_lib
from ssgan_lib.evidence import results_path
from ssgan_lib.exercises import ch06  # the self-checks the solutions call
print("PROBE " + json.dumps({"package": ssgan_lib.__file__, "results": str(results_path()),
                             "reference_runs": results_path("reference_runs.json").is_file(),
                             "exercises": ch06.__name__}))
"""


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


@pytest.mark.skipif(not os.environ.get("SSGAN_DATA_DIR"), reason="needs MNIST offline ($SSGAN_DATA_DIR)")
def test_a_chapter_alone_in_an_empty_folder_runs_against_the_installed_package(tmp_path):
    pytest.importorskip("nbclient")
    wheel = _build_wheel(tmp_path)
    py = _fresh_env(tmp_path, wheel)
    site = subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   text=True).strip()

    folder = tmp_path / "colab"
    folder.mkdir()
    nb = json.loads(CHAPTER.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": PROBE})
    (folder / CHAPTER.name).write_text(json.dumps(nb))

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SSGAN_MODE", "SSGAN_RUNS_DIR",
                                                            "VIRTUAL_ENV")}
    active = os.environ.get("VIRTUAL_ENV")  # "python" on PATH must not be the running environment's
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if not active or not p.startswith(active)]
    env.update(CI="1", MPLBACKEND="Agg", HOME=str(tmp_path / "home"), PATH=os.pathsep.join([str(py.parent)] + path),
               SSGAN_DATA_DIR=str(Path(os.environ["SSGAN_DATA_DIR"]).resolve()))
    run = subprocess.run([str(py), "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace",
                          "--ExecutePreprocessor.timeout=900", CHAPTER.name],
                         cwd=folder, env=env, capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]

    cells = json.loads((folder / CHAPTER.name).read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    text = "".join("".join(o.get("text", "")) for o in outputs if o["output_type"] == "stream")
    probe = json.loads(text.split("PROBE ", 1)[1].splitlines()[0])
    assert Path(probe["package"]).resolve().is_relative_to(Path(site).resolve()), probe["package"]
    assert not Path(probe["results"]).resolve().is_relative_to(ROOT), "stored results read from the checkout"
    assert probe["reference_runs"], "the stored results did not ship with the package"
    assert "No recipe experiment stored" not in text, "chapter 6 did not find its stored recipe runs"
    assert "| mode smoke |" in text
    assert list((folder / "runs" / "06_improved_gan").glob("ssgan-fm-smoke-*/checkpoint.pt")), \
        "the chapter's run is not in runs/ beside the notebook"
