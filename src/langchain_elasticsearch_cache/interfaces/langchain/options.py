"""The Elasticsearch caches' constructor options, read once and by name.

The six Elasticsearch classes keep explicit keyword signatures (those of
``langchain_elasticsearch`` 1.0.0 plus this library's own), so that IDEs show them. Each
constructor hands its arguments, by name, to one classmethod here (``from_arguments``,
keyword-only, no defaults: mypy makes a constructor pass every one), which assembles a
frozen, typed object; the code that checks the options, connects and builds a repository
reads its attributes. ``tests/unit/test_constructor_signatures.py`` checks that every
constructor parameter arrives in the object under its own name.

``from_arguments`` only assembles; the checks (``check()``) run before any connection is
made, so that a mistake costs no request and leaves no client open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Generic, TypeVar

import attrs
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_core.embeddings import Embeddings

from ...adapters.elasticsearch import validate_index_name
from ...adapters.elasticsearch.mappings import VECTOR_INDEX_TYPES
from ...domain.errors import ConfigurationError
from ...domain.keys import KeyScheme
from ...domain.policies import EmbeddingCachePolicy, LlmCachePolicy
from ...domain.semantic import AnswerJudge, HitGuard, PromptSplitter, SemanticCachePolicy
from ._runtime import Clock
from ._semantic_base import check_embedding

__all__ = [
    "ClientT",
    "ConnectionOptions",
    "EmbeddingsCacheOptions",
    "LlmCacheOptions",
    "SemanticCacheOptions",
    "StoreOptions",
]

ClientT = TypeVar("ClientT", Elasticsearch, AsyncElasticsearch)
"""The client a cache class takes: ``Elasticsearch`` or ``AsyncElasticsearch``."""


@attrs.frozen(kw_only=True, repr=False)
class ConnectionOptions(Generic[ClientT]):
    """How to reach Elasticsearch: a ready ``client``, or the settings to make one from.

    Never printed: it may hold credentials. The attributes are the constructor parameters
    of the same names (see :class:`ElasticsearchCache`).
    """

    client: ClientT | None
    es_url: str | Sequence[str] | None
    es_cloud_id: str | None
    es_user: str | None
    es_api_key: str | None
    es_password: str | None
    es_params: Mapping[str, Any] | None
    ca_certs: str | None
    verify_certs: bool | None
    request_timeout: float | None
    max_retries: int | None

    def __repr__(self) -> str:
        return "ConnectionOptions(...)"

    def settings_given(self) -> list[str]:
        """The connection settings that were set (not None), as the constructor names them."""
        settings = (
            ("es_url", self.es_url),
            ("es_cloud_id", self.es_cloud_id),
            ("es_user", self.es_user),
            ("es_api_key", self.es_api_key),
            ("es_password", self.es_password),
            ("es_params", self.es_params),
            ("ca_certs", self.ca_certs),
            ("verify_certs", self.verify_certs),
            ("request_timeout", self.request_timeout),
            ("max_retries", self.max_retries),
        )
        return [name for name, value in settings if value is not None]

    def check(self) -> None:
        """Refuse settings next to a ready client, or neither a client nor a place to connect.

        Raises:
            ConfigurationError: ``client`` is given with connection settings (they would be
                ignored: connecting somewhere, or as someone, the caller did not ask for),
                or neither ``client`` nor ``es_url``/``es_cloud_id`` is given.
        """
        if self.client is not None:
            given = self.settings_given()
            if given:
                raise ConfigurationError(
                    f"client= is given together with {', '.join(given)}: a ready client "
                    "already knows where and how to connect, so these would be ignored; pass "
                    "either client= or the connection options (es_url or es_cloud_id, "
                    "credentials, TLS, timeouts), not both (a given client's timeout and "
                    "retries are set on it: client.options(request_timeout=..., "
                    "max_retries=...))"
                )
        elif self.es_url is None and self.es_cloud_id is None:
            raise ConfigurationError(
                "Either 'client' or credentials (es_url, es_cloud_id, etc.) must be provided, "
                "e.g. ElasticsearchCache('llm-cache', es_url='http://localhost:9200')."
            )


@attrs.frozen(kw_only=True)
class StoreOptions(Generic[ClientT]):
    """Where a cache's entries live and how they are written: what the repository needs.

    ``fail_open`` is here too: it decides whether an unreachable cluster stops the
    constructor.
    """

    connection: ConnectionOptions[ClientT]
    index_name: str
    refresh: bool | str
    maximum_duplicates_allowed: int
    fail_open: bool

    def check(self) -> None:
        """Check the index name, then the connection options.

        Raises:
            InvalidIndexNameError: ``index_name`` breaks Elasticsearch's naming rules.
            ConfigurationError: the connection options contradict each other.
        """
        validate_index_name(self.index_name)
        self.connection.check()


@attrs.frozen(kw_only=True)
class LlmCacheOptions(Generic[ClientT]):
    """The options of :class:`ElasticsearchCache` and :class:`AsyncElasticsearchCache`."""

    store: StoreOptions[ClientT]
    store_input: bool
    store_input_params: bool
    metadata: dict[str, Any] | None
    key_scheme: KeyScheme | str | None
    ttl: timedelta | float | None
    clock: Clock | None

    @classmethod
    def from_arguments(
        cls,
        *,
        index_name: str,
        store_input: bool,
        store_input_params: bool,
        metadata: dict[str, Any] | None,
        client: ClientT | None,
        es_url: str | Sequence[str] | None,
        es_cloud_id: str | None,
        es_user: str | None,
        es_api_key: str | None,
        es_password: str | None,
        key_scheme: KeyScheme | str | None,
        ttl: timedelta | float | None,
        refresh: bool | str,
        fail_open: bool,
        maximum_duplicates_allowed: int,
        es_params: Mapping[str, Any] | None,
        ca_certs: str | None,
        verify_certs: bool | None,
        request_timeout: float | None,
        max_retries: int | None,
        clock: Clock | None,
    ) -> LlmCacheOptions[ClientT]:
        """The options, from the constructor's arguments of the same names (not checked)."""
        connection = ConnectionOptions(
            client=client,
            es_url=es_url,
            es_cloud_id=es_cloud_id,
            es_user=es_user,
            es_api_key=es_api_key,
            es_password=es_password,
            es_params=es_params,
            ca_certs=ca_certs,
            verify_certs=verify_certs,
            request_timeout=request_timeout,
            max_retries=max_retries,
        )
        store = StoreOptions(
            connection=connection,
            index_name=index_name,
            refresh=refresh,
            maximum_duplicates_allowed=maximum_duplicates_allowed,
            fail_open=fail_open,
        )
        return cls(
            store=store,
            store_input=store_input,
            store_input_params=store_input_params,
            metadata=metadata,
            key_scheme=key_scheme,
            ttl=ttl,
            clock=clock,
        )

    def check(self) -> None:
        """Check every option that needs no connection.

        Raises:
            ConfigurationError: a key scheme, ``metadata`` or ``ttl`` is not valid, or the
                connection options contradict each other.
            InvalidIndexNameError: ``index_name`` breaks Elasticsearch's naming rules.
        """
        LlmCachePolicy(key_scheme=self.key_scheme, metadata=self.metadata, ttl=self.ttl)
        self.store.check()


