"""Translate Elasticsearch client failures into the domain's errors.

The rule the fail-open mode relies on: *not answering right now* (connection refused,
timeout, 429 after the client's retries, HTTP 5xx) becomes
:class:`~langchain_elasticsearch_cache.domain.errors.BackendUnavailableError`; an answer
that refuses the request (authentication, privileges, mapping, bad request) becomes
:class:`~langchain_elasticsearch_cache.domain.errors.BackendError`; a 403 becomes a
:class:`~langchain_elasticsearch_cache.domain.errors.PermissionDeniedError` naming the
privilege to grant (:func:`permission_denied`).

Messages name the problem, the hosts (``scheme://host:port`` only) and the fix. They are
built from status codes, error types and server reasons, never from URLs or headers as
given, so no credential can leak into them.
"""

from __future__ import annotations

import re
import ssl
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import attrs
import elasticsearch
from elastic_transport import (
    ConnectionError as TransportConnectionError,
)
from elastic_transport import (
    ConnectionTimeout,
    SerializationError,
    TlsError,
    TransportError,
)
from elasticsearch import ApiError, UnsupportedProductError

from ...domain.errors import (
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    BulkOperationError,
    CacheError,
    ConfigurationError,
    EntryRefusedError,
    PermissionDeniedError,
    TlsVerificationError,
)

__all__ = [
    "CLIENT_ERRORS",
    "BulkBackendUnavailableError",
    "BulkEntriesRefusedError",
    "denied_reason",
    "describe_hosts",
    "error_type_and_reason",
    "existence_check_reason",
    "is_unavailable_status",
    "refused_entry_error",
    "refused_entry_reason",
    "mark_built_from_settings",
    "permission_denied",
    "redact_url",
    "translate_error",
    "translated",
]

#: What the Elasticsearch client raises: answers (``ApiError``) and transport failures.
CLIENT_ERRORS: tuple[type[Exception], ...] = (ApiError, TransportError)

_MAX_REASON = 300
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


class BulkBackendUnavailableError(BulkOperationError, BackendUnavailableError):
    """Every failed item of a bulk request was rejected for load (429) or a server error.

    It names the keys like any :class:`BulkOperationError` and is also a
    :class:`BackendUnavailableError`, so the fail-open mode treats it as "not answering".
    """


class BulkEntriesRefusedError(BulkOperationError, EntryRefusedError):
    """Every failed item of a bulk write was an entry the cluster refused to store (too
    large for one request, or refused by the mapping); the other items were stored.

    It names the keys like any :class:`BulkOperationError` and is also an
    :class:`EntryRefusedError`, so the fail-open mode skips those entries.
    """

    def __init__(self, operation: str, failures: Mapping[str, str]) -> None:
        BulkOperationError.__init__(self, operation, failures)
        self.keys = tuple(self.failures)


# Clients this library built from es_url / es_cloud_id (and credentials). An error met
# through any other client (one the user passed as ``client=``) must not tell the user to
# check options they never gave: it points at the client instead.
_BUILT_FROM_SETTINGS: weakref.WeakSet[Any] = weakref.WeakSet()


# Of those, the clients built from es_cloud_id: one endpoint that is already a load
# balancer over the deployment's nodes, so "list several nodes" is no advice for them.
_BUILT_FROM_CLOUD_ID: weakref.WeakSet[Any] = weakref.WeakSet()


def mark_built_from_settings(client: Any, *, from_cloud_id: bool = False) -> None:
    """Remember that ``client`` was built from the cache's es_url / es_cloud_id options."""
    _BUILT_FROM_SETTINGS.add(client)
    if from_cloud_id:
        _BUILT_FROM_CLOUD_ID.add(client)


@attrs.frozen
class _Advice:
    """How to name, in a fix, the settings behind a client."""

    hosts: str
    credentials: str
    tls: str


