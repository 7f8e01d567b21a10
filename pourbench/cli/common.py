"""Option help shared by several verbs."""

from __future__ import annotations

ARCH_HELP = "Taichi backend: auto (CUDA when present), cpu or cuda."
DEVICE_HELP = "auto, cpu, cuda or cuda:N."
