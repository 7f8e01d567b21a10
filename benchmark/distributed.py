"""Data-parallel training through ``torchrun``: process group set-up and small collectives.

When ``WORLD_SIZE > 1`` is in the environment (torchrun sets it, with ``RANK``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), training joins a process group (nccl
on CUDA, gloo on CPU); otherwise everything here is a no-op for a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    initialised_here: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device_type: str) -> DistInfo:
    """Join the process group described by the environment (no-op when WORLD_SIZE <= 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), local, False)
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local)
    dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank, world, local, True)


def teardown(info: DistInfo) -> None:
    if info.initialised_here and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: torch.Tensor, info: DistInfo, device: torch.device) -> torch.Tensor:
    """Sum a tensor over all processes (on ``device``: nccl wants CUDA); returned on CPU."""
    if info.enabled:
        values = values.to(device).clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values.cpu()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
