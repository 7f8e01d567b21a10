"""The sequence files of a dataset folder: one listing for every reader.

Every reader (the loader, prediction, scoring, previews, coverage and occlusion reports)
lists ``seq_*.h5`` the same way, so a killed writer's ``*.tmp-*`` debris or a stray file of
another name is never read as a sequence.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from pourbench.core.atomic import is_temporary
from pourbench.core.errors import PourbenchError
from pourbench.core.splits import SPLITS, check_split
from pourbench.datasets.sequence import SequenceReader

PATTERN = "seq_*.h5"


def list_sequences(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Sorted sequence files in ``folder`` (and below it if ``recursive``), unchecked:
    for readers that report a bad file per sequence instead of stopping at it."""
    folder = Path(folder)
    found = folder.rglob(PATTERN) if recursive else folder.glob(PATTERN)
    return sorted(p for p in found if p.is_file() and not is_temporary(p))


def sequence_files(root_or_files: str | os.PathLike | Sequence, split: str | None = None):
    """Sorted complete-looking sequence files of a folder, or a given list, each checked.

    ``root_or_files`` is a dataset folder (with ``split``), a split folder, or a list of
    files. Temporary ``*.tmp-*`` debris is ignored.

    Raises:
        PourbenchError: missing folder or split, no sequence file in it, or one that is not
            a readable complete schema-v1 sequence (named, before any work starts).
    """
    if isinstance(root_or_files, str | os.PathLike):
        folder = Path(root_or_files)
        if split is not None:
            folder = folder / check_split(split)
        if not folder.is_dir():
            raise PourbenchError(f"{folder}: no such data folder")
        files = list_sequences(folder)
        if not files:
            hint = ""
            if split is None and any((folder / s).is_dir() for s in SPLITS):
                hint = " (it holds split folders: pass a split, e.g. DIR/test)"
            raise PourbenchError(f"{folder}: no sequence files ({PATTERN}){hint}")
        return _readable(files)
    files = [Path(p) for p in root_or_files if not is_temporary(Path(p))]
    if not files:
        raise PourbenchError("no sequence files given")
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise PourbenchError(f"missing sequence files: {', '.join(missing[:5])}")
    return _readable(files)


def _readable(files: list[Path]) -> list[Path]:
    """``files``, once each opened as a sequence (metadata only): a truncated, incomplete or
    malformed one, or one of a newer schema, fails here in one line naming it."""
    for path in files:
        SequenceReader(path).close()
    return files
