"""Atomic file creation: write under a temporary name, rename into place when complete.

A reader never sees a half-written file under the final name: either the rename happened
(the file is whole) or only ``*.tmp-<pid>`` debris remains, which readers ignore and
writers clean up.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

TMP_MARK = ".tmp-"


def temporary_name(final: Path) -> Path:
    """The temporary sibling of ``final`` used while it is being written."""
    return final.with_name(f"{final.name}{TMP_MARK}{os.getpid()}")


def is_temporary(path: Path) -> bool:
    return TMP_MARK in path.name


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on clean exit fsync and rename it to ``final``.

    On an exception the temporary file is removed and ``final`` is left untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(final)
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"{final}: the writer left no file to put in place")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(final: str | os.PathLike, text: str) -> None:
    """Write a small text file (manifest, JSON result) atomically."""
    with atomic_path(final) as tmp:
        tmp.write_text(text)


def remove_debris(folder: str | os.PathLike) -> int:
    """Delete temporary files left by killed writers under ``folder``; return how many."""
    n = 0
    for p in Path(folder).rglob(f"*{TMP_MARK}*"):
        if p.is_file():
            p.unlink()
            n += 1
    return n
