"""The book's evidence layer, beside the library: nothing in ``ssgan_lib`` outside this folder imports it.

It reads what the book shows and writes the book's tables and sentences; the library (``ssgan_lib``) trains,
evaluates and writes records, and writes no prose.

- :mod:`~ssgan_lib.evidence.stored`: the stored results (``book/results/``, shipped in the package for Colab):
  :func:`results_path`, :func:`read_result`, and the trained networks shipped with the book, :func:`trained_model`;
- :mod:`~ssgan_lib.evidence.records`: stored training runs as curves, per-seed numbers, confusions and tables;
- :mod:`~ssgan_lib.evidence.study`: the label-rate study beside the paper's numbers;
- :mod:`~ssgan_lib.evidence.runinfo`: how a chapter runs here (its size, the time it needs) and ``glue``.
"""
from .stored import read_result, results_path, trained_model  # noqa: F401

__all__ = ["read_result", "results_path", "trained_model"]
