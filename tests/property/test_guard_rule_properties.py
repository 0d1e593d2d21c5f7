"""Properties of the default hit guard's rules: total (never raise), symmetric, reflexive,
and each refuses the change it is about whatever text surrounds it."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from langchain_elasticsearch_cache.domain.semantic import (
    DEFAULT_GUARD_RULES,
    HitGuard,
    calendar_guard,
    combine_guards,
    default_hit_guard,
    entity_order_guard,
    negation_guard,
    number_guard,
    opposite_guard,
    unit_guard,
    word_order_guard,
)

RULES: dict[str, HitGuard] = {**DEFAULT_GUARD_RULES, "default": default_hit_guard}
# any text, and text made of the rules' own vocabulary so they have something to compare
anything = st.text(st.characters(codec="utf-8"), max_size=80)
vocabulary = st.lists(
    st.sampled_from(
        [
            "not",
            "no",
            "never",
            "don't",
            "unsafe",
            "safe",
            "good",
            "bad",
            "Monday",
            "May",
            "may",
            "today",
            "km",
            "miles",
            "°C",
            "$",
            "€",
            "Paris",
            "Lyon",
            "cats",
            "chase",
            "mice",
            "3",
            "17",
            '"hi',
            'there"',
            "'",
            ":",
            ".",
            "?",
            ",",
            "In",
            "in",
            "the",
            "a",
            "is",
        ]
    ),
    max_size=12,
).map(" ".join)
texts = st.one_of(anything, vocabulary)
lower_words = st.lists(
    st.sampled_from(["apple", "tree", "river", "stone", "cloud", "glass"]), max_size=5
)


@pytest.mark.parametrize("name", sorted(RULES))
@settings(deadline=None, max_examples=150)
@given(a=texts, b=texts)
def test_every_rule_is_total_and_symmetric(name: str, a: str, b: str) -> None:
    rule = RULES[name]
    assert rule(a, b) == rule(b, a)
    assert isinstance(rule(a, None), bool)


@pytest.mark.parametrize("name", sorted(RULES))
@settings(deadline=None, max_examples=100)
@given(text=texts)
def test_every_rule_accepts_the_same_text(name: str, text: str) -> None:
    assert RULES[name](text, text)


@settings(deadline=None)
@given(texts)
def test_an_unknown_candidate_keeps_the_number_rule(text: str) -> None:
    assert default_hit_guard(text, None) == number_guard(text, None)


@settings(deadline=None)
@given(lower_words, st.sampled_from(["not", "never", "don't", "nicht", "não", "without"]))
def test_an_added_negation_is_refused(words: list[str], negator: str) -> None:
    text = " ".join(words)
    assert not negation_guard(f"Is {text} good?", f"Is {negator} {text} good?")
    assert not default_hit_guard(f"Is {text} good?", f"Is {negator} {text} good?")


@settings(deadline=None)
@given(
    lower_words,
    st.sampled_from(["Monday", "Friday", "January", "in May", "today", "tomorrow"]),
    st.sampled_from(["Sunday", "October", "yesterday", "next week"]),
)
def test_a_changed_calendar_word_is_refused(words: list[str], one: str, other: str) -> None:
    text = " ".join(words)
    assert not calendar_guard(f"What is on {one} {text}?", f"What is on {other} {text}?")


@settings(deadline=None)
@given(
    lower_words,
    st.sampled_from(["km", "°C", "$", "kilograms", "hours"]),
    st.sampled_from(["miles", "°F", "€", "pounds", "minutes"]),
)
def test_a_changed_unit_is_refused(words: list[str], one: str, other: str) -> None:
    text = " ".join(words)
    assert not unit_guard(f"Convert 5 {one} {text}", f"Convert 5 {other} {text}")


@settings(deadline=None)
@given(st.sampled_from(["Paris", "Berlin", "Rome", "Oslo"]), st.sampled_from(["Lyon", "Kyiv"]))
def test_swapped_entities_are_refused(x: str, y: str) -> None:
    assert not entity_order_guard(f"Is {x} bigger than {y}?", f"Is {y} bigger than {x}?")


@settings(deadline=None)
@given(
    st.lists(st.sampled_from(["apple", "tree", "river", "stone", "cloud"]), min_size=3, max_size=6)
)
def test_content_words_moved_as_a_block_are_accepted(words: list[str]) -> None:
    for k in range(len(words)):
        rotated = words[k:] + words[:k]
        assert word_order_guard(" ".join(words), ", ".join(rotated))


@settings(deadline=None)
@given(
    st.lists(st.sampled_from(["apple", "tree", "river", "stone", "cloud"]), min_size=3, max_size=6)
)
def test_two_content_words_swapped_in_place_are_refused(words: list[str]) -> None:
    # swap the first and the second-to-last word; everything else stays in place
    swapped = list(words)
    swapped[0], swapped[-2] = swapped[-2], swapped[0]
    rotations = [words[k:] + words[:k] for k in range(len(words))]
    assume(swapped not in rotations)
    assert not word_order_guard(" ".join(words), " ".join(swapped))


@settings(deadline=None)
@given(texts, texts)
def test_combined_guards_are_the_conjunction(a: str, b: str) -> None:
    combined = combine_guards(negation_guard, opposite_guard)
    assert combined(a, b) == (negation_guard(a, b) and opposite_guard(a, b))
