"""The semi-supervised GAN trainer: one :class:`Trainer` for ``ssgan-fm``, ``sgan`` and ``supervised``, configured
by :class:`~ssgan_lib.config.TrainConfig` (whose defaults are the recipe of Salimans et al. (2016) for MNIST).

The pieces live apart: the configuration in :mod:`ssgan_lib.config`, the paper's step and the batches it draws in
:mod:`ssgan_lib.step`, the loop machinery (CUDA graph, device-side meters, divergence check, progress, callbacks,
Ctrl-C) in :mod:`ssgan_lib.engine`. The trainer holds the state of a run: the data split, the models (built here,
DCGAN adapters included), optimisers and averages, the generator, the history, and its checkpoint.

How it is made fast (chapter 9 tells the story, ``python -m ssgan_lib bench`` measures it):

* the whole dataset lives on the device; a batch is ``train_x[seq[:, pos*B : pos*B+B]]`` where
  ``seq`` is a per-epoch permutation drawn on the device and ``pos`` a device counter;
* noise, latent codes and Gaussian-layer noise are drawn on the device from one generator;
* losses are accumulated in device tensors and read (one host sync) every ``log_every`` steps;
* on CUDA the whole step -- both players' forward, backward, Adam and averaging -- is captured once
  as a CUDA graph and replayed; on CPU the same step runs eagerly;
* ``seeds = S`` trains S independent runs at once: every weight carries a leading seed axis and
  the layers are batched matrix products.

Checkpoints are written atomically (temp file + rename) and hold everything needed to continue
exactly (models, optimizers, averages, RNG state, data order, step, history).
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import torch

from . import atomic
from . import losses
from .config import MNIST_TRAIN, ConfigError, TrainConfig, check_device, config_from_dict
from .data import MNIST, NUM_CLASSES, balanced_subset, load_mnist, validation_split
from .engine import DivergenceError, Engine, Every, Meters
from .models import DCGANDiscriminator, DCGANGenerator, SalimansD, SalimansG
from .optim import ParamAverage, PaperAdam
from .step import STATS, Batches, class_logits, draw_inputs, ssgan_step

__all__ = ["FORMAT", "CheckpointError", "Trainer", "build_models", "read_checkpoint"]

FORMAT = "ssgan_lib.checkpoint.v1"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or from an incompatible configuration."""


