"""The semi-supervised GAN training loop: one :class:`Trainer` for ``ssgan-fm``, ``sgan`` and
``supervised``, configured by :class:`TrainConfig` whose defaults are the recipe of Salimans et al.
(2016) for MNIST.

How it is made fast (chapter 9 tells the story, ``python -m ssgan_lib bench`` measures it):

* the whole dataset lives on the device; a batch is ``train_x[seq[:, pos*B : pos*B+B]]`` where
  ``seq`` is a per-epoch permutation drawn on the device and ``pos`` a device counter;
* noise, latent codes and Gaussian-layer noise are drawn on the device from one generator;
* losses are accumulated in device tensors and read (one host sync) every ``log_every`` steps;
* on CUDA the whole step — both players' forward, backward, Adam and averaging — is captured once
  as a CUDA graph and replayed; on CPU the same step runs eagerly;
* ``seeds = S`` trains S independent runs at once: every weight carries a leading seed axis and
  the layers are batched matrix products.

Checkpoints are written atomically (temp file + rename) and hold everything needed to continue
exactly (models, optimizers, averages, RNG state, data order, step, history).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

from . import atomic, losses
from .data import MNIST, NUM_CLASSES, balanced_subset, epoch_permutation, load_mnist, repeated_permutation, validation_split
from .models import DCGANDiscriminator, DCGANGenerator, SalimansD, SalimansG
from .optim import ParamAverage, PaperAdam
from .recipes import RECIPES

METHODS = ("ssgan-fm", "sgan", "supervised")
MODELS = ("mlp", "dcgan")


class ConfigError(ValueError):
    """A configuration value is out of range; the message says which and why."""


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or from an incompatible configuration."""


@dataclass
class TrainConfig:
    labels: int = 100  # labelled training images, class-balanced (labels/10 per class); the paper: 20, 50, 100, 200
    seed: int = 1  # seed of run 0: its weights, noise, batch order and labelled subset; run s uses seed + s
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
    COMPAT = ("labels", "seed", "seeds", "method", "model", "batch_size", "val_size", "init_size", "hidden_scale",
              "recipe", "g_data_init")


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


