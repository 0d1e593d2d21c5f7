"""``export -o FILE`` ended by SIGTERM (``kill``, a container runtime stopping its
container, a job scheduler's time limit) cleans up as Ctrl-C does: no FILE (or the
previous one, unchanged), no temporary ``.part`` file, one line, exit 143 (128 + 15)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from .test_cli import PYTHON_M, cli, environment, populate

pytestmark = pytest.mark.elasticsearch


def _terminated_export(es_url: str, index: str, output: Path) -> subprocess.CompletedProcess[str]:
    """An export to ``output`` sent SIGTERM once its first page is in the temporary file."""
    process = subprocess.Popen(
        [
            *PYTHON_M,
            "export",
            index,
            "-o",
            str(output),
            "--page-size",
            "100",
            "--progress",
            "--progress-every",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(ES_URL=es_url),
    )
    assert process.stderr is not None
    first = process.stderr.readline()  # a progress line per page: the first after page 1
    assert first.startswith("exported: "), first
    parts = list(output.parent.glob(f".{output.name}.*.part"))
    assert len(parts) == 1, parts  # the export is under way, into its temporary file
    process.send_signal(signal.SIGTERM)
    stdout, rest = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, first + rest)


def test_an_export_ended_by_sigterm_leaves_no_file_and_no_temporary_file(
    es_url: str, es_client: Elasticsearch, index_name: str, tmp_path: Path
) -> None:
    populate(es_client, index_name, 20_000)
    output = tmp_path / "cache.jsonl"

    terminated = _terminated_export(es_url, index_name, output)
    assert terminated.returncode == 143, terminated.stderr
    assert terminated.stderr.splitlines()[-1] == "terminated"
    assert "Traceback" not in terminated.stderr
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary file

    output.write_text("previous export\n", encoding="utf-8")
    terminated = _terminated_export(es_url, index_name, output)
    assert terminated.returncode == 143, terminated.stderr
    assert output.read_text(encoding="utf-8") == "previous export\n"
    assert [path.name for path in tmp_path.iterdir()] == ["cache.jsonl"]

    done = cli("export", index_name, "-o", str(output), env=environment(ES_URL=es_url))
    assert done.returncode == 0, done.stderr
    assert len(output.read_text(encoding="utf-8").splitlines()) == 20_000
    assert [path.name for path in tmp_path.iterdir()] == ["cache.jsonl"]
