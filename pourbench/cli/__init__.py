"""The one command-line interface: ``pourbench VERB ...``.

The verbs live by area: :mod:`pourbench.cli.data` (generate, simulate, render, preview,
validate), :mod:`pourbench.cli.benchmark` (train, predict, score, leaderboard, bench) and
:mod:`pourbench.cli.demo` (demo, study); :mod:`pourbench.cli.train` is the ``torchrun`` entry for
multi-process training. Each verb is a thin shell over a library function of the part that
owns the work: it parses options, calls the function, prints the outcome and picks the exit
code. Nothing below the CLI imports it. User-facing problems (:class:`PourbenchError`) print
one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import errno
import logging
import sys

import typer

try:  # typer >= 0.20 vendors its click (typer._click); older ones use click itself
    from typer._click import exceptions as click
except ImportError:  # pragma: no cover
    from click import exceptions as click

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
    demo.study,
    benchmark.bench,
)
#: Verbs whose trailing options belong to the program they run (``bench sim --repeats 3``).
PASS_THROUGH = {"bench"}

for _verb in VERBS:
    settings = {"allow_extra_args": True, "ignore_unknown_options": True}
    app.command(context_settings=settings if _verb.__name__ in PASS_THROUGH else None)(_verb)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning user-facing errors into one line and an exit code.

    A :class:`PourbenchError` prints ``error: MESSAGE``; a usage error (an unknown option, a
    value out of range) ``error: pourbench VERB: PROBLEM (see pourbench VERB --help)``; a
    file-system error (disk full, read-only folder) ``error: PATH: REASON``. Each is one line
    on stderr and a non-zero exit, never a traceback. Always ends with ``SystemExit``.
    """
    try:
        code = app(args=argv, standalone_mode=False)
    except PourbenchError as e:  # one line per problem (the scorer may list several)
        _fail(str(e), e.exit_code, keep_lines=True)
    except click.NoArgsIsHelpError as e:
        help_text = e.ctx.get_help() if e.ctx else ""  # rich help prints itself
        if help_text:
            typer.echo(help_text)
        sys.exit(2)
    except click.UsageError as e:
        _fail(usage_line(e), e.exit_code)
    except click.ClickException as e:
        _fail(e.format_message(), e.exit_code)
    except typer.Abort:
        _fail("aborted", 1)
    except OSError as e:
        _fail(os_error_line(e), 1)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int, keep_lines: bool = False) -> None:
    if keep_lines:
        message = "\n".join(line.rstrip() for line in message.strip().splitlines() if line.strip())
    else:  # one line, whatever it holds
        message = " ".join(message.split())
    typer.echo(f"error: {message}", err=True)
    sys.exit(code)


def usage_line(error: click.UsageError) -> str:
    """A click usage error as one line naming the verb, e.g. ``pourbench render: Invalid value
    for '--width': 0 is not in the range x>=8 (see pourbench render --help)``."""
    where = error.ctx.command_path if error.ctx is not None else "pourbench"
    return f"{where}: {error.format_message().rstrip('.')} (see {where} --help)"


#: errno values that mean "the machine's storage", with what to do about them.
_STORAGE_HINTS = {
    errno.ENOSPC: "free some space and rerun the same command to resume",
    errno.EFBIG: "the file size limit was reached; rerun the same command to resume",
    errno.EDQUOT: "the disk quota is used up; rerun the same command to resume",
    errno.EROFS: "the file system is read-only; choose another output folder",
    errno.EACCES: "permission denied; choose another output folder",
}


def os_error_line(error: OSError) -> str:
    """A file-system error (disk full, file too large, permission denied) as one line."""
    name = error.filename if error.filename is not None else None
    reason = error.strerror or str(error) or type(error).__name__
    hint = _STORAGE_HINTS.get(error.errno) if error.errno is not None else None
    text = f"{name}: {reason}" if name else reason
    return f"{text} ({hint})" if hint else text


__all__ = ["app", "main"]
