"""What each rule of a hit guard costs and what it buys, measured on labelled pairs.

A rule that refuses a ``same`` pair costs a hit (a model call the cache could have saved); a
rule that refuses a pair that is not the same prevents a wrong answer. For every rule this
counts both, on the pairs whose exact contexts match (the others are never hits, whatever
the guard says):

* at a threshold (the pairs whose similarity reaches it: the ones the guard decides), and
  among them the pairs this rule alone refuses (the hits switching it off would give back,
  the wrong answers it would let through);
* on all pairs, regardless of the threshold (a rule's behaviour on the whole set, including
  pairs a better embedding model would score above the threshold).

With the guard as a whole: precision and hit rate at the threshold.

Pure Python, like the rest of :mod:`..evaluation`: :func:`rule_refusals` takes the
embedding function. ``python -m langchain_elasticsearch_cache.evaluation.guard_report``
(:func:`main`) runs it on the shipped sets with the offline WordLlama model and prints a
Markdown table (``--details`` lists each refused ``same`` pair).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence

import attrs

from ..domain.semantic import DEFAULT_GUARD_RULES, DEFAULT_SIMILARITY_THRESHOLD, split_prompt
from .calibration import evaluate
from .pairs import BUILTIN_PAIRS, HOLDOUT_PAIRS, LabelledPair, read_pairs
from .scoring import Embed, Guard, Split, score_pairs

__all__ = [
    "GuardReport",
    "RuleRefusals",
    "format_guard_report",
    "main",
    "rule_refusals",
]


@attrs.frozen
class RuleRefusals:
    """One rule's refusals on one set of pairs (pairs whose contexts differ are left out).

    ``*_at`` count pairs whose similarity reaches the threshold; ``*_only_at`` those of them
    no other rule refuses; ``*_all`` every pair, whatever its similarity. ``same_*`` are
    refused paraphrases (the cost), ``different_*`` refused pairs that are not the same
    (the benefit: false hits let through if the rule were off, alone for ``*_only_at``).
    ``refused_same`` lists the refused ``same`` pairs' meaning texts (the last questions, as
    the guard saw them) with their category and similarity.
    """

    rule: str
    same_at: int
    different_at: int
    same_only_at: int
    different_only_at: int
    same_all: int
    different_all: int
    refused_same: tuple[tuple[str, str, str | None, float], ...] = ()


@attrs.frozen
class GuardReport:
    """Every rule's :class:`RuleRefusals` on one set, and the whole guard's result."""

    name: str
    threshold: float
    pairs: int
    rules: tuple[RuleRefusals, ...]
    precision: float
    hit_rate: float
    hits: int
    false_hits: int


def _no_context(prompt: str) -> tuple[str, str]:
    return "", prompt


def rule_refusals(
    pairs: Sequence[LabelledPair],
    *,
    embed: Embed,
    rules: Mapping[str, Guard] | None = None,
    split: Split | None = None,
    threshold: float = DEFAULT_SIMILARITY_THRESHOLD,
    name: str = "pairs",
) -> GuardReport:
    """Count each rule's refusals of ``pairs`` (see the module docstring).

    Args:
        pairs: The labelled pairs.
        embed: The embedding function (``Embeddings.embed_documents``), called once.
        rules: The guard's rules by name; default :data:`DEFAULT_GUARD_RULES`. The guard
            is their conjunction.
        split: The prompt splitter ``prompt -> (context, meaning)``; default: no context.
        threshold: The similarity at which a pair the guard accepts is a hit.
        name: The set's name, for the report.

    Returns:
        A :class:`GuardReport`.
    """
    rules = dict(DEFAULT_GUARD_RULES if rules is None else rules)
    split = split or _no_context
    scored = score_pairs(pairs, embed=embed, split=split)
    meanings = [(split(item.pair.a)[1], split(item.pair.b)[1]) for item in scored]
    verdicts = [{rule: guard(a, b) for rule, guard in rules.items()} for a, b in meanings]
    results = []
    for rule in rules:
        counts = dict.fromkeys(("same_at", "different_at", "same_only_at", "different_only_at"), 0)
        counts |= {"same_all": 0, "different_all": 0}
        refused_same: list[tuple[str, str, str | None, float]] = []
        for item, verdict, (a, b) in zip(scored, verdicts, meanings, strict=True):
            if not item.eligible or verdict[rule]:
                continue  # contexts differ (never a hit), or the rule accepts
            kind = "same" if item.pair.same else "different"
            counts[f"{kind}_all"] += 1
            if item.pair.same:
                refused_same.append((a, b, item.pair.category, item.similarity))
            if item.similarity >= threshold:
                counts[f"{kind}_at"] += 1
                if all(accepted for other, accepted in verdict.items() if other != rule):
                    counts[f"{kind}_only_at"] += 1
        results.append(RuleRefusals(rule, **counts, refused_same=tuple(refused_same)))
    guarded = [
        attrs.evolve(item, eligible=False, blocked_by="guard")
        if item.eligible and not all(verdict.values())
        else item
        for item, verdict in zip(scored, verdicts, strict=True)
    ]
    row = evaluate(guarded, threshold)
    return GuardReport(
        name=name,
        threshold=threshold,
        pairs=len(scored),
        rules=tuple(results),
        precision=row.precision,
        hit_rate=row.hit_rate,
        hits=row.hits,
        false_hits=row.false_hits,
    )


def format_guard_report(reports: Sequence[GuardReport], *, details: bool = False) -> str:
    """The reports as Markdown: one table per set, one row per rule."""
    lines: list[str] = []
    for report in reports:
        t = f"{report.threshold:g}"
        lines += [
            f"**{report.name}** ({report.pairs} pairs): at {t} the whole guard gives precision "
            f"{report.precision:.3f}, hit rate {report.hit_rate:.1%} ({report.hits} hits, "
            f"{report.false_hits} wrong).",
            "",
            f"| rule | same refused at {t} (cost) | different refused at {t} (benefit) | "
            f"only this rule at {t}: cost / benefit | all pairs: cost / benefit |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in report.rules:
            lines.append(
                f"| `{r.rule}` | {r.same_at} | {r.different_at} | "
                f"{r.same_only_at} / {r.different_only_at} | {r.same_all} / {r.different_all} |"
            )
        lines.append("")
        if details:
            for r in report.rules:
                for a, b, category, similarity in r.refused_same:
                    lines.append(
                        f"- `{r.rule}` refuses a paraphrase (cosine {similarity:.3f}, "
                        f"{category}): {a!r} / {b!r}"
                    )
            lines.append("")
    return "\n".join(lines)


def _split(prompt: str) -> tuple[str, str]:
    parts = split_prompt(prompt)
    return parts.context, parts.meaning


def main(
    argv: Sequence[str] | None = None,
    *,
    load: Callable[[str], Embed] | None = None,
) -> int:
    """``python -m langchain_elasticsearch_cache.evaluation.guard_report``: the table on the
    shipped sets (main and held-out) with the offline WordLlama model.

    Args:
        argv: The command-line arguments (default ``sys.argv[1:]``).
        load: Turns ``--embedding`` into an embedding function; default: the ``calibrate``
            command's loader (``wordllama`` or ``module:factory``).

    Returns:
        The exit status, 0.
    """
    parser = argparse.ArgumentParser(
        prog="python -m langchain_elasticsearch_cache.evaluation.guard_report",
        description="Each hit-guard rule's refusals of paraphrases (cost) and of different "
        "pairs (benefit) on the shipped evaluation sets.",
    )
    parser.add_argument("--embedding", default="wordllama", help="as for calibrate")
    parser.add_argument("--threshold", type=float, default=DEFAULT_SIMILARITY_THRESHOLD)
    parser.add_argument(
        "--details", action="store_true", help="list every refused same-meaning pair"
    )
    args = parser.parse_args(argv)
    if load is None:
        from ..interfaces.cli.calibrate_inputs import load_embedding

        def load(spec: str) -> Embed:
            return load_embedding(spec).embed_documents

    embed = load(args.embedding)
    reports = [
        rule_refusals(
            read_pairs(source),
            embed=embed,
            split=_split,
            threshold=args.threshold,
            name=f"{label} (`{source}`)",
        )
        for label, source in (("main set", BUILTIN_PAIRS), ("held-out set", HOLDOUT_PAIRS))
    ]
    sys.stdout.write(format_guard_report(reports, details=args.details))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
