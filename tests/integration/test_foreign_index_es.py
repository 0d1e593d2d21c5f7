"""No operation touches an index that is not positively a cache (real node).

Issue 15: ``clear logs --yes --kind llm`` deleted the documents of an ordinary index. An
index is a cache only when its mapping carries the cache marker
(``_meta.langchain_elasticsearch_cache``) or has exactly a cache's fields (indices of
langchain-elasticsearch 1.0.0 and of earlier versions of this library). Every destructive
or writing operation, and every lookup, refuses anything else with a
``ConfigurationError`` (CLI: one line, exit 2) that says what was found and that nothing
was changed; the documents are counted before and after.

``test_foreign_index_matrix`` also writes the matrix in docs/RELIABILITY.md when
``LECACHE_FOREIGN_MATRIX`` names a file::

    CI=true LECACHE_FOREIGN_MATRIX=/tmp/matrix.md .venv/bin/python -m pytest -q \\
        tests/integration/test_foreign_index_es.py -k matrix
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    EMBEDDING_PROPERTIES,
    LLM_PROPERTIES,
    SEMANTIC_PROPERTIES,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import CACHE_MARKER
from langchain_elasticsearch_cache.interfaces import cli
from langchain_elasticsearch_cache.interfaces.langchain.elasticsearch_semantic import (
    AsyncElasticsearchSemanticCache,
    ElasticsearchSemanticCache,
)
from langchain_elasticsearch_cache.retention import bootstrap_alias, purge_by_index, rollover

pytestmark = pytest.mark.elasticsearch

OLD = "2020-01-01T00:00:00Z"  # older than every ttl used here: a purge would take it
DOCUMENTS = 5
ANSWER = [Generation(text="an answer")]
DAY = timedelta(days=1)


# --------------------------------------------------------------------------- foreign shapes


def _logs(client: Elasticsearch, index: str) -> None:
    for n in range(DOCUMENTS):
        client.index(
            index=index,
            id=f"log-{n}",
            document={"message": f"line {n}", "host": "web-1", "@timestamp": OLD},
        )


def _timestamped(client: Elasticsearch, index: str) -> None:
    for n in range(DOCUMENTS):
        client.index(index=index, id=f"m-{n}", document={"timestamp": OLD, "value": n})


def _seed_fields_plus_one(client: Elasticsearch, index: str) -> None:
    client.indices.create(
        index=index,
        mappings={"properties": {**LLM_PROPERTIES, "owner": {"type": "keyword"}}},
    )
    for n in range(DOCUMENTS):
        client.index(
            index=index,
            id=f"d-{n}",
            document={
                "llm_output": ["not a cache entry"],
                "llm_params": "params",
                "llm_input": "input",
                "timestamp": OLD,
                "owner": "ops",
            },
        )


def _no_mapped_field(client: Elasticsearch, index: str) -> None:
    client.indices.create(index=index, mappings={"dynamic": False})
    for n in range(DOCUMENTS):
        client.index(index=index, id=f"u-{n}", document={"message": f"kept {n}"})


SHAPES: dict[str, Callable[[Elasticsearch, str], None]] = {
    "logs (message, host, @timestamp)": _logs,
    "timestamp + value": _timestamped,
    "the seed's LLM fields + owner": _seed_fields_plus_one,
    "no mapped field (dynamic: false)": _no_mapped_field,
}


def _state(client: Elasticsearch, index: str) -> tuple[int, Any]:
    client.indices.refresh(index=index)
    return int(client.count(index=index)["count"]), client.indices.get_mapping(index=index).body


@pytest.fixture
def foreign(es_client: Elasticsearch, index_name: str) -> Iterator[dict[str, str]]:
    """One index per shape, ``{shape: index name}``."""
    names = {}
    for number, (shape, make) in enumerate(SHAPES.items()):
        name = f"{index_name}-foreign{number}"
        make(es_client, name)
        es_client.indices.refresh(index=name)
        assert _state(es_client, name)[0] == DOCUMENTS
        names[shape] = name
    yield names


# --------------------------------------------------------------------------- operations

Sync = Callable[[str], Any]
Async = Callable[[str], Awaitable[Any]]


def _python_operations(
    client: Elasticsearch, aclient: AsyncElasticsearch
) -> dict[str, tuple[Sync, Async]]:
    """Operation -> (sync call, async call) on an index; every cache is fail_open."""
    options: dict[str, Any] = {"ttl": DAY, "fail_open": True}

    def llm(index: str) -> ElasticsearchCache:
        return ElasticsearchCache(index, client=client, **options)

    def allm(index: str) -> AsyncElasticsearchCache:
        return AsyncElasticsearchCache(index, client=aclient, **options)

    def emb(index: str) -> ElasticsearchEmbeddingsCache:
        return ElasticsearchEmbeddingsCache(index, client=client, **options)

    def aemb(index: str) -> AsyncElasticsearchEmbeddingsCache:
        return AsyncElasticsearchEmbeddingsCache(index, client=aclient, **options)

    def sem(index: str) -> ElasticsearchSemanticCache:
        return ElasticsearchSemanticCache(
            index, DeterministicFakeEmbedding(size=4), client=client, **options
        )

    def asem(index: str) -> AsyncElasticsearchSemanticCache:
        return AsyncElasticsearchSemanticCache(
            index, DeterministicFakeEmbedding(size=4), client=aclient, **options
        )

    return {
        "LLM clear": (lambda i: llm(i).clear(), lambda i: allm(i).aclear()),
        "LLM purge_expired": (lambda i: llm(i).purge_expired(), lambda i: allm(i).apurge_expired()),
        "LLM update (first write)": (
            lambda i: llm(i).update("p", "l", ANSWER),
            lambda i: allm(i).aupdate("p", "l", ANSWER),
        ),
        "LLM delete": (lambda i: llm(i).delete("p", "l"), lambda i: allm(i).adelete("p", "l")),
        "LLM lookup": (lambda i: llm(i).lookup("p", "l"), lambda i: allm(i).alookup("p", "l")),
        "embeddings mset (first write)": (
            lambda i: emb(i).mset([("k", b"v")]),
            lambda i: aemb(i).amset([("k", b"v")]),
        ),
        "embeddings mdelete": (lambda i: emb(i).mdelete(["k"]), lambda i: aemb(i).amdelete(["k"])),
        "embeddings purge_expired": (
            lambda i: emb(i).purge_expired(),
            lambda i: aemb(i).apurge_expired(),
        ),
        "embeddings mget": (lambda i: emb(i).mget(["k"]), lambda i: aemb(i).amget(["k"])),
        "semantic clear": (lambda i: sem(i).clear(), lambda i: asem(i).aclear()),
        "semantic purge_expired": (
            lambda i: sem(i).purge_expired(),
            lambda i: asem(i).apurge_expired(),
        ),
        "semantic update (first write)": (
            lambda i: sem(i).update("p", "l", ANSWER),
            lambda i: asem(i).aupdate("p", "l", ANSWER),
        ),
        "semantic lookup": (lambda i: sem(i).lookup("p", "l"), lambda i: asem(i).alookup("p", "l")),
    }


def _cli_operations(tmp_path: Path) -> dict[str, list[list[str]]]:
    """Operation -> the command lines (INDEX is replaced) the matrix runs for it."""
    # one valid export line per kind: import checks its input before it looks at the
    # index, so each --kind gets entries of that kind and the index check is what refuses
    docs = {
        "llm": {"llm_output": ["x"], "timestamp": OLD},
        "embeddings": {"vector_dump": "AAAAAA==", "timestamp": OLD},
        "semantic": {
            "llm_output": ["x"],
            "timestamp": OLD,
            "prompt_vector": [0.1, 0.2, 0.3],
            "llm_string_hash": "h",
            "context_hash": "c",
            "prompt_text": "q",
        },
    }
    inputs = {}
    for kind, doc in docs.items():
        inputs[kind] = tmp_path / f"{kind}-entries.jsonl"
        line = json.dumps({"kind": kind, "id": "k", "doc": doc})
        inputs[kind].write_text(line + "\n", encoding="utf-8")
    kinds = [[], *(["--kind", kind] for kind in ("llm", "embeddings", "semantic"))]
    return {
        "clear --yes [--kind K]": [["clear", "INDEX", "--yes", *kind] for kind in kinds],
        "purge --older-than 1d [--kind K]": [
            ["purge", "INDEX", "--older-than", "1d", *kind] for kind in kinds
        ],
        "import [--kind K] into an existing index": [
            ["import", "INDEX", "--input", str(inputs[kind[1] if kind else "llm"]), *kind]
            for kind in kinds
        ],
        "stats / export [--kind K]": [
            *(["stats", "INDEX", *kind] for kind in kinds),
            *(["export", "INDEX", "-o", str(tmp_path / "out.jsonl"), *kind] for kind in kinds),
        ],
    }


class Matrix:
    """Cells ``(operation, surface) -> [refused on every shape?, documents left]``."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str], list[tuple[bool, int, int]]] = {}

    def add(self, operation: str, surface: str, refused: bool, left: int, total: int) -> None:
        self.cells.setdefault((operation, surface), []).append((refused, left, total))

    def failures(self) -> list[str]:
        return [
            f"{operation} ({surface})"
            for (operation, surface), results in self.cells.items()
            if not all(refused and left == total for refused, left, total in results)
        ]

    def markdown(self) -> str:
        surfaces = ["Python sync", "Python async", "CLI"]
        operations = list(dict.fromkeys(operation for operation, _ in self.cells))
        out = [
            "| operation | " + " | ".join(surfaces) + " |",
            "|---|" + "---|" * len(surfaces),
        ]
        for operation in operations:
            row = [operation]
            for surface in surfaces:
                results = self.cells.get((operation, surface))
                if not results:
                    row.append("-")
                    continue
                refused = sum(1 for ok, _, _ in results if ok)
                lost = sum(total - left for _, left, total in results)
                row.append(f"refused {refused}/{len(results)}, {lost} documents lost")
            out.append("| " + " | ".join(row) + " |")
        return "\n".join(out) + "\n"


