"""Build Elasticsearch clients from the seed's connection parameters.

Same signature as ``langchain_elasticsearch.client`` (``url``, ``cloud_id``, ``api_key``,
``username``, ``password``, ``params``, ``user_agent``) plus TLS, timeout and retry
options. Mistakes raise :class:`ConfigurationError` with the fix; no credential ever
appears in a message, a log line or a repr.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping, Sequence
from importlib import metadata
from typing import Any

from elastic_transport.client_utils import parse_cloud_id
from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch

from ...domain.errors import ConfigurationError
from .errors import CLIENT_ERRORS, mark_built_from_settings, redact_url, translate_error

__all__ = [
    "DEFAULT_RETRY_ON_STATUS",
    "USER_AGENT",
    "Hosts",
    "check_connection",
    "create_async_elasticsearch_client",
    "create_elasticsearch_client",
    "host_urls",
    "validate_timeout",
]

logger = logging.getLogger(__name__)

DEFAULT_RETRY_ON_STATUS: tuple[int, ...] = (429, 502, 503, 504)

Hosts = str | Sequence[str]
"""What ``es_url`` takes: one URL, or a list of the URLs of several nodes of one cluster."""

_LIST_EXAMPLE = "es_url=['http://node1:9200', 'http://node2:9200', 'http://node3:9200']"


def _shown(value: object) -> str:
    """A refused es_url as it may be shown: no userinfo, even without a scheme."""
    if not isinstance(value, str):
        return type(value).__name__
    if "://" not in value and "@" in value:  # 'user:secret@host': no scheme to anchor on
        value = "***@" + value.rpartition("@")[2]
    return repr(redact_url(value))


def host_urls(url: object) -> list[str]:
    """``es_url`` as a list of URLs, each checked: one URL or a non-empty list of them.

    A list lets the client fail over: every request goes to a live node, so losing one
    node costs no call (a single URL is a single point of failure, even in a cluster). A
    string holding several comma-separated URLs is refused with the fix (a list); the CLI
    and ``ES_URL`` split such a string themselves.
    """
    if isinstance(url, str):
        if "," in url and url.count("://") > 1:
            raise ConfigurationError(
                f"es_url {_shown(url)} holds several URLs in one string: pass a list, "
                f"e.g. {_LIST_EXAMPLE}"
            )
        urls: list[object] = [url]
    elif isinstance(url, Sequence) and not isinstance(url, (bytes, bytearray)):
        urls = list(url)
        if not urls:
            raise ConfigurationError(
                "es_url is an empty list: give the URL of at least one node, better several "
                f"of one cluster, e.g. {_LIST_EXAMPLE}"
            )
    else:
        raise ConfigurationError(
            f"es_url must be a URL or a list of URLs, not {type(url).__name__}; "
            f"e.g. es_url='http://localhost:9200' or {_LIST_EXAMPLE}"
        )
    checked: list[str] = []
    for position, item in enumerate(urls):
        if not isinstance(item, str) or "://" not in item:
            where = (
                f"es_url item {position} "
                if len(urls) > 1 or not isinstance(url, str)
                else "es_url "
            )
            raise ConfigurationError(
                f"{where}{_shown(item)} is not a URL: include the scheme and host, "
                "e.g. 'http://localhost:9200' or 'https://my-cluster:9243'"
            )
        checked.append(item)
    return checked


#: The client options that are a number of seconds to wait (``timeout`` is the client's
#: older name of ``request_timeout``, still accepted in ``params``).
_TIMEOUT_OPTIONS = ("request_timeout", "timeout")


def validate_timeout(value: object, *, name: str = "request_timeout") -> float:
    """``value`` if it is a number of seconds the client can wait: positive and finite.

    urllib3 refuses 0 and negative numbers with a bare ``ValueError`` (and ``nan`` with
    another), and takes ``inf`` as a socket timeout no platform accepts, so that every
    request then fails as if the node were down: all are refused here, with the range.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(
            f"{name} must be a number of seconds, not {type(value).__name__} {value!r}: give "
            f"a positive, finite number, e.g. {name}=30"
        )
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(
            f"{name} must be a positive, finite number of seconds (more than 0, less than "
            f"infinity), not {value!r}: e.g. {name}=30, or leave it unset for the client's 10 s"
        )
    return float(value)


