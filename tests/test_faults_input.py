"""The bad-input battery: every verb, every kind of input a user gets wrong.

Each case builds one bad input (a recipe or scene file, a particle track, a sequence file, a
checkpoint, a submission or an option) and runs ``pourbench VERB ...`` in this process. Each
must give one short line on stderr naming the input and the problem, a non-zero exit, no
traceback, and leave nothing new on disk (no file under a final name, no debris). A few
cases run the real ``pourbench`` entry point in a subprocess, to prove the same of the
real process.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from conftest import K_TEST, sequence_attrs, synthetic_frames

from pourbench.cli import main
from pourbench.core.track import write_track

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "sim" / "scenes" / "pour_cup_bowl.toml"
TINY = ROOT / "datasets" / "tiny.toml"
MAX_LINE = 400  # "short": a path of pytest's tmp folder plus the problem


# --- the good inputs that the bad ones are made from (built once) -------------------------


@dataclass
class Goods:
    track: Path  # a particle track (pourbench simulate's output)
    seq: Path  # a sequence file
    data: Path  # a synthetic dataset folder: train/ val/ test/
    ckpt: Path  # a trained cnn checkpoint (best.pt)
    run: Path  # its run folder
    submission: Path  # predictions of the checkpoint for data/test


@pytest.fixture(scope="module")
def goods(tmp_path_factory) -> Goods:
    from pourbench.benchmark.predict import predict
    from pourbench.benchmark.synthetic import write_synthetic_dataset
    from pourbench.benchmark.train import train
    from pourbench.datasets.sequence import write_sequence
    from pourbench.render.synthetic import synthetic_pour

    root = tmp_path_factory.mktemp("goods")
    header, positions = synthetic_pour(num_frames=4, num_particles=300)
    track = root / "sim.h5"
    write_track(track, header, positions)
    seq = root / "seq_000000.h5"
    write_sequence(seq, synthetic_frames(), K_TEST, sequence_attrs())
    data = write_synthetic_dataset(root / "data", {"train": 2, "val": 1, "test": 1},
                                   num_frames=6, height=16, width=16)
    result = train(model="cnn", data=data, out=root / "run", epochs=1, clip_len=4,
                   batch_size=2, progress=False, width=0.25)
    submission = root / "predictions.h5"
    predict(result.best_checkpoint, data / "test", submission, progress=False)
    return Goods(track, seq, data, result.best_checkpoint, root / "run", submission)


# --- makers of bad files ------------------------------------------------------------------


def text(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def edited(src: Path, dst: Path, edit: Callable[[h5py.File], None]) -> Path:
    """A copy of HDF5 file ``src`` at ``dst``, changed by ``edit(h5)``."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as h:
        edit(h)
    return dst


def truncated(src: Path, dst: Path, keep: float = 0.5) -> Path:
    data = src.read_bytes()
    return text(dst, data[: int(len(data) * keep)])


def corrupted(src: Path, dst: Path, dataset: str = "positions", chunk: int = 1) -> Path:
    """``src`` with bytes of one stored chunk of ``dataset`` overwritten (a bad copy, a
    failing disk): the particles of one frame."""
    with h5py.File(src, "r") as h:
        info = h[dataset].id.get_chunk_info(chunk)
    data = bytearray(src.read_bytes())
    start = info.byte_offset + info.size // 3
    data[start: start + 16] = bytes(16)
    return text(dst, bytes(data))


def header_overwritten(src: Path, dst: Path) -> Path:
    """``src`` with its first 512 bytes (the HDF5 superblock) overwritten."""
    data = bytearray(src.read_bytes())
    data[:512] = b"\xff" * 512
    return text(dst, bytes(data))


def replace(name: str, data=None, dtype=None):
    """An edit that replaces dataset ``name`` by ``data`` (default: its values as ``dtype``)."""
    def edit(h):
        values = h[name][()] if data is None else data(h[name][()])
        del h[name]
        h.create_dataset(name, data=values if dtype is None else values.astype(dtype))
    return edit


