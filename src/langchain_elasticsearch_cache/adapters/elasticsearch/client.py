"""Build Elasticsearch clients from the seed's connection parameters.

Same signature as ``langchain_elasticsearch.client`` (``url``, ``cloud_id``, ``api_key``,
``username``, ``password``, ``params``, ``user_agent``) plus TLS, timeout and retry
options. Mistakes raise :class:`ConfigurationError` with the fix; no credential ever
appears in a message, a log line or a repr.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from importlib import metadata
from typing import Any

from elastic_transport.client_utils import parse_cloud_id
from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch

from ...domain.errors import ConfigurationError
from .errors import CLIENT_ERRORS, mark_built_from_settings, redact_url, translate_error

__all__ = [
    "DEFAULT_RETRY_ON_STATUS",
    "USER_AGENT",
    "check_connection",
    "create_async_elasticsearch_client",
    "create_elasticsearch_client",
]

logger = logging.getLogger(__name__)

DEFAULT_RETRY_ON_STATUS: tuple[int, ...] = (429, 502, 503, 504)


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
    url: str | None,
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
        if not isinstance(url, str) or "://" not in url:
            shown = redact_url(url) if isinstance(url, str) else type(url).__name__
            raise ConfigurationError(
                f"es_url {shown!r} is not a URL: include the scheme and host, "
                "e.g. 'http://localhost:9200' or 'https://my-cluster:9243'"
            )
        connection["hosts"] = [url]
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


def _construction_error(exc: Exception, url: str | None) -> ConfigurationError:
    where = f"es_url {redact_url(url)!r}" if url else "es_cloud_id"
    reason = redact_url(str(exc))
    example = "e.g. es_url='http://localhost:9200'"
    if "https" in reason:  # TLS options (ca_certs, verify_certs...) with an http:// URL
        example = "TLS options need an https:// es_url, e.g. es_url='https://localhost:9200'"
    return ConfigurationError(
        f"cannot build an Elasticsearch client from {where}: {reason}; {example}"
    )


def _with_user_agent(client: Any, user_agent: str | None) -> Any:
    configured = client.options(headers={"User-Agent": user_agent or USER_AGENT})
    # its errors then name es_url / es_cloud_id, the options it was built from
    mark_built_from_settings(configured)
    return configured


def create_elasticsearch_client(
    url: str | None = None,
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

    Raises ``ConfigurationError`` for impossible parameters or a server whose major version
    this client cannot talk to (elasticsearch-py 9 and Elasticsearch 8),
    ``BackendUnavailableError`` when the cluster cannot be reached and ``BackendError``
    when it refuses the credentials. ``check=False`` skips the ``info()`` call (the client
    is then built without contacting the cluster, as the asynchronous factory does).
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
    client: Elasticsearch = _with_user_agent(base, user_agent)
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
    url: str | None = None,
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
    cache classes do, once, at their first call: :class:`ConnectionCheckedRepository`)."""
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
    client: AsyncElasticsearch = _with_user_agent(base, user_agent)
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
