"""The one error type that the CLI turns into a single line and a non-zero exit."""


class PourbenchError(Exception):
    """A user-facing problem (bad input, corrupt file, wrong submission).

    The CLI prints ``str(error)`` on one line and exits with ``exit_code``; it never shows
    a traceback for these.
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
