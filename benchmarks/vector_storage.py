"""Bytes on disk per semantic entry for ways of keeping the vector, and whether each
gives the vector back exactly.

``.venv/bin/python -m benchmarks.vector_storage [--quick] --es-url URL [--name NAME]``

Layouts (the rest of the mapping is the cache's, ``hnsw`` float graph):

* ``repository``: what the cache writes, through the repository
  (``ElasticsearchVectorRepository.put_many``, the index created by it): on 9.1+ vectors
  out of ``_source`` (read back from the index) and a vector not of unit length also kept
  exactly in ``_source`` (``prompt_vector_exact``); before 9.1 the vector left out of
  ``_source`` by the mapping (``_source.excludes``), read back from doc values, with the
  same exact copy. Read back by the repository's ``get`` (and ``scan``, as export);
* ``repository_unit``, ``repository_norm_3``: the same with only unit vectors (what
  embedding models return) or only vectors of norm 3;
* ``source_json``: what the cache wrote before: the vector as JSON numbers in ``_source``
  (on 9.1+ with ``index.mapping.exclude_source_vectors: false``), read back by GET;
* ``excluded_9x`` (9.1+ only): the node's default, vectors left out of ``_source``; read
  back by GET with ``_source_exclude_vectors=false`` (synthetic rehydration);
* ``source_excludes``: ``_source.excludes`` on the vector in the mapping; read back by a
  search with ``docvalue_fields`` (GET cannot return it, nor can ``fields``, which reads
  ``_source``).

Entries (the same in every layout): unit float32 vectors (as embedding models return)
written as float64 JSON numbers, and the same number of non-unit vectors (norm 3),
``--entries`` each, flushed, then force merged to one segment once the shard's retention
leases have passed every write (synced every 30 s): until a commit holds a write and the
leases have passed it, the node keeps its source, excluded fields included, as
``_recovery_source``, and a merge keeps it too. The size is read once the node's
store-size cache (10 s) has expired. "exact" = every number
read back equals the number written; "float32-exact" = equal after rounding what was
written to float32.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from elasticsearch import BadRequestError, Elasticsearch, helpers

from langchain_elasticsearch_cache.adapters.elasticsearch import ElasticsearchVectorRepository
from langchain_elasticsearch_cache.adapters.elasticsearch.mappings import (
    SEMANTIC_INDEX_SETTINGS,
    VECTOR_EXACT_FIELD,
    cache_marker,
    semantic_properties,
)
from langchain_elasticsearch_cache.domain.semantic_records import SemanticRecord

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _log(message: str) -> None:
    print(time.strftime("%H:%M:%S ") + message, file=sys.stderr, flush=True)


def _create(client: Elasticsearch, index: str, layout: str) -> bool:
    mappings: dict[str, Any] = {
        "_meta": cache_marker("semantic"),
        "properties": semantic_properties("hnsw"),
    }
    mappings["properties"].pop(VECTOR_EXACT_FIELD)  # written by the repository only
    settings: dict[str, Any] = {"number_of_replicas": 0, **SEMANTIC_INDEX_SETTINGS}
    settings["index.mapping.exclude_source_vectors"] = layout == "excluded_9x"
    if layout == "source_excludes":
        mappings["_source"] = {"excludes": ["prompt_vector"]}
    client.indices.delete(index=index, ignore_unavailable=True)
    try:
        client.indices.create(index=index, mappings=mappings, settings=settings)
    except BadRequestError:  # before 9.1: no such settings
        if layout == "excluded_9x":
            return False
        client.indices.create(index=index, mappings=mappings, settings={"number_of_replicas": 0})
    return True


def _read_back(client: Elasticsearch, index: str, layout: str, ids: list[str]) -> dict[str, Any]:
    if layout == "source_excludes":
        answer = client.search(
            index=index,
            query={"ids": {"values": ids}},
            size=len(ids),
            docvalue_fields=["prompt_vector"],
            source=False,
        )
        return {
            hit["_id"]: (hit.get("fields", {}).get("prompt_vector") or [None])[0]
            for hit in answer["hits"]["hits"]
        }
    params = {"_source_exclude_vectors": "false"} if layout == "excluded_9x" else {}
    out: dict[str, Any] = {}
    for key in ids:
        answer = client.perform_request(
            "GET", f"/{index}/_doc/{key}", params=params, headers={"accept": "application/json"}
        )
        out[key] = answer.body.get("_source", {}).get("prompt_vector")
    return out


def _source(key: str, vector: Any) -> dict[str, Any]:
    return {
        "llm_output": ['{"text": "answer"}'],
        "llm_params": "params",
        "prompt_text": f"prompt {key}",
        "timestamp": "2025-01-01T00:00:00+00:00",
        "prompt_vector": vector.tolist(),
        "llm_string_hash": "model",
        "context_hash": "ctx",
    }


def _write_through_repository(
    client: Elasticsearch, index: str, rows: list[tuple[str, Any]]
) -> ElasticsearchVectorRepository:
    """The entries written as the cache writes them; the index created by the repository
    (then set to no replicas, as the other layouts' indices, on this one-node cluster)."""
    client.indices.delete(index=index, ignore_unavailable=True)
    repository = ElasticsearchVectorRepository(client, index, chunk_size=1_000)
    for start in range(0, len(rows), 1_000):
        repository.put_many(
            [
                SemanticRecord(key=key, prompt_text=f"prompt {key}", **_record_fields(vector))
                for key, vector in rows[start : start + 1_000]
            ]
        )
    client.indices.put_settings(index=index, settings={"number_of_replicas": 0})
    return repository


def _record_fields(vector: Any) -> dict[str, Any]:
    return {
        "llm_output": ('{"text": "answer"}',),
        "llm_params": "params",
        "timestamp": datetime(2025, 1, 1, tzinfo=timezone.utc),
        "vector": tuple(vector.tolist()),
        "llm_string_hash": "model",
        "context_hash": "ctx",
    }


def _read_through_repository(
    repository: ElasticsearchVectorRepository, ids: list[str], *, scanned: dict[str, Any]
) -> dict[str, Any]:
    """Per key, the vector ``get`` gives back, or ``None`` when ``scan`` (export) gave back
    another one."""
    out: dict[str, Any] = {}
    for key in ids:
        record = repository.get(key)
        vector = None if record is None or record.vector is None else list(record.vector)
        out[key] = vector if scanned.get(key) == vector else None
    return out


#: ``index.store.stats_refresh_interval`` (10 s by default, not dynamic) plus a margin
_STORE_STATS_SECONDS = 11.0


def _wait_for_retention_leases(client: Elasticsearch, index: str, timeout: float = 300) -> None:
    """Wait until every retention lease of ``index`` retains no write made so far (the
    leases are synced every 30 s): a merge afterwards drops the ``_recovery_source`` of
    every document, as a cache's merges do in time."""
    deadline = time.monotonic() + timeout
    while True:
        shards = client.indices.stats(index=index, level="shards")["indices"][index]["shards"]
        copies = [copy for listed in shards.values() for copy in listed]
        if all(
            copy["retention_leases"]["leases"]
            and all(
                lease["retaining_seq_no"] > copy["seq_no"]["max_seq_no"]
                for lease in copy["retention_leases"]["leases"]
            )
            for copy in copies
        ):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the retention leases of {index!r} did not advance in {timeout} s")
        time.sleep(2)


def measure(client: Elasticsearch, layout: str, entries: int, dims: int) -> dict[str, Any]:
    index = f"bench-storage-{layout.replace('_', '-')}"
    through_repository = layout.startswith("repository")
    if not through_repository and not _create(client, index, layout):
        return {"status": "not supported by this node"}
    rng = np.random.default_rng(11)
    unit = rng.normal(size=(entries, dims)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    scaled = 3.0 * unit.astype(np.float64)
    rows = [(f"u{n}", v.astype(np.float64)) for n, v in enumerate(unit)]
    rows += [(f"s{n}", v) for n, v in enumerate(scaled)]
    # repository_unit / repository_norm_3: only that kind (2 * entries of it)
    only = {"repository_unit": "u", "repository_norm_3": "s"}.get(layout)
    if only is not None:
        base = unit.astype(np.float64) if only == "u" else scaled
        base = np.concatenate([base, base[::-1]])  # as many entries as the other layouts
        rows = [(f"{only}{n}", v) for n, v in enumerate(base)]
    repository = None
    if through_repository:
        repository = _write_through_repository(client, index, rows)
    else:
        actions = ({"_index": index, "_id": key, "_source": _source(key, v)} for key, v in rows)
        helpers.bulk(client, actions, chunk_size=1_000)
    client.indices.refresh(index=index)
    client.indices.flush(index=index)  # a commit holding every write (see the docstring)
    _wait_for_retention_leases(client, index)
    client.options(request_timeout=3600).indices.forcemerge(index=index, max_num_segments=1)
    client.indices.refresh(index=index)
    time.sleep(_STORE_STATS_SECONDS)  # the size after the merge, not the one cached before
    row = client.cat.indices(index=index, bytes="b", h="pri.store.size,docs.count", format="json")
    docs = int(row.body[0]["docs.count"])
    disk = int(row.body[0]["pri.store.size"])
    checked: dict[str, Any] = {}
    scanned: dict[str, Any] = {}
    if repository is not None:
        scanned = {r.key: list(r.vector or ()) for r in repository.scan()}
    for kind, prefix in (("unit", "u"), ("norm_3", "s")):
        if only is not None and prefix != only:
            continue
        ids = [f"{prefix}{n}" for n in range(min(entries, 200))]
        if repository is not None:
            back = _read_through_repository(repository, ids, scanned=scanned)
        else:
            back = _read_back(client, index, layout, ids)
        written = {key: vector for key, vector in rows if key in back}
        exact = sum(back[k] == written[k].tolist() for k in ids)
        as32 = sum(
            back[k] is not None
            and np.array_equal(np.asarray(back[k], dtype=np.float32), written[k].astype(np.float32))
            for k in ids
        )
        worst = max(
            (float(np.max(np.abs(np.asarray(back[k]) - written[k]))) for k in ids if back[k]),
            default=None,
        )
        checked[kind] = {
            "checked": len(ids),
            "exact": exact,
            "float32_exact": int(as32),
            "missing": sum(back[k] is None for k in ids),
            "largest_difference": worst,
        }
    client.indices.delete(index=index, ignore_unavailable=True)
    return {
        "status": "ok",
        "docs": docs,
        "disk_bytes_per_entry": disk / docs,
        "read_back": checked,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.vector_storage", description=__doc__
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--es-url", default=os.environ.get("ES_URL"), required=False)
    parser.add_argument("--entries", type=int, default=2_500, help="of each kind (x2 in all)")
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument(
        "--layouts",
        default="repository,repository_unit,repository_norm_3,source_json,excluded_9x,"
        "source_excludes",
    )
    parser.add_argument("--name", default=None)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    if not arguments.es_url:
        parser.error("--es-url (or ES_URL) is required")
    entries = 100 if arguments.quick else arguments.entries
    client = Elasticsearch(arguments.es_url, request_timeout=600)
    version = client.cat.nodes(h="version", format="json").body[0]["version"]
    document: dict[str, Any] = {
        "node_version": version,
        "entries": 2 * entries,
        "dims": arguments.dims,
        "layouts": {},
    }
    layouts = arguments.layouts.split(",")
    for layout in layouts:
        _log(f"{layout} on {version}")
        document["layouts"][layout] = measure(client, layout, entries, arguments.dims)
        _log(json.dumps(document["layouts"][layout]))
    client.close()
    name = arguments.name or f"vector-storage-{version}"
    arguments.out_dir.mkdir(parents=True, exist_ok=True)
    (arguments.out_dir / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
