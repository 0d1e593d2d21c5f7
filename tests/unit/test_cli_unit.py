"""The CLI's pure parts and the commands that need no server, run in-process."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from langchain_elasticsearch_cache.domain.entries import EmbeddingRecord, LlmRecord
from langchain_elasticsearch_cache.domain.errors import (
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    BulkOperationError,
    CacheError,
    ConfigurationError,
    InvalidIndexNameError,
    TlsVerificationError,
)
from langchain_elasticsearch_cache.domain.semantic_records import SemanticRecord
from langchain_elasticsearch_cache.interfaces import cli
from langchain_elasticsearch_cache.interfaces.operations import (
    IndexNotFoundError,
    kind_of_line,
    line_to_record,
    model_of,
    record_to_line,
)

# cli.main configures the process's logging: undone after each test (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("cli_logging_restored")

T = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ES_URL", "ES_CLOUD_ID", "ES_API_KEY", "ES_USER", "ES_PASSWORD", "ES_CA_CERTS"):
        monkeypatch.delenv(name, raising=False)


# -- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("12h", 43200),
        ("7d", 7 * 86400),
        ("2w", 14 * 86400),
        ("1.5h", 5400),
        ("45", 45),
        (" 7D ", 7 * 86400),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert cli.parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "d", "seven days", "7y", "1e400d", "nan", "inf"])
def test_unreadable_durations(text: str) -> None:
    with pytest.raises(ConfigurationError, match="duration"):
        cli.parse_duration(text)


@pytest.mark.parametrize("text", ["0", "0d", "-3h"])
def test_durations_must_be_positive(text: str) -> None:
    with pytest.raises(ConfigurationError, match="positive"):
        cli.parse_duration(text)


# -- model names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("llm_string", "model"),
    [
        (
            "[('_type', 'fake-list-chat-model'), ('responses', ['a']), ('stop', None)]",
            "fake-list-chat-model",
        ),
        (
            "[('_type', 'openai-chat'), ('model_name', 'gpt-4o'), ('stop', None)]",
            "gpt-4o",
        ),
        (
            "[('_type', 'anthropic-chat'), ('model', 'claude-3-5-haiku'), ('stop', None)]",
            "claude-3-5-haiku",
        ),
        (
            '{"lc": 1, "type": "constructor", "id": ["langchain", "chat_models", "openai", '
            '"ChatOpenAI"], "kwargs": {"model_name": "gpt-4o-mini"}}---[(\'stop\', None)]',
            "gpt-4o-mini",
        ),
        (
            '{"lc": 1, "type": "constructor", "id": ["langchain", "llms", "fake", "FakeLLM"], '
            '"kwargs": {}}',
            "FakeLLM",
        ),
        ("something else entirely", "(unknown)"),
        (None, "(not stored)"),
        ("", "(not stored)"),
    ],
)
def test_model_of(llm_string: str | None, model: str) -> None:
    assert model_of(llm_string) == model


# -- export lines ------------------------------------------------------------------------


def test_llm_record_round_trips_through_a_line() -> None:
    record = LlmRecord(
        key="k" * 64,
        llm_output=('{"lc": 1}', "second"),
        timestamp=T,
        llm_input="prompt with ünïcödé and 日本",
        llm_params="[('_type', 'x')]",
        metadata={"team": "a", "n": [1, 2]},
    )
    line = record_to_line("llm", record)
    assert "\n" not in line
    assert "日本" in line  # not escaped: smaller files
    item = json.loads(line)
    assert (item["kind"], item["id"]) == ("llm", record.key)
    assert kind_of_line(line) == "llm"
    assert line_to_record("llm", line) == record
    assert line_to_record("embeddings", line) is None  # kind must match


def test_embedding_record_round_trips_through_a_line() -> None:
    record = EmbeddingRecord(
        key="e" * 64, vector_dump="AAEC", timestamp=T, text_input="text", namespace="ns"
    )
    line = record_to_line("embeddings", record)
    assert kind_of_line(line) == "embeddings"
    assert line_to_record("embeddings", line) == record
    assert line_to_record("llm", line) is None


def test_semantic_record_round_trips_through_a_line_with_its_vector() -> None:
    record = SemanticRecord(
        key="s" * 64,
        llm_output=('{"lc": 1}',),
        timestamp=T,
        llm_string_hash="model-hash",
        context_hash="context-hash",
        vector=(0.25, -1.5, 3.0),
        prompt_text="What is a cache?",
        llm_input="prompt",
        llm_params="[('_type', 'x')]",
    )
    line = record_to_line("semantic", record)
    assert json.loads(line)["doc"]["prompt_vector"] == [0.25, -1.5, 3.0]
    assert kind_of_line(line) == "semantic"
    assert line_to_record("semantic", line) == record
    assert line_to_record("llm", line) is None  # kind must match
    # a vector that is not a list of finite numbers makes the line unreadable
    broken = line.replace("[0.25,-1.5,3.0]", '["x"]')
    assert line_to_record("semantic", broken) is None


@pytest.mark.parametrize(
    "line",
    [
        "not json",
        "[]",
        "{}",
        '{"kind": "llm"}',
        '{"kind": "llm", "id": "", "doc": {"llm_output": []}}',
        '{"kind": "llm", "id": 5, "doc": {"llm_output": []}}',
        '{"kind": "llm", "id": "' + "x" * 513 + '", "doc": {"llm_output": []}}',
        '{"kind": "llm", "id": "k", "doc": "not an object"}',
        '{"kind": "llm", "id": "k", "doc": {"llm_output": [1]}}',
        '{"kind": "llm", "id": "k", "doc": {"llm_output": [], "timestamp": "yesterday"}}',
        '{"kind": "other", "id": "k", "doc": {"llm_output": []}}',
    ],
)
def test_invalid_lines_are_refused(line: str) -> None:
    assert line_to_record("llm", line) is None


def test_kind_of_line() -> None:
    assert kind_of_line('{"kind": "embeddings"}') == "embeddings"
    assert kind_of_line('{"kind": "other"}') is None
    assert kind_of_line("garbage") is None


def test_peek_kind_replays_every_line() -> None:
    lines = ["\n", "  \n", '{"kind": "llm", "id": "a"}\n', "second\n", "third\n"]
    kind, replay = cli._peek_kind(iter(lines))
    assert kind == "llm"
    assert list(replay) == lines
    kind, replay = cli._peek_kind(iter(["\n", ""]))
    assert kind is None
    assert list(replay) == ["\n", ""]


# -- progress ----------------------------------------------------------------------------


def test_progress_lines_are_throttled_and_end_with_the_total() -> None:
    stream = io.StringIO()
    progress = cli.Progress("exported", 3000, enabled=True, interval=3600, stream=stream)
    for _ in range(3):
        progress.advance(1000)
    assert stream.getvalue() == ""  # inside the interval
    progress.finish()
    assert stream.getvalue().startswith("exported: 3000/3000 (100%), ")

    every = io.StringIO()
    progress = cli.Progress("imported", None, enabled=True, interval=0, stream=every)
    for _ in range(3):
        progress.advance(500)
    progress.finish()
    lines = every.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "imported: 500",
        "imported: 1000",
        "imported: 1500",
        "imported: 1500",
    ]


def test_disabled_progress_prints_nothing() -> None:
    stream = io.StringIO()
    progress = cli.Progress("exported", 10, enabled=False, interval=0, stream=stream)
    progress.advance(10)
    progress.finish()
    assert stream.getvalue() == ""
    assert progress.done == 10


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (IndexNotFoundError("gone"), 4),
        (ConfigurationError("bad"), 2),
        (InvalidIndexNameError("Bad"), 2),
        (BackendUnavailableError("down"), 3),
        (AuthenticationError("401"), 3),
        (TlsVerificationError("cert"), 3),
        (BackendError("mapping"), 1),
        (BulkOperationError("put", {"k": "why"}), 1),
        (CacheError("other"), 1),
    ],
)
def test_exit_codes(error: CacheError, code: int) -> None:
    assert cli._exit_code(error) == code


def test_error_lines_are_one_line_without_secrets() -> None:
    error = CacheError("failed\nfor user:pa55word-x at\thost with key ABCDEF123")
    line = cli._one_line(error, ["pa55word-x", "ABCDEF123", "ab"])
    assert line == "error: failed for user:*** at host with key ***"


def test_repeated_warnings_are_capped(capsys: pytest.CaptureFixture[str]) -> None:
    cli._configure_logging(verbose=False)
    log = logging.getLogger("langchain_elasticsearch_cache.test")
    for i in range(25):
        log.warning("document %s is malformed", i)
    log.warning("something else")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 12
    assert lines[0] == "warning: document 0 is malformed"
    assert lines[10].endswith("[further warnings like this one are not shown]")
    assert lines[11] == "warning: something else"


# -- commands without a server -----------------------------------------------------------


def test_demo_in_memory_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "model calls: 2 for 6 invocations" in out
    assert "4 hits, 2 misses, 2 writes, hit rate 67%" in out
    # then one new prompt streamed twice through CachedChatModel: a miss, then the hit
    streamed = out[out.index("streamed through CachedChatModel") :].splitlines()
    assert len(streamed) == 4, streamed
    miss, hit = streamed[1:3]
    assert miss.startswith("  stream 1: 'Stored' ' ' 'whole'")
    assert " -> model call (miss), 11 chunks, " in miss
    assert hit.startswith("  stream 2: 'Stored whole when the stream ends.' -> ")
    assert " -> cache hit (replayed), 1 chunk, " in hit
    assert streamed[3] == "model calls: 1 for 2 streams"


@pytest.mark.parametrize(
    "argv",
    [
        ["stats", "idx"],
        ["purge", "idx", "--older-than", "7d"],
        ["clear", "idx", "--yes"],
        ["export", "idx"],
    ],
)
def test_commands_need_a_server(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "error: no Elasticsearch given: pass --es-url URL (or --es-cloud-id) or set ES_URL"
    ]


def test_clear_without_yes_refuses_before_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    # the URL is never contacted: nothing listens on port 9 of this host
    assert cli.main(["clear", "idx", "--es-url", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: refusing to delete every entry of 'idx' without --yes"
    ]


def test_bad_duration_is_refused_before_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["purge", "idx", "--older-than", "soon", "--es-url", "http://127.0.0.1:9"]) == 2
    assert "cannot read duration 'soon'" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["frobnicate"], ["export"], ["import", "idx", "--batch-size", "0"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2
    capsys.readouterr()


def test_help_names_every_command_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "stats", "purge", "clear", "export", "import"):
        assert command in out
    assert "4 index not found" in out


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (27772, "27.1 KiB"),
        (5 * 1024**3, "5.0 GiB"),
    ],
)
def test_human_sizes(size: int, shown: str) -> None:
    assert cli._human_size(size) == shown


@pytest.mark.parametrize(
    ("argv", "user", "password", "api_key"),
    [
        (["stats", "idx", "--es-user", "-me", "--es-password", "-Kx3_d-"], "-me", "-Kx3_d-", None),
        (["stats", "idx", "--es-api-key", "-bWU6a2V5"], None, None, "-bWU6a2V5"),
        (["stats", "--es-password", "-p--w", "--", "idx"], None, "-p--w", None),
        (["stats", "idx", "--es-password=-already-glued"], None, "-already-glued", None),
    ],
)
def test_credentials_may_begin_with_a_dash(
    argv: list[str],
    user: str | None,
    password: str | None,
    api_key: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a random password or base64url API key starts with "-" one time in 64; argparse would
    # stop with "expected one argument", so the word after a credential flag is its value
    for name in ("ES_USER", "ES_PASSWORD", "ES_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    args = cli.build_parser().parse_args(cli._glue_verbatim_values(argv))
    assert (args.index, args.es_user, args.es_password, args.es_api_key) == (
        "idx",
        user,
        password,
        api_key,
    )


def test_a_dash_password_reaches_the_connection(capsys: pytest.CaptureFixture[str]) -> None:
    # nothing listens on port 9: the run fails to connect, not to parse its arguments
    argv = ["stats", "idx", "--es-url", "http://127.0.0.1:9", "--es-user", "u"]
    code = cli.main([*argv, "--es-password", "-secret-pw", "--timeout", "1"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "-secret-pw" not in err and "expected one argument" not in err
