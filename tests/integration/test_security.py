"""The caches against a secured node: HTTPS with a CA of the test's own, authentication
required (the ``elastic`` password and API keys made through the security API).

What is checked: the credentials that should work do, with certificate verification on;
the ones that should not (a wrong password, an invalidated API key, a CA that did not sign
the node's certificate, no CA at all, ``http://`` to an HTTPS node) fail fast with an
error that says what to change, which the fail-open mode does not swallow; and no secret
(password, API key, encoded API key, the Basic header) shows up in a repr, a log line at
DEBUG, an exception message, a chained cause or the command line's output.

The node is a :class:`LocalElasticsearchNode` started with ``secure=True`` for this
module (about 20 s: certificates, keystore and the TLS node itself).
"""

from __future__ import annotations

import base64
import logging
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    AuthenticationError,
    BackendUnavailableError,
    CacheError,
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    TlsVerificationError,
    create_async_elasticsearch_client,
    create_elasticsearch_client,
)
from lecache_devtools.node import LocalElasticsearchNode, generate_tls_files

from ._nodes import local_node
from ._secured import basic_options, run_cli

pytestmark = pytest.mark.elasticsearch

FAST = 5.0  # seconds: a refused credential or certificate must not be retried for long


@pytest.fixture(scope="module")
def secure_node() -> Iterator[LocalElasticsearchNode]:
    with local_node(secure=True) as node:
        yield node


@pytest.fixture
def admin(secure_node: LocalElasticsearchNode) -> Iterator[Elasticsearch]:
    client = Elasticsearch(**secure_node.client_options(), request_timeout=30)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def secure_index(admin: Elasticsearch) -> Iterator[str]:
    name = f"secure-{uuid.uuid4().hex}"
    yield name
    admin.indices.delete(index=f"{name}*", ignore_unavailable=True, allow_no_indices=True)


@pytest.fixture
def api_key(admin: Elasticsearch, secure_index: str) -> Iterator[dict[str, str]]:
    """An API key limited to what the cache needs on ``secure_index*``."""
    created = admin.security.create_api_key(
        name=f"cache-{secure_index}",
        role_descriptors={
            "llm-cache": {
                "cluster": ["monitor"],
                "indices": [
                    {
                        "names": [f"{secure_index}*"],
                        "privileges": [
                            "read",
                            "write",
                            "create_index",
                            "view_index_metadata",
                            "manage",
                        ],
                    }
                ],
            }
        },
    )
    key = {"id": created["id"], "api_key": created["api_key"], "encoded": created["encoded"]}
    yield key
    admin.security.invalidate_api_key(ids=[key["id"]])


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA that did not sign the node's certificate."""
    return str(generate_tls_files(tmp_path_factory.mktemp("other-ca")).ca_cert)


def _secrets(node: LocalElasticsearchNode, *keys: dict[str, str]) -> list[str]:
    assert node.password
    header = base64.b64encode(f"elastic:{node.password}".encode()).decode()
    found = [node.password, header]
    for key in keys:
        found += [key["api_key"], key["encoded"]]
    return found


def _round_trip(cache: ElasticsearchCache) -> None:
    cache.update("prompt", "llm", [Generation(text="answer")])
    assert cache.lookup("prompt", "llm") == [Generation(text="answer")]


# -- what works ------------------------------------------------------------------------


def test_the_node_requires_tls_and_credentials(secure_node: LocalElasticsearchNode) -> None:
    assert secure_node.url.startswith("https://127.0.0.1:")
    assert secure_node.ca_certs is not None and Path(secure_node.ca_certs).is_file()
    assert secure_node.password is not None
    assert secure_node.password not in repr(secure_node)
    with Elasticsearch(secure_node.url, ca_certs=secure_node.ca_certs) as anonymous:
        with pytest.raises(Exception) as refused:
            anonymous.cluster.health()
        assert getattr(refused.value, "status_code", None) == 401


def test_basic_auth_with_ca_verification(
    secure_node: LocalElasticsearchNode, secure_index: str
) -> None:
    with ElasticsearchCache(secure_index, **basic_options(secure_node)) as cache:
        _round_trip(cache)
    with ElasticsearchEmbeddingsCache(f"{secure_index}-emb", **basic_options(secure_node)) as store:
        store.mset([("text", b"\x00\x01vector")])
        assert store.mget(["text", "absent"]) == [b"\x00\x01vector", None]


