"""Semantic cache at scale: each vector index type at 100k and 1M entries.

For each ``vector_index_type`` (``hnsw``, ``int8_hnsw``, ``bbq_hnsw``) an index is built
with the mapping the vector repository creates, then measured through the repository's
``nearest()`` (which rescores quantized candidates with the exact float vectors):

* recall at the threshold against brute-force cosine in numpy over the same vectors;
* false hits: returned entries whose exact cosine is under the threshold (must be 0);
* p50 / p95 of ``nearest()``;
* bytes on disk per entry (``_cat/indices``, primaries, over the document count) and the
  vector files' sizes per entry as the node reports them (``_stats/dense_vector`` off-heap
  on 9.x: ``vec`` raw floats, ``veq`` int8, ``veb`` bbq, ``vex`` the HNSW graph).

Data (synthetic, so 1M needs no model): unit vectors around random cluster centres, one
centre per 40 entries, each entry ``centre + s * N(0, I) / sqrt(dims)`` with ``s`` uniform
in [0.1, 0.6], normalised. With 10k entries its nearest-neighbour cosine distribution
(p5 0.86, p50 0.94, p90 0.98; 76 % of entries have a neighbour >= 0.9) matches WordLlama's
on the generated prompts of ``benchmarks/semantic.py`` (p5 0.85, p50 0.94, p90 0.98; 84 %),
and cluster density stays the same at every size. Queries: 3/4 new members of existing
clusters (paraphrase-like, about half of them hits at 0.9), 1/4 uniform random (misses).

Usage (each phase writes ``results/<name>.json`` as it goes, so a long run leaves partial
results)::

    python -m benchmarks.scale --quick                      # tiny, starts its own node
    python -m benchmarks.scale --es-url URL --entries 100000 --name scale-100k-es9
    python -m benchmarks.scale --es-url URL --entries 1000000 --phase build --name scale-1m
    python -m benchmarks.scale --es-url URL --entries 1000000 --phase measure --name scale-1m
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import urllib3
from elasticsearch import BadRequestError, Elasticsearch

from langchain_elasticsearch_cache.adapters.elasticsearch import ElasticsearchVectorRepository
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import (
    SEMANTIC_INDEX_SETTINGS,
    VECTOR_INDEX_TYPES,
    cache_marker,
    semantic_properties,
)
from langchain_elasticsearch_cache.domain.semantic_records import VectorQuery

from .environment import describe, load_average
from .scaffold import node

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MODEL = "model-a"
CONTEXT = "no-context"
THRESHOLD = 0.9
K = 4
_TIE = 1e-5  # cosines this close are equal (float32 arithmetic on both sides)
PER_CENTRE = 40


def _log(message: str) -> None:
    print(time.strftime("%H:%M:%S ") + message, file=sys.stderr, flush=True)


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)


def synthetic(entries: int, queries: int, dims: int, seed: int = 19) -> tuple[Any, Any]:
    """``(entries x dims, queries x dims)`` unit float32 vectors (see the module doc)."""
    generator = np.random.default_rng(seed)
    centres = _normalised(generator.normal(size=(max(8, entries // PER_CENTRE), dims)))

    def members(count: int) -> np.ndarray:
        out = np.empty((count, dims), dtype=np.float32)
        for start in range(0, count, 50_000):
            size = min(50_000, count - start)
            picked = centres[generator.integers(0, len(centres), size=size)]
            spread = generator.uniform(0.1, 0.6, size=(size, 1))
            noise = generator.normal(size=(size, dims)) / np.sqrt(dims)
            out[start : start + size] = _normalised(picked + spread * noise)
        return out

    matrix = members(entries)
    near = members(queries - queries // 4)
    far = _normalised(generator.normal(size=(queries // 4, dims)))
    return matrix, np.concatenate([near, far])


# -- building -----------------------------------------------------------------------------


def build(url: str, index: str, variant: str, matrix: Any, *, merge: bool) -> dict[str, Any]:
    """Create ``index`` as the repository would and bulk-load ``matrix`` into it."""
    client = Elasticsearch(url, request_timeout=3600)
    started = time.perf_counter()
    client.indices.delete(index=index, ignore_unavailable=True)
    mappings = {"_meta": cache_marker("semantic"), "properties": semantic_properties(variant)}
    settings: dict[str, Any] = {
        "number_of_replicas": 0,
        "refresh_interval": "-1",
        **SEMANTIC_INDEX_SETTINGS,
    }
    try:
        client.indices.create(index=index, mappings=mappings, settings=settings)
    except BadRequestError:  # a node before 9.1: no such settings
        for name in SEMANTIC_INDEX_SETTINGS:
            settings.pop(name)
        client.indices.create(index=index, mappings=mappings, settings=settings)
    http = urllib3.PoolManager()
    now = "2025-01-01T00:00:00+00:00"
    chunk = 2_000
    for start in range(0, len(matrix), chunk):
        lines: list[bytes] = []
        for number in range(start, min(len(matrix), start + chunk)):
            lines.append(orjson.dumps({"index": {"_index": index, "_id": f"e{number}"}}))
            document = {
                "llm_output": ['{"text": "answer"}'],
                "llm_params": "params",
                "prompt_text": f"prompt {number}",
                "timestamp": now,
                "prompt_vector": matrix[number],
                "llm_string_hash": MODEL,
                "context_hash": CONTEXT,
            }
            lines.append(orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY))
        body = b"\n".join(lines) + b"\n"
        answer = http.request(
            "POST",
            f"{url}/_bulk",
            body=body,
            headers={"Content-Type": "application/x-ndjson"},
            timeout=urllib3.Timeout(total=3600),
        )
        parsed = orjson.loads(answer.data)
        if answer.status >= 300 or parsed.get("errors"):
            raise RuntimeError(f"bulk load failed: {answer.data[:500]!r}")
        done = start + chunk
        if done % 100_000 == 0 or done >= len(matrix):
            rate = done / (time.perf_counter() - started)
            _log(f"{index}: {min(done, len(matrix)):,} loaded ({rate:,.0f}/s)")
    client.indices.put_settings(index=index, settings={"refresh_interval": None})
    client.indices.refresh(index=index)
    loaded = time.perf_counter() - started
    if merge:
        client.options(request_timeout=7200).indices.forcemerge(index=index, max_num_segments=1)
        client.indices.refresh(index=index)
    client.close()
    return {"load_s": loaded, "total_s": time.perf_counter() - started, "merged": merge}


# -- measuring ----------------------------------------------------------------------------


def storage(client: Elasticsearch, index: str) -> dict[str, Any]:
    """Bytes on disk and the vector files the node reports, per entry."""
    row = client.cat.indices(
        index=index, bytes="b", h="pri.store.size,docs.count", format="json"
    ).body[0]
    docs = int(row["docs.count"])
    disk = int(row["pri.store.size"])
    segments = client.indices.segments(index=index).body
    count = sum(
        len(shard["segments"])
        for shards in segments["indices"][index]["shards"].values()
        for shard in shards
    )
    out: dict[str, Any] = {
        "docs": docs,
        "disk_bytes": disk,
        "disk_bytes_per_entry": disk / max(docs, 1),
        "segments": count,
    }
    stats = client.indices.stats(index=index, metric="dense_vector").body
    dense = stats["indices"][index]["primaries"].get("dense_vector", {})
    off_heap = dense.get("off_heap")
    if isinstance(off_heap, dict):  # 9.x reports the vector files' sizes
        out["off_heap_bytes_per_entry"] = {
            name.removeprefix("total_").removesuffix("_size_bytes"): value / max(docs, 1)
            for name, value in off_heap.items()
            if isinstance(value, (int, float)) and name.startswith("total_")
        }
    return out


def truth(matrix: Any, queries: Any) -> list[list[tuple[int, float]]]:
    """Per query, the exact top-K entries with cosine >= THRESHOLD - _TIE."""
    out: list[list[tuple[int, float]]] = []
    for start in range(0, len(queries), 64):
        scores = queries[start : start + 64] @ matrix.T
        for row in scores:
            top = np.argpartition(-row, K)[: K + 8]
            ranked = sorted(((int(i), float(row[i])) for i in top), key=lambda p: -p[1])
            out.append([(i, s) for i, s in ranked[:K] if s >= THRESHOLD - _TIE])
    return out


def lookups(
    url: str, index: str, variant: str, matrix: Any, queries: Any, expected: Any
) -> dict[str, Any]:
    """Recall, false hits and latency of ``nearest()`` for every query."""
    client = Elasticsearch(url, request_timeout=600)
    repository = ElasticsearchVectorRepository(client, index, vector_index_type=variant)
    asked = [
        VectorQuery(
            vector=tuple(float(x) for x in query),
            llm_string_hash=MODEL,
            context_hash=CONTEXT,
            min_similarity=THRESHOLD,
            k=K,
        )
        for query in queries
    ]
    for query in asked[:20]:  # warm-up
        repository.nearest(query)
    seconds: list[float] = []
    wanted = found = false_hits = hits = answered = 0
    worst = 1.0
    for query, vector, exact in zip(asked, queries, expected, strict=True):
        started = time.perf_counter()
        candidates = repository.nearest(query)
        seconds.append(time.perf_counter() - started)
        returned = {int(c.record.key.removeprefix("e")) for c in candidates}
        answered += bool(candidates)
        hits += len(candidates)
        for number in returned:
            cosine = float(matrix[number] @ vector)
            worst = min(worst, cosine)
            false_hits += cosine < THRESHOLD - _TIE
        if exact:
            cut = exact[-1][1] - _TIE
            wanted += len(exact)
            found += min(
                len(exact),
                sum(1 for n in returned if float(matrix[n] @ vector) >= cut),
            )
    client.close()
    ordered = sorted(seconds)
    return {
        "queries": len(asked),
        "recall": found / wanted if wanted else 1.0,
        "expected_hits": wanted,
        "false_hits": false_hits,
        "lowest_returned_cosine": worst,
        "answered": answered,
        "p50_ms": 1000 * ordered[len(ordered) // 2],
        "p95_ms": 1000 * ordered[int(len(ordered) * 0.95)],
    }


# -- driver -------------------------------------------------------------------------------


def _write(document: dict[str, Any], out_dir: Path, name: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    _log(f"wrote {path}")


def run_scale(
    url: str,
    *,
    entries: int,
    queries: int,
    dims: int,
    variants: Sequence[str],
    phase: str,
    merge: bool,
    name: str,
    out_dir: Path,
    prefix: str,
    node_source: str,
) -> dict[str, Any]:
    path = out_dir / f"{name}.json"
    # a run may be split (build now, measure later; one variant at a time): the results
    # of the other variants already written are kept
    document: dict[str, Any] = (
        json.loads(path.read_text()) if path.exists() else {"name": name, "variants": {}}
    )
    client = Elasticsearch(url, request_timeout=600)
    document["environment"] = describe(client, node_source)
    client.close()
    document["plan"] = {
        "entries": entries,
        "queries": queries,
        "dims": dims,
        "threshold": THRESHOLD,
        "k": K,
        "force_merged": merge,
        "data": f"synthetic clusters, {PER_CENTRE} entries per centre (benchmarks/scale.py)",
    }
    _log(f"generating {entries:,} x {dims} vectors")
    matrix, asked = synthetic(entries, queries, dims)
    expected = truth(matrix, asked) if phase != "build" else None
    for variant in variants:
        index = f"{prefix}-{variant.replace('_', '-')}"
        part = document["variants"].setdefault(variant, {"index": index})
        if phase in ("build", "all"):
            _log(f"building {index}")
            part["build"] = build(url, index, variant, matrix, merge=merge)
            _write(document, out_dir, name)
        if phase in ("measure", "all"):
            client = Elasticsearch(url, request_timeout=600)
            part["storage"] = storage(client, index)
            client.close()
            _log(f"measuring {index}")
            part["lookups"] = lookups(url, index, variant, matrix, asked, expected)
            _log(f"{variant}: {json.dumps(part['lookups'])}")
            _write(document, out_dir, name)
    document["load_average_at_end"] = load_average()
    _write(document, out_dir, name)
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--es-url", default=os.environ.get("ES_URL"), help="default: $ES_URL")
    parser.add_argument("--heap", default="2g", help="heap of a node started here")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--variants", default=",".join(VECTOR_INDEX_TYPES))
    parser.add_argument("--phase", choices=("all", "build", "measure"), default="all")
    parser.add_argument("--no-merge", action="store_true", help="skip the force merge")
    parser.add_argument("--name", default=None)
    parser.add_argument("--prefix", default=None, help="index name prefix")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    entries, queries = (2_000, 60) if arguments.quick else (arguments.entries, arguments.queries)
    name = arguments.name or ("scale-quick" if arguments.quick else f"scale-{entries}")
    with node(arguments.es_url, arguments.heap) as (url, source):
        run_scale(
            url,
            entries=entries,
            queries=queries,
            dims=arguments.dims,
            variants=arguments.variants.split(","),
            phase=arguments.phase,
            merge=not arguments.no_merge,
            name=name,
            out_dir=arguments.out_dir,
            prefix=arguments.prefix or f"bench-scale-{entries}",
            node_source=source,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
