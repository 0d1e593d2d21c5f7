"""Retention by index on a real node: bootstrap, rollover with conditions, and dropping
whole indices whose newest entry has expired, while lookups keep answering newest-wins.

Entry times come from an injected clock (the cache's ``clock=``) and ``purge_by_index``
takes ``now=``, so nothing waits for time to pass.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from elasticsearch import Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)
from langchain_elasticsearch_cache.interfaces import cli
from langchain_elasticsearch_cache.retention import (
    alias_indices,
    bootstrap_alias,
    purge_by_index,
    rollover,
)

pytestmark = pytest.mark.elasticsearch

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
LLM = "model-x"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _answer(text: str) -> list[Generation]:
    return [Generation(text=text)]


def _force_rollover(client: Elasticsearch, alias: str) -> str:
    client.indices.refresh(index=alias)  # max_docs counts refreshed documents
    result = rollover(client, alias, max_docs=1)
    assert result.rolled_over, result
    return result.new_index


@pytest.fixture
def three_generations(
    es_client: Elasticsearch, es_url: str, index_name: str
) -> Iterator[tuple[ElasticsearchCache, Clock]]:
    """An LLM cache behind ``index_name`` over three indices written at T0, T0+1d, T0+2d:

    gen 1 (T0):      "shared" = v1, "old-only"
    gen 2 (T0+1d):   "shared" = v2, "middle-only"
    gen 3 (T0+2d):   "shared" = v3, "new-only"     (the write index)
    """
    assert bootstrap_alias(es_client, index_name, "llm") == f"{index_name}-000001"
    clock = Clock()
    with ElasticsearchCache(index_name, es_url=es_url, clock=clock) as cache:
        cache.update("shared", LLM, _answer("v1"))
        cache.update("old-only", LLM, _answer("old"))
        _force_rollover(es_client, index_name)
        clock.now = T0 + DAY
        cache.update("shared", LLM, _answer("v2"))
        cache.update("middle-only", LLM, _answer("middle"))
        _force_rollover(es_client, index_name)
        clock.now = T0 + 2 * DAY
        cache.update("shared", LLM, _answer("v3"))
        cache.update("new-only", LLM, _answer("new"))
        yield cache, clock


def _names(client: Elasticsearch, alias: str) -> list[str]:
    return [index.name for index in alias_indices(client, alias)]


def test_bootstrap_creates_the_first_generation_as_write_index(
    es_client: Elasticsearch, index_name: str
) -> None:
    first = bootstrap_alias(es_client, index_name, "embeddings")

    assert first == f"{index_name}-000001"
    aliases = es_client.indices.get_alias(name=index_name).body
    assert aliases == {first: {"aliases": {index_name: {"is_write_index": True}}}}
    mapping = es_client.indices.get_mapping(index=first)[first]["mappings"]["properties"]
    assert mapping["vector_dump"]["type"] == "binary"
    with pytest.raises(ConfigurationError, match="is already an alias"):
        bootstrap_alias(es_client, index_name, "embeddings")


def test_bootstrap_refuses_an_existing_index_and_says_how_to_migrate(
    es_client: Elasticsearch, index_name: str
) -> None:
    es_client.indices.create(index=index_name)
    with pytest.raises(ConfigurationError, match=r"is an index, not an alias.*non-write index"):
        bootstrap_alias(es_client, index_name, "llm")
    with pytest.raises(ConfigurationError, match="kind must be one of"):
        bootstrap_alias(es_client, f"{index_name}-x", "vectors")


def test_rollover_gives_the_new_index_the_cache_mapping_and_lookups_stay_newest_wins(
    es_client: Elasticsearch, index_name: str, three_generations: tuple[ElasticsearchCache, Clock]
) -> None:
    cache, _ = three_generations
    names = _names(es_client, index_name)
    assert names == [f"{index_name}-00000{n}" for n in (1, 2, 3)]
    assert [index.is_write_index for index in alias_indices(es_client, index_name)] == [
        False,
        False,
        True,
    ]
    for name in names[1:]:
        properties = es_client.indices.get_mapping(index=name)[name]["mappings"]["properties"]
        assert properties["llm_output"] == {"type": "text", "index": False}
    assert cache.lookup("shared", LLM) == _answer("v3")
    assert cache.lookup("old-only", LLM) == _answer("old")
    assert cache.statistics.errors == 0


def test_rollover_conditions_not_met_leave_the_write_index(
    es_client: Elasticsearch, es_url: str, index_name: str
) -> None:
    bootstrap_alias(es_client, index_name, "llm")
    with ElasticsearchCache(index_name, es_url=es_url, refresh=True) as cache:
        cache.update("p", LLM, _answer("a"))

    result = rollover(es_client, index_name, max_docs=1000, max_age="30d", max_size="50gb")

    assert not result.rolled_over
    assert result.old_index == f"{index_name}-000001"
    assert result.conditions == {
        "[max_docs: 1000]": False,
        "[max_age: 30d]": False,
        "[max_size: 50gb]": False,
    }
    assert _names(es_client, index_name) == [f"{index_name}-000001"]
    dry = rollover(es_client, index_name, max_docs=1, dry_run=True)
    assert dry.dry_run and not dry.rolled_over
    assert dry.conditions == {"[max_docs: 1]": True}
    assert _names(es_client, index_name) == [f"{index_name}-000001"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs at least one condition"),
        ({"max_docs": 0}, "max_docs must be a whole number >= 1"),
        ({"max_size": "lots"}, "max_size must be a number of bytes or a size like '50gb'"),
        ({"max_age": "a week"}, "not an Elasticsearch time value"),
        ({"max_age": timedelta(0)}, "max_age must be a positive timedelta"),
    ],
)
def test_bad_rollover_conditions_are_refused(
    es_client: Elasticsearch, index_name: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        rollover(es_client, index_name, **options)  # type: ignore[arg-type]


def test_rollover_and_purge_need_an_alias(es_client: Elasticsearch, index_name: str) -> None:
    with pytest.raises(ConfigurationError, match="does not exist: create it with bootstrap"):
        rollover(es_client, index_name, max_docs=1)
    es_client.indices.create(index=index_name)
    with pytest.raises(ConfigurationError, match="is an index, not an alias"):
        purge_by_index(es_client, index_name, DAY)


def test_the_oldest_index_is_dropped_while_lookups_keep_the_newest_copy(
    es_client: Elasticsearch, index_name: str, three_generations: tuple[ElasticsearchCache, Clock]
) -> None:
    cache, clock = three_generations
    assert cache.lookup("shared", LLM) == _answer("v3")  # the cache now knows 3 indices
    ttl = timedelta(hours=36)
    clock.now = T0 + 2 * DAY + timedelta(hours=1)  # gen 1 (T0) expired, gen 2 (T0+1d) not
    answers: list[object] = []
    done = threading.Event()

    def read_meanwhile() -> None:  # the same cache object, reading while the index goes
        while not done.is_set() or len(answers) < 20:
            try:
                answers.append(cache.lookup("shared", LLM))
            except Exception as error:  # recorded, so the assertion shows it
                answers.append(error)

    reader = threading.Thread(target=read_meanwhile)
    reader.start()
    try:
        dropped = purge_by_index(es_client, index_name, ttl, now=clock.now)
    finally:
        done.set()
        reader.join(timeout=300)
    wrong = [answer for answer in answers if answer != _answer("v3")]
    assert answers and not wrong, (len(answers), wrong[:5])

    assert [(index.name, index.newest) for index in dropped] == [(f"{index_name}-000001", T0)]
    assert _names(es_client, index_name) == [f"{index_name}-000002", f"{index_name}-000003"]
    # the same cache object, which still lists the dropped index: no error, newest wins
    assert cache.lookup("shared", LLM) == _answer("v3")
    assert cache.lookup("middle-only", LLM) == _answer("middle")
    assert cache.lookup("old-only", LLM) is None  # expired, and now gone
    assert cache.statistics.errors == 0
    cache.update("after", LLM, _answer("still writable"))
    assert cache.lookup("after", LLM) == _answer("still writable")


def test_entries_newer_than_the_ttl_are_never_dropped(
    es_client: Elasticsearch, index_name: str, three_generations: tuple[ElasticsearchCache, Clock]
) -> None:
    # gen 2's newest entry is T0+1d: at now = T0+1d+ttl it is exactly ttl old. The date
    # field keeps milliseconds, so that is still kept; 1 ms later it is dropped.
    ttl = timedelta(hours=6)
    at_the_edge = T0 + DAY + ttl
    dropped = purge_by_index(es_client, index_name, ttl, now=at_the_edge)
    assert [index.name for index in dropped] == [f"{index_name}-000001"]
    assert f"{index_name}-000002" in _names(es_client, index_name)

    dropped = purge_by_index(
        es_client, index_name, ttl, now=at_the_edge + timedelta(milliseconds=1)
    )
    assert [index.name for index in dropped] == [f"{index_name}-000002"]


def test_the_write_index_is_never_dropped(
    es_client: Elasticsearch, index_name: str, three_generations: tuple[ElasticsearchCache, Clock]
) -> None:
    cache, _ = three_generations
    far_future = T0 + timedelta(days=3650)

    dry = purge_by_index(es_client, index_name, DAY, now=far_future, dry_run=True)
    assert [index.name for index in dry] == [f"{index_name}-00000{n}" for n in (1, 2)]
    assert len(_names(es_client, index_name)) == 3  # dry run: nothing dropped
    dropped = purge_by_index(es_client, index_name, DAY, now=far_future)

    assert [index.name for index in dropped] == [f"{index_name}-00000{n}" for n in (1, 2)]
    assert _names(es_client, index_name) == [f"{index_name}-000003"]
    assert cache.lookup("shared", LLM) == _answer("v3")


# ---------------------------------------------------------------------- command line


@pytest.mark.usefixtures("cli_logging_restored")
def test_cli_bootstrap_rollover_and_purge_by_index(
    es_client: Elasticsearch,
    es_url: str,
    index_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def run(*argv: str) -> tuple[int, str]:
        code = cli.main([*argv, "--es-url", es_url])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    code, out = run("rollover", index_name, "--bootstrap")
    assert code == cli.EXIT_USAGE and "--kind llm, --kind embeddings or --kind semantic" in out
    code, out = run("rollover", index_name, "--bootstrap", "--kind", "embeddings")
    assert code == cli.EXIT_OK, out
    assert f"created {index_name}-000001 behind alias {index_name}" in out

    clock = Clock()  # entries written in 2024: long expired by the real clock
    with ElasticsearchEmbeddingsCache(index_name, es_url=es_url, clock=clock) as store:
        store.mset([("old", b"1")])
    es_client.indices.refresh(index=index_name)

    code, out = run("rollover", index_name, "--max-docs", "5")
    assert code == cli.EXIT_OK and "not rolled over: no condition met" in out, out
    code, out = run("rollover", index_name, "--max-docs", "1", "--max-age", "30d")
    assert code == cli.EXIT_OK, out
    assert f"from {index_name}-000001 to {index_name}-000002" in out

    with ElasticsearchEmbeddingsCache(index_name, es_url=es_url) as store:  # real clock
        store.mset([("new", b"2")])
        code, out = run("purge", index_name, "--by-index", "--older-than", "7d")
        assert code == cli.EXIT_OK, out
        assert f"dropped {index_name}-000001 (newest entry: 2024-05-01T12:00:00+00:00)" in out
        assert store.mget(["old", "new"]) == [None, b"2"]
    assert _names(es_client, index_name) == [f"{index_name}-000002"]

    code, out = run("purge", f"{index_name}-missing", "--by-index", "--older-than", "1d")
    assert code == cli.EXIT_NOT_FOUND, out