_FROM_SETTINGS = _Advice(
    hosts="es_url / es_cloud_id",
    credentials="es_api_key, or es_user and es_password",
    tls="ca_certs, verify_certs or ssl_assert_fingerprint, and https:// in es_url",
)
_FROM_GIVEN_CLIENT = _Advice(
    hosts="the hosts of the client you passed (client=)",
    credentials="the api_key or basic_auth of the client you passed (client=)",
    tls="the TLS options (ca_certs, verify_certs, ssl_assert_fingerprint) and the https:// "
    "hosts of the client you passed (client=)",
)


def _advice(client: Any) -> _Advice:
    if client is None or client in _BUILT_FROM_SETTINGS:
        return _FROM_SETTINGS
    return _FROM_GIVEN_CLIENT


def redact_url(url: str) -> str:
    """``https://user:secret@host:9200`` -> ``https://***@host:9200``."""
    return _USERINFO.sub("***@", url)


def describe_hosts(client: Any) -> str:
    """The client's nodes as ``scheme://host:port``; never credentials (not even userinfo)."""
    try:
        nodes = client.transport.node_pool.all()
        names = [
            f"{node.config.scheme}://{node.config.host}:{node.config.port}{node.config.path_prefix}"
            for node in nodes
        ]
    except Exception:
        return "the configured Elasticsearch"
    return ", ".join(sorted(set(names))) or "the configured Elasticsearch"


def _node_count(client: Any) -> int | None:
    try:
        return len(client.transport.node_pool.all())
    except Exception:
        return None


def _tried(client: Any, hosts: str) -> str:
    """``hosts``, said as the nodes tried when the client knows several."""
    count = _node_count(client) if client is not None else None
    if count is not None and count > 1:
        return (
            f"any of its {count} nodes ({hosts}; a call tries the next node on each of its "
            "max_retries retries)"
        )
    return hosts


def _several_hosts_hint(client: Any, advice: _Advice) -> str:
    """With one node known, the cache stops when that node does, even in a healthy
    cluster: say how to list the others."""
    if client is None or client in _BUILT_FROM_CLOUD_ID or _node_count(client) != 1:
        return ""
    if advice is _FROM_SETTINGS:
        return (
            "; if it is one node of a cluster, list several nodes so that a call goes on "
            "to another when one is down: es_url=['http://node1:9200', "
            "'http://node2:9200', 'http://node3:9200'] (CLI: --es-url or ES_URL "
            "'http://node1:9200,http://node2:9200')"
        )
    return (
        "; if it is one node of a cluster, give the client every node's URL "
        "(Elasticsearch([url1, url2, url3])) so that a call goes on to another when one is down"
    )


def is_unavailable_status(status: Any) -> bool:
    """429 (too many requests), 408 (request timeout) and 5xx say "try again later"."""
    return isinstance(status, int) and (status in (408, 429) or status >= 500)


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def error_type_and_reason(error: Any) -> tuple[str | None, str]:
    """``(type, reason)`` from an ``ApiError``, a response body or an item's ``error``."""
    if isinstance(error, ApiError):
        error = error.body
    if isinstance(error, Mapping) and "error" in error:
        error = error["error"]
    if isinstance(error, Mapping):
        kind = error.get("type")
        reason = error.get("reason")
        caused_by = error.get("caused_by")
        if isinstance(caused_by, Mapping) and caused_by.get("reason"):
            reason = f"{reason} (caused by {caused_by.get('type')}: {caused_by.get('reason')})"
        return (str(kind) if kind else None), _shorten(str(reason or kind or "unknown error"))
    if error is None:
        return None, "no reason given"
    return None, _shorten(str(error))


