"""The semantic quality report's comparisons: exact key first (a real
``InMemorySemanticCache``), RedisSemanticCache's nearest-one-then-filter search reproduced,
and GPTCache itself run in its own environment by ``benchmarks/gptcache_harness.py``."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache.domain.semantic import default_hit_guard, split_prompt
from langchain_elasticsearch_cache.evaluation import (
    LabelledPair,
    ScoredPair,
    ThresholdMetrics,
    cosine,
    evaluate,
    metrics_table,
)
from langchain_elasticsearch_cache.interfaces.langchain.semantic_memory import (
    InMemorySemanticCache,
)

from .semantic_settings import GPTCACHE_THRESHOLD, REDIS_DISTANCE

__all__ = ["exact_key_first", "gptcache", "metrics_row", "redis_style"]


def metrics_row(row: ThresholdMetrics) -> dict[str, Any]:
    return {
        "threshold": row.threshold,
        "precision": row.precision,
        "recall": row.recall,
        "f1": row.f1,
        "hit_rate": row.hit_rate,
        "hits": row.hits,
        "false_hits": row.false_hits,
        "missed": row.missed,
        "pairs": row.pairs,
    }


def exact_key_first(pairs: Sequence[LabelledPair], model: Embeddings) -> dict[str, Any]:
    """A real InMemorySemanticCache: store every distinct prompt, then ask each again."""

    class Counting(Embeddings):
        def __init__(self) -> None:
            self.texts = 0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            self.texts += len(texts)
            return model.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    prompts = list(dict.fromkeys(prompt for pair in pairs for prompt in (pair.a, pair.b)))
    counting = Counting()
    llm = "model-a"
    with InMemorySemanticCache(counting) as cache:
        for number, prompt in enumerate(prompts):
            cache.update(prompt, llm, [Generation(text=f"answer {number}")])
        stored = counting.texts
        cache.reset_statistics()
        right = 0
        for number, prompt in enumerate(prompts):
            answer = cache.lookup(prompt, llm)
            right += answer is not None and answer[0].text == f"answer {number}"
        stats = cache.statistics
    # without the exact key, each repeat is a nearest-neighbour search of its own vector:
    # count the repeats another entry would tie or beat (a wrong answer or a coin toss)
    vectors = dict(zip(prompts, model.embed_documents(prompts), strict=True))
    shadowed = 0
    for prompt in prompts:
        own = vectors[prompt]
        shadowed += any(
            other != prompt and cosine(own, vectors[other]) >= 1.0 - 1e-9 for other in prompts
        )
    # the same with the cache's own search: same context, guard accepts, meaning vector tie
    parts = {prompt: split_prompt(prompt) for prompt in prompts}
    meanings = list(dict.fromkeys(part.meaning for part in parts.values()))
    meaning_vectors = dict(zip(meanings, model.embed_documents(meanings), strict=True))
    cache_shadowed = 0
    for prompt in prompts:
        mine = parts[prompt]
        cache_shadowed += any(
            other != prompt
            and parts[other].context == mine.context
            and cosine(meaning_vectors[mine.meaning], meaning_vectors[parts[other].meaning])
            >= 1.0 - 1e-9
            and default_hit_guard(mine.meaning, parts[other].meaning)
            for other in prompts
        )
    return {
        "repeats_tied_in_the_cache_search": cache_shadowed,
        "distinct_prompts": len(prompts),
        "embedding_calls_to_store": stored,
        "repeat_lookups": len(prompts),
        "repeat_hits": stats.hits,
        "repeat_exact_hits": stats.exact_hits,
        "repeat_right_answers": right,
        "repeat_embedding_calls_with_exact_first": stats.embedding_calls,
        "repeat_embedding_calls_without": len(prompts),
        "repeats_tied_by_another_raw_prompt": shadowed,
    }


def redis_style(scored_raw: list[ScoredPair], model: Embeddings) -> dict[str, Any]:
    """RedisSemanticCache: raw prompt, distance <= 0.2, nearest ONE of all models, then
    the llm_string filter; against a search filtered by model first."""
    similarity = 1.0 - REDIS_DISTANCE
    pairwise = evaluate(scored_raw, similarity)
    pairs = [item.pair for item in scored_raw]
    # two models share the index: model A cached every pair's first prompt; model B was
    # asked the second prompt of every other pair. Each same pair's second prompt is then
    # asked of model A.
    a_entries = [(pair.a, "A", index) for index, pair in enumerate(pairs)]
    b_entries = [(pair.b, "B", index) for index, pair in enumerate(pairs) if index % 2 == 0]
    entries = a_entries + b_entries
    texts = list(dict.fromkeys([text for text, _, _ in entries] + [pair.b for pair in pairs]))
    vectors = dict(zip(texts, model.embed_documents(texts), strict=True))
    filtered_hits = nearest_one_hits = lost = filtered_right = nearest_right = 0
    queries = 0
    for index, pair in enumerate(pairs):
        if not pair.same:
            continue
        queries += 1
        query = vectors[pair.b]
        ranked = sorted(
            (
                (cosine(query, vectors[text]), model_name, owner)
                for text, model_name, owner in entries
            ),
            key=lambda entry: -entry[0],
        )
        own = next(entry for entry in ranked if entry[1] == "A")
        nearest = ranked[0]
        filtered_hit = own[0] >= similarity
        nearest_hit = nearest[0] >= similarity and nearest[1] == "A"
        filtered_hits += filtered_hit
        nearest_one_hits += nearest_hit
        filtered_right += filtered_hit and own[2] == index
        nearest_right += nearest_hit and nearest[2] == index
        lost += filtered_hit and not nearest_hit
    return {
        "distance_threshold": REDIS_DISTANCE,
        "similarity_equivalent": similarity,
        "pairwise": metrics_row(pairwise),
        "two_models": {
            "model_a_entries": len(a_entries),
            "model_b_entries": len(b_entries),
            "queries": queries,
            "filtered_search_hits": filtered_hits,
            "filtered_search_right": filtered_right,
            "nearest_one_then_filter_hits": nearest_one_hits,
            "nearest_one_then_filter_right": nearest_right,
            "lost_hits": lost,
        },
    }


def gptcache(
    pairs: Sequence[LabelledPair], python: str | None, progress: Callable[[str], None]
) -> dict[str, Any]:
    if not python:
        return {
            "ran": False,
            "why": "no --gptcache-python given (scripts/semantic_report.sh sets it)",
        }
    harness = Path(__file__).with_name("gptcache_harness.py")
    results: dict[str, Any] = {"ran": True, "runs": {}}
    for normalize in (False, True):
        progress(f"GPTCache ({'unit' if normalize else 'raw'} vectors) on {len(pairs)} pairs")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as job:
            json.dump(
                {
                    "pairs": [[pair.a, pair.b] for pair in pairs],
                    "normalize": normalize,
                    "similarity_threshold": GPTCACHE_THRESHOLD,
                },
                job,
            )
        try:
            completed = subprocess.run(
                [python, str(harness), job.name],
                capture_output=True,
                text=True,
                check=False,
                timeout=3600,
            )
        finally:
            Path(job.name).unlink()
        if completed.returncode != 0:
            tail = completed.stderr.strip().splitlines()[-3:]
            return {"ran": False, "why": f"the harness failed: {' | '.join(tail)}"}
        output = json.loads(completed.stdout.strip().splitlines()[-1])
        hits = output["hits"]
        scored = [
            ScoredPair(pair, score) for pair, score in zip(pairs, output["scores"], strict=True)
        ]
        rank = output["rank_threshold"]
        agree = all(
            hit == (item.similarity >= rank - 1e-6) for hit, item in zip(hits, scored, strict=True)
        )
        right = sum(1 for hit, pair in zip(hits, pairs, strict=True) if hit and pair.same)
        wrong = sum(1 for hit, pair in zip(hits, pairs, strict=True) if hit and not pair.same)
        same = sum(1 for pair in pairs if pair.same)
        row = ThresholdMetrics(rank, right, wrong, same - right, len(pairs) - same - wrong)
        grid = [step / 100 * 4.0 for step in range(50, 100)]
        results["versions"] = output["versions"]
        results["runs"]["unit_vectors" if normalize else "raw_vectors"] = {
            "rank_threshold": rank,
            "at_default": metrics_row(row),
            "score_agrees_with_get": agree,
            "curve": [metrics_row(item) for item in metrics_table(scored, grid)],
        }
    return results