# ----------------------------------------------------------------------------------------------
# Adapters that give the DCGAN pair the seed axis (S = 1) of the Salimans pair
# ----------------------------------------------------------------------------------------------
class _SeedAxisD(torch.nn.Module):
    # D has batch norm: each batch (labelled, unlabelled, generated) needs its own forward, so that it is
    # normalised by its own statistics, never by those of real and generated images together (chapter 4)
    batch_norm = True

    def __init__(self, net: DCGANDiscriminator):
        super().__init__()
        self.net = net
        self.seeds = 1

    def noise_shapes(self, batch: int) -> list:
        return []

    def forward(self, x, noise=None, train=True, generator=None, real=True):
        """``real=False`` (a generated batch): normalised by its own batch statistics, as every batch is, but
        left out of the running statistics, so that evaluation normalises real images by real statistics."""
        self.net.train(train)
        bns = [m for m in self.net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        if train and not real:
            for m in bns:
                m.track_running_stats = False  # batch statistics, no running-average update
        try:
            logits, feat = self.net(x[0])
        finally:
            for m in bns:
                m.track_running_stats = True
        return logits.unsqueeze(0), feat.unsqueeze(0)

    def data_init(self, x, generator=None) -> None:
        pass


class _SeedAxisG(torch.nn.Module):
    def __init__(self, net: DCGANGenerator):
        super().__init__()
        self.net = net
        self.seeds = 1

    def sample_z(self, batch, device="cpu", generator=None):
        return self.net.sample_z(batch, device, generator).unsqueeze(0)

    def forward(self, z):
        return self.net(z[0]).unsqueeze(0)


def build_models(cfg: TrainConfig) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """D and G for ``cfg``; run ``s`` of ``S`` is initialised exactly as a single run with seed + s."""
    n_out = NUM_CLASSES + 1 if cfg.method == "sgan" else NUM_CLASSES
    trainable = cfg.hidden_scale == "trainable"
    g_eps = cfg.resolved.g_norm_eps

    def one(seed: int) -> tuple[torch.nn.Module, torch.nn.Module]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if cfg.model == "dcgan":
                return _SeedAxisD(DCGANDiscriminator(NUM_CLASSES + 1)), _SeedAxisG(DCGANGenerator(out="sigmoid"))
            return (SalimansD(1, cfg.sigma_in, cfg.sigma_hidden, num_classes=n_out, train_hidden_scale=trainable),
                    SalimansG(1, norm_eps=g_eps))

    pairs = [one(cfg.seed + s) for s in range(cfg.seeds)]
    if cfg.seeds == 1:
        D, G = pairs[0]
    else:
        D = SalimansD(cfg.seeds, cfg.sigma_in, cfg.sigma_hidden, num_classes=n_out, train_hidden_scale=trainable)
        G = SalimansG(cfg.seeds, norm_eps=g_eps)
        for big, parts in ((D, [p[0] for p in pairs]), (G, [p[1] for p in pairs])):
            big.load_state_dict({k: torch.cat([p.state_dict()[k] for p in parts]) for k in big.state_dict()})
    if cfg.method == "supervised":
        G = None
    dev = torch.device(cfg.device)
    return D.to(dev), (G.to(dev) if G is not None else None)


class Trainer:
    """Train D (and G) for one configuration. ``fit()`` runs to the end; ``evaluate()`` reports.

    Example::

        cfg = TrainConfig(labels=100, epochs=2)
        tr = Trainer(cfg)
        tr.fit()
        print(tr.evaluate("test"))   # accuracy of the averaged D, one value per seed
    """

    def __init__(self, cfg: TrainConfig, data: MNIST | None = None, out_dir: str | Path | None = None,
                 progress: bool = True):
        self.cfg = cfg  # checked and resolved when it was made (TrainConfig is frozen)
        self.device = check_device(cfg.device)
        self.data = data if data is not None else load_mnist(self.device)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.progress = progress
        S, B = cfg.seeds, cfg.batch_size
        N = len(self.data.train_x)
        if N != MNIST_TRAIN:  # the config was checked for MNIST's 60,000 training images; check it for these
            cfg.validate(N)
        self.steps_per_epoch = N // B
        self.total_steps = cfg.total_steps(N)
        self.ckpt_every = self.steps_per_epoch if cfg.ckpt_every is None else cfg.ckpt_every  # steps; 0: at the end

        # --- data split: validation images (labels hidden), labelled subset per seed ------------
        pool, val = validation_split(N, cfg.val_size, seed=0) if cfg.val_size else (torch.arange(N), torch.arange(0))
        self.val_idx = val.to(self.device)
        try:
            lab = [balanced_subset(self.data.train_y, cfg.labels, pool=pool,
                                   seed=cfg.seed + s if cfg.data_seed is None else cfg.data_seed) for s in range(S)]
        except ValueError as exc:  # e.g. more labels of a class than the pool holds: bad input, not a crash
            raise ConfigError(f"labels ({cfg.labels}): {exc}") from exc
        self.batches = Batches(torch.stack(lab).to(self.device), N, B, self.steps_per_epoch)

        # --- models, optimisers, averaging -------------------------------------------------------
        self.D, self.G = build_models(cfg)
        self.D_eval = copy.deepcopy(self.D)
        inside = cfg.adam_eps_place == "inside"
        lr = cfg.resolved.lr
        self.opt_d = PaperAdam(list(self.D.parameters()), lr, (cfg.beta1, cfg.beta2), cfg.adam_eps, inside)
        self.opt_g = (PaperAdam(list(self.G.parameters()), lr, (cfg.beta1, cfg.beta2), cfg.adam_eps, inside)
                      if self.G is not None else None)
        self.avg = ParamAverage(self.opt_d.params, cfg.avg_decay)

        # --- randomness (all on the device), the loop ---------------------------------------------
        self.gen = torch.Generator(self.device).manual_seed(cfg.seed)
        self.meters = Meters(STATS, S, self.device)
        self.engine = Engine(self.train_step, self.meters, self.device, cfg.graph, generators=[self.gen])
        self.history: dict[str, list] = {"step": [], "loss_lab": [], "loss_unl": [], "loss_g": [], "train_acc": [],
                                         "eval_step": [], "val_acc": [], "val_acc_raw": []}
        self.wall_seconds = 0.0
        self.initialised = False
        self._fit_t0: float | None = None  # perf_counter() when the running fit() began, else None

    # the parameter lists, in the optimisers' order
    d_params = property(lambda self: self.opt_d.params)
    g_params = property(lambda self: self.opt_g.params if self.opt_g is not None else [])
    # the labelled subset (S, labels) and this epoch's labelled order (chapter 5 shows both)
    lab_idx = property(lambda self: self.batches.lab_idx)
    lab_seq = property(lambda self: self.batches.lab_seq)

    @property
    def step(self) -> int:
        """Steps done."""
        return self.engine.step

    @step.setter
    def step(self, value: int) -> None:
        self.engine.step = int(value)

    # ------------------------------------------------------------------------------------------
    def _init_data_dependent(self) -> None:
        """Data-dependent init of D on ``init_size`` training images (a seeded random choice)."""
        if self.cfg.data_init:  # the ablation data_init=False keeps g = 1 (unit-norm columns) and b = 0
            n = self.cfg.init_size
            idx = torch.stack([torch.randperm(len(self.data.train_x), generator=self.gen, device=self.device)[:n]
                               for _ in range(self.cfg.seeds)])
            self.D.data_init(self.data.train_x[idx], generator=self.gen)
        if self.cfg.resolved.g_data_init and self.G is not None:  # paper-2016-06: G's output layer, on one batch of z
            self.G.data_init(self.G.sample_z(self.cfg.batch_size, self.device, self.gen))
        self.initialised = True

    def _new_epoch(self) -> None:
        """The epoch's data order (on the device) and learning rate."""
        self.batches.new_epoch(self.gen)
        for opt in (self.opt_d, self.opt_g):
            if opt is not None:
                opt.set_lr(self.lr_at(self.step // self.steps_per_epoch))

    def lr_at(self, epoch: int) -> float:
        """Learning rate of (0-based) ``epoch``: constant, then linear to 0 over the last ``decay_epochs``
        (the reference's ``lr * min(3 - epoch/100, 1)`` for 300 epochs with 100 decaying)."""
        decay = self.cfg.decay_epochs(len(self.data.train_x))
        lr = float(self.cfg.resolved.lr)
        if decay <= 0:
            return lr
        total_epochs = self.total_steps / self.steps_per_epoch
        return lr * max(0.0, min(1.0, (total_epochs - epoch) / decay))

    def draw_inputs(self) -> dict:
        """Everything random the next step needs (:func:`ssgan_lib.step.draw_inputs`)."""
        return draw_inputs(self.cfg, self.data, self.batches, self.D, self.G, self.gen)

    def train_step(self, inp: dict | None = None) -> torch.Tensor:
        """One step on ``inp`` (None: drawn now, :meth:`draw_inputs`), then the next batch; returns the step's
        statistics (S, 4) (:data:`STATS`). Graph-safe: ``fit`` runs it through the engine, which sums the statistics
        and counts the step; called by hand (given inputs, e.g. the reference oracle's), neither happens."""
        stats = ssgan_step(self.cfg, self.D, self.G, self.opt_d, self.opt_g, self.avg,
                           self.draw_inputs() if inp is None else inp)
        self.batches.advance()
        return stats

    @torch.no_grad()
    def predict(self, split: str = "val", batch: int = 1000, params: str | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """D's class for every image of ``"val"`` or ``"test"`` (noise off): (predictions (S, N), labels (N,)).

        ``params``: ``"averaged"`` (the parameter average), ``"raw"`` (the D being trained) or ``None``
        (the recipe's choice, ``cfg.resolved.eval_params``). The test set is for the final report only; nothing in
        this library chooses by it.
        """
        params = params or self.cfg.resolved.eval_params
        if params not in ("averaged", "raw"):
            raise ValueError(f"params must be 'averaged' or 'raw', got {params!r}")
        if split == "test":
            x, y = self.data.test_x, self.data.test_y
        elif split == "val":
            if len(self.val_idx) == 0:
                raise ValueError("no validation split (val_size=0)")
            x, y = self.data.train_x[self.val_idx], self.data.train_y[self.val_idx]
        else:
            raise ValueError(f"split must be 'val' or 'test', got {split!r}")
        D = self.sync_eval() if params == "averaged" else self.D
        S = self.cfg.seeds
        pred = torch.empty(S, len(x), dtype=torch.long, device=self.device)
        for i in range(0, len(x), batch):
            raw, _ = D(x[i:i + batch].unsqueeze(0).expand(S, -1, -1), train=False)
            pred[:, i:i + batch] = class_logits(raw, self.cfg.method).argmax(-1)
        return pred, y

    def evaluate(self, split: str = "val", batch: int = 1000, params: str | None = None) -> list[float]:
        """Accuracy of D (noise off) on ``"val"`` or ``"test"``, one value per seed (see :meth:`predict`)."""
        return losses.accuracy(*self.predict(split, batch, params)).tolist()

    @torch.no_grad()
    def sync_eval(self) -> torch.nn.Module:
        """Load the bias-corrected parameter averages (and D's buffers) into ``self.D_eval``."""
        for be, b in zip(self.D_eval.buffers(), self.D.buffers()):
            be.copy_(b)
        self.avg.copy_to(list(self.D_eval.parameters()))
        return self.D_eval

    # ------------------------------------------------------------------------------------------
    def fit(self, steps: int | None = None, callbacks: Sequence[Every] = ()) -> dict[str, list]:
        """Train until ``self.total_steps`` (or ``steps`` more). Ctrl-C saves a checkpoint and re-raises.

        ``callbacks``: :class:`~ssgan_lib.engine.Every` objects whose ``fn()`` runs on the host after every
        ``period``-th step (and after the run's last step), after the trainer's own validation and checkpoint: e.g.
        ``Every(500, watch)`` to draw samples or measure FID while the run goes on, with ``self.step`` the steps
        done. Returns the history (losses per log interval, validation accuracy per evaluation).
        """
        if not self.initialised:
            self._init_data_dependent()
        end = self.total_steps if steps is None else min(self.total_steps, self.step + steps)
        callbacks = list(callbacks)
        if self.ckpt_every and self.out_dir is not None:
            callbacks.insert(0, Every(self.ckpt_every, self.save, at_end=False))
        if self.cfg.eval_every and self.val_idx.numel():
            callbacks.insert(0, Every(self.cfg.eval_every, self._evaluate_val))
        self._fit_t0 = time.perf_counter()
        try:
            self.engine.run(end, self.total_steps, self.cfg.log_every, self._log, before_step=self._before_step,
                            callbacks=callbacks, on_interrupt=self._save_if_safe,
                            progress=f"{self.cfg.method} {self.cfg.labels} labels" if self.progress else None)
        finally:
            self.wall_seconds += time.perf_counter() - self._fit_t0
            self._fit_t0 = None
        if self.out_dir is not None:
            self.save()
        return self.history

    def _before_step(self, step: int) -> None:
        if step % self.steps_per_epoch == 0:  # the first step of an epoch (this one's order is drawn now)
            self._new_epoch()

    def _log(self, step: int, means: torch.Tensor) -> dict:
        h = self.history
        h["step"].append(step)
        for i, n in enumerate(STATS):
            h[n].append(means[:, i].tolist())
        m = means.mean(0)
        post = {"lab": f"{m[0]:.3f}", "unl": f"{m[1]:.3f}", "g": f"{m[2]:.3f}", "acc": f"{m[3]:.2f}"}
        if h["val_acc"]:
            post["val"] = f"{sum(h['val_acc'][-1]) / len(h['val_acc'][-1]):.4f}"
        return post

    def _evaluate_val(self) -> None:
        self.history["eval_step"].append(self.step)
        self.history["val_acc"].append(self.evaluate("val", params="averaged"))
        self.history.setdefault("val_acc_raw", []).append(self.evaluate("val", params="raw"))

    def _save_if_safe(self) -> None:
        if self.out_dir is not None and self.meters.finite():
            self.save()

    # ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "format": FORMAT,
            "config": asdict(self.cfg),  # the fields and, under "resolved", the values the run uses
            "step": self.step, "initialised": self.initialised,
            # a checkpoint written during fit() counts the time spent so far, so a resumed run's total is right
            "wall_seconds": self.wall_seconds + (time.perf_counter() - self._fit_t0 if self._fit_t0 is not None else 0.0),
            "D": self.D.state_dict(), "G": self.G.state_dict() if self.G is not None else None,
            "opt_d": self.opt_d.state_dict(), "opt_g": self.opt_g.state_dict() if self.opt_g is not None else None,
            "avg": self.avg.state_dict(),
            "rng": self.gen.get_state(),
            **self.batches.state_dict(),
            "acc": self.meters.acc.cpu(), "acc_n": int(self.meters.n),
            "history": self.history,
        }

    def save(self, path: str | Path | None = None) -> Path:
        """Write the checkpoint atomically; refuse to overwrite a good one with a diverged state."""
        if not self.meters.finite():
            raise DivergenceError(f"training diverged: a loss became NaN or infinite at step "
                                  f"{self.meters.bad_step(self.step)}; not saving (the last good checkpoint, if any, "
                                  f"is kept; try a lower --lr)")
        path = Path(path) if path is not None else self.out_dir / "checkpoint.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.torch_save(self.state_dict(), path)
        return path

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; all or nothing: on :class:`CheckpointError` the trainer is unchanged.

        A learning rate different from the checkpoint's (e.g. a lower ``--lr`` after a divergence) takes
        effect from here on; with the same configuration the run continues exactly.
        """
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise CheckpointError("not an ssgan_lib checkpoint (unknown format)")
        saved = state.get("config")
        if not isinstance(saved, dict):
            raise CheckpointError("checkpoint holds no configuration")
        try:
            then = config_from_dict(saved)
        except (ConfigError, TypeError) as exc:
            raise CheckpointError(f"checkpoint holds a bad configuration: {exc}") from exc
        diff = [f"{k}: checkpoint {then.get(k)!r} vs now {self.cfg.get(k)!r}"
                for k in TrainConfig.COMPAT if then.get(k) != self.cfg.get(k)]
        if diff:
            raise CheckpointError("checkpoint is from an incompatible configuration (" + "; ".join(diff) + ")")
        backup = copy.deepcopy(self.state_dict())
        try:
            self._load_state(state)
        except (RuntimeError, KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
            self._load_state(backup)
            detail = f"missing {exc}" if isinstance(exc, KeyError) else (str(exc).splitlines() or [type(exc).__name__])[0]
            raise CheckpointError(f"checkpoint does not fit this model: {detail}") from exc
        saved_lr, lr = then.resolved.lr, self.cfg.resolved.lr
        if saved_lr != lr:
            for opt in (self.opt_d, self.opt_g):  # keep the schedule's factor, change the base rate
                if opt is not None:
                    opt.set_lr(float(opt.lr) * lr / saved_lr)

    def _load_state(self, state: dict) -> None:
        self.D.load_state_dict(state["D"])
        if self.G is not None:
            self.G.load_state_dict(state["G"])
            self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.avg.load_state_dict(state["avg"])
        self.gen.set_state(state["rng"])
        self.batches.load_state_dict(state)
        acc = state["acc"]
        if tuple(acc.shape) != tuple(self.meters.acc.shape):
            raise ValueError(f"acc has shape {tuple(acc.shape)}, expected {tuple(self.meters.acc.shape)}")
        self.meters.acc.copy_(acc)
        self.meters.n.fill_(int(state["acc_n"]))
        self.meters.bad.fill_(-1)  # a checkpoint is written only when everything was finite
        self.step = int(state["step"])
        self.initialised = bool(state["initialised"])
        self.wall_seconds = float(state["wall_seconds"])
        self.history = copy.deepcopy(state["history"])  # never share lists with the caller's dict
        self.engine.reset()

    def load(self, path: str | Path) -> None:
        """Resume from a checkpoint file; :class:`CheckpointError` if it is missing, corrupt or incompatible."""
        self.load_state_dict(read_checkpoint(path))

    def resume_saved(self) -> bool:
        """Continue from ``out_dir/checkpoint.pt`` when it is there (a run cut short): True if one was loaded.
        :class:`CheckpointError` if it is corrupt or belongs to another configuration."""
        path = self.out_dir / "checkpoint.pt" if self.out_dir is not None else None
        if path is None or not path.is_file():
            return False
        self.load(path)
        return True


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint file on the CPU, turning every failure into one :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} is corrupted or truncated ({type(exc).__name__})") from exc