def _says_what_and_nothing_changed(message: str, index: str) -> None:
    assert index in message, message
    assert "nothing was changed" in message, message
    assert "--kind" not in message, message  # no flag is offered that would act anyway


async def test_foreign_index_matrix(
    es_client: Elasticsearch,
    async_es_client: AsyncElasticsearch,
    es_url: str,
    index_name: str,
    foreign: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cli_logging_restored: None,
) -> None:
    matrix = Matrix()
    # an alias over a real cache (its write index) and the foreign index: retention
    alias = f"{index_name}-rolling"
    bootstrap_alias(es_client, alias, "llm")
    first = f"{alias}-000001"

    for shape, index in foreign.items():
        before = _state(es_client, index)

        def record(
            operation: str,
            surface: str,
            refused: bool,
            index: str = index,
            before: tuple[int, Any] = before,
            shape: str = shape,
        ) -> None:
            after = _state(es_client, index)
            assert after[1] == before[1], (operation, surface, shape)  # the mapping too
            matrix.add(operation, surface, refused, after[0], before[0])

        for operation, (sync, async_) in _python_operations(es_client, async_es_client).items():
            for surface, call in (("Python sync", sync), ("Python async", async_)):
                try:
                    result = call(index)
                    if surface == "Python async":
                        await result
                except ConfigurationError as exc:
                    _says_what_and_nothing_changed(str(exc), index)
                    record(operation, surface, True)
                else:
                    record(operation, surface, False)

        for operation, commands in _cli_operations(tmp_path).items():
            for command in commands:
                argv = [part.replace("INDEX", index) for part in command]
                code = cli.main([*argv, "--es-url", es_url])
                err = capsys.readouterr().err.strip()
                refused = code == cli.EXIT_USAGE and len(err.splitlines()) == 1
                if refused:
                    _says_what_and_nothing_changed(err, index)
                record(operation, "CLI", refused)

        # behind an alias, with a real cache index: nothing is dropped, rolled or cleared
        es_client.indices.put_alias(index=index, name=alias)
        for operation, surface, call in (
            (
                "purge_by_index (alias over a cache + this index)",
                "Python sync",
                lambda: purge_by_index(es_client, alias, 1),
            ),
            (
                "rollover (alias over a cache + this index)",
                "Python sync",
                lambda: rollover(es_client, alias, max_docs=1),
            ),
            (
                "LLM clear through an alias over a cache + this index",
                "Python sync",
                lambda: ElasticsearchCache(alias, client=es_client).clear(),
            ),
        ):
            try:
                call()
            except ConfigurationError as exc:
                _says_what_and_nothing_changed(str(exc), index)
                record(operation, surface, True)
            else:
                record(operation, surface, False)
        for operation, argv in (
            (
                "purge_by_index (alias over a cache + this index)",
                ["purge", alias, "--by-index", "--older-than", "1s"],
            ),
            ("rollover (alias over a cache + this index)", ["rollover", alias, "--max-docs", "1"]),
            ("LLM clear through an alias over a cache + this index", ["clear", alias, "--yes"]),
        ):
            code = cli.main([*argv, "--es-url", es_url])
            err = capsys.readouterr().err.strip()
            refused = code == cli.EXIT_USAGE and len(err.splitlines()) == 1
            if refused:
                _says_what_and_nothing_changed(err, index)
            record(operation, "CLI", refused)
        es_client.indices.delete_alias(index=index, name=alias)
        assert sorted(es_client.indices.get_alias(name=alias).body) == [first]

    table = matrix.markdown()
    target = os.environ.get("LECACHE_FOREIGN_MATRIX")
    if target:
        Path(target).write_text(table, encoding="utf-8")
    assert matrix.failures() == [], table


