"""The loop machinery, for any step function: :class:`Engine` runs ``step_fn`` (eagerly, or captured once as a CUDA
graph and replayed), sums what it returns in device-side :class:`Meters` (read, and checked for NaN or infinity, only
every ``log_every`` steps: the only host syncs), and calls the caller's callbacks (evaluation, checkpoints) at their
steps, with a progress bar and Ctrl-C deferred to the end of the step (:class:`DeferredInterrupt`).

The step function must be graph-safe: device tensors only, no ``.item()``, no Python branch on a value, randomness
from generators handed to the engine (``generators``), so that the same code runs eagerly or replayed.

CUDA graphs are used only where they are known to work (:data:`GRAPH_TORCH`: the torch versions whose graph API
this code is written for, from the first with ``CUDAGraph.register_generator_state``); elsewhere, or when capture
fails, the engine runs eagerly and says so in one INFO line of the ``ssgan_lib`` logger (never a warning: a notebook
would print it). ``graph="cuda-graph"`` insists: capture errors are raised.
"""
from __future__ import annotations

import contextlib
import logging
import re
import warnings
from typing import Callable, Sequence

import torch

log = logging.getLogger("ssgan_lib")

# torch versions (major, minor), inclusive, whose CUDA-graph API this engine is written for: 2.4 added
# CUDAGraph.register_generator_state (needed to capture draws from a generator other than the default one); later
# versions register generators lazily and make the call a deprecated no-op (called here with its warning silenced)
GRAPH_TORCH = ((2, 4), (2, 15))


def keep_freed_memory(limit: int = 64 << 20) -> bool:
    """Let glibc's ``malloc`` serve blocks up to ``limit`` bytes from the process's heap and keep them when freed
    (``mallopt`` of ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD``), instead of mapping fresh pages from the OS for every large tensor and
    unmapping them on free. A CPU training step allocates and frees the same megabyte-sized temporaries each step:
    without this, each costs page faults anew (about 1,000 per step of the Salimans pair here, measured with
    ``resource.getrusage``), with it none. Process-wide, so only the command line, which owns its process, calls
    it; True when set (Linux with glibc), False elsewhere, where nothing changes."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        # glibc's malloc.h: M_MMAP_THRESHOLD (-3) and M_TRIM_THRESHOLD (-1), the free memory at the heap's top kept
        # rather than given back (setting the first stops glibc from raising the second by itself)
        return bool(libc.mallopt(-3, int(limit)) and libc.mallopt(-1, 4 * int(limit)))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


class DivergenceError(RuntimeError, FloatingPointError):
    """A loss became NaN or infinite (a ``FloatingPointError`` too, what the GAN loops raised before)."""


def torch_version(v: str | None = None) -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", v or torch.__version__)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def graph_support(device: torch.device, version: str | None = None) -> str | None:
    """None when CUDA graphs can be used on ``device`` with this torch; else the reason why not."""
    if device.type != "cuda":
        return "not a CUDA device"
    lo, hi = GRAPH_TORCH
    v = torch_version(version)
    if not lo <= v <= hi:
        return (f"torch {version or torch.__version__} is outside the versions this CUDA-graph code is written for "
                f"({lo[0]}.{lo[1]} to {hi[0]}.{hi[1]})")
    if not hasattr(torch.cuda, "CUDAGraph") or not hasattr(torch.cuda, "graph"):
        return "this torch has no torch.cuda.CUDAGraph"
    return None


class Meters:
    """Per-run sums of the step's statistics since the last read, on the device.

    ``acc`` (S, k) sums, ``n`` the steps summed, ``bad`` the first of those steps (1-based) whose statistics were not
    finite (-1: none). Nothing here is mirrored on the host; :meth:`read` is the one sync.
    """

    def __init__(self, names: Sequence[str], seeds: int, device: torch.device, dtype: torch.dtype = torch.float32):
        self.names = tuple(names)
        self.acc = torch.zeros(seeds, len(self.names), device=device, dtype=dtype)
        self.n = torch.zeros((), dtype=torch.long, device=device)
        self.bad = torch.full((), -1, dtype=torch.long, device=device)

    @torch.no_grad()
    def add(self, stats: torch.Tensor) -> None:
        """Graph-safe: add one step's ``stats`` (S, k)."""
        stats = stats.detach()
        self.acc += stats
        self.n += 1
        self.bad.copy_(torch.where((self.bad < 0) & ~torch.isfinite(stats).all(), self.n, self.bad))

    def read(self, step: int) -> torch.Tensor:
        """Means since the last read (S, k) on the host, and start afresh; :class:`DivergenceError` naming the
        quantity and the step (``step``: the steps done now) when one was not finite."""
        n, bad = int(self.n), int(self.bad)  # the host sync
        mean = (self.acc / max(n, 1)).cpu()
        if bad >= 0 or not torch.isfinite(mean).all():
            which = [k for k, v in zip(self.names, mean.T) if not torch.isfinite(v).all()]
            at = step - n + bad if bad >= 0 else step
            raise DivergenceError(f"training diverged: {', '.join(which) or 'a loss'} became NaN or infinite at step "
                                  f"{at} (the last good checkpoint, if any, is kept; try a lower --lr)")
        self.acc.zero_()
        self.n.zero_()
        return mean

    def finite(self) -> bool:
        return int(self.bad) < 0 and bool(torch.isfinite(self.acc).all())

    def bad_step(self, step: int) -> int:
        """The step that went bad (``step`` when none did)."""
        bad = int(self.bad)
        return step - int(self.n) + bad if bad >= 0 else step


