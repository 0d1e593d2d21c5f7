"""The semantic cache's quality report: ``scripts/semantic_report.sh`` (or
``python -m benchmarks.semantic_report [--quick] [--gptcache-python PATH]``).

Writes ``benchmarks/SEMANTIC.md``, ``benchmarks/results/semantic.json`` (every figure in the
report) and two PNGs under ``benchmarks/results/``. Nothing in SEMANTIC.md is typed by hand:
each number is formatted from the JSON this run computed. This module measures and writes
the JSON; ``semantic_render`` renders the Markdown (its prose is
``benchmarks/templates/semantic.md``) and the PNGs from the JSON as saved, and
``python -m benchmarks.render`` does the same without measuring. The comparisons with the
peers are in ``semantic_peers``, the parameters in ``semantic_settings``.

What it measures, on the shipped evaluation set with the offline WordLlama model:

* the cache as it runs (prompt-text extraction + number guard) at the default threshold and
  at calibrated ones, and the wrong hits per category;
* each design choice switched off: extraction (embed the serialised prompt, as the peers
  do), the number guard, and exact-key first (a real ``InMemorySemanticCache`` counting
  embedding calls on exact repeats);
* the peers' approaches reproduced here: RedisSemanticCache (langchain-redis) embeds the raw
  prompt, asks redisvl for the single nearest entry of *all* models within a cosine
  *distance* of 0.2, then filters by ``llm_string`` in Python; and GPTCache itself, run in
  a scratch environment by ``benchmarks/gptcache_harness.py`` with the same model;
* how many labelled pairs a calibration needs: resampled subsets of 50 to 400 pairs, the
  spread of the threshold they choose and of its precision on the pairs they did not see.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from langchain_elasticsearch_cache.domain.semantic import (
    DEFAULT_GUARD_RULES,
    DEFAULT_SIMILARITY_THRESHOLD,
    combine_guards,
    default_hit_guard,
    number_guard,
    split_prompt,
)
from langchain_elasticsearch_cache.evaluation import (
    HOLDOUT_PAIRS,
    LabelledPair,
    ScoredPair,
    by_category,
    calibrate,
    calibrate_with_holdout,
    evaluate,
    metrics_table,
    read_pairs,
    score_pairs,
)
from langchain_elasticsearch_cache.evaluation.guard_report import GuardReport, rule_refusals
from langchain_elasticsearch_cache.interfaces.langchain.wordllama import WordLlamaEmbeddings

from . import semantic_peers, semantic_render
from .semantic_peers import metrics_row
from .semantic_settings import FALLBACK_TARGETS, GRID, RESAMPLES, SIZES, TARGET

__all__ = ["HOLDOUT_VARIANTS", "VARIANTS", "build", "main"]

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- scoring


class _Memo(Embeddings):
    """WordLlama with a memo: every text is embedded once for all the variants."""

    def __init__(self, model: Embeddings) -> None:
        self.model = model
        self.vectors: dict[str, list[float]] = {}
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        todo = [text for text in dict.fromkeys(texts) if text not in self.vectors]
        if todo:
            self.calls += len(todo)
            self.vectors.update(zip(todo, self.model.embed_documents(todo), strict=True))
        return [self.vectors[text] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _split(prompt: str) -> tuple[str, str]:
    parts = split_prompt(prompt)
    return parts.context, parts.meaning


def _is_chat(pair: LabelledPair) -> bool:
    return pair.a.startswith("[")


VARIANTS: dict[str, dict[str, Any]] = {
    "cache": {"split": _split, "guard": default_hit_guard},
    "no_split": {"split": None, "guard": default_hit_guard},
    "numbers_only": {"split": _split, "guard": number_guard},
    "no_guard": {"split": _split, "guard": None},
    "raw": {"split": None, "guard": None},
}
for _rule in DEFAULT_GUARD_RULES:
    VARIANTS[f"without_{_rule}"] = {
        "split": _split,
        "guard": combine_guards(*(g for k, g in DEFAULT_GUARD_RULES.items() if k != _rule)),
    }
#: The variants measured on the held-out set too.
HOLDOUT_VARIANTS = (
    "cache",
    "numbers_only",
    "no_guard",
    *tuple(f"without_{rule}" for rule in DEFAULT_GUARD_RULES),
)


def _quantiles(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * (len(ordered) - 1) + 0.5))]

    return {"p5": at(0.05), "median": statistics.median(ordered), "p95": at(0.95)}


# --------------------------------------------------------------------------- sections


def _calibrations(scored: list[ScoredPair]) -> dict[str, Any]:
    """The target precision on the whole set, and on the categories a threshold can sort.

    A category of different pairs whose median similarity is above the median of the
    same pairs cannot be kept out by a threshold without losing most hits: the model
    scores it like a paraphrase. Those categories are found from the data, not by hand.
    """
    same = [item.similarity for item in scored if item.pair.same and item.eligible]
    same_median = statistics.median(same)
    medians: dict[str, dict[str, Any]] = {}
    for category in sorted({item.pair.category or "(none)" for item in scored}):
        items = [item for item in scored if (item.pair.category or "(none)") == category]
        eligible = [item.similarity for item in items if item.eligible]
        medians[category] = {
            "same": items[0].pair.same,
            "pairs": len(items),
            "eligible": len(eligible),
            "median_similarity": statistics.median(eligible) if eligible else None,
        }
    beyond = sorted(
        name
        for name, info in medians.items()
        if not info["same"]
        and info["median_similarity"] is not None
        and info["median_similarity"] >= same_median
    )
    separable = [item for item in scored if (item.pair.category or "(none)") not in beyond]
    whole = calibrate(scored, target_precision=TARGET, thresholds=GRID)
    target = next(
        (
            value
            for value in FALLBACK_TARGETS
            if calibrate(separable, target_precision=value, thresholds=GRID).chosen
        ),
        None,
    )
    chosen = (
        None
        if target is None
        else calibrate(separable, target_precision=target, thresholds=GRID).chosen
    )
    best = max(
        (row for row in metrics_table(separable, GRID) if row.hits),
        key=lambda row: (row.precision, row.hits),
    )
    return {
        "same_median_similarity": same_median,
        "separable_table": [metrics_row(row) for row in metrics_table(separable, GRID)],
        "categories": medians,
        "beyond_any_threshold": beyond,
        "whole_set": {
            "target": TARGET,
            "chosen": None if whole.chosen is None else metrics_row(whole.chosen),
            "reason": whole.reason,
        },
        "separable": {
            "pairs": len(separable),
            "reachable_target": target,
            "chosen": None if chosen is None else metrics_row(chosen),
            "chosen_on_whole_set": None
            if chosen is None
            else metrics_row(evaluate(scored, chosen.threshold)),
            "best_precision": metrics_row(best),
            "default": metrics_row(evaluate(separable, DEFAULT_SIMILARITY_THRESHOLD)),
        },
    }


def _stability(
    scored: list[ScoredPair], target: float, sizes: Sequence[int], resamples: int
) -> dict[str, Any]:
    """Calibrate on stratified random subsets of ``size`` pairs; check on the rest."""
    rows = {}
    for size in sizes:
        if size >= len(scored):
            continue
        chosen, held_precision, none = [], [], 0
        for seed in range(resamples):
            result = calibrate_with_holdout(
                scored,
                target_precision=target,
                holdout=1 - size / len(scored),
                seed=seed,
                thresholds=GRID,
            )
            if result.holdout is None:
                none += 1
                continue
            chosen.append(result.calibration.chosen.threshold)  # type: ignore[union-attr]
            held_precision.append(result.holdout.precision)
        rows[str(size)] = {
            "resamples": resamples,
            "no_threshold": none,
            "threshold": _quantiles(chosen),
            "holdout_precision": _quantiles(held_precision),
            "holdout_below_target": sum(1 for value in held_precision if value < target - 1e-12),
        }
    return {"target": target, "sizes": rows}


def _rule_rows(report: GuardReport) -> dict[str, dict[str, int]]:
    """Each rule's refusals of same pairs (paraphrases lost) and of different pairs (false
    hits kept out), at the default threshold, by that rule alone there, and on all pairs."""
    fields = "same_at different_at same_only_at different_only_at same_all different_all"
    return {row.rule: {name: getattr(row, name) for name in fields.split()} for row in report.rules}


# --------------------------------------------------------------------------- main


def build(
    quick: bool, gptcache_python: str | None, progress: Callable[[str], None]
) -> dict[str, Any]:
    pairs = read_pairs("builtin")
    sizes: tuple[int, ...] = SIZES
    resamples = RESAMPLES
    if quick:
        per_category: Counter[str] = Counter()
        subset = []
        for pair in pairs:
            if per_category[pair.category or ""] < 8:
                per_category[pair.category or ""] += 1
                subset.append(pair)
        pairs, sizes, resamples = subset, (50,), 10
    progress(f"embedding {len(pairs)} pairs with WordLlama")
    model = _Memo(WordLlamaEmbeddings())
    variants: dict[str, Any] = {}
    scored: dict[str, list[ScoredPair]] = {}
    for name, options in VARIANTS.items():
        scored[name] = score_pairs(pairs, embed=model.embed_documents, **options)
        variants[name] = {
            "default": metrics_row(evaluate(scored[name], DEFAULT_SIMILARITY_THRESHOLD)),
            "table": [metrics_row(row) for row in metrics_table(scored[name], GRID)],
        }
    cache = scored["cache"]
    chat_cache = [item for item in cache if _is_chat(item.pair)]
    chat_whole = [item for item in scored["no_split"] if _is_chat(item.pair)]
    chat_cache_table = metrics_table(chat_cache, GRID)
    chat_whole_table = metrics_table(chat_whole, GRID)
    chat = {
        "cache_default": metrics_row(evaluate(chat_cache, DEFAULT_SIMILARITY_THRESHOLD)),
        "serialised_default": metrics_row(evaluate(chat_whole, DEFAULT_SIMILARITY_THRESHOLD)),
        "cache_min_precision": min(row.precision for row in chat_cache_table),
        "serialised_max_precision": max(row.precision for row in chat_whole_table),
        "extraction_beats_serialised": all(
            (mine.precision > theirs.precision or (mine.precision == theirs.precision == 1.0))
            and mine.false_hits < max(theirs.false_hits, 1)
            for mine, theirs in zip(chat_cache_table, chat_whole_table, strict=True)
        ),
    }
    progress("the held-out set")
    holdout_set = read_pairs(HOLDOUT_PAIRS)
    holdout_scored = {
        name: score_pairs(holdout_set, embed=model.embed_documents, **VARIANTS[name])
        for name in HOLDOUT_VARIANTS
    }
    holdout = {
        "source": HOLDOUT_PAIRS,
        "pairs": len(holdout_set),
        "same_pairs": sum(1 for pair in holdout_set if pair.same),
        "variants": {
            name: metrics_row(evaluate(items, DEFAULT_SIMILARITY_THRESHOLD))
            for name, items in holdout_scored.items()
        },
        "table": [metrics_row(row) for row in metrics_table(holdout_scored["cache"], GRID)],
        "wrong_by_category": {
            name: row.false_hits
            for name, row in by_category(
                holdout_scored["cache"], DEFAULT_SIMILARITY_THRESHOLD
            ).items()
        },
    }
    progress("each guard rule's refusals")
    guard_rules = {
        name: _rule_rows(rule_refusals(items, embed=model.embed_documents, split=_split))
        for name, items in (("main", pairs), ("holdout", holdout_set))
    }
    progress("calibrating")
    calibration = _calibrations(cache)
    chosen = calibration["separable"]["chosen"]
    blocked: dict[str, Counter[str]] = {}
    for item in cache:
        if item.blocked_by:
            blocked.setdefault(item.pair.category or "(none)", Counter())[item.blocked_by] += 1
    wrong = {
        "default": {
            name: row.false_hits
            for name, row in by_category(cache, DEFAULT_SIMILARITY_THRESHOLD).items()
        },
        "calibrated": {}
        if chosen is None
        else {
            name: row.false_hits for name, row in by_category(cache, chosen["threshold"]).items()
        },
    }
    progress("exact-key first with a real InMemorySemanticCache")
    exact = semantic_peers.exact_key_first(pairs, model)
    progress("RedisSemanticCache-style nearest-one-then-filter")
    redis = semantic_peers.redis_style(scored["raw"], model)
    gptcache = semantic_peers.gptcache(pairs, gptcache_python, progress)
    target = calibration["separable"]["reachable_target"]
    beyond = set(calibration["beyond_any_threshold"])
    separable = [item for item in cache if (item.pair.category or "(none)") not in beyond]
    progress("resampling for the stability study")
    stability = (
        _stability(separable, target, sizes, resamples)
        if target is not None
        else {"target": None, "sizes": {}}
    )
    data: dict[str, Any] = {
        "quick": quick,
        "resamples": resamples,
        "model": "WordLlama l2_supercat, 256 dimensions",
        "pairs": len(pairs),
        "same_pairs": sum(1 for pair in pairs if pair.same),
        "chat_pairs": sum(1 for pair in pairs if _is_chat(pair)),
        "default": variants["cache"]["default"],
        "variants": variants,
        "chat": chat,
        "chat_tables": {
            "cache": [metrics_row(row) for row in chat_cache_table],
            "serialised": [metrics_row(row) for row in chat_whole_table],
        },
        "calibration": calibration,
        "holdout": holdout,
        "guard_rules": guard_rules,
        "blocked": {name: dict(counts) for name, counts in blocked.items()},
        "wrong_by_category": wrong,
        "exact_key_first": exact,
        "redis": redis,
        "gptcache": gptcache,
        "stability": stability,
    }
    data["default_explanation"] = semantic_render.default_explanation(data)
    data["stability_advice"] = semantic_render.stability_advice(data)
    return data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a small subset (for the test)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--markdown", type=Path, default=ROOT / "benchmarks" / "SEMANTIC.md")
    parser.add_argument("--gptcache-python", help="a Python where gptcache is installed")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"semantic report: {message}", file=sys.stderr, flush=True)

    data = build(args.quick, args.gptcache_python, progress)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    saved = args.out_dir / "semantic.json"
    saved.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    # rendered from the JSON as saved, as `python -m benchmarks.render` renders it
    as_saved = json.loads(saved.read_text(encoding="utf-8"))
    semantic_render.write(as_saved, args.out_dir, args.markdown)
    progress(f"wrote {args.markdown} and {args.out_dir}/semantic*.{{json,png}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
