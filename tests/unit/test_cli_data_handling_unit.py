"""CLI data handling without a node: --timeout and request_timeout, the checks of an
import's input, the export's atomic file, and WordLlama leaving logging alone."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from langchain_elasticsearch_cache import ConfigurationError, ElasticsearchCache
from langchain_elasticsearch_cache.adapters.elasticsearch.client import (
    create_async_elasticsearch_client,
    create_elasticsearch_client,
    validate_timeout,
)
from langchain_elasticsearch_cache.interfaces import cli
from langchain_elasticsearch_cache.interfaces.cli.import_input import (
    InputError,
    check_input,
    decoded_lines,
)
from langchain_elasticsearch_cache.interfaces.cli.transfer import atomic_output
from langchain_elasticsearch_cache.interfaces.cli.values import parse_timeout

NOWHERE = "http://127.0.0.1:9"  # nothing listens there: a test that connected would exit 3
BAD_TIMEOUTS = ["0", "-1", "nan", "inf", "-inf", "1e400", "soon", ""]


# -- timeouts ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", BAD_TIMEOUTS)
def test_parse_timeout_refuses_what_is_not_positive_and_finite(text: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_timeout(text)
    message = str(raised.value)
    assert f"--timeout {text!r}" in message
    assert "more than 0 and less than infinity" in message


@pytest.mark.parametrize(("text", "value"), [("30", 30.0), ("0.5", 0.5), (None, None)])
def test_parse_timeout_takes_positive_numbers(text: str | None, value: float | None) -> None:
    assert parse_timeout(text) == value


@pytest.mark.usefixtures("cli_logging_restored")
@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf"])
@pytest.mark.parametrize("command", [["stats", "idx"], ["import", "idx", "--kind", "llm"]])
def test_cli_timeout_is_one_line_exit_2_before_connecting(
    text: str, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main([*command, "--es-url", NOWHERE, f"--timeout={text}"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE, err
    assert err.count("\n") == 1 and err.startswith(f"error: --timeout {text!r} ")
    assert "Traceback" not in err


@pytest.mark.parametrize("value", [0, -1, 0.0, float("nan"), float("inf"), True, "10"])
def test_validate_timeout_refuses_with_the_range(value: object) -> None:
    with pytest.raises(ConfigurationError) as raised:
        validate_timeout(value)
    assert "request_timeout must be" in str(raised.value)
    assert "positive, finite number" in str(raised.value)
    assert repr(value) in str(raised.value)


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf")])
def test_every_factory_and_class_refuses_a_bad_request_timeout(value: float) -> None:
    for build in (
        lambda: create_elasticsearch_client(NOWHERE, request_timeout=value, check=False),
        lambda: create_async_elasticsearch_client(NOWHERE, request_timeout=value),
        lambda: ElasticsearchCache("idx", es_url=NOWHERE, request_timeout=value),
    ):
        with pytest.raises(ConfigurationError, match="request_timeout must be a positive"):
            build()
    with pytest.raises(ConfigurationError, match=r"params\['request_timeout'\] must be"):
        create_elasticsearch_client(NOWHERE, params={"request_timeout": value}, check=False)


def test_a_good_request_timeout_reaches_the_client() -> None:
    client = create_elasticsearch_client(NOWHERE, request_timeout=2.5, check=False)
    try:
        assert client._request_timeout == 2.5  # what every request of the client waits
    finally:
        client.close()


# -- the import's input --------------------------------------------------------------------


def llm_line(key: str = "k1", output: object = ("answer",)) -> str:
    doc = {"llm_output": list(output) if isinstance(output, tuple) else output}
    return json.dumps({"kind": "llm", "id": key, "doc": doc})


def semantic_line(key: str, vector: list[float] | None) -> str:
    doc: dict[str, object] = {
        "llm_output": ["a"],
        "llm_string_hash": "h",
        "context_hash": "c",
        "timestamp": "2024-01-01T00:00:00+00:00",
    }
    if vector is not None:
        doc["prompt_vector"] = vector
    return json.dumps({"kind": "semantic", "id": key, "doc": doc})


def source(*lines: str | bytes) -> io.BytesIO:
    raw = [line if isinstance(line, bytes) else line.encode("utf-8") for line in lines]
    return io.BytesIO(b"\n".join(raw) + b"\n")


def refused(data: io.BytesIO, kind: str | None = None) -> InputError:
    with pytest.raises(InputError) as raised:
        check_input(data, kind, "'in.jsonl'")
    assert "nothing was written" in str(raised.value)
    return raised.value


def test_a_good_input_is_summarised_and_read_again_line_for_line() -> None:
    data = source("\ufeff" + llm_line("a"), "", llm_line("b"), "   ")
    summary = check_input(data, None, "'in.jsonl'")
    assert (summary.kind, summary.entries, summary.dims) == ("llm", 2, None)
    lines = list(decoded_lines(data))
    assert [json.loads(line)["id"] for line in lines if line.strip()] == ["a", "b"]
    vectors = source(semantic_line("a", [1.0, 0.0]), semantic_line("b", [0.0, 1.0]))
    assert check_input(vectors, None, "x") == check_input(vectors, "semantic", "x")
    assert check_input(vectors, None, "x").dims == 2
    assert check_input(source(""), None, "x").kind is None


def test_bad_encoding_names_the_line_the_byte_and_the_fix() -> None:
    lines: list[str | bytes] = [llm_line(f"k{i}") for i in range(3)]
    lines.append('{"kind": "llm", "id": "caf\xe9", "doc": {}}'.encode("latin-1"))
    error = refused(source(*lines))
    assert error.line == 4
    assert "line 4 of 'in.jsonl' is not UTF-8 (byte 0xE9 at byte 27 of the line)" in str(error)
    assert "iconv" in str(error)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '{"kind": "llm", "id": "k", "doc"',
            "is not JSON (Expecting ':' delimiter: character 33)",
        ),
        ("[1, 2]", "is not an export line (it has no 'kind', 'id', 'doc')"),
        ('{"kind": "llm", "doc": {}}', "it has no 'id'"),
        ('{"kind": "chat", "id": "k", "doc": {}}', "has kind 'chat', which is none of"),
        ('{"kind": "llm", "id": "", "doc": {}}', "its id '' is not a non-empty string"),
        (json.dumps({"kind": "llm", "id": "é" * 300, "doc": {}}), "longer than 512 bytes"),
        (llm_line("k9", 5), "the llm entry 'k9' cannot be stored (llm_output is not a list"),
        (
            json.dumps({"kind": "embeddings", "id": "e", "doc": {"vector_dump": "%%"}}),
            "holds an embeddings entry but the entries before it (from line 1) are llm",
        ),
    ],
)
def test_each_bad_line_is_refused_with_its_number_and_reason(line: str, expected: str) -> None:
    error = refused(source(llm_line("k1"), line, llm_line("k3")))
    assert error.line == 2
    assert str(error).startswith("line 2 of 'in.jsonl'")
    assert expected in str(error)


def test_kinds_and_vectors_that_cannot_share_one_index_are_refused() -> None:
    wrong_kind = refused(source(llm_line("a")), "semantic")
    assert "holds an llm entry but --kind semantic was given" in str(wrong_kind)
    assert "--kind llm" in str(wrong_kind)
    bad_base64 = json.dumps({"kind": "embeddings", "id": "e", "doc": {"vector_dump": "%%"}})
    assert "vector_dump is not base64" in str(refused(source(bad_base64)))
    mixed = refused(source(semantic_line("a", [1.0, 2.0]), semantic_line("b", [1.0, 2.0, 3.0])))
    assert mixed.line == 2
    assert "has 3 dimensions, the entries before it (from line 1) 2" in str(mixed)
    no_vector = refused(source(semantic_line("a", None)))
    assert "has no prompt_vector" in str(no_vector)


# -- the export's file ---------------------------------------------------------------------


def test_atomic_output_appears_only_when_the_block_completes(tmp_path: Path) -> None:
    target = tmp_path / "cache.jsonl"
    with atomic_output(str(target)) as out:
        out.write("one\n")
        assert not target.exists()  # still under a temporary name
        assert len(list(tmp_path.iterdir())) == 1
    assert target.read_text(encoding="utf-8") == "one\n"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # as open(..., "w") would

    for interruption in (KeyboardInterrupt, RuntimeError):
        with pytest.raises(interruption), atomic_output(str(target)) as out:
            out.write("two\n")
            raise interruption
        assert target.read_text(encoding="utf-8") == "one\n"  # the previous export, intact
        assert [path.name for path in tmp_path.iterdir()] == ["cache.jsonl"]  # no temp left

    missing = tmp_path / "missing" / "cache.jsonl"
    with (
        pytest.raises(ConfigurationError, match="check that the folder exists"),
        atomic_output(str(missing)),
    ):
        pass


# -- WordLlama and logging -----------------------------------------------------------------

_LOGGING_PROBE = """
import logging, sys
root = logging.getLogger()
mine = logging.NullHandler()
if sys.argv[1] == "configured":
    root.addHandler(mine)
    root.setLevel(logging.ERROR)
before = (root.level, list(root.handlers))
from langchain_elasticsearch_cache.interfaces.langchain.wordllama import WordLlamaEmbeddings
WordLlamaEmbeddings().embed_query("hello")
import wordllama.inference  # every wordllama module that calls basicConfig
after = (root.level, list(root.handlers))
print(before == after, before[0], after[0], len(after[1]))
"""


@pytest.mark.parametrize("setup", ["unconfigured", "configured"])
def test_wordllama_leaves_the_root_logger_alone(setup: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LOGGING_PROBE, setup],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "True", done.stdout
