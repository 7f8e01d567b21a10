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
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError as e:
        raise PourbenchError(f"{path}: no such {what}") from e
    except (IsADirectoryError, UnicodeDecodeError) as e:
        raise PourbenchError(f"{path}: not a readable {what} ({e})") from e
    except tomllib.TOMLDecodeError as e:
        raise PourbenchError(f"{path}: not valid TOML ({e})") from e