class DeferredInterrupt:
    """Within ``with``: SIGINT (Ctrl-C, a notebook's interrupt) sets ``requested`` instead of raising.

    A second Ctrl-C raises at once. Outside the main thread it does nothing (signals live there).
    """

    def __init__(self) -> None:
        self.requested = False
        self._old = None

    def _handler(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> "DeferredInterrupt":
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


class Every:
    """A callback ``fn()`` after every ``period``-th step (0: never) and, if ``at_end``, after the last."""

    def __init__(self, period: int, fn: Callable[[], None], at_end: bool = True):
        self.period, self.fn, self.at_end = period, fn, at_end

    def due(self, step: int, total: int) -> bool:
        return bool(self.period and step % self.period == 0) or (self.at_end and step == total)


class Engine:
    """Run ``step_fn`` (graph-safe, returns per-run statistics (S, k)) step after step.

    ``graph``: ``"auto"`` (a CUDA graph where :func:`graph_support` allows and capture works, else eager),
    ``"cuda-graph"`` (insist) or ``"eager"``. ``generators``: the device generators ``step_fn`` draws from (their
    state advances at each replay).
    """

    def __init__(self, step_fn: Callable[[], torch.Tensor], meters: Meters, device: torch.device, graph: str = "auto",
                 generators: Sequence[torch.Generator] = ()):
        self.step_fn, self.meters, self.device = step_fn, meters, torch.device(device)
        self.graph, self.generators = graph, list(generators)
        self.step = 0  # steps done
        self._graph: torch.cuda.CUDAGraph | None = None
        self._tried = graph == "eager" or self.device.type != "cuda"
        self.unsupported = graph_support(self.device)  # None: graphs may be used

    @property
    def mode(self) -> str:
        return "cuda-graph" if self._graph is not None else "eager"

    def reset(self) -> None:
        """Forget the captured graph (its tensors were replaced, e.g. by loading a checkpoint)."""
        self._graph = None
        self._tried = self.graph == "eager" or self.device.type != "cuda"

    def _body(self) -> None:
        self.meters.add(self.step_fn())

    def run_step(self) -> None:
        """Exactly one step: eager, or the first graph step (a warm-up step, then capture), or a replay."""
        if self._graph is not None:
            self._graph.replay()
        elif self._tried:
            self._body()
        else:
            self._first_graph_step()
        self.step += 1

    def _first_graph_step(self) -> None:
        self._tried = True
        if self.unsupported and self.graph != "cuda-graph":
            log.info("ssgan_lib: running eagerly, no CUDA graph (%s)", self.unsupported)
            self._body()
            return
        with self._side_stream():  # the warm-up (cuBLAS handles, autograd buffers): a real step, errors propagate
            self._body()
        try:
            self._graph = self._capture()  # records the step; executes nothing
        except Exception as exc:
            self._graph = None
            if self.graph == "cuda-graph":
                raise
            log.info("ssgan_lib: CUDA graph capture failed (%s: %s); running eagerly", type(exc).__name__,
                     str(exc).splitlines()[0] if str(exc) else "")

    def _side_stream(self):
        if self.device.type != "cuda":
            return contextlib.nullcontext()
        s = torch.cuda.Stream(self.device)
        s.wait_stream(torch.cuda.current_stream(self.device))

        @contextlib.contextmanager
        def ctx():
            with torch.cuda.stream(s):
                yield
            torch.cuda.current_stream(self.device).wait_stream(s)

        return ctx()

    def _capture(self) -> torch.cuda.CUDAGraph:  # pragma: no cover - CUDA only
        g = torch.cuda.CUDAGraph()
        for gen in self.generators:
            register = getattr(g, "register_generator_state", None)
            if register is not None:  # 2.4 ...: required for a non-default generator; later: a deprecated no-op
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    register(gen)
        with torch.cuda.graph(g):
            self._body()
        return g

    def run(self, end: int, total: int, log_every: int, on_log: Callable[[int, torch.Tensor], dict | None],
            before_step: Callable[[int], None] | None = None, callbacks: Sequence[Every] = (),
            on_interrupt: Callable[[], None] | None = None, progress: str | None = None) -> None:
        """Steps until ``self.step == end`` (``total``: the run's last step, when every callback fires).

        Every ``log_every`` steps (and at ``total``) the meters are read (:class:`DivergenceError` when a statistic
        was not finite) and ``on_log(step, means)`` returns the progress bar's postfix. ``before_step(step)`` runs on
        the host before each step (e.g. a new epoch's data order). Ctrl-C finishes the step, calls ``on_interrupt``
        and raises ``KeyboardInterrupt``.
        """
        pbar = None
        if progress:
            from tqdm.auto import tqdm
            pbar = tqdm(total=total, initial=self.step, desc=progress, unit="step", mininterval=1.0)
        try:
            with DeferredInterrupt() as stop:
                while self.step < end:
                    if before_step is not None:
                        before_step(self.step)
                    self.run_step()
                    if self.step % log_every == 0 or self.step == total:
                        post = on_log(self.step, self.meters.read(self.step))
                        if pbar is not None:
                            if post:
                                pbar.set_postfix(post, refresh=False)
                            pbar.update(self.step - pbar.n)
                    for cb in callbacks:
                        if cb.due(self.step, total):
                            cb.fn()
                    if stop.requested:
                        if on_interrupt is not None:
                            on_interrupt()
                        raise KeyboardInterrupt(f"interrupted at step {self.step}")
        finally:
            if pbar is not None:
                pbar.close()
