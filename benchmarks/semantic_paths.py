"""Semantic lookup through the class against the bare client, hit and miss paths.

``.venv/bin/python -m benchmarks.semantic_paths [--quick] [--es-url URL]``

1. **Latency**, interleaved rounds (ours, raw, ours, raw ...): ``RepositorySemanticCache``
   over ``ElasticsearchVectorRepository`` against the bare ``Elasticsearch`` client sending
   the same two requests (the realtime GET of the exact key, then the kNN search the
   adapter sends: same body, vectors left out of the response). The embedding model is a
   dict of precomputed vectors, so its cost is excluded. Hit path: the GET misses, the kNN
   search finds a paraphrase above the threshold; miss path: both find nothing.
2. **Throughput**: ``AsyncRepositorySemanticCache`` against the bare ``AsyncElasticsearch``
   sending the same GET + kNN, with 1, 10 and 100 lookups in flight (one client, a pool of
   128 connections, for both), alternating rounds; lookups per second, and per lookup the
   CPU time and (Linux) the event loop thread's run-queue wait: the time it was ready to
   run but waiting for a core, which on a loaded machine grows with the CPU it uses.

Writes ``results/<name>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from elasticsearch import AsyncElasticsearch, Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import AsyncRepositorySemanticCache, RepositorySemanticCache
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    AsyncElasticsearchVectorRepository,
    ElasticsearchVectorRepository,
)
from langchain_elasticsearch_cache.domain.semantic import (
    DEFAULT_SIMILARITY_THRESHOLD,
    SemanticCachePolicy,
    partition_hashes,
)

from .environment import describe, load_average
from .harness import Contender, run_interleaved, summarize
from .scaffold import node
from .semantic_cache import PrecomputedEmbeddings

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LLM_STRING = "[('_type', 'benchmark-chat-model'), ('stop', None)]"
K = 4
NUM_CANDIDATES = 100  # the adapter's default for k = 4: max(100, 10 * k)
RATIO_TARGET = 1.10
SOURCE_FIELDS = "hits.hits._index,hits.hits._id,hits.hits._score,hits.hits._source"


def _log(message: str) -> None:
    print(time.strftime("%H:%M:%S ") + message, file=sys.stderr, flush=True)


def _letters(number: int) -> str:
    """A number spelt in letters (a digit would trip the hit guard's number rule)."""
    out = ""
    while True:
        number, digit = divmod(number, 26)
        out += chr(ord("a") + digit)
        if not number:
            return out


def _text(number: int) -> str:
    return f"entry prompt {_letters(number)}"


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _load(client: Elasticsearch, index: str, matrix: np.ndarray) -> float:
    """Entries written as the class writes them (its policy's keys, hashes, documents)."""
    started = time.perf_counter()
    client.indices.delete(index=index, ignore_unavailable=True)
    repository = ElasticsearchVectorRepository(client, index, chunk_size=1_000)
    policy = SemanticCachePolicy()
    now = datetime.now(timezone.utc)
    records = []
    for number, vector in enumerate(matrix):
        text = _text(number)
        generations = [Generation(text=f"answer {number}")]
        records.append(
            policy.record(text, LLM_STRING, generations, policy.split(text), vector.tolist(), now)
        )
    for start in range(0, len(records), 2_000):
        repository.put_many(records[start : start + 2_000])
    client.indices.refresh(index=index)
    client.indices.forcemerge(index=index, max_num_segments=1)
    return time.perf_counter() - started


def _knn(vector: list[float], llm_hash: str, context_hash: str) -> dict[str, Any]:
    return {
        "field": "prompt_vector",
        "query_vector": vector,
        "k": K,
        "num_candidates": NUM_CANDIDATES,
        "filter": [
            {"term": {"llm_string_hash": llm_hash}},
            {"term": {"context_hash": context_hash}},
        ],
        "similarity": DEFAULT_SIMILARITY_THRESHOLD,
    }


def _queries(matrix: np.ndarray, count: int) -> dict[str, tuple[list[str], np.ndarray]]:
    rng = np.random.default_rng(9)
    dims = matrix.shape[1]
    picked = rng.choice(len(matrix), size=count, replace=len(matrix) < count)
    near = _unit(matrix[picked] + rng.normal(size=(count, dims)) * (0.15 / np.sqrt(dims)))
    far = _unit(rng.normal(size=(count, dims)))
    return {
        # one distinct text per sample (each a different GET key)
        "hit": ([f"tell me about {_text(p)} {_letters(n)}" for n, p in enumerate(picked)], near),
        "miss": ([f"unrelated question {_letters(n)}" for n in range(count)], far),
    }


def latency(
    client: Elasticsearch, index: str, paths: Any, *, rounds: int, warmup: int
) -> dict[str, Any]:
    table = {
        t: list(map(float, v)) for texts, m in paths.values() for t, v in zip(texts, m, strict=True)
    }
    cache = RepositorySemanticCache(
        ElasticsearchVectorRepository(client, index), PrecomputedEmbeddings(table)
    )
    # the same without the hit guard: what the guard's rules cost on the hit path
    unguarded = RepositorySemanticCache(
        ElasticsearchVectorRepository(client, index), PrecomputedEmbeddings(table), hit_guard=None
    )
    policy = SemanticCachePolicy()
    llm_hash, context_hash = partition_hashes(LLM_STRING, "")
    getter = client.options(ignore_status=404)
    measured: dict[str, Any] = {}
    for path, (texts, matrix) in paths.items():
        keys = [policy.key(text, LLM_STRING) for text in texts]
        bodies = [_knn(matrix[n].tolist(), llm_hash, context_hash) for n in range(len(texts))]
        found = {"ours": 0, "ours_unguarded": 0, "raw": 0}

        def ours(sample: int, texts: list[str] = texts, found: Any = found) -> None:
            found["ours"] += cache.lookup(texts[sample], LLM_STRING) is not None

        def ours_unguarded(sample: int, texts: list[str] = texts, found: Any = found) -> None:
            found["ours_unguarded"] += unguarded.lookup(texts[sample], LLM_STRING) is not None

        def raw(
            sample: int, keys: list[str] = keys, bodies: list[Any] = bodies, found: Any = found
        ) -> None:
            getter.get(index=index, id=keys[sample])
            answer = client.search(
                index=index,
                knn=bodies[sample],
                size=K,
                source_excludes=["prompt_vector"],
                track_total_hits=False,
                filter_path=SOURCE_FIELDS,
            )
            found["raw"] += bool(answer.body.get("hits", {}).get("hits"))

        outcomes = run_interleaved(
            [
                Contender("ours", ours),
                Contender("ours_unguarded", ours_unguarded),
                Contender("raw_get_knn", raw),
            ],
            rounds=rounds,
            warmup=warmup,
        )
        stats = {outcome.name: summarize(outcome) for outcome in outcomes}
        raw_median = stats["raw_get_knn"]["median_s"]
        ratio = stats["ours"]["median_s"] / raw_median
        measured[path] = {
            "answered": found,
            "contenders": stats,
            "ours/raw": ratio,
            "ours_unguarded/raw": stats["ours_unguarded"]["median_s"] / raw_median,
        }
        _log(f"latency {path}: ours/raw = {ratio:.3f} (answered {found})")
    return measured


def _schedstat() -> tuple[float, float] | None:
    """This thread's (seconds on a CPU, seconds runnable but waiting for one), from Linux's
    ``/proc/thread-self/schedstat``; ``None`` where that is not available."""
    try:
        on_cpu, waiting, _ = Path("/proc/thread-self/schedstat").read_text().split()
    except (OSError, ValueError):
        return None
    return int(on_cpu) / 1e9, int(waiting) / 1e9


async def _rate(
    lookup: Callable[[int], Awaitable[None]], total: int, in_flight: int
) -> dict[str, float | None]:
    """Lookups per second of ``total`` lookups, ``in_flight`` at a time, and per lookup:
    CPU seconds (``time.process_time``) and, on Linux, the event loop thread's seconds
    runnable but waiting for a core (the scheduler's run-queue delay: on a loaded machine
    it is wall time spent neither on a CPU nor blocked on the node)."""
    gate = asyncio.Semaphore(in_flight)

    async def one(sample: int) -> None:
        async with gate:
            await lookup(sample)

    before = _schedstat()
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(sample) for sample in range(total)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = _schedstat()
    waiting = None if before is None or after is None else (after[1] - before[1]) / total
    return {"rate": total / elapsed, "cpu_s": cpu / total, "runqueue_s": waiting}


async def throughput(
    url: str, index: str, paths: Any, *, total: int, rounds: int
) -> dict[str, Any]:
    client = AsyncElasticsearch(url, request_timeout=600, connections_per_node=128)
    table = {
        t: list(map(float, v)) for texts, m in paths.values() for t, v in zip(texts, m, strict=True)
    }
    cache = AsyncRepositorySemanticCache(
        AsyncElasticsearchVectorRepository(client, index), PrecomputedEmbeddings(table)
    )
    policy = SemanticCachePolicy()
    llm_hash, context_hash = partition_hashes(LLM_STRING, "")
    getter = client.options(ignore_status=404)
    measured: dict[str, Any] = {}
    try:
        for path, (texts, matrix) in paths.items():
            keys = [policy.key(text, LLM_STRING) for text in texts]
            bodies = [_knn(matrix[n].tolist(), llm_hash, context_hash) for n in range(len(texts))]

            async def ours(sample: int, texts: list[str] = texts) -> None:
                await cache.alookup(texts[sample % len(texts)], LLM_STRING)

            async def raw(sample: int, keys: list[str] = keys, bodies: Any = bodies) -> None:
                await getter.get(index=index, id=keys[sample % len(keys)])
                await client.search(
                    index=index,
                    knn=bodies[sample % len(bodies)],
                    size=K,
                    source_excludes=["prompt_vector"],
                    track_total_hits=False,
                    filter_path=SOURCE_FIELDS,
                )

            await _rate(ours, min(total, 50), 10)  # warm-up: connections, JIT paths
            await _rate(raw, min(total, 50), 10)
            for in_flight in (1, 10, 100):
                names = ("ours", "raw_get_knn")
                rounds_of: dict[str, list[dict[str, float | None]]] = {n: [] for n in names}
                for round_number in range(rounds):
                    order: list[tuple[str, Callable[[int], Awaitable[None]]]]
                    order = [("ours", ours), ("raw_get_knn", raw)]
                    for name, lookup in order if round_number % 2 == 0 else order[::-1]:
                        rounds_of[name].append(await _rate(lookup, total, in_flight))
                rates = {n: [float(r["rate"] or 0.0) for r in rounds_of[n]] for n in names}
                ours_rate = statistics.median(rates["ours"])
                raw_rate = statistics.median(rates["raw_get_knn"])
                measured[f"{path}/{in_flight}"] = {
                    "lookups_per_s": {"ours": ours_rate, "raw_get_knn": raw_rate},
                    "all_rounds": rates,
                    "cpu_ms_per_lookup": {n: _median_ms(rounds_of[n], "cpu_s") for n in names},
                    # Linux only (else null): the event loop thread runnable, waiting for a core
                    "runqueue_wait_ms_per_lookup": {
                        n: _median_ms(rounds_of[n], "runqueue_s") for n in names
                    },
                    "ours/raw": ours_rate / raw_rate,
                    # each round against the raw round next to it: less swayed by load swings
                    "ours/raw_paired": statistics.median(
                        o / r for o, r in zip(rates["ours"], rates["raw_get_knn"], strict=True)
                    ),
                }
                _log(
                    f"throughput {path}, {in_flight} in flight: ours {ours_rate:.0f}/s, "
                    f"raw {raw_rate:.0f}/s ({ours_rate / raw_rate:.2f})"
                )
    finally:
        await client.close()
    return measured


def _median_ms(rounds: list[dict[str, float | None]], field: str) -> float | None:
    values = [r[field] for r in rounds]
    present = [v for v in values if v is not None]
    return 1000 * statistics.median(present) if present and len(present) == len(values) else None


def run(
    url: str,
    *,
    entries: int,
    dims: int,
    rounds: int,
    total: int,
    name: str,
    out_dir: Path,
    node_source: str,
    throughput_rounds: int = 5,
) -> dict[str, Any]:
    client = Elasticsearch(url, request_timeout=600)
    index = f"bench-paths-{entries}"
    document: dict[str, Any] = {
        "name": name,
        "environment": describe(client, node_source),
        "plan": {
            "entries": entries,
            "dims": dims,
            "rounds": rounds,
            "throughput_total": total,
            "throughput_rounds": throughput_rounds,
        },
    }
    try:
        rng = np.random.default_rng(5)
        matrix = _unit(rng.normal(size=(entries, dims))).astype(np.float32)
        document["load_s"] = _load(client, index, matrix)
        paths = _queries(matrix, rounds + 40)
        document["latency"] = latency(client, index, paths, rounds=rounds, warmup=30)
        _write(document, out_dir, name)
        document["throughput"] = asyncio.run(
            throughput(url, index, paths, total=total, rounds=throughput_rounds)
        )
    finally:
        with contextlib.suppress(Exception):
            client.indices.delete(index=index, ignore_unavailable=True)
        client.close()
    document["load_average_at_end"] = load_average()
    _write(document, out_dir, name)
    return document


def _write(document: dict[str, Any], out_dir: Path, name: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.semantic_paths", description=__doc__
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--es-url", default=os.environ.get("ES_URL"), help="default: $ES_URL")
    parser.add_argument("--heap", default="1g")
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--total", type=int, default=600, help="lookups per throughput round")
    parser.add_argument("--name", default=None)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    if arguments.quick:
        entries, rounds, total = 300, 20, 40
    else:
        entries, rounds, total = arguments.entries, arguments.rounds, arguments.total
    name = arguments.name or ("semantic-paths-quick" if arguments.quick else "semantic-paths")
    with node(arguments.es_url, arguments.heap) as (url, source):
        run(
            url,
            entries=entries,
            dims=arguments.dims,
            rounds=rounds,
            total=total,
            name=name,
            out_dir=arguments.out_dir,
            node_source=source,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
