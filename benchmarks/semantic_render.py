"""The semantic quality report rendered from its JSON: ``benchmarks/SEMANTIC.md`` and the
two PNGs. Nothing here measures; the prose is ``benchmarks/templates/semantic.md``, whose
fragments this module fills with the figures of ``benchmarks/results/semantic.json``.

Re-render without measuring: ``python -m benchmarks.render`` (every committed result).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langchain_elasticsearch_cache.domain.semantic import DEFAULT_GUARD_RULES
from langchain_elasticsearch_cache.evaluation import ThresholdMetrics, plot_precision_recall

from .semantic_settings import FALLBACK_TARGETS, STABLE_WIDTH

__all__ = [
    "TEMPLATE",
    "VARIANT_TITLES",
    "default_explanation",
    "fragments",
    "markdown",
    "stability_advice",
    "write",
    "write_plots",
]

TEMPLATE = Path(__file__).resolve().parent / "templates" / "semantic.md"
_MARKER = re.compile(r"^<!-- fragment: (\w+) -->\n", re.MULTILINE)

VARIANT_TITLES = {
    "cache": "this cache: last question embedded, context must match, default hit guard",
    "no_split": "without extraction: the serialised prompt embedded (with the guard)",
    "numbers_only": "with the number rule only (the default guard before issue 11)",
    "no_guard": "without any hit guard",
    "raw": "raw prompt, no guard (what RedisSemanticCache and GPTCache compare)",
    **{
        f"without_{rule}": f"default guard without its `{rule}` rule"
        for rule in DEFAULT_GUARD_RULES
    },
}
HEADER = (
    "| threshold | precision | recall | F1 | hit rate | hits | wrong hits |\n"
    "|---:|---:|---:|---:|---:|---:|---:|"
)


@functools.cache
def fragments(path: Path = TEMPLATE) -> dict[str, str]:
    """The template's fragments by name: each runs from its marker to the next one, its
    trailing newlines dropped (the text before the first marker is a comment)."""
    parts = _MARKER.split(path.read_text(encoding="utf-8"))
    return {name: text.rstrip("\n") for name, text in zip(parts[1::2], parts[2::2], strict=True)}


def _fill(name: str, **values: Any) -> str:
    return fragments()[name].format_map(values)


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _metrics_line(row: Mapping[str, Any], label: str | None = None) -> str:
    first = f"{row['threshold']:g}" if label is None else label
    return (
        f"| {first} | {row['precision']:.3f} | {row['recall']:.3f} | "
        f"{row['f1']:.3f} | {_pct(row['hit_rate'])} | {row['hits']} | {row['false_hits']} |"
    )


def _every_fifth(rows: list[dict[str, Any]]) -> str:
    return "\n".join(_metrics_line(row) for row in rows if round(row["threshold"] * 100) % 5 == 0)


def _variant_rows(rows: Mapping[str, Mapping[str, Any]]) -> str:
    return "\n".join(_metrics_line(row, VARIANT_TITLES[name]) for name, row in rows.items())


def _category_table(data: Mapping[str, Any]) -> str:
    calibration = data["calibration"]
    chosen = calibration["separable"]["chosen"]
    threshold = data["default"]["threshold"]
    lines = [
        "| category | pairs | median similarity | never a hit (guard / context) | wrong hits at "
        f"{threshold:g} |" + (f" wrong hits at {chosen['threshold']:g} |" if chosen else ""),
        "|---|---:|---:|---:|---:|" + ("---:|" if chosen else ""),
    ]
    for name, info in calibration["categories"].items():
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
        if chosen:
            cells.append(str(data["wrong_by_category"]["calibrated"].get(name, 0)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _gptcache_section(gptcache: Mapping[str, Any]) -> str:
    if not gptcache["ran"]:
        return _fill("gptcache_skipped", why=gptcache["why"])
    runs = gptcache["runs"]
    return _fill(
        "gptcache_ran",
        versions=", ".join(f"{name} {version}" for name, version in gptcache["versions"].items()),
        run_header=HEADER.replace("threshold", "run", 1),
        runs="\n".join(
            _metrics_line(
                run["at_default"],
                "GPTCache, "
                + ("unit vectors" if name == "unit_vectors" else "WordLlama's raw vectors"),
            )
            for name, run in runs.items()
        ),
        agreement=", ".join(str(run["score_agrees_with_get"]) for run in runs.values()),
    )


def _spread(quantiles: Mapping[str, float] | None, digits: int) -> str:
    if quantiles is None:
        return "-"
    return " / ".join(f"{quantiles[key]:.{digits}f}" for key in ("p5", "median", "p95"))


def _stability_rows(sizes: Mapping[str, Mapping[str, Any]]) -> str:
    return "".join(
        f"\n| {size} | {row['no_threshold']} of {row['resamples']} | "
        f"{_spread(row['threshold'], 2)} | {_spread(row['holdout_precision'], 3)} | "
        f"{row['holdout_below_target']} |"
        for size, row in sizes.items()
    )


def _guard_rule_table(rules: Mapping[str, Mapping[str, int]] | None) -> str:
    if not rules:
        return "(not measured in this run)"
    lines = [
        "| rule | paraphrases refused at the default threshold (by this rule alone) | "
        "different pairs refused there (by this rule alone) | paraphrases refused, all pairs "
        "| different pairs refused, all pairs |",
        "|---|---:|---:|---:|---:|",
    ]
    order = [rule for rule in DEFAULT_GUARD_RULES if rule in rules]
    for rule in order + sorted(set(rules) - set(order)):
        row = rules[rule]
        lines.append(
            f"| `{rule}` | {row['same_at']} ({row['same_only_at']}) | "
            f"{row['different_at']} ({row['different_only_at']}) | {row['same_all']} | "
            f"{row['different_all']} |"
        )
    return "\n".join(lines)


def markdown(data: Mapping[str, Any]) -> str:
    """``benchmarks/SEMANTIC.md`` for the report ``data`` (``results/semantic.json``)."""
    calibration = data["calibration"]
    sep = calibration["separable"]
    whole = calibration["whole_set"]
    if whole["chosen"] is None:
        whole_set = _fill("whole_set_unreachable", target=whole["target"], reason=whole["reason"])
    else:
        whole_set = _fill("whole_set_chosen", target=whole["target"], chosen=whole["chosen"])
    separable_chosen = ""
    if sep["chosen"] is not None:
        separable_chosen = "\n" + _fill(
            "separable_chosen",
            sep=sep,
            pairs=data["pairs"],
            targets=", ".join(f"{target:g}" for target in FALLBACK_TARGETS),
            separable_row=_metrics_line(sep["chosen"]),
            whole_row=_metrics_line(sep["chosen_on_whole_set"]),
        )
    chat = data["chat"]
    holdout = data["holdout"]
    redis = data["redis"]
    return (
        _fill(
            "report",
            **data,
            different_pairs=data["pairs"] - data["same_pairs"],
            quick_note=_fill("quick_note") if data["quick"] else "",
            default_hit_rate=_pct(data["default"]["hit_rate"]),
            numbers=data["variants"]["numbers_only"]["default"],
            held=holdout["variants"],
            whole_set=whole_set,
            beyond=", ".join(f"`{name}`" for name in calibration["beyond_any_threshold"]) or "none",
            beats="beats" if chat["extraction_beats_serialised"] else "does not beat",
            header=HEADER,
            default_row=_metrics_line(data["default"]),
            sep=sep,
            separable_chosen=separable_chosen,
            cache_table=_every_fifth(data["variants"]["cache"]["table"]),
            category_table=_category_table(data),
            variant_table=_variant_rows(
                {name: variant["default"] for name, variant in data["variants"].items()}
            ),
            variant_header=HEADER.replace("threshold", "variant", 1),
            chat_table="\n".join(
                [
                    _metrics_line(chat["cache_default"], "last question embedded, context matched"),
                    _metrics_line(chat["serialised_default"], "serialised prompt embedded"),
                ]
            ),
            exact=data["exact_key_first"],
            holdout_variant_table=_variant_rows(holdout["variants"]),
            guard_rules_main=_guard_rule_table(data.get("guard_rules", {}).get("main")),
            guard_rules_holdout=_guard_rule_table(data.get("guard_rules", {}).get("holdout")),
            holdout_wrong=", ".join(
                f"`{name}` {count}" for name, count in holdout["wrong_by_category"].items() if count
            )
            or "none",
            holdout_table=_every_fifth(holdout["table"]),
            approach_header=HEADER.replace("threshold", "approach", 1),
            redis_table="\n".join(
                [
                    _metrics_line(redis["pairwise"], "Redis-style (raw prompt, similarity >= 0.8)"),
                    _metrics_line(
                        data["default"], f"this cache at {data['default']['threshold']:g}"
                    ),
                ]
            ),
            two=redis["two_models"],
            gptcache_section=_gptcache_section(data["gptcache"]),
            stability_rows=_stability_rows(data["stability"]["sizes"]),
        )
        + "\n"
    )


def default_explanation(data: Mapping[str, Any]) -> str:
    """Why the default threshold stays (or should move), from the calibrations in ``data``."""
    calibration = data["calibration"]
    whole = calibration["whole_set"]
    default = data["default"]
    chosen = whole["chosen"]
    sentences = [
        _fill(
            "explanation",
            threshold=default["threshold"],
            default=default,
            held=data["holdout"]["variants"]["cache"],
            sep=calibration["separable"],
        )
    ]
    if chosen is None:
        sentences.append(_fill("explanation_unreachable", whole=whole))
        return " ".join(sentences)
    sentences.append(_fill("explanation_calibrated", whole=whole, chosen=chosen, default=default))
    if abs(chosen["threshold"] - default["threshold"]) <= 0.02 + 1e-9:
        sentences.append(_fill("explanation_default_stays"))
    else:
        sentences.append(_fill("explanation_moves", chosen=chosen))
    return " ".join(sentences)


def stability_advice(data: Mapping[str, Any]) -> str:
    """How many labelled pairs a stable calibration took, from the stability study."""
    sizes = data["stability"]["sizes"]
    if not sizes:
        return _fill("stability_not_run")
    widths = {
        size: row["threshold"]["p95"] - row["threshold"]["p5"]
        for size, row in sizes.items()
        if row["threshold"] is not None
    }
    stable = [size for size, width in widths.items() if width <= STABLE_WIDTH]
    enough = (
        _fill("stability_stable", width=STABLE_WIDTH, size=stable[0])
        if stable
        else _fill(
            "stability_unstable", width=STABLE_WIDTH, largest=max(int(size) for size in sizes)
        )
    )
    return _fill(
        "stability_advice",
        widths=", ".join(f"{size} pairs: {width:.2f}" for size, width in widths.items()),
        enough=enough,
    )


# --------------------------------------------------------------------------- plots


def _plot_curves(figures: Mapping[str, Any], path: Path) -> None:
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


def _metrics_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    hits, wrong, missed, pairs = row["hits"], row["false_hits"], row["missed"], row["pairs"]
    right = hits - wrong
    return {
        "threshold": row["threshold"],
        "true_hits": right,
        "false_hits": wrong,
        "missed": missed,
        "true_misses": pairs - right - wrong - missed,
    }


def write_plots(data: Mapping[str, Any], out_dir: Path) -> None:
    """``semantic-curves.png`` and ``semantic-calibration.png`` under ``out_dir``."""
    curves: dict[str, Any] = {
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
    _plot_curves(curves, out_dir / "semantic-curves.png")
    plot_precision_recall(
        [ThresholdMetrics(**_metrics_fields(row)) for row in data["variants"]["cache"]["table"]],
        out_dir / "semantic-calibration.png",
        title="This cache on the evaluation set (WordLlama): precision and recall by threshold",
    )


def write(data: Mapping[str, Any], out_dir: Path, markdown_path: Path) -> None:
    """The PNGs under ``out_dir`` and the Markdown at ``markdown_path``, from ``data``."""
    write_plots(data, out_dir)
    markdown_path.write_text(markdown(data), encoding="utf-8")
