"""The Elasticsearch caches: the generic LangChain classes composed with the ES adapter.

Constructor parameters are those of ``langchain_elasticsearch`` 1.0.0, plus this
library's own (``key_scheme``, ``ttl``, ``refresh``, ``fail_open``, TLS and timeouts).
With ``key_scheme="legacy"`` the same index is readable and writable by both libraries.

An LLM cache and an embeddings cache need an index each: the first lookup checks the
index (or every index behind an alias) and refuses, with a ``ConfigurationError``, one
that holds the other kind's entries (``clear()`` of one would delete the other's) or maps
a cache field with another type. Fail-open does not hide that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import attrs
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_core.embeddings import Embeddings

from ...adapters.elasticsearch import (
    EMBEDDING_RECORDS,
    LLM_RECORDS,
    AsyncElasticsearchRepository,
    AsyncElasticsearchVectorRepository,
    ConnectionCheckedRepository,
    ConnectionCheckedVectorRepository,
    ElasticsearchRepository,
    ElasticsearchVectorRepository,
    RecordKind,
    create_async_elasticsearch_client,
    create_elasticsearch_client,
    validate_index_name,
)
from ...domain.errors import BackendUnavailableError, ConfigurationError
from ...domain.keys import KeyScheme
from ...domain.policies import EmbeddingCachePolicy, LlmCachePolicy
from ...domain.ports import R
from ...domain.semantic import (
    DEFAULT_K,
    DEFAULT_SIMILARITY_THRESHOLD,
    HitGuard,
    PromptSplitter,
    SemanticCachePolicy,
    default_hit_guard,
)
from ._runtime import Clock, fail_open_call, quiet_during_fail_open_calls
from .byte_store import AsyncRepositoryByteStore, RepositoryByteStore
from .llm_cache import AsyncRepositoryLlmCache, RepositoryLlmCache
from .semantic_cache import (
    AsyncRepositorySemanticCache,
    RepositorySemanticCache,
    check_embedding,
)

logger = logging.getLogger("langchain_elasticsearch_cache")

# the client logs each failed request, dead node and retry at WARNING: during an outage
# that is several lines per cache call, which a fail-open cache replaces by its own
# rate-limited warning
_CLIENT_LOGGERS = (
    "elastic_transport.transport",
    "elastic_transport.node_pool",
    "elastic_transport.node",
)

_NEED_CONNECTION = (
    "Either 'client' or credentials (es_url, es_cloud_id, etc.) must be provided, "
    "e.g. ElasticsearchCache('llm-cache', es_url='http://localhost:9200')."
)


# the constructor parameter behind each _Connection field, in field order
_OPTION_NAMES = (
    "es_url",
    "es_cloud_id",
    "es_user",
    "es_api_key",
    "es_password",
    "es_params",
    "ca_certs",
    "verify_certs",
    "request_timeout",
    "max_retries",
)


@attrs.frozen(repr=False)
class _Connection:
    """How to reach Elasticsearch when no client is given. Never printed."""

    url: str | Sequence[str] | None
    cloud_id: str | None
    user: str | None
    api_key: str | None
    password: str | None
    params: Mapping[str, Any] | None
    ca_certs: str | None
    verify_certs: bool | None
    request_timeout: float | None
    max_retries: int | None

    def __repr__(self) -> str:
        return "_Connection(...)"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> _Connection:
        """The connection options among a constructor's arguments (``locals()``): the
        classes keep explicit keyword signatures, and the ten names are read here once."""
        return cls(*(options[name] for name in _OPTION_NAMES))

    def given(self) -> list[str]:
        """The names of the options that were set (not None), as the constructor spells them."""
        return [
            name
            for name, value in zip(_OPTION_NAMES, attrs.astuple(self, recurse=False), strict=True)
            if value is not None
        ]

    def refuse_with_client(self) -> None:
        """A ready ``client`` ignores every connection option: refuse them, rather than
        silently connect somewhere (or as someone) the caller did not ask for."""
        given = self.given()
        if given:
            raise ConfigurationError(
                f"client= is given together with {', '.join(given)}: a ready client already "
                "knows where and how to connect, so these would be ignored; pass either "
                "client= or the connection options (es_url or es_cloud_id, credentials, TLS, "
                "timeouts), not both (a given client's timeout and retries are set on it: "
                "client.options(request_timeout=..., max_retries=...))"
            )

    def factory_kwargs(self) -> dict[str, Any]:
        if self.url is None and self.cloud_id is None:
            raise ConfigurationError(_NEED_CONNECTION)
        return {
            "url": self.url,
            "cloud_id": self.cloud_id,
            "api_key": self.api_key,
            "username": self.user,
            "password": self.password,
            "params": dict(self.params) if self.params else None,
            "ca_certs": self.ca_certs,
            "verify_certs": self.verify_certs,
            "request_timeout": self.request_timeout,
            "max_retries": self.max_retries,
        }


T = TypeVar("T")


def _connection_for(options: Mapping[str, Any]) -> _Connection:
    """What every constructor does before it connects: the index name checked, ``client=``
    with connection options refused, the client's loggers quieted for fail-open."""
    validate_index_name(options["index_name"])
    connection = _Connection.from_options(options)
    if options["client"] is not None:
        connection.refuse_with_client()
    if options["fail_open"]:
        quiet_during_fail_open_calls(*_CLIENT_LOGGERS)
    return connection


