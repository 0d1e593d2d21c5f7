"""Elasticsearch-specific behaviour of the repositories, on a real node.

What the contract cannot say: aliases over several indices, the bootstrap, the clearing
fallback, bulk item failures, the refresh option and error translation.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncGenerator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import ElasticsearchCache
from langchain_elasticsearch_cache.adapters import elasticsearch as elasticsearch_adapter
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    EMBEDDING_PROPERTIES,
    LLM_PROPERTIES,
    LLM_RECORDS,
    USER_AGENT,
    AsyncElasticsearchRepository,
    BulkBackendUnavailableError,
    ElasticsearchRepository,
    check_connection,
    create_async_elasticsearch_client,
    create_elasticsearch_client,
    translate_error,
    validate_index_name,
)
from langchain_elasticsearch_cache.domain.entries import LlmRecord
from langchain_elasticsearch_cache.domain.errors import (
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    BulkOperationError,
    ConfigurationError,
    EntryRefusedError,
    InvalidIndexNameError,
    PermissionDeniedError,
)
from langchain_elasticsearch_cache.testing.contract import T0

pytestmark = pytest.mark.elasticsearch


def record(key: str, text: str = "answer", *, age_seconds: float = 0) -> LlmRecord:
    return LlmRecord(
        key=key,
        llm_output=(text,),
        timestamp=T0 - timedelta(seconds=age_seconds),
        llm_input=f"prompt for {key}",
        llm_params="params",
    )


def raw_put(client: Elasticsearch, index: str, rec: LlmRecord) -> None:
    client.index(index=index, id=rec.key, document=LLM_RECORDS.to_document(rec))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def alias(es_client: Elasticsearch, index_name: str) -> Iterator[tuple[str, str, str]]:
    """``index_name`` as an alias over ``<name>-a`` and ``<name>-b`` (the write index)."""
    first, second = f"{index_name}-a", f"{index_name}-b"
    for index in (first, second):
        es_client.indices.create(index=index, mappings=LLM_RECORDS.mappings)
    es_client.indices.update_aliases(
        actions=[
            {"add": {"index": first, "alias": index_name}},
            {"add": {"index": second, "alias": index_name, "is_write_index": True}},
        ]
    )
    yield index_name, first, second


def in_index(client: Elasticsearch, index: str, key: str) -> bool:
    return bool(client.exists(index=index, id=key))


# -- the mapping ----------------------------------------------------------------------


def test_mappings_are_the_seeds(es_client: Elasticsearch) -> None:
    from langchain_elasticsearch.cache import (
        ElasticsearchCache as SeedCache,
    )
    from langchain_elasticsearch.cache import (
        ElasticsearchEmbeddingsCache as SeedEmbeddingsCache,
    )

    llm = SeedCache("x", client=es_client).mapping["mappings"]["properties"]
    embeddings = SeedEmbeddingsCache("x", client=es_client).mapping["mappings"]["properties"]
    assert dict(LLM_PROPERTIES) == llm
    assert dict(EMBEDDING_PROPERTIES) == embeddings


def test_bootstrap_creates_the_index_with_the_mapping(
    es_client: Elasticsearch, index_name: str
) -> None:
    repo = ElasticsearchRepository(es_client, index_name, LLM_RECORDS)
    assert not es_client.indices.exists(index=index_name)
    repo.put(record("k"))
    mapping = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert {k: mapping["properties"][k] for k in LLM_PROPERTIES} == dict(LLM_PROPERTIES)


def test_an_index_template_shapes_the_index_the_cache_creates(
    es_client: Elasticsearch, index_name: str
) -> None:
    # operators choose shards, replicas, durability... with a template, not a cache option
    es_client.indices.put_index_template(
        name=index_name,
        index_patterns=[f"{index_name}*"],
        template={
            "settings": {
                "number_of_replicas": 0,
                "refresh_interval": "30s",
                "translog": {"durability": "async"},
            },
            "mappings": {"properties": {"team": {"type": "keyword"}}},
        },
    )
    with ElasticsearchCache(index_name, client=es_client) as cache:
        cache.update("prompt", "llm", [Generation(text="answer")])
        assert cache.lookup("prompt", "llm") == [Generation(text="answer")]
    settings = es_client.indices.get_settings(index=index_name)[index_name]["settings"]["index"]
    assert settings["number_of_replicas"] == "0"
    assert settings["refresh_interval"] == "30s"
    assert settings["translog"]["durability"] == "async"
    mapping = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert {k: mapping["properties"][k] for k in LLM_PROPERTIES} == dict(LLM_PROPERTIES)
    assert mapping["properties"]["team"] == {"type": "keyword"}  # the template's, merged


# -- aliases --------------------------------------------------------------------------


def test_alias_newest_copy_wins_for_get_and_get_many(
    es_client: Elasticsearch, alias: tuple[str, str, str]
) -> None:
    name, first, second = alias
    newest_in_first = record("k1", "new in a", age_seconds=0)
    raw_put(es_client, first, newest_in_first)
    raw_put(es_client, second, record("k1", "old in b", age_seconds=60))
    newest_in_second = record("k2", "new in b", age_seconds=0)
    raw_put(es_client, first, record("k2", "old in a", age_seconds=60))
    raw_put(es_client, second, newest_in_second)
    only_first = record("k3", "only in a")
    raw_put(es_client, first, only_first)
    repo = ElasticsearchRepository(es_client, name, LLM_RECORDS, maximum_duplicates_allowed=2)
    assert repo.get("k1") == newest_in_first
    assert repo.get("k2") == newest_in_second
    assert repo.get("missing") is None
    assert repo.get_many(["k2", "missing", "k1", "k3", "k1"]) == [
        newest_in_second,
        None,
        newest_in_first,
        only_first,
        newest_in_first,
    ]


async def test_async_alias_newest_copy_wins(
    es_client: Elasticsearch,
    async_es_client: AsyncElasticsearch,
    alias: tuple[str, str, str],
) -> None:
    name, first, second = alias
    newest = record("k", "newest", age_seconds=1)
    raw_put(es_client, first, record("k", "oldest", age_seconds=100))
    raw_put(es_client, second, newest)
    repo = AsyncElasticsearchRepository(async_es_client, name, LLM_RECORDS, chunk_size=1)
    assert await repo.get("k") == newest
    assert await repo.get("none") is None
    assert await repo.get_many(["k", "none"]) == [newest, None]


def test_alias_corrupt_newer_copy_is_ignored(
    es_client: Elasticsearch, alias: tuple[str, str, str]
) -> None:
    name, first, second = alias
    valid = record("k", "valid", age_seconds=100)
    raw_put(es_client, first, valid)
    es_client.index(index=second, id="k", document={"timestamp": T0.isoformat()})
    repo = ElasticsearchRepository(es_client, name, LLM_RECORDS)
    assert repo.get("k") == valid


def test_alias_duplicates_beyond_the_maximum_warn_once(
    es_client: Elasticsearch, alias: tuple[str, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    name, first, second = alias
    raw_put(es_client, first, record("k", age_seconds=5))
    raw_put(es_client, second, record("k"))
    repo = ElasticsearchRepository(es_client, name, LLM_RECORDS)  # maximum 1
    with caplog.at_level(logging.WARNING):
        assert repo.get("k") == record("k")
        repo.get("k")
    warnings = [r for r in caplog.records if "maximum_duplicates_allowed" in r.getMessage()]
    assert len(warnings) == 1
    relaxed = ElasticsearchRepository(es_client, name, LLM_RECORDS, maximum_duplicates_allowed=2)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        relaxed.get("k")
    assert not [r for r in caplog.records if "maximum_duplicates_allowed" in r.getMessage()]


def test_alias_writes_go_through_the_alias(
    es_client: Elasticsearch, alias: tuple[str, str, str]
) -> None:
    name, first, second = alias
    repo = ElasticsearchRepository(es_client, name, LLM_RECORDS)
    repo.put(record("single"))
    repo.put_many([record("bulk-1"), record("bulk-2")])
    for key in ("single", "bulk-1", "bulk-2"):
        assert in_index(es_client, second, key)  # the write index
        assert not in_index(es_client, first, key)
    assert repo.get_many(["single", "bulk-2"]) == [record("single"), record("bulk-2")]


def test_alias_gets_the_mapping_put_on_it(es_client: Elasticsearch, index_name: str) -> None:
    bare = f"{index_name}-bare"
    es_client.indices.create(index=bare)
    es_client.indices.put_alias(index=bare, name=index_name)
    ElasticsearchRepository(es_client, index_name, LLM_RECORDS).put(record("k"))
    mapping = es_client.indices.get_mapping(index=bare)[bare]["mappings"]["properties"]
    assert mapping["llm_output"] == {"type": "text", "index": False}
    assert mapping["timestamp"] == {"type": "date"}


def test_alias_delete_removes_the_key_from_every_index(
    es_client: Elasticsearch, alias: tuple[str, str, str]
) -> None:
    name, first, second = alias
    for index in (first, second):
        raw_put(es_client, index, record("k"))
    raw_put(es_client, first, record("other"))
    repo = ElasticsearchRepository(es_client, name, LLM_RECORDS)
    assert repo.delete_many(["k", "missing"]) == 1
    assert not in_index(es_client, first, "k")
    assert not in_index(es_client, second, "k")
    assert repo.get("other") == record("other")


def test_alias_clear_and_delete_older_than(
    es_client: Elasticsearch, alias: tuple[str, str, str]
) -> None:
    name, first, second = alias
    raw_put(es_client, first, record("old", age_seconds=3600))
    raw_put(es_client, second, record("old", age_seconds=7200))
    raw_put(es_client, second, record("new"))
    repo = ElasticsearchRepository(es_client, name, LLM_RECORDS, chunk_size=1)
    assert repo.delete_older_than(T0 - timedelta(seconds=60)) == 2  # both copies of "old"
    assert repo.get_many(["old", "new"]) == [None, record("new")]
    raw_put(es_client, first, record("a"))
    assert repo.count() == 2
    assert repo.clear() == 2
    assert repo.count() == 0
    assert es_client.count(index=first)["count"] == es_client.count(index=second)["count"] == 0


def test_alias_moved_write_index_is_seen_at_once(
    es_client: Elasticsearch, alias: tuple[str, str, str]
) -> None:
    """A write landing in an index the repository did not know resets its index list."""
    name, _, second = alias
    repo = ElasticsearchRepository(es_client, name, LLM_RECORDS, alias_cache_seconds=3600)
    repo.put(record("k", "v1", age_seconds=10))
    assert repo.get("k") == record("k", "v1", age_seconds=10)
    third = f"{name}-c"
    es_client.indices.create(index=third, mappings=LLM_RECORDS.mappings)
    es_client.indices.update_aliases(
        actions=[
            {"add": {"index": second, "alias": name, "is_write_index": False}},
            {"add": {"index": third, "alias": name, "is_write_index": True}},
        ]
    )
    repo.put(record("k", "v2"))
    assert in_index(es_client, third, "k")
    assert repo.get("k") == record("k", "v2")


def test_alias_index_removed_behind_the_cache(
    es_client: Elasticsearch, alias: tuple[str, str, str]
) -> None:
    name, first, second = alias
    raw_put(es_client, second, record("k"))
    repo = ElasticsearchRepository(es_client, name, LLM_RECORDS, alias_cache_seconds=3600)
    assert repo.get("k") == record("k")
    es_client.indices.delete(index=first)
    assert repo.get_many(["k", "x"]) == [record("k"), None]


# -- clearing ---------------------------------------------------------------------------


def _node_has_delete_by_query(client: Elasticsearch, index: str) -> bool:
    try:
        client.delete_by_query(index=index, query={"ids": {"values": ["nothing"]}})
    except ApiError as exc:
        if "no handler found" in str(exc.body):
            return False
        raise
    return True


def test_clear_falls_back_when_delete_by_query_is_missing(
    es_client: Elasticsearch, index_name: str
) -> None:
    repo = ElasticsearchRepository(es_client, index_name, LLM_RECORDS, chunk_size=7)
    repo.put_many([record(f"k{i}") for i in range(50)])
    has_it = _node_has_delete_by_query(es_client, index_name)
    assert repo.clear() == 50
    assert repo._delete_by_query_missing is not has_it
    assert es_client.count(index=index_name)["count"] == 0  # refreshed afterwards
    repo.put_many([record(f"k{i}", age_seconds=i) for i in range(10)])
    assert repo.delete_older_than(T0 - timedelta(seconds=5)) == 5
    assert sorted(r.key for r in repo.scan(page_size=3)) == [f"k{i}" for i in range(5)]


async def test_async_clear_falls_back(async_es_client: AsyncElasticsearch, index_name: str) -> None:
    repo = AsyncElasticsearchRepository(async_es_client, index_name, LLM_RECORDS, chunk_size=4)
    await repo.put_many([record(f"k{i}") for i in range(30)])
    assert await repo.clear() == 30
    assert await repo.clear() == 0
    assert await repo.count() == 0


# -- bootstrap ----------------------------------------------------------------------------


def test_bootstrap_race_between_threads(es_client: Elasticsearch, index_name: str) -> None:
    repos = [ElasticsearchRepository(es_client, index_name, LLM_RECORDS) for _ in range(8)]
    barrier = threading.Barrier(len(repos))
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            repos[i].put(record(f"k{i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(repos))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert repos[0].count() == 8


def test_one_repository_shared_by_threads_bootstraps_once(
    es_client: Elasticsearch, index_name: str
) -> None:
    repo = ElasticsearchRepository(es_client, index_name, LLM_RECORDS)
    barrier = threading.Barrier(8)

    def run(i: int) -> None:
        barrier.wait()
        repo.put(record(f"k{i}"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert repo.get_many([f"k{i}" for i in range(8)]) == [record(f"k{i}") for i in range(8)]


async def test_bootstrap_race_between_tasks(
    async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    repos = [
        AsyncElasticsearchRepository(async_es_client, index_name, LLM_RECORDS) for _ in range(8)
    ]
    shared = repos[0]
    await asyncio.gather(
        *(repo.put(record(f"k{i}")) for i, repo in enumerate(repos)),
        *(shared.get(f"k{i}") for i in range(8)),
    )
    assert await shared.count() == 8


_PROCESS_SCRIPT = """
import sys, time
from elasticsearch import Elasticsearch
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    ElasticsearchRepository, LLM_RECORDS,
)
url, index, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
with Elasticsearch(url) as client:
    repo = ElasticsearchRepository(client, index, LLM_RECORDS)
    time.sleep(max(0.0, start - time.time()))
    print(repo.count())
