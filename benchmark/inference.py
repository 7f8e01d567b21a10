"""Run a baseline over whole sequences in chunks, carrying its state (causal streaming).

Used by validation during training and by ``predict``: memory stays bounded by the chunk,
and the LSTM's memory and the multi-frame window cross chunk borders, so the result
equals one pass over the whole sequence.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from pourbench.baselines import ModelOutput, SegmentationModel
from pourbench.benchmark.loader import read_frames, resize_frames
from pourbench.datasets.sequence import SequenceReader


def input_chunks(
    reader: SequenceReader,
    modality: str,
    size: tuple[int, int] | None,
    chunk_len: int,
) -> Iterator[tuple[slice, torch.Tensor]]:
    """(frame slice, normalised frames (t, C, H, W) at ``size`` or native) per chunk."""
    for start in range(0, reader.num_frames, chunk_len):
        frames = slice(start, min(start + chunk_len, reader.num_frames))
        x = read_frames(reader, frames, modality)
        yield frames, (resize_frames(x, size) if size is not None else x)


@torch.no_grad()
def stream_outputs(
    model: SegmentationModel,
    chunks: Iterator[tuple[slice, torch.Tensor]],
    device: torch.device,
    amp: bool = False,
) -> Iterator[tuple[slice, ModelOutput]]:
    """(frame slice, outputs without the batch axis, float32 on ``device``) per chunk:
    mask logits (t, K, H, W) and volumes (t, V) ml, each None where the model lacks it."""
    state, started = None, False
    for frames, x in chunks:
        x = x.to(device, non_blocking=True)[None]
        if not started:  # the multi-frame state is None until its first chunk
            state, started = model.init_state(1, x.shape[-2], x.shape[-1]), True
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            out, state = model.forward_chunk(x, state)
        yield frames, ModelOutput(*(None if o is None else o[0].float() for o in out))
