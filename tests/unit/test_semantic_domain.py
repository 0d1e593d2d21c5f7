"""The semantic cache's pure rules, by example: split, threshold, guard, policy."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest
from langchain_core.load import dumps
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache.domain.errors import ConfigurationError
from langchain_elasticsearch_cache.domain.policies import LlmCachePolicy
from langchain_elasticsearch_cache.domain.semantic import (
    DEFAULT_SIMILARITY_THRESHOLD,
    PromptParts,
    SemanticCachePolicy,
    extract_numbers,
    number_guard,
    partition_hashes,
    split_prompt,
    validate_similarity_threshold,
)
from langchain_elasticsearch_cache.domain.semantic_records import SemanticCandidate

from .conftest import T0

# --------------------------------------------------------------------------- split


def test_the_last_human_message_is_the_meaning() -> None:
    prompt = dumps([SystemMessage("Be brief."), HumanMessage("What is a cache?")])
    parts = split_prompt(prompt)
    assert parts.meaning == "What is a cache?"
    assert "Be brief." in parts.context
    assert "What is a cache?" not in parts.context


def test_earlier_turns_tool_results_and_later_messages_are_context() -> None:
    history = [
        SystemMessage("system"),
        HumanMessage("first question"),
        AIMessage("", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "t1"}]),
        ToolMessage("tool result", tool_call_id="t1"),
        HumanMessage("the question"),
        AIMessage("partial answer"),
    ]
    parts = split_prompt(dumps(history))
    assert parts.meaning == "the question"
    for text in ("system", "first question", "tool result", "search", "partial answer"):
        assert text in parts.context


def test_fields_no_model_sees_are_not_context() -> None:
    def conversation(run: str) -> str:
        answer = AIMessage(
            "hello", id=f"run-{run}", response_metadata={"took": run}, usage_metadata=None
        )
        return dumps([HumanMessage("hi", id=run), answer, HumanMessage("and?", id=run)])

    assert split_prompt(conversation("1")) == split_prompt(conversation("2"))


def test_text_parts_are_meaning_and_other_parts_context() -> None:
    def ask(url: str) -> PromptParts:
        content = [
            {"type": "text", "text": "What is in"},
            {"type": "image_url", "image_url": {"url": url}},
            {"type": "text", "text": "this picture?"},
        ]
        return split_prompt(dumps([HumanMessage(content=content)]))

    cat, dog = ask("https://example.org/cat.png"), ask("https://example.org/dog.png")
    assert cat.meaning == dog.meaning == "What is in\nthis picture?"
    assert cat.context != dog.context
    assert "cat.png" in cat.context


def test_a_chat_message_with_the_user_role_is_a_question() -> None:
    parts = split_prompt(dumps([ChatMessage(content="hello there", role="user")]))
    assert parts.meaning == "hello there"
    assert parts.context != ""


@pytest.mark.parametrize(
    "prompt",
    [
        "What is a cache?",
        "",
        "[not json",
        "[]",
        "[1, 2, 3]",
        '[{"lc": 1, "type": "constructor", "id": ["x", "AIMessage"], "kwargs": {}}]',
        '{"lc": 1}',
        '[{"lc": 1, "type": "constructor", "id": ["HumanMessage"], "kwargs": {"content": 7}}]',
        "[" * 100_000,
        '[{"lc": 1, "type": "constructor", "id": ["HumanMessage"], "kwargs": {"content": '
        + "1" * 5000
        + "}}]",
    ],
)
def test_anything_else_is_meaning_whole(prompt: str) -> None:
    assert split_prompt(prompt) == PromptParts(meaning=prompt, context="")


def test_blank_meanings_are_not_searchable() -> None:
    assert not PromptParts("   \n").searchable
    image_only = [{"type": "image_url", "image_url": {"url": "https://example.org/a.png"}}]
    assert not split_prompt(dumps([HumanMessage(content=image_only)])).searchable
    assert PromptParts("x").searchable


def test_partition_hashes_are_framed() -> None:
    assert partition_hashes("ab", "c") != partition_hashes("a", "bc")
    llm_hash, context_hash = partition_hashes("same", "same")
    assert llm_hash != context_hash
    assert len(llm_hash) == len(context_hash) == 64


# --------------------------------------------------------------------------- threshold


@pytest.mark.parametrize("value", [-1, -1.0, 0, 0.0, 0.5, 0.9, 1, 1.0])
def test_thresholds_in_range_are_accepted(value: float) -> None:
    assert validate_similarity_threshold(value) == float(value)


@pytest.mark.parametrize(
    "value", [None, True, False, "0.9", 1.0001, -1.5, 2, math.nan, math.inf, -math.inf]
)
def test_other_thresholds_are_configuration_errors(value: object) -> None:
    with pytest.raises(ConfigurationError, match="similarity_threshold") as info:
        validate_similarity_threshold(value)
    assert "between -1 and 1" in str(info.value)


def test_zero_is_a_threshold_not_unset() -> None:
    assert SemanticCachePolicy(similarity_threshold=0).similarity_threshold == 0.0
    assert SemanticCachePolicy().similarity_threshold == DEFAULT_SIMILARITY_THRESHOLD


@pytest.mark.parametrize("k", [0, -1, 101, 1.5, True, None])
def test_bad_k_is_a_configuration_error(k: object) -> None:
    with pytest.raises(ConfigurationError, match="k "):
        SemanticCachePolicy(k=k)  # type: ignore[arg-type]


def test_bad_guard_and_splitter_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="hit_guard must be a callable"):
        SemanticCachePolicy(hit_guard="numbers")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="prompt_splitter must be a callable"):
        SemanticCachePolicy(splitter=42)  # type: ignore[arg-type]


def test_a_custom_splitter_is_used_and_checked() -> None:
    policy = SemanticCachePolicy(splitter=lambda prompt: PromptParts(prompt[-3:], prompt[:-3]))
    assert policy.split("abcdef") == PromptParts("def", "abc")
    assert SemanticCachePolicy(splitter=lambda p: (p, "ctx")).split("q") == PromptParts("q", "ctx")
    with pytest.raises(ConfigurationError, match="must return PromptParts"):
        SemanticCachePolicy(splitter=lambda p: p).split("q")  # type: ignore[arg-type,return-value]


# --------------------------------------------------------------------------- guard


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What is 2+2?", "what's 2 + 2"),
        ("two apples and 3 pears", "2 apples and three pears"),
        ("1,000 users", "1000 users"),
        ("a 2.50 fee", "a 2.5 fee"),
        ("twenty-one pilots", "21 pilots"),
        ("the 3rd planet", "the third planet"),
        ("no numbers here", "none here either"),
        ("٢ + ٢", "2 + 2"),
        ("Which one is better?", "Which is better?"),  # a pronoun (issue 18)
    ],
)
def test_the_guard_accepts_the_same_numbers(a: str, b: str) -> None:
    assert number_guard(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What is 2+2?", "What is 2+3?"),
        ("What is 2+2?", "What is 2?"),
        ("It is -5 degrees", "It is 5 degrees"),
        ("50% of 10", "50 of 10"),
        ("1.5 liters", "15 liters"),
        ("two apples", "three apples"),
        ("the second largest", "the third largest"),
        ("the 2nd largest", "2 largest"),
        ("in 2023", "in 2024"),
        # "one" as a pronoun is no number (issue 18), but against another number it differs
        ("Which one is better?", "Which two are better?"),
    ],
)
def test_the_guard_refuses_other_numbers(a: str, b: str) -> None:
    assert not number_guard(a, b)
    assert not number_guard(b, a)


def test_an_operator_is_not_a_sign() -> None:
    assert extract_numbers("2-5") == extract_numbers("2 and 5")
    assert extract_numbers("x = -5") != extract_numbers("x = 5")


def test_without_the_candidate_text_only_number_free_queries_pass() -> None:
    assert number_guard("What is a cache?", None)
    assert not number_guard("What is 2+2?", None)


# --------------------------------------------------------------------------- policy

LLM = "llm-string"
GOOD = [Generation(text="four")]


def _candidate(policy: SemanticCachePolicy, prompt: str, similarity: float, **changes: object):  # type: ignore[no-untyped-def]
    parts = policy.split(prompt)
    record = policy.record(prompt, LLM, GOOD, parts, (1.0, 0.0), changes.pop("now", T0))
    if changes:
        import attrs

        record = attrs.evolve(record, **changes)
    return SemanticCandidate(record=record, similarity=similarity)


def test_choose_takes_the_most_similar_acceptable_candidate() -> None:
    policy = SemanticCachePolicy(llm=LlmCachePolicy(ttl=60))
    parts = policy.split("What is two plus two?")
    query = policy.query(parts, LLM, (1.0, 0.0), T0)
    assert query.not_before == T0 - timedelta(seconds=60)
    assert query.min_similarity == DEFAULT_SIMILARITY_THRESHOLD
    corrupt = _candidate(policy, "what is 2 plus 2", 0.99, llm_output=("not json",))
    wrong_number = _candidate(policy, "What is 2 plus 3?", 0.98)
    expired = _candidate(policy, "two plus two?", 0.97, now=T0 - timedelta(seconds=60))
    other_model = _candidate(policy, "2 plus 2?", 0.96, llm_string_hash="x" * 64)
    below = _candidate(policy, "2+2", 0.5)
    good = _candidate(policy, "What's two plus two?", 0.93)
    candidates = [below, good, other_model, expired, wrong_number, corrupt]
    hit = policy.choose(query, parts.meaning, candidates, T0)
    assert hit is not None
    assert hit.candidate is good
    assert hit.generations == GOOD
    assert policy.choose(query, parts.meaning, [corrupt, wrong_number, below], T0) is None


def test_choose_without_a_guard_and_a_custom_guard() -> None:
    seen: list[tuple[str, str | None]] = []

    def guard(query_text: str, candidate_text: str | None) -> bool:
        seen.append((query_text, candidate_text))
        return "ok" in (candidate_text or "")

    unguarded = SemanticCachePolicy(hit_guard=None)
    parts = unguarded.split("What is 2+2?")
    query = unguarded.query(parts, LLM, (1.0, 0.0), T0)
    three = _candidate(unguarded, "What is 2+3?", 0.95)
    assert unguarded.choose(query, parts.meaning, [three], T0) is not None
    guarded = SemanticCachePolicy(hit_guard=guard)
    assert guarded.choose(query, parts.meaning, [three], T0) is None
    assert seen == [("What is 2+2?", "What is 2+3?")]


def test_records_keep_the_meaning_only_when_inputs_are_stored() -> None:
    prompt = dumps([SystemMessage("s"), HumanMessage("q?")])
    parts = split_prompt(prompt)
    kept = SemanticCachePolicy().record(prompt, LLM, GOOD, parts, (1.0,), T0)
    assert kept.prompt_text == "q?"
    assert kept.llm_input == prompt
    assert (kept.llm_string_hash, kept.context_hash) == partition_hashes(LLM, parts.context)
    assert json.loads(kept.llm_output[0])["kwargs"]["text"] == "four"
    hidden = SemanticCachePolicy(llm=LlmCachePolicy(store_input=False))
    record = hidden.record(prompt, LLM, GOOD, parts, (1.0,), T0)
    assert record.prompt_text is None
    assert record.llm_input is None
