"""The verified-cache benchmark (issue 18) runs in quick mode and writes a well-formed
report; its counts are exact (the stream, the fake embedding and the caches are
deterministic), so they are asserted. No time is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.verified import (
    QUICK,
    SPLITS,
    BagOfWordsEmbeddings,
    MemoEmbeddings,
    clopper_pearson,
    main,
    make_stream,
    run_stream,
    static_cache,
    verified_cache,
    verified_unavailable,
)
from benchmarks.verified_data import design, heldout
from benchmarks.verified_render import fill_template
from langchain_elasticsearch_cache import InMemorySemanticCache

# (requests, LLM calls, exact hits, semantic hits, wrong): the design part in varied
# wording, seed 1, 150 requests, the bag-of-words fake, the default hit guard
EXPECTED_STATIC = {
    "0.6": (150, 63, 13, 74, 21),
    "0.8": (150, 99, 16, 35, 3),
    "0.9": (150, 112, 18, 20, 2),
    "0.995": (150, 126, 23, 1, 0),  # "{bare}": lower case, no "?": the same bag of words
}
# The verified cache (every delta, floor 0.9 and 0.7): on so short a stream no entry has
# the evidence to be served, so every prompt that is not an exact repeat explores (a miss).
EXPECTED_VERIFIED = (150, 127, 23, 0, 0)
FIELDS = ("requests", "llm_calls", "exact_hits", "semantic_hits", "wrong")


def test_quick_mode_writes_json_markdown_and_plot(tmp_path: Path) -> None:
    report = tmp_path / "VERIFIED-quick.md"
    assert main(["--quick", "--results-dir", str(tmp_path), "--report", str(report)]) == 0

    data = json.loads((tmp_path / "verified-quick.json").read_text())
    assert list(data["models"]) == ["bag-of-words"]
    split = data["models"]["bag-of-words"]["splits"]["design+varied"]
    assert split["wording"] == "varied" and split["split"] == "design"
    assert data["data"]["design"]["groups"] == len(design.GROUPS) == 88
    assert data["data"]["design"]["prompts"] == 271

    counts = {
        threshold: tuple(row["pooled"][key] for key in FIELDS)
        for threshold, row in split["static"].items()
    }
    assert counts == EXPECTED_STATIC
    for row in split["static"].values():
        pooled = row["pooled"]
        assert pooled["requests"] == pooled["llm_calls"] + pooled["served"]
        assert pooled["wrong"] <= pooled["semantic_hits"]  # an exact hit is never wrong
        assert sum(pooled["wrong_by_kind"].values()) == pooled["wrong"]
        low, high = pooled["error_ci"]
        assert low <= (pooled["error_rate"] or 0.0) <= high

    assert data["verified_available"] is True
    assert set(split["verified"]) == {
        f"{d:g}@{f:g}@{e}" for d in QUICK.deltas for f in QUICK.floors for e in QUICK.evidence
    }
    assert {row["evidence"] for row in split["verified"].values()} == {"entry", "pool"}
    for row in split["verified"].values():
        assert tuple(row["pooled"][key] for key in FIELDS) == EXPECTED_VERIFIED
        assert set(row["runs"]) == {"1"}
        assert row["runs"]["1"]["best_static_same_error"]["threshold"] == 0.995

    text = report.read_text()
    assert "{{" not in text and "held-out" in text
    for threshold in EXPECTED_STATIC:
        assert f"| {threshold}" in text
    png = tmp_path / "verified-quick-bag-of-words.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](verified-quick-bag-of-words.png)" in text or "verified-quick-bag-of-words.png" in text


def test_the_numpy_store_answers_like_the_shipped_one() -> None:
    groups = SPLITS["design"]
    embedding = MemoEmbeddings(BagOfWordsEmbeddings())
    stream = make_stream(groups, 150, seed=2, zipf=1.0, varied=True)
    for threshold in (0.5, 0.8):
        fast = run_stream(static_cache(embedding, threshold), stream, groups)
        shipped = run_stream(
            InMemorySemanticCache(embedding, similarity_threshold=threshold), stream, groups
        )
        assert fast == shipped
        assert fast.semantic_hits > 0
    # the verified cache's explore, judge and observation path through both stores
    fast = run_stream(verified_cache(embedding, 0.05, 0.7), stream, groups)
    shipped = run_stream(
        InMemorySemanticCache(embedding, similarity_threshold=0.7, max_error_rate=0.05),
        stream,
        groups,
    )
    assert fast == shipped


def test_streams_are_reproducible_and_carry_their_ground_truth() -> None:
    groups = heldout.GROUPS
    stream = make_stream(groups, 300, seed=7, zipf=1.0)
    assert stream == make_stream(groups, 300, seed=7, zipf=1.0)
    assert stream != make_stream(groups, 300, seed=8, zipf=1.0)
    by_id = {g.id: g for g in groups}
    assert all(request.prompt in by_id[request.answer_id].prompts for request in stream)
    # popularity is skewed: the most requested group is asked far more than the median one
    counts = sorted((sum(r.answer_id == g.id for r in stream) for g in groups), reverse=True)
    assert counts[0] >= 5 * max(counts[len(counts) // 2], 1)


def test_the_two_parts_share_no_prompt_and_answers_are_unique() -> None:
    held = {p for g in heldout.GROUPS for p in g.prompts}
    designed = {p for g in design.GROUPS for p in g.prompts}
    assert not held & designed
    answers = [g.answer for g in [*heldout.GROUPS, *design.GROUPS]]
    assert len(set(answers)) == len(answers)


def test_clopper_pearson_matches_known_intervals() -> None:
    low, high = clopper_pearson(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-9)
    low, high = clopper_pearson(5, 10)
    assert low == pytest.approx(0.18709, abs=1e-4) and high == pytest.approx(0.81291, abs=1e-4)
    assert clopper_pearson(0, 0) == (0.0, 1.0)


def test_template_refuses_missing_and_unused_values() -> None:
    assert fill_template("a {{ x }} b", {"x": "1"}) == "a 1 b"
    with pytest.raises(ValueError, match="no value for"):
        fill_template("{{ x }} {{ y }}", {"x": "1"})
    with pytest.raises(ValueError, match="no placeholder for"):
        fill_template("{{ x }}", {"x": "1", "z": "2"})


def test_verified_availability_is_read_from_the_installed_library() -> None:
    assert verified_unavailable() is None  # the library's semantic cache takes max_error_rate
