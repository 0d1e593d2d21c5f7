"""The semantic scale benchmarks run in quick mode and write well-formed results.

Timings are not asserted (shared, noisy machines; tiny sizes). What is checked: every
part ran, false hits are counted and are 0 for every vector index type (the rescoring
guarantee), recall is a share, and the JSON is written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from benchmarks import semantic_paths, vector_storage
from benchmarks.scale import run_scale


def _positive(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_quick_scale_benchmark(es_url: str, tmp_path: Path) -> None:
    document = run_scale(
        es_url,
        entries=1_500,
        queries=40,
        dims=64,
        variants=("hnsw", "int8_hnsw", "bbq_hnsw"),
        phase="all",
        merge=True,
        name="smoke",
        out_dir=tmp_path,
        prefix="smoke-scale",
        node_source="test",
    )
    written = json.loads((tmp_path / "smoke.json").read_text())
    assert written == json.loads(json.dumps(document))
    client = Elasticsearch(es_url)
    try:
        for variant, part in written["variants"].items():
            lookups = part["lookups"]
            assert lookups["false_hits"] == 0, variant
            assert lookups["expected_hits"] > 0, variant  # the data has hits to find
            assert 0.0 <= lookups["recall"] <= 1.0
            assert _positive(lookups["p50_ms"]) and _positive(lookups["p95_ms"])
            assert part["storage"]["docs"] == 1_500
            assert _positive(part["storage"]["disk_bytes_per_entry"])
            client.indices.delete(index=part["index"], ignore_unavailable=True)
    finally:
        client.close()


def test_quick_semantic_paths_benchmark(es_url: str, tmp_path: Path) -> None:
    document = semantic_paths.run(
        es_url,
        entries=200,
        dims=32,
        rounds=10,
        total=20,
        name="smoke",
        out_dir=tmp_path,
        node_source="test",
    )
    written = json.loads((tmp_path / "smoke.json").read_text())
    assert written == json.loads(json.dumps(document))
    for path in ("hit", "miss"):
        measured = written["latency"][path]
        assert _positive(measured["ours/raw"])
        # the same outcome without the guard as the bare client's: hits on the hit path,
        # none on the miss path (the guard may refuse a few of the hits)
        answered = measured["answered"]
        assert answered["ours_unguarded"] == answered["raw"]
        assert 0 <= answered["ours"] <= answered["raw"]
        assert (answered["ours"] > 0) == (path == "hit")
        for in_flight in (1, 10, 100):
            rates = written["throughput"][f"{path}/{in_flight}"]["lookups_per_s"]
            assert _positive(rates["ours"]) and _positive(rates["raw_get_knn"])


def test_quick_vector_storage_benchmark(es_url: str) -> None:
    client = Elasticsearch(es_url, request_timeout=600)
    try:
        measured = vector_storage.measure(client, "source_json", 50, 16)
    finally:
        client.close()
    assert measured["status"] == "ok"
    assert measured["docs"] == 100
    assert _positive(measured["disk_bytes_per_entry"])
    for kind in ("unit", "norm_3"):  # the vector in _source comes back exactly
        assert measured["read_back"][kind]["exact"] == measured["read_back"][kind]["checked"]
