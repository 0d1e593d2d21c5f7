"""The streaming benchmark runs in quick mode and writes well-formed results.

Times are not asserted (shared, noisy machines); the counts are exact, so they are: every
miss calls the model once, no hit does, a miss streams every chunk, a hit replays one.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchmarks.streaming import StreamingPlan, run


def _positive(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_quick_streaming_benchmark_produces_well_formed_results(tmp_path: Path) -> None:
    plan = StreamingPlan.quick()
    document = run(plan, name="smoke", out_dir=tmp_path)
    written = json.loads((tmp_path / "smoke.json").read_text())
    assert written == json.loads(json.dumps(document))

    assert set(written["cases"]) == {"bare_miss", "wrapped_miss", "wrapped_hit"}
    for case in written["cases"].values():
        for kind in ("first_chunk", "total"):
            numbers = case[kind]
            assert all(_positive(numbers[key]) for key in ("median_s", "min_s", "max_s"))
            assert numbers["min_s"] <= numbers["median_s"] <= numbers["max_s"]
    assert set(written["ratios"]) == {
        "miss_first_chunk_wrapped_vs_bare",
        "miss_total_wrapped_vs_bare",
        "hit_total_vs_bare_miss_total",
    }
    assert all(_positive(ratio) for ratio in written["ratios"].values())

    counts = written["counts"]
    assert counts["model_calls"] == counts["expected_model_calls"] == 2 * plan.repetitions
    # the model's chunks plus langchain-core's closing empty chunk; a hit is one chunk
    assert counts["chunks_per_stream"] == {
        "bare_miss": [plan.chunks + 1],
        "wrapped_miss": [plan.chunks + 1],
        "wrapped_hit": [1],
    }
    assert counts["same_text_everywhere"] is True
