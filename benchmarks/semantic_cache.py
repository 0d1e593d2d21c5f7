"""Semantic cache class benchmarks: ``.venv/bin/python -m benchmarks.semantic_cache [--quick]``.

Two questions about the cache *class* (``benchmarks/semantic.py`` measures the adapter):

1. **Embedding calls per miss cycle.** A miss (lookup) followed by its update should embed
   the prompt once, not twice; an exact repeat should not embed at all. Counted with a
   wrapper around the embedding model (every text it embeds, through ``embed_query`` or
   ``embed_documents``), on the in-memory classes (the figure is about calls, not time),
   for our ``InMemorySemanticCache`` and for a small reimplementation of the flow the
   peer caches use (RedisSemanticCache, OpenSearch/Mongo/Cassandra alike: ``lookup``
   embeds the prompt and asks for the nearest entry; ``update`` embeds the prompt again
   and stores it; no exact-key read) over the same vector store. Workload: N distinct
   prompts (each a miss and its update), then repeats of some of them (exact hits) and
   paraphrases of others (semantic hits).
2. **Semantic lookup through the class against the bare client's kNN request** for the
   same vector, on a real node at 10k entries (target: ours/raw <= 1.15). Ours is
   ``RepositorySemanticCache(ElasticsearchVectorRepository(...), embedding)`` (what
   ``ElasticsearchSemanticCache`` composes): the exact-key GET first, the split, the
   embedding, the filtered kNN search, the threshold check, the hit guard and the
   decoding. The embedding is a fake that returns precomputed vectors from a dict, so
   the model's own cost is excluded from the figure. The hit path (GET misses, kNN finds
   an entry above the threshold, decoded) and the miss path (GET misses, kNN finds
   nothing) are measured apart. Two references: the bare kNN request alone (the target's
   reference), and the bare client doing the same two requests (GET, then kNN), which
   shows what the class adds beyond its extra round trip.

Results: ``benchmarks/results/semantic-class[-quick].json`` and ``.md``.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch
from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.embeddings import Embeddings
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import InMemorySemanticCache, RepositorySemanticCache
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    DEFAULT_NUM_CANDIDATES,
    ElasticsearchVectorRepository,
)
from langchain_elasticsearch_cache.adapters.memory_vector import InMemoryVectorRepository
from langchain_elasticsearch_cache.domain.semantic import (
    DEFAULT_K,
    DEFAULT_SIMILARITY_THRESHOLD,
    PromptParts,
    SemanticCachePolicy,
    partition_hashes,
)

from .harness import Contender, run_interleaved, summarize
from .render import class_markdown
from .scaffold import (
    RESULTS_DIR,
    benchmark_parser,
    measure,
    ratio_target,
    run_command,
    write_results,
)
from .semantic import SemanticPlan, sentence, vectors

__all__ = [
    "CacheBenchPlan",
    "CountingEmbeddings",
    "PeerFlowSemanticCache",
    "PrecomputedEmbeddings",
    "main",
    "run",
]

RATIO_TARGET = 1.15
LLM_STRING = "[('_type', 'benchmark-chat-model'), ('stop', None)]"
PARAPHRASE_PREFIX = "Quick question: "


@dataclass(frozen=True)
class CacheBenchPlan:
    mode: str
    distinct: int = 1_000
    repeats: int = 500
    paraphrases: int = 500
    entries: int = 10_000
    rounds: int = 400
    warmup: int = 30
    synthetic: bool = False

    @classmethod
    def full(cls) -> CacheBenchPlan:
        return cls(mode="full")

    @classmethod
    def quick(cls) -> CacheBenchPlan:
        return cls(
            mode="quick",
            distinct=40,
            repeats=20,
            paraphrases=20,
            entries=300,
            rounds=10,
            warmup=2,
            synthetic=True,
        )


# -- embeddings ---------------------------------------------------------------------------


class CountingEmbeddings(Embeddings):
    """Wraps an embedding model and counts the texts it embeds."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        return self.inner.embed_query(text)


