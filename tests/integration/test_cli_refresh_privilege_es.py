"""``stats`` and ``export`` refresh the index first: a count or a point in time sees only
refreshed documents. On a secured node, with an API key that may read the index but not
refresh it (no ``maintenance``, which the operator's role holds through ``manage``), they
exit 3 naming the privilege: never a count or an export that looks complete without the
writes not yet refreshed.

The indices have refreshes disabled (``refresh_interval: -1``), so the entries written
before the command are certainly not refreshed: what the writes of the last second are
on an index with the default interval. With ``maintenance`` granted, the same commands
count and export every entry.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import ElasticsearchCache
from langchain_elasticsearch_cache.adapters.elasticsearch import LLM_RECORDS
from lecache_devtools.node import LocalElasticsearchNode

from ._secured import admin_client, api_key, basic_options, run_cli

pytestmark = pytest.mark.elasticsearch

PREFIX = "refresh-priv-"
#: what ``stats`` and ``export`` need, but ``maintenance`` (``monitor``: index statistics)
READ_ONLY = ("read", "view_index_metadata", "monitor")
ENTRIES = 3


@pytest.fixture(scope="module")
def admin(secure_node: LocalElasticsearchNode) -> Iterator[Elasticsearch]:
    with admin_client(secure_node, PREFIX) as client:
        yield client


def _api_key(admin: Elasticsearch, privileges: tuple[str, ...]) -> str:
    return api_key(admin, "refresh", f"{PREFIX}*", privileges)


def _unrefreshed_entries(node: LocalElasticsearchNode, admin: Elasticsearch, index: str) -> None:
    """``ENTRIES`` entries in ``index`` (an index or an alias), not refreshed."""
    admin.indices.put_settings(index=index, settings={"index": {"refresh_interval": "-1"}})
    with ElasticsearchCache(index, **basic_options(node)) as cache:
        for n in range(ENTRIES):
            cache.update(f"prompt-{n}", "llm", [Generation(text=f"answer-{n}")])


def _llm_index(node: LocalElasticsearchNode, admin: Elasticsearch) -> str:
    index = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    admin.indices.create(index=index, mappings=LLM_RECORDS.mappings)
    _unrefreshed_entries(node, admin, index)
    return index


def _llm_alias(node: LocalElasticsearchNode, admin: Elasticsearch) -> str:
    """An alias over two LLM indices (the second its write index): ``export`` counts no
    total first, its point in time is all it sees."""
    alias = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    admin.indices.create(index=f"{alias}-1", mappings=LLM_RECORDS.mappings, aliases={alias: {}})
    admin.indices.create(
        index=f"{alias}-2", mappings=LLM_RECORDS.mappings, aliases={alias: {"is_write_index": True}}
    )
    _unrefreshed_entries(node, admin, alias)
    return alias


def _cli(node: LocalElasticsearchNode, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    connection = {"ES_URL": node.url, "ES_CA_CERTS": str(node.ca_certs), "ES_API_KEY": key}
    return run_cli(*args, connection=connection)


def _assert_maintenance_named(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 3, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "lacks the 'maintenance' index privilege" in lines[0], lines[0]
    assert "Grant 'maintenance'" in lines[0], lines[0]
    assert "indices:admin/refresh" in lines[0], lines[0]


def test_stats_without_the_refresh_privilege_names_it(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch
) -> None:
    index = _llm_index(secure_node, admin)
    done = _cli(secure_node, _api_key(admin, READ_ONLY), "stats", index)
    _assert_maintenance_named(done)
    assert done.stdout == ""  # no count that looks complete

    done = _cli(secure_node, _api_key(admin, (*READ_ONLY, "maintenance")), "stats", index)
    assert done.returncode == 0, done.stderr
    assert re.search(rf"documents:\s+{ENTRIES}\b", done.stdout), done.stdout


def test_export_without_the_refresh_privilege_names_it(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch, tmp_path: Path
) -> None:
    alias = _llm_alias(secure_node, admin)
    output = tmp_path / "cache.jsonl"
    done = _cli(secure_node, _api_key(admin, READ_ONLY), "export", alias, "-o", str(output))
    _assert_maintenance_named(done)
    assert list(tmp_path.iterdir()) == []  # no export that looks complete

    key = _api_key(admin, (*READ_ONLY, "maintenance"))
    done = _cli(secure_node, key, "export", alias, "-o", str(output))
    assert done.returncode == 0, done.stderr
    assert len(output.read_text(encoding="utf-8").splitlines()) == ENTRIES
