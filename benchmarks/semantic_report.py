"""The semantic cache's quality report: ``scripts/semantic_report.sh`` (or
``python -m benchmarks.semantic_report [--quick] [--gptcache-python PATH]``).

Writes ``benchmarks/SEMANTIC.md``, ``benchmarks/results/semantic.json`` (every figure in the
report) and two PNGs under ``benchmarks/results/``. Nothing in SEMANTIC.md is typed by hand:
each number is formatted from the JSON this run computed.

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
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.outputs import Generation

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
    ThresholdMetrics,
    by_category,
    calibrate,
    calibrate_with_holdout,
    cosine,
    evaluate,
    metrics_table,
    plot_precision_recall,
    read_pairs,
    score_pairs,
)
from langchain_elasticsearch_cache.interfaces.langchain.semantic_memory import (
    InMemorySemanticCache,
)
from langchain_elasticsearch_cache.interfaces.langchain.wordllama import WordLlamaEmbeddings

ROOT = Path(__file__).resolve().parents[1]
GRID = tuple(step / 100 for step in range(50, 100))
#: The target a production cache should meet: at most one wrong answer in 20 hits.
TARGET = 0.95
#: Lower targets tried, in order, when nothing reaches TARGET (for the stability study).
FALLBACK_TARGETS = (0.95, 0.9, 0.85, 0.8)
#: langchain-redis RedisSemanticCache's default distance_threshold (cosine distance).
REDIS_DISTANCE = 0.2
#: GPTCache's default Config.similarity_threshold.
GPTCACHE_THRESHOLD = 0.8
SIZES = (50, 100, 200, 400)
#: A calibration is called stable when 90 % of resamples choose thresholds this close.
STABLE_WIDTH = 0.05
RESAMPLES = 200


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
VARIANT_TITLES = {
    "cache": "this cache: last question embedded, context must match, default hit guard",
    "no_split": "without extraction: the serialised prompt embedded (with the guard)",
    "numbers_only": "with the number rule only (the default guard before issue 11)",
    "no_guard": "without any hit guard",
    "raw": "raw prompt, no guard (what RedisSemanticCache and GPTCache compare)",
}
for _rule in DEFAULT_GUARD_RULES:
    VARIANTS[f"without_{_rule}"] = {
        "split": _split,
        "guard": combine_guards(*(g for k, g in DEFAULT_GUARD_RULES.items() if k != _rule)),
    }
    VARIANT_TITLES[f"without_{_rule}"] = f"default guard without its `{_rule}` rule"
#: The variants measured on the held-out set too.
HOLDOUT_VARIANTS = (
    "cache",
    "numbers_only",
    "no_guard",
    *tuple(f"without_{rule}" for rule in DEFAULT_GUARD_RULES),
)


def _row(row: ThresholdMetrics) -> dict[str, Any]:
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
        "separable_table": [_row(row) for row in metrics_table(separable, GRID)],
        "categories": medians,
        "beyond_any_threshold": beyond,
        "whole_set": {
            "target": TARGET,
            "chosen": None if whole.chosen is None else _row(whole.chosen),
            "reason": whole.reason,
        },
        "separable": {
            "pairs": len(separable),
            "reachable_target": target,
            "chosen": None if chosen is None else _row(chosen),
            "chosen_on_whole_set": None
            if chosen is None
            else _row(evaluate(scored, chosen.threshold)),
            "best_precision": _row(best),
            "default": _row(evaluate(separable, DEFAULT_SIMILARITY_THRESHOLD)),
        },
    }


def _exact_key_first(pairs: Sequence[LabelledPair], model: Embeddings) -> dict[str, Any]:
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


def _redis_style(scored_raw: list[ScoredPair], model: Embeddings) -> dict[str, Any]:
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
        "pairwise": _row(pairwise),
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


def _gptcache(
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
            "at_default": _row(row),
            "score_agrees_with_get": agree,
            "curve": [_row(item) for item in metrics_table(scored, grid)],
        }
    return results


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


# --------------------------------------------------------------------------- plots


def _plot_curves(figures: dict[str, Any], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.8), dpi=100)
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    for panel, key, title in (
        (left, "curves", "all pairs"),
        (right, "chat_curves", "chat-formatted pairs"),
    ):
        for name, rows in figures[key].items():
            panel.plot(
                [row["recall"] for row in rows],
                [row["precision"] for row in rows],
                marker=".",
                linewidth=1,
                label=name,
            )
        panel.set_title(title)
        panel.set_xlabel("recall")
        panel.set_ylabel("precision")
        panel.set_xlim(-0.02, 1.02)
        panel.set_ylim(-0.02, 1.02)
        panel.grid(True, alpha=0.3)
    default = figures["default"]
    left.plot([default["recall"]], [default["precision"]], "ko")
    left.annotate(f"default {default['threshold']:g}", (default["recall"], default["precision"]))
    gpt = figures.get("gptcache_curve")
    if gpt:
        left.plot(
            [row["recall"] for row in gpt],
            [row["precision"] for row in gpt],
            marker="x",
            linewidth=1,
            label="GPTCache (unit vectors)",
        )
    left.legend(loc="lower left", fontsize="x-small")
    figure.suptitle("Semantic cache on the evaluation set (WordLlama), thresholds 0.50-0.99")
    figure.tight_layout()
    figure.savefig(path, format="png")


# --------------------------------------------------------------------------- markdown


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _metrics_line(row: dict[str, Any], label: str | None = None) -> str:
    first = f"{row['threshold']:g}" if label is None else label
    return (
        f"| {first} | {row['precision']:.3f} | {row['recall']:.3f} | "
        f"{row['f1']:.3f} | {_pct(row['hit_rate'])} | {row['hits']} | {row['false_hits']} |"
    )


HEADER = (
    "| threshold | precision | recall | F1 | hit rate | hits | wrong hits |\n"
    "|---:|---:|---:|---:|---:|---:|---:|"
)


def _markdown(data: dict[str, Any]) -> str:
    c = data["calibration"]
    sep = c["separable"]
    lines: list[str] = []
    add = lines.append
    add("# Semantic cache quality report")
    add("")
    add(
        "Generated by `scripts/semantic_report.sh` (`python -m benchmarks.semantic_report`); "
        "every figure below comes from `benchmarks/results/semantic.json` of the same run. "
        "Do not edit by hand."
    )
    add("")
    add(
        f"**Set**: the shipped evaluation set (`calibrate builtin`, described in "
        f"`src/langchain_elasticsearch_cache/evaluation/data/README.md`): {data['pairs']} "
        f"labelled pairs, {data['same_pairs']} same and {data['pairs'] - data['same_pairs']} "
        f"different, {data['chat_pairs']} of them chat-formatted (LangChain-serialised "
        f"message lists). **Model**: {data['model']} (offline). Thresholds 0.50 to 0.99 in "
        "steps of 0.01; a hit is cosine similarity >= threshold. The set is adversarial on "
        "purpose: most of its different pairs are hard negatives (a negation, swapped roles, "
        "another number), so its precision is a floor, not the precision of real traffic."
        + (
            " **Quick mode: a subset, for the test; not the published figures.**"
            if data["quick"]
            else ""
        )
    )
    add("")
    add("## Headline")
    add("")
    d = data["default"]
    numbers = data["variants"]["numbers_only"]["default"]
    held = data["holdout"]["variants"]
    add(
        f"- At the default threshold **{d['threshold']:g}** the cache (prompt-text extraction "
        f"+ the default hit guard) has precision **{d['precision']:.3f}** with a hit rate of "
        f"**{_pct(d['hit_rate'])}** (recall {d['recall']:.3f}, F1 {d['f1']:.3f}; "
        f"{d['false_hits']} wrong of {d['hits']} hits); with the number rule only (the "
        f"previous default guard) it was {numbers['precision']:.3f} "
        f"({numbers['false_hits']} wrong of {numbers['hits']}). On the held-out set "
        f"({data['holdout']['pairs']} pairs written before the rules were designed): "
        f"{held['cache']['precision']:.3f} against {held['numbers_only']['precision']:.3f} "
        f"({held['cache']['false_hits']} wrong of {held['cache']['hits']} hits against "
        f"{held['numbers_only']['false_hits']} of {held['numbers_only']['hits']})."
    )
    whole = c["whole_set"]
    if whole["chosen"] is None:
        add(
            f"- **No threshold reaches precision {whole['target']:g} on the whole set with "
            f"WordLlama**: {whole['reason']}."
        )
    else:
        add(
            f"- Calibrated at precision {whole['target']:g}: threshold "
            f"{whole['chosen']['threshold']:g}."
        )
    beyond = ", ".join(f"`{name}`" for name in c["beyond_any_threshold"]) or "none"
    add(
        f"- The wrong hits that no threshold removes come from the categories the model scores "
        f"like paraphrases (median similarity at or above the same pairs' median, "
        f"{c['same_median_similarity']:.3f}): {beyond}. WordLlama averages word vectors, so "
        '"Is Paris bigger than Lyon?" and "Is Lyon bigger than Paris?" are the same '
        "vector to it. A threshold cannot fix that; the guard's rules (negations, opposite "
        "words, calendar words, units, entity and word order) or a better embedding model can."
    )
    chat = data["chat"]
    add(
        f"- On the {data['chat_pairs']} chat-formatted pairs, prompt-text extraction "
        + ("**beats**" if chat["extraction_beats_serialised"] else "**does not beat**")
        + f" embedding the serialised prompt: precision {chat['cache_default']['precision']:.3f} "
        f"against {chat['serialised_default']['precision']:.3f} at {d['threshold']:g}, and "
        f"{chat['cache_min_precision']:.3f} against at most "
        f"{chat['serialised_max_precision']:.3f} at every threshold of the grid."
    )
    add("")
    add("![curves](results/semantic-curves.png)")
    add("")
    add("## The default threshold and the calibrated one")
    add("")
    add(HEADER)
    add(_metrics_line(data["default"]))
    add("")
    add(
        f"On the {sep['pairs']} pairs outside the categories above (the ones a threshold can "
        f"sort), the best precision of the grid is {sep['best_precision']['precision']:.3f} at "
        f"{sep['best_precision']['threshold']:g}, and the default {d['threshold']:g} gives "
        f"{sep['default']['precision']:.3f}."
    )
    if sep["chosen"] is not None:
        add(
            f" The highest target of {', '.join(f'{t:g}' for t in FALLBACK_TARGETS)} that a "
            f"threshold reaches there is **{sep['reachable_target']:g}**, at "
            f"**{sep['chosen']['threshold']:g}** (the most hits at that precision):"
        )
        add("")
        add("| pairs | " + HEADER[2:].split("\n")[0])
        add("|---|---:|---:|---:|---:|---:|---:|---:|")
        add(f"| separable ({sep['pairs']}) " + _metrics_line(sep["chosen"]))
        add(f"| whole set ({data['pairs']}) " + _metrics_line(sep["chosen_on_whole_set"]))
    add("")
    add("Full table of the cache (all pairs; `calibrate builtin` prints the same):")
    add("")
    add(HEADER)
    for row in data["variants"]["cache"]["table"]:
        if round(row["threshold"] * 100) % 5 == 0:
            add(_metrics_line(row))
    add("")
    add("![calibration](results/semantic-calibration.png)")
    add("")
    add("### Why the default stays where it is")
    add("")
    add(data["default_explanation"])
    add("")
    add("## Wrong hits per category")
    add("")
    add(
        "| category | pairs | median similarity | never a hit (guard / context) | wrong hits at "
        f"{d['threshold']:g} |"
        + (f" wrong hits at {sep['chosen']['threshold']:g} |" if sep["chosen"] else "")
    )
    add("|---|---:|---:|---:|---:|" + ("---:|" if sep["chosen"] else ""))
    for name, info in c["categories"].items():
        if info["same"]:
            continue
        blocked = data["blocked"].get(name, {})
        median = info["median_similarity"]
        cells = [
            f"`{name}`",
            str(info["pairs"]),
            "-" if median is None else f"{median:.3f}",
            f"{blocked.get('guard', 0)} / {blocked.get('context', 0)}",
            str(data["wrong_by_category"]["default"].get(name, 0)),
        ]
        if sep["chosen"]:
            cells.append(str(data["wrong_by_category"]["calibrated"].get(name, 0)))
        add("| " + " | ".join(cells) + " |")
    add("")
    add("## Each design choice, switched off")
    add("")
    add(f"At the default threshold {d['threshold']:g}, all pairs:")
    add("")
    add("| variant | precision | recall | F1 | hit rate | hits | wrong hits |")
    add("|---|---:|---:|---:|---:|---:|---:|")
    for name, variant in data["variants"].items():
        row = variant["default"]
        add(
            f"| {VARIANT_TITLES[name]} | {row['precision']:.3f} | {row['recall']:.3f} | "
            f"{row['f1']:.3f} | {_pct(row['hit_rate'])} | {row['hits']} | {row['false_hits']} |"
        )
    add("")
    add(
        "Each rule of the default guard switched off in turn (the others on) shows what that rule "
        "adds; the held-out set below shows whether it still adds it on sentences it was not "
        "designed from."
    )
    add("")
    add(f"Chat-formatted pairs only ({data['chat_pairs']}), at {d['threshold']:g}:")
    add("")
    add(HEADER.replace("threshold", "variant", 1))
    add(_metrics_line(chat["cache_default"], "last question embedded, context matched"))
    add(_metrics_line(chat["serialised_default"], "serialised prompt embedded"))
    add("")
    add(
        "Embedded whole, two chat prompts that share a long system prompt are nearly the same "
        "text, so every question asked under that system prompt looks like every other one. "
        "With extraction the system prompt and earlier turns are *context*, compared exactly, "
        "and only the last question is compared by meaning: a pair that differs in an earlier "
        "turn is never a hit."
    )
    add("")
    e = data["exact_key_first"]
    add(
        "**Exact key first.** A real `InMemorySemanticCache` stored the "
        f"{e['distinct_prompts']} distinct prompts of the set, then was asked each of them again: "
        f"{e['repeat_hits']} of {e['repeat_lookups']} repeats hit ({e['repeat_exact_hits']} by the "
        f"exact key, {e['repeat_right_answers']} with their own answer), with "
        f"**{e['repeat_embedding_calls_with_exact_first']} embedding calls**. Without the exact "
        f"key each of the {e['repeat_embedding_calls_without']} repeats (100 %) would go through "
        f"the embedding model and a vector search, and that search is not sure to return the "
        f"repeat's own entry: {e['repeats_tied_in_the_cache_search']} of them have another "
        "entry the cache's own search scores exactly as high (same context, a text the guard "
        f"accepts, cosine 1), and {e['repeats_tied_by_another_raw_prompt']} have another "
        "prompt with an identical raw-prompt vector (the peers' search). Exact repeats always "
        "hit, with their own answer, because the key is read first."
    )
    add("")
    h = data["holdout"]
    add("## The held-out set")
    add("")
    add(
        f"`{h['source']}`: {h['pairs']} plain pairs ({h['same_pairs']} same), new sentences in "
        "the plain categories, written and committed before the guard's rules were designed "
        "(provenance in the data README). Small: one pair moves precision by several points."
    )
    add("")
    add(f"At the default threshold {d['threshold']:g}:")
    add("")
    add("| variant | precision | recall | F1 | hit rate | hits | wrong hits |")
    add("|---|---:|---:|---:|---:|---:|---:|")
    for name, row in h["variants"].items():
        add(
            f"| {VARIANT_TITLES[name]} | {row['precision']:.3f} | {row['recall']:.3f} | "
            f"{row['f1']:.3f} | {_pct(row['hit_rate'])} | {row['hits']} | {row['false_hits']} |"
        )
    add("")
    wrong_held = ", ".join(f"`{k}` {v}" for k, v in h["wrong_by_category"].items() if v) or "none"
    add(f"Wrong hits of this cache on the held-out set at {d['threshold']:g}: {wrong_held}.")
    add("")
    add("This cache on the held-out set, by threshold:")
    add("")
    add(HEADER)
    for row in h["table"]:
        if round(row["threshold"] * 100) % 5 == 0:
            add(_metrics_line(row))
    add("")
    add("## The peers' approaches on the same pairs")
    add("")
    r = data["redis"]
    add(
        f"**RedisSemanticCache (langchain-redis)**, reproduced: the raw prompt string is "
        f"embedded (the serialised JSON for a chat model), redisvl returns the single nearest "
        f"entry within `distance_threshold` (default {r['distance_threshold']:g}: a Redis COSINE "
        f"distance, 1 - cosine, so a hit needs similarity >= {r['similarity_equivalent']:g}), "
        "and only then is its `llm_string` compared in Python. Sources: the "
        "[langchain-redis reference]"
        "(https://reference.langchain.com/python/langchain-redis/cache/RedisSemanticCache) "
        '(`distance_threshold=0.2`, "the maximum distance for considering a cache hit"); '
        "`RedisSemanticCache.lookup` in langchain-redis `libs/redis/langchain_redis/cache.py` "
        '(`self.cache.check(vector=vector)`, then `if result.get("metadata", {}).get("llm_string") '
        "== llm_string`); redisvl `SemanticCache.check` (`num_results: int = 1`, a "
        "`VectorRangeQuery` with the distance threshold); Redis "
        "[vector reference](https://redis.io/docs/stack/search/reference/vectors) (COSINE "
        "distance) and redisvl issue [#407](https://github.com/redis/redis-vl-python/issues/407) "
        "(native COSINE units are 0 to 2)."
    )
    add("")
    add(HEADER.replace("threshold", "approach", 1))
    add(_metrics_line(r["pairwise"], "Redis-style (raw prompt, similarity >= 0.8)"))
    add(_metrics_line(data["default"], f"this cache at {d['threshold']:g}"))
    add("")
    t = r["two_models"]
    add(
        f"*Two models in one index.* Model A cached the first prompt of every pair "
        f"({t['model_a_entries']} entries); model B had been asked the second prompt of every "
        f"other pair ({t['model_b_entries']} entries). Each of the {t['queries']} same pairs' "
        f"second prompt is then asked of model A, raw prompts, similarity >= "
        f"{r['similarity_equivalent']:g}: a search filtered by model first (what this cache "
        f"does) finds an entry of A {t['filtered_search_hits']} times "
        f"({t['filtered_search_right']} of them the pair's own first prompt); the nearest one "
        f"of all entries, filtered afterwards, only {t['nearest_one_then_filter_hits']} times. "
        f"**{t['lost_hits']} hits are lost** because model B's entry was nearer."
    )
    add("")
    g = data["gptcache"]
    if g["ran"]:
        versions = ", ".join(f"{name} {version}" for name, version in g["versions"].items())
        add(
            f"**GPTCache itself** ({versions}; sqlite + faiss as in its README; WordLlama "
            "through its `embedding_func` hook; one fresh cache per pair: `put(a)`, `get(b)`). "
            "Its default `similarity_threshold` 0.8 is compared with `SearchDistanceEvaluation`'s "
            "score, `4 - squared L2 distance` (clipped to 0..4), against `0.8 * 4 = 3.2`: on unit "
            "vectors that is cosine >= 0.6, and GPTCache's data manager normalises every vector "
            "before storing or searching (`normalize` in `gptcache/manager/data_manager.py`), so "
            "the two runs below (WordLlama's raw vectors, and vectors normalised by us) must agree."
        )
        add("")
        add(HEADER.replace("threshold", "run", 1))
        for name, run in g["runs"].items():
            label = "unit vectors" if name == "unit_vectors" else "WordLlama's raw vectors"
            add(_metrics_line(run["at_default"], f"GPTCache, {label}"))
        add("")
        add(
            "(`get` and the score recomputed with GPTCache's own search and evaluation agree on "
            "every pair: "
            + ", ".join(str(run["score_agrees_with_get"]) for run in g["runs"].values())
            + ".)"
        )
    else:
        add(f"**GPTCache itself** was not run: {g['why']}.")
    add("")
    add("## How many labelled pairs a calibration needs")
    add("")
    s = data["stability"]
    add(
        f"Stratified random subsets (by category and label) of the separable pairs were "
        f"calibrated at target precision {s['target']:g} and the chosen threshold checked on "
        f"the pairs left out; {RESAMPLES if not data['quick'] else data['resamples']} subsets "
        "per size. Spread = 5th percentile, median, 95th percentile."
    )
    add("")
    add(
        "| pairs | no threshold reached | chosen threshold | held-out precision "
        "| held-out precision below target |"
    )
    add("|---:|---:|---|---|---:|")
    for size, row in s["sizes"].items():
        threshold, held = row["threshold"], row["holdout_precision"]

        def spread(q: dict[str, float] | None, digits: int) -> str:
            return (
                "-"
                if q is None
                else f"{q['p5']:.{digits}f} / {q['median']:.{digits}f} / {q['p95']:.{digits}f}"
            )

        add(
            f"| {size} | {row['no_threshold']} of {row['resamples']} | {spread(threshold, 2)} | "
            f"{spread(held, 3)} | {row['holdout_below_target']} |"
        )
    add("")
    add(data["stability_advice"])
    add("")
    add("## Reproduce")
    add("")
    add("```bash")
    add("./scripts/semantic_report.sh            # this file, results/semantic.json and the PNGs")
    add("langchain-elasticsearch-cache calibrate builtin --embedding wordllama --plot pr.png")
    add(
        "langchain-elasticsearch-cache calibrate my-pairs.jsonl "
        "--embedding myproject.models:embeddings --holdout 0.3"
    )
    add("```")
    add("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def build(
    quick: bool, gptcache_python: str | None, progress: Callable[[str], None]
) -> dict[str, Any]:
    pairs = read_pairs("builtin")
    sizes, resamples = SIZES, RESAMPLES
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
            "default": _row(evaluate(scored[name], DEFAULT_SIMILARITY_THRESHOLD)),
            "table": [_row(row) for row in metrics_table(scored[name], GRID)],
        }
    cache = scored["cache"]
    chat_cache = [item for item in cache if _is_chat(item.pair)]
    chat_whole = [item for item in scored["no_split"] if _is_chat(item.pair)]
    chat_cache_table = metrics_table(chat_cache, GRID)
    chat_whole_table = metrics_table(chat_whole, GRID)
    chat = {
        "cache_default": _row(evaluate(chat_cache, DEFAULT_SIMILARITY_THRESHOLD)),
        "serialised_default": _row(evaluate(chat_whole, DEFAULT_SIMILARITY_THRESHOLD)),
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
            name: _row(evaluate(items, DEFAULT_SIMILARITY_THRESHOLD))
            for name, items in holdout_scored.items()
        },
        "table": [_row(row) for row in metrics_table(holdout_scored["cache"], GRID)],
        "wrong_by_category": {
            name: row.false_hits
            for name, row in by_category(
                holdout_scored["cache"], DEFAULT_SIMILARITY_THRESHOLD
            ).items()
        },
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
    exact = _exact_key_first(pairs, model)
    progress("RedisSemanticCache-style nearest-one-then-filter")
    redis = _redis_style(scored["raw"], model)
    gptcache = _gptcache(pairs, gptcache_python, progress)
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
            "cache": [_row(row) for row in chat_cache_table],
            "serialised": [_row(row) for row in chat_whole_table],
        },
        "calibration": calibration,
        "holdout": holdout,
        "blocked": {name: dict(counts) for name, counts in blocked.items()},
        "wrong_by_category": wrong,
        "exact_key_first": exact,
        "redis": redis,
        "gptcache": gptcache,
        "stability": stability,
    }
    data["default_explanation"] = _default_explanation(data)
    data["stability_advice"] = _stability_advice(data)
    return data


def _default_explanation(data: dict[str, Any]) -> str:
    sep = data["calibration"]["separable"]
    whole = data["calibration"]["whole_set"]
    threshold = data["default"]["threshold"]
    default = data["default"]
    held = data["holdout"]["variants"]["cache"]
    text = (
        f"The default is `DEFAULT_SIMILARITY_THRESHOLD = {threshold:g}` in `domain/semantic.py`. "
        f"With the default hit guard it gives precision {default['precision']:.3f} on the whole "
        f"set (recall {default['recall']:.3f}) and {held['precision']:.3f} on the held-out set; "
        f"on the pairs a threshold can sort the best precision of the grid is "
        f"{sep['best_precision']['precision']:.3f} at {sep['best_precision']['threshold']:g}. "
    )
    chosen = whole["chosen"]
    if chosen is None:
        return text + (
            f"No threshold reaches {whole['target']:g} on the whole set, so no other value is "
            "supported: the default stays, as a cautious starting point. Calibrate your own "
            "model with `calibrate`."
        )
    text += (
        f"Calibrated at precision {whole['target']:g} on the whole set, the grid chooses "
        f"{chosen['threshold']:g} (precision {chosen['precision']:.3f}, recall "
        f"{chosen['recall']:.3f}, {chosen['hits']} hits against {default['hits']}). "
    )
    if abs(chosen["threshold"] - threshold) <= 0.02 + 1e-9:
        return text + (
            "That is within two grid steps of the default, less than the spread of a "
            "calibrated threshold from one sample to the next (below): the data do not "
            "support another value, and the default stays. It is a cautious start for a model "
            "nobody calibrated: calibrate your own model with `calibrate`."
        )
    return text + (
        f"**The data point away from the default** (to {chosen['threshold']:g}); check the "
        "held-out set and the stability study before changing it."
    )


def _stability_advice(data: dict[str, Any]) -> str:
    sizes = data["stability"]["sizes"]
    if not sizes:
        return "No target was reachable, so the stability study did not run."
    widths = {
        size: row["threshold"]["p95"] - row["threshold"]["p5"]
        for size, row in sizes.items()
        if row["threshold"] is not None
    }
    text = ", ".join(f"{size} pairs: {width:.2f}" for size, width in widths.items())
    stable = [size for size, width in widths.items() if width <= STABLE_WIDTH]
    enough = (
        f"the smallest size here whose range is at most {STABLE_WIDTH:g} is **{stable[0]} pairs**"
        if stable
        else f"no size here brings the range under {STABLE_WIDTH:g}: label more than "
        f"{max(int(size) for size in sizes)} pairs"
    )
    return (
        f"Width of the 90 % range of the chosen threshold: {text}; {enough}. Below that, the "
        "threshold moves from one sample to the next and its held-out precision often falls "
        "below the target: it fits the sample. Label pairs from your own traffic, with hard "
        "negatives of each kind you fear, and read the held-out precision "
        "(`calibrate --holdout 0.3`), not the one the threshold was chosen on."
    )


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
    (args.out_dir / "semantic.json").write_text(
        json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    curves = {
        "curves": {
            name: data["variants"][name]["table"]
            for name in ("cache", "no_split", "no_guard", "raw")
        },
        "chat_curves": {
            "last question (this cache)": data["chat_tables"]["cache"],
            "serialised prompt": data["chat_tables"]["serialised"],
        },
        "default": data["default"],
    }
    gpt = data["gptcache"]
    if gpt["ran"]:
        curves["gptcache_curve"] = gpt["runs"]["unit_vectors"]["curve"]
    _plot_curves(curves, args.out_dir / "semantic-curves.png")
    plot_precision_recall(
        [ThresholdMetrics(**_metrics_fields(row)) for row in data["variants"]["cache"]["table"]],
        args.out_dir / "semantic-calibration.png",
        title="This cache on the evaluation set (WordLlama): precision and recall by threshold",
    )
    args.markdown.write_text(_markdown(data), encoding="utf-8")
    progress(f"wrote {args.markdown} and {args.out_dir}/semantic*.{{json,png}}")
    return 0


def _metrics_fields(row: dict[str, Any]) -> dict[str, Any]:
    hits, wrong, missed, pairs = row["hits"], row["false_hits"], row["missed"], row["pairs"]
    right = hits - wrong
    return {
        "threshold": row["threshold"],
        "true_hits": right,
        "false_hits": wrong,
        "missed": missed,
        "true_misses": pairs - right - wrong - missed,
    }


if __name__ == "__main__":
    sys.exit(main())