async def test_async_basic_auth_with_ca_verification(
    secure_node: LocalElasticsearchNode, secure_index: str
) -> None:
    async with AsyncElasticsearchCache(secure_index, **basic_options(secure_node)) as cache:
        await cache.aupdate("prompt", "llm", [Generation(text="answer")])
        assert await cache.alookup("prompt", "llm") == [Generation(text="answer")]
    async with AsyncElasticsearchEmbeddingsCache(
        f"{secure_index}-emb", **basic_options(secure_node)
    ) as store:
        await store.amset([("text", b"vector")])
        assert await store.amget(["text"]) == [b"vector"]


def test_api_key_made_through_the_security_api(
    secure_node: LocalElasticsearchNode, secure_index: str, api_key: dict[str, str]
) -> None:
    options = {"es_api_key": api_key["encoded"], "ca_certs": secure_node.ca_certs}
    with ElasticsearchCache(secure_index, es_url=secure_node.url, **options) as cache:
        _round_trip(cache)
        who = cache.repository.client.security.authenticate()  # type: ignore[attr-defined]
        assert who["authentication_type"] == "api_key"
    with ElasticsearchEmbeddingsCache(
        f"{secure_index}-emb", es_url=secure_node.url, **options
    ) as store:
        store.mset([("a", b"1"), ("b", b"2")])
        assert store.mget(["a", "b"]) == [b"1", b"2"]
        assert sorted(store.yield_keys()) == ["a", "b"]


async def test_async_api_key(
    secure_node: LocalElasticsearchNode, secure_index: str, api_key: dict[str, str]
) -> None:
    async with AsyncElasticsearchCache(
        secure_index,
        es_url=secure_node.url,
        es_api_key=api_key["encoded"],
        ca_certs=secure_node.ca_certs,
    ) as cache:
        await cache.aupdate("p", "l", [Generation(text="a")])
        assert await cache.alookup("p", "l") == [Generation(text="a")]


def test_the_api_key_cannot_reach_other_indices(
    secure_node: LocalElasticsearchNode, api_key: dict[str, str]
) -> None:
    """A 403 is an AuthenticationError naming the privilege missing (the index check at
    the first call needs ``view_index_metadata``) and where the roles are documented."""
    with pytest.raises(AuthenticationError) as denied:
        ElasticsearchCache(
            f"elsewhere-{uuid.uuid4().hex}",
            es_url=secure_node.url,
            es_api_key=api_key["encoded"],
            ca_certs=secure_node.ca_certs,
        ).lookup("p", "l")
    message = str(denied.value)
    assert "permission denied" in message and "'view_index_metadata'" in message
    assert "docs/OPERATIONS.md#privileges" in message


# -- what must fail, fast and clearly ----------------------------------------------------


def _fails_fast(expected: type[CacheError], build: Any) -> CacheError:
    started = time.monotonic()
    with pytest.raises(expected) as raised:
        build()
    assert time.monotonic() - started < FAST
    return raised.value


def test_wrong_password(secure_node: LocalElasticsearchNode, secure_index: str) -> None:
    options = {**basic_options(secure_node), "es_password": "not-the-password", "fail_open": True}
    error = _fails_fast(AuthenticationError, lambda: ElasticsearchCache(secure_index, **options))
    message = str(error)
    assert "authentication failed" in message
    assert "unable to authenticate user [elastic]" in message
    assert "es_user and es_password" in message
    assert "not-the-password" not in message and "not-the-password" not in repr(error)
    assert not isinstance(error, BackendUnavailableError)  # fail-open must not hide it


def test_no_credentials_at_all(secure_node: LocalElasticsearchNode, secure_index: str) -> None:
    error = _fails_fast(
        AuthenticationError,
        lambda: ElasticsearchCache(
            secure_index, es_url=secure_node.url, ca_certs=secure_node.ca_certs
        ),
    )
    assert "missing authentication credentials" in str(error)


