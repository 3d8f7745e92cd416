"""User-facing errors: one line, naming the file (or key) and the fix."""


class TfFaceError(Exception):
    """An error caused by user input (a file, an argument, a config key).

    The command line prints ``str(error)`` on one line and exits with
    :attr:`exit_code`; no traceback is shown for these.
    """

    exit_code: int = 2


class ModelFileError(TfFaceError):
    """A morphable-model file is missing, unreadable or has wrong contents."""

    exit_code = 3


def one_line(text: str) -> str:
    """``text`` with control characters (a file name's newline, say) escaped
    as Python writes them, so a message stays on one line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