@attrs.frozen(kw_only=True)
class EmbeddingsCacheOptions(Generic[ClientT]):
    """The options of :class:`ElasticsearchEmbeddingsCache` and its async twin."""

    store: StoreOptions[ClientT]
    store_input: bool
    metadata: dict[str, Any] | None
    namespace: str | None
    key_scheme: KeyScheme | str | None
    ttl: timedelta | float | None
    clock: Clock | None

    @classmethod
    def from_arguments(
        cls,
        *,
        index_name: str,
        store_input: bool,
        metadata: dict[str, Any] | None,
        namespace: str | None,
        maximum_duplicates_allowed: int,
        client: ClientT | None,
        es_url: str | Sequence[str] | None,
        es_cloud_id: str | None,
        es_user: str | None,
        es_api_key: str | None,
        es_password: str | None,
        key_scheme: KeyScheme | str | None,
        ttl: timedelta | float | None,
        refresh: bool | str,
        fail_open: bool,
        es_params: Mapping[str, Any] | None,
        ca_certs: str | None,
        verify_certs: bool | None,
        request_timeout: float | None,
        max_retries: int | None,
        clock: Clock | None,
    ) -> EmbeddingsCacheOptions[ClientT]:
        """The options, from the constructor's arguments of the same names (not checked)."""
        connection = ConnectionOptions(
            client=client,
            es_url=es_url,
            es_cloud_id=es_cloud_id,
            es_user=es_user,
            es_api_key=es_api_key,
            es_password=es_password,
            es_params=es_params,
            ca_certs=ca_certs,
            verify_certs=verify_certs,
            request_timeout=request_timeout,
            max_retries=max_retries,
        )
        store = StoreOptions(
            connection=connection,
            index_name=index_name,
            refresh=refresh,
            maximum_duplicates_allowed=maximum_duplicates_allowed,
            fail_open=fail_open,
        )
        return cls(
            store=store,
            store_input=store_input,
            metadata=metadata,
            namespace=namespace,
            key_scheme=key_scheme,
            ttl=ttl,
            clock=clock,
        )

    def check(self) -> None:
        """Check every option that needs no connection.

        Raises:
            ConfigurationError: a key scheme, ``metadata`` or ``ttl`` is not valid, or the
                connection options contradict each other.
            InvalidIndexNameError: ``index_name`` breaks Elasticsearch's naming rules.
        """
        EmbeddingCachePolicy(key_scheme=self.key_scheme, metadata=self.metadata, ttl=self.ttl)
        self.store.check()


