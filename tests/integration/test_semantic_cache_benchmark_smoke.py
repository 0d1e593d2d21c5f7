"""The semantic cache class benchmark runs in quick mode and writes well-formed results.

Timings are not asserted (shared, noisy machines; tiny sizes). Embedding call counts are
exact, so they are: the figure the benchmark reports must be the one the class has.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchmarks.semantic_cache import CacheBenchPlan, run


def _positive(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_quick_semantic_cache_benchmark_produces_well_formed_results(
    es_url: str, tmp_path: Path
) -> None:
    plan = CacheBenchPlan.quick()
    document = run(es_url, plan, name="smoke", out_dir=tmp_path)
    written = json.loads((tmp_path / "smoke.json").read_text())
    assert written == json.loads(json.dumps(document))

    calls = written["embedding_calls"]
    ours, peer = calls["flows"]["ours"], calls["flows"]["peer_flow"]
    assert ours["per_operation"] == {
        "miss_cycle": 1.0,
        "miss_lookup": 1.0,
        "miss_update": 0.0,
        "exact_repeat": 0.0,
        "paraphrase": 1.0,
    }
    assert peer["per_operation"] == {
        "miss_cycle": 2.0,
        "miss_lookup": 1.0,
        "miss_update": 1.0,
        "exact_repeat": 1.0,
        "paraphrase": 1.0,
    }
    # both flows answered every repeat and paraphrase: the counts compare like with like
    for flow in (ours, peer):
        assert flow["answered"] == {
            "miss_lookup": 0,
            "exact_repeat": plan.repeats,
            "paraphrase": plan.paraphrases,
        }
    assert calls["ours/peer_miss_cycle"] == 0.5
    total_ours = plan.distinct + plan.paraphrases
    total_peer = 2 * plan.distinct + plan.repeats + plan.paraphrases
    assert (ours["total_calls"], peer["total_calls"]) == (total_ours, total_peer)

    latency = written["lookup_latency"]
    assert latency["entries"] == plan.entries
    samples = plan.rounds + plan.warmup
    for path, values in latency["paths"].items():
        for name in ("ours", "raw_knn", "raw_get_knn"):
            stats = values["contenders"][name]
            assert stats["status"] == "ok" and stats["samples"] == plan.rounds, (path, name)
            assert _positive(stats["median_s"])
        assert _positive(values["ours/raw_knn"]) and _positive(values["ours/raw_get_knn"])
        expected = samples if path == "hit" else 0
        assert values["answered"] == {
            "ours": expected,
            "raw_knn": expected,
            "raw_get_knn": expected,
        }, path
    assert latency["cache_statistics"]["semantic_hits"] == samples
    assert latency["cache_statistics"]["exact_hits"] == 0
    targets = {target["id"] for target in written["targets"]}
    assert {"embedding_calls_per_miss_cycle", "embedding_calls_per_exact_repeat"} <= targets
    assert f"class_lookup_vs_raw_knn_hit_{plan.entries}" in targets
    markdown = (tmp_path / "smoke.md").read_text()
    assert "## Embedding calls per operation" in markdown
    assert "## Semantic lookup through the class" in markdown