def set_attr(key, value):
    def edit(h):
        h.attrs[key] = value
    return edit


def recipe(tmp: Path, old: str, new: str) -> Path:
    """The tiny recipe with ``old`` replaced by ``new``."""
    source = TINY.read_text()
    assert old in source, old
    return text(tmp / "recipe.toml", source.replace(old, new, 1))


def scene(tmp: Path, old: str, new: str) -> Path:
    source = SCENE.read_text()
    assert old in source, old
    return text(tmp / "scene.toml", source.replace(old, new, 1))


def dataset_with(tmp: Path, g: Goods, make_bad: Callable[[Path, Path], Path],
                 split: str = "train") -> Path:
    """A copy of the synthetic dataset whose first ``split`` sequence is replaced by
    ``make_bad(good_file, path)``."""
    data = Path(shutil.copytree(g.data, tmp / "data"))
    first = sorted((data / split).glob("seq_*.h5"))[0]
    good = tmp / "good.h5"
    shutil.move(first, good)
    make_bad(good, first)
    good.unlink()
    return data


def checkpoint(tmp: Path, g: Goods, change: Callable[[dict], object], name="best.pt") -> Path:
    ckpt = torch.load(g.ckpt, weights_only=True)
    path = tmp / name
    torch.save(change(ckpt), path)
    return path


def with_key(key, value):
    def change(ckpt):
        return {**ckpt, key: value}
    return change


def resume_run(tmp: Path, g: Goods, make_last: Callable[[Path], object]) -> Path:
    """A run folder whose last.pt is made by ``make_last(path)``."""
    run = tmp / "run"
    run.mkdir()
    make_last(run / "last.pt")
    return run