# --------------------------------------------------------------------------- caches work


def _old_version_index(client: Elasticsearch, index: str, properties: Any) -> None:
    """An index as earlier versions created it: the cache's fields, no ``_meta``."""
    client.indices.create(index=index, mappings={"properties": dict(properties)})


def _marker(client: Elasticsearch, index: str) -> Any:
    mappings = client.indices.get_mapping(index=index)[index]["mappings"]
    return (mappings.get("_meta") or {}).get(CACHE_MARKER)


def test_new_indices_carry_the_marker(es_client: Elasticsearch, index_name: str) -> None:
    ElasticsearchCache(f"{index_name}-llm", client=es_client).update("p", "l", ANSWER)
    ElasticsearchEmbeddingsCache(f"{index_name}-emb", client=es_client).mset([("k", b"v")])
    ElasticsearchSemanticCache(
        f"{index_name}-sem", DeterministicFakeEmbedding(size=4), client=es_client
    ).update("p", "l", ANSWER)
    for suffix, kind in (("llm", "llm"), ("emb", "embeddings"), ("sem", "semantic")):
        marker = _marker(es_client, f"{index_name}-{suffix}")
        if kind == "semantic":
            assert marker.pop("embedding")["class"].endswith("DeterministicFakeEmbedding")
        assert marker == {"kind": kind, "schema": 1}
    first = bootstrap_alias(es_client, f"{index_name}-alias", "embeddings")
    assert _marker(es_client, first) == {"kind": "embeddings", "schema": 1}
    ElasticsearchEmbeddingsCache(f"{index_name}-alias", client=es_client, refresh=True).mset(
        [("k", b"v")]
    )
    second = rollover(es_client, f"{index_name}-alias", max_docs=1).new_index
    assert _marker(es_client, second) == {"kind": "embeddings", "schema": 1}


