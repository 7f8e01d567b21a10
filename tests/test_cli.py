"""The CLI lists the design's verbs, reports its version and fails cleanly on bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pourbench import __version__

VERBS = ("generate", "simulate", "render", "validate", "preview", "train", "predict", "score",
         "demo", "bench", "leaderboard")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pourbench.cli", *args], capture_output=True,
                          text=True)


def test_help_lists_every_verb():
    proc = _run("--help")
    assert proc.returncode == 0
    for verb in VERBS:
        assert verb in proc.stdout


def test_version():
    proc = _run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"pourbench {__version__}"


@pytest.mark.parametrize(
    "args, message",
    [
        (("frobnicate",), "No such command"),
        (("validate", "/no/such/file.h5"), "no such file or folder"),
        (("bench", "gpu"), "unknown benchmark 'gpu'"),
        (("generate", "no_such_recipe", "--out", "/tmp/x"), "not a recipe file"),
        (("preview", "/no/such.h5", "--out", "/tmp/p.png"), "no such file"),
    ],
)
def test_bad_input_is_one_clear_line_without_traceback(args, message):
    proc = _run(*args)
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