def _version() -> str:
    try:
        return metadata.version("langchain-elasticsearch-cache")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


USER_AGENT = f"langchain-elasticsearch-cache/{_version()}"

# A node without the ``rest-root`` module (the integ-test distribution, some proxies)
# answers ``GET /`` with 405 or 404: it answered, so the connection works.
_ANSWERED_WITHOUT_ROOT = (404, 405)


def _connection_params(
    *,
    url: Hosts | None,
    cloud_id: str | None,
    api_key: str | tuple[str, str] | None,
    username: str | None,
    password: str | None,
    params: Mapping[str, Any] | None,
    ca_certs: str | None,
    verify_certs: bool | None,
    ssl_assert_fingerprint: str | None,
    request_timeout: float | None,
    max_retries: int | None,
    retry_on_timeout: bool | None,
    retry_on_status: Collection[int] | None,
) -> dict[str, Any]:
    if url is not None and not isinstance(url, str) and not url and not cloud_id:
        host_urls(url)  # an empty list: its own message
    if url and cloud_id:
        raise ConfigurationError(
            "both es_url and es_cloud_id are set: give only one (es_url for a "
            "self-managed cluster, es_cloud_id for Elastic Cloud)"
        )
    if not url and not cloud_id:
        raise ConfigurationError(
            "no Elasticsearch to connect to: give es_url (e.g. 'http://localhost:9200') "
            "or es_cloud_id, or pass a ready client"
        )
    if username and not password:
        raise ConfigurationError(
            "es_user is set without es_password: give both, or use es_api_key instead"
        )
    if password and not username:
        raise ConfigurationError(
            "es_password is set without es_user: give both, or use es_api_key instead"
        )
    connection: dict[str, Any] = {}
    if url:
        connection["hosts"] = host_urls(url)
        if len(connection["hosts"]) > 1 and retry_on_timeout is None:
            # a request that timed out on one node is sent to another; every request
            # the cache sends is idempotent (realtime gets, writes by _id), so a retry
            # cannot store anything twice
            retry_on_timeout = True
    else:
        connection["cloud_id"] = _checked_cloud_id(cloud_id)
    if api_key:
        if username:
            logger.warning("both es_api_key and es_user/es_password are set; using the API key")
        connection["api_key"] = api_key
    elif username and password:
        connection["basic_auth"] = (username, password)
    optional = {
        "ca_certs": ca_certs,
        "verify_certs": verify_certs,
        "ssl_assert_fingerprint": ssl_assert_fingerprint,
        "request_timeout": request_timeout,
        "max_retries": max_retries,
        "retry_on_timeout": retry_on_timeout,
        "retry_on_status": tuple(retry_on_status) if retry_on_status is not None else None,
    }
    connection.update({key: value for key, value in optional.items() if value is not None})
    if params is not None:
        connection.update(params)
    for name in _TIMEOUT_OPTIONS:
        if connection.get(name) is not None:
            where = f"params[{name!r}]" if params is not None and name in params else name
            validate_timeout(connection[name], name=where)
    return connection


_CLOUD_ID_FIX = (
    "copy the Cloud ID whole from the deployment's page of the Elastic Cloud console; it "
    "looks like '<deployment name>:<base64 text>', e.g. 'my-deployment:ZXhhbXBsZS5pbyRhYmMk'"
)


def _checked_cloud_id(cloud_id: object) -> str:
    """``cloud_id`` if it is an Elastic Cloud ID naming an Elasticsearch cluster.

    A Cloud ID is ``<name>:<base64 of host[:port]$es-id$kibana-id>``; the cluster's host
    is ``<es-id>.<host>``. Checked here so the message says what is wrong with it (the
    value itself is not repeated: it may be something else pasted by mistake).
    """
    if not isinstance(cloud_id, str):
        raise ConfigurationError(
            f"es_cloud_id must be a string, not {type(cloud_id).__name__}; {_CLOUD_ID_FIX}"
        )
    _, separator, encoded = cloud_id.partition(":")
    problem = None
    if not separator or not encoded.strip():
        problem = "it has no ':' followed by the encoded part"
    else:
        try:
            parsed = parse_cloud_id(cloud_id)
        except ValueError:
            problem = "the part after ':' is not base64 of '<host>$<es-id>$<kibana-id>'"
        else:
            if parsed.es_address is None:
                problem = "it names no Elasticsearch cluster (no <es-id> after the host)"
    if problem is not None:
        raise ConfigurationError(
            f"es_cloud_id is not a valid Elastic Cloud ID: {problem}; {_CLOUD_ID_FIX}"
        )
    return cloud_id