def _open_sync(options: Mapping[str, Any], build: Callable[[Elasticsearch, bool], T]) -> T:
    """``build(client, owns_client)`` with the caller's client, or with one made from the
    connection options and checked now (fail-open rules in :func:`_checked_client`).

    A client made here is closed again if ``build`` refuses its options.
    """
    connection = _connection_for(options)
    given: Elasticsearch | None = options["client"]
    if given is not None:
        return build(given, False)
    client = _checked_client(connection, bool(options["fail_open"]))
    try:
        return build(client, True)
    except BaseException:
        client.close()
        raise


def _open_async(options: Mapping[str, Any], build: Callable[[AsyncElasticsearch, bool], T]) -> T:
    """``build(client, owns_client)``: the caller's client is used as it is (as the
    synchronous classes do); a client made here is not checked yet (a constructor cannot
    await), so ``build`` wraps it in a connection-checked repository, which makes the
    check the synchronous classes make here at the first call (same errors; with
    fail_open an outage is a miss)."""
    connection = _connection_for(options)
    given: AsyncElasticsearch | None = options["client"]
    if given is not None:
        return build(given, False)
    return build(create_async_elasticsearch_client(**connection.factory_kwargs()), True)


def _sync_repository(kind: RecordKind[R], options: Mapping[str, Any]) -> ElasticsearchRepository[R]:
    return _open_sync(
        options,
        lambda client, owns: ElasticsearchRepository(
            client,
            options["index_name"],
            kind,
            refresh=options["refresh"],
            maximum_duplicates_allowed=options["maximum_duplicates_allowed"],
            owns_client=owns,
        ),
    )


def _async_repository(
    kind: RecordKind[R], options: Mapping[str, Any]
) -> AsyncElasticsearchRepository[R]:
    def build(client: AsyncElasticsearch, owns: bool) -> AsyncElasticsearchRepository[R]:
        cls = ConnectionCheckedRepository if owns else AsyncElasticsearchRepository
        return cls(
            client,
            options["index_name"],
            kind,
            refresh=options["refresh"],
            maximum_duplicates_allowed=options["maximum_duplicates_allowed"],
            owns_client=owns,
        )

    return _open_async(options, build)


