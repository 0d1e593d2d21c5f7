"""The Elasticsearch LLM caches: the generic LLM cache classes over the ES adapter.

Constructor parameters are those of ``langchain_elasticsearch`` 1.0.0, plus this
library's own (``key_scheme``, ``ttl``, ``refresh``, ``fail_open``, TLS and timeouts).
With ``key_scheme="legacy"`` the same index is readable and writable by both libraries.
Each constructor reads its arguments once, by name, into an options object
(:mod:`.options`), checked before any connection is made.

An LLM cache and an embeddings cache (:mod:`.elasticsearch_embeddings`) need an index
each: the first lookup checks the index (or every index behind an alias) and refuses,
with a ``ConfigurationError``, one that holds the other kind's entries (``clear()`` of one
would delete the other's) or maps a cache field with another type. Fail-open does not hide that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch

from ...adapters.elasticsearch import LLM_RECORDS
from ...domain.keys import KeyScheme
from ._connect import async_repository, sync_repository
from ._runtime import Clock
from .llm_cache import AsyncRepositoryLlmCache, RepositoryLlmCache
from .options import LlmCacheOptions

__all__ = [
    "AsyncElasticsearchCache",
    "ElasticsearchCache",
]


class ElasticsearchCache(RepositoryLlmCache):
    """LLM cache in an Elasticsearch index or alias (drop-in for ``langchain_elasticsearch``).

    ``set_llm_cache(ElasticsearchCache("llm-cache", es_url="http://localhost:9200"))``.
    Writes are not refreshed (lookups are realtime GETs). Give it an index of its own, not
    an embeddings cache's (refused at the first lookup). An answer the cluster refuses to
    store (larger than ``http.max_content_length``, or not fitting the mapping) raises
    ``EntryRefusedError``; with ``fail_open=True`` it is returned to the caller uncached,
    logged and counted as ``refused``.

    Args:
        index_name: Index or alias holding the entries; an index is created with the
            cache's mapping at the first write if it does not exist.
        store_input: Store the prompt with each entry (``llm_input``).
        store_input_params: Store the model parameters (``llm_string``) with each entry.
        metadata: Extra fields stored with every entry (JSON-serialisable).
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
        maximum_duplicates_allowed: Behind an alias, the copies of one key expected (one
            per index); more are logged once. At least 1.
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
        store_input_params: bool = True,
        metadata: dict[str, Any] | None = None,
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
        maximum_duplicates_allowed: int = 1,
        es_params: Mapping[str, Any] | None = None,
        ca_certs: str | None = None,
        verify_certs: bool | None = None,
        request_timeout: float | None = None,
        max_retries: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        options = LlmCacheOptions.from_arguments(
            index_name=index_name,
            store_input=store_input,
            store_input_params=store_input_params,
            metadata=metadata,
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
            maximum_duplicates_allowed=maximum_duplicates_allowed,
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
            sync_repository(LLM_RECORDS, options.store),
            store_input=options.store_input,
            store_input_params=options.store_input_params,
            metadata=options.metadata,
            key_scheme=options.key_scheme,
            ttl=options.ttl,
            fail_open=options.store.fail_open,
            clock=options.clock,
        )
        self.index_name = index_name


class AsyncElasticsearchCache(AsyncRepositoryLlmCache):
    """Async LLM cache in an Elasticsearch index or alias (use ``alookup``/``aupdate``).

    As :class:`ElasticsearchCache`; a client made from the connection settings is checked
    at the first call instead of here (the same errors, raised by that call; with
    ``fail_open`` an outage is a miss).

    Args:
        index_name: Index or alias holding the entries; an index is created with the
            cache's mapping at the first write if it does not exist.
        store_input: Store the prompt with each entry (``llm_input``).
        store_input_params: Store the model parameters (``llm_string``) with each entry.
        metadata: Extra fields stored with every entry (JSON-serialisable).
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
        maximum_duplicates_allowed: Behind an alias, the copies of one key expected (one
            per index); more are logged once. At least 1.
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
        store_input_params: bool = True,
        metadata: dict[str, Any] | None = None,
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
        maximum_duplicates_allowed: int = 1,
        es_params: Mapping[str, Any] | None = None,
        ca_certs: str | None = None,
        verify_certs: bool | None = None,
        request_timeout: float | None = None,
        max_retries: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        options = LlmCacheOptions.from_arguments(
            index_name=index_name,
            store_input=store_input,
            store_input_params=store_input_params,
            metadata=metadata,
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
            maximum_duplicates_allowed=maximum_duplicates_allowed,
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
            async_repository(LLM_RECORDS, options.store),
            store_input=options.store_input,
            store_input_params=options.store_input_params,
            metadata=options.metadata,
            key_scheme=options.key_scheme,
            ttl=options.ttl,
            fail_open=options.store.fail_open,
            clock=options.clock,
        )
        self.index_name = index_name
