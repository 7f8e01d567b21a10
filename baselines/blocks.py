"""Building blocks shared by the baselines: encoder, decoder, convolutional LSTM cell.

The layout follows the fully convolutional networks of Schenck & Fox (2016, 2018): a few
convolution stages with pooling, a 1x1 convolution, and a transposed convolution that
brings the coarse score map back to full resolution. Widths are kept small so that all
three models train on a 2-core CPU; ``width`` scales every channel count.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Channels of the five encoder stages at ``width=1``.
BASE_STAGE_CHANNELS = (16, 32, 48, 64, 64)
#: Channels after the decoder's 1x1 convolution at ``width=1``.
BASE_DECODER_CHANNELS = 16
#: Total downsampling of the encoder (three stride-2 stages): inputs are padded to a multiple.
ENCODER_STRIDE = 8


def scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded, at least 4."""
    return max(4, int(round(channels * width)))


class Encoder(nn.Module):
    """Five convolution stages; the first three stride 2 (output stride 8).

    Stage 1 uses 5x5 kernels (a wider first view, as in the classic design), the rest 3x3;
    stage 5 is dilated (2) to widen the receptive field (65 px) at no extra cost. Strided
    convolutions rather than conv + max-pool: each stage computes only the outputs it
    keeps, which makes training about 2.5x faster on a CPU.
    Maps (N, C_in, H, W) to (N, out_channels, H/8, W/8); H and W must be multiples of 8.
    """

    def __init__(self, in_channels: int, width: float = 1.0):
        super().__init__()
        c1, c2, c3, c4, c5 = (scaled(c, width) for c in BASE_STAGE_CHANNELS)
        self.out_channels = c5
        self.stages = nn.Sequential(
            _conv(in_channels, c1, 5, stride=2),
            _conv(c1, c2, 3, stride=2),
            _conv(c2, c3, 3, stride=2),
            _conv(c3, c4, 3),
            _conv(c4, c5, 3, dilation=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)


class Decoder(nn.Module):
    """1x1 convolution, then a transposed convolution (stride 8) back to full resolution.

    Maps (N, in_channels, h, w) to (N, out_channels, 8h, 8w) logits.
    """

    def __init__(self, in_channels: int, out_channels: int = 1, width: float = 1.0):
        super().__init__()
        mid = scaled(BASE_DECODER_CHANNELS, width)
        s = ENCODER_STRIDE
        self.score = _conv(in_channels, mid, 1)
        self.upsample = nn.ConvTranspose2d(mid, out_channels, 2 * s, stride=s, padding=s // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.score(x))


class VolumeHead(nn.Module):
    """Features -> non-negative ml per container, as a density map summed over the image.

    Two 1x1 convolutions give, at each location, a non-negative amount of water per
    container (softplus); the head's output is their mean over the image times
    ``scale_ml``. Counting by density maps is what generalises across views and amounts: a
    location adds water where it sees water (or, for the LSTM, remembers it), and a pooled
    global descriptor would have to learn that sum. Maps (N, in_channels, h, w) to
    (N, outputs); starts near ``0.69 * scale_ml``.
    """

    def __init__(self, in_channels: int, outputs: int, scale_ml: float, hidden: int = 32):
        super().__init__()
        self.scale_ml = float(scale_ml)
        self.density = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, outputs, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        density = F.softplus(self.density(x.float()))  # (N, outputs, h, w)
        return self.scale_ml * density.mean(dim=(-2, -1))


class ConvLSTMCell(nn.Module):
    """Convolutional LSTM cell (Shi et al. 2015); 1x1 kernels by default, as Schenck & Fox.

    Gates are computed from the concatenation of the input and the previous hidden state;
    state is ``(h, c)``, each (N, hidden_channels, h, w).
    """

    def __init__(self, in_channels: int, hidden_channels: int = 20, kernel_size: int = 1):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"ConvLSTM kernel_size must be odd, got {kernel_size}")
        self.hidden_channels = hidden_channels
        self.gates = nn.Conv2d(
            in_channels + hidden_channels,
            4 * hidden_channels,
            kernel_size,
            padding=kernel_size // 2,
        )
        nn.init.xavier_uniform_(self.gates.weight)  # gates start away from saturation
        with torch.no_grad():  # forget-gate bias 1: remember by default early in training
            self.gates.bias.zero_()
            self.gates.bias[hidden_channels : 2 * hidden_channels].fill_(1.0)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        h, c = state
        i, f, g, o = self.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


def pad_to_multiple(x: torch.Tensor, multiple: int = ENCODER_STRIDE) -> torch.Tensor:
    """Pad the last two dims of ``x`` (bottom/right, edge values) up to a multiple."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    flat = x.reshape(-1, *x.shape[-3:])
    flat = F.pad(flat, (0, pw, 0, ph), mode="replicate")
    return flat.reshape(*x.shape[:-2], h + ph, w + pw)


def padded_size(height: int, width: int, multiple: int = ENCODER_STRIDE) -> tuple[int, int]:
    return height + (-height) % multiple, width + (-width) % multiple


def _conv(cin: int, cout: int, k: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=dilation * (k // 2), dilation=dilation)
    nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
    nn.init.zeros_(conv.bias)
    return nn.Sequential(conv, nn.ReLU(inplace=True))
