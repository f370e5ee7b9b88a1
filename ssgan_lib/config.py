"""What a training run is: :class:`TrainConfig`, whose defaults are the recipe of Salimans et al. (2016) for MNIST
(one comment per field: the command line's help, :func:`field_help`), and its validation.

Fields left at ``None`` follow the recipe (``ssgan_lib.recipes``); any field set explicitly wins, which is how an
ablation (``ssgan_lib.ablation``) changes one piece.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from .data import NUM_CLASSES
from .recipes import RECIPES

METHODS = ("ssgan-fm", "sgan", "supervised")
MODELS = ("mlp", "dcgan")


class ConfigError(ValueError):
    """A configuration value is out of range; the message says which and why."""


@dataclass
class TrainConfig:
    labels: int = 100  # labelled training images, class-balanced (labels/10 per class); the paper: 20, 50, 100, 200
    seed: int = 1  # seed of run 0: weights, noise, batch order, labelled subset (unless data_seed); run s: seed + s
    data_seed: int | None = None  # one labelled subset for every run, drawn with this seed (reference: --seed_data)
    seeds: int = 1  # independent runs trained side by side in one process (seed axis S)
    method: str = "ssgan-fm"  # "ssgan-fm" (K logits + feature matching), "sgan" (K+1 classes), "supervised" (no GAN)
    model: str = "mlp"  # "mlp": the Salimans et al. MNIST pair; "dcgan": convolutional pair, K+1 head
    epochs: float = 300  # passes over the 60,000 unlabelled images (600 steps of 100 each); the paper: 300
    steps: int | None = None  # total steps; overrides epochs when set
    batch_size: int = 100  # images per batch, for each of labelled, unlabelled and generated (paper: 100)
    recipe: str = "final"  # reference version the None fields follow: "final" or "paper-2016-06" (ssgan_lib.recipes)
    lr: float | None = None  # Adam learning rate of both players (None: the recipe's, final 0.003, paper-2016-06 0.001)
    beta1: float = 0.5  # Adam beta1 (paper: 0.5)
    beta2: float = 0.999  # Adam beta2
    adam_eps: float = 1e-8  # Adam epsilon, added inside the sqrt as in the reference code
    adam_eps_place: str = "inside"  # ablation: "inside" sqrt(v + eps) (reference) or "outside" sqrt(v) + eps (torch.optim.Adam)
    hidden_scale: str = "frozen"  # ablation: D's hidden weight-norm scales "frozen" after the init (reference) or "trainable"
    data_init: bool = True  # data-dependent init of D's scales and biases (reference); False keeps g = 1, b = 0
    lr_decay_epochs: float | None = None  # lr falls linearly to 0 over the last N epochs (0: constant; None: the recipe's)
    eval_params: str | None = None  # D that evaluate() reports: "averaged" or "raw" (None: the recipe's)
    g_data_init: bool | None = None  # data-dependent init of G's output scale and bias (None: the recipe's)
    unlabeled_weight: float = 1.0  # weight w of the unsupervised D loss (paper: 1)
    fm_kind: str = "squared"  # feature matching on batch means: "squared" (paper) or "absolute"
    sigma_in: float = 0.3  # std of Gaussian noise added to D's input during training (pixels in [0, 1])
    sigma_hidden: float = 0.5  # std of Gaussian noise after each hidden layer of D during training
    avg_decay: float = 0.9999  # parameter averaging a <- a + (1 - decay)(p - a); evaluation uses bias-corrected a
    val_size: int = 5000  # training images whose labels are held out to watch training (0: none); never the test set
    init_size: int = 500  # training images for D's data-dependent initialisation (paper: 500)
    log_every: int = 100  # steps between loss read-outs (the only host syncs) and progress-bar updates
    eval_every: int = 600  # steps between validation evaluations of the averaged D (0: never)
    ckpt_every: int = 0  # steps between checkpoints (0: only at the end); needs an output folder
    device: str = "cpu"  # "cpu", "cuda" or "cuda:N"
    graph: str = "auto"  # CUDA only: "auto" (CUDA graph, eager if capture fails), "cuda-graph", "eager"

    def __post_init__(self) -> None:
        """Fill the fields left at ``None`` from the recipe (an unknown recipe is left to :meth:`validate`)."""
        if self.recipe in RECIPES:
            r = RECIPES[self.recipe]
            if self.lr is None:
                self.lr = r.lr
            if self.eval_params is None:
                self.eval_params = r.eval_params
            if self.g_data_init is None:
                self.g_data_init = r.g_data_init

    def decay_epochs(self, n_unlabelled: int = 60_000) -> float:
        """Epochs over which the lr falls to 0 at the end: explicit, else the recipe's fraction of the run."""
        if self.lr_decay_epochs is not None:
            return float(self.lr_decay_epochs)
        frac = RECIPES[self.recipe].decay_fraction
        return frac * self.total_steps(n_unlabelled) / (n_unlabelled // self.batch_size)

    # ------------------------------------------------------------------------------------------
    def total_steps(self, n_unlabelled: int = 60_000) -> int:
        if self.steps is not None:
            return int(self.steps)
        return int(round(self.epochs * (n_unlabelled // self.batch_size)))

    def validate(self, n_train: int = 60_000) -> None:
        """Raise :class:`ConfigError` with one clear sentence for the first bad value."""
        def bad(msg: str) -> None:
            raise ConfigError(msg)

        if self.recipe not in RECIPES:
            bad(f"unknown recipe {self.recipe!r}; choose one of {', '.join(RECIPES)}")
        if self.method not in METHODS:
            bad(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.model not in MODELS:
            bad(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        if not isinstance(self.labels, int) or self.labels <= 0:
            bad(f"labels must be a positive whole number, got {self.labels!r}")
        if self.labels % NUM_CLASSES:
            bad(f"labels must be a multiple of {NUM_CLASSES} so that every class gets the same number "
                f"(the paper's class-balanced subsets), got {self.labels}")
        pool = n_train - self.val_size
        if self.labels > pool:
            hint = " (use --val-size 0 to label every training image)" if self.labels <= n_train else ""
            bad(f"labels ({self.labels}) exceed the {pool} training images available for labelling{hint}")
        if not 0 <= self.val_size < n_train:
            bad(f"val_size must be in [0, {n_train}), got {self.val_size}")
        if self.seeds < 1:
            bad(f"seeds must be >= 1, got {self.seeds}")
        if self.data_seed is not None and (not isinstance(self.data_seed, int) or self.data_seed < 0):
            bad(f"data_seed must be a whole number >= 0, got {self.data_seed!r}")
        if self.model == "dcgan" and self.seeds != 1:
            bad("the dcgan model trains one seed at a time (seeds must be 1)")
        if self.model == "dcgan":  # settings of the Salimans pair that the DCGAN pair does not have
            default = {f.name: f.default for f in fields(self)} | {"g_data_init": False}  # (None: the recipe's)
            for name, what in (("sigma_in", "D's input noise"), ("sigma_hidden", "D's hidden-layer noise"),
                               ("hidden_scale", "D's hidden weight-norm scales"), ("data_init", "D's data-dependent init"),
                               ("g_data_init", "the paper-2016-06 recipe's G output init")):
                if getattr(self, name) != default[name]:
                    bad(f"{name} ({what}) applies to the mlp model only: with model 'dcgan' leave it at "
                        f"{default[name]!r}, got {getattr(self, name)!r}")
        for name in ("epochs", "lr", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                bad(f"{name} must be a positive number, got {v!r}")
        if self.batch_size > n_train:
            bad(f"batch_size ({self.batch_size}) exceeds the {n_train} training images")
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps <= 0):
            bad(f"steps must be a positive whole number, got {self.steps!r}")
        if self.total_steps(n_train) < 1:
            bad(f"epochs ({self.epochs}) gives no training step (one step is {self.batch_size} images)")
        if not 0 <= self.beta1 < 1 or not 0 <= self.beta2 < 1:
            bad("beta1 and beta2 must be in [0, 1)")
        if not 0 <= self.avg_decay < 1:
            bad(f"avg_decay must be in [0, 1), got {self.avg_decay}")
        if self.adam_eps_place not in ("inside", "outside"):
            bad(f"adam_eps_place must be 'inside' or 'outside', got {self.adam_eps_place!r}")
        if self.hidden_scale not in ("frozen", "trainable"):
            bad(f"hidden_scale must be 'frozen' or 'trainable', got {self.hidden_scale!r}")
        if self.eval_params not in ("averaged", "raw"):
            bad(f"eval_params must be 'averaged' or 'raw', got {self.eval_params!r}")
        if self.lr_decay_epochs is not None and not (isinstance(self.lr_decay_epochs, (int, float))
                                                     and math.isfinite(self.lr_decay_epochs) and self.lr_decay_epochs >= 0):
            bad(f"lr_decay_epochs must be >= 0, got {self.lr_decay_epochs!r}")
        if self.fm_kind not in ("squared", "absolute"):
            bad(f"fm_kind must be 'squared' or 'absolute', got {self.fm_kind!r}")
        if self.log_every <= 0 or self.eval_every < 0 or self.ckpt_every < 0:
            bad("log_every must be > 0; eval_every and ckpt_every >= 0")
        if self.graph not in ("auto", "cuda-graph", "eager"):
            bad(f"graph must be auto, cuda-graph or eager, got {self.graph!r}")
        check_device(self.device)

    # what must agree between a checkpoint and the run that resumes it
    COMPAT = ("labels", "seed", "data_seed", "seeds", "method", "model", "batch_size", "val_size", "init_size",
              "hidden_scale", "recipe", "g_data_init")


def field_help(cls=None) -> dict[str, str]:
    """The comment on each field's line of the dataclass ``cls`` (default :class:`TrainConfig`): one help string
    per field, for the command line (``ssgan_lib.cli`` derives its flags from the fields). Empty strings when the
    source is not available."""
    import inspect
    import io
    import tokenize

    cls = cls or TrainConfig
    names = [f.name for f in fields(cls)]
    try:
        src = inspect.getsource(cls)
    except (OSError, TypeError):
        return {n: "" for n in names}
    out, line_name = {}, {}
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.NAME and tok.string in names and tok.start[1] == 4 and tok.start[0] not in line_name:
            line_name[tok.start[0]] = tok.string
        elif tok.type == tokenize.COMMENT and tok.start[0] in line_name:
            out[line_name[tok.start[0]]] = tok.string.lstrip("#").strip()
    return {n: out.get(n, "") for n in names}


def check_device(device: str) -> torch.device:
    """Parse ``device`` and make sure it exists here; :class:`ConfigError` otherwise."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"unknown device {device!r} (use cpu, cuda or cuda:N)") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} asked for, but CUDA is not available on this machine (use --device cpu)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r} does not exist: this machine has {torch.cuda.device_count()} GPU(s)")
    elif dev.type != "cpu":
        raise ConfigError(f"device {device!r} is not supported (use cpu or cuda)")
    return dev


def config_from_dict(d: dict) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in d.items() if k in names})
