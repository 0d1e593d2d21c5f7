"""Rendering of the verified-cache benchmark: Markdown from a template, PNG plots.

Measurement is :mod:`benchmarks.verified` (JSON under ``benchmarks/results/``); this
module only reads that JSON. The template (``benchmarks/templates/verified.md``) holds the
prose with ``{{ name }}`` placeholders; every placeholder must have a value and every value
a placeholder, or rendering fails (so the report never shows a stale or missing figure).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["fill_template", "render_all", "render_markdown"]

TEMPLATE = Path(__file__).parent / "templates" / "verified.md"
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
SPLIT_LABELS = {"heldout": "held-out", "design": "design"}


def _label(case: str) -> str:
    """``heldout+varied`` -> ``held-out, varied wording``."""
    split, _, wording = case.partition("+")
    name = SPLIT_LABELS.get(split, split)
    return f"{name}, {wording} wording" if wording else name


def fill_template(template: str, values: dict[str, str]) -> str:
    """``{{ name }}`` replaced by ``values[name]``; a missing or unused value is an error."""
    names = set(_PLACEHOLDER.findall(template))
    missing = names - values.keys()
    unused = values.keys() - names
    if missing or unused:
        raise ValueError(
            f"template and values disagree: no value for {sorted(missing)}, "
            f"no placeholder for {sorted(unused)}"
        )
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def _ci(ci: Sequence[float]) -> str:
    return f"[{100 * ci[0]:.2f}, {100 * ci[1]:.2f}]%"


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def _data_table(data: dict[str, Any]) -> str:
    rows = [
        "| part | groups | prompts | families of near-duplicates | paraphrase sets | "
        "near-duplicate groups | unrelated prompts | near-duplicate groups by variation |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for split, d in data["data"].items():
        kinds = d["kinds"]
        rows.append(
            f"| {_label(split)} | {d['groups']} | {d['prompts']} | {d['families']} | "
            f"{kinds.get('paraphrase', 0)} | {kinds.get('near', 0)} | "
            f"{kinds.get('unrelated', 0)} | {_kinds(d['variations'])} |"
        )
    return "\n".join(rows)


def _similarity_table(data: dict[str, Any]) -> str:
    rows = [
        "| model | part | pairs | n | 5% | median | 95% | max |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "same_answer": "same answer (paraphrases)",
        "near_duplicate": "near-duplicates, different answer",
        "other": "all other pairs",
    }
    for model, m in data["models"].items():
        for split, s in m["splits"].items():
            if s["similarities"] is None:
                continue
            for kind, label in labels.items():
                q = s["similarities"][kind]
                rows.append(
                    f"| {model} | {_label(split)} | {label} | {q['n']} | {q['p05']:.3f} "
                    f"| {q['p50']:.3f} | {q['p95']:.3f} | {q['max']:.3f} |"
                )
    return "\n".join(rows)


def _static_tables(data: dict[str, Any]) -> str:
    out = []
    default = f"{data['default_threshold']:g}"
    for m in data["models"].values():
        for split, s in m["splits"].items():
            out.append(f"**{m['label']}, {_label(split)} part** (pooled over the seeds)\n")
            out.append(
                "| threshold | requests | LLM calls | exact hits | semantic hits | hit rate | "
                "wrong (distinct prompt, answer pairs) | error / served [95% CI] | "
                "error / semantic hits [95% CI] | wrong answers by variation |"
            )
            out.append("|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
            for threshold, row in s["static"].items():
                p = row["pooled"]
                mark = " (default)" if threshold == default else ""
                out.append(
                    f"| {threshold}{mark} | {p['requests']} | {p['llm_calls']} | "
                    f"{p['exact_hits']} | {p['semantic_hits']} | {_pct(p['hit_rate'])} | "
                    f"{p['wrong']} ({p['wrong_distinct']}) | "
                    f"{_pct(p['error_rate'], 2)} {_ci(p['error_ci'])} | "
                    f"{_pct(p['semantic_error_rate'], 2)} {_ci(p['semantic_error_ci'])} | "
                    f"{_kinds(p['wrong_by_kind'])} |"
                )
            out.append("")
    return "\n".join(out).rstrip()


def _verified_tables(data: dict[str, Any]) -> str:
    if not data["verified_available"]:
        return (
            "_Not measured: the verified cache is "
            f"{data['verified_unavailable_reason']}. Once it lands, the same command fills "
            "this section._"
        )
    out = []
    for m in data["models"].values():
        for split, s in m["splits"].items():
            out.append(f"**{m['label']}, {_label(split)} part**\n")
            out.append(
                "| delta | floor | evidence | requests | LLM calls | exact hits | semantic hits | "
                "hit rate | "
                "wrong (distinct prompt, answer pairs) "
                "| error / served [95% CI] | <= delta (point / CI upper) | "
                "error / semantic hits [95% CI] | <= delta (point / CI upper) | "
                "best static at the same error: hit rate (thresholds) | "
                "best static within delta, chosen in hindsight: hit rate (thresholds) |"
            )
            out.append("|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|---|---|---|")
            for v in s["verified"].values():
                p = v["pooled"]
                same = [r["best_static_same_error"] for r in v["runs"].values()]
                within = [r["best_static_within_delta"] for r in v["runs"].values()]
                out.append(
                    f"| {v['delta']:g} | {v['floor']:g} | {_evidence(v)} | {p['requests']} | "
                    f"{p['llm_calls']} | "
                    f"{p['exact_hits']} | "
                    f"{p['semantic_hits']} | {_pct(p['hit_rate'])} | "
                    f"{p['wrong']} ({p['wrong_distinct']}) | "
                    f"{_pct(p['error_rate'], 2)} {_ci(p['error_ci'])} | "
                    f"{_yes(v['within_delta'])} / {_yes(v['ci_upper_within_delta'])} | "
                    f"{_pct(p['semantic_error_rate'], 2)} {_ci(p['semantic_error_ci'])} | "
                    f"{_yes(v['semantic_within_delta'])} / "
                    f"{_yes(v['semantic_ci_upper_within_delta'])} | "
                    f"{_best(same)} | {_best(within)} |"
                )
            out.append("")
            out.append(_per_seed(s))
            out.append("")
    return "\n".join(out).rstrip()


def _evidence(v: dict[str, Any]) -> str:
    """The evidence rule of a verified run; runs from before the pool had none."""
    return str(v.get("evidence", "none"))


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def _best(rows: Sequence[dict[str, Any] | None]) -> str:
    if any(r is None for r in rows):
        return "none reaches it on some stream"
    known = [r for r in rows if r is not None]
    rate = _mean([r["hit_rate"] for r in known])
    thresholds = ", ".join(f"{r['threshold']:g}" for r in known)
    return f"{_pct(rate)} ({thresholds})"


def _per_seed(s: dict[str, Any]) -> str:
    rows = [
        "| delta | floor | evidence | seed | hit rate | error / served | best static at the "
        "same error: threshold, hit rate |",
        "|---:|---:|---|---:|---:|---:|---|",
    ]
    for v in s["verified"].values():
        for seed, r in v["runs"].items():
            best = r["best_static_same_error"]
            shown = "none" if best is None else f"{best['threshold']:g}, {_pct(best['hit_rate'])}"
            rows.append(
                f"| {v['delta']:g} | {v['floor']:g} | {_evidence(v)} | {seed} | "
                f"{_pct(r['hit_rate'])} | "
                f"{_pct(r['error_rate'], 2)} | "
                f"{shown} |"
            )
    return "\n".join(rows)


def _model_checks(data: dict[str, Any]) -> str:
    lines = []
    for m in data["models"].values():
        check = m.get("reference_check")
        if check is None:
            continue
        pairs = "; ".join(
            f"sentences {pair}: {v['ours']:.4f} (published {v['published']:.4f})"
            for pair, v in check["pairs"].items()
        )
        lines.append(
            f"- {m['label']}: the example of the {check['source']} "
            f"({' / '.join(repr(t) for t in check['sentences'])}): {pairs}; largest "
            f"difference {check['max_difference']:.1e} (tolerance {check['tolerance']:g}); "
            f"a second embedding of the same text is "
            f"{'identical' if check['deterministic'] else '**different**'}; lengths within "
            f"{check['max_norm_error']:.0e} of 1. "
            f"Check {'passed' if check['ok'] else '**failed**'}."
        )
    return "\n".join(lines) or "_No model with a published reference in this run._"


def _observations_needed(data: dict[str, Any]) -> str:
    needed = data.get("observations_needed")
    if not needed:
        return "_Not measured (no verified cache in this run)._"
    pooled = data.get("pooled_observations_needed") or {}
    similarities = list(next(iter(needed.values())))
    rows = [
        "| delta | "
        + " | ".join(f"one entry alone, at similarity {s}" for s in similarities)
        + " | the pool (all entries), at any similarity |",
        "|---:|" + "---:|" * (len(similarities) + 1),
    ]
    for delta, row in needed.items():
        cells = [("more than the limit" if n is None else str(n)) for n in row.values()]
        cells.append(str(pooled.get(delta, "not measured")))
        rows.append(f"| {delta} | {' | '.join(cells)} |")
    return "\n".join(rows)


def _plots(data: dict[str, Any], names: Sequence[str]) -> str:
    return "\n\n".join(
        f"![{data['models'][model]['label']}: error rate against hit rate](results/{name})"
        for model, name in zip(data["models"], names, strict=True)
    )


def _environment(data: dict[str, Any]) -> str:
    env = data["environment"]
    return ", ".join(f"{k} {v}" for k, v in env.items())


def _settings(data: dict[str, Any]) -> str:
    s = data["settings"]
    return (
        f"{s['requests']} requests per stream, seeds {', '.join(map(str, s['seeds']))} "
        f"(one stream per seed and part, the same streams for every cache), Zipf exponent "
        f"{s['zipf']:g}; static thresholds {', '.join(f'{t:g}' for t in s['thresholds'])}; "
        f"deltas {', '.join(f'{d:g}' for d in s['deltas'])}; confidence intervals "
        f"{100 * s['confidence']:g}% exact (Clopper-Pearson), on the counts pooled over "
        "the seeds"
    )


def _verified_status(data: dict[str, Any]) -> str:
    if data["verified_available"]:
        return "measured (the installed library's semantic cache takes `max_error_rate`)."
    return f"**{data['verified_unavailable_reason']}**."


def _findings_for(data: dict[str, Any], m: dict[str, Any], split: str) -> list[str]:
    lines = []
    s = m["splits"][split]
    default = s["static"].get(f"{data['default_threshold']:g}")
    if default is not None:
        p = default["pooled"]
        lines.append(
            f"- {m['label']}, {_label(split)} part, default threshold "
            f"{data['default_threshold']:g}: hit rate {_pct(p['hit_rate'])}, "
            f"{p['semantic_hits']} semantic hits, error {_pct(p['error_rate'], 2)} of "
            f"served answers ({p['wrong']} wrong)."
        )
    safe = [
        (t, r["pooled"])
        for t, r in s["static"].items()
        if r["pooled"]["wrong"] == 0 and r["pooled"]["served"]
    ]
    if safe:
        t, p = max(safe, key=lambda item: item[1]["hit_rate"])
        lines.append(
            f"- {m['label']}, {_label(split)} part: the lowest threshold of the grid "
            f"with no wrong answer on any stream is {t} (hit rate {_pct(p['hit_rate'])}); "
            "it is chosen in hindsight, knowing the answers."
        )
    for v in s["verified"].values():
        p = v["pooled"]
        same = [r["best_static_same_error"] for r in v["runs"].values()]
        within = [r["best_static_within_delta"] for r in v["runs"].values()]
        lines.append(
            f"- {m['label']}, {_label(split)} part, verified delta {v['delta']:g} "
            f"(floor {v['floor']:g}, evidence {_evidence(v)}): error "
            f"{_pct(p['error_rate'], 2)} {_ci(p['error_ci'])} "
            f"({'within' if v['within_delta'] else 'above'} delta), on semantic hits "
            f"{_pct(p['semantic_error_rate'], 2)} {_ci(p['semantic_error_ci'])}, hit rate "
            f"{_pct(p['hit_rate'])} ({p['semantic_hits']} semantic hits); the best static "
            f"threshold at the same realised error on the same streams: {_best(same)}; "
            f"within delta, chosen in hindsight: {_best(within)}."
        )
    return lines


def _findings(data: dict[str, Any]) -> str:
    """The held-out cases of every model (the design ones when no held-out was run)."""
    lines = []
    for m in data["models"].values():
        cases = [c for c in m["splits"] if c.startswith("heldout")] or list(m["splits"])
        for split in cases:
            lines += _findings_for(data, m, split)
    return "\n".join(lines)


def render_markdown(data: dict[str, Any], plot_names: Sequence[str], command: str) -> str:
    values = {
        "command": command,
        "environment": _environment(data),
        "seconds": f"{data['seconds']:g}",
        "settings": _settings(data),
        "verified_status": _verified_status(data),
        "data_table": _data_table(data),
        "similarity_table": _similarity_table(data),
        "model_checks": _model_checks(data),
        "observations_needed": _observations_needed(data),
        "findings": _findings(data),
        "static_tables": _static_tables(data),
        "verified_tables": _verified_tables(data),
        "plots": _plots(data, plot_names),
    }
    return fill_template(TEMPLATE.read_text(encoding="utf-8"), values)


def _write_atomically(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def plot_model(data: dict[str, Any], model: str, path: Path) -> None:
    """Error rate against hit rate for one model: the static thresholds' curve and the
    verified points (with their confidence intervals), one column per part; the top row
    counts every answer served from the cache, the bottom row only the semantic hits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = data["models"][model]
    splits = list(m["splits"])
    fig, axes = plt.subplots(2, len(splits), figsize=(6.5 * len(splits), 9), squeeze=False)
    rows = (
        ("hit_rate", "error_rate", "error_ci", "hit rate (exact + semantic) / requests",
         "wrong / answers served"),
        ("semantic_hit_rate", "semantic_error_rate", "semantic_error_ci",
         "semantic hits / requests", "wrong / semantic hits"),
    )  # fmt: skip
    for col, split in enumerate(splits):
        s = m["splits"][split]
        for row, (hx, ey, ci, xlabel, ylabel) in enumerate(rows):
            ax = axes[row][col]
            points = [(t, r["pooled"]) for t, r in s["static"].items()]
            ax.plot(
                [100 * p[hx] for _, p in points],
                [100 * (p[ey] or 0.0) for _, p in points],
                "o-",
                color="tab:gray",
                label="static threshold",
            )
            for t, p in points:
                ax.annotate(
                    t, (100 * p[hx], 100 * (p[ey] or 0.0)), fontsize=7, xytext=(3, 3),
                    textcoords="offset points",
                )  # fmt: skip
            deltas = sorted({float(v["delta"]) for v in s["verified"].values()})
            floors = sorted({float(v["floor"]) for v in s["verified"].values()}, reverse=True)
            colours = ("tab:green", "tab:blue", "tab:red", "tab:purple")
            markers = ("s", "^", "D", "v")
            for v in s["verified"].values():
                p = v["pooled"]
                y = 100 * (p[ey] or 0.0)
                lo, hi = 100 * p[ci][0], 100 * p[ci][1]
                colour = colours[deltas.index(float(v["delta"])) % len(colours)]
                marker = markers[floors.index(float(v["floor"])) % len(markers)]
                evidence = _evidence(v)
                ax.errorbar(
                    [100 * p[hx]], [y], yerr=[[y - lo], [hi - y]], fmt=marker, color=colour,
                    capsize=4, mfc="none" if evidence == "entry" else colour,
                    label=f"verified, delta {v['delta']:g}, floor {v['floor']:g}, {evidence}",
                )  # fmt: skip
            for i, delta in enumerate(deltas):
                ax.axhline(100 * delta, color=colours[i % len(colours)], linestyle=":", lw=1)
            top = 250 * max(float(d) for d in data["settings"]["deltas"])
            ax.set_ylim(-0.02 * top, top)  # the low-error region; the tables hold the rest
            ax.set_xlabel(f"{xlabel} (%)")
            ax.set_ylabel(f"{ylabel} (%)")
            ax.set_title(f"{_label(split)} part")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle(f"{m['label']}: error rate against hit rate")
    fig.tight_layout()
    _write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)


def render_all(data: dict[str, Any], report: Path, results_dir: Path, prefix: str) -> list[Path]:
    """The plots (one PNG per model) and the Markdown report; the paths written."""
    names = [f"{prefix}-{model}.png" for model in data["models"]]
    written = []
    for model, name in zip(data["models"], names, strict=True):
        plot_model(data, model, results_dir / name)
        written.append(results_dir / name)
    quick = prefix.endswith("quick")
    command = "scripts/verified_report.sh --quick" if quick else "scripts/verified_report.sh"
    text = render_markdown(data, names, command)
    if report.parent != results_dir:
        text = text.replace("](results/", f"]({os.path.relpath(results_dir, report.parent)}/")
    else:
        text = text.replace("](results/", "](")
    _write_atomically(report, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    written.append(report)
    return written
