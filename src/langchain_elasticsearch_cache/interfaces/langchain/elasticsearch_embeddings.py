"""The Elasticsearch embeddings caches: the generic ``ByteStore`` classes over the ES adapter.

For ``CacheBackedEmbeddings``. Constructor parameters are those of
``langchain_elasticsearch`` 1.0.0, plus this library's own, read once, by name, into an
options object (:mod:`.options`); connection and cache options are those of the LLM
caches (:mod:`.elasticsearch_caches`). Give each cache an index of its own: the first
lookup refuses an index that holds an LLM cache's entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch

from ...adapters.elasticsearch import EMBEDDING_RECORDS
from ...domain.keys import KeyScheme
from ._connect import async_repository, sync_repository
from ._runtime import Clock
from .byte_store import AsyncRepositoryByteStore, RepositoryByteStore
from .options import EmbeddingsCacheOptions

__all__ = ["AsyncElasticsearchEmbeddingsCache", "ElasticsearchEmbeddingsCache"]


class ElasticsearchEmbeddingsCache(RepositoryByteStore):
    """Embeddings ``ByteStore`` in Elasticsearch, for ``CacheBackedEmbeddings``.

    Give it an index of its own, not an LLM cache's (refused at the first lookup). A
    batch too large for one request (``http.max_content_length``) is sent in smaller
    ones; an entry too large alone is refused (``EntryRefusedError``; skipped and counted
    as ``refused`` with ``fail_open=True``).

    Args:
        index_name: Index or alias holding the entries; an index is created with the
            cache's mapping at the first write if it does not exist.
        store_input: Store each key (the embedded text) with its entry (``text_input``);
            without it ``yield_keys`` has nothing to list.
        metadata: Extra fields stored with every entry (JSON-serialisable).
        namespace: Part of every key and stored with it: one per embedding model, so two
            models never share vectors.
        maximum_duplicates_allowed: Behind an alias, the copies of one key expected (one
            per index); more are logged once. At least 1.
        client: A ready ``Elasticsearch`` client, used as it is and not closed by the
            cache; excludes every connection setting below.
        es_url: URL of the cluster, or a list of node URLs.
        es_cloud_id: Elastic Cloud deployment id (instead of ``es_url``).
        es_user: User name for basic authentication (with ``es_password``).
        es_api_key: API key (instead of a user name and password).
        es_password: Password for ``es_user``.
        key_scheme: How an entry's id is made: ``"sha256"`` (default) or ``"legacy"`` (the
            ids ``langchain_elasticsearch`` writes), or a ``KeyScheme`` object.
        ttl: Age (a ``timedelta`` or seconds) after which an entry is a miss; ``None``
            keeps entries forever.
        refresh: Refresh after each write: ``False`` (default), ``True`` or ``"wait_for"``
            (only needed if something else must *search* new entries at once).
        fail_open: Treat an unreachable cluster as a miss (and a write as a no-op), with a
            rate-limited warning, instead of raising.
        es_params: Further keyword arguments for the ``Elasticsearch`` client.
        ca_certs: Path of the CA bundle that signed the cluster's certificate.
        verify_certs: ``False`` skips TLS certificate verification (tests only).
        request_timeout: Seconds before a request times out.
        max_retries: Retries of a failed request on other nodes.
        clock: Callable returning the current time as an aware ``datetime`` (for tests).

    Raises:
        ConfigurationError: An option is not valid, ``client`` comes with connection
            settings, or neither ``client`` nor ``es_url``/``es_cloud_id`` is given.
        InvalidIndexNameError: ``index_name`` breaks Elasticsearch's naming rules.
        AuthenticationError: The cluster refuses the credentials.
        BackendUnavailableError: The cluster cannot be reached (not with ``fail_open``).
    """

    def __init__(
        self,
        index_name: str,
        *,
        store_input: bool = True,
        metadata: dict[str, Any] | None = None,
        namespace: str | None = None,
        maximum_duplicates_allowed: int = 1,
        client: Elasticsearch | None = None,
        es_url: str | Sequence[str] | None = None,
        es_cloud_id: str | None = None,
        es_user: str | None = None,
        es_api_key: str | None = None,
        es_password: str | None = None,
        key_scheme: KeyScheme | str | None = None,
        ttl: timedelta | float | None = None,
        refresh: bool | str = False,
        fail_open: bool = False,
        es_params: Mapping[str, Any] | None = None,
        ca_certs: str | None = None,
        verify_certs: bool | None = None,
        request_timeout: float | None = None,
        max_retries: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        options = EmbeddingsCacheOptions.from_arguments(
            index_name=index_name,
            store_input=store_input,
            metadata=metadata,
            namespace=namespace,
            maximum_duplicates_allowed=maximum_duplicates_allowed,
            client=client,
            es_url=es_url,
            es_cloud_id=es_cloud_id,
            es_user=es_user,
            es_api_key=es_api_key,
            es_password=es_password,
            key_scheme=key_scheme,
            ttl=ttl,
            refresh=refresh,
            fail_open=fail_open,
            es_params=es_params,
            ca_certs=ca_certs,
            verify_certs=verify_certs,
            request_timeout=request_timeout,
            max_retries=max_retries,
            clock=clock,
        )
        # checked before connecting: a mistake costs no request, leaves no client open
        options.check()
        super().__init__(
            sync_repository(EMBEDDING_RECORDS, options.store),
            store_input=options.store_input,
            metadata=options.metadata,
            namespace=options.namespace,
            key_scheme=options.key_scheme,
            ttl=options.ttl,
            fail_open=options.store.fail_open,
            clock=options.clock,
        )
        self.index_name = index_name


class AsyncElasticsearchEmbeddingsCache(AsyncRepositoryByteStore):
    """Async embeddings ``ByteStore`` in Elasticsearch (use ``amget``/``amset``...).

    As :class:`ElasticsearchEmbeddingsCache`; a client made from the connection settings
    is checked at the first call instead of here (the same errors, raised by that call;
    with ``fail_open`` an outage is a miss).

    Args:
        index_name: Index or alias holding the entries; an index is created with the
            cache's mapping at the first write if it does not exist.
        store_input: Store each key (the embedded text) with its entry (``text_input``);
            without it ``yield_keys`` has nothing to list.
        metadata: Extra fields stored with every entry (JSON-serialisable).
        namespace: Part of every key and stored with it: one per embedding model, so two
            models never share vectors.
        maximum_duplicates_allowed: Behind an alias, the copies of one key expected (one
            per index); more are logged once. At least 1.
        client: A ready ``AsyncElasticsearch`` client, used as it is and not closed by the
            cache; excludes every connection setting below.
        es_url: URL of the cluster, or a list of node URLs.
        es_cloud_id: Elastic Cloud deployment id (instead of ``es_url``).
        es_user: User name for basic authentication (with ``es_password``).
        es_api_key: API key (instead of a user name and password).
        es_password: Password for ``es_user``.
        key_scheme: How an entry's id is made: ``"sha256"`` (default) or ``"legacy"`` (the
            ids ``langchain_elasticsearch`` writes), or a ``KeyScheme`` object.
        ttl: Age (a ``timedelta`` or seconds) after which an entry is a miss; ``None``
            keeps entries forever.
        refresh: Refresh after each write: ``False`` (default), ``True`` or ``"wait_for"``
            (only needed if something else must *search* new entries at once).
        fail_open: Treat an unreachable cluster as a miss (and a write as a no-op), with a
            rate-limited warning, instead of raising.
        es_params: Further keyword arguments for the ``Elasticsearch`` client.
        ca_certs: Path of the CA bundle that signed the cluster's certificate.
        verify_certs: ``False`` skips TLS certificate verification (tests only).
        request_timeout: Seconds before a request times out.
        max_retries: Retries of a failed request on other nodes.
        clock: Callable returning the current time as an aware ``datetime`` (for tests).

    Raises:
        ConfigurationError: An option is not valid, ``client`` comes with connection
            settings, or neither ``client`` nor ``es_url``/``es_cloud_id`` is given.
        InvalidIndexNameError: ``index_name`` breaks Elasticsearch's naming rules.
    """

    def __init__(
        self,
        index_name: str,
        *,
        store_input: bool = True,
        metadata: dict[str, Any] | None = None,
        namespace: str | None = None,
        maximum_duplicates_allowed: int = 1,
        client: AsyncElasticsearch | None = None,
        es_url: str | Sequence[str] | None = None,
        es_cloud_id: str | None = None,
        es_user: str | None = None,
        es_api_key: str | None = None,
        es_password: str | None = None,
        key_scheme: KeyScheme | str | None = None,
        ttl: timedelta | float | None = None,
        refresh: bool | str = False,
        fail_open: bool = False,
        es_params: Mapping[str, Any] | None = None,
        ca_certs: str | None = None,
        verify_certs: bool | None = None,
        request_timeout: float | None = None,
        max_retries: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        options = EmbeddingsCacheOptions.from_arguments(
            index_name=index_name,
            store_input=store_input,
            metadata=metadata,
            namespace=namespace,
            maximum_duplicates_allowed=maximum_duplicates_allowed,
            client=client,
            es_url=es_url,
            es_cloud_id=es_cloud_id,
            es_user=es_user,
            es_api_key=es_api_key,
            es_password=es_password,
            key_scheme=key_scheme,
            ttl=ttl,
            refresh=refresh,
            fail_open=fail_open,
            es_params=es_params,
            ca_certs=ca_certs,
            verify_certs=verify_certs,
            request_timeout=request_timeout,
            max_retries=max_retries,
            clock=clock,
        )
        # checked before connecting: a mistake costs no request, leaves no client open
        options.check()
        super().__init__(
            async_repository(EMBEDDING_RECORDS, options.store),
            store_input=options.store_input,
            metadata=options.metadata,
            namespace=options.namespace,
            key_scheme=options.key_scheme,
            ttl=options.ttl,
            fail_open=options.store.fail_open,
            clock=options.clock,
        )
        self.index_name = index_name
