"""The default hit guard decides exactly as recorded: every rule's verdict on every pair of
the evaluation sets (raw prompts and meaning texts, both ways round) and on pairs drawn from
the property tests' generators, and what the rules' public feature functions return.

The snapshot (``data/guard_decisions.json``) was recorded from the guard before it was made
cheaper (issue 19): a change that only speeds the guard up must leave it identical. A change
meant to alter a decision re-records it, and the diff shows every decision it altered:

    .venv/bin/python -m tests.unit.test_guard_decisions
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_elasticsearch_cache.domain.semantic import (
    DEFAULT_GUARD_RULES,
    calendar_guard,
    default_hit_guard,
    split_prompt,
)
from langchain_elasticsearch_cache.domain.semantic.guards import (
    calendar_words,
    content_words,
    entities,
    extract_numbers,
    unit_words,
)
from langchain_elasticsearch_cache.evaluation import builtin_pairs, holdout_pairs

SNAPSHOT = Path(__file__).parent / "data" / "guard_decisions.json"
GENERATED_PAIRS = 400  # drawn from each of the property tests' text strategies
WHOLE_PROMPTS = 8  # chat pairs also recorded as the whole serialised prompts


def _refusals(a: str, b: str | None) -> list[str]:
    """The rules of the default guard that refuse ``b`` for ``a``, in the guard's order."""
    return [name for name, rule in DEFAULT_GUARD_RULES.items() if not rule(a, b)]


def _features(text: str) -> dict[str, Any]:
    return {
        "numbers": sorted([*key, count] for key, count in extract_numbers(text).items()),
        "calendar": sorted(calendar_words(text).items()),
        "units": sorted(unit_words(text).items()),
        "entities": entities(text),
        "content_words": content_words(text),
        "unknown_candidate": _refusals(text, None),
    }


_LONG = "Tell me about the Rhine. " * 45  # over the length the guard's caches remember
#: Texts at the edges of the shortcuts a cheaper guard may take: letters that IGNORECASE
#: reads as ASCII ones, apostrophes, quotes, speeds, capitals, texts longer than the caches
#: keep.
EDGE_PAIRS = [
    ("Give me fIVE apples", "Give me 5 apples"),
    ("\u017fome \u0130ron apples, please", "6 apples, please"),
    ("SEVEN\u212a or seven", "seven"),
    ("Is one's best enough?", "Is one best enough?"),
    ("twenty\u2019s club", "the 20's club"),
    ("Three\u2019s company", "3 is company"),
    ("It's 'five' o'clock", "It's five o'clock"),
    ("\u00dcber f\u00fcnf: five", "five"),
    ("\u0130stanbul or Ankara?", "Ankara or \u0130stanbul?"),
    ("\u01c5ungla and Paris", "Paris and \u01c5ungla"),
    ("Drive at 50 km/h for two hours", "Drive at 50 mph for 2 hours"),
    ("km/h to miles", "miles to km/h"),
    ("“Dune” or «Emma»?", "«Emma» or “Dune”?"),
    ("Is it unsafe or safe?", "Is it safe?"),
    ("the pros and cons of tea", "the cons of tea"),
    ("in May", "in may"),
    (_LONG + "Is Paris bigger than Lyon? 3 km", _LONG + "Is Lyon bigger than Paris? 3 miles"),
    (_LONG + "Why do cats chase mice?", _LONG + "Why do mice chase cats?"),
    (_LONG + "not five", _LONG + "five"),
]


def _evaluation_pairs() -> Iterator[tuple[str, str]]:
    """Each pair's meaning texts (what the guard sees), and a few whole chat prompts (long
    serialised message lists, as a guard would see them with a splitter of no context)."""
    whole_prompts = 0
    for pair in [*builtin_pairs(), *holdout_pairs()]:
        meaning_a, meaning_b = split_prompt(pair.a).meaning, split_prompt(pair.b).meaning
        yield meaning_a, meaning_b
        if (meaning_a, meaning_b) != (pair.a, pair.b) and whole_prompts < WHOLE_PROMPTS:
            whole_prompts += 1
            yield pair.a, pair.b


