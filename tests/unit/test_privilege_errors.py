"""A 403 names the missing privilege; fail-open skips what a missing privilege refuses at
run time only where skipping cannot look like a success (lookups and writes)."""

from __future__ import annotations

import logging

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import AuthorizationException
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import PermissionDeniedError
from langchain_elasticsearch_cache.adapters.elasticsearch.errors import (
    permission_denied,
    translate_error,
)
from langchain_elasticsearch_cache.domain import AuthenticationError, LlmRecord
from langchain_elasticsearch_cache.interfaces.langchain import RepositoryLlmCache

from .test_statistics_and_fail_open import FlakyRepository

REFRESH = (
    "action [indices:admin/refresh] is unauthorized for API key id [AbC] of user [app] on "
    "indices [llm-cache], this action is granted by the index privileges "
    "[maintenance,manage,all]"
)
GEN = [Generation(text="a")]


def _forbidden(reason: str) -> AuthorizationException:
    meta = ApiResponseMeta(
        status=403,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("https", "es", 9200),
    )
    body = {"error": {"type": "security_exception", "reason": reason}, "status": 403}
    return AuthorizationException(message=reason, meta=meta, body=body)


def test_a_403_names_the_least_privilege_the_index_and_the_fix() -> None:
    error = translate_error(_forbidden(REFRESH), "clear ('llm-cache')")
    assert isinstance(error, PermissionDeniedError) and isinstance(error, AuthenticationError)
    assert error.privileges == ("maintenance", "manage", "all")
    message = str(error)
    assert "the API key id [AbC] of user [app] lacks the 'maintenance' index privilege" in message
    assert "on index llm-cache" in message
    assert "Grant 'maintenance' (or one of: manage, all)" in message
    assert "docs/OPERATIONS.md#privileges" in message
    assert not error.during_setup


def test_a_long_index_list_does_not_lose_the_privileges() -> None:
    many = ",".join(f"cache-{n:04d}" for n in range(100))
    error = translate_error(_forbidden(REFRESH.replace("[llm-cache]", f"[{many}]")), "scan")
    assert isinstance(error, PermissionDeniedError)
    assert error.privileges[0] == "maintenance"


def test_an_unknown_403_reason_still_points_at_the_roles() -> None:
    error = permission_denied("something else", "get", "https://es:9200", during_setup=True)
    assert error.privileges == () and error.during_setup
    assert "something else" in str(error) and "docs/OPERATIONS.md#privileges" in str(error)


def _denied(*, during_setup: bool = False) -> PermissionDeniedError:
    return permission_denied(
        REFRESH.replace("indices:admin/refresh", "indices:data/write/index").replace(
            "[maintenance,manage,all]", "[create,index,write,all]"
        ),
        "put",
        "https://es:9200",
        during_setup=during_setup,
    )


def test_fail_open_skips_denied_writes_warns_once_and_counts_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(repo, fail_open=True)
    repo.failure = _denied()
    with caplog.at_level(logging.WARNING, logger="langchain_elasticsearch_cache"):
        for n in range(3):
            cache.update(f"p{n}", "l", GEN)
        assert cache.lookup("p", "l") is None  # revoked at run time: a miss
    stats = cache.statistics
    assert (stats.refused, stats.errors) == (3, 4)
    assert stats.operations["lookup"].failed_open == 1
    denied = [r for r in caplog.records if "may not write" in r.getMessage()]
    assert len(denied) == 1


@pytest.mark.parametrize("operation", ["clear", "delete"])
def test_fail_open_never_skips_a_denied_deletion(operation: str) -> None:
    repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(repo, fail_open=True)
    repo.failure = _denied()
    with pytest.raises(PermissionDeniedError):
        if operation == "clear":
            cache.clear()
        else:
            cache.delete("p", "l")


def test_fail_open_never_skips_a_privilege_missing_at_start() -> None:
    repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(repo, fail_open=True)
    repo.failure = _denied(during_setup=True)
    with pytest.raises(PermissionDeniedError):
        cache.lookup("p", "l")
    with pytest.raises(PermissionDeniedError):
        cache.update("p", "l", GEN)


def test_without_fail_open_a_denied_write_raises() -> None:
    repo: FlakyRepository[LlmRecord] = FlakyRepository()
    cache = RepositoryLlmCache(repo)
    repo.failure = _denied()
    with pytest.raises(PermissionDeniedError, match="lacks the 'index' index privilege"):
        cache.update("p", "l", GEN)


def test_a_403_without_a_body_names_view_index_metadata() -> None:
    """The answer to a HEAD request (an existence check) has no body."""
    meta = ApiResponseMeta(
        status=403,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("https", "es", 9200),
    )
    error = translate_error(
        AuthorizationException(message="", meta=meta, body=""), "checking whether 'x' exists"
    )
    assert isinstance(error, PermissionDeniedError)
    assert error.privileges == ("view_index_metadata", "manage", "all")
    assert "lacks the 'view_index_metadata' index privilege" in str(error)


def test_a_refused_bulk_request_names_write() -> None:
    reason = REFRESH.replace("indices:admin/refresh", "indices:data/write/bulk[s]").replace(
        "[maintenance,manage,all]", "[create_doc,create,delete,index,write,all]"
    )
    error = translate_error(_forbidden(reason), "put_many ('x')")
    assert isinstance(error, PermissionDeniedError)
    assert error.privileges == ("write", "delete", "index", "all")