def _checked_client(connection: _Connection, fail_open: bool) -> Elasticsearch:
    """A client checked with one ``info()``; with ``fail_open`` an unreachable cluster is
    logged and the cache is built anyway (it misses until Elasticsearch answers).

    Wrong credentials, a server that is not Elasticsearch and bad parameters still raise:
    fail-open hides outages, never misconfiguration.
    """
    kwargs = connection.factory_kwargs()
    if not fail_open:
        return create_elasticsearch_client(**kwargs)
    try:
        with fail_open_call():
            return create_elasticsearch_client(**kwargs)
    except BackendUnavailableError as exc:
        logger.warning(
            "Elasticsearch is not answering while the cache is created; fail_open=True, so "
            "the cache is created anyway and every lookup is a miss until it answers: %s",
            exc,
        )
        return create_elasticsearch_client(**kwargs, check=False)


class ElasticsearchCache(RepositoryLlmCache):
    """LLM cache in an Elasticsearch index or alias (drop-in for ``langchain_elasticsearch``).

    ``set_llm_cache(ElasticsearchCache("llm-cache", es_url="http://localhost:9200"))``.
    Writes are not refreshed (lookups are realtime GETs); pass ``refresh=True`` or
    ``"wait_for"`` if something else must *search* entries right after they are written.
    Give it an index of its own, not an embeddings cache's (refused at the first lookup).
    An answer the cluster refuses to store (larger than ``http.max_content_length``, or
    not fitting the mapping) raises ``EntryRefusedError``; with ``fail_open=True`` it is
    returned to the caller uncached, logged and counted as ``refused``.
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
        # checked before connecting: a mistake costs no request, leaves no client open
        LlmCachePolicy(key_scheme=key_scheme, metadata=metadata, ttl=ttl)
        repository = _sync_repository(LLM_RECORDS, locals())
        super().__init__(
            repository,
            store_input=store_input,
            store_input_params=store_input_params,
            metadata=metadata,
            key_scheme=key_scheme,
            ttl=ttl,
            fail_open=fail_open,
            clock=clock,
        )
        self.index_name = index_name


class AsyncElasticsearchCache(AsyncRepositoryLlmCache):
    """Async LLM cache in an Elasticsearch index or alias (use ``alookup``/``aupdate``)."""

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
        # checked before connecting: a mistake costs no request, leaves no client open
        LlmCachePolicy(key_scheme=key_scheme, metadata=metadata, ttl=ttl)
        repository = _async_repository(LLM_RECORDS, locals())
        super().__init__(
            repository,
            store_input=store_input,
            store_input_params=store_input_params,
            metadata=metadata,
            key_scheme=key_scheme,
            ttl=ttl,
            fail_open=fail_open,
            clock=clock,
        )
        self.index_name = index_name


class ElasticsearchEmbeddingsCache(RepositoryByteStore):
    """Embeddings ``ByteStore`` in Elasticsearch, for ``CacheBackedEmbeddings``.

    Give it an index of its own, not an LLM cache's (refused at the first lookup). A
    batch too large for one request (``http.max_content_length``) is sent in smaller
    ones; an entry too large alone is refused (``EntryRefusedError``; skipped and counted
    as ``refused`` with ``fail_open=True``).
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
        # checked before connecting: a mistake costs no request, leaves no client open
        EmbeddingCachePolicy(key_scheme=key_scheme, metadata=metadata, ttl=ttl)
        repository = _sync_repository(EMBEDDING_RECORDS, locals())
        super().__init__(
            repository,
            store_input=store_input,
            metadata=metadata,
            namespace=namespace,
            key_scheme=key_scheme,
            ttl=ttl,
            fail_open=fail_open,
            clock=clock,
        )
        self.index_name = index_name


class AsyncElasticsearchEmbeddingsCache(AsyncRepositoryByteStore):
    """Async embeddings ``ByteStore`` in Elasticsearch (use ``amget``/``amset``...)."""

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
        # checked before connecting: a mistake costs no request, leaves no client open
        EmbeddingCachePolicy(key_scheme=key_scheme, metadata=metadata, ttl=ttl)
        repository = _async_repository(EMBEDDING_RECORDS, locals())
        super().__init__(
            repository,
            store_input=store_input,
            metadata=metadata,
            namespace=namespace,
            key_scheme=key_scheme,
            ttl=ttl,
            fail_open=fail_open,
            clock=clock,
        )
        self.index_name = index_name


