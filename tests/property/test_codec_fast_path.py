"""The generation codec's fast path decodes exactly what LangChain's ``loads`` decodes.

``GenerationCodec.decode`` builds the allowlisted classes itself instead of calling
``loads`` (which is several times slower); these tests compare it with the reference
``loads(..., allowed_objects=ALLOWED_GENERATION_CLASSES, secrets_from_env=False)`` on
genuine generations and on forged JSON: escaped user data in every position, ids of
allowed, legacy and forbidden classes, secrets, ``not_implemented`` markers, odd types.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_elasticsearch_cache.domain import ALLOWED_GENERATION_CLASSES, GenerationCodec
from langchain_elasticsearch_cache.domain.codecs import _FAST_CLASSES, _secret_reference

codec = GenerationCodec()

ALLOWED_IDS = [list(cls.lc_id()) for cls in ALLOWED_GENERATION_CLASSES]
OTHER_IDS = [
    ["langchain_core", "outputs", "generation", "Generation"],  # the import path, not the id
    ["langchain", "prompts", "prompt", "PromptTemplate"],
    ["langchain_core", "documents", "base", "Document"],
    ["langchain", "schema", "document", "Document"],
    ["os", "system"],
    [],
    "langchain",
    [["langchain"]],
]
IDS = st.sampled_from(ALLOWED_IDS + OTHER_IDS)
WORDS = st.sampled_from(
    ["constructor", "secret", "not_implemented", "text", "ai", "x", "jinja2", "__lc_escaped__"]
)
SCALARS = st.none() | st.booleans() | st.sampled_from([0, 1, 1.0, 2]) | WORDS
KEYS = st.sampled_from(
    [
        "lc",
        "type",
        "id",
        "kwargs",
        "__lc_escaped__",
        "text",
        "message",
        "content",
        "generation_info",
        "template_format",
        "additional_kwargs",
    ]
)


def _constructor(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"lc": st.just(1) | SCALARS, "type": WORDS, "id": IDS | children},
        optional={"kwargs": st.dictionaries(KEYS, children, max_size=3) | children},
    )


def _escaped(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda inner: {"__lc_escaped__": inner}, children)


FORGED = st.recursive(
    SCALARS | IDS,
    lambda children: (
        _constructor(children)
        | _escaped(children)
        | st.dictionaries(KEYS, children, max_size=3)
        | st.lists(children, max_size=3)
    ),
    max_leaves=12,
)


def _reference(item: str) -> list[Generation] | None:
    """What the codec answered before the fast path: LangChain's allowlisted ``loads``."""
    if '"secret"' in item and _secret_reference(item):
        return None
    try:
        value = loads(item, allowed_objects=ALLOWED_GENERATION_CLASSES, secrets_from_env=False)
    except Exception:
        return None
    return [value] if isinstance(value, Generation) else None


def _same(got: list[Generation] | None, want: list[Generation] | None) -> None:
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        assert got == want
        assert [type(g) for g in got] == [type(g) for g in want]


def test_every_allowed_class_has_a_fast_path() -> None:
    assert set(_FAST_CLASSES.values()) == set(ALLOWED_GENERATION_CLASSES)


@pytest.mark.filterwarnings("ignore::Warning")
@settings(deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(FORGED)
def test_forged_json_decodes_as_loads_decodes_it(value: Any) -> None:
    item = json.dumps(value)
    logging.disable(logging.WARNING)
    try:
        _same(codec.decode([item]), _reference(item))
    finally:
        logging.disable(logging.NOTSET)


@pytest.mark.filterwarnings("ignore::Warning")
@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(FORGED)
def test_forged_kwargs_inside_a_real_generation(value: Any) -> None:
    """Forged data where LangChain puts user data: generation_info and message kwargs."""
    for template in (
        {
            "lc": 1,
            "type": "constructor",
            "id": ["langchain", "schema", "output", "Generation"],
            "kwargs": {"text": "t", "generation_info": {"k": value}},
        },
        json.loads(dumps(ChatGeneration(message=AIMessage(content="c")))),
    ):
        if "message" in template["kwargs"]:
            template["kwargs"]["message"]["kwargs"]["additional_kwargs"] = {"k": value}
        item = json.dumps(template)
        logging.disable(logging.WARNING)
        try:
            _same(codec.decode([item]), _reference(item))
        finally:
            logging.disable(logging.NOTSET)


@pytest.mark.filterwarnings("ignore::Warning")
def test_genuine_generations_decode_as_loads_decodes_them() -> None:
    generations: list[Generation] = [
        Generation(text="plain", generation_info={"lc": 1, "type": "secret", "id": ["X"]}),
        ChatGeneration(
            message=AIMessage(
                content=[{"type": "text", "text": "hi"}],
                additional_kwargs={"lc": 1, "type": "constructor", "id": ["os", "system"]},
                tool_calls=[{"name": "f", "args": {"a": 1}, "id": "1"}],
            )
        ),
        ChatGeneration(message=ToolMessage(content="r", tool_call_id="1", artifact={"lc": 2})),
    ]
    for generation in generations:
        item = dumps(generation)
        _same(codec.decode([item]), _reference(item))
        assert codec.decode([item]) == [generation]


@pytest.mark.filterwarnings("ignore::Warning")
@pytest.mark.parametrize("depth", range(194, 201))
@pytest.mark.parametrize("leaf", [1, [], {}, {"__lc_escaped__": [1]}])
def test_nesting_limit_is_the_one_of_loads(depth: int, leaf: Any) -> None:
    nested: Any = leaf
    for level in range(depth):
        nested = [nested] if level % 2 else {"k": nested}
    item = json.dumps(
        {
            "lc": 1,
            "type": "constructor",
            "id": ["langchain", "schema", "output", "Generation"],
            "kwargs": {"text": "t", "generation_info": {"deep": nested}},
        }
    )
    logging.disable(logging.WARNING)
    try:
        _same(codec.decode([item]), _reference(item))
    finally:
        logging.disable(logging.NOTSET)
