"""Hostile or corrupt stored entries are misses: logged, never raised, never instantiated.

Whatever sits in the index (written by an attacker, an old library, a bug), a lookup must
return ``None`` (a miss) with a WARNING, must not raise, must not construct an object of a
class outside the allowlist, and must never read a secret from the environment.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from langchain_core.load import dumps
from langchain_core.load.serializable import Serializable
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_elasticsearch_cache.domain import (
    ALLOWED_GENERATION_CLASSES,
    EmbeddingRecord,
    LlmRecord,
    embedding_record_from_document,
    llm_record_from_document,
)
from langchain_elasticsearch_cache.interfaces.langchain import (
    AsyncInMemoryEmbeddingsCache,
    AsyncInMemoryLlmCache,
    InMemoryEmbeddingsCache,
    InMemoryLlmCache,
)

LOGGER = "langchain_elasticsearch_cache"
SECRET_ENV = "LEC_TEST_POISON_SECRET"
SECRET_VALUE = "s3cr3t-value-that-must-never-leak"
NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)
PROMPT, LLM_STRING = "the prompt", "the llm string"

GOOD_ITEM = dumps(Generation(text="good", generation_info={"finish_reason": "stop"}))
GOOD_CHAT_ITEM = dumps(ChatGeneration(message=AIMessage(content="good chat")))


def _constructor(path: list[str], kwargs: dict[str, Any]) -> str:
    return json.dumps({"lc": 1, "type": "constructor", "id": path, "kwargs": kwargs})


PROMPT_TEMPLATE = _constructor(
    ["langchain_core", "prompts", "prompt", "PromptTemplate"],
    {"input_variables": ["x"], "template": "Hello {x}", "template_format": "f-string"},
)
JINJA_TEMPLATE = _constructor(
    ["langchain", "prompts", "prompt", "PromptTemplate"],
    {
        "input_variables": [],
        "template": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "template_format": "jinja2",
    },
)
DOCUMENT = _constructor(["langchain", "schema", "document", "Document"], {"page_content": "x"})
REMOVE_MESSAGE = _constructor(
    ["langchain", "schema", "messages", "RemoveMessage"], {"id": "1", "content": ""}
)
SECRET = json.dumps({"lc": 1, "type": "secret", "id": [SECRET_ENV]})
NOT_IMPLEMENTED = json.dumps(
    {"lc": 1, "type": "not_implemented", "id": ["some", "Thing"], "repr": "Thing()"}
)
# an allowlisted outer class smuggling a non-allowlisted object in its kwargs
NESTED_PROMPT_IN_GENERATION_INFO = _constructor(
    ["langchain", "schema", "output", "Generation"],
    {"text": "x", "generation_info": {"evil": json.loads(PROMPT_TEMPLATE)}},
)
NESTED_DOCUMENT_IN_MESSAGE = _constructor(
    ["langchain", "schema", "output", "ChatGeneration"],
    {
        "message": json.loads(
            _constructor(
                ["langchain", "schema", "messages", "AIMessage"],
                {"content": "x", "additional_kwargs": {"doc": json.loads(DOCUMENT)}},
            )
        )
    },
)
SECRET_AS_TEXT = _constructor(
    ["langchain", "schema", "output", "Generation"], {"text": json.loads(SECRET)}
)
SECRET_AS_MESSAGE_CONTENT = _constructor(
    ["langchain", "schema", "output", "ChatGeneration"],
    {
        "message": json.loads(
            _constructor(
                ["langchain", "schema", "messages", "HumanMessage"],
                {"content": json.loads(SECRET)},
            )
        )
    },
)

POISONED_OUTPUTS: dict[str, tuple[Any, ...]] = {
    "prompt-template": (PROMPT_TEMPLATE,),
    "jinja2-prompt-template": (JINJA_TEMPLATE,),
    "document": (DOCUMENT,),
    "remove-message": (REMOVE_MESSAGE,),
    "nested-prompt-in-generation-info": (NESTED_PROMPT_IN_GENERATION_INFO,),
    "nested-document-in-message": (NESTED_DOCUMENT_IN_MESSAGE,),
    "secret": (SECRET,),
    "secret-as-generation-text": (SECRET_AS_TEXT,),
    "secret-as-message-content": (SECRET_AS_MESSAGE_CONTENT,),
    "not-implemented": (NOT_IMPLEMENTED,),
    "truncated-json": (GOOD_ITEM[: len(GOOD_ITEM) // 2],),
    "non-json": ("this is not json",),
    "empty-string": ("",),
    "json-number": ("42",),
    "json-null": ("null",),
    "json-list": ("[1, 2]",),
    "json-string": ('"a plain string"',),
    "plain-dict": ('{"text": "looks like a generation but is not"}',),
    "bad-kwargs-for-allowed-class": (
        _constructor(["langchain", "schema", "output", "Generation"], {"text": 123}),
    ),
    "unknown-namespace": (_constructor(["os", "system"], {}),),
    "builtins-namespace": (_constructor(["builtins", "eval"], {"source": "1"}),),
    "id-not-a-list": ('{"lc": 1, "type": "constructor", "id": 5, "kwargs": {}}',),
    "deep-recursion": ("[" * 100_000 + "]" * 100_000,),
    "good-then-bad": (GOOD_ITEM, PROMPT_TEMPLATE),
    "bad-then-good": ("not json", GOOD_CHAT_ITEM),
    "good-then-truncated": (GOOD_CHAT_ITEM, GOOD_CHAT_ITEM[:-1]),
    "non-string-item": (17,),
    "none-item": (None,),
}


@pytest.fixture(autouse=True)
def secret_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET_VALUE)


@pytest.fixture
def constructed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[type]]:
    """Every ``Serializable`` class instantiated while the test runs."""
    seen: list[type] = []
    original = Serializable.__init__

    def spy(self: Serializable, *args: Any, **kwargs: Any) -> None:
        seen.append(type(self))
        original(self, *args, **kwargs)

    monkeypatch.setattr(Serializable, "__init__", spy)
    yield seen


def _assert_only_allowlisted(constructed: list[type]) -> None:
    outside = [cls for cls in constructed if cls not in ALLOWED_GENERATION_CLASSES]
    assert outside == []


def _assert_miss_logged(caplog: pytest.LogCaptureFixture, key: str) -> None:
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith(LOGGER)
    ]
    assert warnings, "a poisoned entry must be reported with a WARNING"
    assert any(key in r.getMessage() for r in warnings), "the warning names the entry"
    assert SECRET_VALUE not in caplog.text


def _poison(cache: InMemoryLlmCache, llm_output: tuple[Any, ...]) -> str:
    key = cache.policy.key(PROMPT, LLM_STRING)
    cache.repository.put(LlmRecord(key=key, llm_output=llm_output, timestamp=NOW))
    return key


def test_spy_sees_constructions(constructed: list[type]) -> None:
    """The ``constructed`` fixture really observes instantiation (so its checks can fail)."""
    HumanMessage(content="hi")
    assert HumanMessage in constructed


def test_the_good_items_are_hits() -> None:
    """Control: the same path with well-formed items is a hit."""
    cache = InMemoryLlmCache()
    _poison(cache, (GOOD_ITEM, GOOD_CHAT_ITEM))
    result = cache.lookup(PROMPT, LLM_STRING)
    assert result == [
        Generation(text="good", generation_info={"finish_reason": "stop"}),
        ChatGeneration(message=AIMessage(content="good chat")),
    ]


@pytest.mark.parametrize("name", sorted(POISONED_OUTPUTS))
def test_poisoned_llm_entry_is_a_logged_miss(
    name: str, caplog: pytest.LogCaptureFixture, constructed: list[type]
) -> None:
    cache = InMemoryLlmCache()
    key = _poison(cache, POISONED_OUTPUTS[name])

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        result = cache.lookup(PROMPT, LLM_STRING)

    assert result is None
    _assert_miss_logged(caplog, key)
    _assert_only_allowlisted(constructed)
    stats = cache.statistics.operations["lookup"]
    assert (stats.hits, stats.misses, stats.errors) == (0, 1, 0)


@pytest.mark.parametrize(
    "name", ["jinja2-prompt-template", "secret", "truncated-json", "good-then-bad"]
)
async def test_poisoned_llm_entry_is_a_logged_miss_async(
    name: str, caplog: pytest.LogCaptureFixture, constructed: list[type]
) -> None:
    cache = AsyncInMemoryLlmCache()
    key = cache.policy.key(PROMPT, LLM_STRING)
    await cache.repository.put(LlmRecord(key=key, llm_output=POISONED_OUTPUTS[name], timestamp=NOW))

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        result = await cache.alookup(PROMPT, LLM_STRING)

    assert result is None
    _assert_miss_logged(caplog, key)
    _assert_only_allowlisted(constructed)


def test_prompt_template_is_never_instantiated(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.prompts import PromptTemplate

    built: list[object] = []
    original = PromptTemplate.__init__

    def spy(self: PromptTemplate, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(PromptTemplate, "__init__", spy)
    PromptTemplate.from_template("control {x}")
    assert len(built) == 1  # the spy works

    cache = InMemoryLlmCache()
    for item in (PROMPT_TEMPLATE, JINJA_TEMPLATE, NESTED_PROMPT_IN_GENERATION_INFO):
        _poison(cache, (item,))
        assert cache.lookup(PROMPT, LLM_STRING) is None
    assert len(built) == 1


def test_secret_nested_in_generation_info_is_never_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A secret reference deep inside kwargs makes the entry a logged miss."""
    payload = _constructor(
        ["langchain", "schema", "output", "Generation"],
        {"text": "x", "generation_info": {"api_key": json.loads(SECRET)}},
    )
    cache = InMemoryLlmCache()
    _poison(cache, (payload,))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        result = cache.lookup(PROMPT, LLM_STRING)
    assert result is None
    assert "refers to a secret" in caplog.text
    assert SECRET_VALUE not in caplog.text