class Evil:  # a pickle that would run code on load
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def unwritable(tmp: Path) -> Path:
    """An existing folder in which nothing can be created (root ignores permission bits:
    /sys refuses new files even to root)."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


# --- the cases ----------------------------------------------------------------------------

# Each case: id -> make(tmp, goods) -> (argv, named, problem): the command line, a string
# the error line must contain to name the input, and one naming the problem.
Make = Callable[[Path, Goods], tuple[list, str, str]]
CASES: dict[str, tuple[str, Make]] = {}


def case(kind: str, name: str):
    def register(make: Make) -> Make:
        CASES[f"{kind}-{name}"] = (kind, make)
        return make
    return register


def _generate(path) -> Callable[[Path], list]:
    return lambda tmp: ["generate", path, "--out", tmp / "out", "--arch", "cpu", "--no-progress"]


def recipe_case(name: str, old: str, new: str, problem: str) -> None:
    @case("recipe", name)
    def make(tmp, g):
        r = recipe(tmp, old, new)
        return _generate(r)(tmp), str(r), problem


recipe_case("syntax-error", "seed = 0", "seed = = 0", "not valid TOML")
recipe_case("unknown-key", "seed = 0", "seed = 0\ncolour = 'blue'", "unknown key 'colour'")
recipe_case("unknown-nested-key", "scenarios = 2", "scenarioz = 2",
            "unknown key 'dataset.scenarioz'")
recipe_case("wrong-type", "scenarios = 2", "scenarios = 'two'", "dataset.scenarios")
recipe_case("out-of-range", "scenarios = 2", "scenarios = 0", "dataset.scenarios")
recipe_case("fill-out-of-range", "fill_levels = [0.6]", "fill_levels = [1.5]",
            "scenario.fill_levels")
recipe_case("unknown-shape", 'sources = ["cup"]', 'sources = ["teapot"]',
            "unknown container 'teapot'")
recipe_case("splits-not-one", "test = 0.5 }", "test = 0.9 }", "must be 1")
recipe_case("unknown-render-key", "width = 64", "width = 64\nfisheye = true", "render.fisheye")
recipe_case("unknown-sim-key", "[sim]", "[sim]\nwarp_speed = 9", "sim.warp_speed")


@case("recipe", "empty-file")
def _(tmp, g):
    r = text(tmp / "empty.toml", "")
    return _generate(r)(tmp), str(r), "empty recipe file"


@case("recipe", "binary-file")
def _(tmp, g):
    r = text(tmp / "binary.toml", b"\x89HDF\r\n\x1a\n\x00\xff\xfe" * 20)
    return _generate(r)(tmp), str(r), "not a text file"


@case("recipe", "missing-file")
def _(tmp, g):
    return _generate(tmp / "nope.toml")(tmp), str(tmp / "nope.toml"), "not found"


@case("recipe", "unknown-builtin")
def _(tmp, g):
    return _generate("tinyy")(tmp), "tinyy", "not a recipe file nor a built-in recipe"


@case("recipe", "folder")
def _(tmp, g):
    (tmp / "r.toml").mkdir()
    return _generate(tmp / "r.toml")(tmp), str(tmp / "r.toml"), "is a folder"


@case("recipe", "simulate-index-out-of-range")
def _(tmp, g):
    return (["simulate", TINY, "--index", "5", "--out", tmp / "s.h5"], "--index 5",
            "scenarios 0..1")


def _simulate(path) -> Callable[[Path], list]:
    return lambda tmp: ["simulate", path, "--out", tmp / "s.h5", "--arch", "cpu"]


def scene_case(name: str, old: str, new: str, problem: str) -> None:
    @case("scene", name)
    def make(tmp, g):
        s = scene(tmp, old, new)
        return _simulate(s)(tmp), str(s), problem


scene_case("syntax-error", "seed = 0", "seed = [0", "not valid TOML")
scene_case("unknown-key", "seed = 0", "seed = 0\ncolour = 'red'", "unknown key 'colour'")
scene_case("unknown-nested-key", "temperature_c = 60.0", "temprature_c = 60.0",
           "unknown key 'liquid.temprature_c'")
scene_case("wrong-type", "fill_fraction = 0.6", "fill_fraction = 'half'", "fill_fraction")
scene_case("out-of-range", "fill_fraction = 0.6", "fill_fraction = 2.0", "fill_fraction")
scene_case("unknown-shape", 'shape = "bowl"', 'shape = "teapot"', "target")


@case("scene", "empty-file")
def _(tmp, g):
    s = text(tmp / "scene.toml", "\n")
    return _simulate(s)(tmp), str(s), "empty scene or recipe file"


@case("scene", "binary-file")
def _(tmp, g):
    s = text(tmp / "scene.toml", bytes(range(256)))
    return _simulate(s)(tmp), str(s), "not a text file"


@case("scene", "missing-file")
def _(tmp, g):
    return _simulate(tmp / "nope.toml")(tmp), str(tmp / "nope.toml"), "no such"


def _render(path) -> Callable[[Path], list]:
    return lambda tmp: ["render", path, "--out", tmp / "out"]


def track_case(name: str, make_bad: Callable[[Path, Path], Path], problem: str) -> None:
    @case("track", name)
    def make(tmp, g):
        t = make_bad(g.track, tmp / "sim.h5")
        return _render(t)(tmp), str(t), problem


track_case("truncated", truncated, "truncated HDF5 file")
track_case("truncated-early", lambda s, d: truncated(s, d, 0.05), "truncated HDF5")
track_case("corrupt-positions-chunk", corrupted, "corrupt")
track_case("corrupt-header", header_overwritten, "not a readable HDF5")
track_case("not-hdf5", lambda s, d: text(d, "positions,x,y,z\n1,2,3,4\n"), "not a readable HDF5")
track_case("empty-file", lambda s, d: text(d, b""), "empty file")
track_case("incomplete", lambda s, d: edited(s, d, set_attr("complete", False)),
           "incomplete")
track_case("newer-version", lambda s, d: edited(s, d, set_attr("track_version", 99)),
           "track_version 99 is newer")
track_case("positions-wrong-dtype",
           lambda s, d: edited(s, d, replace("positions", dtype=np.int32)), "positions: dtype")
track_case("positions-wrong-shape",
           lambda s, d: edited(s, d, replace("positions", data=lambda a: a[..., :2])),
           "positions: shape")
track_case("positions-nan",
           lambda s, d: edited(s, d, replace("positions", data=lambda a: np.where(
               np.arange(a.shape[1])[None, :, None] == 7, np.nan, a))), "NaN")
track_case("volume-wrong-shape",
           lambda s, d: edited(s, d, replace("volume", data=lambda a: a[:1])), "volume: shape")
track_case("no-containers",
           lambda s, d: edited(s, d, lambda h: [h["containers"].pop(k)
                                                for k in list(h["containers"])]),
           "no container meshes")


@case("track", "a-sequence-file")
def _(tmp, g):
    return _render(g.seq)(tmp), str(g.seq), "is a sequence file, not a particle track"


@case("track", "folder")
def _(tmp, g):
    (tmp / "sims").mkdir()
    return _render(tmp / "sims")(tmp), str(tmp / "sims"), "is a folder"


def seq_case(name: str, verb: str, make_bad: Callable[[Path, Path], Path], problem: str):
    @case("sequence", f"{verb}-{name}")
    def make(tmp, g):
        s = make_bad(g.seq, tmp / "seq_000009.h5")
        if verb == "preview":
            return ["preview", s, "--out", tmp / "p.png"], str(s), problem
        return ["validate", s], str(s), problem


for _verb in ("preview", "validate"):
    seq_case("truncated", _verb, truncated,
             "cannot open as HDF5" if _verb == "preview" else "not a readable HDF5")
    seq_case("not-hdf5", _verb, lambda s, d: text(d, "rgb\n"),
             "cannot open as HDF5" if _verb == "preview" else "not a readable HDF5")
    seq_case("incomplete", _verb, lambda s, d: edited(s, d, set_attr("complete", False)),
             "incomplete" if _verb == "preview" else "'complete' is not set")
    seq_case("newer-schema", _verb, lambda s, d: edited(s, d, set_attr("schema_version", 2)),
             "schema_version 2")
    seq_case("rgb-wrong-dtype", _verb,
             lambda s, d: edited(s, d, replace("rgb", dtype=np.float32)), "rgb: dtype float32")
    seq_case("mask-wrong-shape", _verb,
             lambda s, d: edited(s, d, replace("mask/full", data=lambda a: a[:, :-1])),
             "mask/full: shape")
    seq_case("a-track-file", _verb, lambda s, d: shutil.copy(_track_of(s), d) and d,
             "is a particle track, not a sequence file")
seq_case("depth-nan", "validate",
         lambda s, d: edited(s, d, replace("depth", data=lambda a: np.where(
             np.indices(a.shape)[1] == 2, np.float16(np.nan), a))), "NaN")
seq_case("volume-nan", "validate",
         lambda s, d: edited(s, d, replace("volume", data=lambda a: np.where(
             np.indices(a.shape)[0] == 1, np.nan, a))), "NaN")


def _track_of(seq: Path) -> Path:
    return seq.parent / "sim.h5"  # the goods folder holds both


@case("sequence", "predict-data-truncated")
def _(tmp, g):
    data = dataset_with(tmp, g, truncated, split="test")
    bad = sorted((data / "test").glob("seq_*.h5"))[0]
    return (["predict", "--checkpoint", g.ckpt, "--data", data / "test", "--out", tmp / "p.h5"],
            str(bad), "cannot open as HDF5")


@case("sequence", "predict-data-newer-schema")
def _(tmp, g):
    data = dataset_with(tmp, g, lambda s, d: edited(s, d, set_attr("schema_version", 7)),
                        split="test")
    return (["predict", "--checkpoint", g.ckpt, "--data", data / "test", "--out", tmp / "p.h5"],
            "seq_", "schema_version 7 is newer")


@case("sequence", "train-data-corrupt")
def _(tmp, g):
    data = dataset_with(tmp, g, truncated)
    return (["train", "--model", "cnn", "--data", data, "--out", tmp / "run", "--epochs", "1"],
            "seq_", "cannot open as HDF5")


@case("sequence", "train-data-wrong-dtype")
def _(tmp, g):
    data = dataset_with(tmp, g, lambda s, d: edited(s, d, replace("thermal", dtype=np.float32)))
    return (["train", "--model", "cnn", "--data", data, "--out", tmp / "run", "--epochs", "1"],
            "seq_", "thermal: dtype float32")


@case("sequence", "score-gt-incomplete")
def _(tmp, g):
    data = dataset_with(tmp, g, lambda s, d: edited(s, d, set_attr("complete", False)),
                        split="test")
    return ["score", g.submission, "--gt", data / "test"], "seq_", "incomplete"


def _predict(ckpt) -> Callable[[Path, Goods], list]:
    return lambda tmp, g: ["predict", "--checkpoint", ckpt, "--data", g.data / "test",
                           "--out", tmp / "p.h5"]


#: Random bytes that once reached torch's legacy pickle reader (IndexError), fixed so that a
#: run is reproducible; test_checkpoint_garbage_of_any_seed covers others.
GARBAGE = random.Random(2).randbytes(4096)


def ckpt_case(name: str, make_bad: Callable[[Path, Goods], Path], problem: str) -> None:
    @case("checkpoint", f"predict-{name}")
    def make(tmp, g):
        c = make_bad(tmp, g)
        return _predict(c)(tmp, g), str(c), problem


ckpt_case("garbage-bytes", lambda t, g: text(t / "best.pt", GARBAGE),
          "not a loadable pourbench checkpoint")
ckpt_case("empty-file", lambda t, g: text(t / "best.pt", b""),
          "not a loadable pourbench checkpoint")
ckpt_case("truncated", lambda t, g: truncated(g.ckpt, t / "best.pt"),
          "not a loadable pourbench checkpoint")
ckpt_case("another-models", lambda t, g: _save(torch.nn.Linear(3, 2).state_dict(),
                                               t / "best.pt"), "not a pourbench checkpoint")
ckpt_case("newer-format", lambda t, g: checkpoint(t, g, with_key("format_version", 9)),
          "format version 9")
ckpt_case("unsafe-pickle", lambda t, g: _save({"format": Evil()}, t / "best.pt"),
          "not a loadable pourbench checkpoint")
ckpt_case("weights-do-not-fit", lambda t, g: checkpoint(
    t, g, lambda c: {**c, "model_config": {**c["model_config"], "width": 1.0}}),
    "weights do not fit")
ckpt_case("missing", lambda t, g: t / "best.pt", "no such checkpoint")
ckpt_case("folder", lambda t, g: (t / "best.pt").mkdir() or t / "best.pt", "no such checkpoint")


def _save(obj, path: Path) -> Path:
    torch.save(obj, path)
    return path


def resume_case(name: str, make_last: Callable[[Path, Goods, Path], object], problem: str):
    @case("checkpoint", f"resume-{name}")
    def make(tmp, g):
        run = resume_run(tmp, g, lambda p: make_last(tmp, g, p))
        return (["train", "--model", "cnn", "--data", g.data, "--out", run, "--epochs", "2",
                 "--width", "0.25", "--clip-len", "4", "--batch-size", "2", "--resume"],
                str(run / "last.pt"), problem)


resume_case("garbage-bytes", lambda t, g, p: p.write_bytes(b"\x00garbage" * 100),
            "not a loadable pourbench checkpoint")
resume_case("another-models", lambda t, g, p: torch.save({"state_dict": {}}, p),
            "not a pourbench checkpoint")
resume_case("newer-format", lambda t, g, p: shutil.move(
    checkpoint(t, g, with_key("format_version", 3), name="x.pt"), p), "format version 3")
resume_case("other-model", lambda t, g, p: shutil.move(
    checkpoint(t, g, lambda c: {**c, "args": {**c["args"], "model": "lstm"}}, name="x.pt"), p),
    "cannot resume, model was 'lstm'")


def _score(sub) -> Callable[[Path, Goods], list]:
    return lambda tmp, g: ["score", sub, "--gt", g.data / "test"]


@case("submission", "empty-file")
def _(tmp, g):
    s = text(tmp / "p.h5", b"")
    return _score(s)(tmp, g), str(s), "not"


@case("submission", "a-folder")
def _(tmp, g):
    (tmp / "p.h5").mkdir()
    return _score(tmp / "p.h5")(tmp, g), str(tmp / "p.h5"), "not"


@case("submission", "a-sequence-file")
def _(tmp, g):
    return _score(g.seq)(tmp, g), str(g.seq), "is a sequence file (ground truth), not a predictions"


@case("submission", "a-checkpoint")
def _(tmp, g):
    return _score(g.ckpt)(tmp, g), str(g.ckpt), "HDF5"


@case("submission", "nan-values")
def _(tmp, g):
    s = edited(g.submission, tmp / "p.h5", replace(
        "seq_000003", data=lambda a: np.where(np.indices(a.shape)[0] == 0, np.nan, a)))
    return _score(s)(tmp, g), "seq_000003", "NaN"


# --- options ------------------------------------------------------------------------------

def option_case(name: str, argv: Callable[[Path, Goods], list], named, problem: str):
    """``named``: a string, or ``named(tmp, goods)`` for one that depends on the paths."""
    @case("option", name)
    def make(tmp, g):
        return argv(tmp, g), named(tmp, g) if callable(named) else named, problem


def _train(tmp, g, *extra):
    return ["train", "--model", "cnn", "--data", g.data, "--out", tmp / "run", *extra]


option_case("generate-workers-0", lambda t, g: _generate("tiny")(t) + ["--workers", "0"],
            "--workers", "greater than or equal to 1")
option_case("generate-shard-out-of-range", lambda t, g: _generate("tiny")(t) + ["--shard", "3/2"],
            "--shard '3/2'", "need 0 <= i < N")
option_case("generate-shard-garbage", lambda t, g: _generate("tiny")(t) + ["--shard", "half"],
            "--shard 'half'", "expected i/N")
option_case("generate-executor", lambda t, g: _generate("tiny")(t) + ["--executor", "slurm"],
            "--executor 'slurm'", "allowed: local, ray")
option_case("generate-arch", lambda t, g: _generate("tiny")(t)[:-3] + ["--arch", "tpu"],
            "arch", "tpu")
option_case("generate-out-below-a-file",
            lambda t, g: ["generate", "tiny", "--out", text(t / "f", "x") / "data"],
            "data", "cannot create the dataset folder")
option_case("generate-out-unwritable",
            lambda t, g: ["generate", "tiny", "--out", unwritable(t) / "pourbench-data"],
            "pourbench-data", "cannot create the dataset folder")
option_case("render-width-0", lambda t, g: _render(g.track)(t) + ["--width", "0"],
            "--width", "greater than or equal to 8")
option_case("render-variants-0", lambda t, g: _render(g.track)(t) + ["--variants", "0"],
            "--variants", "greater than or equal to 1")
option_case("render-out-existing-file",
            lambda t, g: ["render", g.track, "--out", text(t / "out", "x")],
            "out", "exists and is not a folder")
option_case("render-out-unwritable",
            lambda t, g: ["render", g.track, "--out", unwritable(t)],
            "seq_000000.h5", "cannot write in")
option_case("simulate-out-folder", lambda t, g: ["simulate", SCENE, "--out", t],
            lambda t, g: str(t), "is a folder")
option_case("simulate-radius", lambda t, g: _simulate(SCENE)(t) + ["--radius", "0"],
            "--radius 0", "particle_radius")
option_case("train-epochs-0", lambda t, g: _train(t, g, "--epochs", "0"), "--epochs",
            "greater than or equal to 1")
option_case("train-lr-negative", lambda t, g: _train(t, g, "--lr", "-1"), "--lr",
            "greater than or equal to 0")
option_case("train-size-garbage", lambda t, g: _train(t, g, "--size", "big"), "--size",
            "WIDTHxHEIGHT")
option_case("train-size-zero", lambda t, g: _train(t, g, "--size", "0x10"), "--size",
            "must be positive")
option_case("train-modality", lambda t, g: _train(t, g, "--modality", "sonar"), "sonar",
            "unknown modality")
option_case("train-model", lambda t, g: ["train", "--model", "rnn", "--data", g.data, "--out",
                                         t / "run"], "rnn", "unknown model")
option_case("train-task", lambda t, g: _train(t, g, "--task", "sorting"), "sorting", "task")
option_case("train-device", lambda t, g: _train(t, g, "--device", "tpu"), "tpu", "bad device")
option_case("train-pos-weight", lambda t, g: _train(t, g, "--pos-weight", "-2"), "pos_weight",
            "must be > 0")
option_case("train-out-existing-run", lambda t, g: ["train", "--model", "cnn", "--data", g.data,
                                                    "--out", g.run], lambda t, g: str(g.run),
            "already holds a run")
option_case("train-data-missing", lambda t, g: ["train", "--model", "cnn", "--data", t / "none",
                                                "--out", t / "run"], "none", "no such data")
option_case("predict-out-folder", lambda t, g: _predict(g.ckpt)(t, g)[:-1] + [t],
            lambda t, g: str(t), "is a folder")
option_case("predict-out-unwritable",
            lambda t, g: _predict(g.ckpt)(t, g)[:-1] + [unwritable(t) / "p.h5"],
            "p.h5", "cannot write in")
option_case("predict-device", lambda t, g: _predict(g.ckpt)(t, g) + ["--device", "gpu0"],
            "gpu0", "bad device")
option_case("predict-data-empty", lambda t, g: ["predict", "--checkpoint", g.ckpt, "--data",
                                                (t / "empty").mkdir() or t / "empty",
                                                "--out", t / "p.h5"],
            "empty", "no sequence files")
option_case("score-task", lambda t, g: _score(g.submission)(t, g) + ["--task", "counting"],
            "--task", "counting")
option_case("score-out-existing-file",
            lambda t, g: _score(g.submission)(t, g) + ["--out", text(t / "results", "x")],
            "results", "not a folder")
option_case("leaderboard-aggregation",
            lambda t, g: ["leaderboard", text(t / "r.json", "{}"), "--out", t / "lb",
                          "--aggregation", "median"], "median", "aggregation")
option_case("leaderboard-garbage-results",
            lambda t, g: ["leaderboard", text(t / "r.json", "{not json"), "--out", t / "lb"],
            "r.json", "cannot read results")
option_case("leaderboard-missing-results",
            lambda t, g: ["leaderboard", t / "r.json", "--out", t / "lb"], "r.json",
            "No such file")
option_case("preview-out-suffix",
            lambda t, g: ["preview", g.seq, "--out", t / "p.jpg"], "p.jpg", ".png, .gif or .mp4")
option_case("preview-out-unwritable",
            lambda t, g: ["preview", g.seq, "--out", unwritable(t) / "p.png"], "p.png",
            "cannot write in")
option_case("bench-unknown", lambda t, g: ["bench", "gpu"], "'gpu'", "unknown benchmark")
option_case("demo-epochs-0", lambda t, g: ["demo", "--out", t / "demo", "--epochs", "0"],
            "--epochs", "greater than or equal to 1")
option_case("demo-recipe", lambda t, g: ["demo", "--out", t / "demo", "--recipe", "huge"],
            "huge", "not a recipe file")
option_case("study-modality",
            lambda t, g: ["study", "--out", t / "st", "--modalities", "rgb,infrared"],
            "infrared", "--modalities")
option_case("study-windows", lambda t, g: ["study", "--out", t / "st", "--windows", "2,x"],
            "--windows", "integers")
option_case("study-data-missing", lambda t, g: ["study", "--out", t / "st", "--data", t / "no"],
            "no", "no such dataset folder")
option_case("study-recipe", lambda t, g: ["study", "--out", t / "st", "--recipe", "huge"],
            "huge", "not a recipe file")
option_case("validate-missing", lambda t, g: ["validate", t / "gone.h5"], "gone.h5",
            "no such file")
option_case("unknown-option", lambda t, g: ["render", g.track, "--out", t, "--fps", "3"],
            "--fps", "No such option")


# --- running them -------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, tuple[int, int] | None]:
    """Every path under ``folder``: (size, mtime) for files, None for folders."""
    out = {}
    for p in folder.rglob("*"):
        out[str(p.relative_to(folder))] = (p.stat().st_size, p.stat().st_mtime_ns) \
            if p.is_file() else None
    return out


def run_cli(capsys, argv: list) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    captured = capsys.readouterr()
    code = e.value.code
    return (0 if code is None else code), captured.out, captured.err


def test_the_battery_is_big_and_covers_every_kind():
    kinds = {kind for kind, _ in CASES.values()}
    assert kinds == {"recipe", "scene", "track", "sequence", "checkpoint", "submission",
                     "option"}
    assert len(CASES) >= 50


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_naming_it(name, goods, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything written to the working folder is seen too
    before_goods = snapshot(goods.track.parent)
    kind, make = CASES[name]
    argv, named, problem = make(tmp_path, goods)
    before = snapshot(tmp_path)
    code, out, err = run_cli(capsys, argv)
    assert code != 0, f"exit 0 for {argv}: {out}{err}"
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    if argv[0] == "validate" and out:  # the report on stdout, the verdict one line on stderr
        found = [line for line in out.splitlines() if line.startswith(str(argv[1]))]
        assert found and all(len(line) <= MAX_LINE for line in found), out
        assert any(problem in line for line in found), out
        assert len(lines) == 1 and lines[0].startswith("error: "), err
    else:
        assert len(lines) == 1, err
        (line,) = lines
        assert line.startswith("error: ") and len(line) <= MAX_LINE, line
        assert named in line, f"{named!r} not named in {line!r}"
        assert problem in line, f"{problem!r} not in {line!r}"
    assert snapshot(tmp_path) == before, "the failed command left files behind"
    assert snapshot(goods.track.parent) == before_goods
    assert not (tmp_path / "pwned").exists()


# --- the real process: the same, from the installed entry point ---------------------------

PROCESS_CASES = ("track-truncated", "recipe-unknown-key", "checkpoint-predict-garbage-bytes",
                 "option-render-width-0", "sequence-preview-a-track-file")


def pourbench_entry() -> list[str]:
    exe = Path(sys.executable).with_name("pourbench")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pourbench.cli"]


@pytest.mark.parametrize("name", PROCESS_CASES)
def test_the_real_process_prints_one_line_and_no_traceback(name, goods, tmp_path):
    _, make = CASES[name]
    argv, named, problem = make(tmp_path, goods)
    before = snapshot(tmp_path)
    proc = subprocess.run([*pourbench_entry(), *map(str, argv)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert named in lines[0] and problem in lines[0], lines[0]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("seed", range(40))
def test_checkpoint_garbage_of_any_seed_is_a_clear_error(tmp_path, seed):
    from pourbench.benchmark.checkpoint import load_checkpoint
    from pourbench.core.errors import PourbenchError

    path = tmp_path / "best.pt"
    path.write_bytes(random.Random(seed).randbytes(4096))
    with pytest.raises(PourbenchError, match="not a loadable pourbench checkpoint"):
        load_checkpoint(path)
