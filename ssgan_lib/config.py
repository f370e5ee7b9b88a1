"""What a training run is: :class:`TrainConfig`, whose defaults are the recipe of Salimans et al. (2016) for MNIST
(one comment per field: the command line's help, :func:`field_help`), and its validation.

A configuration is resolved once, when it is made, and never changes (the dataclass is frozen): the fields left at
``None`` follow the recipe (``ssgan_lib.recipes``), any field set explicitly wins (that is how an ablation,
``ssgan_lib.ablation``, changes one piece), and the values the run uses are in ``cfg.resolved``
(:class:`Resolved`), which everything else reads: nothing outside this module looks a run's recipe up. The fields
keep what was asked (``None``: the recipe's), so ``dataclasses.replace(cfg, recipe=...)`` gives exactly the other
recipe's values. ``asdict(cfg)`` holds both: the fields and, under ``"resolved"``, the values used;
:func:`config_from_dict` reads it back (and the records stored before ``resolved`` existed, whose recipe fields
were filled in: those values then count as set explicitly, and equal the recipe's).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import torch

from .data import NUM_CLASSES
from .recipes import RECIPES

METHODS = ("ssgan-fm", "sgan", "supervised")
MODELS = ("mlp", "dcgan")


MNIST_TRAIN = 60_000  # training images of MNIST: what an epoch means when a configuration is checked and resolved

# the fields whose None means "the recipe's" (each has a value in Resolved)
RECIPE_FIELDS = ("lr", "lr_decay_epochs", "eval_params", "g_data_init")


class ConfigError(ValueError):
    """A configuration value is out of range; the message says which and why."""


@dataclass(frozen=True)
class Resolved:
    """The recipe-dependent values a run uses: the configuration's explicit fields, else its recipe's."""

    recipe: str
    lr: float  # Adam learning rate of both players
    lr_decay_epochs: float  # the lr falls linearly to 0 over the last this many epochs (of 60,000 images; 0: constant)
    eval_params: str  # the D that evaluate() reports: "averaged" or "raw"
    g_data_init: bool  # data-dependent init of G's output scale and bias
    g_norm_eps: float  # added inside the sqrt of G's output weight norm


@dataclass(frozen=True)
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
    ckpt_every: int | None = None  # steps between checkpoints in the output folder (None: every epoch; 0: only at the end and at Ctrl-C)
    device: str = "cpu"  # "cpu", "cuda" or "cuda:N"
    graph: str = "auto"  # CUDA only: "auto" (CUDA graph, eager if capture fails), "cuda-graph", "eager"

    resolved: Resolved = field(init=False, repr=False, compare=False)  # the values the run uses (set at construction)

    def __post_init__(self) -> None:
        """Check every value (:class:`ConfigError`, one sentence) and resolve the recipe: the one place that reads
        ``RECIPES`` for a run."""
        if self.recipe not in RECIPES:
            raise ConfigError(f"unknown recipe {self.recipe!r}; choose one of {', '.join(RECIPES)}")
        r = RECIPES[self.recipe]
        pick = lambda name, default: default if getattr(self, name) is None else getattr(self, name)  # noqa: E731
        try:
            recipe_decay = r.decay_fraction * self.total_steps() / (MNIST_TRAIN // self.batch_size)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):  # bad epochs, steps or batch_size:
            recipe_decay = 0.0  # validate() below names it
        decay = pick("lr_decay_epochs", recipe_decay)
        object.__setattr__(self, "resolved", Resolved(
            recipe=r.name, lr=pick("lr", r.lr), lr_decay_epochs=decay, eval_params=pick("eval_params", r.eval_params),
            g_data_init=pick("g_data_init", r.g_data_init), g_norm_eps=r.g_norm_eps))
        self.validate()

    def decay_epochs(self, n_unlabelled: int = MNIST_TRAIN) -> float:
        """Epochs (of ``n_unlabelled`` images) over which the lr falls to 0 at the end: explicit, else the recipe's
        fraction of the run (``resolved.lr_decay_epochs`` for MNIST's 60,000)."""
        if self.lr_decay_epochs is not None or n_unlabelled == MNIST_TRAIN:
            return float(self.resolved.lr_decay_epochs)
        return RECIPES[self.recipe].decay_fraction * self.total_steps(n_unlabelled) / (n_unlabelled // self.batch_size)

    # ------------------------------------------------------------------------------------------
    def total_steps(self, n_unlabelled: int = MNIST_TRAIN) -> int:
        if self.steps is not None:
            return int(self.steps)
        return int(round(self.epochs * (n_unlabelled // self.batch_size)))

    def validate(self, n_train: int = MNIST_TRAIN) -> None:
        """Raise :class:`ConfigError` with one clear sentence for the first bad value. Run at construction (for
        MNIST's 60,000 training images); again only for a dataset of another size (the trainer does). Whether
        the device exists here is :func:`check_device`'s question, asked where the run starts."""
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
            default = {f.name: f.default for f in fields(self) if f.init} | {"g_data_init": False}
            for name, what in (("sigma_in", "D's input noise"), ("sigma_hidden", "D's hidden-layer noise"),
                               ("hidden_scale", "D's hidden weight-norm scales"), ("data_init", "D's data-dependent init"),
                               ("g_data_init", "the paper-2016-06 recipe's G output init")):
                value = getattr(self.resolved, name, getattr(self, name))
                if value != default[name]:
                    bad(f"{name} ({what}) applies to the mlp model only: with model 'dcgan' leave it at "
                        f"{default[name]!r}, got {value!r}")
        for name in ("epochs", "lr", "batch_size"):
            v = getattr(self.resolved, name, getattr(self, name))
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
        if self.resolved.eval_params not in ("averaged", "raw"):
            bad(f"eval_params must be 'averaged' or 'raw', got {self.eval_params!r}")
        if not isinstance(self.resolved.g_data_init, bool):
            bad(f"g_data_init must be True or False, got {self.g_data_init!r}")
        if self.lr_decay_epochs is not None and not (isinstance(self.lr_decay_epochs, (int, float))
                                                     and math.isfinite(self.lr_decay_epochs) and self.lr_decay_epochs >= 0):
            bad(f"lr_decay_epochs must be >= 0, got {self.lr_decay_epochs!r}")
        if self.fm_kind not in ("squared", "absolute"):
            bad(f"fm_kind must be 'squared' or 'absolute', got {self.fm_kind!r}")
        if self.log_every <= 0 or self.eval_every < 0 or (self.ckpt_every is not None and self.ckpt_every < 0):
            bad("log_every must be > 0; eval_every and ckpt_every >= 0")
        if self.graph not in ("auto", "cuda-graph", "eager"):
            bad(f"graph must be auto, cuda-graph or eager, got {self.graph!r}")
        parse_device(self.device)

    def get(self, name: str):
        """The value the run uses for field ``name``: the resolved one for a recipe field, else the field."""
        return getattr(self.resolved, name) if name in RECIPE_FIELDS else getattr(self, name)

    # what must agree between a checkpoint and the run that resumes it (compared as resolved, :meth:`get`)
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


def parse_device(device: str) -> torch.device:
    """``device`` as a ``torch.device`` of a kind this library runs on; :class:`ConfigError` otherwise."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"unknown device {device!r} (use cpu, cuda or cuda:N)") from exc
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {device!r} is not supported (use cpu or cuda)")
    return dev


def default_device() -> str:
    """The device a run gets when none is named: ``"cuda"`` (the current GPU) where CUDA is available, else
    ``"cpu"``. The one place that chooses."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def device_name(device: str | torch.device) -> str:
    """The model of ``device`` (the GPU it names, not always GPU 0), or ``"cpu"``."""
    dev = torch.device(device)
    return torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"


def check_device(device: str) -> torch.device:
    """Parse ``device`` and make sure it exists here; :class:`ConfigError` otherwise."""
    dev = parse_device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} asked for, but CUDA is not available on this machine (use --device cpu)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r} does not exist: this machine has {torch.cuda.device_count()} GPU(s)")
    return dev


def config_from_dict(d: dict) -> TrainConfig:
    """The configuration stored as ``d`` (``asdict(cfg)``: a checkpoint's, a record's): its fields, resolved again
    (``d["resolved"]`` is what the run used; it is recomputed, not read). Keys that are no field are ignored."""
    names = {f.name for f in fields(TrainConfig) if f.init}
    return TrainConfig(**{k: v for k, v in d.items() if k in names})
