"""Build a chapter notebook from its percent-format source, optionally executing it.

    python book/_tools/nbbuild.py book/_src/01_gan_game.py            # write book/01_gan_game.ipynb
    python book/_tools/nbbuild.py book/_src/01_gan_game.py --execute  # ... and run it, keeping outputs

Source format (jupytext "percent"): ``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell
whose lines drop their leading ``# ``. The tool puts the Colab install cell first (the repository
URL comes from ``_config.yml``, the only place it is written) and asks Colab for a GPU in the metadata.
Execution runs in ``book/`` with the current Python; set ``SSGAN_MODE`` or ``CI`` to pick the size.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
INSTALL_TAG = "colab-install"


def repository_url() -> str:
    text = (ROOT / "_config.yml").read_text()
    m = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, re.M)
    if not m:
        raise SystemExit("_config.yml has no repository.url")
    return m.group(1)


def install_cell_source(url: str | None = None) -> str:
    url = url or repository_url()
    return (
        "# Colab (or any machine without ssgan_lib): install it from the repository. torch is not pinned:\n"
        "# Colab's own build is kept. In Colab choose Runtime > Change runtime type > GPU for full-size runs.\n"
        "import importlib.util, subprocess, sys\n"
        "if importlib.util.find_spec(\"ssgan_lib\") is None:\n"
        f"    subprocess.check_call([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"git+{url}\"])"
    )


def parse_percent(text: str) -> list:
    cells, kind, buf = [], None, []

    def flush():
        if kind is None:
            return
        while buf and not buf[-1].strip():
            buf.pop()
        while buf and not buf[0].strip():
            buf.pop(0)
        if not buf:
            return
        if kind == "markdown":
            lines = [re.sub(r"^# ?", "", ln) for ln in buf]
            cells.append(nbformat.v4.new_markdown_cell("\n".join(lines)))
        else:
            cells.append(nbformat.v4.new_code_cell("\n".join(buf)))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, buf = ("markdown" if "[markdown]" in line else "code"), []
        else:
            buf.append(line)
    flush()
    return cells


def build(src: Path, execute: bool = False, timeout: int = 1800) -> Path:
    nb = nbformat.v4.new_notebook()
    install = nbformat.v4.new_code_cell(install_cell_source())
    install.metadata["tags"] = [INSTALL_TAG]
    nb.cells = [install] + parse_percent(src.read_text())
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["accelerator"] = "GPU"
    nb.metadata["colab"] = {"provenance": [], "gpuType": "T4"}
    out = BOOK / (src.stem + ".ipynb")
    if execute:
        from nbclient import NotebookClient

        try:  # glue() stores the prose's numbers only where myst_nb is installed; without it the book
            import myst_nb  # noqa: F401  (built with -W) would fail on every {glue:text} reference
        except ImportError:
            raise SystemExit("nbbuild --execute needs myst-nb (pip install -r requirements.txt): without it "
                             "the glued numbers would be missing from the notebook's outputs")

        t0 = time.time()
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(BOOK)}}).execute()
        print(f"executed {out.name} in {time.time() - t0:.0f}s", file=sys.stderr)
    nbformat.write(nb, out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("--execute", action="store_true")
    ap.add_argument("--timeout", type=int, default=1800)
    args = ap.parse_args()
    for s in args.sources:
        print(build(s, args.execute, args.timeout))


if __name__ == "__main__":
    main()
