"""Semantic cache storage benchmarks: ``.venv/bin/python -m benchmarks.semantic [--quick]``.

Two questions, on a real node (``--es-url`` / ``$ES_URL``, else a local node started here):

1. **Which HNSW variant** should ``prompt_vector`` use? For each of ``hnsw`` (float),
   ``int8_hnsw`` (the dense_vector default), ``int4_hnsw`` and ``bbq_hnsw`` (dims >= 64),
   the same entries are indexed (with the adapter's index settings: on 9.1+ the
   ``fanout`` filter heuristic instead of ACORN) and the same queries asked the way the
   cache asks them:
   a kNN search filtered to one ``llm_string_hash`` and given the threshold as
   ``similarity``, ``k`` results, ``num_candidates`` as the adapter sets it. The truth is
   exact search: brute-force cosine in numpy over the same entries, filtered the same
   way. *Recall at the threshold* = of the exact top-k among entries with cosine >=
   threshold, the share the search returned (an entry tied with the k-th best, within
   1e-5, counts as found: duplicate prompts embed identically); *false hits* = returned
   entries whose exact cosine is below the threshold (a quantized score put them on the
   wrong side).
2. **What does the adapter cost** over the bare client? ``nearest()`` of
   ``ElasticsearchVectorRepository`` against the same knn search request sent with the
   client (body prepared beforehand, response parsed and nothing else), interleaved
   rounds, at 10k and 100k entries (target: ours/raw <= 1.15).

Vectors: the prompts are generated sentences (templates x topics x wording), embedded with
the offline model ``wordllama`` (256 dims) when it is installed; otherwise, and always in
``--quick`` mode, clustered synthetic vectors of the same kind (a few hundred centres,
entries and queries scattered around them). The result says which.

Results: ``benchmarks/results/semantic-storage[-quick].json`` and ``.md``.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from elasticsearch import BadRequestError, Elasticsearch, helpers

from langchain_elasticsearch_cache.adapters.elasticsearch import (
    DEFAULT_NUM_CANDIDATES,
    SEMANTIC_INDEX_SETTINGS,
    SEMANTIC_PROPERTIES,
    ElasticsearchVectorRepository,
)
from langchain_elasticsearch_cache.domain.semantic_records import VectorQuery

from .harness import Contender, run_interleaved, summarize
from .render import storage_markdown
from .scaffold import (
    RESULTS_DIR,
    benchmark_parser,
    measure,
    ratio_target,
    run_command,
    write_results,
)

__all__ = ["SemanticPlan", "main", "recall", "run_semantic", "sentence", "vectors"]

MODELS = ("model-a", "model-b", "model-c", "model-d")  # llm_string hashes: 4 models
CONTEXT = "no-context"
VARIANTS = ("hnsw", "int8_hnsw", "int4_hnsw", "bbq_hnsw")
RATIO_TARGET = 1.15
_TIE = 1e-5  # cosines this close are equal (float32 storage, normalisation on 9.x)
RECALL_TARGET = 0.98


@dataclass(frozen=True)
class SemanticPlan:
    mode: str
    recall_entries: int = 10_000
    recall_queries: int = 300
    thresholds: tuple[float, ...] = (0.8, 0.9)
    k: int = 4
    variants: tuple[str, ...] = VARIANTS
    candidate_sweep: tuple[int, ...] = (50, 100, 200, 400)
    latency_sizes: tuple[int, ...] = (10_000, 100_000)
    latency_rounds: int = 400
    latency_warmup: int = 30
    synthetic: bool = False
    dims: int = 256

    @classmethod
    def full(cls) -> SemanticPlan:
        return cls(mode="full")

    @classmethod
    def quick(cls) -> SemanticPlan:
        return cls(
            mode="quick",
            recall_entries=400,
            recall_queries=20,
            variants=("hnsw", "int8_hnsw"),
            candidate_sweep=(50,),
            latency_sizes=(300,),
            latency_rounds=10,
            latency_warmup=2,
            synthetic=True,
            dims=64,
        )


# -- data ---------------------------------------------------------------------------------

_OPENERS = (
    "What is",
    "How do I find",
    "Can you explain",
    "Tell me about",
    "Why is",
    "Give me a short summary of",
    "Where can I learn about",
    "What are the risks of",
    "How does one measure",
    "Is it true that people misunderstand",
)
_TOPICS = (
    "the capital of {place}",
    "the population of {place}",
    "the weather in {place} in {month}",
    "cheap flights to {place}",
    "the history of {thing}",
    "how {thing} works",
    "the price of {thing} in {place}",
    "repairing {thing} at home",
    "learning {skill} as an adult",
    "the best books on {skill}",
    "{skill} for beginners in {month}",
    "the cost of {skill} lessons in {place}",
)
_FILL = {
    "place": (
        "France", "Paris", "Japan", "Kenya", "Peru", "Norway", "Texas", "Lagos", "Hanoi",
        "Chile", "Berlin", "Quebec", "Madrid", "Seoul", "Cairo", "Iceland", "Bali", "Ohio",
    ),
    "month": ("January", "April", "July", "October", "winter", "summer"),
    "thing": (
        "a bicycle", "a dishwasher", "solar panels", "a violin", "an espresso machine",
        "a heat pump", "a sailboat", "a mechanical watch", "a 3D printer", "a sourdough starter",
        "an electric car", "a vinyl record player", "a beehive", "a telescope",
    ),
    "skill": (
        "Spanish", "piano", "calculus", "chess", "watercolour painting", "Python",
        "rock climbing", "public speaking", "knitting", "photography", "swimming", "welding",
    ),
}  # fmt: skip
_TAILS = ("", "?", " please", " in simple words", " quickly", " for my homework", " today")


def sentence(rng: random.Random) -> str:
    topic = rng.choice(_TOPICS)
    for slot, values in _FILL.items():
        topic = topic.replace("{" + slot + "}", rng.choice(values))
    return f"{rng.choice(_OPENERS)} {topic}{rng.choice(_TAILS)}"


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)


def _wordllama() -> Any | None:
    try:
        import wordllama
        from wordllama import WordLlama
    except ImportError:
        return None
    # importing wordllama calls logging.basicConfig(level=INFO): every request would be
    # logged, a cost the timed contenders must not pay
    logging.getLogger().setLevel(logging.WARNING)
    return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)


def vectors(plan: SemanticPlan, entries: int, queries: int, seed: int) -> tuple[Any, Any, str]:
    """``(entry vectors, query vectors, description)``, unit length, float32."""
    model = None if plan.synthetic else _wordllama()
    if model is not None:
        rng = random.Random(seed)
        texts = [sentence(rng) for _ in range(entries + queries)]
        embedded = _normalised(np.asarray(model.embed(texts), dtype=np.float32))
        return (
            embedded[:entries],
            embedded[entries:],
            f"wordllama {embedded.shape[1]}-dim embeddings of generated prompts",
        )
    generator = np.random.default_rng(seed)
    centres = _normalised(generator.normal(size=(max(8, entries // 40), plan.dims)))

    def around(count: int) -> np.ndarray:
        picked = centres[generator.integers(0, len(centres), size=count)]
        spread = generator.uniform(0.1, 0.6, size=(count, 1))
        return _normalised(picked + spread * generator.normal(size=(count, plan.dims)) / 8)

    return (
        around(entries),
        around(queries),
        f"synthetic clustered {plan.dims}-dim vectors ({len(centres)} centres)",
    )


# -- indices ------------------------------------------------------------------------------


def _mappings(variant: str) -> dict[str, Any]:
    properties = json.loads(json.dumps(dict(SEMANTIC_PROPERTIES)))
    properties["prompt_vector"]["index_options"] = {"type": variant}
    return {"properties": properties}


def _load(client: Elasticsearch, index: str, variant: str, matrix: Any, models: Any) -> float:
    started = time.perf_counter()
    client.indices.delete(index=index, ignore_unavailable=True)
    settings: dict[str, Any] = {"refresh_interval": "-1", **SEMANTIC_INDEX_SETTINGS}
    try:  # the settings the adapter creates its index with, where the node knows them
        client.indices.create(index=index, mappings=_mappings(variant), settings=settings)
    except BadRequestError:
        client.indices.create(
            index=index, mappings=_mappings(variant), settings={"refresh_interval": "-1"}
        )
    now = datetime.now(timezone.utc).isoformat()

    def actions() -> Iterator[dict[str, Any]]:
        for number, vector in enumerate(matrix):
            yield {
                "_index": index,
                "_id": f"e{number}",
                "_source": {
                    "llm_output": ['{"text": "answer"}'],
                    "llm_params": "params",
                    "timestamp": now,
                    "prompt_vector": vector.tolist(),
                    "llm_string_hash": MODELS[models[number]],
                    "context_hash": CONTEXT,
                },
            }

    for ok, item in helpers.streaming_bulk(client, actions(), chunk_size=1_000):
        if not ok:  # pragma: no cover - raise_on_error raises first
            raise RuntimeError(f"bulk load failed: {item}")
    client.indices.put_settings(index=index, settings={"refresh_interval": None})
    client.indices.refresh(index=index)
    # one segment per index, as a long-lived cache index tends to be after merges: the
    # HNSW search then walks one graph (a fair comparison between variants)
    client.indices.forcemerge(index=index, max_num_segments=1)
    return time.perf_counter() - started


def _knn(query: Any, model: str, threshold: float, k: int) -> dict[str, Any]:
    return {
        "field": "prompt_vector",
        "query_vector": query.tolist(),
        "k": k,
        "num_candidates": max(DEFAULT_NUM_CANDIDATES, 10 * k),
        "filter": [{"term": {"llm_string_hash": model}}, {"term": {"context_hash": CONTEXT}}],
        "similarity": threshold,
    }


# -- 1: recall of the variants ------------------------------------------------------------


@dataclass
class _RecallData:
    entries: Any
    queries: Any
    models: Any
    query_models: Any
    exact: Any  # query x entry cosines (every vector has unit length)


def _measure(
    client: Elasticsearch, index: str, data: _RecallData, threshold: float, k: int, candidates: int
) -> dict[str, Any]:
    """Recall at ``threshold`` of the filtered kNN search against exact search."""
    wanted_total = found_total = false_hits = answered = 0
    durations: list[float] = []
    for number, query in enumerate(data.queries):
        model = int(data.query_models[number])
        row = np.where(data.models == model, data.exact[number], -2.0)
        above = np.sort(row[row >= threshold])[::-1]
        wanted = min(k, len(above))
        knn = _knn(query, MODELS[model], threshold, k)
        knn["num_candidates"] = candidates
        started = time.perf_counter()
        answer = client.search(index=index, knn=knn, size=k, source=False, track_total_hits=False)
        durations.append(time.perf_counter() - started)
        got = [row[int(hit["_id"][1:])] for hit in answer["hits"]["hits"]]
        wanted_total += wanted
        if wanted:
            answered += 1
            # tie-aware: an entry as similar as the k-th best is as good an answer
            # (duplicate prompts embed identically; stored vectors differ by ulps)
            kth = above[wanted - 1] - _TIE
            found_total += min(wanted, sum(1 for value in got if value >= kth))
        false_hits += sum(1 for value in got if value < threshold - _TIE)
    durations.sort()
    return {
        "queries_with_an_answer": answered,
        "expected_results": wanted_total,
        "recall": (found_total / wanted_total) if wanted_total else None,
        "false_hits": false_hits,
        "median_s": durations[len(durations) // 2],
    }


def recall(client: Elasticsearch, plan: SemanticPlan, prefix: str) -> dict[str, Any]:
    entries, queries, described = vectors(plan, plan.recall_entries, plan.recall_queries, 1)
    rng = np.random.default_rng(2)
    data = _RecallData(
        entries=entries,
        queries=queries,
        models=rng.integers(0, len(MODELS), size=len(entries)),
        query_models=rng.integers(0, len(MODELS), size=len(queries)),
        exact=queries @ entries.T,
    )
    dims = int(entries.shape[1])
    candidates = max(DEFAULT_NUM_CANDIDATES, 10 * plan.k)
    results: dict[str, Any] = {}
    for variant in plan.variants:
        if variant == "bbq_hnsw" and dims < 64:
            results[variant] = {"status": "skipped", "reason": "bbq_hnsw needs dims >= 64"}
            continue
        index = f"{prefix}-recall-{variant}"
        try:
            load_s = _load(client, index, variant, entries, data.models)
        except Exception as exc:  # a variant this node lacks is a result, not a crash
            results[variant] = {"status": "fails", "reason": f"{type(exc).__name__}: {exc}"}
            continue
        for query in queries[:5]:  # warm-up: the first searches load the graph
            client.search(index=index, knn=_knn(query, MODELS[0], 0.0, plan.k), source=False)
        results[variant] = {
            "status": "ok",
            "load_s": load_s,
            "thresholds": {
                str(threshold): _measure(client, index, data, threshold, plan.k, candidates)
                for threshold in plan.thresholds
            },
        }
        if variant == "hnsw":
            # how many candidates the search needs (the adapter's default is chosen here)
            results[variant]["num_candidates_sweep"] = {
                str(count): {
                    str(threshold): _measure(client, index, data, threshold, plan.k, count)
                    for threshold in plan.thresholds
                }
                for count in plan.candidate_sweep
            }
        client.indices.delete(index=index, ignore_unavailable=True)
    return {
        "data": described,
        "entries": len(entries),
        "queries": len(queries),
        "models": len(MODELS),
        "k": plan.k,
        "num_candidates": candidates,
        "variants": results,
    }


# -- 2: the adapter against the bare client -----------------------------------------------


def _contenders(
    client: Elasticsearch,
    repo: ElasticsearchVectorRepository,
    index: str,
    ours: list[VectorQuery],
    raw: list[dict[str, Any]],
    k: int,
    found: dict[str, int],
) -> list[Contender]:
    def run_ours(sample: int) -> None:
        found["ours"] += len(repo.nearest(ours[sample]))

    def run_raw(sample: int) -> None:
        answer = client.search(
            index=index,
            knn=raw[sample],
            size=k,
            source_excludes=["prompt_vector"],
            track_total_hits=False,
            filter_path="hits.hits._index,hits.hits._id,hits.hits._score,hits.hits._source",
        )
        found["raw"] += len(answer.body.get("hits", {}).get("hits", []))

    return [Contender("ours", run_ours), Contender("raw", run_raw)]


def latency(client: Elasticsearch, plan: SemanticPlan, prefix: str) -> list[dict[str, Any]]:
    measured = []
    threshold = plan.thresholds[0]
    for size in plan.latency_sizes:
        queries_needed = plan.latency_rounds + plan.latency_warmup
        entries, queries, described = vectors(plan, size, queries_needed, 3)
        models = np.random.default_rng(4).integers(0, len(MODELS), size=size)
        index = f"{prefix}-latency-{size}"
        load_s = _load(client, index, "hnsw", entries, models)
        repo = ElasticsearchVectorRepository(client, index)
        # the same question to both, prepared beforehand
        ours = [
            VectorQuery(
                vector=query.tolist(),
                llm_string_hash=MODELS[n % len(MODELS)],
                context_hash=CONTEXT,
                min_similarity=threshold,
                k=plan.k,
            )
            for n, query in enumerate(queries)
        ]
        raw = [
            _knn(query, MODELS[n % len(MODELS)], threshold, plan.k)
            for n, query in enumerate(queries)
        ]
        found = {"ours": 0, "raw": 0}
        contenders = _contenders(client, repo, index, ours, raw, plan.k, found)
        outcomes = run_interleaved(
            contenders,
            rounds=plan.latency_rounds,
            warmup=plan.latency_warmup,
        )
        stats = {outcome.name: summarize(outcome) for outcome in outcomes}
        ratio = None
        if stats["ours"]["status"] == "ok" and stats["raw"]["status"] == "ok":
            ratio = stats["ours"]["median_s"] / stats["raw"]["median_s"]
        measured.append(
            {
                "entries": size,
                "data": described,
                "load_s": load_s,
                "threshold": threshold,
                "k": plan.k,
                "results_returned": found,
                "contenders": stats,
                "ours/raw": ratio,
            }
        )
        client.indices.delete(index=index, ignore_unavailable=True)
    return measured


# -- report -------------------------------------------------------------------------------


def _targets(document: dict[str, Any]) -> list[dict[str, Any]]:
    targets = []
    hnsw = document["recall"]["variants"].get("hnsw", {})
    for threshold, values in hnsw.get("thresholds", {}).items():
        value = values["recall"]
        if value is None:
            continue
        met = value >= RECALL_TARGET
        targets.append(
            {
                "id": f"recall_hnsw_at_{threshold}",
                "description": f"recall of hnsw vs exact search at cosine >= {threshold}",
                "value": value,
                "met": met,
                "detail": f"{'met' if met else 'missed'}: {value:.4f} (target >= {RECALL_TARGET})",
            }
        )
    for entry in document["latency"]:
        ratio = entry["ours/raw"]
        if ratio is None:
            continue
        targets.append(
            ratio_target(
                f"nearest_vs_raw_{entry['entries']}",
                f"nearest() vs the bare knn search at {entry['entries']} entries",
                ratio,
                RATIO_TARGET,
            )
        )
    return targets


def run_semantic(
    url: str,
    plan: SemanticPlan,
    *,
    name: str | None = None,
    out_dir: Path = RESULTS_DIR,
    node_source: str = "ES_URL",
) -> dict[str, Any]:
    """Run both parts against the node at ``url``; write and return the result document."""
    document = measure(
        url,
        plan,
        [
            (
                "recall",
                "recall of the HNSW variants",
                lambda client, prefix: recall(client, plan, prefix),
            ),
            (
                "latency",
                "nearest() vs the bare client",
                lambda client, prefix: latency(client, plan, prefix),
            ),
        ],
        name=name
        or ("semantic-storage" if plan.mode == "full" else f"semantic-storage-{plan.mode}"),
        node_source=node_source,
        targets=_targets,
    )
    write_results(document, out_dir, storage_markdown)
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = benchmark_parser("python -m benchmarks.semantic", __doc__)
    parser.add_argument("--sizes", default=None, help="latency sizes, e.g. 10000,100000")
    arguments = parser.parse_args(argv)
    plan = SemanticPlan.quick() if arguments.quick else SemanticPlan.full()
    if arguments.sizes:
        sizes = tuple(int(part) for part in arguments.sizes.split(","))
        plan = SemanticPlan(**{**asdict(plan), "latency_sizes": sizes})
    return run_command(arguments, plan, run_semantic)


if __name__ == "__main__":
    sys.exit(main())
