"""Read a TOML file, turning every way it can be wrong into one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pourbench.core.errors import PourbenchError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def read_toml(path: str | Path, what: str = "file") -> dict[str, Any]:
    """The parsed TOML table of ``path``; a missing or malformed file is a PourbenchError."""
    path = Path(path)
    if path.is_dir():
        raise PourbenchError(f"{path}: is a folder, not a {what}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise PourbenchError(f"{path}: no such {what}") from e
    except OSError as e:
        raise PourbenchError(f"{path}: cannot read the {what} ({e.strerror or e})") from e
    if not raw.strip():
        raise PourbenchError(f"{path}: empty {what}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PourbenchError(f"{path}: not a text file (binary content at byte {e.start}); "
                             f"a {what} is TOML text") from e
    if "\x00" in text:
        raise PourbenchError(f"{path}: not a text file (NUL bytes); a {what} is TOML text")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PourbenchError(f"{path}: not valid TOML ({e})") from e
