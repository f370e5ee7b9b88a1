"""Measure the milliseconds one training step of each kind takes on this machine (a benchmark, not a test).

    SSGAN_DATA_DIR=... python book/_tools/calibrate_times.py      # prints a dict for runinfo.CPU_MS_PER_STEP

Each kind of step (``runinfo.KINDS``) is timed as the chapters run it: the median of 5 rounds of a few steps after
a warm-up, with the threads torch picks. Run it on a quiet machine; the numbers go into
``ssgan_lib/evidence/runinfo.py`` with the machine and the date.
"""
from __future__ import annotations

import statistics
import time

import torch

from ssgan_lib.config import TrainConfig
from ssgan_lib.data import load_mnist
from ssgan_lib.gan import GANConfig, ToyDiscriminator, ToyGenerator, ring_of_gaussians, train_gan
from ssgan_lib.metrics import train_feature_net
from ssgan_lib.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from ssgan_lib.train import Trainer


def per_step_ms(run, steps: int, rounds: int = 5) -> float:
    run(2)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        run(steps)
        times.append((time.perf_counter() - t0) / steps * 1000)
    return statistics.median(times)


def main() -> None:
    data = load_mnist(torch.device("cpu"))
    out = {}
    for method, kind in (("ssgan-fm", "ssgan"), ("sgan", "sgan"), ("supervised", "supervised")):
        tr = Trainer(TrainConfig(method=method, labels=100, seeds=1, steps=10**6, eval_every=0, log_every=1000,
                                 val_size=0, device="cpu"), data=data, progress=False)
        tr.fit(steps=1)
        out[kind] = per_step_ms(lambda n, tr=tr: tr.fit(steps=n), 20)
    x = data.train_x[:512] * 2 - 1
    for kind, G, D, n in (("mlp_gan", MLPGenerator(), MLPDiscriminator(), 40),
                          ("dcgan32", DCGANGenerator(width=32), DCGANDiscriminator(n_out=1, width=32), 10),
                          ("dcgan64", DCGANGenerator(width=64), DCGANDiscriminator(n_out=1, width=64), 5)):
        out[kind] = per_step_ms(lambda k, G=G, D=D: train_gan(G, D, x, GANConfig(steps=k, progress=False,
                                                                                 log_every=10**6)), n)
    ring = ring_of_gaussians(512)
    out["toy"] = per_step_ms(lambda k: train_gan(ToyGenerator(), ToyDiscriminator(), ring,
                                                 GANConfig(steps=k, progress=False, log_every=10**6)), 100)
    out["feature_net"] = per_step_ms(lambda k: train_feature_net(data.train_x[:512], data.train_y[:512], steps=k), 10)
    print({k: round(v, 1) for k, v in out.items()}, f"({torch.get_num_threads()} threads, torch {torch.__version__})")


if __name__ == "__main__":
    main()
