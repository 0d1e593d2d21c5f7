"""Extra local Elasticsearch nodes for tests that cannot share the session's node.

A secure node (TLS + authentication) and throw-away nodes that a test kills or starves
are always :class:`LocalElasticsearchNode` instances, whatever the session node is
(``ES_URL``, a container or a local node): they need a file system and a process this
test run controls. When none can be started the test is skipped, or fails under
``CI=true`` (as for the session node).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import NoReturn

import pytest

from lecache_devtools.node import DEFAULT_VERSION, LocalElasticsearchNode


def es_version() -> str:
    return os.environ.get("LECACHE_ES_VERSION") or DEFAULT_VERSION


def no_node(reason: str) -> NoReturn:
    """Skip, or fail under CI, where a missing node must not pass silently."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"no Elasticsearch node for the tests (CI=true): {reason}", pytrace=False)
    pytest.skip(f"no Elasticsearch node: {reason}")


@contextlib.contextmanager
def local_node(
    *, secure: bool = False, settings: Mapping[str, str] | None = None, heap: str = "512m"
) -> Iterator[LocalElasticsearchNode]:
    """A started node of its own, stopped (and its data removed) afterwards."""
    node = LocalElasticsearchNode(es_version(), secure=secure, settings=settings, heap=heap)
    try:
        node.start()
    except Exception as error:
        node.stop()
        no_node(f"a local Elasticsearch {es_version()} node did not start: {error}")
    try:
        yield node
    finally:
        node.stop()