class ParaphraseEmbeddings(Embeddings):
    """Deterministic vectors in which a paraphrase (the prompt behind
    :data:`PARAPHRASE_PREFIX`, in any case) lies close to its prompt (cosine ~0.99)
    and unrelated prompts are far apart."""

    def __init__(self, dims: int = 64) -> None:
        self.dims = dims

    def _seeded(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
        return np.random.default_rng(seed).normal(size=self.dims)

    def embed_query(self, text: str) -> list[float]:
        canonical = text.removeprefix(PARAPHRASE_PREFIX).lower()
        vector = self._seeded(canonical) + 0.1 * self._seeded(text)
        return [float(item) for item in vector / np.linalg.norm(vector)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]


class PrecomputedEmbeddings(Embeddings):
    """Vectors looked up in a dict: the model's cost is left out of a latency figure."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def embed_query(self, text: str) -> list[float]:
        return self.table[text]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.table[text] for text in texts]

    async def aembed_query(self, text: str) -> list[float]:  # no executor hop
        return self.table[text]


# -- the peers' flow ----------------------------------------------------------------------


class PeerFlowSemanticCache(BaseCache):
    """The flow of the peer semantic caches (RedisSemanticCache and its kind), over our
    vector store: ``lookup`` embeds the whole prompt and takes the nearest entry of the
    model within the threshold; ``update`` embeds the prompt again and stores it. No
    exact-key read and no reuse of the lookup's vector."""

    def __init__(self, embedding: Embeddings, *, similarity_threshold: float) -> None:
        self._embedding = embedding
        self._repository = InMemoryVectorRepository()
        self._policy = SemanticCachePolicy(
            splitter=lambda prompt: PromptParts(meaning=prompt),
            similarity_threshold=similarity_threshold,
            hit_guard=None,
            k=1,
        )

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        parts = self._policy.split(prompt)
        vector = self._embedding.embed_query(prompt)
        now = datetime.now(timezone.utc)
        query = self._policy.query(parts, llm_string, vector, now)
        hit = self._policy.choose(query, prompt, self._repository.nearest(query), now)
        return None if hit is None else list(hit.generations)

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        parts = self._policy.split(prompt)
        vector = self._embedding.embed_query(prompt)
        now = datetime.now(timezone.utc)
        self._repository.put(
            self._policy.record(prompt, llm_string, return_val, parts, vector, now)
        )

    def clear(self, **kwargs: Any) -> None:
        self._repository.clear()


# -- 1: embedding calls per miss cycle ----------------------------------------------------


def _distinct_prompts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    prompts: dict[str, None] = {}
    while len(prompts) < count:
        prompts[f"{sentence(rng)} ({_letters(len(prompts))})"] = None
    return list(prompts)


def _letters(number: int) -> str:
    """A word of letters for ``number`` (no digits: the number guard stays out of it)."""
    word = ""
    while True:
        number, rest = divmod(number, 26)
        word = "abcdefghijklmnopqrstuvwxyz"[rest] + word
        if number == 0:
            return word


def _count_calls(
    cache: BaseCache, counter: CountingEmbeddings, prompts: list[str], plan: CacheBenchPlan
) -> dict[str, Any]:
    rng = random.Random(5)
    answer = [Generation(text="an answer")]
    calls = {"miss_lookup": 0, "miss_update": 0, "exact_repeat": 0, "paraphrase": 0}
    answered = {"miss_lookup": 0, "exact_repeat": 0, "paraphrase": 0}

    def counted(name: str, operation: Callable[..., Any], *arguments: Any) -> Any:
        before = counter.calls
        result = operation(*arguments)
        calls[name] += counter.calls - before
        return result

    for prompt in prompts:
        if counted("miss_lookup", cache.lookup, prompt, LLM_STRING) is not None:
            answered["miss_lookup"] += 1
        counted("miss_update", cache.update, prompt, LLM_STRING, answer)
    for prompt in rng.choices(prompts, k=plan.repeats):
        if counted("exact_repeat", cache.lookup, prompt, LLM_STRING) is not None:
            answered["exact_repeat"] += 1
    for prompt in rng.choices(prompts, k=plan.paraphrases):
        text = PARAPHRASE_PREFIX + prompt.lower()
        if counted("paraphrase", cache.lookup, text, LLM_STRING) is not None:
            answered["paraphrase"] += 1
    counts = {"miss": len(prompts), "exact_repeat": plan.repeats, "paraphrase": plan.paraphrases}
    per_operation = {
        "miss_cycle": (calls["miss_lookup"] + calls["miss_update"]) / counts["miss"],
        "miss_lookup": calls["miss_lookup"] / counts["miss"],
        "miss_update": calls["miss_update"] / counts["miss"],
        "exact_repeat": calls["exact_repeat"] / max(1, counts["exact_repeat"]),
        "paraphrase": calls["paraphrase"] / max(1, counts["paraphrase"]),
    }
    return {
        "operations": counts,
        "calls": calls,
        "total_calls": sum(calls.values()),
        "per_operation": per_operation,
        "answered": answered,
    }


def embedding_calls(plan: CacheBenchPlan) -> dict[str, Any]:
    prompts = _distinct_prompts(plan.distinct, seed=17)
    results = {}
    ours_counter = CountingEmbeddings(ParaphraseEmbeddings())
    peer_counter = CountingEmbeddings(ParaphraseEmbeddings())
    flows: dict[str, tuple[BaseCache, CountingEmbeddings]] = {
        "ours": (InMemorySemanticCache(ours_counter), ours_counter),
        "peer_flow": (
            PeerFlowSemanticCache(peer_counter, similarity_threshold=DEFAULT_SIMILARITY_THRESHOLD),
            peer_counter,
        ),
    }
    for name, (cache, counter) in flows.items():
        results[name] = _count_calls(cache, counter, prompts, plan)
    ours, peer = results["ours"], results["peer_flow"]
    return {
        "workload": {
            "distinct_prompts": plan.distinct,
            "exact_repeats": plan.repeats,
            "paraphrases": plan.paraphrases,
            "embedding": "deterministic fake: a paraphrase ~0.99 cosine to its prompt",
            "threshold": DEFAULT_SIMILARITY_THRESHOLD,
        },
        "flows": results,
        "ours/peer_total": ours["total_calls"] / peer["total_calls"],
        "ours/peer_miss_cycle": ours["per_operation"]["miss_cycle"]
        / peer["per_operation"]["miss_cycle"],
    }


# -- 2: lookup through the class against the bare kNN request ----------------------------


def _load(
    client: Elasticsearch, index: str, texts: list[str], matrix: Any, policy: SemanticCachePolicy
) -> float:
    """The entries as the class writes them (its policy's keys, hashes and documents)."""
    started = time.perf_counter()
    repository = ElasticsearchVectorRepository(client, index, chunk_size=1_000)
    now = datetime.now(timezone.utc)
    records = []
    for number, text in enumerate(texts):
        parts = policy.split(text)
        generations = [Generation(text=f"answer {number}")]
        vector = [float(item) for item in matrix[number]]
        records.append(policy.record(text, LLM_STRING, generations, parts, vector, now))
    for start in range(0, len(records), 2_000):
        repository.put_many(records[start : start + 2_000])
    client.indices.refresh(index=index)
    client.indices.forcemerge(index=index, max_num_segments=1)  # as benchmarks/semantic.py
    return time.perf_counter() - started


def _knn_body(vector: Sequence[float], llm_hash: str, context_hash: str) -> dict[str, Any]:
    """The request the adapter sends for the cache's query (k, candidates, threshold)."""
    return {
        "field": "prompt_vector",
        "query_vector": list(vector),
        "k": DEFAULT_K,
        "num_candidates": max(DEFAULT_NUM_CANDIDATES, 10 * DEFAULT_K),
        "filter": [
            {"term": {"llm_string_hash": llm_hash}},
            {"term": {"context_hash": context_hash}},
        ],
        "similarity": DEFAULT_SIMILARITY_THRESHOLD,
    }


def _path_contenders(
    client: Elasticsearch,
    cache: RepositorySemanticCache,
    index: str,
    texts: list[str],
    keys: list[str],
    bodies: list[dict[str, Any]],
    found: dict[str, int],
) -> list[Contender]:
    def search(sample: int) -> int:
        answer = client.search(
            index=index,
            knn=bodies[sample],
            size=DEFAULT_K,
            source_excludes=["prompt_vector"],
            track_total_hits=False,
            filter_path="hits.hits._index,hits.hits._id,hits.hits._score,hits.hits._source",
        )
        return len(answer.body.get("hits", {}).get("hits", []))

    def run_ours(sample: int) -> None:
        found["ours"] += cache.lookup(texts[sample], LLM_STRING) is not None

    def run_raw_knn(sample: int) -> None:
        found["raw_knn"] += search(sample) > 0

    getter = client.options(ignore_status=404)  # made once: options() copies the client

    def run_raw_get_knn(sample: int) -> None:
        missing = getter.get(index=index, id=keys[sample])
        assert not missing.body.get("found"), "the benchmark's queries are not stored prompts"
        found["raw_get_knn"] += search(sample) > 0

    return [
        Contender("ours", run_ours),
        Contender("raw_knn", run_raw_knn),
        Contender("raw_get_knn", run_raw_get_knn),
    ]


def lookup_latency(client: Elasticsearch, plan: CacheBenchPlan, prefix: str) -> dict[str, Any]:
    samples = plan.rounds + plan.warmup
    storage_plan = SemanticPlan.quick() if plan.synthetic else SemanticPlan.full()
    entries, _, described = vectors(storage_plan, plan.entries, 0, 3)
    dims = int(entries.shape[1])
    texts = [f"entry prompt {_letters(number)}" for number in range(plan.entries)]
    policy = SemanticCachePolicy()
    index = f"{prefix}-class-{plan.entries}"
    load_s = _load(client, index, texts, entries, policy)

    rng = np.random.default_rng(9)
    picked = rng.choice(plan.entries, size=samples, replace=False)  # one query text each
    near = entries[picked] + rng.normal(size=(samples, dims)) * (0.15 / np.sqrt(dims))
    near = near / np.linalg.norm(near, axis=1, keepdims=True)
    far = rng.normal(size=(samples, dims))
    far = far / np.linalg.norm(far, axis=1, keepdims=True)
    paths = {
        "hit": ([f"tell me about {texts[n]}" for n in picked], near),
        "miss": ([f"unrelated question {_letters(n)}" for n in range(samples)], far),
    }
    table = {
        text: [float(item) for item in matrix[n]]
        for queries, matrix in paths.values()
        for n, text in enumerate(queries)
    }
    cache = RepositorySemanticCache(
        ElasticsearchVectorRepository(client, index), PrecomputedEmbeddings(table)
    )
    llm_hash, context_hash = partition_hashes(LLM_STRING, "")
    measured: dict[str, Any] = {}
    for path, (queries, matrix) in paths.items():
        keys = [policy.key(text, LLM_STRING) for text in queries]
        bodies = [_knn_body(matrix[n].tolist(), llm_hash, context_hash) for n in range(samples)]
        found = {"ours": 0, "raw_knn": 0, "raw_get_knn": 0}
        contenders = _path_contenders(client, cache, index, queries, keys, bodies, found)
        outcomes = run_interleaved(contenders, rounds=plan.rounds, warmup=plan.warmup)
        stats = {outcome.name: summarize(outcome) for outcome in outcomes}

        def ratio(reference: str, stats: dict[str, Any] = stats) -> float | None:
            if stats["ours"]["status"] != "ok" or stats[reference]["status"] != "ok":
                return None
            return float(stats["ours"]["median_s"] / stats[reference]["median_s"])

        measured[path] = {
            "answered": found,  # counted over warm-up and timed samples alike
            "contenders": stats,
            "ours/raw_knn": ratio("raw_knn"),
            "ours/raw_get_knn": ratio("raw_get_knn"),
        }
    statistics = cache.statistics
    client.indices.delete(index=index, ignore_unavailable=True)
    return {
        "entries": plan.entries,
        "data": described,
        "embedding": "precomputed vectors from a dict (the model's cost is excluded)",
        "load_s": load_s,
        "threshold": DEFAULT_SIMILARITY_THRESHOLD,
        "k": DEFAULT_K,
        "paths": measured,
        "cache_statistics": {
            "exact_hits": statistics.exact_hits,
            "semantic_hits": statistics.semantic_hits,
            "embedding_calls": statistics.embedding_calls,
        },
    }


# -- report -------------------------------------------------------------------------------


def _targets(document: dict[str, Any]) -> list[dict[str, Any]]:
    calls = document["embedding_calls"]["flows"]["ours"]["per_operation"]
    targets = [
        {
            "id": "embedding_calls_per_miss_cycle",
            "description": "embedding calls per miss cycle (lookup miss + update), ours",
            "value": calls["miss_cycle"],
            "met": calls["miss_cycle"] <= 1.0,
            "detail": f"{calls['miss_cycle']:.3f} (target 1: the prompt embedded once)",
        },
        {
            "id": "embedding_calls_per_exact_repeat",
            "description": "embedding calls per exact repeat, ours",
            "value": calls["exact_repeat"],
            "met": calls["exact_repeat"] == 0.0,
            "detail": f"{calls['exact_repeat']:.3f} (target 0)",
        },
    ]
    latency = document["lookup_latency"]
    for path, values in latency["paths"].items():
        ratio = values["ours/raw_knn"]
        if ratio is None:
            continue
        targets.append(
            ratio_target(
                f"class_lookup_vs_raw_knn_{path}_{latency['entries']}",
                f"semantic lookup ({path} path) through the class vs the bare "
                f"kNN request at {latency['entries']} entries",
                ratio,
                RATIO_TARGET,
                f"; ours/raw GET+kNN {values['ours/raw_get_knn']:.3f}",
            )
        )
    return targets


def run(
    url: str,
    plan: CacheBenchPlan,
    *,
    name: str | None = None,
    out_dir: Path = RESULTS_DIR,
    node_source: str = "ES_URL",
) -> dict[str, Any]:
    """Run both parts (the second against the node at ``url``); write and return the
    result document."""
    document = measure(
        url,
        plan,
        [
            (
                "embedding_calls",
                "embedding calls per miss cycle",
                lambda client, prefix: embedding_calls(plan),
            ),
            (
                "lookup_latency",
                "semantic lookup through the class vs the bare kNN request",
                lambda client, prefix: lookup_latency(client, plan, prefix),
            ),
        ],
        name=name or ("semantic-class" if plan.mode == "full" else f"semantic-class-{plan.mode}"),
        node_source=node_source,
        targets=_targets,
    )
    write_results(document, out_dir, class_markdown)
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = benchmark_parser("python -m benchmarks.semantic_cache", __doc__)
    parser.add_argument("--entries", type=int, default=None, help="default 10000")
    arguments = parser.parse_args(argv)
    plan = CacheBenchPlan.quick() if arguments.quick else CacheBenchPlan.full()
    if arguments.entries:
        plan = CacheBenchPlan(**{**asdict(plan), "entries": arguments.entries})
    return run_command(arguments, plan, run)


if __name__ == "__main__":
    sys.exit(main())
