"""The per-rule measurement of a hit guard (evaluation.guard_report), on pairs whose
similarities and verdicts are known by construction."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from langchain_elasticsearch_cache.evaluation import LabelledPair
from langchain_elasticsearch_cache.evaluation.guard_report import (
    format_guard_report,
    main,
    rule_refusals,
)

# each text embeds to a vector whose cosine with "base" is known: "near" 1.0, "far" 0.0
VECTORS = {"base": [1.0, 0.0], "near": [1.0, 0.0], "far": [0.0, 1.0], "near2": [1.0, 0.0]}


def embed(texts: list[str]) -> Sequence[Sequence[float]]:
    return [VECTORS[text.split("|")[-1]] for text in texts]


def no_near(a: str, b: str) -> bool:
    return "near" not in a + b


def no_far(a: str, b: str) -> bool:
    return "far" not in a + b


def split(prompt: str) -> tuple[str, str]:
    context, _, meaning = prompt.rpartition("|")
    return context, meaning


PAIRS = [
    LabelledPair("base", "near", same=True),  # refused by no_near alone, similarity 1
    LabelledPair("base", "near2", same=False),  # refused by no_near alone, similarity 1
    LabelledPair("base", "far", same=False),  # refused by no_far alone, similarity 0
    LabelledPair("base", "base", same=True),  # a true hit
    LabelledPair("x|base", "y|near", same=True),  # contexts differ: never counted
]


def test_each_rule_counts_its_refusals_at_the_threshold_and_on_all_pairs() -> None:
    report = rule_refusals(
        PAIRS, embed=embed, split=split, rules={"near": no_near, "far": no_far}, threshold=0.9
    )
    near, far = report.rules
    assert (near.rule, near.same_at, near.different_at) == ("near", 1, 1)
    assert (near.same_only_at, near.different_only_at) == (1, 1)
    assert (near.same_all, near.different_all) == (1, 1)
    assert [(a, b) for a, b, _, _ in near.refused_same] == [("base", "near")]
    assert (far.same_at, far.different_at, far.same_all, far.different_all) == (0, 0, 0, 1)
    # the whole guard: one hit ("base"/"base"), right
    assert (report.hits, report.false_hits, report.precision) == (1, 0, 1.0)
    assert report.hit_rate == pytest.approx(1 / 5)


def test_only_counts_a_refusal_no_other_rule_makes() -> None:
    report = rule_refusals(
        PAIRS[:2], embed=embed, rules={"a": no_near, "b": no_near}, threshold=0.9
    )
    assert [(r.different_at, r.different_only_at) for r in report.rules] == [(1, 0), (1, 0)]


def test_the_table_and_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    report = rule_refusals(PAIRS, embed=embed, split=split, rules={"near": no_near})
    table = format_guard_report([report], details=True)
    assert "| `near` | 1 | 1 | 1 / 1 | 1 / 1 |" in table
    assert "`near` refuses a paraphrase (cosine 1.000, None): 'base' / 'near'" in table

    def load(spec: str) -> object:
        assert spec == "fake"
        return lambda texts: [[1.0, float(len(text) % 3)] for text in texts]

    assert main(["--embedding", "fake", "--threshold", "0.95"], load=load) == 0  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "**main set (`builtin`)** (700 pairs): at 0.95" in out
    assert "**held-out set (`builtin-holdout`)** (80 pairs)" in out
    assert "| `word_order` |" in out
