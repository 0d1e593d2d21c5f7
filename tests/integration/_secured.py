"""What the modules working on the secured node share: the admin client whose clean-up
deletes the module's indices, the caches' connection options (the ``elastic`` user, or
an API key), API keys holding exactly some index privileges, and the command line run
with no connection setting but those given."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from lecache_devtools.node import LocalElasticsearchNode

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def admin_client(
    node: LocalElasticsearchNode, prefix: str, *, lift_read_only: bool = False
) -> Iterator[Elasticsearch]:
    """A client of ``node`` as its superuser. Afterwards every index ``prefix*`` is
    deleted, its ``index.blocks.read_only`` lifted first where ``lift_read_only``."""
    client = Elasticsearch(**node.client_options(), request_timeout=60)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        if lift_read_only:
            client.indices.put_settings(
                index=f"{prefix}*",
                settings={"index.blocks.read_only": None},
                allow_no_indices=True,
            )
        client.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True)
        client.close()


def basic_options(node: LocalElasticsearchNode) -> dict[str, Any]:
    """A cache's connection options as the node's superuser (``elastic``)."""
    return {
        "es_url": node.url,
        "es_user": node.username,
        "es_password": node.password,
        "ca_certs": node.ca_certs,
    }


def key_options(node: LocalElasticsearchNode, key: str) -> dict[str, Any]:
    """A cache's connection options with the encoded API key ``key``."""
    return {"es_url": node.url, "es_api_key": key, "ca_certs": node.ca_certs}


def api_key(admin: Elasticsearch, name: str, pattern: str, privileges: tuple[str, ...]) -> str:
    """An encoded API key holding exactly ``privileges`` on the indices ``pattern`` and no
    cluster privilege, valid for an hour."""
    created = admin.security.create_api_key(
        name=f"{name}-{'-'.join(privileges) or 'none'}",
        expiration="1h",
        role_descriptors={
            "role": {
                "cluster": [],
                "indices": [{"names": [pattern], "privileges": list(privileges)}],
            }
        },
    )
    return str(created["encoded"])


def run_cli(
    *args: str, connection: Mapping[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m langchain_elasticsearch_cache *args`` from the repository's root, with
    no ``ES_*`` variable of this process: ``connection`` (``ES_URL``, ``ES_API_KEY``...)
    and the flags in ``args`` are its only connection settings."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ES_")}
    environment.update(connection or {})
    return subprocess.run(
        [sys.executable, "-m", "langchain_elasticsearch_cache", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        cwd=ROOT,
        env=environment,
        input=stdin,
        check=False,
    )
