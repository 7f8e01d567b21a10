"""The one command-line interface: ``pourbench VERB ...``.

The verbs live by area: :mod:`pourbench.cli.data` (generate, simulate, render, preview,
validate), :mod:`pourbench.cli.benchmark` (train, predict, score, leaderboard, bench) and
:mod:`pourbench.cli.demo` (demo); :mod:`pourbench.cli.train` is the ``torchrun`` entry for
multi-process training. Each verb is a thin shell over a library function of the part that
owns the work: it parses options, calls the function, prints the outcome and picks the exit
code. Nothing below the CLI imports it. User-facing problems (:class:`PourbenchError`) print
one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import logging
import sys

import typer

from pourbench import __version__
from pourbench.cli import benchmark, data, demo
from pourbench.core.errors import PourbenchError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="pourbench: simulated pouring datasets and a benchmark for seeing liquid.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pourbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
) -> None:
    # pourbench's own messages from INFO up; other libraries' (OpenGL, trimesh...) only
    # when they warn, unless --verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("pourbench").setLevel(logging.DEBUG if verbose else logging.INFO)


#: The verbs in the order ``pourbench --help`` lists them.
VERBS = (
    data.validate,
    data.generate,
    data.simulate,
    data.render,
    data.preview,
    benchmark.train,
    benchmark.predict,
    benchmark.score,
    benchmark.leaderboard,
    demo.demo,
    benchmark.bench,
)
for _verb in VERBS:
    app.command()(_verb)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning user-facing errors into one line and an exit code."""
    try:
        app(args=argv)
    except PourbenchError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)


__all__ = ["app", "main"]
