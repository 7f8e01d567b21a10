"""Shared base of the baselines: the heads, input checks, streaming, parameter count.

Every model maps frames (B, T, C, H, W) to a :class:`ModelOutput`: mask logits
(B, T, K, H, W), K = ``out_channels`` (one per mask task; 0: no mask head), and water
volumes (B, T, V) in ml, V = ``volume_outputs`` (the source and target container; 0: no
volume head). A model computes per-frame features at 1/8 resolution
(:meth:`SegmentationModel.features_chunk`); the mask decoder and the volume head read them.
Models run causally, so they can also stream: ``init_state``, ``step`` (one frame) and
``forward_chunk`` (several frames, carrying the state) give the same outputs as ``forward``
over the whole sequence.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from pourbench.baselines.blocks import Decoder, VolumeHead

#: Default ml that a volume-head output of softplus(0) ~ 0.69 stands for (trainers set it
#: from the training set's mean volume, so the head starts near the right magnitude).
DEFAULT_VOLUME_SCALE_ML = 100.0


class ModelOutput(NamedTuple):
    """What a model predicts for a clip: either part is None when the model lacks its head."""

    masks: torch.Tensor | None  # logits (B, T, K, H, W)
    volume: torch.Tensor | None  # ml (B, T, V), >= 0


class SegmentationModel(nn.Module):
    """Base class of all baselines.

    Subclasses set ``self.config`` (their constructor arguments, plain Python values; the
    registry adds ``name``), call :meth:`_build_heads` and implement
    :meth:`features_chunk`. ``model_from_config`` rebuilds a model from ``config``, which
    is how checkpoints restore it.
    """

    name: str = "base"

    @property
    def label(self) -> str:
        """The name results and leaderboards show: the registry name, plus any setting that
        makes this a different model (the multi-frame window)."""
        return self.name

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        volume_outputs: int = 0,
        volume_scale_ml: float = DEFAULT_VOLUME_SCALE_ML,
    ):
        super().__init__()
        if in_channels < 1 or out_channels < 0 or volume_outputs < 0:
            raise ValueError(
                f"channels must be in >= 1, out >= 0, volume >= 0; got in={in_channels} "
                f"out={out_channels} volume={volume_outputs}"
            )
        if out_channels + volume_outputs < 1:
            raise ValueError("a model needs a mask head (out_channels) or a volume head")
        if not volume_scale_ml > 0:
            raise ValueError(f"volume_scale_ml must be > 0, got {volume_scale_ml}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.volume_outputs = volume_outputs
        self.volume_scale_ml = float(volume_scale_ml)
        self.config: dict[str, Any] = {}

    def _set_config(self, **kwargs: Any) -> None:
        self.config = {
            "name": self.name,
            **kwargs,
            "volume_outputs": self.volume_outputs,
            "volume_scale_ml": self.volume_scale_ml,
        }

    def _build_heads(self, feature_channels: int, width: float) -> None:
        """The mask decoder and the volume head over ``feature_channels`` features."""
        self.decoder = (
            Decoder(feature_channels, self.out_channels, width) if self.out_channels else None
        )
        self.volume_head = (
            VolumeHead(feature_channels, self.volume_outputs, self.volume_scale_ml)
            if self.volume_outputs
            else None
        )

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

    def features_chunk(self, frames: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Features (B, T, F, H/8, W/8) of padded frames (B, T, C, H, W) after ``state``."""
        raise NotImplementedError

    def forward_chunk(self, frames: torch.Tensor, state: Any) -> tuple[ModelOutput, Any]:
        """Outputs for frames (B, T, C, H, W) following ``state``, and the next state."""
        self.check_frames(frames)
        b, t, _, h, w = frames.shape
        features, state = self.features_chunk(frames, state)
        flat = features.flatten(0, 1)
        masks = volume = None
        if self.decoder is not None:
            masks = self.decoder(flat)[..., :h, :w].unflatten(0, (b, t))
        if self.volume_head is not None:
            volume = self.volume_head(flat).unflatten(0, (b, t))
        return ModelOutput(masks, volume), state

    def forward(
        self, frames: torch.Tensor, state: Any = None, *, with_state: bool = False
    ) -> ModelOutput | tuple[ModelOutput, Any]:
        """Outputs for a clip of frames (B, T, C, H, W), from the start (``state`` None) or
        following ``state``; with ``with_state`` also the state after the clip (training
        that carries memory across clips calls the model this way, so DDP sees it)."""
        self.check_frames(frames)
        b, _, _, h, w = frames.shape
        if state is None:
            state = self.init_state(b, h, w)
        out, state = self.forward_chunk(frames, state)
        return (out, state) if with_state else out

    def step(self, frame: torch.Tensor, state: Any) -> tuple[ModelOutput, Any]:
        """One frame (B, C, H, W) -> outputs without the time axis, and the next state."""
        if frame.dim() != 4:
            raise ValueError(f"{self.name}: frame must be (B,C,H,W), got {tuple(frame.shape)}")
        out, state = self.forward_chunk(frame[:, None], state)
        return ModelOutput(*(None if o is None else o[:, 0] for o in out)), state

    @staticmethod
    def detach_state(state: Any) -> Any:
        """The state cut from the graph (truncated back-propagation through time)."""
        if isinstance(state, torch.Tensor):
            return state.detach()
        if isinstance(state, tuple | list):
            return type(state)(SegmentationModel.detach_state(s) for s in state)
        return state

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config.items() if k != "name")
