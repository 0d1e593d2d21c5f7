"""Markdown rendered from the benchmarks' saved JSON, without measuring anything.

``python -m benchmarks.render`` re-renders every committed result: each
``benchmarks/results/<name>.json`` of a known kind into ``<name>.md`` (the comparison of
``benchmarks.run``, the storage and class benchmarks) and ``results/semantic.json`` into
``benchmarks/SEMANTIC.md``; ``--check`` only compares and fails on a difference. The
benchmarks write their Markdown with the same functions.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["class_markdown", "main", "rendered", "storage_markdown"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def storage_markdown(document: Mapping[str, Any]) -> str:
    """``results/semantic-storage*.md``: the tables of ``benchmarks.semantic``."""
    recall_part = document["recall"]
    lines = [
        f"# Semantic storage benchmark ({document['mode']})",
        "",
        f"Data: {recall_part['data']}; {recall_part['entries']} entries over "
        f"{recall_part['models']} models, {recall_part['queries']} queries, k={recall_part['k']}, "
        f"num_candidates={recall_part['num_candidates']}.",
        "",
        "## HNSW variants: recall against exact search at the threshold",
        "",
        "| variant | threshold | expected results | recall | false hits | median s |",
        "|---|---|---|---|---|---|",
    ]
    for variant, values in recall_part["variants"].items():
        if values["status"] != "ok":
            lines.append(f"| {variant} | - | - | {values['status']}: {values['reason']} | - | - |")
            continue
        for threshold, row in values["thresholds"].items():
            shown = "n/a" if row["recall"] is None else f"{row['recall']:.4f}"
            lines.append(
                f"| {variant} | {threshold} | {row['expected_results']} | {shown} | "
                f"{row['false_hits']} | {row['median_s']:.5f} |"
            )
    sweep = recall_part["variants"].get("hnsw", {}).get("num_candidates_sweep", {})
    if sweep:
        lines += [
            "",
            "### hnsw: recall by num_candidates",
            "",
            "| num_candidates | threshold | recall | median s |",
            "|---|---|---|---|",
        ]
        for count, rows in sweep.items():
            for threshold, row in rows.items():
                shown = "n/a" if row["recall"] is None else f"{row['recall']:.4f}"
                lines.append(f"| {count} | {threshold} | {shown} | {row['median_s']:.5f} |")
    lines += [
        "",
        "## nearest() against the bare client's knn search",
        "",
        "| entries | ours median s | raw median s | ours p95 s | raw p95 s | ours/raw |",
        "|---|---|---|---|---|---|",
    ]
    for entry in document["latency"]:
        ours, raw = entry["contenders"]["ours"], entry["contenders"]["raw"]
        ratio = "n/a" if entry["ours/raw"] is None else f"{entry['ours/raw']:.3f}"
        lines.append(
            f"| {entry['entries']} | {ours.get('median_s', 0):.5f} | {raw.get('median_s', 0):.5f}"
            f" | {ours.get('p95_s', 0):.5f} | {raw.get('p95_s', 0):.5f} | {ratio} |"
        )
    lines += ["", "## Targets", ""]
    lines += [f"- {t['description']}: {t['detail']}" for t in document["targets"]]
    environment = document["environment"]
    lines += ["", "## Machine", "", "```", json.dumps(environment, indent=2), "```", ""]
    return "\n".join(lines)


def _ms(stats: Mapping[str, Any], field: str) -> str:
    return f"{1000 * stats[field]:.2f}" if stats.get("status") == "ok" else stats.get("status", "-")


def class_markdown(document: Mapping[str, Any]) -> str:
    """``results/semantic-class*.md``: the tables of ``benchmarks.semantic_cache``."""
    calls = document["embedding_calls"]
    workload = calls["workload"]
    lines = [
        f"# Semantic cache class benchmark ({document['mode']})",
        "",
        "## Embedding calls per operation (in-memory classes, counting wrapper)",
        "",
        f"Workload: {workload['distinct_prompts']} distinct prompts (miss + update), "
        f"{workload['exact_repeats']} exact repeats, {workload['paraphrases']} paraphrases; "
        f"{workload['embedding']}; threshold {workload['threshold']}.",
        "",
        "| flow | per miss cycle | miss lookup | miss update | per exact repeat | "
        "per paraphrase | total | answered (repeats / paraphrases) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, flow in calls["flows"].items():
        per = flow["per_operation"]
        answered = flow["answered"]
        lines.append(
            f"| {name} | {per['miss_cycle']:.2f} | {per['miss_lookup']:.2f} | "
            f"{per['miss_update']:.2f} | {per['exact_repeat']:.2f} | {per['paraphrase']:.2f} | "
            f"{flow['total_calls']} | {answered['exact_repeat']} / {answered['paraphrase']} |"
        )
    lines += [
        "",
        f"ours/peer: {calls['ours/peer_miss_cycle']:.3f} per miss cycle, "
        f"{calls['ours/peer_total']:.3f} over the whole workload.",
        "",
    ]
    latency = document["lookup_latency"]
    lines += [
        f"## Semantic lookup through the class vs the bare kNN request ({latency['entries']} "
        "entries)",
        "",
        f"Data: {latency['data']}; embedding: {latency['embedding']}; threshold "
        f"{latency['threshold']}, k={latency['k']}. Medians in ms.",
        "",
        "| path | ours | raw kNN | raw GET + kNN | ours/raw kNN | ours/raw GET+kNN | "
        "answered (ours / raw kNN) |",
        "|---|---|---|---|---|---|---|",
    ]
    for path, values in latency["paths"].items():
        stats = values["contenders"]
        ratio = values["ours/raw_knn"]
        ratio2 = values["ours/raw_get_knn"]
        lines.append(
            f"| {path} | {_ms(stats['ours'], 'median_s')} | {_ms(stats['raw_knn'], 'median_s')} "
            f"| {_ms(stats['raw_get_knn'], 'median_s')} | "
            f"{'n/a' if ratio is None else f'{ratio:.3f}'} | "
            f"{'n/a' if ratio2 is None else f'{ratio2:.3f}'} | "
            f"{values['answered']['ours']} / {values['answered']['raw_knn']} |"
        )
    lines += ["", "## Targets", ""]
    lines += [f"- {t['description']}: {t['detail']}" for t in document["targets"]]
    environment = document["environment"]
    lines += ["", "## Machine", "", "```", json.dumps(environment, indent=2), "```", ""]
    return "\n".join(lines)


def _renderer(document: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], str] | None:
    if "workloads" in document:
        from .report import markdown

        return markdown
    if "recall" in document:
        return storage_markdown
    if "embedding_calls" in document:
        return class_markdown
    if "calibration" in document:
        from .semantic_render import markdown as semantic_markdown

        return semantic_markdown
    return None  # e.g. streaming.json: JSON only


def rendered(json_path: Path) -> tuple[Path, str] | None:
    """``(Markdown path, text)`` for a saved result, or None when it has no Markdown."""
    document = json.loads(json_path.read_text(encoding="utf-8"))
    render = _renderer(document)
    if render is None:
        return None
    if "calibration" in document:  # the semantic quality report
        return json_path.parents[1] / "SEMANTIC.md", render(document)
    return json_path.with_suffix(".md"), render(document)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.render", description=__doc__)
    parser.add_argument(
        "results", nargs="*", type=Path, help="JSON results (default: benchmarks/results/*.json)"
    )
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a change")
    arguments = parser.parse_args(argv)
    differ = []
    for path in arguments.results or sorted(RESULTS.glob("*.json")):
        target = rendered(path)
        if target is None:
            continue
        markdown_path, text = target
        current = markdown_path.read_text(encoding="utf-8") if markdown_path.exists() else None
        if current == text:
            print(f"unchanged {markdown_path}", file=sys.stderr)
        elif arguments.check:
            differ.append(markdown_path)
            print(f"differs   {markdown_path} (from {path})", file=sys.stderr)
        else:
            markdown_path.write_text(text, encoding="utf-8")
            print(f"wrote     {markdown_path} (from {path})", file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
