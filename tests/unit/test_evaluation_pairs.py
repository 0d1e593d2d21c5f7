"""Reading labelled pairs (one-line errors naming the line and the fix) and the shipped
evaluation set (schema, size, categories, no duplicates, chat pairs that LangChain parses)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest
from langchain_core.load import loads
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_elasticsearch_cache.domain.errors import ConfigurationError
from langchain_elasticsearch_cache.evaluation import (
    BUILTIN_PAIRS,
    LabelledPair,
    builtin_pairs,
    parse_csv,
    parse_jsonl,
    read_pairs,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "langchain_elasticsearch_cache" / "evaluation" / "data" / "pairs.jsonl"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- reading --------------------------------------------------------------------------


def test_jsonl_and_csv_read_the_same_pairs(tmp_path: Path) -> None:
    jsonl = _write(
        tmp_path,
        "pairs.jsonl",
        '{"a": "hi", "b": "hello", "same": true, "category": "greeting", "note": "extra"}\n'
        "\n"
        '{"a": "2+2?", "b": "2+3?", "same": false}\n',
    )
    csv = _write(
        tmp_path,
        "pairs.csv",
        'a,b,same,category\nhi,hello,TRUE,greeting\n"2+2?","2+3?",No,\n',
    )
    expected = [LabelledPair("hi", "hello", True, "greeting"), LabelledPair("2+2?", "2+3?", False)]
    assert read_pairs(jsonl) == expected
    assert read_pairs(csv) == expected
    assert [pair.line for pair in read_pairs(jsonl)] == [1, 3]
    assert [pair.line for pair in read_pairs(csv)] == [2, 3]


@pytest.mark.parametrize(
    ("word", "value"),
    [("true", True), ("False", False), ("1", True), ("0", False), ("YES", True), ("no", False)],
)
def test_csv_booleans_in_any_case(word: str, value: bool) -> None:
    assert parse_csv(f"a,b,same\nx,y,{word}\n")[0].same is value


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "missing.jsonl",
            '{"a": "x", "b": "y", "same": true}\n{"a": "x", "b": "z"}\n',
            r"^.*missing\.jsonl, line 2: missing field 'same'; every pair needs 'a' and 'b' "
            r"\(the two prompts\) and 'same' \(true or false\)$",
        ),
        (
            "missing.csv",
            "a,b,same\nx,y,true\nx,,false\n",
            r"missing\.csv, line 3: field 'b' is empty; write the prompt text$",
        ),
        (
            "label.jsonl",
            '{"a": "x", "b": "y", "same": "maybe"}\n',
            r"label\.jsonl, line 1: 'same' is 'maybe', not a boolean; write true or false",
        ),
        (
            "label.csv",
            "a,b,same\nx,y,2\n",
            r"label\.csv, line 2: 'same' is '2', not a boolean",
        ),
        (
            "number.jsonl",
            '{"a": "x", "b": "y", "same": 2}\n',
            r"number\.jsonl, line 1: 'same' is 2, not a boolean",
        ),
        ("empty.jsonl", "", r"empty\.jsonl holds no labelled pairs \(it is empty\)"),
        ("blank.jsonl", "\n  \n", r"blank\.jsonl holds no labelled pairs"),
        ("empty.csv", "", r"empty\.csv holds no labelled pairs"),
        ("header.csv", "a,b,same\n", r"header\.csv has a header but no labelled pairs"),
        (
            "json.jsonl",
            '{"a": "x", "b": "y", "same": true}\n{"a": "x", "b": "y" "same": true}\n',
            r"json\.jsonl, line 2: not valid JSON \(Expecting ',' delimiter at column 21\); "
            r"write one JSON object per line",
        ),
        ("array.jsonl", '["x", "y", true]\n', r"array\.jsonl, line 1: a JSON list, not an object"),
        (
            "column.csv",
            "a,b,label\nx,y,true\n",
            r"column\.csv, line 1: the header has no column 'same'",
        ),
        (
            "comma.csv",
            "a,b,same\nhello, world,hi,true\n",
            r"comma\.csv, line 2: more cells than the header has columns; put prompt text "
            r"that contains a comma in double quotes",
        ),
        (
            "type.jsonl",
            '{"a": 42, "b": "y", "same": true}\n',
            r"type\.jsonl, line 1: field 'a' is a int \(42\), not a string",
        ),
        # issue 18: an empty field is "empty", a null one "null", an absent one "missing"
        (
            "empty_text.jsonl",
            '{"a": "", "b": "y", "same": true}\n',
            r"^.*empty_text\.jsonl, line 1: field 'a' is empty; write the prompt text$",
        ),
        (
            "empty_label.csv",
            "a,b,same\nx,y,\n",
            r"^.*empty_label\.csv, line 2: field 'same' is empty; write true or false$",
        ),
        (
            "null_label.jsonl",
            '{"a": "x", "b": "y", "same": null}\n',
            r"^.*null_label\.jsonl, line 1: field 'same' is null; write true or false \(leave "
            r"out a pair whose label you do not know\)$",
        ),
        (
            "null_text.jsonl",
            '{"a": "x", "b": null, "same": false}\n',
            r"^.*null_text\.jsonl, line 1: field 'b' is null; write the prompt text$",
        ),
        (
            "short_row.csv",
            "a,b,same\nx,y\n",
            r"^.*short_row\.csv, line 2: missing field 'same'; every pair needs",
        ),
    ],
)
def test_bad_input_is_a_one_line_error_naming_the_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(ConfigurationError, match=message) as caught:
        read_pairs(path)
    assert "\n" not in str(caught.value)


def test_a_missing_file_or_unknown_extension_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"nope\.jsonl: no such file; check the path"):
        read_pairs(tmp_path / "nope.jsonl")
    with pytest.raises(ConfigurationError, match=r"name the file \.jsonl .* or \.csv"):
        read_pairs(_write(tmp_path, "pairs.txt", "a,b,same\n"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a,b,same\ncaf\xe9,cafe,true\n".encode("latin-1"))
    with pytest.raises(ConfigurationError, match="not UTF-8 text"):
        read_pairs(latin)


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("a,b,same\r\nx,y,yes\r\n".encode("utf-8-sig"))
    assert read_pairs(path) == [LabelledPair("x", "y", True)]


def test_parse_functions_name_their_source() -> None:
    with pytest.raises(ConfigurationError, match=r"^<jsonl> holds no labelled pairs"):
        parse_jsonl("")
    with pytest.raises(ConfigurationError, match=r"^upload, line 1: not valid JSON"):
        parse_jsonl("{", "upload")


# -- the shipped evaluation set -------------------------------------------------------

EXPECTED_COUNTS = {
    ("paraphrase_reorder", True): 45,
    ("paraphrase_synonym", True): 45,
    ("paraphrase_register", True): 45,
    ("paraphrase_typo", True): 45,
    ("paraphrase_length", True): 45,
    ("multilingual_paraphrase", True): 45,
    ("chat_paraphrase", True): 44,
    ("multiturn_paraphrase", True): 20,
    ("changed_number", False): 41,
    ("changed_date", False): 40,
    ("changed_unit", False): 40,
    ("negation", False): 40,
    ("swapped_roles", False): 41,
    ("same_topic_other_question", False): 40,
    ("translation", False): 40,
    ("chat_other_question", False): 44,
    ("multiturn_earlier_turn", False): 40,
}
CHAT_CATEGORIES = {
    "chat_paraphrase",
    "chat_other_question",
    "multiturn_paraphrase",
    "multiturn_earlier_turn",
}


@pytest.fixture(scope="module")
def records() -> list[dict[str, object]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


def test_the_shipped_set_has_the_schema_and_the_size(records: list[dict[str, object]]) -> None:
    assert len(records) >= 600
    for record in records:
        assert set(record) == {"a", "b", "same", "category", "format"}
        assert isinstance(record["a"], str) and record["a"].strip()
        assert isinstance(record["b"], str) and record["b"].strip()
        assert isinstance(record["same"], bool)
        assert record["format"] == ("chat" if record["category"] in CHAT_CATEGORIES else "text")
    pairs = builtin_pairs()
    assert read_pairs(BUILTIN_PAIRS) == pairs
    assert len(pairs) == len(records)


def test_the_shipped_set_has_the_categories_and_is_balanced(
    records: list[dict[str, object]],
) -> None:
    counts = Counter((str(record["category"]), bool(record["same"])) for record in records)
    assert dict(counts) == EXPECTED_COUNTS
    assert all(count >= 40 for (_, same), count in counts.items() if not same)
    positives = sum(count for (_, same), count in counts.items() if same)
    assert 0.4 <= positives / len(records) <= 0.6


def test_the_shipped_set_has_no_duplicate_pairs(records: list[dict[str, object]]) -> None:
    keys = [frozenset((record["a"], record["b"])) for record in records]
    assert all(record["a"] != record["b"] for record in records)
    assert len(set(keys)) == len(keys)  # in either order


def _messages(text: object) -> list[object]:
    assert isinstance(text, str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loads is "beta" in langchain-core 1.x
        messages = loads(text, allowed_objects="messages")
    assert isinstance(messages, list)
    return messages


def test_every_chat_pair_is_a_langchain_message_list(records: list[dict[str, object]]) -> None:
    chat = [record for record in records if record["format"] == "chat"]
    assert len(chat) == 148
    for record in chat:
        a, b = _messages(record["a"]), _messages(record["b"])
        for messages in (a, b):
            assert isinstance(messages[0], SystemMessage)
            assert isinstance(messages[-1], HumanMessage)
            assert all(isinstance(m, (HumanMessage, AIMessage)) for m in messages[1:])
            assert len(str(messages[0].content)) > 500  # a long system prompt
        assert a[0] == b[0]  # the same system prompt on both sides
        category = record["category"]
        if category in {"chat_paraphrase", "chat_other_question"}:
            assert len(a) == len(b) == 2
            assert a[1] != b[1]
        elif category == "multiturn_earlier_turn":
            assert len(a) == len(b) == 4
            assert a[-1] == b[-1] and a[1:3] != b[1:3]
        else:  # multiturn_paraphrase: same earlier turns, another last question
            assert len(a) == len(b) == 4
            assert a[:3] == b[:3] and a[-1] != b[-1]


def test_the_committed_set_is_what_the_script_builds() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_eval_pairs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
