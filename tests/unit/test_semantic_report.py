"""The semantic quality report's command runs (quick mode, a subset) and writes its files,
so benchmarks/SEMANTIC.md cannot rot; and the committed report agrees with its JSON."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import semantic_render, semantic_report

ROOT = Path(__file__).resolve().parents[2]


def test_quick_mode_writes_the_markdown_the_json_and_the_plots(tmp_path: Path) -> None:
    from matplotlib.image import imread

    markdown = tmp_path / "SEMANTIC.md"
    assert (
        semantic_report.main(["--quick", "--out-dir", str(tmp_path), "--markdown", str(markdown)])
        == 0
    )
    data = json.loads((tmp_path / "semantic.json").read_text(encoding="utf-8"))
    assert data["quick"] is True
    assert data["pairs"] == 17 * 8  # eight pairs of each of the 17 categories
    text = markdown.read_text(encoding="utf-8")
    default = data["default"]
    # the figures in the markdown are the JSON's, formatted
    assert f"precision **{default['precision']:.3f}**" in text
    assert f"{default['false_hits']} wrong of {default['hits']} hits" in text
    assert "Quick mode" in text
    # extraction beats the serialised prompt on chat pairs, even on the subset
    assert data["chat"]["extraction_beats_serialised"] is True
    assert "prompt-text extraction **beats**" in text
    # exact repeats: all hit, none needs an embedding call
    exact = data["exact_key_first"]
    assert exact["repeat_hits"] == exact["repeat_lookups"] == exact["distinct_prompts"]
    assert exact["repeat_embedding_calls_with_exact_first"] == 0
    assert data["gptcache"]["ran"] is False
    for name in ("semantic-curves.png", "semantic-calibration.png"):
        assert imread(tmp_path / name).ndim == 3


def test_the_committed_report_matches_its_json() -> None:
    data = json.loads((ROOT / "benchmarks" / "results" / "semantic.json").read_text("utf-8"))
    assert data["quick"] is False
    committed = (ROOT / "benchmarks" / "SEMANTIC.md").read_text(encoding="utf-8")
    assert committed == semantic_render.markdown(data)
