"""Properties of the semantic cache's pure rules: the prompt split and the number guard."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from langchain_elasticsearch_cache.domain.semantic import (
    PromptParts,
    extract_numbers,
    number_guard,
    partition_hashes,
    split_prompt,
)

texts = st.text(max_size=60)
printable = st.text(st.characters(codec="utf-8"), max_size=60)


def _turns(draw: st.DrawFn, n: int) -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    for i in range(n):
        content = draw(printable)
        messages.append(HumanMessage(content) if i % 2 == 0 else AIMessage(content))
    return messages


@st.composite
def conversations(draw: st.DrawFn) -> tuple[list[BaseMessage], str]:
    """(history before the last question, the last question's text)."""
    history: list[BaseMessage] = []
    if draw(st.booleans()):
        history.append(SystemMessage(draw(printable)))
    history += _turns(draw, draw(st.integers(0, 4)) * 2)
    return history, draw(printable)


@settings(deadline=None)
@given(st.text())
def test_split_never_raises_on_any_string(prompt: str) -> None:
    parts = split_prompt(prompt)
    assert isinstance(parts, PromptParts)
    assert isinstance(parts.meaning, str)
    assert isinstance(parts.context, str)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["lc", "type", "id", "kwargs", "content", "x"]), children)
    ),
    max_leaves=20,
)


@settings(deadline=None)
@given(st.lists(json_values, max_size=5))
def test_split_never_raises_on_odd_json(value: list[object]) -> None:
    parts = split_prompt(json.dumps(value))
    assert isinstance(parts, PromptParts)


@settings(deadline=None)
@given(st.text().filter(lambda text: not text.startswith("[")))
def test_plain_strings_are_embedded_whole(prompt: str) -> None:
    assert split_prompt(prompt) == PromptParts(meaning=prompt, context="")


@settings(deadline=None)
@given(conversations(), printable, printable)
def test_context_does_not_depend_on_the_last_questions_wording(
    conversation: tuple[list[BaseMessage], str], question: str, other_question: str
) -> None:
    history, _ = conversation
    first = split_prompt(dumps([*history, HumanMessage(question)]))
    second = split_prompt(dumps([*history, HumanMessage(other_question)]))
    assert first.meaning == question
    assert second.meaning == other_question
    assert first.context == second.context


@settings(deadline=None)
@given(conversations(), st.data())
def test_conversations_differing_in_any_earlier_turn_have_different_contexts(
    conversation: tuple[list[BaseMessage], str], data: st.DataObject
) -> None:
    history, question = conversation
    if not history:
        history = [SystemMessage("system")]
    index = data.draw(st.integers(0, len(history) - 1))
    original = history[index]
    changed_text = data.draw(printable.filter(lambda text: text != original.content))
    changed = [*history]
    changed[index] = type(original)(changed_text)
    a = split_prompt(dumps([*history, HumanMessage(question)]))
    b = split_prompt(dumps([*changed, HumanMessage(question)]))
    assert a.meaning == b.meaning == question
    assert partition_hashes("llm", a.context)[1] != partition_hashes("llm", b.context)[1]


@settings(deadline=None)
@given(texts, texts, texts, texts)
def test_partition_hashes_separate_their_inputs(
    llm_a: str, ctx_a: str, llm_b: str, ctx_b: str
) -> None:
    a, b = partition_hashes(llm_a, ctx_a), partition_hashes(llm_b, ctx_b)
    assert (a[0] == b[0]) == (llm_a == llm_b)
    assert (a[1] == b[1]) == (ctx_a == ctx_b)


@settings(deadline=None)
@given(texts, texts)
def test_number_guard_is_symmetric(a: str, b: str) -> None:
    assert number_guard(a, b) == number_guard(b, a)


@settings(deadline=None)
@given(texts)
def test_number_guard_accepts_the_same_text(text: str) -> None:
    assert number_guard(text, text)


@settings(deadline=None)
@given(texts, st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6))
def test_number_guard_refuses_a_changed_number(text: str, x: int, y: int) -> None:
    if x == y:
        y = x + 1
    assert not number_guard(f"{text} ({x})", f"{text} ({y})")


@settings(deadline=None)
@given(texts)
def test_unknown_candidate_text_is_accepted_only_without_numbers(text: str) -> None:
    assert number_guard(text, None) == (not extract_numbers(text))
