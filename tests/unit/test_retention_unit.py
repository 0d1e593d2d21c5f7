"""Retention arguments refused before any request: the CLI's rollover and purge flags."""

from __future__ import annotations

import re

import pytest

from langchain_elasticsearch_cache.interfaces import cli

pytestmark = pytest.mark.usefixtures("cli_logging_restored")

# nothing listens on port 9 of this host: a test that connected would fail with exit 3
NOWHERE = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["rollover", "llm-cache", "--bootstrap"],
            "--kind llm, --kind embeddings or --kind semantic",
        ),
        (["rollover", "llm-cache"], "needs at least one condition"),
        (["rollover", "llm-cache", "--max-age", "soon"], "cannot read duration 'soon'"),
        (["rollover", "llm-cache", "--max-size", "big"], "max_size must be a number of bytes"),
        (["purge", "llm-cache", "--older-than", "7d", "--dry-run"], "--dry-run goes with"),
        (["purge", "llm-cache", "--by-index", "--older-than", "0s"], "must be positive"),
        (["rollover", "Bad*Name", "--max-docs", "1"], "Bad\\*Name"),
    ],
)
def test_bad_retention_arguments_exit_2_before_connecting(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main([*argv, "--es-url", NOWHERE])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE, err
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err


def test_help_lists_the_retention_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["rollover", "--help"])
    out = capsys.readouterr().out
    for flag in ("--max-age", "--max-docs", "--max-size", "--bootstrap", "--dry-run"):
        assert flag in out
