"""Index administration used by the CLI: existence, kind detection and an overview."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from .errors import translated


def index_exists(client: Elasticsearch, index: str) -> bool:
    """True when ``index`` names an existing index or alias."""
    with translated(f"checking whether {index!r} exists"):
        return bool(client.indices.exists(index=index))


def detect_kind(client: Elasticsearch, index: str) -> str | None:
    """``"llm"`` or ``"embeddings"`` from the mapping of ``index``; ``None`` if neither."""
    with translated(f"reading the mapping of {index!r}"):
        mappings = client.indices.get_mapping(index=index)
    kinds = set()
    for body in mappings.values():
        fields = body.get("mappings", {}).get("properties", {})
        if "llm_output" in fields:
            kinds.add("llm")
        if "vector_dump" in fields:
            kinds.add("embeddings")
    return kinds.pop() if len(kinds) == 1 else None


def index_overview(client: Elasticsearch, index: str) -> dict[str, Any]:
    """Document count, store size and the oldest and newest entry times."""
    with translated(f"reading statistics of {index!r}"):
        client.indices.refresh(index=index)
        stats = client.indices.stats(index=index, metric="docs,store")
        answer = client.search(
            index=index,
            size=0,
            aggs={
                "oldest": {"min": {"field": "timestamp"}},
                "newest": {"max": {"field": "timestamp"}},
            },
        )
    total = stats["_all"]["primaries"]
    aggs = answer.get("aggregations", {})
    return {
        "documents": int(total.get("docs", {}).get("count", 0)),
        "size_bytes": int(total.get("store", {}).get("size_in_bytes", 0)),
        "oldest": aggs.get("oldest", {}).get("value_as_string"),
        "newest": aggs.get("newest", {}).get("value_as_string"),
    }
