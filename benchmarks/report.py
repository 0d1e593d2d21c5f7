"""Results: the JSON document, the targets of the issue, and a Markdown rendering."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .harness import summarize
from .workloads import WorkloadResult

__all__ = ["CONTENDERS", "build", "evaluate_targets", "markdown", "write"]

#: Every workload times these three; some add a reference contender.
CONTENDERS = ("ours", "seed", "raw")


def _ratio(numerator: Mapping[str, Any] | None, denominator: Mapping[str, Any] | None) -> Any:
    if not numerator or not denominator:
        return None
    if numerator.get("status") != "ok" or denominator.get("status") != "ok":
        return None
    bottom = denominator["median_s"]
    return numerator["median_s"] / bottom if bottom > 0 else None


def workload_document(result: WorkloadResult) -> dict[str, Any]:
    contenders = {outcome.name: summarize(outcome) for outcome in result.outcomes}
    ours = contenders.get("ours")
    return {
        "id": result.id,
        "title": result.title,
        "unit": result.unit,
        "params": result.params,
        "setup": result.setup,
        "what": result.contenders,
        "contenders": contenders,
        "ratios": {
            "ours/raw": _ratio(ours, contenders.get("raw")),
            "ours/seed": _ratio(ours, contenders.get("seed")),
        },
        "notes": result.notes,
    }


def _median(workloads: Mapping[str, Any], workload: str, contender: str) -> float | None:
    entry = workloads.get(workload, {}).get("contenders", {}).get(contender)
    if not entry or entry.get("status") != "ok":
        return None
    return float(entry["median_s"])


def _target(
    target_id: str,
    description: str,
    value: float | None,
    threshold: float,
    *,
    at_most: bool,
    unit: str = "x",
    missing: str = "not measured",
) -> dict[str, Any]:
    if value is None:
        return {
            "id": target_id,
            "description": description,
            "value": None,
            "threshold": threshold,
            "met": None,
            "detail": missing,
        }
    met = value <= threshold if at_most else value >= threshold
    if met:
        detail = f"met: {value:.2f}{unit} (target {'<=' if at_most else '>='} {threshold}{unit})"
    elif at_most:
        detail = (
            f"missed by {(value / threshold - 1) * 100:.0f}%: {value:.2f}{unit} "
            f"(target <= {threshold}{unit})"
        )
    else:
        detail = (
            f"missed by {(1 - value / threshold) * 100:.0f}%: {value:.2f}{unit} "
            f"(target >= {threshold}{unit})"
        )
    return {
        "id": target_id,
        "description": description,
        "value": value,
        "threshold": threshold,
        "met": met,
        "detail": detail,
    }


def _quotient(top: float | None, bottom: float | None) -> float | None:
    if top is None or bottom is None or bottom <= 0:
        return None
    return top / bottom


#: The issue's targets that compare two contenders of one workload: ``(workload, id,
#: description, numerator, denominator, threshold, at most)``, the quotient of the two
#: contenders' medians (a throughput target divides the other contender's time by ours).
_PAIR_TARGETS: tuple[tuple[str, str, str, str, str, float, bool], ...] = (
    (
        "llm_lookup_hit",
        "lookup_vs_raw",
        "lookup hit: ours <= 1.10 x raw GET",
        "ours",
        "raw",
        1.10,
        True,
    ),
    (
        "llm_lookup_hit",
        "lookup_vs_seed",
        "lookup hit: ours <= 1.0 x seed",
        "ours",
        "seed",
        1.0,
        True,
    ),
    (
        "llm_update",
        "update_vs_seed",
        "update throughput: ours >= 10 x seed",
        "seed",
        "ours",
        10.0,
        False,
    ),
    (
        "embeddings_mget",
        "mget_vs_raw",
        "mget 1,000: ours <= 1.15 x raw mget",
        "ours",
        "raw",
        1.15,
        True,
    ),
    (
        "embeddings_mset",
        "mset_vs_seed",
        "mset 1,000: ours >= 5 x seed (throughput)",
        "seed",
        "ours",
        5.0,
        False,
    ),
    (
        "async_lookups",
        "async_vs_sequential",
        "1,000 concurrent alookup >= 5 x faster than 1,000 sequential sync lookups",
        "ours_sync_sequential",
        "ours",
        5.0,
        False,
    ),
)


def evaluate_targets(workloads: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, from one run's medians."""
    targets: list[dict[str, Any]] = []
    for workload, target_id, description, top, bottom, threshold, at_most in _PAIR_TARGETS:
        if workload in workloads:
            value = _quotient(
                _median(workloads, workload, top), _median(workloads, workload, bottom)
            )
            targets.append(_target(target_id, description, value, threshold, at_most=at_most))
    scale = sorted(
        (int(key.rsplit("_", 1)[1]), key) for key in workloads if key.startswith("scale_lookup_")
    )
    if len(scale) >= 2:
        (small, small_key), (large, large_key) = scale[0], scale[-1]
        targets.append(
            _target(
                "scale",
                f"lookup at {large:,} entries <= 1.3 x lookup at {small:,} "
                "(the issue asks 1M vs 1k; see --scale-1m)",
                _quotient(
                    _median(workloads, large_key, "ours"), _median(workloads, small_key, "ours")
                ),
                1.3,
                at_most=True,
            )
        )
    return targets


