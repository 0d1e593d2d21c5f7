"""The benchmarks run, in quick mode, and produce well-formed results for every workload.

Timings are not asserted: the machines are shared and noisy. What is checked is that
every workload ran every contender (or recorded why one fails), that the statistics and
ratios are numbers where they should be, and that the JSON and Markdown files are written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchmarks.report import CONTENDERS
from benchmarks.run import run_benchmarks
from benchmarks.workloads import Plan

EXPECTED_WORKLOADS = {
    "llm_lookup_hit",
    "llm_update",
    "async_lookups",
    "embeddings_mget",
    "embeddings_mset",
    "cache_backed_embeddings",
    "clear",
}
EXPECTED_TARGETS = {
    "lookup_vs_raw",
    "lookup_vs_seed",
    "update_vs_seed",
    "mget_vs_raw",
    "mset_vs_seed",
    "async_vs_sequential",
    "scale",
}
STATISTICS = ("median_s", "p95_s", "mean_s", "min_s", "max_s")


def _positive(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


def _check_contender(workload: str, name: str, entry: dict[str, Any]) -> None:
    if entry["status"] == "fails":
        # only the seed's clear may fail (no _delete_by_query on the test node)
        assert (workload, name) == ("clear", "seed"), entry
        assert isinstance(entry["error"], str) and entry["error"]
        return
    assert entry["status"] == "ok", (workload, name, entry)
    assert entry["samples"] >= 1
    assert entry["ops_per_sample"] >= 1
    for statistic in STATISTICS:
        assert _positive(entry[statistic]), (workload, name, statistic, entry)
    assert entry["min_s"] <= entry["median_s"] <= entry["p95_s"] <= entry["max_s"]
    assert _positive(entry["ops_per_s"])


def test_quick_benchmark_produces_well_formed_results(es_url: str, tmp_path: Path) -> None:
    document = run_benchmarks(es_url, Plan.quick(), name="smoke", out_dir=tmp_path)

    written = json.loads((tmp_path / "smoke.json").read_text())
    assert written == json.loads(json.dumps(document))
    assert written["mode"] == "quick"
    assert written["environment"]["cores"] >= 1
    assert written["environment"]["elasticsearch"]

    workloads = written["workloads"]
    scale = {key for key in workloads if key.startswith("scale_lookup_")}
    assert len(scale) == 2
    assert set(workloads) == EXPECTED_WORKLOADS | scale
    for key, workload in workloads.items():
        assert workload["id"] == key
        assert workload["title"] and workload["unit"]
        assert set(CONTENDERS) <= set(workload["contenders"]), key
        for name, entry in workload["contenders"].items():
            assert name in workload["what"], (key, name)
            _check_contender(key, name, entry)
        assert set(workload["ratios"]) == {"ours/raw", "ours/seed"}
        assert _positive(workload["ratios"]["ours/raw"]), key
        seed_ok = workload["contenders"]["seed"]["status"] == "ok"
        assert _positive(workload["ratios"]["ours/seed"]) if seed_ok else True
        if not seed_ok:
            assert workload["ratios"]["ours/seed"] is None
    assert "ours_sync_sequential" in workloads["async_lookups"]["contenders"]

    targets = {target["id"]: target for target in written["targets"]}
    assert set(targets) == EXPECTED_TARGETS
    for target in targets.values():
        assert target["met"] in (True, False), target
        assert _positive(target["value"]), target
        assert target["detail"].startswith(("met", "missed"))

    markdown = (tmp_path / "smoke.md").read_text()
    assert "| Workload | ours | seed | raw | ours/raw | ours/seed |" in markdown
    for workload in workloads.values():
        assert workload["title"] in markdown
    assert "## Targets" in markdown and "## Machine" in markdown
