"""``calibrate``: choose a semantic cache's similarity threshold from labelled pairs.

The command measures the cache as it really runs: the same prompt-text extraction
(:func:`~langchain_elasticsearch_cache.domain.semantic.split_prompt`) and the same hit guard
(:func:`~langchain_elasticsearch_cache.domain.semantic.default_hit_guard`) as the semantic cache,
with the embedding model the user names, so the threshold it prints is the one to pass as
``similarity_threshold``. ``--no-split`` and ``--no-guard`` switch those parts off, to
measure what each is worth. It never needs Elasticsearch.

Everything that can be wrong with the input (the pairs file, the embedding factory, the
grid, the plot's destination) is checked before anything is written, and the plot is
written to a temporary file renamed into place: a failed run leaves no partial PNG, and
``--json`` prints nothing until the whole result is known.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..domain.errors import CacheError, ConfigurationError

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from ..evaluation import Calibration, HoldoutCalibration, ScoredPair, ThresholdMetrics

__all__ = [
    "EmbeddingFailedError",
    "add_calibrate_command",
    "cmd_calibrate",
    "load_embedding",
    "parse_threshold_grid",
]

#: The ``--embedding`` name of the offline demo model (the ``[semantic]`` extra).
WORDLLAMA = "wordllama"
#: Texts per ``embed_documents`` call: progress is reported between batches.
EMBED_BATCH = 256
#: A grid larger than this is almost certainly a typo in the step.
MAX_GRID = 10_001

EXIT_OK, EXIT_NO_THRESHOLD = 0, 1


class EmbeddingFailedError(CacheError):
    """The user's embedding model raised while embedding the pairs (exit 1, not a usage error)."""


# --------------------------------------------------------------------------- embedding


def load_embedding(spec: str) -> Embeddings:
    """The LangChain ``Embeddings`` that ``--embedding`` names.

    ``wordllama`` is the offline demo model; ``module:factory`` imports ``module`` (the
    current directory is searched too, as ``python -m`` would) and calls ``factory()`` with
    no arguments (``factory`` may be a dotted path such as ``Class.create``; an attribute
    that already is an ``Embeddings`` is used as it is).
    """
    if spec == WORDLLAMA:
        from .langchain.wordllama import WordLlamaEmbeddings

        return WordLlamaEmbeddings()
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name.strip() or not attribute.strip():
        raise ConfigurationError(
            f"--embedding {spec!r} is neither {WORDLLAMA!r} nor module:factory; name a "
            "function that returns a LangChain Embeddings, e.g. --embedding "
            "myproject.models:embeddings"
        )
    module = _import_module(module_name.strip(), spec)
    target: Any = module
    for part in attribute.strip().split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigurationError(
                f"--embedding {spec!r}: module {module_name!r} has no attribute "
                f"{attribute!r}; check the factory's name"
            ) from None
    if _is_embeddings(target):
        return target  # type: ignore[no-any-return]
    if not callable(target):
        raise ConfigurationError(
            f"--embedding {spec!r}: {attribute!r} is a {type(target).__name__}, not a "
            "function; name a factory that takes no arguments and returns an Embeddings"
        )
    try:
        embedding = target()
    except Exception as exc:
        message = " ".join(str(exc).split())
        raise ConfigurationError(
            f"--embedding {spec!r}: the factory raised {type(exc).__name__}: {message}; it "
            "must take no arguments and return a LangChain Embeddings"
        ) from None
    if not _is_embeddings(embedding):
        raise ConfigurationError(
            f"--embedding {spec!r}: the factory returned a {type(embedding).__name__}, which "
            "has no embed_documents(texts) method; return a LangChain Embeddings"
        )
    return embedding  # type: ignore[no-any-return]


def _is_embeddings(value: Any) -> bool:
    return not isinstance(value, type) and callable(getattr(value, "embed_documents", None))


def _import_module(name: str, spec: str) -> Any:
    added = False
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
        added = True
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigurationError(
            f"--embedding {spec!r}: cannot import module {name!r} ({exc}); check the name "
            "and that the module is installed or in the current directory"
        ) from None
    finally:
        if added:
            sys.path.remove(cwd)