def _construction_error(exc: Exception, url: Hosts | None) -> ConfigurationError:
    if isinstance(url, str):
        where = f"es_url {redact_url(url)!r}"
    elif url:
        where = f"es_url {[redact_url(item) for item in url]!r}"
    else:
        where = "es_cloud_id"
    reason = redact_url(str(exc))
    example = "e.g. es_url='http://localhost:9200'"
    if "https" in reason:  # TLS options (ca_certs, verify_certs...) with an http:// URL
        example = "TLS options need an https:// es_url, e.g. es_url='https://localhost:9200'"
    return ConfigurationError(
        f"cannot build an Elasticsearch client from {where}: {reason}; {example}"
    )


def _with_user_agent(client: Any, user_agent: str | None, *, from_cloud_id: bool) -> Any:
    configured = client.options(headers={"User-Agent": user_agent or USER_AGENT})
    # its errors then name es_url / es_cloud_id, the options it was built from
    mark_built_from_settings(configured, from_cloud_id=from_cloud_id)
    return configured


def create_elasticsearch_client(
    url: Hosts | None = None,
    cloud_id: str | None = None,
    api_key: str | tuple[str, str] | None = None,
    username: str | None = None,
    password: str | None = None,
    params: Mapping[str, Any] | None = None,
    user_agent: str | None = None,
    *,
    ca_certs: str | None = None,
    verify_certs: bool | None = None,
    ssl_assert_fingerprint: str | None = None,
    request_timeout: float | None = None,
    max_retries: int | None = None,
    retry_on_timeout: bool | None = None,
    retry_on_status: Collection[int] | None = DEFAULT_RETRY_ON_STATUS,
    check: bool = True,
) -> Elasticsearch:
    """A synchronous client, checked once with ``info()`` before it is returned.

    Args:
        url: URL of the cluster, or a list of the URLs of several of its nodes.
        cloud_id: Elastic Cloud deployment id (instead of ``url``).
        api_key: API key (encoded, or its ``(id, key)`` pair); wins over a user name.
        username: User name for basic authentication (with ``password``).
        password: Password for ``username``.
        params: Further keyword arguments for the client (they win over the above).
        user_agent: ``User-Agent`` header of every request; the library's by default.
        ca_certs: Path of the CA bundle that signed the cluster's certificate.
        verify_certs: ``False`` skips TLS certificate verification (tests only).
        ssl_assert_fingerprint: SHA-256 fingerprint the cluster's certificate must have.
        request_timeout: Seconds before a request times out.
        max_retries: Retries of a failed request on other nodes.
        retry_on_timeout: Retry a request that timed out; ``None`` means yes with several
            nodes (every request the caches send is idempotent), no with one.
        retry_on_status: HTTP statuses that are retried (``DEFAULT_RETRY_ON_STATUS``:
            429, 502, 503, 504); ``None`` leaves the client's default.
        check: ``False`` skips the ``info()`` call: the client is then built without
            contacting the cluster, as the asynchronous factory does.

    Returns:
        The client (the caller closes it).

    Raises:
        ConfigurationError: Impossible parameters, or a server whose major version this
            client cannot talk to (elasticsearch-py 9 and Elasticsearch 8).
        AuthenticationError: The cluster refuses the credentials.
        BackendUnavailableError: The cluster cannot be reached.
        BackendError: The server answers, but not as Elasticsearch does.
    """
    connection = _connection_params(
        url=url,
        cloud_id=cloud_id,
        api_key=api_key,
        username=username,
        password=password,
        params=params,
        ca_certs=ca_certs,
        verify_certs=verify_certs,
        ssl_assert_fingerprint=ssl_assert_fingerprint,
        request_timeout=request_timeout,
        max_retries=max_retries,
        retry_on_timeout=retry_on_timeout,
        retry_on_status=retry_on_status,
    )
    try:
        base = Elasticsearch(**connection)
    except (ValueError, TypeError) as exc:
        raise _construction_error(exc, url) from None
    client: Elasticsearch = _with_user_agent(base, user_agent, from_cloud_id=not url)
    if not check:
        return client
    try:
        client.info()
    except ApiError as exc:
        if exc.status_code not in _ANSWERED_WITHOUT_ROOT:
            base.close()
            raise translate_error(exc, "connecting", client=client) from exc
    except CLIENT_ERRORS as exc:
        base.close()
        raise translate_error(exc, "connecting", client=client) from exc
    return client


