"""The semantic storage benchmark runs in quick mode and writes well-formed results.

Timings and recall are not asserted (shared, noisy machines; tiny sizes): what is checked
is that every part ran, the numbers are numbers, and the JSON and Markdown are written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchmarks.semantic import SemanticPlan, run_semantic


def _positive(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_quick_semantic_benchmark_produces_well_formed_results(es_url: str, tmp_path: Path) -> None:
    plan = SemanticPlan.quick()
    document = run_semantic(es_url, plan, name="smoke", out_dir=tmp_path)

    written = json.loads((tmp_path / "smoke.json").read_text())
    assert written == json.loads(json.dumps(document))
    recall = written["recall"]
    assert recall["entries"] == plan.recall_entries
    assert set(recall["variants"]) == set(plan.variants)
    for variant, values in recall["variants"].items():
        assert values["status"] == "ok", (variant, values)
        assert set(values["thresholds"]) == {str(t) for t in plan.thresholds}
        for row in values["thresholds"].values():
            assert row["expected_results"] > 0  # the data has neighbours above the threshold
            assert 0.0 <= row["recall"] <= 1.0
            assert row["false_hits"] >= 0
            assert _positive(row["median_s"])
    (latency,) = written["latency"]
    assert latency["entries"] == plan.latency_sizes[0]
    for name in ("ours", "raw"):
        stats = latency["contenders"][name]
        assert stats["status"] == "ok" and stats["samples"] == plan.latency_rounds
        assert _positive(stats["median_s"])
    assert latency["results_returned"]["ours"] == latency["results_returned"]["raw"] > 0
    assert _positive(latency["ours/raw"])
    targets = {target["id"] for target in written["targets"]}
    assert {f"recall_hnsw_at_{t}" for t in plan.thresholds} <= targets
    assert f"nearest_vs_raw_{plan.latency_sizes[0]}" in targets
    markdown = (tmp_path / "smoke.md").read_text()
    assert "## HNSW variants" in markdown and "## nearest() against" in markdown