def build(
    name: str,
    mode: str,
    environment: Mapping[str, Any],
    results: Sequence[WorkloadResult],
    duration: float,
) -> dict[str, Any]:
    workloads = {result.id: workload_document(result) for result in results}
    return {
        "name": name,
        "mode": mode,
        "duration_seconds": round(duration, 1),
        "environment": dict(environment),
        "workloads": workloads,
        "targets": evaluate_targets(workloads),
    }


def _time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _cell(entry: Mapping[str, Any] | None) -> str:
    if not entry:
        return "-"
    if entry.get("status") != "ok":
        return "**fails**"
    return f"{_time(entry['median_s'])} ({_time(entry['p95_s'])})"


def _factor(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown(document: Mapping[str, Any]) -> str:
    """The human-readable table: medians (p95), ratios, targets, machine."""
    env = document["environment"]
    lines = [
        f"# Benchmark results: {document['name']} ({document['mode']} mode)",
        "",
        "Median (p95) per sample; ratios are of medians (time ours / time other: "
        "below 1 means ours is faster).",
        "",
        "| Workload | ours | seed | raw | ours/raw | ours/seed |",
        "|---|---|---|---|---|---|",
    ]
    for workload in document["workloads"].values():
        contenders = workload["contenders"]
        ratios = workload["ratios"]
        lines.append(
            f"| {workload['title']} ({workload['unit']}) | {_cell(contenders.get('ours'))} | "
            f"{_cell(contenders.get('seed'))} | {_cell(contenders.get('raw'))} | "
            f"{_factor(ratios['ours/raw'])} | {_factor(ratios['ours/seed'])} |"
        )
    extras = [
        (workload, name, entry)
        for workload in document["workloads"].values()
        for name, entry in workload["contenders"].items()
        if name not in CONTENDERS
    ]
    if extras:
        lines += ["", "Reference contenders (not part of the three-way comparison):", ""]
        for workload, name, entry in extras:
            contenders = workload["contenders"]
            against_ours = _factor(_ratio(contenders.get("ours"), entry))
            seed_against = _factor(_ratio(contenders.get("seed"), entry))
            lines.append(
                f"- {workload['title']}: `{name}` ({workload['what'].get(name, '')}) "
                f"{_cell(entry)}; ours/{name} = {against_ours}, seed/{name} = {seed_against}"
            )
    lines += ["", "## Targets", "", "| Target | Result |", "|---|---|"]
    for target in document["targets"]:
        detail = target["detail"]
        lines.append(
            f"| {target['description']} | {'**' if target['met'] is False else ''}"
            f"{detail}{'**' if target['met'] is False else ''} |"
        )
    notes = [
        (workload["title"], note)
        for workload in document["workloads"].values()
        for note in workload["notes"]
    ]
    setups = [
        (workload["title"], workload["setup"])
        for workload in document["workloads"].values()
        if workload["setup"]
    ]
    if notes or setups:
        lines += ["", "## Notes", ""]
        for title, note in notes:
            lines.append(f"- {title}: {note}")
        for title, setup in setups:
            shown = ", ".join(f"{key}={value}" for key, value in setup.items())
            lines.append(f"- {title}: setup {shown}")
    lines += ["", "## Machine", ""]
    for key, value in env.items():
        lines.append(f"- {key}: {value}")
    lines += ["", f"Run took {document['duration_seconds']} s.", ""]
    return "\n".join(lines)


def write(document: Mapping[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{document['name']}.json"
    md_path = directory / f"{document['name']}.md"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    tmp.replace(json_path)
    md_path.write_text(markdown(document))
    return json_path, md_path