def create_async_elasticsearch_client(
    url: Hosts | None = None,
    cloud_id: str | None = None,
    api_key: str | tuple[str, str] | None = None,
    username: str | None = None,
    password: str | None = None,
    params: Mapping[str, Any] | None = None,
    user_agent: str | None = None,
    *,
    ca_certs: str | None = None,
    verify_certs: bool | None = None,
    ssl_assert_fingerprint: str | None = None,
    request_timeout: float | None = None,
    max_retries: int | None = None,
    retry_on_timeout: bool | None = None,
    retry_on_status: Collection[int] | None = DEFAULT_RETRY_ON_STATUS,
) -> AsyncElasticsearch:
    """An asynchronous client. It is not contacted here (this is not a coroutine): await
    :func:`check_connection` for the same check the synchronous factory makes (the async
    cache classes do, once, at their first call: :class:`ConnectionCheckedRepository`).

    Args:
        url: URL of the cluster, or a list of the URLs of several of its nodes.
        cloud_id: Elastic Cloud deployment id (instead of ``url``).
        api_key: API key (encoded, or its ``(id, key)`` pair); wins over a user name.
        username: User name for basic authentication (with ``password``).
        password: Password for ``username``.
        params: Further keyword arguments for the client (they win over the above).
        user_agent: ``User-Agent`` header of every request; the library's by default.
        ca_certs: Path of the CA bundle that signed the cluster's certificate.
        verify_certs: ``False`` skips TLS certificate verification (tests only).
        ssl_assert_fingerprint: SHA-256 fingerprint the cluster's certificate must have.
        request_timeout: Seconds before a request times out.
        max_retries: Retries of a failed request on other nodes.
        retry_on_timeout: Retry a request that timed out; ``None`` means yes with several
            nodes (every request the caches send is idempotent), no with one.
        retry_on_status: HTTP statuses that are retried (``DEFAULT_RETRY_ON_STATUS``:
            429, 502, 503, 504); ``None`` leaves the client's default.

    Returns:
        The client (the caller closes it: ``await client.close()``).

    Raises:
        ConfigurationError: Impossible parameters (a bad URL or cloud id, a password
            without a user name...).
    """
    connection = _connection_params(
        url=url,
        cloud_id=cloud_id,
        api_key=api_key,
        username=username,
        password=password,
        params=params,
        ca_certs=ca_certs,
        verify_certs=verify_certs,
        ssl_assert_fingerprint=ssl_assert_fingerprint,
        request_timeout=request_timeout,
        max_retries=max_retries,
        retry_on_timeout=retry_on_timeout,
        retry_on_status=retry_on_status,
    )
    try:
        base = AsyncElasticsearch(**connection)
    except (ValueError, TypeError) as exc:
        raise _construction_error(exc, url) from None
    client: AsyncElasticsearch = _with_user_agent(base, user_agent, from_cloud_id=not url)
    return client


async def check_connection(client: AsyncElasticsearch) -> None:
    """One ``info()`` call, the check the synchronous factory makes:
    ``BackendUnavailableError`` if the cluster cannot be reached, ``AuthenticationError``
    if it refuses the credentials, ``ConfigurationError`` if it refuses this client's
    major version, ``BackendError`` if it is not Elasticsearch."""
    try:
        await client.info()
    except ApiError as exc:
        if exc.status_code not in _ANSWERED_WITHOUT_ROOT:
            raise translate_error(exc, "connecting", client=client) from exc
    except CLIENT_ERRORS as exc:
        raise translate_error(exc, "connecting", client=client) from exc
