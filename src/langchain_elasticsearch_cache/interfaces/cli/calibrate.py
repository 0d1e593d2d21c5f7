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
from .calibrate_report import (
    NOT_ENOUGH_EVIDENCE,
    RECOMMENDED,
    describe,
    estimate_json,
    estimate_lines,
    refusal_json,
    refusal_lines,
    row_json,
    verdict_of,
    wrong_hit_json,
    wrong_hit_lines,
)
from .progress import add_progress_flags, progress_for

if TYPE_CHECKING:
    from ...evaluation import HoldoutCalibration

__all__ = [
    "EmbeddingFailedError",
    "add_calibrate_command",
    "cmd_calibrate",
    "load_embedding",
    "parse_threshold_grid",
]

#: Exit statuses: a verdict (a threshold, or "not enough evidence" with the pairs it would
#: take: the run did its job; read ``verdict`` in --json), and no threshold reaching the
#: target even on the pairs' observed precision.
EXIT_OK, EXIT_NO_THRESHOLD = 0, 1

# --------------------------------------------------------------------------- command


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ...domain.semantic import default_hit_guard, split_prompt
    from ...evaluation import (
        calibrate,
        calibrate_with_holdout,
        format_table,
        read_pairs,
        score_pairs,
    )
    from ...evaluation.evidence import (
        count_by_category,
        guard_refusals,
        labelling_estimate,
        wrong_hits,
    )
    from ...evaluation.interval import DEFAULT_CONFIDENCE

    # every check that can refuse the input comes before any work or output
    check_fractions(args.target_precision, args.holdout)
    pairs = read_pairs(args.pairs)
    thresholds = parse_threshold_grid(args.threshold_grid)
    plot_target = check_plot_target(args.plot) if args.plot else None
    embedding = load_embedding(args.embedding)

    def split(prompt: str) -> tuple[str, str]:
        parts = split_prompt(prompt)
        return parts.context, parts.meaning

    splitter = None if args.no_split else split
    progress = progress_for(args, "embedded texts", None)
    embed = BatchedEmbed(embedding, args.embedding, progress.advance)
    scored = score_pairs(
        pairs,
        embed=embed,
        split=splitter,
        guard=None if args.no_guard else default_hit_guard,
    )
    progress.total = embed.texts
    progress.finish()

    confidence = DEFAULT_CONFIDENCE
    held: HoldoutCalibration | None = None
    if args.holdout is not None:
        held = calibrate_with_holdout(
            scored,
            target_precision=args.target_precision,
            holdout=args.holdout,
            seed=args.seed,
            thresholds=thresholds,
            confidence=confidence,
        )
        result = held.calibration
    else:
        result = calibrate(
            scored,
            target_precision=args.target_precision,
            thresholds=thresholds,
            confidence=confidence,
        )

    if plot_target is not None:
        write_plot(result, plot_target, f"{args.pairs} with {args.embedding}")

    same = sum(1 for item in scored if item.pair.same)
    blocked = {
        reason: sum(1 for item in scored if item.blocked_by == reason)
        for reason in ("guard", "context")
    }
    chosen = result.chosen
    verdict = verdict_of(result)
    target = result.target_precision
    # the calibration's share of the labelled pairs (less than all with --holdout)
    share = 1.0 if held is None else held.calibration_pairs / len(scored)
    estimate = (
        labelling_estimate(result.table, target, confidence)
        if verdict == NOT_ENOUGH_EVIDENCE
        else None
    )
    wrong = [] if chosen is None else wrong_hits(scored, chosen.threshold, split=splitter)
    refusals = None if args.no_guard else guard_refusals(scored, split=splitter)
    if args.json:
        document = {
            "pairs": len(scored),
            "same_pairs": same,
            "source": str(args.pairs),
            "embedding": args.embedding,
            "split": not args.no_split,
            "guard": not args.no_guard,
            "not_eligible": blocked,
            "target_precision": target,
            "confidence": confidence,
            "table": [row_json(row, confidence) for row in result.table],
            "verdict": verdict,
            "recommended_threshold": None
            if chosen is None or verdict != RECOMMENDED
            else chosen.threshold,
            "chosen": None if chosen is None else row_json(chosen, confidence),
            "reason": result.reason,
            "labelling_estimate": None
            if verdict != NOT_ENOUGH_EVIDENCE
            else estimate_json(estimate, labelled=len(scored), share=share),
            "false_hits_by_category": {
                name or "no category": count for name, count in count_by_category(wrong).items()
            },
            "wrong_hits": [wrong_hit_json(hit) for hit in wrong],
            "guard_refusals": None
            if refusals is None
            else [
                refusal_json(item, None if chosen is None else chosen.threshold)
                for item in refusals
            ],
            "holdout": None
            if held is None
            else {
                "fraction": args.holdout,
                "seed": held.seed,
                "calibration_pairs": held.calibration_pairs,
                "holdout_pairs": held.holdout_pairs,
                "result": None if held.holdout is None else row_json(held.holdout, confidence),
            },
            "plot": None if plot_target is None else str(plot_target),
        }
        print(json.dumps(document, indent=2, sort_keys=True))
        return EXIT_OK if chosen is not None else EXIT_NO_THRESHOLD

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
    level = f"{confidence:.0%}"
    if chosen is None:
        print(f"no threshold chosen: {result.reason}")
    elif verdict == RECOMMENDED:
        print(
            f"chosen threshold: {chosen.threshold:g} (the most hits whose {level} interval on "
            f"precision lies at or above {target:g}): {describe(chosen, confidence)}"
        )
    else:
        print(
            f"not enough evidence: no threshold recommended. At every threshold the {level} "
            f"interval on precision (Wilson) reaches below {target:g}, so these pairs cannot "
            f"show that any threshold reaches it."
        )
        print(
            f"best on these pairs: {chosen.threshold:g} (the most hits at precision >= "
            f"{target:g}, marked *): {describe(chosen, confidence)}"
        )
        for line in estimate_lines(estimate, target, confidence, labelled=len(scored), share=share):
            print(line)
    if held is not None and held.holdout is not None:
        print(f"on the {held.holdout_pairs} held-out pairs: {describe(held.holdout, confidence)}")
    if chosen is not None:
        scope = "" if held is None else f" (all {len(scored)} pairs)"
        for line in wrong_hit_lines(wrong, chosen.threshold, details=args.details, scope=scope):
            print(line)
        if refusals is not None:
            for line in refusal_lines(refusals, chosen.threshold, details=args.details):
                print(line)
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
        "with the most hits whose 95% interval on precision (Wilson) lies at or above "
        "--target-precision; when the pairs are too few to show that, it says 'not enough "
        "evidence' and about how many labelled pairs would, instead of a threshold. It lists "
        "the wrong hits and the hit guard's refusals of same-meaning pairs. Exit 0 with a "
        "verdict (a threshold, or not enough evidence: --json's 'verdict' and "
        "'recommended_threshold' tell them apart), 1 when no threshold reaches the target "
        "even on the pairs' observed precision, 2 for bad input.",
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
    parser.add_argument(
        "--json", action="store_true", help="machine-readable output (every list in full)"
    )
    parser.add_argument(
        "--details",
        action="store_true",
        help="list every wrong hit and guard refusal (default: the first 20 of each)",
    )
    parser.add_argument(
        "--no-split",
        action="store_true",
        help="embed the whole prompt (serialised JSON for chat) instead of the last question",
    )
    parser.add_argument("--no-guard", action="store_true", help="switch the hit guard off")
    add_progress_flags(parser)
    parser.set_defaults(func=cmd_calibrate)
    return parser