def test_seed_and_old_version_indices_keep_working(
    es_client: Elasticsearch,
    index_name: str,
    es_url: str,
    capsys: pytest.CaptureFixture[str],
    cli_logging_restored: None,
) -> None:
    # the seed needs elasticsearch-py 8.19-8.x: imported here, so rows 2 and 3 of
    # scripts/test.sh run the rest of this file and deselect the two tests that need it
    from langchain_elasticsearch.cache import ElasticsearchCache as SeedCache
    from langchain_elasticsearch.cache import ElasticsearchEmbeddingsCache as SeedEmbeddingsCache

    seed_llm, seed_emb = f"{index_name}-seed-llm", f"{index_name}-seed-emb"
    SeedCache(seed_llm, client=es_client, metadata={"team": "a"}).update("p", "l", ANSWER)
    SeedEmbeddingsCache(seed_emb, client=es_client, namespace="m").mset([("k", b"v")])
    old = {
        f"{index_name}-old-llm": LLM_PROPERTIES,
        f"{index_name}-old-emb": EMBEDDING_PROPERTIES,
        f"{index_name}-old-sem": SEMANTIC_PROPERTIES,
    }
    for index, properties in old.items():
        _old_version_index(es_client, index, properties)
    # an alias bootstrapped by an earlier version (no marker on its first index)
    legacy_alias = f"{index_name}-old-rolling"
    es_client.indices.create(
        index=f"{legacy_alias}-000001",
        mappings={"properties": dict(LLM_PROPERTIES)},
        aliases={legacy_alias: {"is_write_index": True}},
    )
    llm_like = [seed_llm, f"{index_name}-old-llm", legacy_alias]
    for index in llm_like:
        cache = ElasticsearchCache(index, client=es_client, ttl=DAY, refresh=True)
        cache.update("q", "l", ANSWER)
        assert cache.lookup("q", "l") == ANSWER
        assert cache.purge_expired() == 0
        cache.clear()
        assert cache.lookup("q", "l") is None
    for index in (seed_emb, f"{index_name}-old-emb"):
        store = ElasticsearchEmbeddingsCache(index, client=es_client, ttl=DAY, refresh=True)
        store.mset([("k2", b"v2")])
        assert store.mget(["k2"]) == [b"v2"]
        assert store.purge_expired() == 0
    semantic = ElasticsearchSemanticCache(
        f"{index_name}-old-sem",
        DeterministicFakeEmbedding(size=4),
        client=es_client,
        refresh=True,
    )
    semantic.update("p", "l", ANSWER)
    assert semantic.lookup("p", "l") == ANSWER
    semantic.clear()
    # the CLI reads their kind and clears them; nothing gets a marker it did not have
    es_client.index(index=seed_llm, id="x", document={"llm_output": ["a"], "timestamp": OLD})
    for index, kind in ((seed_llm, "llm"), (seed_emb, "embeddings")):
        assert cli.main(["stats", index, "--json", "--es-url", es_url]) == cli.EXIT_OK
        assert f'"kind": "{kind}"' in capsys.readouterr().out
        assert cli.main(["clear", index, "--yes", "--es-url", es_url]) == cli.EXIT_OK
        assert f"entries from {index}" in capsys.readouterr().out
        assert _state(es_client, index)[0] == 0
        assert _marker(es_client, index) is None
    assert (
        cli.main(["purge", legacy_alias, "--by-index", "--older-than", "1s", "--es-url", es_url])
        == cli.EXIT_OK
    )
    capsys.readouterr()