class _BatchedEmbed:
    """``embed(texts)`` in batches of :data:`EMBED_BATCH`, reporting progress between them.

    An exception from the model becomes :class:`EmbeddingFailedError` (exit 1); a wrong
    number of vectors is a :class:`ConfigurationError` naming the batch.
    """

    def __init__(self, embedding: Embeddings, spec: str, on_batch: Callable[[int], None]):
        self.embedding, self.spec, self.on_batch = embedding, spec, on_batch
        self.texts = 0

    def __call__(self, texts: list[str]) -> list[Sequence[float]]:
        self.texts = len(texts)
        vectors: list[Sequence[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            try:
                got = list(self.embedding.embed_documents(batch))
            except Exception as exc:
                message = " ".join(str(exc).split())
                raise EmbeddingFailedError(
                    f"the embedding model {self.spec!r} failed on texts {start + 1}-"
                    f"{start + len(batch)}: {type(exc).__name__}: {message}"
                ) from exc
            if len(got) != len(batch):
                raise ConfigurationError(
                    f"the embedding model {self.spec!r} returned {len(got)} vector(s) for "
                    f"{len(batch)} text(s); embed_documents must return one vector per text"
                )
            vectors.extend(got)
            self.on_batch(len(batch))
        return vectors


# --------------------------------------------------------------------------- grid


def parse_threshold_grid(text: str | None) -> tuple[float, ...] | None:
    """``START:STOP:STEP`` (both ends included) or a comma-separated list; ``None`` for the
    default 0.50..0.99 grid. Decimal arithmetic, so ``0.8:0.9:0.05`` is exactly 0.8, 0.85, 0.9.
    """
    if text is None:
        return None
    raw = text.strip()
    hint = "write START:STOP:STEP (e.g. 0.80:0.99:0.01) or a list (e.g. 0.8,0.85,0.9)"
    if ":" in raw:
        fields = raw.split(":")
        if len(fields) != 3:
            raise ConfigurationError(f"--threshold-grid {text!r} is not START:STOP:STEP; {hint}")
        start, stop, step = (_decimal(field, text, hint) for field in fields)
        if step <= 0 or stop < start:
            raise ConfigurationError(
                f"--threshold-grid {text!r}: STEP must be positive and STOP at least START; {hint}"
            )
        count = int((stop - start) / step) + 1
        if count > MAX_GRID:
            raise ConfigurationError(
                f"--threshold-grid {text!r} has {count} thresholds (at most {MAX_GRID}); "
                "use a larger step"
            )
        values = [start + step * index for index in range(count)]
    else:
        values = [_decimal(field, text, hint) for field in raw.split(",")]
    for value in values:
        if not Decimal(-1) <= value <= Decimal(1):
            raise ConfigurationError(
                f"--threshold-grid {text!r}: {value} is not a cosine similarity; thresholds "
                "are between -1 and 1"
            )
    return tuple(sorted({float(value) for value in values}))


def _decimal(field: str, text: str, hint: str) -> Decimal:
    try:
        value = Decimal(field.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ConfigurationError(
            f"--threshold-grid {text!r}: {field.strip()!r} is not a number; {hint}"
        )
    return value


def _check_fractions(target: float, holdout: float | None) -> None:
    if not 0.0 < target <= 1.0:
        raise ConfigurationError(
            f"--target-precision must be in (0, 1], got {target:g}; 0.95 means at most one "
            "wrong answer in 20 hits"
        )
    if holdout is not None and not 0.0 < holdout < 1.0:
        raise ConfigurationError(
            f"--holdout must be a fraction strictly between 0 and 1, got {holdout:g}; 0.3 "
            "keeps 30% of the pairs back for the check"
        )


# --------------------------------------------------------------------------- plot target


def _check_plot_target(path: str) -> Path:
    """Fail before any work when the plot could not be written: no matplotlib, no directory."""
    from ..evaluation.plot import PLOT_EXTRA_MESSAGE, PlotExtraMissingError

    try:
        importlib.import_module("matplotlib")
    except ImportError:
        raise PlotExtraMissingError(f"--plot: {PLOT_EXTRA_MESSAGE}") from None
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigurationError(
            f"--plot {path}: the directory {parent} does not exist; create it or write the "
            "plot elsewhere"
        )
    if target.is_dir():
        raise ConfigurationError(f"--plot {path} is a directory; name a file such as pr.png")
    return target


def _write_plot(calibration: Calibration, target: Path, title: str) -> None:
    """Draw into a temporary file next to ``target`` and rename it into place."""
    from ..evaluation import plot_precision_recall

    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".png", dir=target.parent if str(target.parent) else "."
    )
    os.close(handle)
    try:
        plot_precision_recall(calibration, temporary, title=title)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
    from ..evaluation import by_category

    return {
        name: row.false_hits
        for name, row in by_category(scored, threshold).items()
        if row.false_hits
    }


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ..domain.semantic import default_hit_guard, split_prompt
    from ..evaluation import (
        calibrate,
        calibrate_with_holdout,
        format_table,
        read_pairs,
        score_pairs,
    )
    from .cli import Progress

    # every check that can refuse the input comes before any work or output
    _check_fractions(args.target_precision, args.holdout)
    pairs = read_pairs(args.pairs)
    thresholds = parse_threshold_grid(args.threshold_grid)
    plot_target = _check_plot_target(args.plot) if args.plot else None
    embedding = load_embedding(args.embedding)

    def split(prompt: str) -> tuple[str, str]:
        parts = split_prompt(prompt)
        return parts.context, parts.meaning

    enabled = bool(args.progress or sys.stderr.isatty())
    progress = Progress("embedded texts", None, enabled=enabled, interval=args.progress_every)
    embed = _BatchedEmbed(embedding, args.embedding, progress.advance)
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
        _write_plot(result, plot_target, f"{args.pairs} with {args.embedding}")

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
    parser.add_argument(
        "--progress",
        action="store_true",
        help="progress lines on stderr (default: only when stderr is a terminal)",
    )
    parser.add_argument(
        "--progress-every",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="at most one progress line per this many seconds (default 2)",
    )
    parser.set_defaults(func=cmd_calibrate)
    return parser