def test_invalidated_api_key(
    secure_node: LocalElasticsearchNode, admin: Elasticsearch, secure_index: str
) -> None:
    created = admin.security.create_api_key(name=f"revoked-{secure_index}")
    options = {
        "es_url": secure_node.url,
        "es_api_key": created["encoded"],
        "ca_certs": secure_node.ca_certs,
    }
    cache = ElasticsearchCache(secure_index, fail_open=True, **options)
    try:
        _round_trip(cache)
        assert admin.security.invalidate_api_key(ids=[created["id"]])["invalidated_api_keys"]

        # a cache already running: its next call fails, even with fail_open=True
        in_use = _fails_fast(AuthenticationError, lambda: cache.lookup("prompt", "llm"))
        # a new cache: at construction
        new = _fails_fast(AuthenticationError, lambda: ElasticsearchCache(secure_index, **options))
    finally:
        cache.close()
    for error in (in_use, new):
        assert "has been invalidated" in str(error)
        assert created["api_key"] not in str(error) and created["encoded"] not in str(error)


@pytest.mark.parametrize("which", ["no ca_certs", "another CA"])
def test_untrusted_certificate(
    secure_node: LocalElasticsearchNode, secure_index: str, other_ca: str, which: str
) -> None:
    options = {**basic_options(secure_node), "fail_open": True}
    options["ca_certs"] = None if which == "no ca_certs" else other_ca
    error = _fails_fast(TlsVerificationError, lambda: ElasticsearchCache(secure_index, **options))
    message = str(error)
    assert "certificate verify failed" in message
    assert "unable to get local issuer certificate" in message
    assert "ca_certs=" in message  # the fix
    assert isinstance(error, AuthenticationError) and not isinstance(error, BackendUnavailableError)


async def test_async_untrusted_certificate(
    secure_node: LocalElasticsearchNode, secure_index: str, other_ca: str
) -> None:
    options = {**basic_options(secure_node), "ca_certs": other_ca, "fail_open": True}
    cache = AsyncElasticsearchCache(secure_index, **options)
    try:
        started = time.monotonic()
        with pytest.raises(TlsVerificationError, match="certificate verify failed"):
            await cache.alookup("p", "l")
        assert time.monotonic() - started < FAST
    finally:
        await cache.aclose()


def test_host_name_not_in_the_certificate(
    secure_node: LocalElasticsearchNode, secure_index: str
) -> None:
    """The certificate names 127.0.0.1 and localhost only; a name it lacks is refused
    (``127.1`` reaches 127.0.0.1 but is neither of them)."""
    port = secure_node.http_port
    with ElasticsearchCache(
        secure_index, **{**basic_options(secure_node), "es_url": f"https://localhost:{port}"}
    ) as cache:
        _round_trip(cache)  # localhost is in the certificate
    error = _fails_fast(
        TlsVerificationError,
        lambda: ElasticsearchCache(
            secure_index, **{**basic_options(secure_node), "es_url": f"https://127.1:{port}"}
        ),
    )
    assert "certificate verify failed" in str(error)
    assert "does not name the host" in str(error)


def test_http_url_for_an_https_node(secure_node: LocalElasticsearchNode, secure_index: str) -> None:
    options = {**basic_options(secure_node), "es_url": secure_node.url.replace("https:", "http:")}
    with pytest.raises(ConfigurationError, match="TLS options need an https:// es_url"):
        ElasticsearchCache(secure_index, **options)  # ca_certs with http://: refused up front
    del options["ca_certs"]
    error = _fails_fast(
        BackendUnavailableError, lambda: ElasticsearchCache(secure_index, **options)
    )
    assert "if it expects TLS, use https://" in str(error)


# -- no secret anywhere ------------------------------------------------------------------


def _texts_of(error: BaseException) -> list[str]:
    """str and repr of an error and of every error it chains to."""
    texts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return texts


