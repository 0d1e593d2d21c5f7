"""What the CLI does with bad data, interruptions and bad timeouts, against the real node:
each command is a subprocess, as an operator runs it.

* ``import`` checks its whole input before the first write (a bad line: exit 2, one line
  naming it, nothing written) and says how many entries it wrote when a write fails;
* ``export -o FILE`` interrupted by SIGINT or ended by SIGTERM (exit 130 / 143) leaves no
  FILE (or the previous one) and no temporary file;
* ``--timeout`` refuses what no client can use;
* semantic caches roll over (bootstrap, rollover, purge --by-index) with their mapping;
* the CLI fault matrix in docs/RELIABILITY.md is what scripts/cli_fault_matrix.py finds.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Collection
from datetime import datetime, timezone
from pathlib import Path

import attrs
import pytest
from elasticsearch import Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import ElasticsearchCache
from langchain_elasticsearch_cache.adapters.elasticsearch import ElasticsearchVectorRepository
from langchain_elasticsearch_cache.domain.semantic_records import VectorQuery

from .test_cli import (
    assert_one_line_error,
    cli,
    count,
    environment,
    populate,
    signalled_export,
)
from .test_cli_semantic import semantic_records

pytestmark = pytest.mark.elasticsearch

ROOT = Path(__file__).resolve().parents[2]


def llm_lines(entries: int, *, odd: Collection[int] = ()) -> list[str]:
    """Export lines of ``entries`` LLM entries; those in ``odd`` with text metadata."""
    lines = []
    for i in range(entries):
        doc: dict[str, object] = {"llm_output": [f"answer {i}"], "metadata": {"n": i}}
        if i in odd:
            doc["metadata"] = {"n": "not a number"}
        lines.append(json.dumps({"kind": "llm", "id": f"key-{i:05d}", "doc": doc}))
    return lines


# -- import ------------------------------------------------------------------------------


def test_a_non_utf8_line_is_refused_before_anything_is_written(
    es_url: str, es_client: Elasticsearch, index_name: str, tmp_path: Path
) -> None:
    lines = [line.encode("utf-8") for line in llm_lines(3000)]
    lines[2500] = lines[2500].replace(b"answer", "r\xe9ponse".encode("latin-1"))
    dump = tmp_path / "latin1.jsonl"
    dump.write_bytes(b"\n".join(lines) + b"\n")
    done = cli("import", index_name, "-i", str(dump), env=environment(ES_URL=es_url))
    line = assert_one_line_error(done, 2)
    assert line.startswith(f"error: line 2501 of {str(dump)!r} is not UTF-8 (byte 0xE9 at byte ")
    assert "iconv" in line and line.endswith("nothing was written")
    assert not es_client.indices.exists(index=index_name)


def test_a_bad_last_line_on_stdin_is_refused_and_nothing_written(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    lines = [*llm_lines(1200), '{"kind": "llm", "id": "cut", "doc": {"llm_out']  # cut short
    done = cli("import", index_name, env=environment(ES_URL=es_url), stdin="\n".join(lines))
    line = assert_one_line_error(done, 2)
    assert line.startswith("error: line 1201 of standard input is not JSON (")
    assert not es_client.indices.exists(index=index_name)

    good = cli("import", index_name, env=environment(ES_URL=es_url), stdin="\n".join(lines[:-1]))
    assert good.returncode == 0, good.stderr
    assert good.stderr.strip() == f"imported 1200 entries into {index_name} (llm: 1200)"
    assert count(es_client, index_name) == 1200


def test_semantic_vectors_of_another_length_are_refused(
    es_url: str, es_client: Elasticsearch, index_name: str, tmp_path: Path
) -> None:
    ElasticsearchVectorRepository(es_client, index_name).put_many(semantic_records(10, dims=8))
    env = environment(ES_URL=es_url)
    exported = cli("export", index_name, env=env)
    assert exported.returncode == 0, exported.stderr
    other = f"{index_name}-other"
    ElasticsearchVectorRepository(es_client, other).put_many(semantic_records(5, dims=4))
    done = cli("import", other, env=env, stdin=exported.stdout)
    line = assert_one_line_error(done, 2)
    assert f"the input's vectors have 8 dimensions but {other!r} holds vectors of 4" in line
    assert count(es_client, other) == 5

    lines = exported.stdout.splitlines()
    short = json.loads(lines[3])
    short["doc"]["prompt_vector"] = short["doc"]["prompt_vector"][:3]
    lines[3] = json.dumps(short)
    mixed = cli("import", f"{index_name}-new", env=env, stdin="\n".join(lines))
    line = assert_one_line_error(mixed, 2)
    assert "line 4 of standard input: the vector of entry" in line
    assert "has 3 dimensions, the entries before it (from line 1) 8" in line
    assert not es_client.indices.exists(index=f"{index_name}-new")


def test_a_write_failure_midway_says_how_many_entries_were_written(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    # the node maps metadata.n as a number from the first batch; entry 700's text is
    # refused by the mapping, which no line-by-line check can know in advance
    lines = llm_lines(1000, odd=(700,))
    env = environment(ES_URL=es_url)
    for _ in range(2):  # running it again is safe: the same 999 entries
        done = cli("import", index_name, "--batch-size", "500", env=env, stdin="\n".join(lines))
        line = assert_one_line_error(done, 1)
        assert line.startswith(
            f"error: import into {index_name!r} stopped after writing 999 of 1000 entries: "
        )
        assert "key-00700" in line
        assert "run the same import again" in line
        assert count(es_client, index_name) == 999


# -- export ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sig", "code", "last_line"),
    [
        (signal.SIGINT, 130, "interrupted"),  # Ctrl-C
        # kill, a container runtime stopping its container, a job scheduler's time limit
        (signal.SIGTERM, 143, "terminated"),
    ],
    ids=["SIGINT", "SIGTERM"],
)
def test_an_interrupted_export_leaves_no_file_under_the_final_name(
    es_url: str,
    es_client: Elasticsearch,
    index_name: str,
    tmp_path: Path,
    sig: signal.Signals,
    code: int,
    last_line: str,
) -> None:
    populate(es_client, index_name, 20_000)
    output = tmp_path / "cache.jsonl"
    interrupted = signalled_export(es_url, index_name, output, sig)
    assert interrupted.returncode == code, interrupted.stderr
    assert interrupted.stderr.splitlines()[-1] == last_line
    assert "Traceback" not in interrupted.stderr
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary file

    output.write_text("previous export\n", encoding="utf-8")
    interrupted = signalled_export(es_url, index_name, output, sig)
    assert interrupted.returncode == code, interrupted.stderr
    assert output.read_text(encoding="utf-8") == "previous export\n"
    assert [path.name for path in tmp_path.iterdir()] == ["cache.jsonl"]

    done = cli("export", index_name, "-o", str(output), env=environment(ES_URL=es_url))
    assert done.returncode == 0, done.stderr
    assert len(output.read_text(encoding="utf-8").splitlines()) == 20_000
    assert [path.name for path in tmp_path.iterdir()] == ["cache.jsonl"]


# -- timeouts ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_bad_timeouts_are_one_line_exit_2(es_url: str, index_name: str, value: str) -> None:
    done = cli("stats", index_name, f"--timeout={value}", env=environment(ES_URL=es_url))
    line = assert_one_line_error(done, 2)
    assert f"--timeout {value!r} is not a number of seconds more than 0" in line


def test_a_good_timeout_works(es_url: str, es_client: Elasticsearch, index_name: str) -> None:
    ElasticsearchCache(index_name, client=es_client).update("p", "l", [Generation(text="x")])
    done = cli("stats", index_name, "--timeout", "0.5e1", env=environment(ES_URL=es_url))
    assert done.returncode == 0, done.stderr


# -- retention of a semantic cache -------------------------------------------------------


def _node_version(client: Elasticsearch) -> tuple[int, int]:
    nodes = client.nodes.info(node_id="_local")["nodes"]  # GET / may be absent (405)
    version = next(iter(nodes.values()))["version"]
    major, minor = str(version).split(".")[:2]
    return int(major), int(minor)


def test_semantic_cache_bootstraps_rolls_over_and_purges_by_index(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    env = environment(ES_URL=es_url)
    boot = cli("rollover", index_name, "--bootstrap", "--kind", "semantic", env=env)
    assert boot.returncode == 0, boot.stderr
    first = f"{index_name}-000001"
    assert boot.stdout.strip() == f"created {first} behind alias {index_name} (its write index)"

    old = semantic_records(20, start=datetime(2024, 1, 1, tzinfo=timezone.utc))
    through_alias = ElasticsearchVectorRepository(es_client, index_name, refresh="wait_for")
    through_alias.put_many(old)
    rolled = cli("rollover", index_name, "--max-docs", "1", env=env)
    assert rolled.returncode == 0, rolled.stderr
    second = f"{index_name}-000002"
    assert f"rolled {index_name} over from {first} to {second}" in rolled.stdout

    new = semantic_records(20, seed=8, start=datetime.now(timezone.utc))
    new = [attrs.evolve(record, key=f"new-{record.key}") for record in new]
    ElasticsearchVectorRepository(es_client, index_name, refresh="wait_for").put_many(new)
    wants_settings = _node_version(es_client) >= (9, 1)
    for name in (first, second):
        mapping = es_client.indices.get_mapping(index=name)[name]["mappings"]["properties"]
        assert mapping["prompt_vector"]["type"] == "dense_vector"
        assert mapping["prompt_vector"]["similarity"] == "cosine"
        assert mapping["llm_string_hash"]["type"] == "keyword"
        settings = es_client.indices.get_settings(index=name)[name]["settings"]["index"]
        heuristic = (settings.get("dense_vector") or {}).get("hnsw_filter_heuristic")
        assert heuristic == ("fanout" if wants_settings else None)

    for record in (old[3], new[5]):
        assert record.vector is not None
        query = VectorQuery(
            vector=record.vector,
            llm_string_hash=record.llm_string_hash,
            context_hash=record.context_hash,
            min_similarity=0.99,
        )
        assert through_alias.nearest(query)[0].record.key == record.key

    purged = cli("purge", index_name, "--by-index", "--older-than", "30d", env=env)
    assert purged.returncode == 0, purged.stderr
    assert f"dropped {first} " in purged.stdout
    assert not es_client.indices.exists(index=first)
    assert count(es_client, index_name) == 20


# -- the fault matrix in the documentation -----------------------------------------------


def test_the_fault_matrix_in_reliability_md_is_what_the_script_finds(es_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_fault_matrix.py"), "--check"],
        capture_output=True,
        text=True,
        env=environment(ES_URL=es_url),
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
