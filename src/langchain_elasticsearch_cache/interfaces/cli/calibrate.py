"""``calibrate``: choose a semantic cache's similarity threshold from labelled pairs.

The command measures the cache as it really runs: the same prompt-text extraction
(:func:`~langchain_elasticsearch_cache.domain.semantic.split_prompt`) and the same hit guard
(:func:`~langchain_elasticsearch_cache.domain.semantic.default_hit_guard`) as the semantic cache,
with the embedding model the user names, so the threshold it prints is the one to pass as
``similarity_threshold``. ``--no-split`` and ``--no-guard`` switch those parts off, to
measure what each is worth. It never needs Elasticsearch.

Everything that can be wrong with the input (the pairs file, the embedding factory, the
grid, the plot's destination) is checked before anything is written (those checks are in
:mod:`.calibrate_inputs`), and the plot is written to a temporary file renamed into place:
a failed run leaves no partial PNG, and ``--json`` prints nothing until the whole result
is known. This module holds the command, its report and its arguments.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .calibrate_inputs import (
    WORDLLAMA,
    BatchedEmbed,
    EmbeddingFailedError,
    check_fractions,
    check_plot_target,
    load_embedding,
    parse_threshold_grid,
    write_plot,
)
from .progress import add_progress_flags, progress_for

if TYPE_CHECKING:
    from ...evaluation import HoldoutCalibration, ScoredPair, ThresholdMetrics

__all__ = [
    "EmbeddingFailedError",
    "add_calibrate_command",
    "cmd_calibrate",
    "load_embedding",
    "parse_threshold_grid",
]

EXIT_OK, EXIT_NO_THRESHOLD = 0, 1

# --------------------------------------------------------------------------- command


def _row(row: ThresholdMetrics) -> dict[str, Any]:
    return {
        "threshold": row.threshold,
        "precision": row.precision,
        "recall": row.recall,
        "f1": row.f1,
        "hit_rate": row.hit_rate,
        "hits": row.hits,
        "true_hits": row.true_hits,
        "false_hits": row.false_hits,
        "missed": row.missed,
        "true_misses": row.true_misses,
        "pairs": row.pairs,
    }


def _describe(row: ThresholdMetrics) -> str:
    return (
        f"precision {row.precision:.3f}, recall {row.recall:.3f}, F1 {row.f1:.3f}, "
        f"hit rate {row.hit_rate:.3f} ({row.false_hits} wrong of {row.hits} hits, "
        f"{row.pairs} pairs)"
    )


def _wrong_by_category(scored: Sequence[ScoredPair], threshold: float) -> dict[str, int]:
    from ...evaluation import by_category

    return {
        name: row.false_hits
        for name, row in by_category(scored, threshold).items()
        if row.false_hits
    }


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ...domain.semantic import default_hit_guard, split_prompt
    from ...evaluation import (
        calibrate,
        calibrate_with_holdout,
        format_table,
        read_pairs,
        score_pairs,
    )

    # every check that can refuse the input comes before any work or output
    check_fractions(args.target_precision, args.holdout)
    pairs = read_pairs(args.pairs)
    thresholds = parse_threshold_grid(args.threshold_grid)
    plot_target = check_plot_target(args.plot) if args.plot else None
    embedding = load_embedding(args.embedding)

    def split(prompt: str) -> tuple[str, str]:
        parts = split_prompt(prompt)
        return parts.context, parts.meaning

    progress = progress_for(args, "embedded texts", None)
    embed = BatchedEmbed(embedding, args.embedding, progress.advance)
    scored = score_pairs(
        pairs,
        embed=embed,
        split=None if args.no_split else split,
        guard=None if args.no_guard else default_hit_guard,
    )
    progress.total = embed.texts
    progress.finish()

    held: HoldoutCalibration | None = None
    if args.holdout is not None:
        held = calibrate_with_holdout(
            scored,
            target_precision=args.target_precision,
            holdout=args.holdout,
            seed=args.seed,
            thresholds=thresholds,
        )
        result = held.calibration
    else:
        result = calibrate(scored, target_precision=args.target_precision, thresholds=thresholds)

    if plot_target is not None:
        write_plot(result, plot_target, f"{args.pairs} with {args.embedding}")

    same = sum(1 for item in scored if item.pair.same)
    blocked = {
        reason: sum(1 for item in scored if item.blocked_by == reason)
        for reason in ("guard", "context")
    }
    chosen = result.chosen
    wrong = {} if chosen is None else _wrong_by_category(scored, chosen.threshold)
    if args.json:
        document = {
            "pairs": len(scored),
            "same_pairs": same,
            "source": str(args.pairs),
            "embedding": args.embedding,
            "split": not args.no_split,
            "guard": not args.no_guard,
            "not_eligible": blocked,
            "target_precision": result.target_precision,
            "table": [_row(row) for row in result.table],
            "chosen": None if chosen is None else _row(chosen),
            "reason": result.reason,
            "false_hits_by_category": wrong,
            "holdout": None
            if held is None
            else {
                "fraction": args.holdout,
                "seed": held.seed,
                "calibration_pairs": held.calibration_pairs,
                "holdout_pairs": held.holdout_pairs,
                "result": None if held.holdout is None else _row(held.holdout),
            },
            "plot": None if plot_target is None else str(plot_target),
        }
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        print(
            f"pairs: {len(scored)} ({same} same, {len(scored) - same} different) from "
            f"{args.pairs}; embedding: {args.embedding}; prompt-text extraction: "
            f"{'off' if args.no_split else 'on'}; hit guard: "
            f"{'off' if args.no_guard else 'on'}"
        )
        print(
            f"never a hit, whatever the threshold: {blocked['guard']} pair(s) refused by the "
            f"hit guard, {blocked['context']} with another context (system prompt, "
            "earlier turns)"
        )
        if held is not None:
            print(
                f"calibrating on {held.calibration_pairs} pairs, holding out "
                f"{held.holdout_pairs} (seed {held.seed}); the table is the calibration part"
            )
        print(format_table(result.table, chosen=None if chosen is None else chosen.threshold))
        if chosen is None:
            print(f"no threshold chosen: {result.reason}")
        else:
            print(
                f"chosen threshold: {chosen.threshold:g} (the most hits at precision >= "
                f"{result.target_precision:g}): {_describe(chosen)}"
            )
            if wrong:
                shown = ", ".join(f"{name} {count}" for name, count in wrong.items())
                print(f"wrong hits at {chosen.threshold:g} by category: {shown}")
        if held is not None and held.holdout is not None:
            print(f"on the {held.holdout_pairs} held-out pairs: {_describe(held.holdout)}")
        if plot_target is not None:
            print(f"plot: {plot_target}")
    return EXIT_OK if chosen is not None else EXIT_NO_THRESHOLD


def add_calibrate_command(sub: Any) -> argparse.ArgumentParser:
    """Register ``calibrate`` on the CLI's subparsers."""
    help_text = (
        "choose the semantic cache's similarity threshold from labelled prompt pairs "
        "(no Elasticsearch needed)"
    )
    parser: argparse.ArgumentParser = sub.add_parser(
        "calibrate",
        help=help_text,
        description=help_text
        + ". Prints precision, recall, F1 and hit rate per threshold and the threshold "
        "that reaches --target-precision with the most hits. Exit 0 with a threshold, 1 "
        "when none reaches the target, 2 for bad input.",
    )
    parser.add_argument(
        "pairs",
        metavar="PAIRS",
        help="labelled pairs: a .jsonl file ({'a', 'b', 'same'} per line), a .csv file "
        "(header a,b,same), or 'builtin' for the shipped 700-pair evaluation set",
    )
    parser.add_argument(
        "--embedding",
        default=WORDLLAMA,
        metavar="MODULE:FACTORY",
        help="the embedding model: module:factory returning a LangChain Embeddings, or "
        "'wordllama' (default; the offline demo model of the [semantic] extra)",
    )
    parser.add_argument(
        "--threshold-grid",
        metavar="GRID",
        help="thresholds to try: START:STOP:STEP or a comma-separated list "
        "(default 0.50:0.99:0.01)",
    )
    parser.add_argument(
        "--target-precision",
        type=float,
        default=0.95,
        help="the share of hits that must be right (default 0.95: one wrong answer in 20)",
    )
    parser.add_argument(
        "--holdout",
        type=float,
        default=None,
        metavar="FRACTION",
        help="keep this fraction of the pairs back (split by category and label) and "
        "report the chosen threshold on them, e.g. 0.3",
    )
    parser.add_argument("--seed", type=int, default=0, help="the holdout split's seed")
    parser.add_argument("--plot", metavar="FILE.png", help="write the precision-recall curve")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--no-split",
        action="store_true",
        help="embed the whole prompt (serialised JSON for chat) instead of the last question",
    )
    parser.add_argument("--no-guard", action="store_true", help="switch the hit guard off")
    add_progress_flags(parser)
    parser.set_defaults(func=cmd_calibrate)
    return parser
