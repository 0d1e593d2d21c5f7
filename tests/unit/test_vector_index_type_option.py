"""``vector_index_type``: a wrong value is refused when the cache is made, before any
request (nothing listens at the URL given)."""

from __future__ import annotations

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from langchain_elasticsearch_cache import (
    AsyncElasticsearchSemanticCache,
    ElasticsearchSemanticCache,
)
from langchain_elasticsearch_cache.domain.errors import ConfigurationError


@pytest.mark.parametrize("cls", [ElasticsearchSemanticCache, AsyncElasticsearchSemanticCache])
@pytest.mark.parametrize("value", ["int4_hnsw", "HNSW", "", None])
def test_an_unknown_vector_index_type_is_refused(cls: type, value: object) -> None:
    with pytest.raises(ConfigurationError, match="vector_index_type must be one of hnsw"):
        cls(
            index_name="semantic-cache",
            embedding=DeterministicFakeEmbedding(size=8),
            es_url="http://127.0.0.1:9",
            vector_index_type=value,
        )
