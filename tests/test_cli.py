"""The CLI has exactly the design's verbs, each with its own help, reports its version and
fails cleanly on bad input."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pourbench import __version__
from pourbench.cli import VERBS as VERB_FUNCTIONS
from pourbench.cli import app

VERBS = ("validate", "generate", "simulate", "render", "preview", "train", "predict", "score",
         "leaderboard", "demo", "study", "bench")
ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pourbench.cli", *args], capture_output=True,
                          text=True)


def test_registered_verbs_are_exactly_the_designs():
    commands = typer.main.get_command(app).commands
    assert sorted(commands) == sorted(VERBS)


@pytest.mark.parametrize("verb", VERBS)
def test_each_verb_has_its_own_help(verb):
    result = CliRunner().invoke(app, [verb, "--help"], prog_name="pourbench")
    assert result.exit_code == 0, result.output
    usage = next(line.strip() for line in result.output.splitlines() if "Usage:" in line)
    assert re.match(rf"Usage: pourbench {verb} \[OPTIONS\]", usage), usage
    # the verb's own one-line summary (its docstring), not another verb's
    function = next(f for f in VERB_FUNCTIONS if f.__name__ == verb)
    summary = function.__doc__.strip().splitlines()[0]
    assert " ".join(summary.split()[:5]) in " ".join(result.output.split())


def test_root_help_lists_each_verb_as_a_command():
    proc = _run("--help")
    assert proc.returncode == 0
    listed = {m.group(1) for m in re.finditer(r"^\W*(\w+)\s{2,}\S", proc.stdout, re.M)}
    assert set(VERBS) <= listed, listed


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


LIBRARY = ("sim", "render", "datasets", "baselines", "benchmark", "pourbench/core")


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_nothing_below_the_cli_imports_it():
    files = [p for part in LIBRARY for p in (ROOT / part).rglob("*.py")]
    assert len(files) > 30  # the parts are there
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _imported_modules(p)
                                         if m.split(".")[:2] in (["pourbench", "cli"],
                                                                 ["pourbench", "demo"]))
        for p in files
    }
    assert not {k: v for k, v in offenders.items() if v}
