"""Named registry of baseline models: ``@register("cnn")`` and ``build_model(name, **kw)``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pourbench.core.errors import PourbenchError

#: name -> model class, filled by ``@register`` when the model modules are imported.
MODELS: dict[str, type] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator adding a model class to :data:`MODELS` under ``name``."""

    def add(cls: type) -> type:
        if name in MODELS and MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} already registered to {MODELS[name]}")
        MODELS[name] = cls
        cls.name = name
        return cls

    return add


def build_model(name: str, **kwargs: Any):
    """Build the model registered as ``name`` with constructor arguments ``kwargs``.

    Raises:
        PourbenchError: unknown name (the message lists the valid ones) or bad arguments.
    """
    if name not in MODELS:
        raise PourbenchError(f"unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}")
    try:
        return MODELS[name](**kwargs)
    except (TypeError, ValueError) as e:
        raise PourbenchError(f"bad arguments for model {name!r}: {e}") from e


def model_from_config(config: Mapping[str, Any]):
    """Rebuild a model from its ``model.config`` (``{"name": ..., **constructor_args}``)."""
    config = dict(config)
    if "name" not in config:
        raise PourbenchError(f"model config has no 'name': {sorted(config)}")
    return build_model(config.pop("name"), **config)
