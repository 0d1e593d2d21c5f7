"""Every committed benchmark result re-renders, from its saved JSON and without measuring,
to the very Markdown committed beside it (benchmarks/results/*.md, benchmarks/SEMANTIC.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.render import RESULTS, main, rendered

SAVED = sorted(RESULTS.glob("*.json"))


@pytest.mark.parametrize("path", SAVED, ids=[path.name for path in SAVED])
def test_a_saved_result_renders_to_its_committed_markdown(path: Path) -> None:
    target = rendered(path)
    if target is None:  # a JSON-only result (streaming.json): nothing to compare
        assert path.with_suffix(".md").exists() is False
        return
    markdown_path, text = target
    assert markdown_path.read_text(encoding="utf-8") == text


def test_check_mode_reports_a_stale_markdown(tmp_path: Path) -> None:
    saved = tmp_path / "results" / "semantic-class.json"
    saved.parent.mkdir()
    saved.write_text((RESULTS / "semantic-class.json").read_text(encoding="utf-8"))
    (saved.parent / "semantic-class.md").write_text("stale\n")
    assert main(["--check", str(saved)]) == 1
    assert (saved.parent / "semantic-class.md").read_text() == "stale\n"
    assert main([str(saved)]) == 0
    assert main(["--check", str(saved)]) == 0
    assert (saved.parent / "semantic-class.md").read_text(encoding="utf-8") == (
        RESULTS / "semantic-class.md"
    ).read_text(encoding="utf-8")
