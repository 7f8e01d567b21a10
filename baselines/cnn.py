"""Single-frame fully convolutional network (Schenck & Fox's FCN): one frame at a time."""

from __future__ import annotations

from typing import Any

import torch

from pourbench.baselines.base import DEFAULT_VOLUME_SCALE_ML, SegmentationModel
from pourbench.baselines.blocks import Encoder, pad_to_multiple
from pourbench.baselines.registry import register


@register("cnn")
class CNN(SegmentationModel):
    """Encoder (five conv stages, stride 8) and decoder (1x1 conv, transposed conv).

    Each frame is segmented on its own; any H, W works (edge-padded to a multiple of 8
    inside, cropped back).

    Args:
        in_channels: C of the input frames (3 rgb, 1 thermal, 4 rgb+thermal).
        out_channels: K, one logit map per mask task (0: no mask head).
        width: multiplier of every channel count.
        volume_outputs: V, ml per container from pooled features (0: no volume head).
        volume_scale_ml: the ml that one unit of the volume head stands for.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 1,
        width: float = 1.0,
        volume_outputs: int = 0,
        volume_scale_ml: float = DEFAULT_VOLUME_SCALE_ML,
    ):
        super().__init__(in_channels, out_channels, volume_outputs, volume_scale_ml)
        self._set_config(in_channels=in_channels, out_channels=out_channels, width=float(width))
        self.encoder = Encoder(in_channels, width)
        self._build_heads(self.encoder.out_channels, width)

    def features_chunk(self, frames: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        b, t = frames.shape[:2]
        return self.encoder(pad_to_multiple(frames.flatten(0, 1))).unflatten(0, (b, t)), state