def _chain_text(exc: BaseException) -> str:
    """The messages of ``exc`` and its causes, for classification only (never shown)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(parts) < 8:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        parts.extend(repr(inner) for inner in getattr(current, "errors", ()) or ())
        current = current.__cause__ or current.__context__
    return " | ".join(parts).lower()


def _connection_problem(exc: Exception) -> str:
    text = _chain_text(exc)
    if "refused" in text:
        return "connection refused"
    if any(
        marker in text
        for marker in ("name or service not known", "nodename nor servname", "getaddrinfo")
    ):
        return "the host name does not resolve"
    if "unreachable" in text:
        return "network unreachable"
    if "reset" in text:
        return "connection reset"
    if "closed connection without response" in text:
        # what an https-only Elasticsearch does with a plain HTTP request
        return "the server closed the connection without answering; if it expects TLS, use https://"
    return "connection failed"


def _ssl_errors(exc: BaseException) -> Iterator[ssl.SSLError]:
    """The ``ssl.SSLError`` objects inside ``exc`` (causes and wrapped ``errors``)."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack and len(seen) < 32:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            yield current
        inner = (*(getattr(current, "errors", ()) or ()), *current.args)
        stack.extend(e for e in inner if isinstance(e, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)


_VERIFY_FAILED = re.compile(r"certificate verify failed: ([^()\]'\"]+)")


def _tls_error(
    exc: Exception, action: str, hosts: str, advice_for: _Advice
) -> TlsVerificationError:
    """What went wrong in the handshake, in OpenSSL's words, and what to change."""
    reason = None
    for error in _ssl_errors(exc):
        # aiohttp's certificate error is an SSLCertVerificationError without the details
        error = getattr(error, "certificate_error", error)
        verify_message = getattr(error, "verify_message", None)
        if isinstance(error, ssl.SSLCertVerificationError) and verify_message:
            reason = f"certificate verify failed: {verify_message}"
            break
        if reason is None:
            reason = str(getattr(error, "reason", None) or error).lower().replace("_", " ")
    found = _VERIFY_FAILED.search(str(exc))
    if (reason is None or reason == "certificate verify failed") and found:
        reason = f"certificate verify failed: {found.group(1).strip()}"
    if reason is None:
        reason = _shorten(str(exc)).lower()
    if "certificate verify failed" in reason and "hostname mismatch" in reason.lower():
        where = "es_url" if advice_for is _FROM_SETTINGS else "the client's hosts"
        advice = (
            f"the certificate does not name the host in {where}: connect with a host name "
            "(or IP) the certificate lists, or have it re-issued with that name"
        )
    elif "certificate verify failed" in reason:
        advice = (
            "the server's certificate is not signed by a CA this client trusts: pass "
            "ca_certs='/path/to/ca.crt' (the CA that signed the cluster's certificate) or "
            "ssl_assert_fingerprint; verify_certs=False disables the check (test clusters "
            "only)"
        )
    elif "wrong version number" in reason or "record layer failure" in reason:
        where = "es_url" if advice_for is _FROM_SETTINGS else "the client's hosts"
        advice = f"the server does not speak TLS on that port: use http:// in {where}"
    else:
        advice = f"check {advice_for.tls}"
    return TlsVerificationError(
        f"{action}: TLS connection to {hosts} failed ({redact_url(reason)}); {advice}"
    )


def _authentication_reason(exc: ApiError) -> str:
    """Elasticsearch's reason for a 401: it names the user or the API key *id* (never a
    secret), and says whether credentials were missing, wrong, expired or invalidated."""
    _, reason = error_type_and_reason(exc)
    body = exc.body if isinstance(exc.body, Mapping) else {}
    error = body.get("error")
    detail = (
        error.get("additional_unsuccessful_credentials") if isinstance(error, Mapping) else None
    )
    if isinstance(detail, str) and detail:
        reason = f"{reason}; {_shorten(detail)}"
    return reason


# "Accept version must be either version 8 or 7, but found 9": what a server answers a
# client of a newer major version (elasticsearch-py 9 asks for ``compatible-with=9``)
_VERSIONS_ACCEPTED = re.compile(r"accept version must be either version (\d+) or \d+", re.I)


def _client_version() -> str:
    return str(getattr(elasticsearch, "__versionstr__", "unknown"))


def _refused_client_version(exc: ApiError, kind: str | None) -> bool:
    """Whether the server refused the client's ``compatible-with`` media type.

    The error type says so when there is a body. A ``HEAD`` request (``indices.exists``,
    the first request a cache makes) gets no body; the sign left is the answer's content
    type: a server that understood the client's media type answers in it
    (``...;compatible-with=N``), one that refused it falls back to plain JSON.
    """
    if kind == "media_type_header_exception":
        return True
    if exc.status_code != 400 or exc.body:
        return False
    headers = getattr(getattr(exc, "meta", None), "headers", None) or {}
    content_type = next(
        (str(value) for name, value in headers.items() if name.lower() == "content-type"), ""
    )
    return bool(content_type) and "compatible-with" not in content_type.lower()


def _version_mismatch(exc: ApiError, action: str, hosts: str) -> ConfigurationError:
    """The client speaks a newer major version than the server accepts."""
    client = _client_version()
    client_major = client.split(".", 1)[0]
    found = _VERSIONS_ACCEPTED.search(str(exc.body))
    server_major = int(found.group(1)) if found else None
    if server_major is None:
        server = f"an Elasticsearch older than {client_major}.x"
    else:
        server = f"Elasticsearch {server_major}.x"
    if server_major in (None, 8):
        fix = (
            "install the 8.x client, which talks to Elasticsearch 8 and 9: "
            'pip install "elasticsearch>=8.13,<9"'
        )
    elif server_major < 8:
        fix = "this library needs Elasticsearch 8.x or 9.x: upgrade the cluster"
    else:
        fix = (
            f"install the client of the server's major version: "
            f'pip install "elasticsearch>={server_major}.0,<{server_major + 1}"'
        )
    return ConfigurationError(
        f"{action}: elasticsearch-py {client} cannot talk to the server at {hosts}, which is "
        f"{server}: it refuses every request of a {client_major}.x client (HTTP 400 "
        f"media_type_header_exception); {fix}"
    )


# "action [indices:admin/refresh] is unauthorized for API key id [x] of user [y] on
# indices [z], this action is granted by the index privileges [maintenance,manage,all]"
_UNAUTHORIZED = re.compile(
    r"action \[(?P<action>.+?)\] is unauthorized for (?P<who>.+?)"
    r"(?: on indices \[(?P<indices>[^\]]*)\])?, this action is granted by the "
    r"(?P<level>index|cluster) privileges \[(?P<privileges>[^\]]*)\]"
)

#: the documentation of the roles, named in every "permission denied" message
PRIVILEGES_DOC = "docs/OPERATIONS.md#privileges"


def existence_check_reason(index: str | None = None) -> str:
    """What a 403 without a body means: the answer to a ``HEAD`` request, the existence
    check of an index or alias, which only ``view_index_metadata`` (short of ``manage``)
    grants."""
    on = f" on indices [{index}]" if index else ""
    return (
        f"action [indices:admin/get] is unauthorized for user or API key{on}, this action "
        "is granted by the index privileges [view_index_metadata,manage,all]"
    )


def denied_reason(error: Any) -> str:
    """The reason of a 403 (an ``ApiError``, a body, a bulk item's ``error`` or a string)
    in full: shortened, it could lose the privileges Elasticsearch names at its end."""
    if isinstance(error, str):
        return error
    if isinstance(error, ApiError):
        error = error.body
    if isinstance(error, Mapping) and isinstance(error.get("error"), Mapping):
        error = error["error"]
    if isinstance(error, Mapping) and isinstance(error.get("reason"), str):
        return str(error["reason"])
    return error_type_and_reason(error)[1]


def permission_denied(
    reason: str, action: str, hosts: str, *, needed_for: str = "", during_setup: bool = False
) -> PermissionDeniedError:
    """The error for a 403: the missing privilege named (the least of those Elasticsearch
    says would grant the action), on which index, for what, and the fix.

    ``reason`` is Elasticsearch's reason; ``needed_for`` says why the cache made the
    refused request (e.g. "so that clear() sees recent writes")."""
    found = _UNAUTHORIZED.search(reason)
    reason = _shorten(reason)
    why = f" (needed {needed_for})" if needed_for else ""
    if found is None:
        return PermissionDeniedError(
            f"{action}: permission denied at {hosts}{why} ({reason}); give the user or API "
            f"key the privileges of the role in {PRIVILEGES_DOC}",
            during_setup=during_setup,
        )
    privileges = tuple(p.strip() for p in found["privileges"].split(",") if p.strip())
    if "index" in privileges:
        # create_doc and create grant new documents only: the caches overwrite entries
        privileges = tuple(p for p in privileges if p not in ("create_doc", "create"))
    if "delete" in privileges and "index" in privileges and "write" in privileges:
        # a bulk request (writes and deletes): 'write' grants both
        privileges = ("write", *(p for p in privileges if p != "write"))
    level = found["level"]
    on = f" on index {found['indices']}" if found["indices"] else ""
    least = privileges[0] if privileges else "?"
    others = f" (or one of: {', '.join(privileges[1:])})" if len(privileges) > 1 else ""
    return PermissionDeniedError(
        f"{action}: permission denied at {hosts}: the {found['who']} lacks the "
        f"{least!r} {level} privilege{on}{why}; Elasticsearch refused "
        f"[{found['action']}]. Grant {least!r}{others}{on}: the roles are in "
        f"{PRIVILEGES_DOC}",
        privileges,
        during_setup=during_setup,
    )


def _api_error(exc: ApiError, action: str, hosts: str, advice: _Advice) -> CacheError:
    status = exc.status_code
    kind, reason = error_type_and_reason(exc)
    if isinstance(exc, UnsupportedProductError):
        return BackendError(
            f"{action}: the server at {hosts} does not identify itself as Elasticsearch; "
            f"check {advice.hosts}"
        )
    if _refused_client_version(exc, kind):
        return _version_mismatch(exc, action, hosts)
    if status == 401:
        return AuthenticationError(
            f"{action}: authentication failed at {hosts} ({_authentication_reason(exc)}): "
            f"check {advice.credentials}"
        )
    if status == 403:
        reason = denied_reason(exc) if exc.body else existence_check_reason()
        return permission_denied(reason, action, hosts)
    if is_unavailable_status(status):
        detail = "too many requests (429)" if status == 429 else f"HTTP {status}: {reason}"
        return BackendUnavailableError(
            f"{action}: Elasticsearch at {hosts} is not answering right now ({detail}); retry later"
        )
    if kind == "index_not_found_exception":
        return BackendError(f"{action}: the index does not exist ({reason})")
    mapping_refused = kind in ("mapper_parsing_exception", "document_parsing_exception") or (
        kind == "illegal_argument_exception" and reason.startswith("mapper [")
    )
    if mapping_refused and "[metadata." in reason:
        # "failed to parse field [metadata.n] of type [long]", "mapper [metadata.n] cannot
        # be changed from type [long] to [text]": metadata fields are mapped dynamically
        return BackendError(
            f"{action}: the cache's metadata does not fit the index ({reason}): a value of "
            "another type was stored under that metadata field before (metadata fields are "
            "mapped by the first value written); give every cache sharing the index the "
            "same value types, keep lists to one type, or use another index"
        )
    if kind in ("mapper_parsing_exception", "document_parsing_exception") or (
        kind and "mapper" in kind
    ):
        return BackendError(
            f"{action}: the document does not fit the index mapping ({kind}: {reason}); "
            "the index was probably created by something else with other field types: "
            "use a new index name, or reindex into one created by this library"
        )
    if kind == "illegal_argument_exception" and "no write index" in reason:
        return BackendError(
            f'{action}: {reason}; mark one index behind the alias with "is_write_index": true'
        )
    if status == 413:
        return BackendError(
            f"{action}: the request is larger than the cluster accepts (HTTP 413: the nodes' "
            "http.max_content_length setting, 100mb by default); send less per request, or "
            "raise http.max_content_length in elasticsearch.yml on every node"
        )
    label = f"{kind}: {reason}" if kind else reason
    return BackendError(f"{action}: Elasticsearch refused the request (HTTP {status}, {label})")


def _is_mapping_refusal(kind: str | None, reason: str) -> bool:
    """The mapping refused a document: a value of the wrong type, a new field beyond
    ``index.mapping.total_fields.limit`` or a nesting beyond ``depth.limit``..."""
    if kind in (
        "mapper_parsing_exception",
        "document_parsing_exception",
        "strict_dynamic_mapping_exception",
    ):
        return True
    return kind == "illegal_argument_exception" and (
        reason.startswith("mapper [") or reason.startswith("Limit of ")
    )


def _entry_size(size: int) -> str:
    return f"{size:,} bytes" if size < 10_000 else f"{size:,} bytes ({size / 1_048_576:.1f} MiB)"


def refused_entry_reason(status: Any, error: Any, size: int) -> str | None:
    """Why one entry of ``size`` bytes (as JSON) was refused, with the fix; ``None`` when
    ``status`` / ``error`` (an ``ApiError`` or a bulk item's ``error``) is no refusal of
    the entry itself."""
    if status == 413:
        return (
            f"the entry is {_entry_size(size)} as JSON, more than the cluster accepts in one "
            "request (HTTP 413: the nodes' http.max_content_length setting, 100mb by "
            "default); it was not cached. To cache entries this large, raise "
            "http.max_content_length in elasticsearch.yml on every node (a static setting: "
            "restart the nodes)"
        )
    kind, reason = error_type_and_reason(error)
    if not _is_mapping_refusal(kind, reason):
        return None
    if "[metadata." in reason:
        return (
            f"the cache's metadata does not fit the index ({reason}): a value of another "
            "type was stored under that metadata field before (metadata fields are mapped "
            "by the first value written); give every cache sharing the index the same value "
            "types, keep lists to one type, or use another index"
        )
    return (
        f"the index mapping refused the entry ({_entry_size(size)} as JSON; {kind}: "
        f"{reason}); it was not cached. If the index was changed after the cache checked "
        "it, use a new index name; if a limit was reached (index.mapping.total_fields.limit"
        ", index.mapping.depth.limit), keep the cache's metadata smaller"
    )


def refused_entry_error(
    exc: ApiError, action: str, key: str, size: int
) -> EntryRefusedError | None:
    """The :class:`EntryRefusedError` for a failed write of one entry, or ``None`` when
    ``exc`` is about something else than the entry (credentials, an outage...)."""
    reason = refused_entry_reason(exc.status_code, exc, size)
    if reason is None:
        return None
    return EntryRefusedError(f"{action}: entry {key!r} refused: {reason}", keys=(key,))


def translate_error(exc: Exception, action: str, *, client: Any = None) -> CacheError:
    """The domain error for a client exception; ``action`` says what was being done."""
    if isinstance(exc, CacheError):
        return exc
    hosts = describe_hosts(client) if client is not None else "Elasticsearch"
    advice = _advice(client)
    if isinstance(exc, ApiError):
        return _api_error(exc, action, hosts, advice)
    if isinstance(exc, ConnectionTimeout):
        return BackendUnavailableError(
            f"{action}: Elasticsearch at {hosts} did not answer in time; retry later, or "
            "raise request_timeout if the cluster is merely slow"
        )
    if isinstance(exc, TlsError):
        return _tls_error(exc, action, hosts, advice)
    if isinstance(exc, TransportConnectionError):
        return BackendUnavailableError(
            f"{action}: cannot reach Elasticsearch at {_tried(client, hosts)} "
            f"({_connection_problem(exc)}); check {advice.hosts} and that the cluster is "
            f"running{_several_hosts_hint(client, advice)}"
        )
    if isinstance(exc, SerializationError):
        return BackendError(f"{action}: a request or response could not be (de)serialised")
    if isinstance(exc, TransportError):
        return BackendUnavailableError(
            f"{action}: transport failure talking to {hosts} ({type(exc).__name__})"
        )
    return BackendError(f"{action}: unexpected {type(exc).__name__}")


@contextmanager
def translated(action: str, *, client: Any = None) -> Iterator[None]:
    """Run a block of client calls, raising domain errors instead of client errors.

    Works around ``await`` expressions as well: the translation is a plain ``except``.
    """
    try:
        yield
    except CLIENT_ERRORS as exc:
        raise translate_error(exc, action, client=client) from exc