def _generated_pairs() -> list[tuple[str, str]]:  # pragma: no cover - recording only
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from tests.property.test_guard_rule_properties import role_vocabulary, texts

    drawn: list[tuple[str, str]] = []
    for strategy in (
        st.tuples(texts, texts),
        st.tuples(role_vocabulary, role_vocabulary),
        # the same words in another order: what the word and entity order rules look at
        role_vocabulary.map(str.split).flatmap(
            lambda ws: st.tuples(st.just(" ".join(ws)), st.permutations(ws).map(" ".join))
        ),
    ):

        @settings(
            max_examples=GENERATED_PAIRS,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def collect(pair: tuple[str, str]) -> None:
            drawn.append(pair)

        collect()
    return drawn


def record() -> None:  # pragma: no cover - run by hand, see the module docstring
    pairs = list(dict.fromkeys([*_evaluation_pairs(), *EDGE_PAIRS, *_generated_pairs()]))
    texts = sorted({text for pair in pairs for text in pair})
    snapshot = {
        "pairs": [[a, b, _refusals(a, b), _refusals(b, a)] for a, b in pairs],
        "texts": {text: _features(text) for text in texts},
    }
    # one pair, one text a line: a re-recording's diff shows each decision it altered
    lines = [json.dumps(pair, ensure_ascii=False) for pair in snapshot["pairs"]]
    entries = [
        json.dumps(text, ensure_ascii=False) + ": " + json.dumps(features, ensure_ascii=False)
        for text, features in snapshot["texts"].items()
    ]
    body = '{"pairs": [\n' + ",\n".join(lines) + '\n],\n"texts": {\n' + ",\n".join(entries)
    SNAPSHOT.parent.mkdir(exist_ok=True)
    SNAPSHOT.write_text(body + "\n}}\n", "utf-8")
    print(f"{SNAPSHOT}: {len(pairs)} pairs, {len(texts)} texts")


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SNAPSHOT.read_text("utf-8"))
    return data


def test_the_snapshot_covers_the_evaluation_sets_and_refusals(snapshot: dict[str, Any]) -> None:
    recorded = {(a, b) for a, b, _, _ in snapshot["pairs"]}
    assert set(_evaluation_pairs()) <= recorded
    assert set(EDGE_PAIRS) <= recorded
    refusing = {name for _, _, ab, ba in snapshot["pairs"] for name in ab + ba}
    assert refusing == set(DEFAULT_GUARD_RULES)  # every rule refuses some recorded pair


def test_every_rule_decides_every_pair_as_recorded(snapshot: dict[str, Any]) -> None:
    changed = [
        (a, b, expected_ab, expected_ba, _refusals(a, b), _refusals(b, a))
        for a, b, expected_ab, expected_ba in snapshot["pairs"]
        if (_refusals(a, b), _refusals(b, a)) != (expected_ab, expected_ba)
    ]
    assert changed == []


def test_the_default_guard_decides_every_pair_as_recorded(snapshot: dict[str, Any]) -> None:
    changed = [
        (a, b)
        for a, b, expected_ab, expected_ba in snapshot["pairs"]
        if default_hit_guard(a, b) != (not expected_ab)
        or default_hit_guard(b, a) != (not expected_ba)
    ]
    assert changed == []


def test_the_feature_functions_return_what_was_recorded(snapshot: dict[str, Any]) -> None:
    expected = snapshot["texts"]
    current = json.loads(json.dumps({text: _features(text) for text in expected}))
    changed = {
        text: (expected[text], current[text])
        for text in expected
        if current[text] != expected[text]
    }
    assert changed == {}


def test_a_recorded_pair_is_decided_the_same_when_asked_again(snapshot: dict[str, Any]) -> None:
    # what a cache does: the candidate's text comes back lookup after lookup
    a, b, expected, _ = next(item for item in snapshot["pairs"] if "calendar" in item[2])
    for _ in range(3):
        assert _refusals(a, b) == expected
        assert calendar_guard(a, b) is False


def test_what_the_feature_functions_return_is_the_callers_own() -> None:
    # the guard remembers each text's analysis: a caller changing what it was handed must
    # not change what the guard sees next
    text, other = "Walk 5 km on Monday, Paris to Lyon", "Walk 6 miles on Sunday, Lyon to Paris"
    for mutable in (extract_numbers(text), calendar_words(text), unit_words(text)):
        mutable.clear()
    entities(text).clear()
    content_words(text).clear()
    assert extract_numbers(text) and calendar_words(text) and unit_words(text)
    assert entities(text) == ["#5", "monday", "paris", "lyon"]
    assert _refusals(text, other) == ["numbers", "calendar", "units", "entity_order"]


if __name__ == "__main__":  # pragma: no cover
    record()
