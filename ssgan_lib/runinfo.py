"""How a notebook ran: its mode (smoke / cpu / full), device, wall time and library version.

* ``smoke``: the ``CI`` environment variable is set — tiny sizes, a few minutes on 2 CPU cores;
* ``full``: a CUDA GPU is present — the sizes the chapter is written for;
* ``cpu``: no GPU, not CI — reduced sizes that finish in minutes on a laptop; numbers are labelled so.

``SSGAN_MODE`` (smoke, cpu or full) overrides the choice.
"""
from __future__ import annotations

import os
import platform
import time
from typing import Any, TypeVar

import torch

from . import __version__

T = TypeVar("T")
MODES = ("smoke", "cpu", "full")


def detect_mode() -> str:
    forced = os.environ.get("SSGAN_MODE", "").strip().lower()
    if forced:
        if forced not in MODES:
            raise ValueError(f"SSGAN_MODE must be one of {', '.join(MODES)}, got {forced!r}")
        return forced
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return "smoke"
    return "full" if torch.cuda.is_available() else "cpu"


class RunInfo:
    """Created at the top of a notebook; ``print(run)`` at the end gives its run-info line.

    >>> run = RunInfo()
    >>> steps = run.pick(smoke=50, cpu=2_000, full=30_000)
    """

    def __init__(self, chapter: str = "") -> None:
        self.chapter = chapter
        self.mode = detect_mode()
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device_name = torch.cuda.get_device_name(0) if self.device == "cuda" else platform.processor() or "cpu"
        self.t0 = time.perf_counter()

    @property
    def smoke(self) -> bool:
        return self.mode == "smoke"

    def pick(self, smoke: T, cpu: T, full: T) -> T:
        """The value for this run's mode."""
        return {"smoke": smoke, "cpu": cpu, "full": full}[self.mode]

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def as_dict(self) -> dict[str, Any]:
        return {"chapter": self.chapter, "mode": self.mode, "device": self.device, "device_name": self.device_name,
                "wall_seconds": round(self.elapsed(), 1), "ssgan_lib": __version__, "torch": torch.__version__}

    def __str__(self) -> str:
        d = self.as_dict()
        return (f"run-info: chapter={d['chapter']} mode={d['mode']} device={d['device']} ({d['device_name']}) "
                f"wall={d['wall_seconds']}s ssgan_lib={d['ssgan_lib']} torch={d['torch']}")

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
