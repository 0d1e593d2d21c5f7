"""Fixtures shared by the integration modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lecache_devtools.node import LocalElasticsearchNode

from ._nodes import local_node


@pytest.fixture(scope="session")
def secure_node() -> Iterator[LocalElasticsearchNode]:
    """One secured node (TLS + authentication) for every module that needs one: starting
    a node costs 30-60 s on this machine. Each module works under its own index prefix and
    its own API keys, and deletes its indices afterwards. (``test_security.py`` keeps a
    node of its own: it inspects the node's users.)"""
    with local_node(secure=True) as node:
        yield node