def test_the_seeds_dynamic_mapping_is_recognised(es_client: Elasticsearch, index_name: str) -> None:
    from langchain_elasticsearch.cache import ElasticsearchCache as SeedCache  # see above

    # an index that existed without a mapping: the seed puts none, its first write maps
    # the fields dynamically (text with a keyword sub-field, date, object)
    es_client.indices.create(index=index_name)
    SeedCache(index_name, client=es_client, metadata={"team": "a"}).update("p", "l", ANSWER)
    mapped = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert mapped["properties"]["llm_output"]["type"] == "text"
    assert mapped["properties"]["timestamp"]["type"] == "date"
    ours = ElasticsearchCache(index_name, client=es_client, key_scheme="legacy", refresh=True)
    assert ours.lookup("p", "l") == ANSWER
    ours.clear()
    assert _state(es_client, index_name)[0] == 0


def test_an_empty_index_without_mapping_is_taken_over(
    es_client: Elasticsearch,
    index_name: str,
    es_url: str,
    capsys: pytest.CaptureFixture[str],
    cli_logging_restored: None,
) -> None:
    es_client.indices.create(index=index_name, mappings={"_meta": {"owner": "ops"}})
    # its kind cannot be read from it: the CLI asks (nothing in it can be lost)
    assert cli.main(["clear", index_name, "--yes", "--es-url", es_url]) == cli.EXIT_USAGE
    assert "pass --kind" in capsys.readouterr().err
    assert cli.main(["clear", index_name, "--yes", "--kind", "llm", "--es-url", es_url]) == 0
    assert "cleared 0 entries" in capsys.readouterr().out
    cache = ElasticsearchCache(index_name, client=es_client)
    cache.update("p", "l", ANSWER)
    assert cache.lookup("p", "l") == ANSWER
    mappings = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert mappings["_meta"] == {"owner": "ops", CACHE_MARKER: {"kind": "llm", "schema": 1}}
    assert set(mappings["properties"]) == set(LLM_PROPERTIES)