def _semantic_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The generic semantic cache's options among a constructor's arguments, checked
    before connecting (a mistake costs no request and leaves no client open)."""
    check_embedding(options["embedding"])
    SemanticCachePolicy(
        llm=LlmCachePolicy(
            key_scheme=options["key_scheme"],
            metadata=options["metadata"],
            ttl=options["ttl"],
        ),
        splitter=options["prompt_splitter"],
        similarity_threshold=options["similarity_threshold"],
        hit_guard=options["hit_guard"],
        k=options["k"],
    )
    names = (
        "similarity_threshold",
        "prompt_splitter",
        "hit_guard",
        "k",
        "store_input",
        "store_input_params",
        "metadata",
        "key_scheme",
        "ttl",
        "fail_open",
        "clock",
    )
    return {name: options[name] for name in names}


class ElasticsearchSemanticCache(RepositorySemanticCache):
    """Semantic LLM cache in an Elasticsearch index or alias: a prompt that *means* the
    same as a cached one (for the same model and the same earlier context) is answered
    from the cache.

    ``set_llm_cache(ElasticsearchSemanticCache("llm-semantic", embeddings,
    es_url="http://localhost:9200"))``. An exact repeat is a realtime GET (no embedding
    call); other lookups are one filtered kNN search, which sees refreshed documents only:
    with the default ``refresh=False`` a new entry is found semantically after the next
    index refresh (``index.refresh_interval``), with ``refresh="wait_for"`` each write
    waits for it. The index takes its vector length from the first entry; an existing
    index with another length is a ``ConfigurationError``. ``num_candidates`` tunes the
    kNN search (see :class:`ElasticsearchVectorRepository`). Options otherwise as
    :class:`ElasticsearchCache` and :class:`RepositorySemanticCache`.
    """

    def __init__(
        self,
        index_name: str,
        embedding: Embeddings,
        *,
        similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD,
        prompt_splitter: PromptSplitter | None = None,
        hit_guard: HitGuard | None = default_hit_guard,
        k: int = DEFAULT_K,
        num_candidates: int | None = None,
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
        options = _semantic_options(locals())
        repository = _open_sync(
            locals(),
            lambda client, owns: ElasticsearchVectorRepository(
                client,
                index_name,
                refresh=refresh,
                maximum_duplicates_allowed=maximum_duplicates_allowed,
                owns_client=owns,
                num_candidates=num_candidates,
            ),
        )
        super().__init__(repository, embedding, **options)
        self.index_name = index_name


class AsyncElasticsearchSemanticCache(AsyncRepositorySemanticCache):
    """Async semantic LLM cache in an Elasticsearch index or alias (use ``alookup`` /
    ``aupdate``); as :class:`ElasticsearchSemanticCache`, with the connection checked at
    the first call. Concurrent lookups share ``mget`` requests for their exact keys."""

    def __init__(
        self,
        index_name: str,
        embedding: Embeddings,
        *,
        similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD,
        prompt_splitter: PromptSplitter | None = None,
        hit_guard: HitGuard | None = default_hit_guard,
        k: int = DEFAULT_K,
        num_candidates: int | None = None,
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
        options = _semantic_options(locals())

        def build(es: AsyncElasticsearch, owns: bool) -> AsyncElasticsearchVectorRepository:
            cls = ConnectionCheckedVectorRepository if owns else AsyncElasticsearchVectorRepository
            return cls(
                es,
                index_name,
                refresh=refresh,
                maximum_duplicates_allowed=maximum_duplicates_allowed,
                owns_client=owns,
                num_candidates=num_candidates,
            )

        repository = _open_async(locals(), build)
        super().__init__(repository, embedding, **options)
        self.index_name = index_name
