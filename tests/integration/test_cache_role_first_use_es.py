"""What a cache's first use does with the caches' role (``read``, ``write``,
``view_index_metadata``), on a secured node with API keys:

* on an alias rolled over by an earlier version (its indices' ``_meta`` records no
  embedding model), the semantic cache records its model on the write index only (there
  too a put-mapping request, which ``write`` grants with that warning). It
  recorded it on every index behind the alias that lacked it: on an older index that is
  never written to, a put-mapping request the ``write`` privilege grants with a
  deprecation warning (an ``ElasticsearchWarning``), and that a read-only older index
  (``index.blocks.read_only``) refuses, which the cache then logged as "no privilege to
  record the embedding model". The check still reads every index: another model recorded
  on an older index is refused.
* before taking over an empty, unidentified index it counts the index's documents after a
  refresh; a refused refresh (no ``maintenance``) is a ``PermissionDeniedError`` naming
  the privilege, the index left as it is. It was ignored: the count of the refreshed
  documents only was 0 for an index holding unrefreshed documents, which was taken over.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch, ElasticsearchWarning
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchSemanticCache,
    PermissionDeniedError,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import (
    CACHE_MARKER,
    SEMANTIC_RECORDS,
    marker_with_embedding,
)
from langchain_elasticsearch_cache.interfaces.langchain.embedding_identity import (
    embedding_identity,
)
from lecache_devtools.node import LocalElasticsearchNode

from ._secured import admin_client, api_key, key_options

pytestmark = pytest.mark.elasticsearch

PREFIX = "first-use-"
CACHE_ROLE = ("read", "write", "view_index_metadata")
QUESTION = "What is the capital of France?"
ANSWER = [Generation(text="Paris")]


@pytest.fixture(scope="module")
def admin(secure_node: LocalElasticsearchNode) -> Iterator[Elasticsearch]:
    with admin_client(secure_node, PREFIX, lift_read_only=True) as client:
        yield client


def _key_options(
    node: LocalElasticsearchNode, admin: Elasticsearch, privileges: tuple[str, ...]
) -> dict[str, Any]:
    return key_options(node, api_key(admin, "first-use", f"{PREFIX}*", privileges))


def _recorded(admin: Elasticsearch, index: str) -> Any:
    meta = admin.indices.get_mapping(index=index)[index]["mappings"].get("_meta", {})
    return meta.get(CACHE_MARKER, {}).get("embedding")


def _rolled_over_alias(
    admin: Elasticsearch, older_meta: dict[str, Any] | None = None
) -> tuple[str, str, str]:
    """An alias over an older index holding an entry and an empty write index, both with
    the semantic mapping as an earlier version made it: a marker without the model."""
    alias = f"{PREFIX}{uuid.uuid4().hex[:8]}"
    older, newer = f"{alias}-000001", f"{alias}-000002"
    mappings = SEMANTIC_RECORDS.mappings
    assert "embedding" not in mappings["_meta"][CACHE_MARKER]
    admin.indices.create(
        index=older,
        mappings={**mappings, "_meta": older_meta or mappings["_meta"]},
        aliases={alias: {}},
    )
    admin.index(
        index=older,
        id="old",
        document={"llm_output": ["x"], "timestamp": 0, "prompt_vector": [0.1, 0.2, 0.3, 0.4]},
        refresh=True,
    )
    admin.indices.create(index=newer, mappings=mappings, aliases={alias: {"is_write_index": True}})
    return alias, older, newer


@pytest.mark.parametrize("read_only", [False, True], ids=["older-index", "read-only-older-index"])
def test_the_model_is_recorded_on_the_write_index_only(
    secure_node: LocalElasticsearchNode,
    admin: Elasticsearch,
    caplog: pytest.LogCaptureFixture,
    read_only: bool,
) -> None:
    alias, older, newer = _rolled_over_alias(admin)
    if read_only:
        admin.indices.put_settings(index=older, settings={"index.blocks.read_only": True})
    model = DeterministicFakeEmbedding(size=4)
    options = _key_options(secure_node, admin, CACHE_ROLE)
    with (
        warnings.catch_warnings(record=True) as caught,
        caplog.at_level(logging.INFO, logger="langchain_elasticsearch_cache"),
    ):
        warnings.simplefilter("always")
        with ElasticsearchSemanticCache(alias, model, **options) as cache:
            assert cache.lookup(QUESTION, "llm") is None
            cache.update(QUESTION, "llm", ANSWER)
            assert cache.lookup(QUESTION, "llm") == ANSWER
    deprecations = [str(w.message) for w in caught if issubclass(w.category, ElasticsearchWarning)]
    # none for an older index; recording on the write index is a put-mapping request
    # too, which 'write' grants with the warning (the caches' role has no 'manage'): at
    # most that one
    assert [message for message in deprecations if older in message] == []
    assert all(f"on index [{newer}]" in message for message in deprecations), deprecations
    logged = [record.getMessage() for record in caplog.records]
    assert [m for m in logged if "no privilege" in m or older in m] == [], logged

    assert _recorded(admin, newer) == embedding_identity(model).to_document()
    assert _recorded(admin, older) is None
    # the older index is left as it was, its entry still there
    admin.indices.refresh(index=newer)
    assert admin.count(index=older)["count"] == 1
    assert admin.count(index=newer)["count"] == 1


def test_another_model_recorded_on_an_older_index_is_still_refused(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch
) -> None:
    other = DeterministicFakeEmbedding(size=4)
    meta = marker_with_embedding(None, "semantic", embedding_identity(other))
    alias, older, newer = _rolled_over_alias(admin, older_meta=meta)

    class OtherModel(DeterministicFakeEmbedding):
        pass

    options = _key_options(secure_node, admin, CACHE_ROLE)
    with (
        ElasticsearchSemanticCache(alias, OtherModel(size=4), **options) as cache,
        pytest.raises(ConfigurationError, match=rf"{older}.*DeterministicFakeEmbedding"),
    ):
        cache.lookup(QUESTION, "llm")
    assert _recorded(admin, newer) is None  # refused before anything was recorded


def test_taking_over_an_index_without_the_refresh_privilege_is_refused(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch
) -> None:
    """An index made by hand, unidentified and mapping no field (so a candidate for a take
    over), holding one document not refreshed yet (its refreshes disabled: the writes of
    the last second on an index with the default interval)."""
    index = f"{PREFIX}{uuid.uuid4().hex[:8]}"
    admin.indices.create(
        index=index,
        mappings={"_meta": {"owner": "ops"}},
        settings={"index": {"refresh_interval": "-1"}},
    )
    admin.index(index=index, id="unrefreshed", document={})
    before = admin.indices.get_mapping(index=index)[index]["mappings"]

    options = _key_options(secure_node, admin, CACHE_ROLE)
    with (
        ElasticsearchCache(index, **options) as cache,
        pytest.raises(PermissionDeniedError) as caught,
    ):
        cache.lookup(QUESTION, "llm")
    message = str(caught.value)
    assert "lacks the 'maintenance' index privilege" in message, message
    assert "indices:admin/refresh" in message and "nothing was changed" in message, message
    assert caught.value.privileges[0] == "maintenance"
    assert caught.value.during_setup
    assert admin.indices.get_mapping(index=index)[index]["mappings"] == before

    # with 'maintenance' the document is counted: a foreign index, refused
    options = _key_options(secure_node, admin, (*CACHE_ROLE, "maintenance"))
    with (
        ElasticsearchCache(index, **options) as cache,
        pytest.raises(ConfigurationError, match="nothing was changed"),
    ):
        cache.lookup(QUESTION, "llm")
    assert admin.indices.get_mapping(index=index)[index]["mappings"] == before
    assert admin.count(index=index)["count"] == 1
