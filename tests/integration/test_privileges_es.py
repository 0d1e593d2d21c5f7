"""Least privilege, on a secured node: API keys holding exactly each documented role, and
each role minus one privilege, across the operations of the caches (Python, sync and
async) and of the operator's command line.

Every operation checks its result (a write reads back, ``clear()`` right after writes
leaves nothing, ``yield_keys()`` right after ``mset`` lists the keys), so an operation
either works, or raises a :class:`PermissionDeniedError` naming the missing privilege
(the CLI: exit 3 and the same message): never a result that only looks like success.

The results form the privilege matrix of docs/RELIABILITY.md; regenerate it with
``LECACHE_WRITE_PRIVILEGE_MATRIX=1 CI=true .venv/bin/python -m pytest -q
tests/integration/test_privileges_es.py`` (the module rewrites its section of the file
when every case ran).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    PermissionDeniedError,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.retention import (
    bootstrap_alias,
    rollover,
)
from lecache_devtools.node import LocalElasticsearchNode

from ._secured import ROOT, admin_client, api_key, key_options, run_cli

pytestmark = pytest.mark.elasticsearch

PREFIX = "priv-"  # every index of this module; the keys hold their privileges on priv-*

#: The documented roles (index privileges on the cache's index or alias pattern; none of
#: them needs a cluster privilege). Keep in step with docs/OPERATIONS.md#privileges.
ROLES: dict[str, tuple[str, ...]] = {
    "cache": ("read", "write", "view_index_metadata", "create_index"),
    "read-only": ("read", "view_index_metadata"),
    "operator": ("read", "write", "manage"),
}

#: What each role is for: these operations must work with it.
CACHE_OPERATIONS = (
    "first use (creates the index)",
    "lookup",
    "update",
    "clear() right after writes",
    "purge_expired()",
    "mset / mget",
    "yield_keys() right after mset",
    "async: alookup",
    "async: aupdate",
    "async: aclear() right after writes",
    "async: amset / amget",
    "async: ayield_keys() right after amset",
)
LOOKUPS = ("lookup", "async: alookup")
CLI_OPERATIONS = (
    "stats",
    "export",
    "import",
    "clear --yes",
    "purge --older-than",
    "rollover --bootstrap",
    "rollover",
    "purge --by-index",
)
EXPECTED_TO_WORK: dict[str, tuple[str, ...]] = {
    "cache": CACHE_OPERATIONS,
    "read-only": (*LOOKUPS, "mget (existing entries)", "async: amget (existing entries)"),
    "operator": CLI_OPERATIONS,
}
READ_ONLY_OPERATIONS = (
    *CACHE_OPERATIONS[:1],
    "lookup",
    "mget (existing entries)",
    *CACHE_OPERATIONS[2:5],
    "mset / mget",
    "yield_keys() right after mset",
    "async: alookup",
    "async: amget (existing entries)",
    *CACHE_OPERATIONS[8:],
)

WORKS = "works"
_MATRIX: dict[tuple[str, str | None], dict[str, str]] = {}


# -- the node, keys and helpers ----------------------------------------------------------


@pytest.fixture(scope="module")
def admin(secure_node: LocalElasticsearchNode) -> Iterator[Elasticsearch]:
    with admin_client(secure_node, PREFIX) as client:
        yield client


def _api_key(admin: Elasticsearch, privileges: tuple[str, ...]) -> str:
    return api_key(admin, "privileges", f"{PREFIX}*", privileges)


def _name(what: str = "") -> str:
    return f"{PREFIX}{what}{uuid.uuid4().hex[:12]}"


class Env:
    """What an operation needs: the node, the admin client and the key under test."""

    def __init__(self, node: LocalElasticsearchNode, admin: Elasticsearch, key: str) -> None:
        self.node = node
        self.admin = admin
        self.key = key

    def options(self) -> dict[str, Any]:
        return key_options(self.node, self.key)

    def admin_options(self) -> dict[str, Any]:
        return {
            "es_url": self.node.url,
            "es_user": self.node.username,
            "es_password": self.node.password,
            "ca_certs": self.node.ca_certs,
        }

    def count(self, index: str) -> int:
        self.admin.indices.refresh(index=index)
        return int(self.admin.count(index=index)["count"])

    def llm_index(self, entries: int = 1) -> str:
        """An existing LLM cache index holding ``prompt-<n>`` entries (made as elastic)."""
        index = _name("llm-")
        with ElasticsearchCache(index, **self.admin_options()) as cache:
            cache.lookup("absent", "llm")  # creates the index
            for n in range(entries):
                cache.update(f"prompt-{n}", "llm", [Generation(text=f"answer-{n}")])
        return index

    def embeddings_index(self) -> str:
        index = _name("emb-")
        with ElasticsearchEmbeddingsCache(index, **self.admin_options()) as store:
            store.mset([("old", b"v")])
        return index


ANSWER = [Generation(text="fresh")]


def _first_use(env: Env) -> None:
    index = _name("new-")
    with ElasticsearchCache(index, **env.options()) as cache:
        assert cache.lookup("p", "llm") is None
    assert env.admin.indices.exists(index=index)


def _lookup(env: Env) -> None:
    index = env.llm_index()
    with ElasticsearchCache(index, **env.options()) as cache:
        assert cache.lookup("prompt-0", "llm") == [Generation(text="answer-0")]


def _update(env: Env) -> None:
    index = env.llm_index()
    with ElasticsearchCache(index, **env.options()) as cache:
        cache.update("new", "llm", ANSWER)
        assert cache.lookup("new", "llm") == ANSWER


def _clear(env: Env) -> None:
    index = env.llm_index(entries=3)
    with ElasticsearchCache(index, **env.options()) as cache:
        cache.update("new", "llm", ANSWER)  # right before: not refreshed yet
        cache.clear()
    assert env.count(index) == 0, "clear() returned but entries are left"


def _purge_expired(env: Env) -> None:
    index = env.llm_index(entries=2)
    time.sleep(0.01)
    with ElasticsearchCache(index, ttl=timedelta(milliseconds=1), **env.options()) as cache:
        assert cache.purge_expired() == 2
    assert env.count(index) == 0


def _mset_mget(env: Env) -> None:
    with ElasticsearchEmbeddingsCache(env.embeddings_index(), **env.options()) as store:
        store.mset([("a", b"1"), ("b", b"2")])
        assert store.mget(["a", "b", "absent"]) == [b"1", b"2", None]


def _mget_existing(env: Env) -> None:
    with ElasticsearchEmbeddingsCache(env.embeddings_index(), **env.options()) as store:
        assert store.mget(["old", "absent"]) == [b"v", None]


def _yield_keys(env: Env) -> None:
    with ElasticsearchEmbeddingsCache(env.embeddings_index(), **env.options()) as store:
        store.mset([("a", b"1"), ("b", b"2")])
        listed = sorted(store.yield_keys())
    assert listed == ["a", "b", "old"], f"yield_keys() right after mset listed {listed}"


def _async(run: Callable[[Env], Any]) -> Callable[[Env], None]:
    def sync(env: Env) -> None:
        asyncio.run(run(env))

    return sync


async def _alookup(env: Env) -> None:
    index = env.llm_index()
    async with AsyncElasticsearchCache(index, **env.options()) as cache:
        assert await cache.alookup("prompt-0", "llm") == [Generation(text="answer-0")]


async def _aupdate(env: Env) -> None:
    index = env.llm_index()
    async with AsyncElasticsearchCache(index, **env.options()) as cache:
        await cache.aupdate("new", "llm", ANSWER)
        assert await cache.alookup("new", "llm") == ANSWER


async def _aclear(env: Env) -> None:
    index = env.llm_index(entries=3)
    async with AsyncElasticsearchCache(index, **env.options()) as cache:
        await cache.aupdate("new", "llm", ANSWER)
        await cache.aclear()
    assert env.count(index) == 0, "aclear() returned but entries are left"


async def _amset(env: Env) -> None:
    async with AsyncElasticsearchEmbeddingsCache(env.embeddings_index(), **env.options()) as s:
        await s.amset([("a", b"1")])
        assert await s.amget(["a", "absent"]) == [b"1", None]


async def _amget_existing(env: Env) -> None:
    async with AsyncElasticsearchEmbeddingsCache(env.embeddings_index(), **env.options()) as s:
        assert await s.amget(["old"]) == [b"v"]


async def _ayield_keys(env: Env) -> None:
    async with AsyncElasticsearchEmbeddingsCache(env.embeddings_index(), **env.options()) as s:
        await s.amset([("a", b"1")])
        listed = sorted([key async for key in s.ayield_keys()])
    assert listed == ["a", "old"], f"ayield_keys() right after amset listed {listed}"


PYTHON_OPERATIONS: dict[str, Callable[[Env], None]] = {
    "first use (creates the index)": _first_use,
    "lookup": _lookup,
    "mget (existing entries)": _mget_existing,
    "update": _update,
    "clear() right after writes": _clear,
    "purge_expired()": _purge_expired,
    "mset / mget": _mset_mget,
    "yield_keys() right after mset": _yield_keys,
    "async: alookup": _async(_alookup),
    "async: amget (existing entries)": _async(_amget_existing),
    "async: aupdate": _async(_aupdate),
    "async: aclear() right after writes": _async(_aclear),
    "async: amset / amget": _async(_amset),
    "async: ayield_keys() right after amset": _async(_ayield_keys),
}


# -- the command line ----------------------------------------------------------------------


class CliDenied(Exception):
    """The CLI exited 3 with a "permission denied" line."""

    def __init__(self, stderr: str) -> None:
        super().__init__(stderr)
        found = re.search(r"Grant '([a-z_]+)'(?: \(or one of: ([a-z_, ]+)\))?", stderr)
        assert found, f"exit 3 without the privilege named: {stderr}"
        self.privileges = (found[1], *(found[2] or "").replace(" ", "").split(","))


def _cli(env: Env, *args: str, admin: bool = False, stdin: str | None = None) -> str:
    connection = {"ES_URL": env.node.url, "ES_CA_CERTS": str(env.node.ca_certs)}
    if admin:
        connection["ES_USER"] = str(env.node.username)
        connection["ES_PASSWORD"] = str(env.node.password)
    else:
        connection["ES_API_KEY"] = env.key
    run = run_cli(*args, connection=connection, stdin=stdin)
    assert "Traceback" not in run.stderr, run.stderr
    if run.returncode == 3 and "permission denied" in run.stderr:
        raise CliDenied(run.stderr)
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr}"
    return run.stdout


def _cli_stats(env: Env) -> None:
    out = _cli(env, "stats", env.llm_index(entries=2))
    assert re.search(r"documents:\s+2\b", out), out


def _cli_export(env: Env) -> None:
    lines = _cli(env, "export", env.llm_index(entries=2)).splitlines()
    assert len(lines) == 2


def _cli_import(env: Env) -> None:
    exported = _cli(env, "export", env.llm_index(entries=2), admin=True)
    target = env.llm_index(entries=0)
    _cli(env, "import", target, "--kind", "llm", stdin=exported)
    assert env.count(target) == 2


def _cli_clear(env: Env) -> None:
    index = env.llm_index(entries=2)
    _cli(env, "clear", index, "--yes")
    assert env.count(index) == 0


def _cli_purge(env: Env) -> None:
    index = env.llm_index(entries=2)
    time.sleep(1.1)
    _cli(env, "purge", index, "--older-than", "1s")
    assert env.count(index) == 0


def _cli_bootstrap(env: Env) -> None:
    alias = _name("alias-")
    _cli(env, "rollover", alias, "--bootstrap", "--kind", "llm")
    assert env.admin.indices.exists_alias(name=alias)


def _alias_with_entries(env: Env) -> str:
    alias = _name("alias-")
    bootstrap_alias(env.admin, alias, "llm")
    with ElasticsearchCache(alias, **env.admin_options()) as cache:
        cache.update("p", "llm", ANSWER)
    env.admin.indices.refresh(index=alias)  # rollover's max_docs counts refreshed documents
    return alias


def _cli_rollover(env: Env) -> None:
    alias = _alias_with_entries(env)
    _cli(env, "rollover", alias, "--max-docs", "1")
    assert len(env.admin.indices.get_alias(name=alias).body) == 2


def _cli_purge_by_index(env: Env) -> None:
    alias = _alias_with_entries(env)
    rollover(env.admin, alias, max_docs=1)
    first = sorted(env.admin.indices.get_alias(name=alias).body)[0]
    time.sleep(1.1)
    _cli(env, "purge", alias, "--by-index", "--older-than", "1s")
    assert not env.admin.indices.exists(index=first)


CLI: dict[str, Callable[[Env], None]] = {
    "stats": _cli_stats,
    "export": _cli_export,
    "import": _cli_import,
    "clear --yes": _cli_clear,
    "purge --older-than": _cli_purge,
    "rollover --bootstrap": _cli_bootstrap,
    "rollover": _cli_rollover,
    "purge --by-index": _cli_purge_by_index,
}


# -- the matrix ------------------------------------------------------------------------------


def _attempt(operation: Callable[[Env], None], env: Env) -> tuple[str, tuple[str, ...]]:
    """``("works", ())`` or ``("denied", privileges named)``; anything else fails the
    test (a wrong result is an AssertionError: it must never pass for "works")."""
    try:
        operation(env)
    except PermissionDeniedError as exc:
        assert exc.privileges, f"the error names no privilege: {exc}"
        assert f"lacks the {exc.privileges[0]!r}" in str(exc), str(exc)
        assert "docs/OPERATIONS.md#privileges" in str(exc)
        return "denied", exc.privileges
    except CliDenied as exc:
        return "denied", exc.privileges
    return WORKS, ()


def _cases() -> list[tuple[str, str | None]]:
    return [(role, removed) for role in ROLES for removed in (None, *ROLES[role])]


@pytest.mark.parametrize(("role", "removed"), _cases(), ids=lambda v: str(v or "full"))
def test_role_and_each_privilege_removed(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch, role: str, removed: str | None
) -> None:
    privileges = tuple(p for p in ROLES[role] if p != removed)
    env = Env(secure_node, admin, _api_key(admin, privileges))
    if role == "operator":
        operations = CLI
    else:
        names = CACHE_OPERATIONS if role == "cache" else READ_ONLY_OPERATIONS
        operations = {name: PYTHON_OPERATIONS[name] for name in names}
    outcomes: dict[str, str] = {}
    denied_naming: set[str] = set()
    for name, operation in operations.items():
        result, named = _attempt(operation, env)
        outcomes[name] = WORKS if result == WORKS else f"error: {named[0]}"
        denied_naming.update(named)
    _MATRIX[(role, removed)] = outcomes

    if removed is None:
        for name in EXPECTED_TO_WORK[role]:
            assert outcomes[name] == WORKS, f"{role}: {name}: {outcomes[name]}"
    else:
        # the privilege is needed: some operation of the role fails naming it
        assert removed in denied_naming, f"{role} without {removed!r}: {outcomes}"


# -- fail-open and privileges ----------------------------------------------------------------


def test_read_only_writes_are_a_counted_skip_under_fail_open(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch, caplog: pytest.LogCaptureFixture
) -> None:
    env = Env(secure_node, admin, _api_key(admin, ROLES["read-only"]))
    index = env.llm_index()
    caplog.set_level(logging.WARNING, logger="langchain_elasticsearch_cache")
    with ElasticsearchCache(index, fail_open=True, **env.options()) as cache:
        assert cache.lookup("prompt-0", "llm") == [Generation(text="answer-0")]
        cache.update("a", "llm", ANSWER)  # refused by the cluster: returns normally
        cache.update("b", "llm", ANSWER)
        assert cache.statistics.refused == 2
        assert cache.statistics.operations["update"].errors == 2
    warnings = [r.getMessage() for r in caplog.records if "may not write" in r.getMessage()]
    assert len(warnings) == 1, warnings  # once per cache object
    assert "lacks the 'index' index privilege" in warnings[0]
    assert env.count(index) == 1  # nothing was written


async def test_async_read_only_mset_is_a_counted_skip_under_fail_open(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch
) -> None:
    env = Env(secure_node, admin, _api_key(admin, ROLES["read-only"]))
    async with AsyncElasticsearchEmbeddingsCache(
        env.embeddings_index(), fail_open=True, **env.options()
    ) as store:
        await store.amset([("a", b"1")])
        assert await store.amget(["old", "a"]) == [b"v", None]
        assert store.statistics.refused == 1


def test_read_only_write_without_fail_open_names_the_privilege(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch
) -> None:
    env = Env(secure_node, admin, _api_key(admin, ROLES["read-only"]))
    with (
        ElasticsearchCache(env.llm_index(), **env.options()) as cache,
        pytest.raises(PermissionDeniedError) as denied,
    ):
        cache.update("a", "llm", ANSWER)
    message = str(denied.value)
    assert "put" in message and "lacks the 'index' index privilege" in message
    assert "Grant 'index'" in message and "write" in denied.value.privileges


def test_privileges_revoked_at_run_time_fail_open(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch
) -> None:
    """A running fail-open cache whose key loses its privileges: lookups become misses,
    writes skipped writes; clear() still raises (a deletion must not look done)."""
    created = admin.security.create_api_key(
        name="revoked-at-run-time",
        expiration="1h",
        role_descriptors={
            "role": {"indices": [{"names": [f"{PREFIX}*"], "privileges": list(ROLES["cache"])}]}
        },
    )
    env = Env(secure_node, admin, str(created["encoded"]))
    index = env.llm_index()
    with ElasticsearchCache(index, fail_open=True, **env.options()) as cache:
        assert cache.lookup("prompt-0", "llm") == [Generation(text="answer-0")]
        admin.security.update_api_key(
            id=created["id"],
            role_descriptors={
                "role": {"indices": [{"names": ["someone-else-*"], "privileges": ["read"]}]}
            },
        )
        assert cache.lookup("prompt-0", "llm") is None  # a miss, not an exception
        cache.update("x", "llm", ANSWER)  # skipped
        stats = cache.statistics
        assert stats.operations["lookup"].failed_open == 1
        assert stats.refused == 1
        with pytest.raises(PermissionDeniedError):
            cache.clear()
    with (
        ElasticsearchCache(index, fail_open=False, **env.options()) as strict,
        pytest.raises(PermissionDeniedError, match="view_index_metadata"),
    ):
        strict.lookup("prompt-0", "llm")


def test_a_missing_privilege_at_start_raises_even_with_fail_open(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch
) -> None:
    """The index check (or creation) at the first call is configuration: never a miss."""
    env = Env(secure_node, admin, _api_key(admin, ("read", "write")))
    with (
        ElasticsearchCache(env.llm_index(), fail_open=True, **env.options()) as cache,
        pytest.raises(PermissionDeniedError) as denied,
    ):
        cache.lookup("prompt-0", "llm")
    assert denied.value.during_setup
    assert "lacks the 'view_index_metadata' index privilege" in str(denied.value)


def test_without_maintenance_clear_waits_for_a_refresh_instead(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch
) -> None:
    """On a 3-shard index: the wait covers every shard (the writes are spread).

    The operator makes the indices (3 shards) and the caches take them over with the
    operator's role first: taking over an unidentified index counts its documents, recent
    writes included, which needs ``maintenance`` (the caches' role lacks it)."""
    env = Env(secure_node, admin, _api_key(admin, ROLES["cache"]))
    index, llm_index = _name("shards-"), _name("shards-llm-")
    for name in (index, llm_index):
        admin.indices.create(index=name, settings={"number_of_shards": 3})
    with ElasticsearchEmbeddingsCache(index, **env.admin_options()) as store:
        assert list(store.yield_keys()) == []
    with ElasticsearchCache(llm_index, **env.admin_options()) as cache:
        assert cache.lookup("nothing yet", "llm") is None
    with ElasticsearchEmbeddingsCache(index, **env.options()) as store:
        store.mset([(f"k{n}", b"v") for n in range(30)])
        assert len(list(store.yield_keys())) == 30
        store.mset([(f"m{n}", b"v") for n in range(30)])
        assert len(list(store.yield_keys())) == 60
    with ElasticsearchCache(llm_index, **env.options()) as cache:
        for n in range(10):
            cache.update(f"p{n}", "llm", ANSWER)
        cache.clear()
    assert env.count(llm_index) == 0


def test_refreshes_disabled_and_no_maintenance_is_a_clear_error(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch
) -> None:
    env = Env(secure_node, admin, _api_key(admin, ROLES["cache"]))
    index = env.llm_index()
    admin.indices.put_settings(index=index, settings={"index": {"refresh_interval": "-1"}})
    with (
        ElasticsearchCache(index, **env.options()) as cache,
        pytest.raises(Exception, match=r"refresh_interval: -1\).*'maintenance'"),
    ):
        cache.clear()


# -- the matrix, written into docs/RELIABILITY.md ------------------------------------------------

_BEGIN = "<!-- privilege-matrix:begin (generated by tests/integration/test_privileges_es.py) -->"
_END = "<!-- privilege-matrix:end -->"


def _render() -> str:
    lines = [_BEGIN, ""]
    for role, privileges in ROLES.items():
        columns = [None, *privileges]
        if any((role, c) not in _MATRIX for c in columns):
            return ""
        header = ["operation", f"`{role}` role", *(f"without `{p}`" for p in privileges)]
        lines += [
            f"**Role `{role}`** (index privileges {', '.join(f'`{p}`' for p in privileges)}):",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
        ]
        for operation in _MATRIX[(role, None)]:
            cells = []
            for column in columns:
                outcome = _MATRIX[(role, column)][operation]
                cells.append("works" if outcome == WORKS else "error naming `" + outcome[7:] + "`")
            lines.append(f"| {operation} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(_END)
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def _write_matrix() -> Iterator[None]:
    yield
    if not os.environ.get("LECACHE_WRITE_PRIVILEGE_MATRIX"):
        return
    table = _render()
    if not table:
        return  # not every case ran: keep the file as it is
    path = ROOT / "docs" / "RELIABILITY.md"
    text = path.read_text(encoding="utf-8")
    begin, end = text.find(_BEGIN), text.find(_END)
    if begin < 0 or end < 0:
        raise AssertionError(f"{path} has no {_BEGIN} ... {_END} block to fill")
    path.write_text(text[:begin] + table + text[end + len(_END) :], encoding="utf-8")
