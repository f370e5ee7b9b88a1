"""The paper's semi-supervised step, top to bottom, as ``train_mnist_feature_matching.py`` of the reference
(github.com/openai/improved-gan) does it: the batches it draws, the step, the losses it calls.

Read it beside the reference script:

=====================================================  ==============================================================
reference (Theano)                                     here
=====================================================  ==============================================================
``trainx``/``trainx_unl``/``trainx_unl2`` permuted      :class:`Batches`: per-epoch orders on the device, one
each epoch, ``txs``/``tys`` the labelled set repeated   position ``pos``; ``Batches.new_epoch`` draws the orders
``noise`` layers, ``theano_rng.uniform`` for G's z      :func:`draw_inputs`: every random tensor of one step
``loss_lab``, ``loss_unl`` (``l_unl``, ``l_gen``)       :func:`ssgan_step`, D part: :mod:`ssgan_lib.losses`
``nn.adam_updates`` + ``avg_params``                   ``opt_d.step`` (:class:`~ssgan_lib.optim.PaperAdam`) after
                                                        ``avg.update()`` (the average reads the old weights)
``loss_gen`` (feature matching on ``layers[-3]``)       :func:`ssgan_step`, G part
=====================================================  ==============================================================

:func:`ssgan_step` is graph-safe: only device tensors, no ``.item()``, no Python branch on a value, so the same code
runs eagerly or captured once as a CUDA graph (:mod:`ssgan_lib.engine`). It returns the step's statistics, per
run: ``loss_lab``, ``loss_unl``, ``loss_g``, ``train_acc``. The configuration is a
:class:`~ssgan_lib.config.TrainConfig` (its fields are commented one by one); the step reads ``method``,
``batch_size``, ``unlabeled_weight`` and ``fm_kind``.
"""
from __future__ import annotations

import contextlib

import torch

from . import losses
from .config import TrainConfig
from .data import MNIST, NUM_CLASSES, epoch_permutation, repeated_permutation

STATS = ("loss_lab", "loss_unl", "loss_g", "train_acc")  # what ssgan_step returns, per run


class Batches:
    """Where each step's images come from, on the device: for every run (seed axis S) an epoch's order of the
    labelled indices (the labelled set repeated to fill an epoch), of the unlabelled images for D, and of those for
    G's feature matching; ``pos`` is the batch within the epoch (a device counter: replays of a CUDA graph advance
    it). :meth:`state_dict` holds all of it (the labelled subset ``lab_idx`` included)."""

    def __init__(self, lab_idx: torch.Tensor, n_train: int, batch_size: int, steps_per_epoch: int):
        self.lab_idx = lab_idx  # (S, labels): indices into train_x
        dev, S = lab_idx.device, lab_idx.shape[0]
        self.batch_size = batch_size
        self.lab_seq = torch.zeros(S, steps_per_epoch * batch_size, dtype=torch.long, device=dev)
        self.unl_seq = torch.zeros(S, n_train, dtype=torch.long, device=dev)
        self.unl2_seq = torch.zeros(S, n_train, dtype=torch.long, device=dev)
        self.pos = torch.zeros((), dtype=torch.long, device=dev)
        self._arange = torch.arange(batch_size, device=dev)

    def new_epoch(self, gen: torch.Generator) -> None:
        """Draw the epoch's orders (three draws from ``gen``, in this order) and go back to its first batch."""
        S, L = self.lab_seq.shape
        order = repeated_permutation(self.lab_idx.shape[1], L, S, self.lab_idx.device, gen)
        self.lab_seq.copy_(torch.gather(self.lab_idx, 1, order))
        self.unl_seq.copy_(epoch_permutation(self.unl_seq.shape[1], S, self.lab_idx.device, gen))
        self.unl2_seq.copy_(epoch_permutation(self.unl2_seq.shape[1], S, self.lab_idx.device, gen))
        self.pos.zero_()

    def take(self, seq: torch.Tensor) -> torch.Tensor:
        """The current batch's indices from ``seq`` (S, B)."""
        return seq.index_select(1, self.pos * self.batch_size + self._arange)

    def advance(self) -> None:
        self.pos += 1

    KEYS = ("lab_idx", "lab_seq", "unl_seq", "unl2_seq", "pos")

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: getattr(self, k).cpu() for k in self.KEYS}

    def load_state_dict(self, state: dict) -> None:
        """Copy every tensor in; ``ValueError`` on a shape that does not fit (nothing is half-loaded by the caller,
        which restores a backup)."""
        for k in self.KEYS:
            dst, src = getattr(self, k), state[k]
            if tuple(src.shape) != tuple(dst.shape):
                raise ValueError(f"{k} has shape {tuple(src.shape)}, expected {tuple(dst.shape)}")
            dst.copy_(src)


def draw_inputs(cfg: TrainConfig, data: MNIST, batches: Batches, D: torch.nn.Module, G: torch.nn.Module | None,
                gen: torch.Generator) -> dict:
    """Everything random one step needs, in the order the draws are made: the labelled and unlabelled batches, D's
    Gaussian-layer noise for the D step, G's two latent batches, the second unlabelled batch, D's noise for the G step.
    """
    B, dev, x = cfg.batch_size, batches.pos.device, data.train_x
    lab = batches.take(batches.lab_seq)
    inp = {"x_lab": x[lab], "y_lab": data.train_y[lab], "x_unl": x[batches.take(batches.unl_seq)]}
    inp["noise_d"] = [torch.randn(s, device=dev, generator=gen) for s in D.noise_shapes((3 if G is not None else 1) * B)]
    if G is not None:
        inp["z"] = G.sample_z(B, dev, gen)
        inp["z2"] = G.sample_z(B, dev, gen)
        inp["x_unl2"] = x[batches.take(batches.unl2_seq)]
        inp["noise_g"] = [torch.randn(s, device=dev, generator=gen) for s in D.noise_shapes(2 * B)]
    return inp


