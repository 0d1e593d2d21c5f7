"""Hostile and odd input, through the LangChain classes, against the real node.

* Text that is not quite text: lone surrogates, NUL, bidi marks, 10 MB, empty strings, as
  prompts, model strings, answers, embedding keys and namespaces. What happens to a lone
  surrogate, found out here: the Python client sends it surrogatepass-encoded (the bytes
  ``ED A0 80`` for U+D800), Elasticsearch stores those bytes as they are and returns them,
  and the client decodes them back to the same ``str``. So every such value round-trips
  exactly, keys (SHA-256 over a surrogatepass encoding) included; nothing is replaced.
* Mistakes in the configuration are refused when the cache is built, before any request:
  metadata that is not JSON, index names Elasticsearch would refuse or that cannot even be
  sent (a lone surrogate).
* Documents put in the index by something else (raw client): a wrong shape, truncated
  base64, a class outside the allowlist, a reference to a secret. Each is a miss with a
  WARNING: never an exception in the caller, never an object built from it.
* A hypothesis-driven round trip of thousands of generated entries (batches through
  ``put_many`` / ``mset``), compared with a model: no mismatch.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document
from langchain_core.load import dumps
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    EntryRefusedError,
    InvalidIndexNameError,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import cache_marker

pytestmark = pytest.mark.elasticsearch

LOGGER = "langchain_elasticsearch_cache"
TEN_MB = 10 * 1024 * 1024
# every kind of odd string, by name (ids read better than the strings themselves)
ODD_TEXTS = {
    "empty": "",
    "lone high surrogate": "before\ud800after",
    "lone low surrogate": "\udfff",
    "reversed surrogate pair": "\udc00\ud800",
    "NUL": "a\x00b\x00",
    "C0 and C1 controls": "\x01\x1b[31m\x7f\x85\x9f",
    "bidi override and marks": "\u202ecba\u202c \u200f\u200e\u2066x\u2069",
    "zero width and BOM": "\u200b\u200d\ufeff",
    "astral and combining": "🙂\U0010fffd e\u0301",
    "noncharacters": "\ufffe\uffff",
    "JSON and lc lookalikes": '{"lc": 1, "type": "secret", "id": ["OPENAI_API_KEY"]}',
}


@pytest.fixture
def llm_cache(es_url: str, index_name: str) -> Iterator[ElasticsearchCache]:
    with ElasticsearchCache(index_name, es_url=es_url) as cache:
        yield cache


@pytest.fixture
def store(es_url: str, index_name: str) -> Iterator[ElasticsearchEmbeddingsCache]:
    with ElasticsearchEmbeddingsCache(f"{index_name}-emb", es_url=es_url) as cache:
        yield cache


# -- odd text -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ODD_TEXTS))
def test_odd_text_round_trips_through_the_llm_cache(
    llm_cache: ElasticsearchCache, es_client: Elasticsearch, index_name: str, name: str
) -> None:
    text = ODD_TEXTS[name]
    answer = [Generation(text=text), ChatGeneration(message=AIMessage(content=text))]
    llm_cache.update(text, text, answer)
    assert llm_cache.lookup(text, text) == answer
    assert llm_cache.lookup(text, text + "x") is None
    # and what is stored is the text itself (store_input=True), not a replacement
    key = llm_cache.policy.key(text, text)
    stored = es_client.get(index=index_name, id=key)["_source"]
    assert stored["llm_input"] == text and stored["llm_params"] == text


@pytest.mark.parametrize("name", list(ODD_TEXTS))
def test_odd_text_round_trips_through_the_byte_store(
    es_url: str, index_name: str, name: str
) -> None:
    text = ODD_TEXTS[name]
    with ElasticsearchEmbeddingsCache(
        f"{index_name}-emb", es_url=es_url, namespace=text, metadata={"note": text}
    ) as store:
        value = text.encode("utf-8", "surrogatepass") + b"\x00\xff"
        store.mset([(text, value), (text + "2", b"")])
        assert store.mget([text, text + "2", text + "3"]) == [value, b"", None]
        assert sorted(store.yield_keys()) == sorted([text, text + "2"])
        store.mdelete([text])
        assert store.mget([text]) == [None]


async def test_odd_text_through_the_async_classes(es_url: str, index_name: str) -> None:
    async with AsyncElasticsearchCache(index_name, es_url=es_url) as cache:
        for text in ODD_TEXTS.values():
            await cache.aupdate(text, "llm", [Generation(text=text)])
        for text in ODD_TEXTS.values():
            assert await cache.alookup(text, "llm") == [Generation(text=text)]
    async with AsyncElasticsearchEmbeddingsCache(f"{index_name}-emb", es_url=es_url) as store:
        pairs = [(text, text.encode("utf-8", "surrogatepass")) for text in ODD_TEXTS.values()]
        await store.amset(pairs)
        assert await store.amget([key for key, _ in pairs]) == [value for _, value in pairs]
        assert sorted([key async for key in store.ayield_keys()]) == sorted(ODD_TEXTS.values())


def test_ten_megabyte_prompts_answers_and_vectors(
    llm_cache: ElasticsearchCache, store: ElasticsearchEmbeddingsCache
) -> None:
    prompt = "p" * TEN_MB
    answer = "a" * (TEN_MB - 3) + "\ud800\x00\u202e"
    started = time.monotonic()
    llm_cache.update(prompt, "llm", [Generation(text=answer)])
    assert llm_cache.lookup(prompt, "llm") == [Generation(text=answer)]
    assert llm_cache.lookup(prompt[:-1], "llm") is None
    vector = bytes(range(256)) * (TEN_MB // 256)
    store.mset([(prompt, vector), ("small", b"x")])
    assert store.mget([prompt, "small"]) == [vector, b"x"]
    assert time.monotonic() - started < 60


# -- configuration refused before any request --------------------------------------------

UNREACHABLE = "http://127.0.0.1:9"  # discard port: nothing answers there


@pytest.mark.parametrize(
    "metadata",
    [
        {"when": datetime(2024, 1, 1, tzinfo=timezone.utc)},
        {"raw": b"bytes"},
        {"tags": {"a", "b"}},
        {"ratio": float("nan")},
        {"big": float("inf")},
        {"obj": object()},
        {("tuple", "key"): 1},
        ["not", "a", "mapping"],
        "not a mapping",
    ],
    ids=["datetime", "bytes", "set", "nan", "inf", "object", "tuple key", "list", "str"],
)
def test_metadata_that_is_not_json_is_refused_at_construction(metadata: Any) -> None:
    for build in (
        ElasticsearchCache,
        AsyncElasticsearchCache,
        ElasticsearchEmbeddingsCache,
        AsyncElasticsearchEmbeddingsCache,
    ):
        with pytest.raises(ConfigurationError, match="metadata must be"):
            build("llm-cache", es_url=UNREACHABLE, metadata=metadata)  # no connection tried


def test_json_metadata_is_stored_as_given(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    metadata = {"team": "\u202esearch", "n": 3, "nested": {"list": ["one", "two", None]}}
    with ElasticsearchCache(index_name, es_url=es_url, metadata=metadata) as cache:
        cache.update("p", "l", [Generation(text="a")])
        stored = es_client.get(index=index_name, id=cache.policy.key("p", "l"))["_source"]
    assert stored["metadata"] == metadata


def test_metadata_of_a_type_the_index_has_mapped_otherwise(es_url: str, index_name: str) -> None:
    """Metadata fields are mapped dynamically by the first value written: a cache whose
    metadata has another type for the same field cannot write there, and says why."""
    with ElasticsearchCache(index_name, es_url=es_url, metadata={"run": 1}) as first:
        first.update("p", "l", [Generation(text="a")])
    with ElasticsearchCache(index_name, es_url=es_url, metadata={"run": "one"}) as second:
        with pytest.raises(EntryRefusedError) as refused:
            second.update("p", "l", [Generation(text="b")])
        assert "metadata does not fit the index" in str(refused.value)
        assert "[metadata.run]" in str(refused.value)
        assert second.lookup("p", "l") == [Generation(text="a")]  # reads are unaffected
        assert second.statistics.refused == 1
    # fail-open: the entry is refused, the caller keeps its answer, the refusal is counted
    with ElasticsearchCache(
        index_name, es_url=es_url, metadata={"run": "one"}, fail_open=True
    ) as lenient:
        lenient.update("p", "l", [Generation(text="b")])
        assert lenient.statistics.refused == 1
        assert lenient.lookup("p", "l") == [Generation(text="a")]


@pytest.mark.parametrize(
    "name",
    [
        "",
        "UPPER",
        "has space",
        "a/b",
        "a*b",
        "a?b",
        'a"b',
        "a<b",
        "a|b",
        "a,b",
        "a#b",
        "a:b",
        "-leading-dash",
        "_leading-underscore",
        "+leading-plus",
        ".",
        "..",
        "x" * 256,
        "é" * 128,
        "lone\ud800surrogate",
    ],
)
def test_invalid_index_names_are_refused_before_any_request(name: str) -> None:
    started = time.monotonic()
    for build in (
        ElasticsearchCache,
        AsyncElasticsearchCache,
        ElasticsearchEmbeddingsCache,
        AsyncElasticsearchEmbeddingsCache,
    ):
        with pytest.raises(InvalidIndexNameError) as refused:
            build(name, es_url=UNREACHABLE)
        assert "invalid Elasticsearch index name" in str(refused.value)
    assert time.monotonic() - started < 5  # no connection attempt, no retry (those take 10 s+)


def test_odd_but_valid_index_names_work(es_url: str, es_client: Elasticsearch) -> None:
    """Elasticsearch accepts these (checked on the node): so do we."""
    for name in ["tab\there", "nul\x00here", "\u202ertl", "émoji-🙂", "a..b", "x" * 255]:
        try:
            with ElasticsearchCache(name, es_url=es_url) as cache:
                cache.update("p", "l", [Generation(text=name)])
                assert cache.lookup("p", "l") == [Generation(text=name)]
        finally:
            es_client.indices.delete(index=name, ignore_unavailable=True)


# -- hostile documents -------------------------------------------------------------------

SECRET_ENV = "LECACHE_HOSTILE_SECRET"
SECRET_VALUE = "sk-hostile-secret-value-never-to-be-read"
GOOD = dumps(Generation(text="good"))
DOCUMENT_CLASS = json.dumps(
    {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "document", "Document"],
        "kwargs": {"page_content": "not a generation"},
    }
)
SECRET_IN_GENERATION = json.dumps(
    {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "output", "Generation"],
        "kwargs": {"text": {"lc": 1, "type": "secret", "id": [SECRET_ENV]}},
    }
)
HOSTILE_LLM_DOCUMENTS: dict[str, dict[str, Any]] = {
    "empty document": {},
    "llm_output a number": {"llm_output": 42},
    "llm_output an object": {"llm_output": {"text": "x"}},
    "llm_output numbers": {"llm_output": [1, 2]},
    "llm_output mixed": {"llm_output": [GOOD, 3]},
    "llm_output not JSON": {"llm_output": ["{not json"]},
    "llm_output JSON but not LangChain": {"llm_output": ['{"text": "x"}']},
    "class outside the allowlist": {"llm_output": [DOCUMENT_CLASS]},
    "allowed then forbidden": {"llm_output": [GOOD, DOCUMENT_CLASS]},
    "module path outside langchain": {
        "llm_output": [
            json.dumps({"lc": 1, "type": "constructor", "id": ["os", "system"], "kwargs": {}})
        ]
    },
    "secret reference": {"llm_output": [SECRET_IN_GENERATION]},
    "timestamp not a date": {"llm_output": [GOOD], "timestamp": "yesterday-ish"},
    "timestamp an object": {"llm_output": [GOOD], "timestamp": {"$date": 1}},
    "metadata a string": {"llm_output": [GOOD], "metadata": "oops"},
    "llm_input a list": {"llm_output": [GOOD], "llm_input": ["a"]},
}
HOSTILE_EMBEDDING_DOCUMENTS: dict[str, dict[str, Any]] = {
    "empty document": {},
    "vector a number": {"vector_dump": 5},
    "vector a list": {"vector_dump": ["AAE="]},
    "truncated base64": {"vector_dump": base64.b64encode(b"0123456789").decode()[:-3]},
    "base64 with junk": {"vector_dump": "AAEC$$$="},
    "base64 of non-ASCII text": {"vector_dump": "ÀÁÂÃ"},
    "timestamp not a date": {"vector_dump": "AAE=", "timestamp": "never"},
    "namespace a number": {"vector_dump": "AAE=", "namespace": 7},
}


def _schemaless_index(client: Elasticsearch, name: str, kind: str) -> None:
    """An index that stores any JSON as it is (no field mapped): room for any shape. It
    carries the cache marker of ``kind``: a cache refuses an index it cannot identify."""
    client.indices.create(index=name, mappings={"enabled": False, "_meta": cache_marker(kind)})


def test_hostile_llm_documents_are_logged_misses(
    es_url: str,
    es_client: Elasticsearch,
    index_name: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET_VALUE)
    built: list[Any] = []
    original_init = Document.__init__

    def spy(self: Document, *args: Any, **kwargs: Any) -> None:
        built.append(kwargs)
        original_init(self, *args, **kwargs)

    _schemaless_index(es_client, index_name, "llm")
    with ElasticsearchCache(index_name, es_url=es_url) as cache:
        for name, document in HOSTILE_LLM_DOCUMENTS.items():
            es_client.index(index=index_name, id=cache.policy.key(name, "llm"), document=document)
        cache.update("the good one", "llm", [Generation(text="good")])
        monkeypatch.setattr(Document, "__init__", spy)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            for name in HOSTILE_LLM_DOCUMENTS:
                records_before = len(caplog.records)
                assert cache.lookup(name, "llm") is None, name
                warnings = caplog.records[records_before:]
                assert [r.levelno for r in warnings] == [logging.WARNING], name
                assert cache.policy.key(name, "llm") in warnings[0].getMessage(), name
            assert cache.lookup("the good one", "llm") == [Generation(text="good")]
    assert built == []  # never an object of a class outside the allowlist
    assert SECRET_VALUE not in caplog.text


def test_hostile_embedding_documents_are_logged_misses(
    es_url: str,
    es_client: Elasticsearch,
    index_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _schemaless_index(es_client, index_name, "embeddings")
    with ElasticsearchEmbeddingsCache(index_name, es_url=es_url) as store:
        for name, document in HOSTILE_EMBEDDING_DOCUMENTS.items():
            es_client.index(index=index_name, id=store.policy.key(name), document=document)
        store.mset([("good", b"\x01\x02")])
        keys = [*HOSTILE_EMBEDDING_DOCUMENTS, "good", "absent"]
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            values = store.mget(keys)  # one mget: the bad ones do not spoil the batch
        assert values == [None] * len(HOSTILE_EMBEDDING_DOCUMENTS) + [b"\x01\x02", None]
        warned = {r.getMessage() for r in caplog.records if r.levelno == logging.WARNING}
        for name in HOSTILE_EMBEDDING_DOCUMENTS:
            assert any(store.policy.key(name) in message for message in warned), name


# -- generated entries, thousands, compared with a model ------------------------------------

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)  # surrogates included
BATCHES = 45  # hypothesis examples; each writes 30..60 LLM and 30..60 embedding entries


def test_generated_entries_round_trip(es_url: str, index_name: str) -> None:
    """Thousands of generated entries through the real node, batch by batch, then all of
    them again at the end, compared with a model (the latest value of each key)."""
    model_llm: dict[tuple[str, str], str] = {}
    model_embeddings: dict[str, bytes] = {}
    written = {"llm": 0, "embeddings": 0}

    with (
        ElasticsearchCache(index_name, es_url=es_url) as cache,
        ElasticsearchEmbeddingsCache(f"{index_name}-emb", es_url=es_url) as store,
    ):

        @settings(
            max_examples=BATCHES,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            database=None,
        )
        @given(
            llm_batch=st.lists(st.tuples(ANY_TEXT, ANY_TEXT, ANY_TEXT), min_size=30, max_size=60),
            embedding_batch=st.lists(
                st.tuples(ANY_TEXT, st.binary(max_size=64)), min_size=30, max_size=60
            ),
        )
        def one_batch(
            llm_batch: list[tuple[str, str, str]], embedding_batch: list[tuple[str, bytes]]
        ) -> None:
            now = datetime.now(timezone.utc)
            records = [
                cache.policy.record(p, m, [Generation(text=a)], now) for p, m, a in llm_batch
            ]
            cache.repository.put_many(records)
            store.mset(embedding_batch)
            written["llm"] += len(records)
            written["embeddings"] += len(embedding_batch)
            model_llm.update({(p, m): a for p, m, a in llm_batch})
            model_embeddings.update(embedding_batch)
            for prompt, llm, _ in llm_batch:
                assert cache.lookup(prompt, llm) == [Generation(text=model_llm[(prompt, llm)])]
            keys = [key for key, _ in embedding_batch]
            assert store.mget(keys) == [model_embeddings[key] for key in keys]

        one_batch()

        pairs = list(model_llm)
        now = datetime.now(timezone.utc)
        records = cache.repository.get_many([cache.policy.key(p, m) for p, m in pairs])
        mismatches: list[object] = [
            pair
            for pair, record in zip(pairs, records, strict=True)
            if cache.policy.generations(record, now) != [Generation(text=model_llm[pair])]
        ]
        keys = list(model_embeddings)
        values = store.mget(keys)
        mismatches += [
            key for key, value in zip(keys, values, strict=True) if value != model_embeddings[key]
        ]
    assert mismatches == []
    total = written["llm"] + written["embeddings"]
    assert total >= 3000, written
    print(
        f"\ngenerated entries written: {written['llm']} LLM + {written['embeddings']} "
        f"embeddings = {total}; distinct keys {len(pairs)} + {len(keys)}; mismatches 0"
    )


def test_cli_export_and_import_keep_lone_surrogates(
    es_url: str, index_name: str, tmp_path: Path
) -> None:
    """An entry whose prompt holds a lone surrogate is exported as valid UTF-8 (the
    surrogate as a JSON escape) and imported back exactly (this export used to crash
    with a UnicodeEncodeError traceback)."""
    prompt, llm, answer = "a\ud800b", "llm\udfff", "\udc80 answer"
    with ElasticsearchCache(index_name, es_url=es_url) as cache:
        cache.update(prompt, llm, [Generation(text=answer)])
    exported = tmp_path / "export.jsonl"
    cli = [sys.executable, "-m", "langchain_elasticsearch_cache"]
    done = subprocess.run(
        [*cli, "export", index_name, "--es-url", es_url, "-o", str(exported)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = exported.read_bytes().decode("utf-8")  # strict: valid UTF-8
    assert "\\ud800" in line
    copy = f"{index_name}-copy"
    done = subprocess.run(
        [*cli, "import", copy, "--kind", "llm", "--es-url", es_url, "-i", str(exported)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with ElasticsearchCache(copy, es_url=es_url) as imported:
        assert imported.lookup(prompt, llm) == [Generation(text=answer)]
