"""ssgan_lib: GANs and semi-supervised GANs on MNIST, small, fast and tested.

Modules: :mod:`~ssgan_lib.data` (MNIST on the device, balanced labelled subsets),
:mod:`~ssgan_lib.models` (the networks), :mod:`~ssgan_lib.losses` (every loss with its formula),
:mod:`~ssgan_lib.optim` (the paper's Adam, parameter averaging), :mod:`~ssgan_lib.config` (what a run is),
:mod:`~ssgan_lib.step` (the paper's step), :mod:`~ssgan_lib.engine` (the loop), :mod:`~ssgan_lib.train` (the SSGAN
trainer), :mod:`~ssgan_lib.gan` (plain GAN loops for the early chapters), :mod:`~ssgan_lib.metrics`,
:mod:`~ssgan_lib.plots`, :mod:`~ssgan_lib.runs` (writing a run's record), :mod:`~ssgan_lib.reproduce` (the
label-rate sweep), :mod:`~ssgan_lib.cli` (the command line, the top).

Beside the library, not imported by it: :mod:`ssgan_lib.evidence` (the book's stored results, tables and verdicts)
and :mod:`ssgan_lib.exercises` (the chapters' exercise checks).
"""
__version__ = "0.1.0"
__all__ = ["MNIST", "DataNotFoundError", "balanced_subset", "load_mnist", "TrainConfig", "Trainer", "__version__"]

from .data import MNIST, DataNotFoundError, balanced_subset, load_mnist  # noqa: E402,F401
from .config import TrainConfig  # noqa: E402,F401
from .train import Trainer