@attrs.frozen(kw_only=True)
class SemanticCacheOptions(Generic[ClientT]):
    """The options of :class:`ElasticsearchSemanticCache` and its async twin: those of the
    LLM cache (``llm``) plus the semantic ones."""

    llm: LlmCacheOptions[ClientT]
    embedding: Embeddings
    similarity_threshold: float
    prompt_splitter: PromptSplitter | None
    hit_guard: HitGuard | None
    k: int
    num_candidates: int | None
    max_error_rate: float | None
    answer_judge: AnswerJudge | None
    vector_index_type: str = "hnsw"

    @classmethod
    def from_arguments(
        cls,
        *,
        index_name: str,
        embedding: Embeddings,
        similarity_threshold: float,
        prompt_splitter: PromptSplitter | None,
        hit_guard: HitGuard | None,
        k: int,
        num_candidates: int | None,
        max_error_rate: float | None,
        answer_judge: AnswerJudge | None,
        store_input: bool,
        store_input_params: bool,
        metadata: dict[str, Any] | None,
        client: ClientT | None,
        es_url: str | Sequence[str] | None,
        es_cloud_id: str | None,
        es_user: str | None,
        es_api_key: str | None,
        es_password: str | None,
        key_scheme: KeyScheme | str | None,
        ttl: timedelta | float | None,
        refresh: bool | str,
        fail_open: bool,
        maximum_duplicates_allowed: int,
        es_params: Mapping[str, Any] | None,
        ca_certs: str | None,
        verify_certs: bool | None,
        request_timeout: float | None,
        max_retries: int | None,
        clock: Clock | None,
        vector_index_type: str = "hnsw",
    ) -> SemanticCacheOptions[ClientT]:
        """The options, from the constructor's arguments of the same names (not checked)."""
        llm = LlmCacheOptions.from_arguments(
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
        return cls(
            llm=llm,
            embedding=embedding,
            similarity_threshold=similarity_threshold,
            prompt_splitter=prompt_splitter,
            hit_guard=hit_guard,
            k=k,
            num_candidates=num_candidates,
            max_error_rate=max_error_rate,
            answer_judge=answer_judge,
            vector_index_type=vector_index_type,
        )

    @property
    def store(self) -> StoreOptions[ClientT]:
        """Where the entries live (the LLM options' store)."""
        return self.llm.store

    def check(self) -> None:
        """Check every option that needs no connection.

        Raises:
            ConfigurationError: ``embedding`` is not a LangChain ``Embeddings``, a semantic
                option (threshold, ``k``, splitter, guard, ``max_error_rate``,
                ``answer_judge``) or an LLM cache option is not valid, or the connection
                options contradict each other.
            InvalidIndexNameError: ``index_name`` breaks Elasticsearch's naming rules.
        """
        check_embedding(self.embedding)
        SemanticCachePolicy(
            llm=LlmCachePolicy(
                key_scheme=self.llm.key_scheme, metadata=self.llm.metadata, ttl=self.llm.ttl
            ),
            splitter=self.prompt_splitter,
            similarity_threshold=self.similarity_threshold,
            hit_guard=self.hit_guard,
            k=self.k,
            max_error_rate=self.max_error_rate,
            answer_judge=self.answer_judge,
        )
        if self.vector_index_type not in VECTOR_INDEX_TYPES:
            raise ConfigurationError(
                f"vector_index_type must be one of {', '.join(VECTOR_INDEX_TYPES)}, "
                f"not {self.vector_index_type!r}"
            )
        self.store.check()