def _forward_batches(D: torch.nn.Module, batches: list[torch.Tensor], noise: list[torch.Tensor],
                     n_real: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """D in train mode on ``batches`` (each ``(S, B, 784)``); logits and features concatenated along the
    batch axis, in the order of ``batches``. The first ``n_real`` batches are real images (default: all).

    A D with batch norm (``D.batch_norm``, the dcgan model) gets one forward per batch, so that each batch
    is normalised by its own statistics, and only real batches update its running statistics (those used
    at evaluation); the MLP D (per-sample layers, Gaussian noise ``noise`` drawn for the whole
    concatenation) gets all of them in one forward, as the reference does.
    """
    if not getattr(D, "batch_norm", False):
        return D(torch.cat(batches, dim=1), noise, train=True)
    n_real = len(batches) if n_real is None else n_real
    outs = [D(x, train=True, real=i < n_real) for i, x in enumerate(batches)]
    return torch.cat([o[0] for o in outs], dim=1), torch.cat([o[1] for o in outs], dim=1)


def build_models(cfg: TrainConfig) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """D and G for ``cfg``; run ``s`` of ``S`` is initialised exactly as a single run with seed + s."""
    n_out = NUM_CLASSES + 1 if cfg.method == "sgan" else NUM_CLASSES
    trainable = cfg.hidden_scale == "trainable"
    g_eps = RECIPES[cfg.recipe].g_norm_eps

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


# ----------------------------------------------------------------------------------------------
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
        cfg.validate()
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.data = data if data is not None else load_mnist(self.device)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.progress = progress
        S, B = cfg.seeds, cfg.batch_size
        N = len(self.data.train_x)
        cfg.validate(N)
        self.steps_per_epoch = N // B
        self.total_steps = cfg.total_steps(N)

        # --- data split: validation images (labels hidden), labelled subset per seed ------------
        pool, val = validation_split(N, cfg.val_size, seed=0) if cfg.val_size else (torch.arange(N), torch.arange(0))
        self.val_idx = val.to(self.device)
        try:
            lab = [balanced_subset(self.data.train_y, cfg.labels, seed=cfg.seed + s, pool=pool) for s in range(S)]
        except ValueError as exc:  # e.g. more labels of a class than the pool holds: bad input, not a crash
            raise ConfigError(f"labels ({cfg.labels}): {exc}") from exc
        self.lab_idx = torch.stack(lab).to(self.device)  # (S, labels), indices into train_x

        # --- models, optimisers, averaging -------------------------------------------------------
        self.D, self.G = build_models(cfg)
        self.D_eval = copy.deepcopy(self.D)
        self.d_params = [p for p in self.D.parameters()]
        self.g_params = [p for p in self.G.parameters()] if self.G is not None else []
        inside = cfg.adam_eps_place == "inside"
        self.opt_d = PaperAdam(self.d_params, cfg.lr, (cfg.beta1, cfg.beta2), cfg.adam_eps, inside)
        self.opt_g = (PaperAdam(self.g_params, cfg.lr, (cfg.beta1, cfg.beta2), cfg.adam_eps, inside)
                      if self.G is not None else None)
        self.avg = ParamAverage(self.d_params, cfg.avg_decay)

        # --- randomness and data order, all on the device ------------------------------------------
        self.gen = torch.Generator(self.device).manual_seed(cfg.seed)
        L = self.steps_per_epoch * B
        self.lab_seq = torch.zeros(S, L, dtype=torch.long, device=self.device)
        self.unl_seq = torch.zeros(S, N, dtype=torch.long, device=self.device)
        self.unl2_seq = torch.zeros(S, N, dtype=torch.long, device=self.device)
        self.pos = torch.zeros((), dtype=torch.long, device=self.device)  # batch index within the epoch
        self._arange_b = torch.arange(B, device=self.device)
        self.step = 0  # steps done (host copy; the device never needs it)
        self.epoch_pos = self.steps_per_epoch  # host mirror of pos; forces a new epoch first

        # --- device accumulators: loss_lab, loss_unl, loss_g, train_acc per seed -------------------
        self._acc = torch.zeros(S, 4, device=self.device)
        self._acc_n = 0
        self._bad_step = torch.full((), -1, dtype=torch.long, device=self.device)
        self._step_t = torch.zeros((), dtype=torch.long, device=self.device)
        self.history: dict[str, list] = {"step": [], "loss_lab": [], "loss_unl": [], "loss_g": [], "train_acc": [],
                                         "eval_step": [], "val_acc": [], "val_acc_raw": []}
        self.wall_seconds = 0.0
        self._graph = None
        self._graph_tried = False
        self.initialised = False
        self._fit_t0: float | None = None  # perf_counter() when the running fit() began, else None

    # ------------------------------------------------------------------------------------------
    def _init_data_dependent(self) -> None:
        """Data-dependent init of D on ``init_size`` training images (a seeded random choice)."""
        if self.cfg.data_init:  # the ablation data_init=False keeps g = 1 (unit-norm columns) and b = 0
            n = self.cfg.init_size
            idx = torch.stack([torch.randperm(len(self.data.train_x), generator=self.gen, device=self.device)[:n]
                               for _ in range(self.cfg.seeds)])
            self.D.data_init(self.data.train_x[idx], generator=self.gen)
        if self.cfg.g_data_init and self.G is not None:  # paper-2016-06: G's output layer, on one batch of z
            self.G.data_init(self.G.sample_z(self.cfg.batch_size, self.device, self.gen))
        self.initialised = True

    def _new_epoch(self) -> None:
        S, N = self.cfg.seeds, len(self.data.train_x)
        order = repeated_permutation(self.cfg.labels, self.lab_seq.shape[1], S, self.device, self.gen)
        self.lab_seq.copy_(torch.gather(self.lab_idx, 1, order))
        self.unl_seq.copy_(epoch_permutation(N, S, self.device, self.gen))
        self.unl2_seq.copy_(epoch_permutation(N, S, self.device, self.gen))
        self.pos.zero_()
        self.epoch_pos = 0
        epoch = self.step // self.steps_per_epoch
        for opt in (self.opt_d, self.opt_g):
            if opt is not None:
                opt.set_lr(self.lr_at(epoch))

    def lr_at(self, epoch: int) -> float:
        """Learning rate of (0-based) ``epoch``: constant, then linear to 0 over the last ``decay_epochs``
        (the reference's ``lr * min(3 - epoch/100, 1)`` for 300 epochs with 100 decaying)."""
        decay = self.cfg.decay_epochs(len(self.data.train_x))
        if decay <= 0:
            return float(self.cfg.lr)
        total_epochs = self.total_steps / self.steps_per_epoch
        return float(self.cfg.lr) * max(0.0, min(1.0, (total_epochs - epoch) / decay))

    def _batch(self, seq: torch.Tensor) -> torch.Tensor:
        cols = self.pos * self.cfg.batch_size + self._arange_b
        return seq.index_select(1, cols)

    def _class_logits(self, raw: torch.Tensor) -> torch.Tensor:
        """K class logits from D's raw output (K, or K+1 whose last is 'fake')."""
        if raw.shape[-1] == NUM_CLASSES + 1:
            return raw[..., :NUM_CLASSES] if self.cfg.method == "sgan" else losses.k_plus_one_to_k(raw)
        return raw

    def draw_inputs(self) -> dict[str, torch.Tensor]:
        """Everything random one step needs: batches, latent codes and D's Gaussian noise."""
        B = self.cfg.batch_size
        lab = self._batch(self.lab_seq)
        x = self.data.train_x
        inp = {"x_lab": x[lab], "y_lab": self.data.train_y[lab], "x_unl": x[self._batch(self.unl_seq)]}
        inp["noise_d"] = [torch.randn(s, device=self.device, generator=self.gen)
                          for s in self.D.noise_shapes((3 if self.G is not None else 1) * B)]
        if self.G is not None:
            inp["z"] = self.G.sample_z(B, self.device, self.gen)
            inp["z2"] = self.G.sample_z(B, self.device, self.gen)
            inp["x_unl2"] = x[self._batch(self.unl2_seq)]
            inp["noise_g"] = [torch.randn(s, device=self.device, generator=self.gen)
                              for s in self.D.noise_shapes(2 * B)]
        return inp

    def train_step(self, inp: dict[str, torch.Tensor]) -> None:
        """One D step, one averaging step, one G step, given the random inputs of :meth:`draw_inputs`.

        Only device tensors are touched: no ``.item()``, no Python branch on a value, so the same
        code runs eagerly or captured in a CUDA graph.
        """
        cfg, B = self.cfg, self.cfg.batch_size
        method = cfg.method
        # ---- D step -------------------------------------------------------------------------
        if self.G is not None:
            with torch.no_grad():
                fake = self.G(inp["z"])
            batches = [inp["x_lab"], inp["x_unl"], fake]
        else:
            batches = [inp["x_lab"]]
        raw, _ = _forward_batches(self.D, batches, inp["noise_d"], n_real=2 if self.G is not None else 1)  # (S, 3B, ...): labelled, unlabelled, generated
        if method == "sgan":
            l_lab, l_unl, l_fake = raw.split(B, dim=1)  # K+1 logits, the last one "fake"
            loss_lab = losses.supervised_loss(l_lab, inp["y_lab"])
            loss_unl = losses.sgan_unsupervised_loss(l_unl, l_fake)
        elif method == "ssgan-fm":
            l_lab, l_unl, l_fake = self._class_logits(raw).split(B, dim=1)
            loss_lab = losses.supervised_loss(l_lab, inp["y_lab"])
            loss_unl = losses.unsupervised_loss(l_unl, l_fake)
        else:
            l_lab = self._class_logits(raw)
            loss_lab = losses.supervised_loss(l_lab, inp["y_lab"])
            loss_unl = torch.zeros_like(loss_lab)
        loss_d = loss_lab + cfg.unlabeled_weight * loss_unl
        grads = torch.autograd.grad(loss_d.sum(), self.d_params)  # runs are independent: sum over seeds
        # the average takes the weights *before* this step's update, as in the reference (every update of one
        # Theano function reads the old values: a <- a + 1e-4 (p - a) sees p before Adam changes it)
        self.avg.update()
        self.opt_d.step(list(grads))
        train_acc = losses.accuracy(self._class_logits(l_lab) if method == "sgan" else l_lab, inp["y_lab"])
        # ---- G step -------------------------------------------------------------------------
        if self.G is not None:
            fake2 = self.G(inp["z2"])
            raw2, feat = _forward_batches(self.D, [inp["x_unl2"], fake2], inp["noise_g"], n_real=1)  # real, then generated
            if method == "ssgan-fm":
                f_real, f_fake = feat.split(B, dim=1)
                loss_g = losses.feature_matching_loss(f_real.detach(), f_fake, cfg.fm_kind)
            else:
                loss_g = losses.sgan_g_loss(raw2[:, B:])
            g_grads = torch.autograd.grad(loss_g.sum(), self.g_params)
            self.opt_g.step(list(g_grads))
        else:
            loss_g = torch.zeros_like(loss_lab)
        # ---- bookkeeping on the device ----------------------------------------------------------
        with torch.no_grad():
            stats = torch.stack([loss_lab, loss_unl, loss_g, train_acc], dim=1).detach()
            self._acc += stats
            finite = torch.isfinite(stats).all()
            self._step_t += 1
            self._bad_step.copy_(torch.where((self._bad_step < 0) & ~finite, self._step_t, self._bad_step))
            self.pos += 1

    # ------------------------------------------------------------------------------------------
    def _run_one_step(self) -> None:
        if self.epoch_pos >= self.steps_per_epoch:
            self._new_epoch()
        if self._use_graph():
            self._graph_step()
        else:
            self.train_step(self.draw_inputs())
        self.epoch_pos += 1
        self.step += 1
        self._acc_n += 1

    def _use_graph(self) -> bool:
        if self.device.type != "cuda" or self.cfg.graph == "eager":
            return False
        return self._graph is not None or not self._graph_tried

    def _graph_step(self) -> None:
        """One step on CUDA: the first call runs it eagerly (the warm-up) and captures the graph;
        every later call replays the graph. Either way exactly one step is done."""
        if self._graph is not None:
            self._graph.replay()
            return
        self._graph_tried = True
        # Warm-up on a side stream (cuBLAS handles, autograd's buffers): a real step, errors propagate.
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            self.train_step(self.draw_inputs())
        torch.cuda.current_stream().wait_stream(s)
        try:
            self._capture()  # records the step; executes nothing
        except Exception as exc:  # pragma: no cover - CUDA only
            self._graph = None
            if self.cfg.graph == "cuda-graph":
                raise
            import warnings
            warnings.warn(f"CUDA graph capture failed ({type(exc).__name__}: {exc}); running eagerly")
            self.cfg.graph = "eager"

    def _capture(self) -> None:  # pragma: no cover - CUDA only
        g = torch.cuda.CUDAGraph()
        if hasattr(g, "register_generator_state"):
            g.register_generator_state(self.gen)  # device RNG offsets advance at each replay
        with torch.cuda.graph(g):
            self.train_step(self.draw_inputs())
        self._graph = g

    # ------------------------------------------------------------------------------------------
    def _log(self, pbar=None) -> None:
        acc = (self._acc / max(self._acc_n, 1)).cpu()  # the host sync, once per log_every steps
        bad = int(self._bad_step)
        if bad >= 0 or not torch.isfinite(acc).all():
            names = ("loss_lab", "loss_unl", "loss_g", "train_acc")
            which = [n for n, v in zip(names, acc.T) if not torch.isfinite(v).all()]
            raise DivergenceError(
                f"training diverged: {', '.join(which) or 'a loss'} became NaN or infinite at step {bad if bad >= 0 else self.step}"
                f" (the last good checkpoint, if any, is kept; try a lower --lr)")
        self._acc.zero_()
        self._acc_n = 0
        m = acc.mean(0)
        h = self.history
        h["step"].append(self.step)
        for i, n in enumerate(("loss_lab", "loss_unl", "loss_g", "train_acc")):
            h[n].append(acc[:, i].tolist())
        if pbar is not None:
            post = {"lab": f"{m[0]:.3f}", "unl": f"{m[1]:.3f}", "g": f"{m[2]:.3f}", "acc": f"{m[3]:.2f}"}
            if h["val_acc"]:
                post["val"] = f"{sum(h['val_acc'][-1]) / len(h['val_acc'][-1]):.4f}"
            pbar.set_postfix(post, refresh=False)

    @torch.no_grad()
    def evaluate(self, split: str = "val", batch: int = 1000, params: str | None = None) -> list[float]:
        """Accuracy of D (noise off) on ``"val"`` or ``"test"``, one value per seed.

        ``params``: ``"averaged"`` (the parameter average), ``"raw"`` (the D being trained) or ``None``
        (the recipe's choice, ``cfg.eval_params``). The test set is for the final report only; nothing in
        this library chooses by it.
        """
        params = params or self.cfg.eval_params
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
        correct = torch.zeros(S, device=self.device)
        for i in range(0, len(x), batch):
            xb = x[i:i + batch].unsqueeze(0).expand(S, -1, -1)
            raw, _ = D(xb, train=False)
            correct += (self._class_logits(raw).argmax(-1) == y[i:i + batch]).float().sum(-1)
        return (correct / len(x)).tolist()

    @torch.no_grad()
    def sync_eval(self) -> torch.nn.Module:
        """Load the bias-corrected parameter averages (and D's buffers) into ``self.D_eval``."""
        for be, b in zip(self.D_eval.buffers(), self.D.buffers()):
            be.copy_(b)
        self.avg.copy_to(list(self.D_eval.parameters()))
        return self.D_eval

    # ------------------------------------------------------------------------------------------
    def fit(self, steps: int | None = None) -> dict[str, list]:
        """Train until ``self.total_steps`` (or ``steps`` more). Ctrl-C saves a checkpoint and re-raises.

        Returns the history (losses per log interval, validation accuracy per evaluation).
        """
        if not self.initialised:
            self._init_data_dependent()
        end = self.total_steps if steps is None else min(self.total_steps, self.step + steps)
        pbar = None
        if self.progress:
            from tqdm.auto import tqdm
            pbar = tqdm(total=self.total_steps, initial=self.step, desc=f"{self.cfg.method} {self.cfg.labels} labels",
                        unit="step", mininterval=1.0)
        self._fit_t0 = time.perf_counter()
        stop = _DeferredInterrupt()  # Ctrl-C ends the current step first, so a checkpoint is consistent
        try:
            with stop:
                while self.step < end:
                    self._run_one_step()
                    if self.step % self.cfg.log_every == 0 or self.step == self.total_steps:
                        self._log(pbar)
                        if pbar is not None:
                            pbar.update(self.step - pbar.n)
                    if (self.cfg.eval_every and self.val_idx.numel()
                            and (self.step % self.cfg.eval_every == 0 or self.step == self.total_steps)):
                        self.history["eval_step"].append(self.step)
                        self.history["val_acc"].append(self.evaluate("val", params="averaged"))
                        self.history.setdefault("val_acc_raw", []).append(self.evaluate("val", params="raw"))
                    if self.cfg.ckpt_every and self.out_dir is not None and self.step % self.cfg.ckpt_every == 0:
                        self.save()
                    if stop.requested:
                        if self.out_dir is not None and self._safe_to_save():
                            self.save()
                        raise KeyboardInterrupt(f"interrupted at step {self.step}")
        finally:
            self.wall_seconds += time.perf_counter() - self._fit_t0
            self._fit_t0 = None
            if pbar is not None:
                pbar.close()
        if self.out_dir is not None:
            self.save()
        return self.history

    def _safe_to_save(self) -> bool:
        return int(self._bad_step) < 0 and bool(torch.isfinite(self._acc).all())

    # ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "format": "ssgan_lib.checkpoint.v1",
            "config": asdict(self.cfg),
            "step": self.step, "epoch_pos": self.epoch_pos, "initialised": self.initialised,
            # a checkpoint written during fit() counts the time spent so far, so a resumed run's total is right
            "wall_seconds": self.wall_seconds + (time.perf_counter() - self._fit_t0 if self._fit_t0 is not None else 0.0),
            "D": self.D.state_dict(), "G": self.G.state_dict() if self.G is not None else None,
            "opt_d": self.opt_d.state_dict(), "opt_g": self.opt_g.state_dict() if self.opt_g is not None else None,
            "avg": self.avg.state_dict(),
            "rng": self.gen.get_state(),
            "lab_idx": self.lab_idx.cpu(), "lab_seq": self.lab_seq.cpu(), "unl_seq": self.unl_seq.cpu(),
            "unl2_seq": self.unl2_seq.cpu(), "pos": self.pos.cpu(),
            "acc": self._acc.cpu(), "acc_n": self._acc_n, "step_t": self._step_t.cpu(),
            "history": self.history,
        }

    def save(self, path: str | Path | None = None) -> Path:
        """Write the checkpoint atomically; refuse to overwrite a good one with a diverged state."""
        if not self._safe_to_save():
            bad = int(self._bad_step)
            raise DivergenceError(f"training diverged: a loss became NaN or infinite at step {bad if bad >= 0 else self.step}; "
                                  f"not saving (the last good checkpoint, if any, is kept; try a lower --lr)")
        path = Path(path) if path is not None else self.out_dir / "checkpoint.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.torch_save(self.state_dict(), path)
        return path

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; all or nothing: on :class:`CheckpointError` the trainer is unchanged.

        A learning rate different from the checkpoint's (e.g. a lower ``--lr`` after a divergence) takes
        effect from here on; with the same configuration the run continues exactly.
        """
        if not isinstance(state, dict) or state.get("format") != "ssgan_lib.checkpoint.v1":
            raise CheckpointError("not an ssgan_lib checkpoint (unknown format)")
        saved = state.get("config")
        if not isinstance(saved, dict):
            raise CheckpointError("checkpoint holds no configuration")
        legacy = {"recipe": "final", "g_data_init": False}  # checkpoints from before the recipes were named
        diff = [f"{k}: checkpoint {saved.get(k, legacy.get(k))!r} vs now {getattr(self.cfg, k)!r}"
                for k in TrainConfig.COMPAT if saved.get(k, legacy.get(k)) != getattr(self.cfg, k)]
        if diff:
            raise CheckpointError("checkpoint is from an incompatible configuration (" + "; ".join(diff) + ")")
        backup = copy.deepcopy(self.state_dict())
        try:
            self._load_state(state)
        except (RuntimeError, KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
            self._load_state(backup)
            detail = f"missing {exc}" if isinstance(exc, KeyError) else (str(exc).splitlines() or [type(exc).__name__])[0]
            raise CheckpointError(f"checkpoint does not fit this model: {detail}") from exc
        saved_lr = saved.get("lr")
        if isinstance(saved_lr, (int, float)) and saved_lr > 0 and saved_lr != self.cfg.lr:
            for opt in (self.opt_d, self.opt_g):  # keep the schedule's factor, change the base rate
                if opt is not None:
                    opt.set_lr(float(opt.lr) * self.cfg.lr / saved_lr)

    def _load_state(self, state: dict) -> None:
        self.D.load_state_dict(state["D"])
        if self.G is not None:
            self.G.load_state_dict(state["G"])
            self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.avg.load_state_dict(state["avg"])
        self.gen.set_state(state["rng"])
        for name, key in (("lab_idx", "lab_idx"), ("lab_seq", "lab_seq"), ("unl_seq", "unl_seq"),
                          ("unl2_seq", "unl2_seq"), ("pos", "pos"), ("_acc", "acc"), ("_step_t", "step_t")):
            dst, src = getattr(self, name), state[key]
            if tuple(src.shape) != tuple(dst.shape):
                raise ValueError(f"{key} has shape {tuple(src.shape)}, expected {tuple(dst.shape)}")
            dst.copy_(src)
        self._acc_n = int(state["acc_n"])
        self.step, self.epoch_pos = int(state["step"]), int(state["epoch_pos"])
        self.initialised = bool(state["initialised"])
        self.wall_seconds = float(state["wall_seconds"])
        self.history = copy.deepcopy(state["history"])  # never share lists with the caller's dict
        self._graph, self._graph_tried = None, False

    def load(self, path: str | Path) -> None:
        """Resume from a checkpoint file; :class:`CheckpointError` if it is missing, corrupt or incompatible."""
        self.load_state_dict(read_checkpoint(path))


class _DeferredInterrupt:
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

    def __enter__(self) -> "_DeferredInterrupt":
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint file on the CPU, turning every failure into one :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} is corrupted or truncated ({type(exc).__name__})") from exc


def config_from_dict(d: dict) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in d.items() if k in names})
