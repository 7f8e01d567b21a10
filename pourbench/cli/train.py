"""Stand-alone training entry point, for ``torchrun`` (several GPUs or CPU processes).

    torchrun --nproc_per_node 2 -m pourbench.cli.train \\
        --model cnn --data DIR --out RUN [--epochs N] [--size 160x120] ...

Same arguments as ``pourbench train``; see :func:`pourbench.benchmark.train.train`.
Only rank 0 logs at INFO level and prints the result line.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pourbench.cli.benchmark import TRAIN_TASK_HELP, check_train_task, run_train, train_summary
from pourbench.core.errors import PourbenchError


def _task(text: str) -> str:
    try:
        return check_train_task(text)
    except PourbenchError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pourbench.cli.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="cnn, multiframe or lstm")
    p.add_argument("--data", required=True, help="dataset folder with train/ (and val/)")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--modality", default="rgb", help="rgb, thermal or rgb+thermal")
    p.add_argument("--task", default="detection", type=_task, help=TRAIN_TASK_HELP)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=4, help="clips per step, per process")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip-len", type=int, default=8)
    p.add_argument("--size", default=None, help="train at WIDTHxHEIGHT, e.g. 160x120")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from RUN/last.pt")
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--pos-weight", default=None, help="a number or 'auto'")
    p.add_argument("--device", default="auto")
    p.add_argument("--width", type=float, default=1.0, help="model channel multiplier")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING,
        format=f"[rank {rank}] %(levelname)s %(name)s: %(message)s",
    )
    try:
        result = run_train(
            model=args.model,
            data=args.data,
            out=args.out,
            modality=args.modality,
            task=args.task,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            clip_len=args.clip_len,
            size=args.size,
            seed=args.seed,
            resume=args.resume,
            num_workers=args.num_workers,
            pos_weight=args.pos_weight,
            device=args.device,
            progress=not args.no_progress,
            width=args.width,
        )
    except PourbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    if rank == 0:
        print(train_summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
