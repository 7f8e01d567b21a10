"""LSTM-FCN: encoder, convolutional LSTM carrying memory through time, decoder.

The memory lets the network keep tracking water it can no longer see (Schenck & Fox,
IJRR 2018), which a window of frames cannot.
"""

from __future__ import annotations

import torch

from pourbench.baselines.base import DEFAULT_VOLUME_SCALE_ML, SegmentationModel
from pourbench.baselines.blocks import (
    ENCODER_STRIDE,
    ConvLSTMCell,
    Encoder,
    pad_to_multiple,
    padded_size,
)
from pourbench.baselines.registry import register

LSTMState = tuple[torch.Tensor, torch.Tensor]


@register("lstm")
class LSTMCNN(SegmentationModel):
    """Encoder (stride 8), ConvLSTM at 1/8 resolution, decoder back to full resolution.

    The decoder reads the LSTM output and, by default, the current frame's features.

    Args:
        in_channels: C of the input frames.
        out_channels: K, one logit map per mask task (0: no mask head).
        width: multiplier of the encoder/decoder channel counts.
        hidden_channels: LSTM state channels (20 as in the classic design).
        lstm_kernel: LSTM convolution kernel (1: each cell sees one location, classic).
        skip: also give the decoder the current frame's encoder features beside the LSTM
            output. The classic design (``skip=False``) decodes from the 20-channel memory
            alone; it learns far more slowly (a tiny clip took > 400 Adam steps to lose 90 %
            of its loss, against 26 with the skip and 31 for the CNN), which a CPU budget
            cannot afford. The memory still carries what the current frame cannot show.
        volume_outputs, volume_scale_ml: the volume head (see :class:`CNN`); it reads the
            memory too, so it can count water poured out of view.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 1,
        width: float = 1.0,
        hidden_channels: int = 20,
        lstm_kernel: int = 1,
        skip: bool = True,
        volume_outputs: int = 0,
        volume_scale_ml: float = DEFAULT_VOLUME_SCALE_ML,
    ):
        super().__init__(in_channels, out_channels, volume_outputs, volume_scale_ml)
        self._set_config(
            in_channels=in_channels,
            out_channels=out_channels,
            width=float(width),
            hidden_channels=int(hidden_channels),
            lstm_kernel=int(lstm_kernel),
            skip=bool(skip),
        )
        self.skip = skip
        self.encoder = Encoder(in_channels, width)
        self.cell = ConvLSTMCell(self.encoder.out_channels, hidden_channels, lstm_kernel)
        decoder_in = hidden_channels + (self.encoder.out_channels if skip else 0)
        self._build_heads(decoder_in, width)

    def init_state(self, batch: int, height: int, width: int) -> LSTMState:
        """Zero (h, c), each (batch, hidden, ceil(H/8), ceil(W/8)), on the model's device."""
        ph, pw = padded_size(height, width)
        p = next(self.parameters())
        shape = (batch, self.cell.hidden_channels, ph // ENCODER_STRIDE, pw // ENCODER_STRIDE)
        zeros = torch.zeros(shape, device=p.device, dtype=p.dtype)
        return zeros, zeros.clone()

    def features_chunk(
        self, frames: torch.Tensor, state: LSTMState | None = None
    ) -> tuple[torch.Tensor, LSTMState]:
        b, t, _, h, w = frames.shape
        if state is None:
            state = self.init_state(b, h, w)
        features = self.encoder(pad_to_multiple(frames.flatten(0, 1))).unflatten(0, (b, t))
        hidden = []
        for i in range(t):
            out, state = self.cell(features[:, i], state)
            hidden.append(torch.cat([out, features[:, i]], dim=1) if self.skip else out)
        return torch.stack(hidden, dim=1), state
