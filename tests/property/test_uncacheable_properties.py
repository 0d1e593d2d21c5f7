"""Property tests of the write-time check: an answer is refused exactly when it could never
be read back, and the refusal names the field that holds the culprit."""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, Generation
from pydantic import BaseModel

from langchain_elasticsearch_cache.domain import GenerationCodec, UncacheableAnswerError

from .test_codec_properties import GENERATIONS, KEYS, TEXT


class Usage(BaseModel):
    tokens: int = 3


# values LangChain's dumps cannot serialise (it writes a not_implemented marker, or a class
# outside the cache's allowlist) next to values it can, nested anywhere
UNSERIALISABLE = st.one_of(
    st.datetimes(),
    st.dates(),
    st.binary(max_size=4),
    st.decimals(allow_nan=False, allow_infinity=False).map(Decimal),
    st.frozensets(st.integers(), max_size=2),
    st.builds(Usage, tokens=st.integers()),
    st.builds(Document, page_content=TEXT),
    st.builds(lambda: {(1, 2): "a tuple key"}),
    st.builds(lambda when: {"lc": 1, "when": when}, st.datetimes()),  # escaped, then unjsonable
)
SERIALISABLE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    st.builds(HumanMessage, content=TEXT),  # an allowlisted class: it reads back
    st.builds(lambda key: {key: "int keys become strings"}, st.integers()),
    st.tuples(st.integers(), TEXT),
    st.builds(lambda: {"lc": 1, "type": "not_implemented", "id": ["x"]}),  # data: escaped
)
MIXED = st.recursive(
    SERIALISABLE | UNSERIALISABLE,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=6,
)
MIXED_OBJECTS = st.dictionaries(KEYS, MIXED, max_size=3)

MIXED_GENERATIONS: st.SearchStrategy[Generation] = st.one_of(
    st.builds(Generation, text=TEXT, generation_info=st.none() | MIXED_OBJECTS),
    st.builds(
        ChatGeneration,
        message=st.builds(
            AIMessage,
            content=TEXT,
            response_metadata=MIXED_OBJECTS,
            additional_kwargs=MIXED_OBJECTS,
        ),
        generation_info=st.none() | MIXED_OBJECTS,
    ),
)

codec = GenerationCodec()


@pytest.fixture(autouse=True)
def _quiet_decode(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="langchain_elasticsearch_cache")


def _readable(generation: Generation) -> bool:
    """The reference: what storing ``dumps`` and decoding it gives, the way it was before."""
    try:
        text = dumps(generation)
    except Exception:
        return False
    return codec.decode([text]) is not None


@settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(MIXED_GENERATIONS, min_size=1, max_size=3))
def test_refused_exactly_when_it_could_not_be_read_back(generations: list[Generation]) -> None:
    readable = [_readable(generation) for generation in generations]
    try:
        stored = codec.encode(generations)
    except UncacheableAnswerError as refused:
        event("refused")
        assert not all(readable)
        first_bad = readable.index(False)
        assert refused.field.startswith(f"generations[{first_bad}]")
        return
    event("stored")
    assert all(readable)
    assert list(stored) == [dumps(generation) for generation in generations]  # the seed's form
    decoded = codec.decode(stored)
    assert decoded is not None
    # int keys and tuples come back as JSON has them: compare the serialised forms
    assert [json.loads(dumps(g)) for g in decoded] == [json.loads(s) for s in stored]


@settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(GENERATIONS, max_size=4))
def test_json_answers_are_stored_as_dumps_writes_them(generations: list[Generation]) -> None:
    assert list(codec.encode(generations)) == [dumps(generation) for generation in generations]


IDENTIFIERS = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    index=st.integers(min_value=0, max_value=2),
    where=st.sampled_from(["response_metadata", "additional_kwargs"]),
    path=st.lists(IDENTIFIERS | st.integers(min_value=0, max_value=2), min_size=1, max_size=4),
    culprit=UNSERIALISABLE.filter(lambda value: not isinstance(value, dict)),
)
def test_the_refusal_names_the_field(
    index: int, where: str, path: list[str | int], culprit: Any
) -> None:
    if isinstance(path[0], int):
        path[0] = f"k{path[0]}"  # the metadata itself is a dict
    value: Any = culprit
    for segment in reversed(path):
        value = [None] * segment + [value] if isinstance(segment, int) else {segment: value}
    bad = ChatGeneration(message=AIMessage(content="hi", **{where: value}))
    generations = [Generation(text="fine")] * index + [bad]
    with pytest.raises(UncacheableAnswerError) as refused:
        codec.encode(generations)
    expected = f"generations[{index}].message.{where}" + "".join(
        f"[{segment}]" if isinstance(segment, int) else f".{segment}" for segment in path
    )
    assert refused.value.field == expected
    assert expected in str(refused.value)


def test_named_examples() -> None:
    when = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
    created = ChatGeneration(message=AIMessage(content="a", response_metadata={"created": when}))
    with pytest.raises(UncacheableAnswerError) as refused:
        codec.encode([created])
    assert refused.value.field == "generations[0].message.response_metadata.created"
    assert "datetime.datetime" in refused.value.problem
    raw = ChatGeneration(message=AIMessage(content="a", additional_kwargs={"raw": b"\x00"}))
    with pytest.raises(UncacheableAnswerError) as refused:
        codec.encode([Generation(text="ok"), raw])
    assert refused.value.field == "generations[1].message.additional_kwargs.raw"
    assert "bytes" in refused.value.problem
    info = Generation(text="a", generation_info={"odd key": Decimal("1.5")})
    with pytest.raises(UncacheableAnswerError) as refused:
        codec.encode([info])
    assert refused.value.field == "generations[0].generation_info['odd key']"
