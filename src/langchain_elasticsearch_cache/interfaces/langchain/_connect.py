"""From checked options to a repository: the client made (or taken), the index named.

Shared by the Elasticsearch cache classes (:mod:`.elasticsearch_caches`,
:mod:`.elasticsearch_embeddings`, :mod:`.elasticsearch_semantic`); each reads a
:class:`~.options.StoreOptions` the constructor has checked (``options.check()``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from elasticsearch import AsyncElasticsearch, Elasticsearch

from ...adapters.elasticsearch import (
    AsyncElasticsearchRepository,
    ConnectionCheckedRepository,
    ElasticsearchRepository,
    RecordKind,
    create_async_elasticsearch_client,
    create_elasticsearch_client,
)
from ...domain.errors import BackendUnavailableError
from ...domain.ports import R
from ._runtime import fail_open_call, quiet_during_fail_open_calls
from .options import ConnectionOptions, StoreOptions

logger = logging.getLogger("langchain_elasticsearch_cache")

# the client logs each failed request, dead node and retry at WARNING: during an outage
# that is several lines per cache call, which a fail-open cache replaces by its own
# rate-limited warning
_CLIENT_LOGGERS = (
    "elastic_transport.transport",
    "elastic_transport.node_pool",
    "elastic_transport.node",
)

T = TypeVar("T")


def _quiet_client_logs(
    store: StoreOptions[Elasticsearch] | StoreOptions[AsyncElasticsearch],
) -> None:
    if store.fail_open:
        quiet_during_fail_open_calls(*_CLIENT_LOGGERS)


def _new_sync_client(connection: ConnectionOptions[Elasticsearch], *, check: bool) -> Elasticsearch:
    return create_elasticsearch_client(
        url=connection.es_url,
        cloud_id=connection.es_cloud_id,
        api_key=connection.es_api_key,
        username=connection.es_user,
        password=connection.es_password,
        params=dict(connection.es_params) if connection.es_params else None,
        ca_certs=connection.ca_certs,
        verify_certs=connection.verify_certs,
        request_timeout=connection.request_timeout,
        max_retries=connection.max_retries,
        check=check,
    )


def _new_async_client(connection: ConnectionOptions[AsyncElasticsearch]) -> AsyncElasticsearch:
    return create_async_elasticsearch_client(
        url=connection.es_url,
        cloud_id=connection.es_cloud_id,
        api_key=connection.es_api_key,
        username=connection.es_user,
        password=connection.es_password,
        params=dict(connection.es_params) if connection.es_params else None,
        ca_certs=connection.ca_certs,
        verify_certs=connection.verify_certs,
        request_timeout=connection.request_timeout,
        max_retries=connection.max_retries,
    )


def _checked_client(connection: ConnectionOptions[Elasticsearch], fail_open: bool) -> Elasticsearch:
    """A client checked with one ``info()``; with ``fail_open`` an unreachable cluster is
    logged and the cache is built anyway (it misses until Elasticsearch answers).

    Wrong credentials, a server that is not Elasticsearch and bad parameters still raise:
    fail-open hides outages, never misconfiguration.
    """
    if not fail_open:
        return _new_sync_client(connection, check=True)
    try:
        with fail_open_call():
            return _new_sync_client(connection, check=True)
    except BackendUnavailableError as exc:
        logger.warning(
            "Elasticsearch is not answering while the cache is created; fail_open=True, so "
            "the cache is created anyway and every lookup is a miss until it answers: %s",
            exc,
        )
        return _new_sync_client(connection, check=False)


def open_sync(store: StoreOptions[Elasticsearch], build: Callable[[Elasticsearch, bool], T]) -> T:
    """``build(client, owns_client)`` with the caller's client, or with one made from the
    connection options and checked now (fail-open rules in :func:`_checked_client`).

    A client made here is closed again if ``build`` refuses its options.
    """
    _quiet_client_logs(store)
    given = store.connection.client
    if given is not None:
        return build(given, False)
    client = _checked_client(store.connection, store.fail_open)
    try:
        return build(client, True)
    except BaseException:
        client.close()
        raise


def open_async(
    store: StoreOptions[AsyncElasticsearch], build: Callable[[AsyncElasticsearch, bool], T]
) -> T:
    """``build(client, owns_client)``: the caller's client is used as it is (as the
    synchronous classes do); a client made here is not checked yet (a constructor cannot
    await), so ``build`` wraps it in a connection-checked repository, which makes the
    check the synchronous classes make here at the first call (same errors; with
    fail_open an outage is a miss)."""
    _quiet_client_logs(store)
    given = store.connection.client
    if given is not None:
        return build(given, False)
    return build(_new_async_client(store.connection), True)


def sync_repository(
    kind: RecordKind[R], store: StoreOptions[Elasticsearch]
) -> ElasticsearchRepository[R]:
    """The repository of an LLM or embeddings cache (``kind``), opened from ``store``."""
    return open_sync(
        store,
        lambda client, owns: ElasticsearchRepository(
            client,
            store.index_name,
            kind,
            refresh=store.refresh,
            maximum_duplicates_allowed=store.maximum_duplicates_allowed,
            owns_client=owns,
        ),
    )


def async_repository(
    kind: RecordKind[R], store: StoreOptions[AsyncElasticsearch]
) -> AsyncElasticsearchRepository[R]:
    """Async twin of :func:`sync_repository` (a client made here is checked at first use)."""

    def build(client: AsyncElasticsearch, owns: bool) -> AsyncElasticsearchRepository[R]:
        cls = ConnectionCheckedRepository if owns else AsyncElasticsearchRepository
        return cls(
            client,
            store.index_name,
            kind,
            refresh=store.refresh,
            maximum_duplicates_allowed=store.maximum_duplicates_allowed,
            owns_client=owns,
        )

    return open_async(store, build)
