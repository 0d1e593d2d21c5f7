"""Where a run happened: the machine, the node, the versions, the load."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

__all__ = ["describe", "load_average"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _node(client: Elasticsearch) -> dict[str, Any]:
    try:
        answer = client.nodes.info(node_id="_local", metric="jvm,os")
        node = next(iter(answer["nodes"].values()))
        heap = node.get("jvm", {}).get("mem", {}).get("heap_max_in_bytes")
        return {
            "elasticsearch": node.get("version"),
            "elasticsearch_build": node.get("build_flavor", "unknown"),
            "elasticsearch_jvm": node.get("jvm", {}).get("version"),
            "elasticsearch_heap": f"{heap / 1024**3:.1f} GiB" if heap else "unknown",
            "elasticsearch_processors": node.get("os", {}).get("allocated_processors"),
        }
    except Exception as exc:
        return {"elasticsearch": f"unknown ({type(exc).__name__})"}


def describe(client: Elasticsearch, node_source: str) -> dict[str, Any]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        **_node(client),
        "node": node_source,
        "elasticsearch_py": _version("elasticsearch"),
        "elastic_transport": _version("elastic-transport"),
        "langchain_core": _version("langchain-core"),
        "langchain_elasticsearch (seed)": _version("langchain-elasticsearch"),
        "langchain_elasticsearch_cache (ours)": _version("langchain-elasticsearch-cache"),
        "load_average_at_start": load_average(),
    }
