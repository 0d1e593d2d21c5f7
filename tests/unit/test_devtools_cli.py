"""``python -m lecache_devtools``: the repository's command line that starts a test node.

Only the parsing and the module's entry point are checked here; starting a real node is
what tests/integration/test_node_fixture.py and test_security.py do through the same class.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lecache_devtools.__main__ import parse_arguments

ROOT = Path(__file__).resolve().parents[2]


def test_options_without_a_command_start_a_node() -> None:
    arguments = parse_arguments(["--version", "9.2.8", "--secure", "-E", "a.b=c"])
    assert arguments.command == "start"
    assert arguments.version == "9.2.8"
    assert arguments.secure is True
    assert arguments.settings == ["a.b=c"]


def test_no_argument_starts_a_node_of_the_default_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LECACHE_ES_VERSION", "8.19.9")
    arguments = parse_arguments([])
    assert (arguments.command, arguments.version, arguments.heap) == ("start", "8.19.9", "512m")


@pytest.mark.parametrize("command", ["start", "fetch", "jdk"])
def test_a_named_command_is_kept(command: str) -> None:
    arguments = parse_arguments([command, "--version", "8.19.9"])
    assert (arguments.command, arguments.version) == (command, "8.19.9")


def test_fetch_refuses_start_options() -> None:
    with pytest.raises(SystemExit) as refused:
        parse_arguments(["fetch", "--secure"])
    assert refused.value.code == 2


def test_the_module_runs_from_the_repository_root() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lecache_devtools", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m lecache_devtools")
    for command in ("start", "fetch", "jdk"):
        assert command in done.stdout
