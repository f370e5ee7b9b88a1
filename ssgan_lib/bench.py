"""``python -m ssgan_lib bench``: the plain training loop a reader would write against the library's.

Both train the same Salimans et al. MNIST pair with the same losses from the same data on the same
device. The *plain* loop is the straightforward eager one: three separate D forwards, autograd via
``.backward()``, ``torch.optim.Adam``, a Python loop for parameter averaging, and a ``.item()`` per
step for logging (a host sync every step). The *library* loop is :class:`~ssgan_lib.train.Trainer`:
one concatenated D forward, device-side batches and noise, losses read every ``log_every`` steps,
and on CUDA the whole step captured as a CUDA graph. The *floor* is the step's matrix work alone (plain
``nn.Linear`` layers, no weight norm, noise, optimiser or averaging): what no loop of this model can beat. The last
printed line is one JSON object.
"""
from __future__ import annotations

import json
import time

import torch

from . import losses
from .data import MNIST, balanced_subset, load_mnist
from .models import SalimansD, SalimansG
from .config import TrainConfig
from .train import Trainer


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop_ms(data: MNIST, steps: int, device: torch.device, warmup: int = 5, labels: int = 100,
                  batch: int = 100) -> float:
    """Milliseconds per step of the straightforward eager loop (see module docstring)."""
    torch.manual_seed(1)
    D, G = SalimansD(1).to(device), SalimansG(1).to(device)
    lab_idx = balanced_subset(data.train_y, labels, seed=1).to(device)
    X, Y = data.train_x, data.train_y
    opt_d = torch.optim.Adam(D.parameters(), lr=3e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=3e-3, betas=(0.5, 0.999))
    avg = [p.detach().clone() for p in D.parameters()]
    log = []
    t0 = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            t0 = time.perf_counter()
        lab = lab_idx[torch.randperm(len(lab_idx), device=device)[:batch]]
        unl = torch.randint(len(X), (batch,), device=device)
        unl2 = torch.randint(len(X), (batch,), device=device)
        l_lab, _ = D(X[lab].unsqueeze(0))
        l_unl, _ = D(X[unl].unsqueeze(0))
        fake = G(G.sample_z(batch, device))
        l_fake, _ = D(fake.detach())
        loss_d = (losses.supervised_loss(l_lab, Y[lab].unsqueeze(0)) + losses.unsupervised_loss(l_unl, l_fake)).sum()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        with torch.no_grad():
            for a, p in zip(avg, D.parameters()):
                a.mul_(0.9999).add_(p, alpha=1e-4)
        _, f_fake = D(G(G.sample_z(batch, device)))
        _, f_real = D(X[unl2].unsqueeze(0))
        loss_g = losses.feature_matching_loss(f_real.detach(), f_fake).sum()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        log.append((loss_d.item(), loss_g.item()))  # what most scripts do: a host sync per step
    _sync(device)
    return 1000 * (time.perf_counter() - t0) / steps


def floor_ms(data: MNIST, steps: int, device: torch.device, warmup: int = 5, batch: int = 100) -> float:
    """Milliseconds per step of the step's matrix work alone, the floor a faster step can approach: the same
    layer sizes as plain ``nn.Linear`` layers (no weight norm, no Gaussian noise, no optimiser, no averaging),
    D forward on labelled + unlabelled + generated images and backward to D's weights, then G forward, D forward
    on real + generated and backward to G's weights."""
    torch.manual_seed(1)
    dims = (784,) + SalimansD.widths + (10,)
    layers = [m for a, b in zip(dims[:-1], dims[1:]) for m in (torch.nn.Linear(a, b), torch.nn.ReLU())][:-1]
    D = torch.nn.Sequential(*layers).to(device)
    G = torch.nn.Sequential(torch.nn.Linear(100, 500), torch.nn.Softplus(), torch.nn.Linear(500, 500),
                            torch.nn.Softplus(), torch.nn.Linear(500, 784), torch.nn.Sigmoid()).to(device)
    d_params, g_params = list(D.parameters()), list(G.parameters())
    x3, x2 = data.train_x[:2 * batch], data.train_x[:batch]
    t0 = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            t0 = time.perf_counter()
        with torch.no_grad():
            fake = G(torch.rand(batch, 100, device=device))
        out = D(torch.cat([x3, fake]))
        torch.autograd.grad(out.square().sum(), d_params)
        feat = D[:-1](torch.cat([x2, G(torch.rand(batch, 100, device=device))]))
        torch.autograd.grad(feat.square().sum(), g_params)
    _sync(device)
    return 1000 * (time.perf_counter() - t0) / steps


def library_ms(data: MNIST, steps: int, device: torch.device, seeds: int = 1, warmup: int = 5,
               graph: str = "auto") -> tuple[float, str]:
    """Milliseconds per step of :class:`Trainer` (all ``seeds`` runs advance one step), and its mode."""
    cfg = TrainConfig(labels=100, seeds=seeds, steps=warmup + steps, device=str(device), val_size=0,
                      eval_every=0, log_every=100, graph=graph)
    tr = Trainer(cfg, data=data, progress=False)
    tr.fit(steps=warmup)
    _sync(device)
    t0 = time.perf_counter()
    tr.fit(steps=steps)
    _sync(device)
    ms = 1000 * (time.perf_counter() - t0) / steps
    mode = tr.engine.mode
    return ms, mode


def run_bench(device: str | None = None, steps: int | None = None, seeds: int = 1, json_line: bool = True) -> dict:
    """Time both loops (and ``seeds`` runs in parallel if > 1), print a table (and, if ``json_line``, the summary
    as one JSON line, for scripts); return the summary dict."""
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    steps = steps or (300 if dev.type == "cuda" else 30)
    data = load_mnist(dev)
    plain = plain_loop_ms(data, steps, dev)
    lib, mode = library_ms(data, steps, dev)
    floor = floor_ms(data, steps, dev)
    rows = [("floor: the matrix work alone (nn.Linear)", floor, 1), ("plain eager loop (.item() per step)", plain, 1),
            (f"ssgan_lib Trainer ({mode})", lib, 1)]
    par = lib
    if seeds > 1:
        par, _ = library_ms(data, steps, dev, seeds=seeds)
        rows.append((f"ssgan_lib Trainer, {seeds} seeds at once ({mode})", par, seeds))
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"device: {dev} ({name}), torch {torch.__version__}, {torch.get_num_threads()} threads, {steps} timed steps "
          f"of batch 100, 100 labels")
    print(f"{'loop':<48} {'ms/step':>9} {'seed-steps/s':>13} {'vs plain':>9}")
    for label, ms, s in rows:
        print(f"{label:<48} {ms:>9.2f} {1000 * s / ms:>13.1f} {plain / ms * s:>8.1f}x")
    print(f"the library's step is {lib / floor:.2f}x the floor")
    result = {"device": str(dev), "device_name": name, "torch": torch.__version__, "steps": steps,
              "plain_ms_per_step": round(plain, 3), "lib_ms_per_step": round(lib, 3), "ratio": round(plain / lib, 2),
              "floor_ms_per_step": round(floor, 3), "lib_over_floor": round(lib / floor, 2),
              "threads": torch.get_num_threads(), "lib_mode": mode, "seeds": seeds, "seeds_ms_per_step": round(par, 3),
              "seed_steps_per_s": round(1000 * seeds / par, 1),
              "est_300_epochs_minutes": round(par * 180_000 / 60_000, 1)}
    if json_line:
        print(json.dumps(result))
    return result
