"""The CLI's exit codes, and how an error becomes one line on stderr and an exit code.

0 success, 1 operation failed, 2 usage or configuration error, 3 cannot connect or
authenticate, 4 index not found, 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...domain.errors import AuthenticationError, BackendUnavailableError, ConfigurationError
from ..operations import ImportWriteError, IndexNotFoundError

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "exit_code",
    "one_line",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_NOT_FOUND = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130


def one_line(exc: BaseException, secrets: Sequence[str]) -> str:
    """``error: <message>`` on one line, each secret (4 characters or more) as ``***``."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return f"error: {text}"


def exit_code(exc: BaseException) -> int:
    """The exit code of a failed command (of an import that stopped: of its cause)."""
    if isinstance(exc, ImportWriteError) and exc.__cause__ is not None:
        return exit_code(exc.__cause__)
    if isinstance(exc, IndexNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, ConfigurationError):
        return EXIT_USAGE
    if isinstance(exc, (BackendUnavailableError, AuthenticationError)):
        return EXIT_UNAVAILABLE
    return EXIT_FAILED
