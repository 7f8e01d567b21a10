"""Shared base of the baselines: input checks, streaming interface, parameter count.

Every model maps frames (B, T, C, H, W) to logits (B, T, K, H, W), K = ``out_channels``
(1 by default: one target). Models run causally, so they can also stream: ``init_state``,
``step`` (one frame) and ``forward_chunk`` (several frames, carrying the state) give the
same logits as ``forward`` over the whole sequence.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class SegmentationModel(nn.Module):
    """Base class of all baselines.

    Subclasses set ``self.config`` (their constructor arguments, plain Python values; the
    registry adds ``name``) and implement :meth:`forward_chunk`. ``model_from_config``
    rebuilds a model from ``config``, which is how checkpoints restore it.
    """

    name: str = "base"

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"channels must be >= 1, got in={in_channels} out={out_channels}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.config: dict[str, Any] = {}

    def _set_config(self, **kwargs: Any) -> None:
        self.config = {"name": self.name, **kwargs}

    # -- checks ---------------------------------------------------------------------------
    def check_frames(self, frames: torch.Tensor) -> None:
        """Raise ValueError unless ``frames`` is a floating (B, T, C, H, W) tensor."""
        if frames.dim() != 5:
            raise ValueError(f"{self.name}: frames must be (B,T,C,H,W), got {tuple(frames.shape)}")
        if frames.shape[2] != self.in_channels:
            raise ValueError(
                f"{self.name}: expected {self.in_channels} input channels, got {frames.shape[2]}"
            )
        if not frames.is_floating_point():
            raise ValueError(f"{self.name}: frames must be floating point, got {frames.dtype}")
        if frames.shape[1] < 1 or frames.shape[-1] < 1 or frames.shape[-2] < 1:
            raise ValueError(f"{self.name}: empty frames {tuple(frames.shape)}")

    # -- interface ------------------------------------------------------------------------
    def init_state(self, batch: int, height: int, width: int) -> Any:
        """State before the first frame (``None`` for models without memory)."""
        return None

    def forward_chunk(self, frames: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Logits (B, T, K, H, W) for frames (B, T, C, H, W) following ``state``."""
        raise NotImplementedError

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, K, H, W) for a whole clip of frames (B, T, C, H, W)."""
        self.check_frames(frames)
        b, _, _, h, w = frames.shape
        logits, _ = self.forward_chunk(frames, self.init_state(b, h, w))
        return logits

    def step(self, frame: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One frame (B, C, H, W) -> logits (B, K, H, W) and the next state."""
        if frame.dim() != 4:
            raise ValueError(f"{self.name}: frame must be (B,C,H,W), got {tuple(frame.shape)}")
        logits, state = self.forward_chunk(frame[:, None], state)
        return logits[:, 0], state

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config.items() if k != "name")
