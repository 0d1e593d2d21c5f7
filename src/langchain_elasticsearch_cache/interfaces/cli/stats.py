"""``stats``: what an index (or the indices behind an alias) holds."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .connection import add_index_command, open_target
from .errors import EXIT_OK

__all__ = ["add_stats_command", "cmd_stats", "human_size"]


def human_size(size: float) -> str:
    """``512 B``, ``1.5 KiB``, ... ``2.0 TiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def cmd_stats(args: argparse.Namespace) -> int:
    with open_target(args, must_exist=True) as target:
        report = target.statistics(per_model=not args.no_models)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return EXIT_OK
    print(f"index:      {report['index']} ({report['kind']} cache)")
    indices = report.get("indices") or {}
    if list(indices) != [report["index"]]:
        shown = ", ".join(f"{name} ({count})" for name, count in indices.items())
        print(f"indices:    {shown}")
    print(f"documents:  {report['documents']}")
    if "dims" in report:
        print(f"dims:       {report['dims'] or '- (no vector stored yet)'} (prompt vectors)")
    print(f"size:       {report['size_bytes']} bytes ({human_size(report['size_bytes'])})")
    print(f"oldest:     {report['oldest'] or '-'}")
    print(f"newest:     {report['newest'] or '-'}")
    for field, title in (("models", "model (from llm_params)"), ("namespaces", "namespace")):
        counts = report.get(field)
        if counts:
            print(f"entries per {title}:")
            for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
                print(f"  {count:>10}  {name}")
    return EXIT_OK


def add_stats_command(sub: Any) -> None:
    """Register ``stats`` on the CLI's subparsers."""
    stats = add_index_command(
        sub,
        "stats",
        "document count, size, oldest/newest, entries per model (and vector dims)",
        cmd_stats,
    )
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument("--no-models", action="store_true", help="skip the per-model scan")
