"""The commands that delete or move entries: ``purge`` (entry by entry, or whole indices
behind an alias with ``--by-index``), ``rollover`` (and ``--bootstrap`` of the alias) and
``clear``."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

from ...domain.errors import ConfigurationError
from ..operations import KINDS, IndexNotFoundError
from .connection import add_index_command, client_connection, open_target, require_connection
from .errors import EXIT_OK, EXIT_USAGE
from .values import parse_duration, positive_int

__all__ = [
    "add_maintenance_commands",
    "cmd_clear",
    "cmd_purge",
    "cmd_purge_by_index",
    "cmd_rollover",
    "retention_client",
]


def retention_client(args: argparse.Namespace, *, must_exist: bool = True) -> Any:
    """A client for the retention calls on the alias ``args.index`` (checked to exist)."""
    from ...adapters.elasticsearch import create_elasticsearch_client, validate_index_name
    from ...adapters.elasticsearch.admin import index_exists

    require_connection(args)
    validate_index_name(args.index)
    client = create_elasticsearch_client(**client_connection(args))
    if must_exist and not index_exists(client, args.index):
        client.close()
        raise IndexNotFoundError(
            f"alias {args.index!r} does not exist at this Elasticsearch: check the name, or "
            "create it with: rollover INDEX --bootstrap --kind llm|embeddings|semantic"
        )
    return client


def cmd_purge_by_index(args: argparse.Namespace) -> int:
    from ...adapters.elasticsearch.retention import purge_by_index

    ttl = parse_duration(args.older_than)
    with retention_client(args) as client:
        dropped = purge_by_index(client, args.index, ttl, dry_run=args.dry_run)
    verb = "would drop" if args.dry_run else "dropped"
    for index in dropped:
        newest = index.newest.isoformat(timespec="seconds") if index.newest else "no entries"
        print(f"{verb} {index.name} (newest entry: {newest})")
    print(
        f"{verb} {len(dropped)} indices behind {args.index} whose newest entry is older than "
        f"{args.older_than} (the write index is never dropped)"
    )
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    if args.by_index:
        return cmd_purge_by_index(args)
    if args.dry_run:
        raise ConfigurationError("--dry-run goes with --by-index only")
    age = parse_duration(args.older_than)
    with open_target(args, must_exist=True) as target:
        cutoff = datetime.now(timezone.utc) - age
        deleted = target.purge_older_than(cutoff)
    print(
        f"purged {deleted} entries older than {args.older_than} "
        f"(written before {cutoff.isoformat(timespec='seconds')}) from {args.index}"
    )
    return EXIT_OK


def cmd_rollover(args: argparse.Namespace) -> int:
    from ...adapters.elasticsearch.retention import (
        bootstrap_alias,
        rollover,
        rollover_conditions,
    )

    if args.bootstrap:
        if args.kind not in KINDS:
            raise ConfigurationError(
                "rollover --bootstrap creates the first index with the cache's mapping: say "
                "which with --kind llm, --kind embeddings or --kind semantic"
            )
        with retention_client(args, must_exist=False) as client:
            first = bootstrap_alias(client, args.index, args.kind)
        print(f"created {first} behind alias {args.index} (its write index)")
        return EXIT_OK
    max_age = None
    if args.max_age is not None:
        max_age = timedelta(seconds=int(parse_duration(args.max_age).total_seconds()))
    rollover_conditions(max_age, args.max_docs, args.max_size)  # checked before connecting
    with retention_client(args) as client:
        result = rollover(
            client,
            args.index,
            max_age=max_age,
            max_docs=args.max_docs,
            max_size=args.max_size,
            dry_run=args.dry_run,
        )
    met = ", ".join(
        f"{name} {'met' if ok else 'not met'}" for name, ok in result.conditions.items()
    )
    if result.rolled_over:
        print(f"rolled {args.index} over from {result.old_index} to {result.new_index} ({met})")
    elif result.dry_run and any(result.conditions.values()):
        print(f"would roll {args.index} over to {result.new_index} ({met})")
    else:
        print(
            f"not rolled over: no condition met ({met}); {result.old_index} stays the write index"
        )
    return EXIT_OK


def cmd_clear(args: argparse.Namespace) -> int:
    if not args.yes:
        print(
            f"error: refusing to delete every entry of {args.index!r} without --yes",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with open_target(args, must_exist=True) as target:
        deleted = target.clear()
    print(f"cleared {deleted} entries from {args.index}")
    return EXIT_OK


def add_maintenance_commands(sub: Any) -> None:
    """Register ``purge``, ``rollover`` and ``clear`` on the CLI's subparsers."""
    purge = add_index_command(sub, "purge", "delete entries older than a duration", cmd_purge)
    purge.add_argument("--older-than", required=True, help="e.g. 7d, 12h, 30m, 2w, 90s")
    purge.add_argument(
        "--by-index",
        action="store_true",
        help="drop whole indices behind the alias whose newest entry is older than "
        "--older-than (never the write index), instead of deleting entries one by one",
    )
    purge.add_argument("--dry-run", action="store_true", help="with --by-index: only list")

    roll = add_index_command(
        sub,
        "rollover",
        "start a new index behind the cache's alias when a condition is met",
        cmd_rollover,
    )
    roll.add_argument("--max-age", help="age of the write index, e.g. 1d, 12h")
    roll.add_argument("--max-docs", type=positive_int, help="documents in the write index")
    roll.add_argument("--max-size", help="primary size of the write index, e.g. 50gb")
    roll.add_argument("--dry-run", action="store_true", help="report the conditions only")
    roll.add_argument(
        "--bootstrap",
        action="store_true",
        help="create INDEX-000001 behind the alias INDEX (with --kind llm|embeddings|semantic)",
    )

    clear = add_index_command(sub, "clear", "delete every entry", cmd_clear)
    clear.add_argument("--yes", action="store_true", help="confirm")