"""


def test_bootstrap_race_between_processes(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    start = time.time() + 3
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_SCRIPT, es_url, index_name, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], results
    assert [out.strip() for out, _ in results] == ["0"] * 4
    assert es_client.indices.exists(index=index_name)


def test_deleted_index_is_recreated_with_its_mapping(
    es_client: Elasticsearch, index_name: str
) -> None:
    repo = ElasticsearchRepository(es_client, index_name, LLM_RECORDS)
    repo.put(record("k"))
    es_client.indices.delete(index=index_name)
    assert repo.get("k") is None
    repo.put(record("k"))
    mapping = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert mapping["properties"]["llm_output"] == {"type": "text", "index": False}


# -- index names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "empty"),
        (".", "reserved"),
        ("..", "reserved"),
        ("LLM-Cache", "upper-case"),
        ("llm cache", "' '"),
        ("a/b", "'/'"),
        ("a\\b", "'\\\\'"),
        ("a*", "'*'"),
        ("a?", "'?'"),
        ('a"b', "'\"'"),
        ("a<b", "'<'"),
        ("a>b", "'>'"),
        ("a|b", "'|'"),
        ("a,b", "','"),
        ("a#b", "'#'"),
        ("remote:index", "':'"),
        ("-cache", "starts with '-'"),
        ("_cache", "starts with '_'"),
        ("+cache", "starts with '+'"),
        ("x" * 256, "256 bytes"),
        ("é" * 128, "256 bytes"),
    ],
)
def test_invalid_index_names_are_refused_before_any_request(name: str, says: str) -> None:
    client = Elasticsearch(f"http://127.0.0.1:{closed_port()}")  # nothing answers there
    with pytest.raises(InvalidIndexNameError) as caught:
        ElasticsearchRepository(client, name, LLM_RECORDS)
    assert says in str(caught.value)
    with pytest.raises(InvalidIndexNameError):
        AsyncElasticsearchRepository(AsyncElasticsearch("http://127.0.0.1:9"), name, LLM_RECORDS)
    client.close()


@pytest.mark.parametrize("name", ["llm-cache", ".hidden-cache", "a.b_c+d", "é" * 127, "x" * 255])
def test_valid_index_names_pass(name: str) -> None:
    assert validate_index_name(name) == name


def test_invalid_name_message_suggests_a_fix() -> None:
    with pytest.raises(InvalidIndexNameError, match="try 'llm-cache'"):
        validate_index_name("LLM-Cache")
    with pytest.raises(InvalidIndexNameError, match="try 'my-llm-cache'"):
        validate_index_name("my llm cache")


def test_bad_options_are_refused() -> None:
    client = Elasticsearch("http://127.0.0.1:9")
    for options in (
        {"chunk_size": 0},
        {"maximum_duplicates_allowed": 0},
        {"refresh": "sometimes"},
        {"alias_cache_seconds": -1},
    ):
        with pytest.raises(ConfigurationError):
            ElasticsearchRepository(client, "ok", LLM_RECORDS, **options)
    client.close()


# -- bulk failures ----------------------------------------------------------------------


def test_bulk_failure_names_the_failed_keys(es_client: Elasticsearch, index_name: str) -> None:
    # metadata.n is a number in this index (the cache's own fields are fine): entries whose
    # metadata says otherwise are refused, one by one, and the rest is written
    es_client.indices.create(
        index=index_name,
        mappings={"properties": {"metadata": {"properties": {"n": {"type": "integer"}}}}},
    )
    repo = ElasticsearchRepository(es_client, index_name, LLM_RECORDS, chunk_size=2)
    good = [
        LlmRecord(key=f"good-{i}", llm_output=("x",), timestamp=T0, metadata={"n": i})
        for i in range(3)
    ]
    bad = [
        LlmRecord(key=f"bad-{i}", llm_output=("x",), timestamp=T0, metadata={"n": "many"})
        for i in range(2)
    ]
    with pytest.raises(BulkOperationError) as caught:
        repo.put_many([good[0], bad[0], good[1], bad[1], good[2]])
    error = caught.value
    assert not isinstance(error, BackendUnavailableError)
    assert isinstance(error, EntryRefusedError)
    assert error.keys == ("bad-0", "bad-1")
    assert error.operation == "put"
    assert set(error.failures) == {"bad-0", "bad-1"}
    assert "bad-0" in str(error) and "metadata.n" in str(error)
    assert repo.get_many([r.key for r in good]) == good  # the rest was written
    with pytest.raises(EntryRefusedError, match="metadata does not fit the index"):
        repo.put(bad[0])


# -- refresh and realtime -------------------------------------------------------------


@pytest.mark.parametrize("refresh", [False, True])
def test_refresh_option_is_honoured(
    es_client: Elasticsearch, index_name: str, refresh: bool
) -> None:
    repo = ElasticsearchRepository(es_client, index_name, LLM_RECORDS, refresh=refresh)
    repo.count()  # bootstrap
    es_client.indices.put_settings(index=index_name, settings={"refresh_interval": "-1"})
    repo.put(record("one"))
    repo.put_many([record("two"), record("three")])
    searchable = es_client.count(index=index_name)["count"]
    assert searchable == (3 if refresh else 0)
    # lookups are realtime either way
    assert repo.get("one") == record("one")
    assert repo.get_many(["two", "three"]) == [record("two"), record("three")]
    assert repo.delete_many(["one"]) == 1
    assert repo.get("one") is None
    assert repo.count() == 2  # count refreshes first


# -- scan -------------------------------------------------------------------------------


def _open_search_contexts(client: Elasticsearch) -> int:
    stats = client.nodes.stats(metric="indices", index_metric="search")
    return sum(node["indices"]["search"]["open_contexts"] for node in stats["nodes"].values())


def test_abandoned_scan_closes_its_point_in_time(es_client: Elasticsearch, index_name: str) -> None:
    repo = ElasticsearchRepository(es_client, index_name, LLM_RECORDS)
    repo.put_many([record(f"k{i}") for i in range(10)])
    before = _open_search_contexts(es_client)
    scan = repo.scan(page_size=2)
    next(scan)
    assert _open_search_contexts(es_client) > before
    scan.close()
    assert _open_search_contexts(es_client) == before


async def test_async_abandoned_scan_closes_its_point_in_time(
    es_client: Elasticsearch, async_es_client: AsyncElasticsearch, index_name: str
) -> None:
    repo = AsyncElasticsearchRepository(async_es_client, index_name, LLM_RECORDS)
    await repo.put_many([record(f"k{i}") for i in range(10)])
    before = _open_search_contexts(es_client)
    scan = repo.scan(page_size=2)
    assert isinstance(scan, AsyncGenerator)
    await anext(scan)
    assert _open_search_contexts(es_client) > before
    await scan.aclose()
    assert _open_search_contexts(es_client) == before


def test_no_body_arguments_in_the_adapter() -> None:
    """``body=`` is deprecated in client 8 and gone in 9: one code base serves both."""
    package = Path(elasticsearch_adapter.__file__).parent
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            # the transport's perform_request takes its body by name in both majors
            if name != "perform_request":
                assert all(k.arg != "body" for k in node.keywords), (path, node.lineno)


# -- errors -----------------------------------------------------------------------------


def test_unreachable_node_is_backend_unavailable() -> None:
    port = closed_port()
    client = Elasticsearch(f"http://elastic:s3cr3t-pw@127.0.0.1:{port}", max_retries=0)
    repo = ElasticsearchRepository(client, "cache", LLM_RECORDS)
    for call in (
        lambda: repo.get("k"),
        lambda: repo.put(record("k")),
        lambda: repo.count(),
        lambda: list(repo.scan()),
    ):
        with pytest.raises(BackendUnavailableError) as caught:
            call()
        message = str(caught.value)
        assert f"127.0.0.1:{port}" in message and "refused" in message
        assert "s3cr3t" not in message and "s3cr3t" not in repr(caught.value)
    client.close()


async def test_async_unreachable_node_is_backend_unavailable() -> None:
    client = AsyncElasticsearch(f"http://127.0.0.1:{closed_port()}", max_retries=0)
    repo = AsyncElasticsearchRepository(client, "cache", LLM_RECORDS, owns_client=True)
    with pytest.raises(BackendUnavailableError):
        await repo.get_many(["k"])
    with pytest.raises(BackendUnavailableError):
        await repo.clear()
    with pytest.raises(BackendUnavailableError):
        await check_connection(client)
    await repo.close()


def _api_error(status: int, body: Any) -> ApiError:
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "es.example", 9200),
    )
    return ApiError("error", meta=meta, body=body)


@pytest.mark.parametrize(
    ("status", "body", "expected", "says"),
    [
        (401, {"error": {"type": "security_exception"}}, AuthenticationError, "es_api_key"),
        # issue 15: a 403 is the AuthenticationError subclass that names the privilege
        (403, {"error": {"type": "security_exception"}}, PermissionDeniedError, "privilege"),
        (429, {"error": "too many"}, BackendUnavailableError, "429"),
        (503, {"error": {"type": "unavailable"}}, BackendUnavailableError, "503"),
        (500, "oops", BackendUnavailableError, "500"),
        (
            400,
            {"error": {"type": "mapper_parsing_exception", "reason": "r"}},
            BackendError,
            "mapping",
        ),
        (404, {"error": {"type": "index_not_found_exception"}}, BackendError, "does not exist"),
    ],
)
def test_api_errors_are_translated(
    status: int, body: Any, expected: type[Exception], says: str
) -> None:
    error = translate_error(_api_error(status, body), "get")
    assert type(error) is expected
    assert says in str(error)


def test_bulk_unavailable_error_is_both_kinds() -> None:
    error = BulkBackendUnavailableError("put", {"k": "HTTP 429: rejected"})
    assert isinstance(error, BulkOperationError)
    assert isinstance(error, BackendUnavailableError)
    assert "k: HTTP 429" in str(error)


# -- client factories -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"url": "http://localhost:9200", "cloud_id": "x:eA=="}, "only one"),
        ({}, "es_url"),
        ({"url": "http://localhost:9200", "username": "elastic"}, "es_password"),
        ({"url": "http://localhost:9200", "password": "pw-9f2"}, "es_user"),
        ({"url": "localhost"}, "scheme"),
    ],
)
def test_client_factories_refuse_bad_configuration(kwargs: dict[str, Any], says: str) -> None:
    for factory in (create_elasticsearch_client, create_async_elasticsearch_client):
        with pytest.raises(ConfigurationError, match=says) as caught:
            factory(**kwargs)
        assert "pw-9f2" not in str(caught.value)


def test_sync_factory_checks_the_connection(es_url: str) -> None:
    client = create_elasticsearch_client(url=es_url, request_timeout=30)
    try:
        assert client._headers["user-agent"] == USER_AGENT
        ElasticsearchRepository(client, "unused", LLM_RECORDS)
    finally:
        client.close()
    port = closed_port()
    with pytest.raises(BackendUnavailableError) as caught:
        create_elasticsearch_client(
            url=f"http://elastic:hunter2-pw@127.0.0.1:{port}", max_retries=0
        )
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "hunter2" not in str(caught.value)


async def test_async_factory_and_check_connection(es_url: str, index_name: str) -> None:
    client = create_async_elasticsearch_client(url=es_url, user_agent="custom-agent/1")
    assert client._headers["user-agent"] == "custom-agent/1"
    await check_connection(client)
    repo = AsyncElasticsearchRepository(client, index_name, LLM_RECORDS, owns_client=True)
    await repo.put(record("k"))
    assert await repo.get("k") == record("k")
    await repo.close()
    await repo.close()
