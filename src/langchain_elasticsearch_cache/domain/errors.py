"""Errors the cache raises. Each names the problem and, where there is one, the fix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class CacheError(Exception):
    """Base class of every error this library raises on purpose."""


class ConfigurationError(CacheError, ValueError):
    """The cache was configured in a way that cannot work (bad option, bad index name...)."""


class InvalidIndexNameError(ConfigurationError):
    """An index or alias name breaks one of Elasticsearch's naming rules."""


class BackendUnavailableError(CacheError):
    """The storage backend could not be reached, timed out or answered with a server error.

    This is the only error the fail-open mode swallows: it says nothing about the
    configuration being wrong, only that the backend is not answering right now.
    """


class BackendError(CacheError):
    """The backend answered, but refused the request (authentication, mapping, bad request)."""


class EntryRefusedError(BackendError):
    """The backend answered, but refused to store these entries as they are.

    A request larger than the cluster accepts (HTTP 413, ``http.max_content_length``), or
    a document the index mapping cannot take (a metadata value of another type than the
    one already mapped, too many or too deeply nested fields). Retrying the same entry
    cannot help, and nothing is wrong with the other entries or with the cache's
    configuration, so the fail-open mode skips the write (logged, rate-limited, and
    counted as ``refused``): the caller keeps the answer the model already gave.
    ``keys`` are the refused entries' keys.
    """

    def __init__(self, message: str, keys: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.keys = tuple(keys)


class AuthenticationError(BackendError):
    """The backend refused the credentials (HTTP 401) or the permissions (HTTP 403), or
    could not itself be authenticated (:class:`TlsVerificationError`)."""


class PermissionDeniedError(AuthenticationError):
    """The credentials are valid but lack a privilege (HTTP 403).

    ``privileges`` are the privileges that would grant the refused action, least first
    (as the backend names them, e.g. ``("maintenance", "manage", "all")``); empty when
    the backend did not say. ``during_setup`` is true when the cache was checking or
    creating its index (before anything was read or written): a configuration found
    wrong at start, which the fail-open mode never swallows. Refused later (privileges
    revoked, or a read-only deployment's writes), ``fail_open=True`` skips the call.
    """

    def __init__(
        self, message: str, privileges: Sequence[str] = (), *, during_setup: bool = False
    ) -> None:
        super().__init__(message)
        self.privileges = tuple(privileges)
        self.during_setup = during_setup


class TlsVerificationError(AuthenticationError):
    """The TLS handshake failed: the server's certificate is not signed by a trusted CA or
    does not name the host, or one side does not speak TLS. Retrying cannot help (so the
    fail-open mode does not swallow it): ``ca_certs`` or the URL must change."""


class BulkOperationError(BackendError):
    """Some items of a bulk write or delete failed; ``failures`` maps each key to its reason."""

    def __init__(self, operation: str, failures: Mapping[str, str]) -> None:
        self.operation = operation
        self.failures = dict(failures)
        shown = ", ".join(f"{key}: {reason}" for key, reason in list(self.failures.items())[:5])
        more = len(self.failures) - 5
        suffix = f" (and {more} more)" if more > 0 else ""
        super().__init__(
            f"bulk {operation} failed for {len(self.failures)} key(s): {shown}{suffix}"
        )


class KeysNotStoredError(CacheError):
    """Keys cannot be listed because the store was configured not to keep them."""


class UncacheableAnswerError(CacheError):
    """An answer holds a value that cannot be stored so that it reads back (a ``datetime``,
    ``bytes``, a pydantic object... which LangChain's ``dumps`` cannot serialise), so
    caching it would only write an entry every lookup then misses.

    ``field`` names where, e.g. ``generations[0].message.response_metadata.created``;
    ``problem`` says what is there. The caches skip such a write instead of raising.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(
            f"{field} holds {problem}: LangChain's serialisation cannot store it so that it "
            f"reads back, so the answer cannot be cached; to cache such answers, turn the "
            f"value into JSON (str, number, bool, None, list, dict) before it reaches the "
            f"generation, or drop it"
        )
