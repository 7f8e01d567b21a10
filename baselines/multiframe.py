"""Multi-frame FCN: the single-frame network fed the last k frames stacked as channels."""

from __future__ import annotations

import torch

from pourbench.baselines.base import DEFAULT_VOLUME_SCALE_ML, SegmentationModel
from pourbench.baselines.blocks import Encoder, pad_to_multiple
from pourbench.baselines.registry import register

#: Default window. Four frames (133 ms at 30 fps) show the motion of the falling stream
#: and of the surface in the bowl (a few pixels per frame), the cue that separates water
#: from a static look-alike; more frames add first-layer cost and motion blur of the
#: features while the network cannot keep anything beyond its window anyway (that is the
#: LSTM's job). Schenck & Fox's multi-frame FCN likewise used a short window.
DEFAULT_NUM_FRAMES = 4


@register("multiframe")
class MultiFrameCNN(SegmentationModel):
    """The CNN over a causal window: frame t sees frames t-k+1..t (oldest channels first).

    Before the first frame, frame 0 is repeated. In streaming use the state is the last
    k-1 frames seen, so chunked or frame-by-frame runs equal one run over the whole clip.

    Args:
        in_channels: C of one frame; the network's first layer sees ``k * C`` channels.
        out_channels: K, one logit map per mask task (0: no mask head).
        width: multiplier of every channel count.
        num_frames: the window k (>= 1; k = 1 is the single-frame CNN).
        volume_outputs, volume_scale_ml: the volume head (see :class:`CNN`).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 1,
        width: float = 1.0,
        num_frames: int = DEFAULT_NUM_FRAMES,
        volume_outputs: int = 0,
        volume_scale_ml: float = DEFAULT_VOLUME_SCALE_ML,
    ):
        super().__init__(in_channels, out_channels, volume_outputs, volume_scale_ml)
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        self._set_config(
            in_channels=in_channels,
            out_channels=out_channels,
            width=float(width),
            num_frames=int(num_frames),
        )
        self.num_frames = num_frames
        self.encoder = Encoder(in_channels * num_frames, width)
        self._build_heads(self.encoder.out_channels, width)

    @property
    def label(self) -> str:
        """``multiframe`` for the default window, ``multiframe-k8`` for a window of 8."""
        k = self.num_frames
        return self.name if k == DEFAULT_NUM_FRAMES else f"{self.name}-k{k}"

    def features_chunk(
        self, frames: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """State: the previous k-1 frames (B, k-1, C, H, W), or None at the start."""
        b, t, c, h, w = frames.shape
        k = self.num_frames
        if state is None:
            state = frames[:, :1].expand(b, k - 1, c, h, w)
        seq = torch.cat([state.to(frames.dtype), frames], dim=1)  # (B, k-1+T, C, H, W)
        index = torch.arange(t, device=frames.device)[:, None] + torch.arange(
            k, device=frames.device
        )
        windows = seq[:, index].reshape(b * t, k * c, h, w)  # (B*T, k*C, H, W)
        features = self.encoder(pad_to_multiple(windows)).unflatten(0, (b, t))
        return features, seq[:, seq.shape[1] - (k - 1) :]
