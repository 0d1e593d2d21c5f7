"""Property tests of the stored document shape and of timestamp parsing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from langchain_elasticsearch_cache.domain import (
    EmbeddingRecord,
    LlmRecord,
    embedding_record_from_document,
    embedding_record_to_document,
    llm_record_from_document,
    llm_record_to_document,
)
from langchain_elasticsearch_cache.domain.entries import format_timestamp, parse_timestamp

ANY_CHAR = st.characters(codec=None, exclude_categories=()) | st.characters(categories=["Cs"])
TEXT = st.text(alphabet=ANY_CHAR, max_size=30)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# Whole-second offsets: CPython 3.11's fromisoformat drops the microseconds of an offset
# such as "+00:00:00.000001" (no real timestamp carries one).
OFFSETS = st.builds(
    timezone,
    st.integers(min_value=-(23 * 3600 + 59 * 60), max_value=23 * 3600).map(
        lambda seconds: timedelta(seconds=seconds)
    ),
)
# Inside this range the UTC instant of any offset is representable.
NAIVE_TIMES = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
AWARE_TIMES = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=OFFSETS | st.just(timezone.utc),
)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
METADATA = st.none() | st.dictionaries(TEXT, JSON_VALUES, max_size=4)
OPTIONAL_TEXT = st.none() | TEXT

LLM_RECORDS = st.builds(
    LlmRecord,
    key=TEXT,
    llm_output=st.lists(TEXT, max_size=4),
    timestamp=AWARE_TIMES,
    llm_input=OPTIONAL_TEXT,
    llm_params=OPTIONAL_TEXT,
    metadata=METADATA,
)
EMBEDDING_RECORDS = st.builds(
    EmbeddingRecord,
    key=TEXT,
    vector_dump=TEXT,
    timestamp=AWARE_TIMES,
    text_input=OPTIONAL_TEXT,
    # the document omits an empty namespace (as the seed does): see the test below
    namespace=st.none() | st.text(alphabet=ANY_CHAR, min_size=1, max_size=20),
    metadata=METADATA,
)


def _through_json(document: dict[str, Any]) -> Any:
    """What Elasticsearch gives back: the document re-read from JSON."""
    return json.loads(json.dumps(document))


# --- records <-> documents --------------------------------------------------------------


@given(LLM_RECORDS)
def test_llm_record_document_round_trip(record: LlmRecord) -> None:
    document = llm_record_to_document(record)
    assert llm_record_from_document(record.key, document) == record
    assert llm_record_from_document(record.key, _through_json(document)) == record


@given(LLM_RECORDS)
def test_llm_document_has_the_seeds_field_names(record: LlmRecord) -> None:
    document = llm_record_to_document(record)
    assert set(document) <= {"llm_output", "llm_params", "llm_input", "metadata", "timestamp"}
    assert isinstance(document["llm_output"], list)
    assert ("llm_input" in document) == (record.llm_input is not None)
    assert ("llm_params" in document) == (record.llm_params is not None)
    assert ("metadata" in document) == (record.metadata is not None)


@given(EMBEDDING_RECORDS)
def test_embedding_record_document_round_trip(record: EmbeddingRecord) -> None:
    document = embedding_record_to_document(record)
    assert embedding_record_from_document(record.key, document) == record
    assert embedding_record_from_document(record.key, _through_json(document)) == record
    assert set(document) <= {"vector_dump", "text_input", "namespace", "metadata", "timestamp"}


@given(EMBEDDING_RECORDS)
def test_empty_namespace_is_omitted_and_read_back_as_none(record: EmbeddingRecord) -> None:
    with_empty = EmbeddingRecord(
        key=record.key,
        vector_dump=record.vector_dump,
        timestamp=record.timestamp,
        text_input=record.text_input,
        namespace="",
        metadata=record.metadata,
    )
    document = embedding_record_to_document(with_empty)
    assert "namespace" not in document
    read = embedding_record_from_document(record.key, document)
    assert read is not None
    assert read.namespace is None


# --- timestamps -------------------------------------------------------------------------


@given(AWARE_TIMES)
def test_formatted_timestamps_parse_back_to_the_same_instant(moment: datetime) -> None:
    text = format_timestamp(moment)
    assert text.endswith("+00:00")
    parsed = parse_timestamp(text)
    assert parsed == moment
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@given(NAIVE_TIMES)
def test_naive_seed_timestamps_are_read_as_utc(moment: datetime) -> None:
    """The seed writes ``datetime.now().isoformat()``: no offset."""
    expected = moment.replace(tzinfo=timezone.utc)
    assert parse_timestamp(moment.isoformat()) == expected
    assert parse_timestamp(moment.isoformat(sep=" ")) == expected
    assert parse_timestamp(moment.isoformat() + "Z") == expected
    assert parse_timestamp(moment.isoformat(timespec="milliseconds") + "Z") == expected.replace(
        microsecond=moment.microsecond // 1000 * 1000
    )


@given(AWARE_TIMES)
def test_offsets_are_honoured(moment: datetime) -> None:
    parsed = parse_timestamp(moment.isoformat())
    assert parsed == moment
    assert parsed is not None and parsed.tzinfo == timezone.utc


@given(st.integers(min_value=-2_208_988_800_000, max_value=4_102_444_800_000))
def test_epoch_millis_are_read_exactly_from_1900_to_2100(millis: int) -> None:
    assert parse_timestamp(millis) == EPOCH + timedelta(milliseconds=millis)


@given(st.integers(min_value=-(10**13), max_value=10**13))
def test_far_epoch_millis_are_read_to_the_microsecond(millis: int) -> None:
    """Beyond about 2^42 ms the float division ``millis / 1000`` is off by up to 1 us."""
    parsed = parse_timestamp(millis)
    assert parsed is not None
    assert abs(parsed - (EPOCH + timedelta(milliseconds=millis))) <= timedelta(microseconds=1)


@given(st.floats(min_value=-1e13, max_value=1e13))
def test_float_epoch_millis_are_read_to_the_microsecond(millis: float) -> None:
    parsed = parse_timestamp(millis)
    assert parsed is not None
    assert abs(parsed - (EPOCH + timedelta(milliseconds=millis))) <= timedelta(microseconds=1)


@given(
    st.none()
    | st.booleans()
    | st.lists(st.integers())
    | st.dictionaries(st.text(), st.text())
    | st.just(float("nan"))
    | st.just(float("inf"))
    | st.just(float("-inf"))
)
def test_non_timestamps_are_none(value: Any) -> None:
    assert parse_timestamp(value) is None


@given(st.text(alphabet=ANY_CHAR))
def test_arbitrary_text_is_none_or_a_utc_datetime(text: str) -> None:
    parsed = parse_timestamp(text)
    assert parsed is None or (isinstance(parsed, datetime) and parsed.tzinfo == timezone.utc)


@given(st.integers(min_value=-(2**1000), max_value=2**1000))
@example(2**63)
@example(-(2**63))
def test_any_float_sized_int_is_none_or_a_utc_datetime(value: int) -> None:
    parsed = parse_timestamp(value)
    assert parsed is None or parsed.tzinfo == timezone.utc


@given(
    st.datetimes(
        min_value=datetime.min, max_value=datetime.max, timezones=OFFSETS | st.just(timezone.utc)
    )
)
@example(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
@example(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-1))))
def test_any_iso_timestamp_is_parsed_or_rejected_never_raised(moment: datetime) -> None:
    parsed = parse_timestamp(moment.isoformat())
    assert parsed is None or parsed == moment
