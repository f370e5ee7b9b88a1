"""How a notebook runs: its size (mode), the time each size takes, where its runs live, its run-info line.

Modes, chosen once at the top of a chapter:

* ``smoke``: the ``CI`` environment variable is set — tiny sizes, a few minutes on 2 CPU cores;
* ``cpu``: no GPU — reduced sizes that finish in minutes on a laptop; numbers are labelled so;
* ``gpu``: a CUDA GPU (e.g. Colab's T4) — each chapter within about 10 minutes on a T4-class GPU;
* ``full``: the sizes of the papers (hours on a GPU) — only when asked for.

``SSGAN_MODE`` (one of :data:`MODES`) overrides the choice; ``RunInfo(mode=...)`` too.

A chapter declares its sizes with :meth:`RunInfo.size`, which also records the work each mode costs, so that
:meth:`RunInfo.explain` can show every mode's expected training time on the devices whose speed was measured (a
2-core CPU): ``steps x the measured time of one step of that kind`` (:data:`DEVICES`, measured by
``book/_tools/calibrate_times.py``). :data:`STEP_GFLOP` gives each kind's FLOPs per step (chapter 9 uses them).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Mapping, TypeVar

import torch

from .. import __version__
from ..config import default_device, device_name

T = TypeVar("T")
MODES = ("smoke", "cpu", "gpu", "full")

# GFLOP of one training step, forward and backward, measured with torch.utils.flop_counter.FlopCounterMode
# (tests/test_runinfo.py measures them again and fails when the library's steps change by more than 5 %).
STEP_GFLOP = {
    "ssgan": 3.76,  # Trainer, SSGAN-FM (Salimans D and G), 100 labelled + 100 unlabelled + 100 generated, per seed
    "sgan": 3.76,  # Trainer, SGAN (K+1 logits): the same networks and batches
    "supervised": 0.77,  # Trainer, supervised-only: 100 labelled images through the same D, per seed
    "mlp_gan": 1.08,  # gan.train_gan, MLP G and D of chapter 2, batch 64
    "dcgan32": 4.03,  # gan.train_gan, DCGAN of chapter 4 with width 32, batch 64
    "dcgan64": 15.72,  # gan.train_gan, DCGAN with width 64, batch 64
    "feature_net": 3.20,  # metrics.train_feature_net, batch 128
    "toy": 0.0,  # 2-D toy GANs of chapter 1: a few thousand FLOPs, the fixed time per step is all
}

# Milliseconds of one training step of each kind on the devices whose times were measured: this book's 2-core CPU
# (Intel Xeon, 2 threads, torch 2.14, nothing else running; book/_tools/calibrate_times.py, 2026-12-07). No GPU is
# listed: no step has been timed on a T4 or an H100 here, and an assumed speed would print guesses as if they were
# times. A FLOP model (STEP_GFLOP / sustained GFLOP/s) put the MLP GAN's step at 13.5 ms: the small networks run far
# below the matrix throughput, so each kind is timed.
DEVICES = {
    "CPU, 2 cores": {"ssgan": 44.1, "sgan": 58.5, "supervised": 16.3, "mlp_gan": 20.9, "dcgan32": 54.5,
                     "dcgan64": 150.9, "feature_net": 50.1, "toy": 2.5},
}


def detect_mode() -> str:
    forced = os.environ.get("SSGAN_MODE", "").strip().lower()
    if forced:
        if forced not in MODES:
            raise ValueError(f"SSGAN_MODE must be one of {', '.join(MODES)}, got {forced!r}")
        return forced
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return "smoke"
    return "gpu" if torch.cuda.is_available() else "cpu"


def step_seconds(kind: str, device: str) -> float:
    """Seconds of one training step of ``kind`` (a key of :data:`STEP_GFLOP`) on ``device``, as measured."""
    return DEVICES[device][kind] / 1000


def _fmt_seconds(s: float) -> str:
    if s < 90:
        return f"{max(s, 1):.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


class RunInfo:
    """Created at the top of a notebook; ``print(run)`` at the end gives its run-info line.

    >>> run = RunInfo("06 improved gan")
    >>> steps = run.size(smoke=180, cpu=1200, gpu=30_000, full=180_000, work="ssgan")
    >>> run.explain()  # the mode picked, every mode's expected time, how to switch
    """

    def __init__(self, chapter: str = "", mode: str | None = None) -> None:
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.chapter = chapter
        self.mode = mode or detect_mode()
        self.device = default_device()
        self.device_name = device_name(self.device) if self.device != "cpu" else platform.processor() or "cpu"
        self.t0 = time.perf_counter()
        self.work: list[tuple[str, dict[str, float]]] = []  # (kind, {mode: steps})

    @property
    def smoke(self) -> bool:
        return self.mode == "smoke"

    def pick(self, smoke: T, cpu: T, full: T, gpu: T | None = None) -> T:
        """The value for this run's mode (``gpu`` falls back to ``full`` when not given)."""
        return {"smoke": smoke, "cpu": cpu, "gpu": full if gpu is None else gpu, "full": full}[self.mode]

    def size(self, smoke: int, cpu: int, gpu: int, full: int, work: str | Mapping[str, Any] = "toy") -> int:
        """A number of training steps for this run's mode, recorded as work for :meth:`estimates`.

        ``work`` names the kind of step (a key of :data:`STEP_GFLOP`), or maps kinds to how many such steps
        each of these steps costs (e.g. ``{"dcgan32": 1, "mlp_gan": 1}`` for two GANs of ``steps`` each,
        ``{"ssgan": 3}`` for three seeds side by side), a number or one per mode (``dict(smoke=2, cpu=4, ...)``).
        """
        sizes = {"smoke": smoke, "cpu": cpu, "gpu": gpu, "full": full}
        self.add_work(work, sizes)
        return sizes[self.mode]

    def add_work(self, work: str | Mapping[str, Any], steps: Mapping[str, float]) -> None:
        """Record ``steps[mode]`` steps of ``work`` (as in :meth:`size`) for every mode."""
        kinds = {work: 1.0} if isinstance(work, str) else dict(work)
        unknown = set(kinds) - set(STEP_GFLOP)
        if unknown:
            raise ValueError(f"unknown kind of step {sorted(unknown)}; known: {', '.join(STEP_GFLOP)}")
        if set(steps) != set(MODES):
            raise ValueError(f"steps must give every mode ({', '.join(MODES)}), got {sorted(steps)}")
        for kind, times in kinds.items():
            per_mode = times if isinstance(times, Mapping) else dict.fromkeys(MODES, times)
            if set(per_mode) != set(MODES):
                raise ValueError(f"{kind}: a count per mode must give every mode ({', '.join(MODES)})")
            self.work.append((kind, {m: float(steps[m]) * per_mode[m] for m in MODES}))

    def estimates(self) -> dict[str, dict[str, float]]:
        """{mode: {device: estimated seconds of training}} for the work recorded so far."""
        return {m: {d: sum(steps[m] * step_seconds(kind, d) for kind, steps in self.work) for d in DEVICES}
                for m in MODES}

    def explain(self, saves_runs: bool = False) -> None:
        """Show the mode picked, each mode's expected training time on the devices of :data:`DEVICES`, and how to
        switch (the ``smoke`` size, for automatic checks, is listed only when it is the one running).

        ``saves_runs``: the chapter trains through :meth:`trainer` or :meth:`run_dir` (its runs continue after a
        lost session); the others' runs are short and start afresh, and the text says which.
        """
        est = self.estimates()
        head = "| size | " + " | ".join(f"training, {d}" for d in DEVICES) + " |"
        lines = [head, "|" + "---|" * (len(DEVICES) + 1)]
        for m in MODES:
            if m == "smoke" and self.mode != "smoke":  # the automatic checks' size: not one a reader picks
                continue
            name = f"**{m}** (this run)" if m == self.mode else m
            lines.append(f"| {name} | " + " | ".join(_fmt_seconds(est[m][d]) for d in DEVICES) + " |")
        text = (f"This run: size **{self.mode}** on {self.device} ({self.device_name}).\n\n" + "\n".join(lines)
                + "\n\n*Training alone: the steps of each size times the time one such step takes on a 2-core CPU "
                "(measured); evaluation and figures come on top, and the chapter's last line prints what the whole "
                "run took. The `gpu` size is meant for a GPU such as Colab's T4.* "
                "To run another size, set "
                "`SSGAN_MODE` before the chapter starts, e.g. a first cell `%env SSGAN_MODE=full`, then "
                "*Run all* again. " + (
                    "Its training runs are saved in `runs/` beside the notebook and continue where they stopped "
                    "when a cell runs again (a lost Colab session loses at most a few minutes)." if saves_runs else
                    "Its runs are short and start afresh when a cell runs again; nothing is saved to disk."))
        try:
            from IPython.display import Markdown, display
        except ImportError:
            print(text)
        else:
            display(Markdown(text))

    # --- runs that survive a lost session ---------------------------------------------------------------------
    def run_dir(self, name: str, config: Any = None) -> Path:
        """A persistent folder for one run of this chapter: ``runs/<chapter>/<name>-<mode>[-<config hash>]``.

        ``runs/`` lies beside the notebook (the working directory; ``SSGAN_RUNS_DIR`` moves it). A different
        ``config`` (a dataclass or a dict) gets a different folder, so a changed size never resumes an old run.
        """
        root = Path(os.environ.get("SSGAN_RUNS_DIR") or "runs")
        slug = "_".join(self.chapter.lower().split()) or "notebook"
        leaf = f"{name}-{self.mode}"
        if config is not None:
            d = asdict(config) if is_dataclass(config) else dict(config)
            leaf += "-" + hashlib.sha1(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:8]
        return root / slug / leaf

    def trainer(self, cfg, data=None, name: str | None = None, progress: bool | None = None):
        """A :class:`~ssgan_lib.train.Trainer` for ``cfg`` that checkpoints into :meth:`run_dir` (every
        ``cfg.ckpt_every`` steps: by default every epoch, and at the end and at Ctrl-C) and continues from its
        checkpoint when one is there (a notebook cell run again after a lost session)."""
        from ..train import Trainer

        out = self.run_dir(name or cfg.method, cfg)
        show = self.mode in ("gpu", "full") if progress is None else progress
        tr = Trainer(cfg, data=data, out_dir=out, progress=show)
        if tr.resume_saved():
            print(f"continuing {out} from step {tr.step} of {tr.total_steps}")
        return tr

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def as_dict(self) -> dict[str, Any]:
        return {"chapter": self.chapter, "mode": self.mode, "device": self.device, "device_name": self.device_name,
                "wall_seconds": round(self.elapsed(), 1), "ssgan_lib": __version__, "torch": torch.__version__}

    def __str__(self) -> str:
        d = self.as_dict()
        return (f"run-info: chapter {d['chapter']} | mode {d['mode']} | {d['wall_seconds']:.0f} s\n"
                f"          {d['device']} ({d['device_name']}) | ssgan_lib {d['ssgan_lib']} | torch {d['torch']}")

    __repr__ = __str__


def glue(name: str, value: Any, display: bool = False) -> None:
    """Store ``value`` under ``name`` for the book's prose (``{glue:text}`name:.2f```).

    Uses ``myst_nb.glue`` when it is installed (the book build); elsewhere (Colab) it just shows
    the value when ``display`` is true, so notebooks run anywhere.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:
        if display:
            print(f"{name} = {value}")
        return
    _glue(name, value, display=display)
