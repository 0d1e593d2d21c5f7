"""The command-line tool as a user runs it: a subprocess, against the real node.

``python -m langchain_elasticsearch_cache ...`` and the installed console script
``langchain-elasticsearch-cache``. Output, exit codes and the documents left in
Elasticsearch (counted with the raw client) are what is checked.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    FakeMessagesListChatModel,
)
from langchain_core.messages import AIMessage
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    ElasticsearchRepository,
    LlmRecord,
)
from langchain_elasticsearch_cache.adapters.elasticsearch import LLM_PROPERTIES, LLM_RECORDS
from langchain_elasticsearch_cache.domain.policies import LlmCachePolicy
from lecache_devtools.signalled import signal_after_first_line

from ._http_stub import refusing_elasticsearch

pytestmark = pytest.mark.elasticsearch

CONSOLE_SCRIPT = Path(sys.executable).parent / "langchain-elasticsearch-cache"
PYTHON_M = (sys.executable, "-m", "langchain_elasticsearch_cache")
_CONNECTION_VARIABLES = ("ES_URL", "ES_CLOUD_ID", "ES_API_KEY", "ES_USER", "ES_PASSWORD")

OPENAI_LIKE = (
    '{"lc": 1, "type": "constructor", "id": ["langchain", "chat_models", "openai", '
    '"ChatOpenAI"], "kwargs": {"model_name": "gpt-4o-mini", "temperature": 0.0}}'
    "---[('stop', None)]"
)


def environment(**extra: str) -> dict[str, str]:
    """The test process's environment without any Elasticsearch connection settings."""
    env = {k: v for k, v in os.environ.items() if k not in _CONNECTION_VARIABLES}
    env.pop("ES_CA_CERTS", None)
    env.update(extra)
    return env


def cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    launcher: Sequence[str] = PYTHON_M,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*launcher, *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env if env is not None else environment(),
        timeout=timeout,
        check=False,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: int) -> str:
    """Exit ``code``, nothing on stdout, exactly one line on stderr: ``error: ...``."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def signalled_export(
    es_url: str, index: str, output: Path, sig: signal.Signals
) -> subprocess.CompletedProcess[str]:
    """An export of ``index`` (20,000 entries or more) to ``output``, a progress line per page
    of 100, sent ``sig`` after its first page, while it certainly still runs (see
    :func:`lecache_devtools.signalled.signal_after_first_line`)."""

    def under_way(first: str) -> None:
        assert first.startswith("exported: "), first
        parts = list(output.parent.glob(f".{output.name}.*.part"))
        assert len(parts) == 1, parts  # the export is under way, into its temporary file
        assert not output.exists() or output.read_text(encoding="utf-8") == "previous export\n"

    return signal_after_first_line(
        [
            *PYTHON_M,
            *("export", index, "-o", str(output), "--page-size", "100"),
            *("--progress", "--progress-every", "0"),
        ],
        sig,
        env=environment(ES_URL=es_url),
        before_signal=under_way,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def count(client: Elasticsearch, index: str) -> int:
    client.indices.refresh(index=index)
    return int(client.count(index=index)["count"])


def stored_ids(client: Elasticsearch, index: str) -> set[str]:
    client.indices.refresh(index=index)
    answer = client.search(index=index, size=10_000, source=False)
    return {hit["_id"] for hit in answer["hits"]["hits"]}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# -- demo --------------------------------------------------------------------------------


@pytest.mark.parametrize("launcher", ["python -m", "console script"])
def test_demo_in_memory(launcher: str) -> None:
    assert CONSOLE_SCRIPT.is_file(), "pip install -e . installs the console script"
    command = PYTHON_M if launcher == "python -m" else (str(CONSOLE_SCRIPT),)
    done = cli("demo", launcher=command)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    out = done.stdout
    assert "through the in-memory cache" in out
    # 2 invoked misses and 1 streamed miss; 4 invoked hits and 1 streamed hit
    assert out.count("model call (miss)") == 3
    assert out.count("cache hit") == 5
    assert out.count("cache hit (replayed), 1 chunk,") == 1
    assert "model calls: 2 for 6 invocations" in out
    assert "cache lookups: 4 hits, 2 misses, 2 writes, hit rate 67%" in out
    assert out.endswith("model calls: 1 for 2 streams\n")


def test_demo_against_es_url(es_url: str, es_client: Elasticsearch, index_name: str) -> None:
    env = environment(ES_URL=es_url)
    done = cli("demo", "--index", index_name, env=env)
    assert done.returncode == 0, done.stderr
    assert f"through Elasticsearch index {index_name!r}" in done.stdout
    assert "model calls: 2 for 6 invocations" in done.stdout
    # the streamed miss was stored in Elasticsearch and replayed from it
    assert "-> model call (miss), 11 chunks," in done.stdout
    assert "-> cache hit (replayed), 1 chunk," in done.stdout
    assert done.stdout.endswith("model calls: 1 for 2 streams\n")
    assert count(es_client, index_name) == 0  # the demo cleans up after itself

    kept = cli("demo", "--index", index_name, "--keep", env=env, launcher=(str(CONSOLE_SCRIPT),))
    assert kept.returncode == 0, kept.stderr
    assert count(es_client, index_name) == 3  # 2 invoked prompts and the streamed one
    # a second process finds the entries the first one left: all hits, streams included
    again = cli("demo", "--index", index_name, "--keep", env=env)
    assert again.returncode == 0, again.stderr
    assert "model calls: 0 for 6 invocations" in again.stdout
    assert "6 hits, 0 misses" in again.stdout
    assert again.stdout.count("-> cache hit (replayed), 1 chunk,") == 2
    assert again.stdout.endswith("model calls: 0 for 2 streams\n")


# -- stats, purge, clear -----------------------------------------------------------------


def test_stats_counts_documents_size_times_and_models(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    oldest = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    newest = datetime(2024, 6, 7, 8, 9, 10, tzinfo=timezone.utc)
    clock = Clock(oldest)
    cache = ElasticsearchCache(index_name, client=es_client, clock=clock)
    first = FakeListChatModel(responses=["one", "two", "three"], cache=cache)
    for prompt in ("a", "b"):
        first.invoke(prompt)
    clock.now = oldest + timedelta(days=1)
    FakeListChatModel(responses=["other responses"], cache=cache).invoke("c")
    second = FakeMessagesListChatModel(responses=[AIMessage("x")], cache=cache)
    for prompt in ("d", "e"):
        second.invoke(prompt)
    clock.now = newest
    cache.update("f", OPENAI_LIKE, [Generation(text="f")])

    done = cli("stats", index_name, "--json", env=environment(ES_URL=es_url))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["index"] == index_name
    assert report["kind"] == "llm"
    assert report["documents"] == 6
    assert report["size_bytes"] > 0
    assert report["oldest"] == "2024-01-02T03:04:05.000Z"
    assert report["newest"] == "2024-06-07T08:09:10.000Z"
    assert report["models"] == {
        "fake-list-chat-model": 3,
        "fake-messages-list-chat-model": 2,
        "gpt-4o-mini": 1,
    }

    text = cli("stats", index_name, "--es-url", es_url, launcher=(str(CONSOLE_SCRIPT),))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert f"index:      {index_name} (llm cache)" in lines
    assert "documents:  6" in lines
    assert "oldest:     2024-01-02T03:04:05.000Z" in lines
    assert "newest:     2024-06-07T08:09:10.000Z" in lines
    assert any(line.split() == ["3", "fake-list-chat-model"] for line in lines)
    assert any(line.split() == ["2", "fake-messages-list-chat-model"] for line in lines)
    assert any(line.split() == ["1", "gpt-4o-mini"] for line in lines)


def test_stats_of_an_embeddings_index_counts_namespaces(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    for namespace, keys in (("model-a", "xyz"), ("model-b", "x"), (None, "pq")):
        store = ElasticsearchEmbeddingsCache(index_name, client=es_client, namespace=namespace)
        store.mset([(key, key.encode()) for key in keys])
    done = cli("stats", index_name, "--json", env=environment(ES_URL=es_url))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["kind"], report["documents"]) == ("embeddings", 6)
    assert report["namespaces"] == {"model-a": 3, "model-b": 1, "(none)": 2}


def test_purge_older_than_deletes_exactly_the_old_entries(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    now = datetime.now(timezone.utc)
    clock = Clock(now)
    cache = ElasticsearchCache(index_name, client=es_client, clock=clock)
    ages = {"30 days": 30, "10 days": 10, "8 days": 8, "6 days": 6, "1 hour": 1 / 24, "now": 0}
    for prompt, days in ages.items():
        clock.now = now - timedelta(days=days)
        cache.update(prompt, "llm", [Generation(text=prompt)])

    done = cli("purge", index_name, "--older-than", "7d", env=environment(ES_URL=es_url))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("purged 3 entries older than 7d (written before ")
    assert stored_ids(es_client, index_name) == {
        cache.policy.key(prompt, "llm") for prompt in ("6 days", "1 hour", "now")
    }
    again = cli("purge", index_name, "--older-than", "1w", env=environment(ES_URL=es_url))
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("purged 0 entries")


def test_clear_refuses_without_yes_and_clears_with_it(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    cache = ElasticsearchCache(index_name, client=es_client)
    for i in range(5):
        cache.update(f"p{i}", "llm", [Generation(text="x")])
    env = environment(ES_URL=es_url)

    refused = cli("clear", index_name, env=env)
    message = assert_one_line_error(refused, 2)
    assert "--yes" in message
    assert count(es_client, index_name) == 5

    done = cli("clear", index_name, "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"cleared 5 entries from {index_name}"
    assert count(es_client, index_name) == 0
    assert es_client.indices.exists(index=index_name)  # emptied, not deleted


# -- export and import -------------------------------------------------------------------

LLM_STRINGS = (
    "[('_type', 'fake-list-chat-model'), ('responses', ['a']), ('stop', None)]",
    OPENAI_LIKE,
)


def populate(es_client: Elasticsearch, index: str, entries: int) -> list[tuple[str, str]]:
    """``entries`` LLM entries written with bulk requests; returns (prompt, llm_string)."""
    policy = LlmCachePolicy(metadata={"source": "cli-test"})
    repository = ElasticsearchRepository(es_client, index, LLM_RECORDS)
    start = datetime(2024, 3, 1, tzinfo=timezone.utc)
    pairs: list[tuple[str, str]] = []
    records: list[LlmRecord] = []
    for i in range(entries):
        prompt = f"prompt {i}: {'é' if i % 7 == 0 else ''}{'日本' if i % 11 == 0 else ''}"
        llm_string = LLM_STRINGS[i % 2]
        generations = [Generation(text=f"answer {i}", generation_info={"i": i})]
        when = start + timedelta(seconds=i, microseconds=i % 1000)
        records.append(policy.record(prompt, llm_string, generations, when))
        pairs.append((prompt, llm_string))
    for chunk in range(0, entries, 2000):
        repository.put_many(records[chunk : chunk + 2000])
    return pairs


def test_export_import_round_trip_of_10000_entries(
    es_url: str, es_client: Elasticsearch, index_name: str, tmp_path: Path
) -> None:
    source, target = f"{index_name}-source", f"{index_name}-copy"
    entries = 10_000
    pairs = populate(es_client, source, entries)
    assert count(es_client, source) == entries
    env = environment(ES_URL=es_url)

    # export | import, two processes joined by a pipe, as in a shell
    exporter = subprocess.Popen(
        [*PYTHON_M, "export", source],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert exporter.stdout is not None
    importer = subprocess.run(
        [str(CONSOLE_SCRIPT), "import", target],
        stdin=exporter.stdout,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    exporter.stdout.close()
    export_err = exporter.stderr.read().decode() if exporter.stderr else ""
    if exporter.stderr:
        exporter.stderr.close()
    assert exporter.wait(timeout=60) == 0, export_err
    assert importer.returncode == 0, importer.stderr
    assert export_err.strip() == f"exported {entries} entries from {source}"
    assert importer.stderr.strip() == f"imported {entries} entries into {target} (llm: {entries})"
    assert count(es_client, target) == entries

    # every record is identical, field by field (realtime mget of all 10,000 keys)
    policy = LlmCachePolicy()
    keys = [policy.key(prompt, llm_string) for prompt, llm_string in pairs]
    original = ElasticsearchRepository(es_client, source, LLM_RECORDS).get_many(keys)
    copied = ElasticsearchRepository(es_client, target, LLM_RECORDS).get_many(keys)
    assert None not in copied
    assert copied == original

    # and the cache classes answer the same for a random sample of lookups
    old_cache = ElasticsearchCache(source, client=es_client)
    new_cache = ElasticsearchCache(target, client=es_client)
    for i in random.Random(7).sample(range(entries), 300):
        prompt, llm_string = pairs[i]
        hit = new_cache.lookup(prompt, llm_string)
        assert hit is not None and hit == old_cache.lookup(prompt, llm_string)
        assert hit[0].text == f"answer {i}"
        assert hit[0].generation_info == {"i": i}
    assert new_cache.lookup("never cached", LLM_STRINGS[0]) is None

    # export to a file with progress lines; import it again: idempotent
    dump = tmp_path / "cache.jsonl"
    exported = cli(
        "export", source, "-o", str(dump), "--progress", "--progress-every", "0", env=env
    )
    assert exported.returncode == 0, exported.stderr
    progress = [line for line in exported.stderr.splitlines() if line.startswith("exported: ")]
    assert len(progress) >= 10  # one per page of 1,000 at least
    assert progress[-1].startswith(f"exported: {entries}/{entries} (100%)")
    assert len(dump.read_text(encoding="utf-8").splitlines()) == entries

    again = cli("import", target, "-i", str(dump), "--progress", "--progress-every", "0", env=env)
    assert again.returncode == 0, again.stderr
    *progress, summary = again.stderr.splitlines()
    assert summary == f"imported {entries} entries into {target} (llm: {entries})"
    assert len(progress) == entries // 500 + 1  # one per batch of 500, and the last
    assert progress[0].startswith(f"imported: 500/{entries} (5%), ")
    assert progress[-1].startswith(f"imported: {entries}/{entries} (100%), ")
    assert count(es_client, target) == entries
    again = cli("import", target, "-i", str(dump), env=env)
    assert again.returncode == 0, again.stderr
    assert again.stderr.strip() == f"imported {entries} entries into {target} (llm: {entries})"
    assert count(es_client, target) == entries
    assert ElasticsearchRepository(es_client, target, LLM_RECORDS).get_many(keys) == original


def test_export_of_an_alias_keeps_the_copy_lookups_see(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    first, second = f"{index_name}-a", f"{index_name}-b"
    for index in (first, second):
        es_client.indices.create(index=index, mappings={"properties": dict(LLM_PROPERTIES)})
    es_client.indices.update_aliases(
        actions=[
            {"add": {"index": first, "alias": index_name}},
            {"add": {"index": second, "alias": index_name, "is_write_index": True}},
        ]
    )
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    clock = Clock(t0)
    in_first = ElasticsearchCache(first, client=es_client, clock=clock)
    in_second = ElasticsearchCache(second, client=es_client, clock=clock)
    # "older-in-a": newer copy in -b; "newer-in-a": newer copy in -a; plus single copies
    for prompt, a_time, b_time in (
        ("older-in-a", 1, 2),
        ("newer-in-a", 5, 3),
        ("only-a", 1, None),
        ("only-b", None, 1),
    ):
        for cache, offset, label in ((in_first, a_time, "a"), (in_second, b_time, "b")):
            if offset is not None:
                clock.now = t0 + timedelta(hours=offset)
                cache.update(prompt, "llm", [Generation(text=f"{prompt} from {label}")])
    assert count(es_client, index_name) == 6
    copy = f"{index_name}-copy"
    env = environment(ES_URL=es_url)

    stats = cli("stats", index_name, env=env)
    assert stats.returncode == 0, stats.stderr
    assert f"indices:    {first} (3), {second} (3)" in stats.stdout.splitlines()
    assert "documents:  6" in stats.stdout.splitlines()

    exported = cli("export", index_name, env=env)
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == 4
    imported = cli("import", copy, env=env, stdin=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    assert count(es_client, copy) == 4

    through_alias = ElasticsearchCache(index_name, client=es_client)
    copied = ElasticsearchCache(copy, client=es_client)
    expected = {
        "older-in-a": "older-in-a from b",
        "newer-in-a": "newer-in-a from a",
        "only-a": "only-a from a",
        "only-b": "only-b from b",
    }
    for prompt, text in expected.items():
        assert through_alias.lookup(prompt, "llm") == [Generation(text=text)]
        assert copied.lookup(prompt, "llm") == [Generation(text=text)]


def test_embeddings_round_trip_into_a_new_index(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    source, target = f"{index_name}-emb", f"{index_name}-emb-copy"
    pairs = [(f"text {i}", bytes([i % 256, (i * 7) % 256]) * 4) for i in range(300)]
    ElasticsearchEmbeddingsCache(source, client=es_client, namespace="m").mset(pairs)
    env = environment(ES_URL=es_url)
    exported = cli("export", source, env=env)
    assert exported.returncode == 0, exported.stderr
    imported = cli("import", target, env=env, stdin=exported.stdout)  # kind read from the lines
    assert imported.returncode == 0, imported.stderr
    copy = ElasticsearchEmbeddingsCache(target, client=es_client, namespace="m")
    assert copy.mget([key for key, _ in pairs]) == [value for _, value in pairs]
    assert sorted(copy.yield_keys()) == sorted(key for key, _ in pairs)

    # embedding lines into an LLM index: refused, nothing written
    llm_index = f"{index_name}-llm"
    ElasticsearchCache(llm_index, client=es_client).update("p", "l", [Generation(text="x")])
    wrong = cli("import", llm_index, env=env, stdin=exported.stdout)
    assert "embeddings entries" in assert_one_line_error(wrong, 2)
    assert count(es_client, llm_index) == 1


def test_import_refuses_an_input_with_an_invalid_line_and_writes_nothing(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    ElasticsearchCache(index_name, client=es_client).update("p", "l", [Generation(text="x")])
    good = cli("export", index_name, env=environment(ES_URL=es_url)).stdout.strip()
    lines = [good, "", '{"kind": "llm", "id": "k", "doc": {"llm_output": 5}}', "not json", good]
    target = f"{index_name}-copy"
    done = cli(
        "import", target, "--kind", "llm", env=environment(ES_URL=es_url), stdin="\n".join(lines)
    )
    line = assert_one_line_error(done, 2)
    assert line == (
        "error: line 3 of standard input: the llm entry 'k' cannot be stored (llm_output is "
        "not a list of strings): correct the line or remove it, or export the index again; "
        "nothing was written"
    )
    assert not es_client.indices.exists(index=target)


def test_export_into_a_closed_pipe_stops_quietly(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    populate(es_client, index_name, 600)  # far more than a pipe buffer holds
    exporter = subprocess.Popen(
        [*PYTHON_M, "export", index_name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(ES_URL=es_url),
    )
    assert exporter.stdout is not None and exporter.stderr is not None
    first = exporter.stdout.readline()
    exporter.stdout.close()  # like `| head -n 1`
    stderr = exporter.stderr.read().decode()
    exporter.stderr.close()
    assert exporter.wait(timeout=60) == 1
    assert json.loads(first)["kind"] == "llm"
    assert stderr == ""  # no traceback, no "Exception ignored"


# -- errors ------------------------------------------------------------------------------


def _parallel(calls: Sequence[tuple[Any, ...]], **kwargs: Any) -> list[Any]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda args: cli(*args, **kwargs), calls))


def test_unreachable_elasticsearch_is_one_line_and_exit_3() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    commands = [
        ("stats", "some-index"),
        ("purge", "some-index", "--older-than", "1d"),
        ("clear", "some-index", "--yes"),
        ("export", "some-index"),
        ("import", "some-index", "--kind", "llm"),
        ("demo",),
    ]
    for done in _parallel(commands, env=environment(ES_URL=url)):
        line = assert_one_line_error(done, 3)
        assert "cannot reach Elasticsearch at" in line
        assert "connection refused" in line


def test_refused_credentials_are_exit_3_and_never_echoed() -> None:
    password, api_key, url_secret = "pw-Sup3rSecret", "KEY-Zm9vOmJhcg-secret", "urlPassw0rd"
    with refusing_elasticsearch() as stub:
        host = stub.url.removeprefix("http://")
        runs = _parallel(
            [
                (
                    "stats",
                    "idx",
                    "--es-url",
                    stub.url,
                    "--es-user",
                    "me",
                    "--es-password",
                    password,
                ),
                ("export", "idx", "--es-url", stub.url, "--es-api-key", api_key),
                ("stats", "idx", "--es-url", f"http://me:{url_secret}@{host}"),
                ("demo", "--es-url", stub.url, "--es-user", "me", "--es-password", password),
            ]
        )
        from_env = cli(
            "purge",
            "idx",
            "--older-than",
            "1d",
            env=environment(ES_URL=stub.url, ES_API_KEY=api_key),
        )
        assert len(stub.authorizations) >= 5  # every run really sent its credentials
    for done in [*runs, from_env]:
        line = assert_one_line_error(done, 3)
        assert "authentication failed" in line
        for secret in (password, api_key, url_secret):
            assert secret not in done.stdout + done.stderr


def test_missing_index_is_exit_4(es_url: str, index_name: str, es_client: Elasticsearch) -> None:
    commands = [
        ("stats", index_name),
        ("purge", index_name, "--older-than", "7d"),
        ("clear", index_name, "--yes"),
        ("export", index_name),
    ]
    secret = "Never-Printed-42"
    for done in _parallel(
        commands, env=environment(ES_URL=es_url, ES_PASSWORD=secret, ES_USER="u")
    ):
        line = assert_one_line_error(done, 4)
        assert f"{index_name!r} does not exist" in line
        assert secret not in done.stderr
    assert not es_client.indices.exists(index=index_name)  # reading never creates it


def test_usage_errors_are_exit_2(es_url: str) -> None:
    env = environment(ES_URL=es_url)
    runs = _parallel(
        [
            ("purge", "idx", "--older-than", "seven days"),
            ("purge", "idx", "--older-than", "0d"),
            ("stats", "Not-Lower-Case"),
            ("import", "idx", "-i", "/nonexistent/cache.jsonl"),
        ],
        env=env,
    )
    messages = [assert_one_line_error(done, 2) for done in runs]
    assert "cannot read duration 'seven days'" in messages[0]
    assert "duration must be positive" in messages[1]
    assert "upper-case" in messages[2]
    assert "/nonexistent/cache.jsonl" in messages[3]

    no_server = cli("stats", "idx")  # no ES_URL, no --es-url
    assert "--es-url" in assert_one_line_error(no_server, 2)
    unknown = cli("frobnicate")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
