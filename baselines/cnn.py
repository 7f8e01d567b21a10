"""Single-frame fully convolutional network (Schenck & Fox's FCN): one frame at a time."""

from __future__ import annotations

from typing import Any

import torch

from pourbench.baselines.base import SegmentationModel
from pourbench.baselines.blocks import Decoder, Encoder, pad_to_multiple
from pourbench.baselines.registry import register


@register("cnn")
class CNN(SegmentationModel):
    """Encoder (five conv stages, stride 8) and decoder (1x1 conv, transposed conv).

    Each frame is segmented on its own; any H, W works (edge-padded to a multiple of 8
    inside, cropped back).

    Args:
        in_channels: C of the input frames (3 rgb, 1 thermal, 4 rgb+thermal).
        out_channels: K, one logit map per target.
        width: multiplier of every channel count.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 1, width: float = 1.0):
        super().__init__(in_channels, out_channels)
        self._set_config(in_channels=in_channels, out_channels=out_channels, width=float(width))
        self.encoder = Encoder(in_channels, width)
        self.decoder = Decoder(self.encoder.out_channels, out_channels, width)

    def segment(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (N, K, H, W) for images (N, C, H, W)."""
        h, w = images.shape[-2:]
        return self.decoder(self.encoder(pad_to_multiple(images)))[..., :h, :w]

    def forward_chunk(self, frames: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        self.check_frames(frames)
        b, t = frames.shape[:2]
        return self.segment(frames.flatten(0, 1)).unflatten(0, (b, t)), state
