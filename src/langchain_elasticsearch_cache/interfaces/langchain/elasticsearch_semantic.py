"""The Elasticsearch semantic caches: the generic semantic cache over the ES vector adapter.

A prompt that *means* the same as a cached one (for the same model and the same earlier
context) is answered from the cache. The options are those of the LLM caches
(:mod:`.elasticsearch_caches`) plus the semantic ones, read once, by name, into a
:class:`~.options.SemanticCacheOptions`, checked before any connection is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, TypedDict

from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_core.embeddings import Embeddings

from ...adapters.elasticsearch import (
    AsyncElasticsearchVectorRepository,
    ConnectionCheckedVectorRepository,
    ElasticsearchVectorRepository,
)
from ...domain.keys import KeyScheme
from ...domain.semantic import (
    DEFAULT_K,
    DEFAULT_SIMILARITY_THRESHOLD,
    AnswerJudge,
    HitGuard,
    PromptSplitter,
    default_hit_guard,
)
from ._connect import open_async, open_sync
from ._runtime import Clock
from .options import SemanticCacheOptions
from .semantic_cache import AsyncRepositorySemanticCache, RepositorySemanticCache

__all__ = ["AsyncElasticsearchSemanticCache", "ElasticsearchSemanticCache"]


class _RepositoryOptions(TypedDict):
    refresh: bool | str
    maximum_duplicates_allowed: int
    num_candidates: int | None
    vector_index_type: str


def _repository_options(options: SemanticCacheOptions[Any]) -> _RepositoryOptions:
    """The vector repository's own options (both twins; the client and ``owns_client``
    apart), by name."""
    return _RepositoryOptions(
        refresh=options.store.refresh,
        maximum_duplicates_allowed=options.store.maximum_duplicates_allowed,
        num_candidates=options.num_candidates,
        vector_index_type=options.vector_index_type,
    )


def _cache_options(options: SemanticCacheOptions[Any]) -> dict[str, Any]:
    """The options of the repository-backed semantic cache (both twins), by name."""
    return {
        "similarity_threshold": options.similarity_threshold,
        "prompt_splitter": options.prompt_splitter,
        "hit_guard": options.hit_guard,
        "k": options.k,
        "max_error_rate": options.max_error_rate,
        "answer_judge": options.answer_judge,
        "store_input": options.llm.store_input,
        "store_input_params": options.llm.store_input_params,
        "metadata": options.llm.metadata,
        "key_scheme": options.llm.key_scheme,
        "ttl": options.llm.ttl,
        "fail_open": options.store.fail_open,
        "clock": options.llm.clock,
    }


class ElasticsearchSemanticCache(RepositorySemanticCache):
    """Semantic LLM cache in an Elasticsearch index or alias.

    ``set_llm_cache(ElasticsearchSemanticCache("llm-semantic", embeddings,
    es_url="http://localhost:9200"))``. An exact repeat is a realtime GET (no embedding
    call); other lookups are one filtered kNN search, which sees refreshed documents only:
    with the default ``refresh=False`` a new entry is found semantically after the next
    index refresh (``index.refresh_interval``), with ``refresh="wait_for"`` each write
    waits for it. The index takes its vector length from the first entry; an existing
    index with another length is a ``ConfigurationError``.

    Args:
        index_name: Index or alias holding the entries; an index is created with the
            cache's mapping at the first write if it does not exist.
        embedding: The LangChain ``Embeddings`` that embeds each prompt's question.
        similarity_threshold: Least cosine similarity (in [-1, 1]) of a semantic hit;
            higher is stricter.
        prompt_splitter: Callable splitting a prompt into ``PromptParts`` (the meaning,
            embedded, and the context, matched exactly); ``None`` uses ``split_prompt``.
        hit_guard: Callable ``(query_text, candidate_text)`` that may refuse a candidate
            (``default_hit_guard`` by default); ``None`` turns guarding off.
        k: Most candidates the kNN search returns.
        num_candidates: Candidates per shard of the kNN search; ``None`` means
            ``max(100, 10 * k)``. More raises recall and latency.
        max_error_rate: ``None`` (default: the threshold alone decides), or above 0 and
            below 0.5: verified hits. A semantic hit is served only when the entry's
            learned model estimates the chance of a wrong answer at this similarity to be
            at most this; otherwise the lookup is a miss and the model's answer teaches
            the entry (see docs/SEMANTIC.md, "Verified hits").
        answer_judge: Callable ``(fresh, cached) -> bool`` saying whether an explored
            entry's answer was right; ``None`` compares the normalised texts.
        vector_index_type: How a new index keeps the prompt vectors: ``"hnsw"`` (float,
            the default), ``"int8_hnsw"`` (a quarter of the memory) or ``"bbq_hnsw"``
            (about a 32nd; 64 dimensions or more). With a quantized type the candidates
            are rescored with the float vectors (Elasticsearch 8.18+) and the threshold
            is applied to the exact cosine. An existing index keeps its type. Sizes:
            docs/OPERATIONS.md, "Semantic cache capacity".
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
        key_scheme: How an entry's id is made: ``"sha256"`` (default) or ``"legacy"``, or
            a ``KeyScheme`` object.
        ttl: Age (a ``timedelta`` or seconds) after which an entry is a miss; ``None``
            keeps entries forever.
        refresh: Refresh after each write: ``False`` (default), ``True`` or ``"wait_for"``
            (a new entry is then found by the next semantic lookup at once).
        fail_open: Treat an unreachable cluster, or a failing embedding model, as a miss
            (and a write as a no-op), with a rate-limited warning, instead of raising.
        maximum_duplicates_allowed: Behind an alias, the copies of one key expected (one
            per index); more are logged once. At least 1.
        es_params: Further keyword arguments for the ``Elasticsearch`` client.
        ca_certs: Path of the CA bundle that signed the cluster's certificate.
        verify_certs: ``False`` skips TLS certificate verification (tests only).
        request_timeout: Seconds before a request times out.
        max_retries: Retries of a failed request on other nodes.
        clock: Callable returning the current time as an aware ``datetime`` (for tests).

    Raises:
        ConfigurationError: An option is not valid, ``embedding`` is not an
            ``Embeddings``, ``client`` comes with connection settings, or neither
            ``client`` nor ``es_url``/``es_cloud_id`` is given.
        InvalidIndexNameError: ``index_name`` breaks Elasticsearch's naming rules.
        AuthenticationError: The cluster refuses the credentials.
        BackendUnavailableError: The cluster cannot be reached (not with ``fail_open``).
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
        max_error_rate: float | None = None,
        answer_judge: AnswerJudge | None = None,
        vector_index_type: str = "hnsw",
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
        options = SemanticCacheOptions.from_arguments(
            index_name=index_name,
            embedding=embedding,
            similarity_threshold=similarity_threshold,
            prompt_splitter=prompt_splitter,
            hit_guard=hit_guard,
            k=k,
            num_candidates=num_candidates,
            max_error_rate=max_error_rate,
            answer_judge=answer_judge,
            vector_index_type=vector_index_type,
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
        store = options.store
        repository = open_sync(
            store,
            lambda es, owns: ElasticsearchVectorRepository(
                es, store.index_name, owns_client=owns, **_repository_options(options)
            ),
        )
        super().__init__(repository, options.embedding, **_cache_options(options))
        self.index_name = index_name


class AsyncElasticsearchSemanticCache(AsyncRepositorySemanticCache):
    """Async semantic LLM cache in an Elasticsearch index or alias (``alookup``/``aupdate``).

    As :class:`ElasticsearchSemanticCache`; a client made from the connection settings is
    checked at the first call instead of here (the same errors, raised by that call; with
    ``fail_open`` an outage is a miss). Concurrent lookups share ``mget`` requests for
    their exact keys.

    Args:
        index_name: Index or alias holding the entries; an index is created with the
            cache's mapping at the first write if it does not exist.
        embedding: The LangChain ``Embeddings`` that embeds each prompt's question.
        similarity_threshold: Least cosine similarity (in [-1, 1]) of a semantic hit;
            higher is stricter.
        prompt_splitter: Callable splitting a prompt into ``PromptParts`` (the meaning,
            embedded, and the context, matched exactly); ``None`` uses ``split_prompt``.
        hit_guard: Callable ``(query_text, candidate_text)`` that may refuse a candidate
            (``default_hit_guard`` by default); ``None`` turns guarding off.
        k: Most candidates the kNN search returns.
        num_candidates: Candidates per shard of the kNN search; ``None`` means
            ``max(100, 10 * k)``. More raises recall and latency.
        max_error_rate: ``None`` (default: the threshold alone decides), or above 0 and
            below 0.5: verified hits. A semantic hit is served only when the entry's
            learned model estimates the chance of a wrong answer at this similarity to be
            at most this; otherwise the lookup is a miss and the model's answer teaches
            the entry (see docs/SEMANTIC.md, "Verified hits").
        answer_judge: Callable ``(fresh, cached) -> bool`` saying whether an explored
            entry's answer was right; ``None`` compares the normalised texts.
        vector_index_type: How a new index keeps the prompt vectors: ``"hnsw"`` (float,
            the default), ``"int8_hnsw"`` (a quarter of the memory) or ``"bbq_hnsw"``
            (about a 32nd; 64 dimensions or more). With a quantized type the candidates
            are rescored with the float vectors (Elasticsearch 8.18+) and the threshold
            is applied to the exact cosine. An existing index keeps its type. Sizes:
            docs/OPERATIONS.md, "Semantic cache capacity".
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
        key_scheme: How an entry's id is made: ``"sha256"`` (default) or ``"legacy"``, or
            a ``KeyScheme`` object.
        ttl: Age (a ``timedelta`` or seconds) after which an entry is a miss; ``None``
            keeps entries forever.
        refresh: Refresh after each write: ``False`` (default), ``True`` or ``"wait_for"``
            (a new entry is then found by the next semantic lookup at once).
        fail_open: Treat an unreachable cluster, or a failing embedding model, as a miss
            (and a write as a no-op), with a rate-limited warning, instead of raising.
        maximum_duplicates_allowed: Behind an alias, the copies of one key expected (one
            per index); more are logged once. At least 1.
        es_params: Further keyword arguments for the ``Elasticsearch`` client.
        ca_certs: Path of the CA bundle that signed the cluster's certificate.
        verify_certs: ``False`` skips TLS certificate verification (tests only).
        request_timeout: Seconds before a request times out.
        max_retries: Retries of a failed request on other nodes.
        clock: Callable returning the current time as an aware ``datetime`` (for tests).

    Raises:
        ConfigurationError: An option is not valid, ``embedding`` is not an
            ``Embeddings``, ``client`` comes with connection settings, or neither
            ``client`` nor ``es_url``/``es_cloud_id`` is given.
        InvalidIndexNameError: ``index_name`` breaks Elasticsearch's naming rules.
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
        max_error_rate: float | None = None,
        answer_judge: AnswerJudge | None = None,
        vector_index_type: str = "hnsw",
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
        options = SemanticCacheOptions.from_arguments(
            index_name=index_name,
            embedding=embedding,
            similarity_threshold=similarity_threshold,
            prompt_splitter=prompt_splitter,
            hit_guard=hit_guard,
            k=k,
            num_candidates=num_candidates,
            max_error_rate=max_error_rate,
            answer_judge=answer_judge,
            vector_index_type=vector_index_type,
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
        store = options.store

        def build(es: AsyncElasticsearch, owns: bool) -> AsyncElasticsearchVectorRepository:
            cls = ConnectionCheckedVectorRepository if owns else AsyncElasticsearchVectorRepository
            return cls(es, store.index_name, owns_client=owns, **_repository_options(options))

        repository = open_async(store, build)
        super().__init__(repository, options.embedding, **_cache_options(options))
        self.index_name = index_name