def class_logits(raw: torch.Tensor, method: str) -> torch.Tensor:
    """K class logits from D's raw output (K, or K+1 whose last is 'fake')."""
    if raw.shape[-1] == NUM_CLASSES + 1:
        return raw[..., :NUM_CLASSES] if method == "sgan" else losses.k_plus_one_to_k(raw)
    return raw


def forward_batches(D: torch.nn.Module, batches: list[torch.Tensor], noise: list[torch.Tensor],
                    n_real: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """D in train mode on ``batches`` (each ``(S, B, 784)``); logits and features concatenated along the
    batch axis, in the order of ``batches``. The first ``n_real`` batches are real images (default: all).

    A D with batch norm (``D.batch_norm``, the dcgan model) gets one forward per batch, so that each batch
    is normalised by its own statistics, and only real batches update its running statistics (those used
    at evaluation); the MLP D (per-sample layers, Gaussian noise ``noise`` drawn for the whole
    concatenation) gets all of them in one forward, as the reference does.
    """
    if not getattr(D, "batch_norm", False):
        return D(batches[0] if len(batches) == 1 else torch.cat(batches, dim=1), noise, train=True)
    n_real = len(batches) if n_real is None else n_real
    outs = [D(x, train=True, real=i < n_real) for i, x in enumerate(batches)]
    return torch.cat([o[0] for o in outs], dim=1), torch.cat([o[1] for o in outs], dim=1)


@contextlib.contextmanager
def frozen(params: list[torch.Tensor]):
    """Within ``with``: ``params`` do not require gradients (autograd records nothing for them)."""
    flags = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)


def ssgan_step(cfg: TrainConfig, D: torch.nn.Module, G: torch.nn.Module | None, opt_d, opt_g, avg,
               inp: dict) -> torch.Tensor:
    """One D step, one averaging step, one G step on the random inputs ``inp`` of :func:`draw_inputs`.

    Returns the statistics (S, 4): ``loss_lab``, ``loss_unl``, ``loss_g``, ``train_acc`` (:data:`STATS`).
    """
    B, method = cfg.batch_size, cfg.method
    d_params = opt_d.params
    # ---- D step: labelled, unlabelled and generated batches ---------------------------------------
    if G is not None:
        with torch.no_grad():
            fake = G(inp["z"])
        batches = [inp["x_lab"], inp["x_unl"], fake]
    else:
        batches = [inp["x_lab"]]
    raw, _ = forward_batches(D, batches, inp["noise_d"], n_real=2 if G is not None else 1)  # (S, 3B, ...)
    y = inp["y_lab"]
    if method == "supervised":
        l_lab = class_logits(raw, method)
        loss_d = losses.supervised_loss(l_lab, y)
    else:  # sgan: K+1 logits, the last one "fake"; ssgan-fm: K logits, the fake one fixed at 0
        l_lab, l_unl, l_fake = (raw if method == "sgan" else class_logits(raw, method)).split(B, dim=1)
        d_loss = losses.sgan_d_loss if method == "sgan" else losses.salimans_d_loss
        loss_d = d_loss(l_lab, y, l_unl, l_fake, cfg.unlabeled_weight)
    grads = torch.autograd.grad(loss_d.sum(), d_params)  # runs are independent: sum over seeds
    with torch.no_grad():  # the two terms of loss_d, for the log (the same functions on the same logits)
        loss_lab = losses.supervised_loss(l_lab, y)
        loss_unl = (torch.zeros_like(loss_lab) if method == "supervised" else
                    (losses.sgan_unsupervised_loss if method == "sgan" else losses.unsupervised_loss)(l_unl, l_fake))
    # the average takes the weights *before* this step's update, as in the reference (every update of one
    # Theano function reads the old values: a <- a + 1e-4 (p - a) sees p before Adam changes it)
    avg.update()
    opt_d.step(list(grads))
    train_acc = losses.accuracy(class_logits(l_lab, method) if method == "sgan" else l_lab, y)
    # ---- G step: feature matching (ssgan-fm) or fool the K+1 head (sgan) ------------------------------------
    if G is not None:
        fake2 = G(inp["z2"])
        # D sees the real batch, then the generated one, each with its rows of the noise drawn for both (the
        # reference's one forward of the concatenation, row for row). The real features are a fixed target:
        # no graph is kept for them, and G's loss needs no gradient of D's weights: none is computed.
        with torch.no_grad():
            _, f_real = forward_batches(D, [inp["x_unl2"]], [n[:, :B] for n in inp["noise_g"]])
        with frozen(d_params):
            raw_fake, f_fake = forward_batches(D, [fake2], [n[:, B:] for n in inp["noise_g"]], n_real=0)
        if method == "ssgan-fm":
            loss_g = losses.feature_matching_loss(f_real, f_fake, cfg.fm_kind)
        else:
            loss_g = losses.sgan_g_loss(raw_fake)
        opt_g.step(list(torch.autograd.grad(loss_g.sum(), opt_g.params)))
    else:
        loss_g = torch.zeros_like(loss_lab)
    return torch.stack([loss_lab, loss_unl, loss_g, train_acc], dim=1).detach()
