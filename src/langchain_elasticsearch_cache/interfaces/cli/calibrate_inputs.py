"""What ``calibrate`` reads and checks before any work: the embedding model that
``--embedding`` names (and the batched calls to it), the ``--threshold-grid``, the
``--target-precision`` / ``--holdout`` fractions and the ``--plot`` destination; and the
plot's writer (a temporary file renamed into place, so a failed run leaves no partial PNG).
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...domain.errors import CacheError, ConfigurationError

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from ...evaluation import Calibration

__all__ = [
    "EMBED_BATCH",
    "MAX_GRID",
    "WORDLLAMA",
    "BatchedEmbed",
    "EmbeddingFailedError",
    "check_fractions",
    "check_plot_target",
    "load_embedding",
    "parse_threshold_grid",
    "write_plot",
]

#: The ``--embedding`` name of the offline demo model (the ``[semantic]`` extra).
WORDLLAMA = "wordllama"
#: Texts per ``embed_documents`` call: progress is reported between batches.
EMBED_BATCH = 256
#: A grid larger than this is almost certainly a typo in the step.
MAX_GRID = 10_001


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
        from ..langchain.wordllama import WordLlamaEmbeddings

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


class BatchedEmbed:
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


def check_fractions(target: float, holdout: float | None) -> None:
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


def check_plot_target(path: str) -> Path:
    """Fail before any work when the plot could not be written: no matplotlib, no directory."""
    from ...evaluation.plot import PLOT_EXTRA_MESSAGE, PlotExtraMissingError

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


def write_plot(calibration: Calibration, target: Path, title: str) -> None:
    """Draw into a temporary file next to ``target`` and rename it into place."""
    from ...evaluation import plot_precision_recall

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