def test_escaped_lc_dict_in_generation_info_round_trips_as_data() -> None:
    """Data that merely looks like a serialized object stays data (escaped on write)."""
    info = {"payload": json.loads(PROMPT_TEMPLATE), "secret": json.loads(SECRET)}
    cache = InMemoryLlmCache()
    cache.update(PROMPT, LLM_STRING, [Generation(text="x", generation_info=info)])
    assert cache.lookup(PROMPT, LLM_STRING) == [Generation(text="x", generation_info=info)]


# --- raw Elasticsearch documents --------------------------------------------------------

GOOD_DOC: dict[str, Any] = {
    "llm_output": [GOOD_ITEM],
    "llm_input": PROMPT,
    "llm_params": LLM_STRING,
    "metadata": {"a": 1},
    "timestamp": "2024-01-01T00:00:00",
}

BAD_LLM_DOCS: dict[str, Any] = {
    "not-a-mapping-list": [GOOD_DOC],
    "not-a-mapping-str": json.dumps(GOOD_DOC),
    "not-a-mapping-none": None,
    "llm_output-int": {**GOOD_DOC, "llm_output": 3},
    "llm_output-dict": {**GOOD_DOC, "llm_output": {"0": GOOD_ITEM}},
    "llm_output-missing": {k: v for k, v in GOOD_DOC.items() if k != "llm_output"},
    "llm_output-none": {**GOOD_DOC, "llm_output": None},
    "llm_output-list-of-int": {**GOOD_DOC, "llm_output": [GOOD_ITEM, 1]},
    "llm_output-list-of-dict": {**GOOD_DOC, "llm_output": [json.loads(GOOD_ITEM)]},
    "llm_input-int": {**GOOD_DOC, "llm_input": 5},
    "llm_params-list": {**GOOD_DOC, "llm_params": ["x"]},
    "metadata-list": {**GOOD_DOC, "metadata": [1, 2]},
    "metadata-str": {**GOOD_DOC, "metadata": "m"},
    "timestamp-garbage": {**GOOD_DOC, "timestamp": "yesterday"},
    "timestamp-bool": {**GOOD_DOC, "timestamp": True},
    "timestamp-dict": {**GOOD_DOC, "timestamp": {"date": "2024-01-01"}},
    "timestamp-nan": {**GOOD_DOC, "timestamp": float("nan")},
    "timestamp-inf": {**GOOD_DOC, "timestamp": float("inf")},
    "timestamp-empty": {**GOOD_DOC, "timestamp": ""},
}


