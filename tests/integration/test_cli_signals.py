"""``export -o FILE`` ended by SIGTERM (``kill``, a container runtime stopping its
container, a job scheduler's time limit) cleans up as Ctrl-C does: no FILE (or the
previous one, unchanged), no temporary ``.part`` file, one line, exit 143 (128 + 15)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from .test_cli import cli, environment, populate, signalled_export

pytestmark = pytest.mark.elasticsearch


def test_an_export_ended_by_sigterm_leaves_no_file_and_no_temporary_file(
    es_url: str, es_client: Elasticsearch, index_name: str, tmp_path: Path
) -> None:
    populate(es_client, index_name, 20_000)
    output = tmp_path / "cache.jsonl"

    terminated = signalled_export(es_url, index_name, output, signal.SIGTERM)
    assert terminated.returncode == 143, terminated.stderr
    assert terminated.stderr.splitlines()[-1] == "terminated"
    assert "Traceback" not in terminated.stderr
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary file

    output.write_text("previous export\n", encoding="utf-8")
    terminated = signalled_export(es_url, index_name, output, signal.SIGTERM)
    assert terminated.returncode == 143, terminated.stderr
    assert output.read_text(encoding="utf-8") == "previous export\n"
    assert [path.name for path in tmp_path.iterdir()] == ["cache.jsonl"]

    done = cli("export", index_name, "-o", str(output), env=environment(ES_URL=es_url))
    assert done.returncode == 0, done.stderr
    assert len(output.read_text(encoding="utf-8").splitlines()) == 20_000
    assert [path.name for path in tmp_path.iterdir()] == ["cache.jsonl"]
