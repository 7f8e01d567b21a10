"""The one error type that the CLI turns into a single line and a non-zero exit."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError


class PourbenchError(Exception):
    """A user-facing problem (bad input, corrupt file, wrong submission).

    The CLI prints ``str(error)`` on one line and exits with ``exit_code``; it never shows
    a traceback for these.
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    def __reduce__(self):  # keeps the exit code across processes (pool workers, Ray)
        return type(self), (str(self), self.exit_code)


def describe_validation_error(
    error: ValidationError, model: type[BaseModel] | None, prefix: str = ""
) -> str:
    """The first problem of a pydantic error as one line: key, problem, what is allowed."""
    errors = error.errors()
    # a misspelt key shows up twice (unknown + missing): the unknown one names the cause
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(p) for p in err["loc"]]
    key = ".".join([prefix, *loc] if prefix else loc) or "(top level)"
    extra = error.error_count() - 1
    more = f" (and {extra} more problem{'s' * (extra > 1)})" if extra else ""
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1]) if model else []
        close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
        if close:  # the likely fix alone: a list of every key would bury it (and the line)
            return f"unknown key '{key}'; did you mean '{close[0]}'?{more}"
        allowed_s = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key '{key}'{allowed_s}{more}"
    if err["type"] == "missing":
        return f"missing key '{key}'{more}"
    got = err.get("input")
    got_s = f" (got {got!r})" if not isinstance(got, dict | list) else ""
    return f"{key}: {err['msg'].removeprefix('Value error, ')}{got_s}{more}"


def _allowed_keys(model: Any, loc: tuple) -> list[str]:
    """Field names of the (nested) model at ``loc``, to list in an unknown-key error."""
    current = model
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        current = annotation if isinstance(annotation, type) else None
        if current is None:
            return []
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []
