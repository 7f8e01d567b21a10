"""Taichi initialisation: the one place that calls ``ti.init`` (entry points call this)."""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging

logger = logging.getLogger(__name__)

ARCHES = ("auto", "cpu", "cuda")
_state: dict[str, object] = {}


def cuda_driver_present() -> bool:
    """Whether the CUDA driver library loads (checked without Taichi, so a CPU-only machine
    gets no "libcuda.so lib not found ... falling back" noise from Taichi's own probe)."""
    for name in ("libcuda.so.1", "libcuda.so"):
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def _ti_init(ti, arch, **kwargs) -> None:
    """``ti.init`` without its "[Taichi] Starting on arch=..." print (logged by the caller)."""
    with contextlib.redirect_stdout(io.StringIO()):
        ti.init(arch=arch, **kwargs)


def init_taichi(arch: str = "auto", threads: int | None = None) -> str:
    """Initialise Taichi once per process and return the backend in use (``"cpu"`` or ``"cuda"``).

    Args:
        arch: ``"auto"`` (CUDA when its driver library loads, else CPU without probing),
            ``"cpu"`` or ``"cuda"``.
        threads: CPU threads Taichi may use (None: all cores); set it so that parallel
            workers do not oversubscribe the machine.

    Idempotent: a second call returns the backend already initialised (a different request
    is logged and ignored, because re-initialising would free every existing field).
    """
    import taichi as ti

    from pourbench.core.errors import PourbenchError

    if arch not in ARCHES:
        raise PourbenchError(f"arch={arch!r} is not allowed; use one of {', '.join(ARCHES)}")
    if "arch" in _state:
        if arch not in ("auto", _state["arch"]) or (threads and threads != _state["threads"]):
            logger.warning(
                "Taichi already initialised on %s (threads=%s); ignoring arch=%s threads=%s",
                _state["arch"], _state["threads"], arch, threads,
            )
        return str(_state["arch"])
    # ERROR: Taichi's warnings here are noise to a user (e.g. two workers that compile at once
    # both try to lock the kernel cache and one prints a "Lock ... failed" warning)
    kwargs = dict(default_fp=ti.f32, default_ip=ti.i32, log_level=ti.ERROR)
    if threads:
        kwargs["cpu_max_num_threads"] = int(threads)
    chosen = "cpu"
    if arch == "auto" and not cuda_driver_present():
        logger.debug("no CUDA driver library; Taichi on CPU")
        arch = "cpu"
    if arch in ("auto", "cuda"):
        try:
            _ti_init(ti, ti.cuda, **kwargs)  # Taichi falls back to CPU itself when CUDA is absent
            chosen = "cuda" if ti.lang.impl.current_cfg().arch == ti.cuda else "cpu"
        except Exception as e:  # noqa: BLE001 - any CUDA failure means "use the CPU"
            logger.info("CUDA unavailable (%s); using CPU", e)
            _ti_init(ti, ti.cpu, **kwargs)
        if arch == "cuda" and chosen != "cuda":
            raise PourbenchError("arch='cuda' requested but no CUDA device is available")
    else:
        _ti_init(ti, ti.cpu, **kwargs)
    _state.update(arch=chosen, threads=threads)
    logger.info("Taichi initialised on %s (threads=%s)", chosen, threads)
    return chosen


def current_arch() -> str | None:
    """The backend chosen by :func:`init_taichi`, or None before it was called."""
    return _state.get("arch")  # type: ignore[return-value]
