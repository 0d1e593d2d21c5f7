"""What the benchmark commands share: the node they run against, their common arguments,
the envelope of a run (client, index prefix, machine, duration, clean-up) and its files."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from .environment import describe, load_average

__all__ = [
    "RESULTS_DIR",
    "Part",
    "benchmark_parser",
    "log",
    "log_targets",
    "measure",
    "node",
    "ratio_target",
    "run_command",
    "write_results",
]

RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: ``(key in the document, title logged, measure(client, index prefix))``
Part = tuple[str, str, Callable[[Elasticsearch, str], Any]]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def node(url: str | None, heap: str) -> Iterator[tuple[str, str]]:
    """``(url, description)``: ``url`` as given, else a local node started (and stopped) here."""
    if url:
        yield url.rstrip("/"), "ES_URL (reused)"
        return
    from lecache_devtools.node import LocalElasticsearchNode

    local = LocalElasticsearchNode(heap=heap)
    log(f"starting a local Elasticsearch {local.version} node (heap {heap})...")
    try:
        started = local.url if local.is_running() else local.start()
        yield started, f"LocalElasticsearchNode {local.version}, heap {heap}, started for this run"
    finally:
        local.stop()


def benchmark_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """The arguments of ``benchmarks.semantic`` and ``benchmarks.semantic_cache``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--es-url", default=os.environ.get("ES_URL"), help="default: $ES_URL")
    parser.add_argument("--heap", default="2g", help="heap of a node started here")
    parser.add_argument("--name", default=None)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--synthetic", action="store_true", help="no wordllama")
    return parser


def measure(
    url: str,
    plan: Any,
    parts: Sequence[Part],
    *,
    name: str,
    node_source: str,
    targets: Callable[[dict[str, Any]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """Run ``parts`` in order against the node at ``url`` and return the result document:
    name, mode, plan, machine, duration, each part under its key, then ``targets``. Every
    index under the run's prefix is deleted at the end, whatever happened."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    client = Elasticsearch(url, request_timeout=600)
    started = time.perf_counter()
    measured: dict[str, Any] = {}
    try:
        environment = describe(client, node_source)
        for key, title, part in parts:
            log(f"== {title}")
            measured[key] = part(client, prefix)
    finally:
        with contextlib.suppress(Exception):
            client.indices.delete(
                index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True
            )
        client.close()
    environment["load_average_at_end"] = load_average()
    document: dict[str, Any] = {
        "name": name,
        "mode": plan.mode,
        "plan": asdict(plan),
        "environment": environment,
        "duration_s": time.perf_counter() - started,
        **measured,
    }
    document["targets"] = targets(document)
    return document


def write_results(
    document: Mapping[str, Any], out_dir: Path, markdown: Callable[[Mapping[str, Any]], str]
) -> None:
    """``<name>.json`` (the document) and ``<name>.md`` (``markdown`` of it) in ``out_dir``."""
    name = document["name"]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
    (out_dir / f"{name}.md").write_text(markdown(document))
    log(f"wrote {out_dir / (name + '.json')} and {out_dir / (name + '.md')}")


def log_targets(document: Mapping[str, Any]) -> None:
    for target in document["targets"]:
        log(f"target {target['description']}: {target['detail']}")


def ratio_target(
    target_id: str, description: str, ratio: float, limit: float, note: str = ""
) -> dict[str, Any]:
    """The target that ours/raw (``ratio``) is at most ``limit``; ``note`` ends the detail's
    parenthesis."""
    met = ratio <= limit
    return {
        "id": target_id,
        "description": description,
        "value": ratio,
        "met": met,
        "detail": f"{'met' if met else 'missed'}: ours/raw {ratio:.3f} (target <= {limit}{note})",
    }


def run_command(
    arguments: argparse.Namespace, plan: Any, run: Callable[..., dict[str, Any]]
) -> int:
    """The rest of a command of :func:`benchmark_parser`: ``run`` the plan (synthetic with
    ``--synthetic``) on the node of the arguments, then log the targets."""
    if arguments.synthetic:
        plan = replace(plan, synthetic=True)
    with node(arguments.es_url, arguments.heap) as (url, source):
        document = run(
            url, plan, name=arguments.name, out_dir=arguments.out_dir, node_source=source
        )
    log_targets(document)
    return 0