def test_kind_only_chooses_between_cache_kinds(
    es_client: Elasticsearch,
    index_name: str,
    es_url: str,
    capsys: pytest.CaptureFixture[str],
    cli_logging_restored: None,
) -> None:
    ElasticsearchCache(index_name, client=es_client, refresh=True).update("p", "l", ANSWER)
    for command in (
        ["stats", index_name, "--kind", "embeddings"],
        ["clear", index_name, "--yes", "--kind", "semantic"],
        ["purge", index_name, "--older-than", "1s", "--kind", "embeddings"],
    ):
        assert cli.main([*command, "--es-url", es_url]) == cli.EXIT_USAGE
        err = capsys.readouterr().err
        assert "is an LLM cache index, not" in err and "nothing was changed" in err, err
        assert _state(es_client, index_name)[0] == 1


def test_a_marker_of_a_newer_schema_is_refused(es_client: Elasticsearch, index_name: str) -> None:
    es_client.indices.create(
        index=index_name,
        mappings={
            "_meta": {CACHE_MARKER: {"kind": "llm", "schema": 2}},
            "properties": dict(LLM_PROPERTIES),
        },
    )
    with pytest.raises(ConfigurationError, match="newer version"):
        ElasticsearchCache(index_name, client=es_client).clear()


def test_an_index_added_to_the_alias_later_is_checked_before_a_clear(
    es_client: Elasticsearch, index_name: str, foreign: dict[str, str]
) -> None:
    bootstrap_alias(es_client, index_name, "llm")
    cache = ElasticsearchCache(index_name, client=es_client, refresh=True)
    cache.update("p", "l", ANSWER)  # checked: one cache index
    logs = foreign["logs (message, host, @timestamp)"]
    es_client.indices.put_alias(index=logs, name=index_name)
    with pytest.raises(ConfigurationError, match="nothing was changed"):
        cache.clear()
    assert _state(es_client, logs)[0] == DOCUMENTS
    assert _state(es_client, f"{index_name}-000001")[0] == 1
