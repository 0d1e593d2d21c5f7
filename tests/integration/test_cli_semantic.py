"""The command-line tool on semantic cache indices, as a user runs it: a subprocess against
the real node (see test_cli.py for the other kinds).

Semantic entries are written with the sync vector adapter; what the CLI leaves in
Elasticsearch is read back with the raw client and with ``nearest`` (kNN), which is what
the semantic cache asks.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import ElasticsearchCache
from langchain_elasticsearch_cache.adapters.elasticsearch import ElasticsearchVectorRepository
from langchain_elasticsearch_cache.domain.semantic_records import SemanticRecord, VectorQuery

from .test_cli import assert_one_line_error, cli, count, environment, stored_ids

pytestmark = pytest.mark.elasticsearch

DIMS = 24
MODELS = ("model-a-hash", "model-b-hash")
CONTEXTS = ("context-1", "context-2")
PARAMS = {
    "model-a-hash": "[('_type', 'fake-list-chat-model'), ('stop', None)]",
    "model-b-hash": "[('model_name', 'gpt-4o-mini'), ('stop', None)]",
}


def unit_vector(rng: random.Random, dims: int = DIMS) -> list[float]:
    vector = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    norm = sum(item * item for item in vector) ** 0.5
    return [item / norm for item in vector]


def semantic_records(
    entries: int, *, seed: int = 7, dims: int = DIMS, start: datetime | None = None
) -> list[SemanticRecord]:
    """``entries`` records with random unit vectors, spread over two models and contexts."""
    rng = random.Random(seed)
    start = start or datetime(2025, 3, 1, tzinfo=timezone.utc)
    records = []
    for i in range(entries):
        model = MODELS[i % 2]
        records.append(
            SemanticRecord(
                key=f"key-{i:04d}",
                llm_output=(f'{{"text": "answer {i}"}}',),
                timestamp=start + timedelta(seconds=i, microseconds=i % 1000),
                llm_string_hash=model,
                context_hash=CONTEXTS[(i // 2) % 2],
                vector=unit_vector(rng, dims),
                prompt_text=f"prompt {i} {'é' if i % 7 == 0 else ''}",
                llm_input=f"input {i}",
                llm_params=PARAMS[model],
                metadata={"i": i},
            )
        )
    return records


def populate(client: Elasticsearch, index: str, records: list[SemanticRecord]) -> None:
    repository = ElasticsearchVectorRepository(client, index)
    repository.put_many(records)
    client.indices.refresh(index=index)


def top_key(repository: ElasticsearchVectorRepository, query: VectorQuery) -> str | None:
    found = repository.nearest(query)
    return found[0].record.key if found else None


def test_export_import_round_trip_keeps_vectors_and_knn_answers(
    es_url: str, es_client: Elasticsearch, index_name: str, tmp_path: Path
) -> None:
    source, target = f"{index_name}-sem", f"{index_name}-sem-copy"
    records = semantic_records(300)
    populate(es_client, source, records)
    env = environment(ES_URL=es_url)
    export_file = tmp_path / "semantic.jsonl"

    exported = cli("export", source, "-o", str(export_file), env=env)
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr.strip() == f"exported 300 entries from {source}"
    lines = export_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 300
    items = [json.loads(line) for line in lines]
    assert {item["kind"] for item in items} == {"semantic"}
    by_key = {record.key: record for record in records}
    for item in items:
        vector = item["doc"]["prompt_vector"]
        assert vector == pytest.approx(by_key[item["id"]].vector, abs=1e-6)
        assert item["doc"]["llm_string_hash"] == by_key[item["id"]].llm_string_hash
        assert item["doc"]["context_hash"] == by_key[item["id"]].context_hash

    # a new index, kind read from the lines
    imported = cli("import", target, "-i", str(export_file), env=env)
    assert imported.returncode == 0, imported.stderr
    assert imported.stderr.strip() == f"imported 300 entries into {target}"
    assert count(es_client, target) == 300
    mapping = es_client.indices.get_mapping(index=target)[target]["mappings"]["properties"]
    vector_field = mapping["prompt_vector"]
    assert (vector_field["type"], vector_field["dims"]) == ("dense_vector", DIMS)
    assert vector_field["similarity"] == "cosine"
    assert vector_field["index_options"]["type"] == "hnsw"
    assert mapping["llm_string_hash"]["type"] == mapping["context_hash"]["type"] == "keyword"
    # the semantic index settings (on 9.1+ the fanout filter heuristic), as the adapter
    # created the source index with them
    settings = {
        name: es_client.indices.get_settings(index=name)[name]["settings"]["index"]
        for name in (source, target)
    }
    assert settings[target].get("dense_vector") == settings[source].get("dense_vector")

    # kNN answers the same before and after, for sampled queries near stored entries
    before = ElasticsearchVectorRepository(es_client, source)
    after = ElasticsearchVectorRepository(es_client, target)
    rng = random.Random(11)
    for record in rng.sample(records, 40):
        assert record.vector is not None
        noisy = [item + rng.gauss(0.0, 0.05) for item in record.vector]
        query = VectorQuery(
            vector=noisy,
            llm_string_hash=record.llm_string_hash,
            context_hash=record.context_hash,
            min_similarity=0.5,
            k=3,
        )
        assert top_key(before, query) == record.key
        assert top_key(after, query) == record.key
        # another model's nearest entry is not this one, in either index
        other = VectorQuery(
            vector=noisy,
            llm_string_hash=next(m for m in MODELS if m != record.llm_string_hash),
            context_hash=record.context_hash,
            min_similarity=0.5,
            k=3,
        )
        assert top_key(before, other) == top_key(after, other) != record.key

    # exporting the copy gives the same lines: nothing lost or changed on the way
    again = cli("export", target, env=env)
    assert again.returncode == 0, again.stderr
    assert sorted(again.stdout.splitlines()) == sorted(lines)


def test_stats_of_a_semantic_index_shows_models_and_dims(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    records = semantic_records(9)
    populate(es_client, index_name, records)
    env = environment(ES_URL=es_url)
    done = cli("stats", index_name, "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["kind"], report["documents"], report["dims"]) == ("semantic", 9, DIMS)
    assert report["models"] == {"fake-list-chat-model": 5, "gpt-4o-mini": 4}
    assert report["oldest"] == "2025-03-01T00:00:00.000Z"

    text = cli("stats", index_name, env=env)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert f"index:      {index_name} (semantic cache)" in lines
    assert f"dims:       {DIMS} (prompt vectors)" in lines

    # an empty semantic index (created by the cache before its first write) has no dims yet
    empty = f"{index_name}-empty"
    assert ElasticsearchVectorRepository(es_client, empty).dimensions() is None
    shown = cli("stats", empty, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert (json.loads(shown.stdout)["kind"], json.loads(shown.stdout)["dims"]) == (
        "semantic",
        None,
    )


def test_purge_and_clear_of_a_semantic_index(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    now = datetime.now(timezone.utc)
    records = semantic_records(6)
    ages = [30, 10, 8, 6, 1 / 24, 0]  # days
    aged = [
        SemanticRecord(**{**_fields(record), "timestamp": now - timedelta(days=age)})
        for record, age in zip(records, ages, strict=True)
    ]
    populate(es_client, index_name, aged)
    env = environment(ES_URL=es_url)

    done = cli("purge", index_name, "--older-than", "7d", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("purged 3 entries older than 7d")
    assert stored_ids(es_client, index_name) == {record.key for record in aged[3:]}
    # a purged entry is not found by kNN either
    repository = ElasticsearchVectorRepository(es_client, index_name)
    oldest = aged[0]
    assert oldest.vector is not None
    query = VectorQuery(oldest.vector, oldest.llm_string_hash, oldest.context_hash, 0.99, k=1)
    assert repository.nearest(query) == []

    refused = cli("clear", index_name, env=env)
    assert "--yes" in assert_one_line_error(refused, 2)
    cleared = cli("clear", index_name, "--yes", env=env)
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stdout.strip() == f"cleared 3 entries from {index_name}"
    assert count(es_client, index_name) == 0
    kept = es_client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert kept["properties"]["prompt_vector"]["dims"] == DIMS  # emptied, not deleted


def _fields(record: SemanticRecord) -> dict[str, object]:
    return {
        "key": record.key,
        "llm_output": record.llm_output,
        "timestamp": record.timestamp,
        "llm_string_hash": record.llm_string_hash,
        "context_hash": record.context_hash,
        "vector": record.vector,
        "prompt_text": record.prompt_text,
        "llm_input": record.llm_input,
        "llm_params": record.llm_params,
        "metadata": record.metadata,
    }


def test_semantic_imports_into_the_wrong_index_are_refused_with_exit_2(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    source = f"{index_name}-sem"
    populate(es_client, source, semantic_records(5))
    env = environment(ES_URL=es_url)
    semantic_lines = cli("export", source, env=env)
    assert semantic_lines.returncode == 0, semantic_lines.stderr

    # semantic lines into an existing LLM index
    llm_index = f"{index_name}-llm"
    ElasticsearchCache(llm_index, client=es_client).update("p", "l", [Generation(text="x")])
    wrong = cli("import", llm_index, env=env, stdin=semantic_lines.stdout)
    message = assert_one_line_error(wrong, 2)
    assert "semantic entries" in message and "an llm cache" in message
    assert count(es_client, llm_index) == 1

    # LLM lines into a semantic index
    llm_lines = cli("export", llm_index, env=env)
    assert llm_lines.returncode == 0, llm_lines.stderr
    backwards = cli("import", source, env=env, stdin=llm_lines.stdout)
    assert "a semantic cache" in assert_one_line_error(backwards, 2)
    assert count(es_client, source) == 5

    # forcing the semantic kind onto the LLM index: --kind never overrides the index's kind
    forced = cli("import", llm_index, "--kind", "semantic", env=env, stdin=semantic_lines.stdout)
    forced_message = assert_one_line_error(forced, 2)
    assert "is an LLM cache index, not a semantic cache index" in forced_message
    assert "nothing was changed" in forced_message
    assert count(es_client, llm_index) == 1

    # semantic lines of another vector length into an existing semantic index
    other = f"{index_name}-sem8"
    populate(es_client, other, semantic_records(2, dims=8, seed=3))
    mismatch = cli("import", other, env=env, stdin=semantic_lines.stdout)
    message = assert_one_line_error(mismatch, 2)
    assert f"has {DIMS} dimensions" in message and "vectors of 8 dimensions" in message
    assert count(es_client, other) == 2