def test_good_document_is_read() -> None:
    record = llm_record_from_document("k", GOOD_DOC)
    assert record == LlmRecord(
        key="k",
        llm_output=(GOOD_ITEM,),
        timestamp=datetime(2024, 1, 1, tzinfo=timezone.utc),
        llm_input=PROMPT,
        llm_params=LLM_STRING,
        metadata={"a": 1},
    )


def test_scalar_llm_output_and_missing_timestamp_are_tolerated() -> None:
    doc = {"llm_output": GOOD_ITEM}
    record = llm_record_from_document("k", doc)
    assert record is not None
    assert record.llm_output == (GOOD_ITEM,)
    assert record.timestamp == datetime(1970, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("name", sorted(BAD_LLM_DOCS))
def test_wrongly_shaped_llm_document_is_rejected(name: str) -> None:
    assert llm_record_from_document("k", BAD_LLM_DOCS[name]) is None


@pytest.mark.parametrize(
    "timestamp",
    [
        pytest.param("0001-01-01T00:00:00+01:00", id="before-datetime-min-in-utc"),
        pytest.param("9999-12-31T23:59:59-01:00", id="after-datetime-max-in-utc"),
        pytest.param(10**400, id="int-too-large-for-float"),
    ],
)
def test_out_of_range_timestamp_is_rejected_not_raised(timestamp: Any) -> None:
    assert llm_record_from_document("k", {**GOOD_DOC, "timestamp": timestamp}) is None


@pytest.mark.parametrize("name", ["jinja2-prompt-template", "secret", "good-then-bad"])
def test_poisoned_document_read_then_looked_up_is_a_logged_miss(
    name: str, caplog: pytest.LogCaptureFixture, constructed: list[type]
) -> None:
    cache = InMemoryLlmCache()
    key = cache.policy.key(PROMPT, LLM_STRING)
    record = llm_record_from_document(key, {**GOOD_DOC, "llm_output": list(POISONED_OUTPUTS[name])})
    assert record is not None  # the shape is fine: the content is what is poisoned
    cache.repository.put(record)

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert cache.lookup(PROMPT, LLM_STRING) is None
    _assert_miss_logged(caplog, key)
    _assert_only_allowlisted(constructed)


# --- embeddings -------------------------------------------------------------------------

BAD_VECTOR_DUMPS = {
    "not-base64": "this is not base64!",
    "bad-padding": "QUJ",
    "non-ascii": "QUJD\u00e9",
    "embedded-newline": "QU\nJD",
    "lone-surrogate": "QUJD\ud800",
    "url-safe-alphabet": "-_-_",
}


@pytest.mark.parametrize("name", sorted(BAD_VECTOR_DUMPS))
def test_invalid_base64_vector_is_a_logged_miss(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = InMemoryEmbeddingsCache(namespace="ns")
    bad_key, good_key = store.policy.key("bad"), store.policy.key("good")
    store.repository.put(
        EmbeddingRecord(key=bad_key, vector_dump=BAD_VECTOR_DUMPS[name], timestamp=NOW)
    )
    store.repository.put(EmbeddingRecord(key=good_key, vector_dump="QUJD", timestamp=NOW))

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        result = store.mget(["bad", "good", "bad"])

    assert result == [None, b"ABC", None]
    _assert_miss_logged(caplog, bad_key)
    stats = store.statistics.operations["mget"]
    assert (stats.hits, stats.misses, stats.errors) == (1, 2, 0)


async def test_invalid_base64_vector_is_a_logged_miss_async(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = AsyncInMemoryEmbeddingsCache()
    key = store.policy.key("bad")
    await store.repository.put(EmbeddingRecord(key=key, vector_dump="%%%", timestamp=NOW))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert await store.amget(["bad"]) == [None]
    _assert_miss_logged(caplog, key)


GOOD_EMBEDDING_DOC: dict[str, Any] = {
    "vector_dump": "QUJD",
    "text_input": "hello",
    "namespace": "ns",
    "metadata": {"m": True},
    "timestamp": "2024-01-01T00:00:00Z",
}

BAD_EMBEDDING_DOCS: dict[str, Any] = {
    "not-a-mapping": ["QUJD"],
    "vector_dump-missing": {k: v for k, v in GOOD_EMBEDDING_DOC.items() if k != "vector_dump"},
    "vector_dump-int": {**GOOD_EMBEDDING_DOC, "vector_dump": 1},
    "vector_dump-list": {**GOOD_EMBEDDING_DOC, "vector_dump": ["QUJD"]},
    "vector_dump-none": {**GOOD_EMBEDDING_DOC, "vector_dump": None},
    "text_input-int": {**GOOD_EMBEDDING_DOC, "text_input": 1},
    "namespace-list": {**GOOD_EMBEDDING_DOC, "namespace": ["ns"]},
    "metadata-int": {**GOOD_EMBEDDING_DOC, "metadata": 1},
    "timestamp-garbage": {**GOOD_EMBEDDING_DOC, "timestamp": "2024-13-45"},
}


def test_good_embedding_document_is_read() -> None:
    assert embedding_record_from_document("k", GOOD_EMBEDDING_DOC) == EmbeddingRecord(
        key="k",
        vector_dump="QUJD",
        timestamp=datetime(2024, 1, 1, tzinfo=timezone.utc),
        text_input="hello",
        namespace="ns",
        metadata={"m": True},
    )


@pytest.mark.parametrize("name", sorted(BAD_EMBEDDING_DOCS))
def test_wrongly_shaped_embedding_document_is_rejected(name: str) -> None:
    assert embedding_record_from_document("k", BAD_EMBEDDING_DOCS[name]) is None


def test_an_entry_of_no_generation_is_a_miss_not_a_crash_in_the_chat_model() -> None:
    """LangChain reads the first generation of a hit: an empty answer crashed it."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    cache = InMemoryLlmCache()
    model = FakeListChatModel(responses=["the model's answer"], cache=cache)
    prompt = dumps([HumanMessage(content="hi")])
    record = cache.policy.record(prompt, model._get_llm_string(), [], NOW)
    cache.repository.put(record)
    assert cache.lookup(prompt, model._get_llm_string()) is None
    assert model.invoke("hi").content == "the model's answer"
