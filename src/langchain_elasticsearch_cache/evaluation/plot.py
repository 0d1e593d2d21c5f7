"""The precision-recall picture of a calibration, as a PNG (needs the ``[plot]`` extra).

matplotlib is optional: the library and the calibration work without it, and only drawing
asks for it, with a message naming the extra to install. The figure is drawn with
matplotlib's object API and the Agg canvas, so it never touches pyplot's global state or
the user's display backend.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..domain.errors import ConfigurationError
from .calibration import Calibration, ThresholdMetrics

__all__ = ["PLOT_EXTRA_MESSAGE", "PlotExtraMissingError", "plot_precision_recall"]

PLOT_EXTRA_MESSAGE = (
    "plotting needs matplotlib, which is an optional dependency; install it with "
    "`pip install 'langchain-elasticsearch-cache[plot]'`"
)


class PlotExtraMissingError(ConfigurationError, ImportError):
    """matplotlib is not installed; the message names the extra that brings it.

    An :class:`ImportError` too, so ``except ImportError`` around optional features works.
    """


#: Size of the PNG in pixels: (10 x 4.5 inches) at 100 dots per inch.
FIGURE_INCHES = (10.0, 4.5)
DPI = 100


def plot_precision_recall(
    calibration: Calibration | Sequence[ThresholdMetrics],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Write a PNG with two panels and return its path.

    Left: precision against recall, one point per threshold. Right: precision, recall and
    hit rate against the threshold, with the target precision and the chosen threshold
    marked when ``calibration`` is a :class:`Calibration`.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotExtraMissingError(PLOT_EXTRA_MESSAGE) from None

    if isinstance(calibration, Calibration):
        rows, chosen, target = calibration.table, calibration.chosen, calibration.target_precision
    else:
        rows, chosen, target = tuple(calibration), None, None
    if not rows:
        raise ConfigurationError("nothing to plot: the table has no rows; calibrate first")
    thresholds = [row.threshold for row in rows]
    precision = [row.precision for row in rows]
    recall = [row.recall for row in rows]

    figure = Figure(figsize=FIGURE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    curve, sweep = figure.subplots(1, 2)

    curve.plot(recall, precision, marker=".", linewidth=1)
    curve.set_xlabel("recall (same pairs answered from the cache)")
    curve.set_ylabel("precision (hits that are right)")
    curve.set_xlim(-0.02, 1.02)
    curve.set_ylim(-0.02, 1.02)
    curve.grid(True, alpha=0.3)

    sweep.plot(thresholds, precision, label="precision")
    sweep.plot(thresholds, recall, label="recall")
    sweep.plot(thresholds, [row.hit_rate for row in rows], label="hit rate", linestyle="--")
    sweep.set_xlabel("similarity threshold")
    sweep.set_ylim(-0.02, 1.02)
    sweep.grid(True, alpha=0.3)
    if target is not None:
        sweep.axhline(target, color="grey", linewidth=0.8, linestyle=":", label="target")
    if chosen is not None:
        sweep.axvline(chosen.threshold, color="black", linewidth=0.8, label="chosen")
        curve.plot([chosen.recall], [chosen.precision], marker="o", color="black")
        curve.annotate(
            f"{chosen.threshold:g}",
            (chosen.recall, chosen.precision),
            textcoords="offset points",
            xytext=(6, -12),
        )
    sweep.legend(loc="lower left", fontsize="small")
    figure.suptitle(title or "Semantic cache: precision and recall by threshold")
    figure.tight_layout()

    target_path = Path(path)
    try:
        figure.savefig(target_path, format="png")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the plot to {target_path} ({exc.strerror}); check that the "
            "directory exists and is writable"
        ) from None
    return target_path
