"""Atomic file creation: write under a temporary name, rename into place when complete.

A reader never sees a half-written file under the final name: either the rename happened
(the file is whole) or only ``*.tmp-<pid>`` debris remains, which readers ignore and
writers clean up.

A write that fails part-way (a full disk, the file-size limit, a read-only folder) raises a
one-line :class:`PourbenchError` naming the final file, after removing the temporary one:
rerunning the same command resumes from what is complete.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pourbench.core.errors import PourbenchError

TMP_MARK = ".tmp-"

#: errno values of a write that failed because of the storage, not of the program.
STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
)
#: how HDF5 reports a failed write in messages without an errno
_WRITE_FAILURE_TEXT = ("file write failed", "no space left", "file too large", "disk quota")


def temporary_name(final: Path) -> Path:
    """The temporary sibling of ``final`` used while it is being written."""
    return final.with_name(f"{final.name}{TMP_MARK}{os.getpid()}")


def is_temporary(path: Path) -> bool:
    return TMP_MARK in path.name


def is_write_failure(error: BaseException) -> bool:
    """Whether ``error`` is the storage refusing a write (full disk, size limit, read-only)."""
    if isinstance(error, OSError) and error.errno in STORAGE_ERRNOS:
        return True
    text = str(error).lower()
    return isinstance(error, OSError | RuntimeError) and any(t in text for t in _WRITE_FAILURE_TEXT)


def write_failed(final: Path, error: BaseException) -> PourbenchError:
    """The one-line error of a write of ``final`` that the storage refused."""
    code = getattr(error, "errno", None)
    reason = os.strerror(code) if code else None  # h5py's strerror is a paragraph
    if not reason:
        text = str(error).lower()
        reason = next((t for t in ("no space left on device", "file too large", "disk quota")
                       if t in text), "the write failed")
    return PourbenchError(
        f"{final}: write failed ({reason[:1].lower()}{reason[1:]}); nothing was written under "
        "this name; free space and rerun the same command to resume", 1
    )


def _check_writable(final: Path) -> None:
    """Fail early, in one line, when ``final`` cannot be created where it is."""
    folder = final.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PourbenchError(f"{folder}: cannot create the folder ({e.strerror or e})") from e
    if final.is_dir():
        raise PourbenchError(f"{final}: is a folder; expected a file name here")
    probe = temporary_name(final)
    try:
        with open(probe, "wb"):
            pass
    except OSError as e:
        raise PourbenchError(f"{final}: cannot write in {folder} ({e.strerror or e})") from e
    probe.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on clean exit fsync and rename it to ``final``.

    On an exception the temporary file is removed and ``final`` is left untouched; a
    storage failure (full disk...) becomes a one-line PourbenchError naming ``final``.
    """
    final = Path(final)
    _check_writable(final)
    tmp = temporary_name(final)
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"{final}: the writer left no file to put in place")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except (OSError, RuntimeError) as e:
        if is_write_failure(e):
            raise write_failed(final, e) from e
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


def abandon_h5(h5: Any) -> None:
    """Close an h5py file whose write failed, without letting HDF5 retry the failed writes.

    Its descriptor is pointed at /dev/null first: HDF5's final flush then succeeds into
    nothing (the file is being deleted anyway) instead of failing again, and h5py leaves no
    half-closed object behind to spill errors (or crash) when the interpreter exits.
    """
    with contextlib.suppress(Exception):
        fd = h5.id.get_vfd_handle()
        null = os.open(os.devnull, os.O_RDWR)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    with contextlib.suppress(Exception):
        h5.close()


@contextlib.contextmanager
def atomic_h5(final: str | os.PathLike, **kwargs: Any) -> Iterator[Any]:
    """An ``h5py.File`` written under a temporary name; flushed, closed, fsynced and renamed to
    ``final`` on clean exit. On any failure (the block raises, the disk fills, the flush
    fails) nothing appears under ``final`` and a storage failure is a one-line error."""
    import h5py

    final = Path(final)
    with atomic_path(final) as tmp:
        h5 = h5py.File(tmp, "w", **kwargs)
        try:
            yield h5
            h5.flush()
        except BaseException as e:
            abandon_h5(h5)
            if is_write_failure(e):
                raise write_failed(final, e) from e
            raise
        try:
            h5.close()
        except (OSError, RuntimeError) as e:
            abandon_h5(h5)
            raise write_failed(final, e) from e


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
