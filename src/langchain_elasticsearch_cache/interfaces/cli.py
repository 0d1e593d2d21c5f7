"""Command-line tool: the ``langchain-elasticsearch-cache`` console script.

Connection options come from flags or the usual environment variables (``ES_URL``,
``ES_CLOUD_ID``, ``ES_API_KEY``, ``ES_USER``, ``ES_PASSWORD``, ``ES_CA_CERTS``); they are
never printed. Exit codes: 0 success, 1 operation failed, 2 usage or configuration
error, 3 cannot connect or authenticate, 4 index not found.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from ..domain.errors import (
    AuthenticationError,
    BackendUnavailableError,
    CacheError,
    ConfigurationError,
)
from .operations import IndexNotFoundError, IndexTarget

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_NOT_FOUND = 0, 1, 2, 3, 4


class CountingChatModel(FakeListChatModel):
    """A fake chat model that counts how often it is really called."""

    calls: int = 0

    def _call(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        return super()._call(*args, **kwargs)


def _add_connection_flags(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    group = parser.add_argument_group("connection (defaults from the environment)")
    group.add_argument("--es-url", default=env("ES_URL"), help="Elasticsearch URL [ES_URL]")
    group.add_argument("--es-cloud-id", default=env("ES_CLOUD_ID"), help="[ES_CLOUD_ID]")
    group.add_argument("--es-api-key", default=env("ES_API_KEY"), help="[ES_API_KEY]")
    group.add_argument("--es-user", default=env("ES_USER"), help="[ES_USER]")
    group.add_argument("--es-password", default=env("ES_PASSWORD"), help="[ES_PASSWORD]")
    group.add_argument("--ca-certs", default=env("ES_CA_CERTS"), help="CA bundle [ES_CA_CERTS]")


def _has_connection(args: argparse.Namespace) -> bool:
    return bool(args.es_url or args.es_cloud_id)


def _connection_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "es_url": args.es_url,
        "es_cloud_id": args.es_cloud_id,
        "es_api_key": args.es_api_key,
        "es_user": args.es_user,
        "es_password": args.es_password,
        "ca_certs": args.ca_certs,
    }


def _demo_cache(args: argparse.Namespace) -> tuple[BaseCache, str]:
    if _has_connection(args):
        from .langchain.elasticsearch import ElasticsearchCache

        cache = ElasticsearchCache(args.index, **_connection_kwargs(args))
        return cache, f"Elasticsearch index {args.index!r}"
    from .langchain.memory import InMemoryLlmCache

    return InMemoryLlmCache(), "the in-memory cache (no ES_URL / --es-url given)"


def cmd_demo(args: argparse.Namespace) -> int:
    cache, where = _demo_cache(args)
    print(f"demo: a fake chat model answered through {where}")
    prompts = ["What is a cache?", "Why Elasticsearch?", "What is a cache?"]
    model = CountingChatModel(responses=[f"answer #{i}" for i in range(1, 10)], cache=cache)
    try:
        for round_no in (1, 2):
            for prompt in prompts:
                before = model.calls
                started = time.perf_counter()
                answer = model.invoke(prompt).content
                took = (time.perf_counter() - started) * 1000
                source = "model call (miss)" if model.calls > before else "cache hit"
                print(
                    f"  round {round_no}: {prompt!r:24} -> {answer!r:12} {source:18} {took:7.2f} ms"
                )
        stats = getattr(cache, "statistics", None)
        print(f"model calls: {model.calls} for {2 * len(prompts)} invocations")
        if stats is not None:
            print(
                f"cache lookups: {stats.hits} hits, {stats.misses} misses, "
                f"{stats.writes} writes, hit rate {stats.hit_rate:.0%}"
            )
        if _has_connection(args) and not args.keep:
            cache.clear()
    finally:
        close = getattr(cache, "close", None)
        if close is not None:
            close()
    return EXIT_OK


KINDS = ("llm", "embeddings")


def _parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``7d``, ``2w`` (or a bare number of seconds)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in units else "s"
    number = raw[:-1] if raw[-1:] in units else raw
    try:
        value = float(number)
    except ValueError:
        raise ConfigurationError(
            f"cannot read duration {text!r}: use a number and a unit, e.g. 90s, 15m, 12h, 7d, 2w"
        ) from None
    if value <= 0:
        raise ConfigurationError(f"duration must be positive, got {text!r}")
    return timedelta(seconds=value * units[unit])


class _Progress:
    """A progress line on stderr, at most one every ``interval`` seconds, when it is a TTY
    or when asked for (``--progress``)."""

    def __init__(self, label: str, total: int | None, enabled: bool, interval: float = 2.0):
        self.label, self.total, self.enabled, self.interval = label, total, enabled, interval
        self.done = 0
        self._last = time.monotonic()

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and now - self._last >= self.interval:
            self._last = now
            self._print()

    def _print(self) -> None:
        if self.total:
            pct = 100.0 * self.done / self.total
            print(f"{self.label}: {self.done}/{self.total} ({pct:.0f}%)", file=sys.stderr)
        else:
            print(f"{self.label}: {self.done}", file=sys.stderr)

    def finish(self) -> None:
        if self.enabled:
            self._print()


def _open_target(args: argparse.Namespace, *, must_exist: bool) -> IndexTarget:
    if not _has_connection(args):
        raise ConfigurationError(
            "no Elasticsearch given: pass --es-url URL (or --es-cloud-id) or set ES_URL"
        )
    return IndexTarget.connect(
        args.index,
        kind=args.kind,
        must_exist=must_exist,
        url=args.es_url,
        cloud_id=args.es_cloud_id,
        api_key=args.es_api_key,
        username=args.es_user,
        password=args.es_password,
        ca_certs=args.ca_certs,
    )


def cmd_stats(args: argparse.Namespace) -> int:
    with _open_target(args, must_exist=True) as target:
        report = target.statistics(per_model=not args.no_models)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return EXIT_OK
    print(f"index:      {report['index']} ({report['kind']} cache)")
    print(f"documents:  {report['documents']}")
    print(f"size:       {report['size_bytes']} bytes")
    print(f"oldest:     {report['oldest'] or '-'}")
    print(f"newest:     {report['newest'] or '-'}")
    models = report.get("models")
    if models:
        print("entries per model (from llm_params):")
        for model, count in sorted(models.items(), key=lambda item: (-item[1], item[0])):
            print(f"  {count:>10}  {model}")
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    age = _parse_duration(args.older_than)
    with _open_target(args, must_exist=True) as target:
        cutoff = datetime.now(timezone.utc) - age
        deleted = target.repository.delete_older_than(cutoff)
    print(f"purged {deleted} entries older than {args.older_than} from {args.index}")
    return EXIT_OK


def cmd_clear(args: argparse.Namespace) -> int:
    if not args.yes:
        print(
            f"refusing to delete every entry of {args.index!r} without --yes",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with _open_target(args, must_exist=True) as target:
        deleted = target.repository.clear()
    print(f"cleared {deleted} entries from {args.index}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    with _open_target(args, must_exist=True) as target:
        out = sys.stdout if args.output in (None, "-") else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
        progress = _Progress("exported", target.repository.count(), _progress_on(args))
        try:
            for line in target.export_lines(page_size=args.page_size):
                out.write(line)
                out.write("\n")
                progress.advance(1)
        finally:
            if out is not sys.stdout:
                out.close()
            else:
                out.flush()
        progress.finish()
    print(f"exported {progress.done} entries from {args.index}", file=sys.stderr)
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    source = sys.stdin if args.input in (None, "-") else open(args.input, encoding="utf-8")  # noqa: SIM115
    try:
        with _open_target(args, must_exist=False) as target:
            progress = _Progress("imported", None, _progress_on(args))
            imported, skipped = target.import_lines(
                source, batch_size=args.batch_size, on_batch=progress.advance
            )
            progress.finish()
    finally:
        if source is not sys.stdin:
            source.close()
    print(
        f"imported {imported} entries into {args.index}, skipped {skipped} invalid lines",
        file=sys.stderr,
    )
    return EXIT_OK if skipped == 0 else EXIT_FAILED


def _progress_on(args: argparse.Namespace) -> bool:
    return bool(args.progress or sys.stderr.isatty())


def _index_command(sub: Any, name: str, help_text: str, func: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
    parser.add_argument("index", help="index or alias name")
    parser.add_argument(
        "--kind",
        choices=(*KINDS, "auto"),
        default="auto",
        help="what the index caches (default: read it from the mapping)",
    )
    _add_connection_flags(parser)
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="langchain-elasticsearch-cache",
        description="Inspect and operate a LangChain cache stored in Elasticsearch.",
        epilog="exit codes: 0 ok, 1 failed, 2 usage or configuration error, "
        "3 cannot connect or authenticate, 4 index not found",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="show a fake LLM answered from the cache")
    _add_connection_flags(demo)
    demo.add_argument("--index", default="langchain-cache-demo", help="index or alias name")
    demo.add_argument("--keep", action="store_true", help="keep the demo entries")
    demo.set_defaults(func=cmd_demo)

    stats = _index_command(
        sub, "stats", "document count, size, oldest/newest, per model", cmd_stats
    )
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument("--no-models", action="store_true", help="skip the per-model scan")

    purge = _index_command(sub, "purge", "delete entries older than a duration", cmd_purge)
    purge.add_argument("--older-than", required=True, help="e.g. 7d, 12h, 30m")

    clear = _index_command(sub, "clear", "delete every entry", cmd_clear)
    clear.add_argument("--yes", action="store_true", help="confirm")

    export = _index_command(sub, "export", "write every entry as JSON Lines", cmd_export)
    export.add_argument("-o", "--output", help="file (default: standard output)")
    export.add_argument("--page-size", type=int, default=1000)
    export.add_argument("--progress", action="store_true", help="progress on stderr")

    imp = _index_command(sub, "import", "read JSON Lines written by export", cmd_import)
    imp.add_argument("-i", "--input", help="file (default: standard input)")
    imp.add_argument("--batch-size", type=int, default=500)
    imp.add_argument("--progress", action="store_true", help="progress on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except IndexNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BackendUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except AuthenticationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except CacheError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
