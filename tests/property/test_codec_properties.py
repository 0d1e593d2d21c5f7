"""Property tests of the codecs: whatever LangChain can produce, the cache gives back."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    HumanMessageChunk,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import (
    ChatGeneration,
    ChatGenerationChunk,
    Generation,
    GenerationChunk,
)

from langchain_elasticsearch_cache.domain import GenerationCodec, VectorCodec

# Any code point, lone surrogates included (the default alphabet almost never has them).
ANY_CHAR = st.characters(codec=None, exclude_categories=()) | st.characters(categories=["Cs"])
TEXT = st.text(alphabet=ANY_CHAR, max_size=40)
KEYS = st.text(alphabet=ANY_CHAR, max_size=8)

# Plain data that looks like LangChain's serialisation: it must come back as data.
LC_LOOKALIKES = st.sampled_from(
    [
        {"lc": 1, "type": "secret", "id": ["OPENAI_API_KEY"]},
        {"lc": 1, "type": "not_implemented", "id": ["x"], "repr": "x"},
        {
            "lc": 1,
            "type": "constructor",
            "id": ["langchain_core", "prompts", "prompt", "PromptTemplate"],
            "kwargs": {"template": "{x}", "input_variables": ["x"]},
        },
        {"__lc_escaped__": {"lc": 1}},
    ]
)

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS | LC_LOOKALIKES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=8,
)
JSON_OBJECTS = st.dictionaries(KEYS, JSON_VALUES, max_size=4)

CONTENT_BLOCK = st.fixed_dictionaries({"type": st.just("text"), "text": TEXT}) | st.builds(
    dict, st.dictionaries(st.sampled_from(["type", "url", "data", "extra"]), TEXT, max_size=3)
)
CONTENT = TEXT | st.lists(TEXT | CONTENT_BLOCK, max_size=3)
OPTIONAL_ID = st.none() | st.text(min_size=1, max_size=12)


def _message_kwargs() -> dict[str, Any]:
    return {
        "content": CONTENT,
        "additional_kwargs": JSON_OBJECTS,
        "response_metadata": JSON_OBJECTS,
        "id": OPTIONAL_ID,
        "name": st.none() | TEXT,
    }


MESSAGES: st.SearchStrategy[BaseMessage] = st.one_of(
    st.builds(AIMessage, **_message_kwargs()),
    st.builds(HumanMessage, **_message_kwargs()),
    st.builds(SystemMessage, **_message_kwargs()),
    st.builds(ChatMessage, role=TEXT, **_message_kwargs()),
    st.builds(FunctionMessage, content=CONTENT, name=TEXT, additional_kwargs=JSON_OBJECTS),
    st.builds(
        ToolMessage,
        content=CONTENT,
        tool_call_id=TEXT,
        artifact=JSON_VALUES,
        status=st.sampled_from(["success", "error"]),
        additional_kwargs=JSON_OBJECTS,
        response_metadata=JSON_OBJECTS,
        id=OPTIONAL_ID,
    ),
)
CHUNK_MESSAGES = st.one_of(
    st.builds(AIMessageChunk, **_message_kwargs()),
    st.builds(HumanMessageChunk, **_message_kwargs()),
)
GENERATION_INFO = st.none() | JSON_OBJECTS

GENERATIONS: st.SearchStrategy[Generation] = st.one_of(
    st.builds(Generation, text=TEXT, generation_info=GENERATION_INFO),
    st.builds(GenerationChunk, text=TEXT, generation_info=GENERATION_INFO),
    st.builds(ChatGeneration, message=MESSAGES, generation_info=GENERATION_INFO),
    st.builds(
        ChatGenerationChunk,
        message=st.builds(AIMessageChunk, **_message_kwargs()),
        generation_info=GENERATION_INFO,
    ),
    st.builds(ChatGeneration, message=CHUNK_MESSAGES),
)

codec = GenerationCodec()
vectors = VectorCodec()


def _assert_same(decoded: list[Generation] | None, original: list[Generation]) -> None:
    assert decoded is not None
    assert decoded == original
    assert [type(g) for g in decoded] == [type(g) for g in original]
    for got, want in zip(decoded, original, strict=True):
        if isinstance(want, ChatGeneration):
            assert isinstance(got, ChatGeneration)
            assert type(got.message) is type(want.message)
            assert got.message.additional_kwargs == want.message.additional_kwargs
            assert got.message.response_metadata == want.message.response_metadata
        assert got.generation_info == want.generation_info


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(GENERATIONS, max_size=4))
def test_generation_codec_round_trip(generations: list[Generation]) -> None:
    stored = codec.encode(generations)
    assert isinstance(stored, tuple)
    assert all(isinstance(item, str) for item in stored)
    # stored items are JSON, as Elasticsearch will see them
    assert [json.loads(json.dumps(json.loads(item))) for item in stored] == [
        json.loads(item) for item in stored
    ]
    _assert_same(codec.decode(stored), generations)


@settings(deadline=None)
@given(st.lists(GENERATIONS, max_size=3))
def test_generation_codec_survives_a_json_storage_round_trip(
    generations: list[Generation],
) -> None:
    """What Elasticsearch hands back is re-serialised JSON, not our exact bytes."""
    stored = codec.encode(generations)
    through_storage = json.loads(json.dumps({"llm_output": list(stored)}))["llm_output"]
    _assert_same(codec.decode(through_storage), generations)


@settings(deadline=None)
@given(TEXT, GENERATION_INFO)
def test_plain_generation_round_trip(text: str, info: dict[str, Any] | None) -> None:
    generation = Generation(text=text, generation_info=info)
    _assert_same(codec.decode(codec.encode([generation])), [generation])


def test_empty_and_large_texts_round_trip() -> None:
    large = ("abc\u00e9\u4e2d\U0001f600\ud800\x00" * 150_000)[:1_000_000]
    generations: list[Generation] = [
        Generation(text=""),
        Generation(text=large),
        ChatGeneration(message=AIMessage(content=large, additional_kwargs={"k": large})),
    ]
    _assert_same(codec.decode(codec.encode(generations)), generations)


def test_empty_generation_list_round_trips() -> None:
    assert codec.encode([]) == ()
    assert codec.decode(()) == []


@given(st.binary(max_size=4096))
def test_vector_codec_round_trip(data: bytes) -> None:
    stored = vectors.encode(data)
    assert stored == base64.b64encode(data).decode("ascii")
    assert stored.isascii()
    assert vectors.decode(stored) == data


@given(st.text(alphabet=ANY_CHAR, max_size=64))
def test_vector_codec_decode_never_raises(text: str) -> None:
    result = vectors.decode(text)
    assert result is None or isinstance(result, bytes)
    if result is not None:
        # whatever is accepted is strict base64 of the result
        assert base64.b64decode(text, validate=True) == result


@given(st.lists(st.floats(width=32, allow_nan=False), max_size=64))
def test_float_vectors_as_json_bytes_round_trip(values: list[float]) -> None:
    """The payload ``CacheBackedEmbeddings`` stores: JSON floats encoded as bytes."""
    payload = json.dumps(values).encode()
    decoded = vectors.decode(vectors.encode(payload))
    assert decoded is not None
    assert json.loads(decoded.decode()) == values
