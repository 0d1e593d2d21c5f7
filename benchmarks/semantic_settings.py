"""The parameters of the semantic quality report, shared by its measuring
(``semantic_report``) and its rendering (``semantic_render``)."""

from __future__ import annotations

__all__ = [
    "FALLBACK_TARGETS",
    "GPTCACHE_THRESHOLD",
    "GRID",
    "REDIS_DISTANCE",
    "RESAMPLES",
    "SIZES",
    "STABLE_WIDTH",
    "TARGET",
]

GRID = tuple(step / 100 for step in range(50, 100))
#: The target a production cache should meet: at most one wrong answer in 20 hits.
TARGET = 0.95
#: Lower targets tried, in order, when nothing reaches TARGET (for the stability study).
FALLBACK_TARGETS = (0.95, 0.9, 0.85, 0.8)
#: langchain-redis RedisSemanticCache's default distance_threshold (cosine distance).
REDIS_DISTANCE = 0.2
#: GPTCache's default Config.similarity_threshold.
GPTCACHE_THRESHOLD = 0.8
SIZES = (50, 100, 200, 400)
#: A calibration is called stable when 90 % of resamples choose thresholds this close.
STABLE_WIDTH = 0.05
RESAMPLES = 200
