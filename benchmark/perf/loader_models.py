"""Throughput of the data loader and of the baselines on this machine.

    python -m pourbench.benchmark.perf.loader_models [--quick] [--json out.json]

Loader: frames/s of ``SequenceDataset`` through a ``DataLoader`` with 0, 1 and 2 workers
at 160x120 and 320x240 (synthetic files written to a temporary folder; worker start-up
included, as in one training epoch). Models: frames/s of forward (eval, no grad) and of
forward+backward (train) for each baseline at 160x120, batch 4 clips of 8 frames.
Each figure is the best of several runs (the machine may be shared). Compare the two
to see what limits CPU training.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from pourbench.baselines import MODELS, build_model
from pourbench.benchmark.loader import SequenceDataset
from pourbench.benchmark.synthetic import write_synthetic_dataset


def loader_fps(
    root: Path, workers: int, clip_len: int = 8, batch_size: int = 4, reps: int = 2
) -> float:
    ds = SequenceDataset(root, "train", clip_len=clip_len, tasks=("detection", "tracking"))
    loader = DataLoader(ds, batch_size=batch_size, num_workers=workers, shuffle=False)
    ds[len(ds) - 1]  # warm-up: first-use costs (imports, page cache) are not the loader's
    best = float("inf")
    for _ in range(reps):  # best of N passes (one pass = one epoch, worker start included)
        start = time.perf_counter()
        frames = sum(batch["frames"].shape[0] * batch["frames"].shape[1] for batch in loader)
        best = min(best, time.perf_counter() - start)
    return frames / best


def model_fps(name: str, size: tuple[int, int], train: bool, batch=4, clip=8, reps=3) -> float:
    torch.manual_seed(0)
    model = build_model(name).train(train)
    x = torch.randn(batch, clip, 3, *size)
    y = (torch.rand(batch, clip, 1, *size) > 0.8).float()
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def once() -> None:
        if train:
            model.zero_grad()
            loss_fn(model(x).masks, y).backward()
        else:
            with torch.no_grad():
                model(x)

    once()  # warm-up
    best = float("inf")
    for _ in range(reps):  # best of N: the machine is shared, the fastest run is the model's
        start = time.perf_counter()
        once()
        best = min(best, time.perf_counter() - start)
    return batch * clip / best


def run(quick: bool = False) -> dict:
    results: dict = {"torch_threads": torch.get_num_threads(), "loader": {}, "models": {}}
    sizes = {"160x120": (120, 160), "320x240": (240, 320)}
    with tempfile.TemporaryDirectory() as tmp:
        for label, (h, w) in sizes.items():
            root = write_synthetic_dataset(
                Path(tmp) / label, {"train": 2 if quick else 8}, num_frames=32, height=h, width=w
            )
            results["loader"][label] = {
                f"workers={n}": round(loader_fps(root, n, reps=1 if quick else 2), 1)
                for n in (0, 1, 2)
            }
    for name in sorted(MODELS):
        results["models"][name] = {
            "forward_160x120": round(model_fps(name, (120, 160), False, reps=1 if quick else 5), 1),
            "train_160x120": round(model_fps(name, (120, 160), True, reps=1 if quick else 5), 1),
        }
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="less data, one repetition")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = run(args.quick)
    print(f"torch threads: {results['torch_threads']}")
    print("loader frames/s (clips of 8, batch 4, rgb + 2 masks):")
    for size, row in results["loader"].items():
        print(f"  {size}: " + ", ".join(f"{k} {v}" for k, v in row.items()))
    print("model frames/s at 160x120 (batch 4 x 8 frames):")
    for name, row in results["models"].items():
        print(
            f"  {name:10s} forward {row['forward_160x120']:8.1f}  "
            f"forward+backward {row['train_160x120']:8.1f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
