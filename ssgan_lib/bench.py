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
import statistics
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


def _timed(device: torch.device, run, steps: int) -> float:
    """Milliseconds per step of ``run(steps)``."""
    _sync(device)
    t0 = time.perf_counter()
    run(steps)
    _sync(device)
    return 1000 * (time.perf_counter() - t0) / steps


def plain_loop(data: MNIST, device: torch.device, labels: int = 100, batch: int = 100):
    """The straightforward eager loop (see module docstring): a function ``run(steps)``."""
    torch.manual_seed(1)
    D, G = SalimansD(1).to(device), SalimansG(1).to(device)
    lab_idx = balanced_subset(data.train_y, labels, seed=1).to(device)
    X, Y = data.train_x, data.train_y
    opt_d = torch.optim.Adam(D.parameters(), lr=3e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=3e-3, betas=(0.5, 0.999))
    avg = [p.detach().clone() for p in D.parameters()]
    log = []

    def step():
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
    return lambda steps: [step() for _ in range(steps)]


def floor_loop(data: MNIST, device: torch.device, batch: int = 100):
    """The step's matrix work alone (a function ``run(steps)``), the floor a faster step can approach: the same layer sizes as
    plain ``nn.Linear`` layers (no weight norm, no Gaussian noise, no optimiser, no averaging), D forward on
    labelled + unlabelled + generated images and backward to D's weights, then G forward, D forward on real +
    generated and backward to G's weights."""
    torch.manual_seed(1)
    dims = (784,) + SalimansD.widths + (10,)
    layers = [m for a, b in zip(dims[:-1], dims[1:]) for m in (torch.nn.Linear(a, b), torch.nn.ReLU())][:-1]
    D = torch.nn.Sequential(*layers).to(device)
    G = torch.nn.Sequential(torch.nn.Linear(100, 500), torch.nn.Softplus(), torch.nn.Linear(500, 500),
                            torch.nn.Softplus(), torch.nn.Linear(500, 784), torch.nn.Sigmoid()).to(device)
    d_params, g_params = list(D.parameters()), list(G.parameters())
    x3, x2 = data.train_x[:2 * batch], data.train_x[:batch]

    def step():
        with torch.no_grad():
            fake = G(torch.rand(batch, 100, device=device))
        out = D(torch.cat([x3, fake]))
        torch.autograd.grad(out.square().sum(), d_params)
        feat = D[:-1](torch.cat([x2, G(torch.rand(batch, 100, device=device))]))
        torch.autograd.grad(feat.square().sum(), g_params)
    return lambda steps: [step() for _ in range(steps)]


def library_loop(data: MNIST, device: torch.device, seeds: int = 1, graph: str = "auto") -> tuple:
    """:class:`Trainer`'s loop as a function ``run(steps)`` (all ``seeds`` runs advance ``steps`` steps), and the
    engine's mode (eager or CUDA graph)."""
    cfg = TrainConfig(labels=100, seeds=seeds, steps=10**9, device=str(device), val_size=0, eval_every=0,
                      log_every=100, graph=graph)
    tr = Trainer(cfg, data=data, progress=False)
    tr.fit(steps=1)  # builds (and on CUDA captures) the step
    return (lambda steps: tr.fit(steps=steps)), tr.engine.mode


def run_bench(device: str | None = None, steps: int | None = None, seeds: int = 1, json_line: bool = True,
              rounds: int = 5) -> dict:
    """Time the floor, the plain loop and the library's (and ``seeds`` runs in parallel if > 1), print a table (and,
    if ``json_line``, the summary as one JSON line, for scripts); return the summary dict.

    The loops take turns: ``rounds`` rounds of ``steps / rounds`` steps each, after a warm-up, and each loop's time
    is its median round. A machine whose speed drifts (a shared or throttled one) then slows all of them alike,
    and the ratios printed compare steps timed minutes apart no more than seconds apart; the library-to-floor ratio
    is also printed round by round (its lowest and highest), which shows how far such a machine moves it."""
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    steps = steps or (300 if dev.type == "cuda" else 50)
    rounds = max(1, min(rounds, steps))
    data = load_mnist(dev)
    lib_step, mode = library_loop(data, dev)
    loops = {"floor": floor_loop(data, dev), "plain": plain_loop(data, dev), "lib": lib_step}
    if seeds > 1:
        loops["seeds"] = library_loop(data, dev, seeds=seeds)[0]
    times = {k: [] for k in loops}
    for run in loops.values():  # warm-up
        run(5 if dev.type == "cpu" else 20)
    for _ in range(rounds):
        for k, run in loops.items():
            times[k].append(_timed(dev, run, max(1, steps // rounds)))
    floor, plain, lib = (statistics.median(times[k]) for k in ("floor", "plain", "lib"))
    par = statistics.median(times["seeds"]) if seeds > 1 else lib
    rows = [("floor: the matrix work alone (nn.Linear)", floor, 1), ("plain eager loop (.item() per step)", plain, 1),
            (f"ssgan_lib Trainer ({mode})", lib, 1)]
    if seeds > 1:
        rows.append((f"ssgan_lib Trainer, {seeds} seeds at once ({mode})", par, seeds))
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"device: {dev} ({name}), torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"median of {rounds} rounds of {max(1, steps // rounds)} steps of batch 100, 100 labels, the loops taking "
          "turns")
    print(f"{'loop':<48} {'ms/step':>9} {'seed-steps/s':>13} {'vs plain':>9}")
    for label, ms, s in rows:
        print(f"{label:<48} {ms:>9.2f} {1000 * s / ms:>13.1f} {plain / ms * s:>8.1f}x")
    # the same ratio round by round (each round times both loops within seconds): its range shows how much a
    # shared or throttled machine moves it between runs of this benchmark
    per_round = [b / a for a, b in zip(times["floor"], times["lib"])]
    print(f"the library's step is {lib / floor:.2f}x the floor (round by round: {min(per_round):.2f}x to "
          f"{max(per_round):.2f}x)")
    result = {"device": str(dev), "device_name": name, "torch": torch.__version__, "steps": steps,
              "plain_ms_per_step": round(plain, 3), "lib_ms_per_step": round(lib, 3), "ratio": round(plain / lib, 2),
              "floor_ms_per_step": round(floor, 3), "lib_over_floor": round(lib / floor, 2),
              "lib_over_floor_rounds": [round(min(per_round), 2), round(max(per_round), 2)],
              "threads": torch.get_num_threads(), "rounds": rounds, "lib_mode": mode, "seeds": seeds, "seeds_ms_per_step": round(par, 3),
              "seed_steps_per_s": round(1000 * seeds / par, 1),
              "est_300_epochs_minutes": round(par * 180_000 / 60_000, 1)}
    if json_line:
        print(json.dumps(result))
    return result
