"""Measure a semantic cache on labelled prompt pairs and choose its similarity threshold.

* :mod:`.pairs`: read labelled pairs (JSON Lines or CSV), or the shipped evaluation set
  (``read_pairs("builtin")``, described in ``evaluation/data/README.md``);
* :mod:`.scoring`: score them with the cache's own splitter, embedding model and hit guard;
* :mod:`.calibration`: precision, recall, F1 and hit rate per threshold, the threshold that
  reaches a target precision with the most hits, and a seeded holdout check of it;
* :mod:`.plot`: the precision-recall picture as a PNG (the ``[plot]`` extra).

Pure Python; nothing here calls a model or Elasticsearch.
"""

from .calibration import (
    Calibration,
    HoldoutCalibration,
    ScoredPair,
    ThresholdMetrics,
    by_category,
    calibrate,
    calibrate_with_holdout,
    default_thresholds,
    evaluate,
    flip_thresholds,
    format_table,
    holdout_split,
    metrics_table,
)
from .pairs import (
    BUILTIN_PAIRS,
    HOLDOUT_PAIRS,
    LabelledPair,
    builtin_pairs,
    holdout_pairs,
    parse_csv,
    parse_jsonl,
    read_pairs,
)
from .plot import PlotExtraMissingError, plot_precision_recall
from .scoring import cosine, score_pairs

__all__ = [
    "BUILTIN_PAIRS",
    "Calibration",
    "HOLDOUT_PAIRS",
    "HoldoutCalibration",
    "LabelledPair",
    "PlotExtraMissingError",
    "ScoredPair",
    "ThresholdMetrics",
    "builtin_pairs",
    "by_category",
    "calibrate",
    "calibrate_with_holdout",
    "cosine",
    "default_thresholds",
    "evaluate",
    "flip_thresholds",
    "format_table",
    "holdout_pairs",
    "holdout_split",
    "metrics_table",
    "parse_csv",
    "parse_jsonl",
    "plot_precision_recall",
    "read_pairs",
    "score_pairs",
]