async def test_no_secret_in_reprs_logs_or_errors(
    secure_node: LocalElasticsearchNode,
    secure_index: str,
    api_key: dict[str, str],
    other_ca: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = _secrets(secure_node, api_key)
    texts: list[str] = []
    url, ca = secure_node.url, secure_node.ca_certs
    with_key = {"es_url": url, "es_api_key": api_key["encoded"], "ca_certs": ca}
    userinfo = url.replace("https://", f"https://elastic:{secure_node.password}@")

    working: list[Any] = [
        ElasticsearchCache(secure_index, **basic_options(secure_node)),
        ElasticsearchCache(secure_index, **with_key),
        ElasticsearchCache(secure_index, es_url=userinfo, ca_certs=ca),
        ElasticsearchEmbeddingsCache(f"{secure_index}-emb", **with_key),
        AsyncElasticsearchCache(secure_index, **basic_options(secure_node)),
        AsyncElasticsearchEmbeddingsCache(f"{secure_index}-emb", **with_key),
    ]
    for cache in working:
        if isinstance(cache, ElasticsearchCache):
            _round_trip(cache)
        elif isinstance(cache, ElasticsearchEmbeddingsCache):
            cache.mset([("k", b"v")])
            assert cache.mget(["k"]) == [b"v"]
        elif isinstance(cache, AsyncElasticsearchCache):
            await cache.aupdate("p", "l", [Generation(text="a")])
            assert await cache.alookup("p", "l")
        else:
            await cache.amset([("k", b"v")])
            assert await cache.amget(["k"]) == [b"v"]
        repository = cache.repository
        texts += [repr(cache), str(cache), repr(repository), repr(repository.client)]
        texts += [repr(vars(cache))]

    sync_client = create_elasticsearch_client(
        url, username="elastic", password=secure_node.password, ca_certs=ca
    )
    async_client = create_async_elasticsearch_client(url, api_key=api_key["encoded"], ca_certs=ca)
    texts += [repr(sync_client), repr(async_client), repr(sync_client.transport)]
    sync_client.close()
    await async_client.close()

    failing = [
        lambda: ElasticsearchCache(
            secure_index, **{**basic_options(secure_node), "es_password": "x" * 8}
        ),
        lambda: ElasticsearchCache(secure_index, **{**with_key, "ca_certs": other_ca}),
        lambda: ElasticsearchCache(
            secure_index,
            es_url=userinfo.replace(str(secure_node.password), "wrong-pw"),
            ca_certs=ca,
        ),
        lambda: ElasticsearchCache(
            secure_index, es_url=url, es_api_key=api_key["encoded"][:-4] + "AAA=", ca_certs=ca
        ),
        lambda: ElasticsearchCache(
            secure_index, es_cloud_id="broken", es_api_key=api_key["encoded"]
        ),
        lambda: ElasticsearchCache(
            secure_index, es_url=userinfo, es_user="elastic", ca_certs=ca
        ),  # es_user without es_password
    ]
    for attempt in failing:
        with pytest.raises(CacheError) as raised:
            attempt()
        texts += _texts_of(raised.value)
    async_failing = AsyncElasticsearchCache(secure_index, **{**with_key, "ca_certs": other_ca})
    with pytest.raises(TlsVerificationError) as raised_async:
        await async_failing.alookup("p", "l")
    texts += _texts_of(raised_async.value)
    await async_failing.aclose()

    for cache in working:
        if isinstance(cache, AsyncElasticsearchCache | AsyncElasticsearchEmbeddingsCache):
            await cache.aclose()
        else:
            cache.close()

    assert caplog.records, "the run logged nothing at DEBUG: the check would be empty"
    everything = "\n".join([*texts, caplog.text])
    for secret in secrets:
        assert secret not in everything


# -- the command line ------------------------------------------------------------------------


def test_cli_never_prints_credentials(
    secure_node: LocalElasticsearchNode, secure_index: str, api_key: dict[str, str]
) -> None:
    with ElasticsearchCache(secure_index, **basic_options(secure_node)) as cache:
        _round_trip(cache)
    assert secure_node.password and secure_node.ca_certs
    common = ["--es-url", secure_node.url, "--ca-certs", secure_node.ca_certs]
    secrets = _secrets(secure_node, api_key)

    ok = run_cli(
        "stats",
        secure_index,
        *common,
        "--es-user",
        "elastic",
        "--es-password",
        secure_node.password,
    )
    assert ok.returncode == 0, ok.stderr
    assert re.search(r"documents:\s+1\b", ok.stdout), ok.stdout

    with_key = run_cli("stats", secure_index, *common, "--es-api-key", api_key["encoded"])
    assert with_key.returncode == 0, with_key.stderr

    wrong = run_cli(
        "stats", secure_index, *common, "--es-user", "elastic", "--es-password", "wrong-password"
    )
    assert wrong.returncode == 3  # cannot connect or authenticate
    assert "authentication failed" in wrong.stderr
    assert "wrong-password" not in wrong.stdout + wrong.stderr

    untrusted = run_cli(
        "stats",
        secure_index,
        "--es-url",
        secure_node.url,
        "--es-user",
        "elastic",
        "--es-password",
        secure_node.password,
    )
    assert untrusted.returncode == 3
    assert "certificate verify failed" in untrusted.stderr

    for run in (ok, with_key, wrong, untrusted):
        for secret in secrets:
            assert secret not in run.stdout + run.stderr
        assert "Traceback" not in run.stderr
