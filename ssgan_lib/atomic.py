"""Atomic file writes: the one temp-file-and-rename helper that every writer of the library uses.

A reader (another process, a resumed run, a killed job's successor) sees either the old file or the whole new
one, never half a file: the content goes to ``NAME.tmp`` beside the target, is flushed to disk, and is renamed
over the target (``os.replace``, atomic on POSIX and Windows). A failed write removes its temp file and leaves
the target as it was.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@contextmanager
def atomic_path(path: str | Path, fsync: bool = True) -> Iterator[Path]:
    """``with atomic_path(p) as tmp:`` write ``tmp``; on leaving, ``tmp`` replaces ``p`` (on an error it is
    removed and ``p`` is untouched). ``fsync``: flush the file to disk before the rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(text: str, path: str | Path, fsync: bool = True) -> None:
    with atomic_path(path, fsync) as tmp:
        tmp.write_text(text)


def write_json(obj: Any, path: str | Path) -> None:
    """``obj`` as indented JSON (the project's layout: indent 2, a final newline)."""
    write_text(json.dumps(obj, indent=2) + "\n", path)


def torch_save(obj: Any, path: str | Path) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
