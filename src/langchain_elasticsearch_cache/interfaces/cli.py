"""Command-line tool: the ``langchain-elasticsearch-cache`` console script.

Connection options come from flags or the usual environment variables (``ES_URL``,
``ES_CLOUD_ID``, ``ES_API_KEY``, ``ES_USER``, ``ES_PASSWORD``, ``ES_CA_CERTS``); they are
never printed. Errors are one line on stderr (``-v`` adds the traceback). Exit codes:
0 success, 1 operation failed, 2 usage or configuration error, 3 cannot connect or
authenticate, 4 index not found, 130 interrupted.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import IO, Any

from ..domain.errors import (
    AuthenticationError,
    BackendUnavailableError,
    CacheError,
    ConfigurationError,
)
from .calibrate import add_calibrate_command
from .operations import KINDS, IndexNotFoundError, IndexTarget, kind_of_line

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_NOT_FOUND = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130

logger = logging.getLogger("langchain_elasticsearch_cache")

_SECRET_FLAGS = ("es_api_key", "es_password")

# Flags whose value may legitimately begin with "-" (a generated password, a base64url API
# key): argparse would take such a value for an option and stop with "expected one
# argument", so the word after these flags is always their value.
_VERBATIM_VALUE_FLAGS = frozenset({"--es-password", "--es-api-key", "--es-user"})


def _glue_verbatim_values(argv: Sequence[str]) -> list[str]:
    """``--es-password -x1`` -> ``--es-password=-x1``; everything else unchanged."""
    glued: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--":
            glued.append(word)
            glued.extend(words)
            break
        if word in _VERBATIM_VALUE_FLAGS:
            value = next(words, None)
            glued.append(word if value is None else f"{word}={value}")
        else:
            glued.append(word)
    return glued


# --------------------------------------------------------------------------- connection


def _add_connection_flags(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    group = parser.add_argument_group(
        "connection (defaults from the environment; prefer the environment for secrets, "
        "flags show up in the process list)"
    )
    group.add_argument(
        "--es-url",
        default=env("ES_URL"),
        help="Elasticsearch URL, or the URLs of several nodes of one cluster separated by "
        "commas (a call then goes on to another node when one is down) [ES_URL]",
    )
    group.add_argument("--es-cloud-id", default=env("ES_CLOUD_ID"), help="[ES_CLOUD_ID]")
    group.add_argument("--es-api-key", default=env("ES_API_KEY"), help="[ES_API_KEY]")
    group.add_argument("--es-user", default=env("ES_USER"), help="[ES_USER]")
    group.add_argument("--es-password", default=env("ES_PASSWORD"), help="[ES_PASSWORD]")
    group.add_argument("--ca-certs", default=env("ES_CA_CERTS"), help="CA bundle [ES_CA_CERTS]")
    group.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="per-request timeout (default: the client's, 10 s)",
    )


def _has_connection(args: argparse.Namespace) -> bool:
    return bool(args.es_url or args.es_cloud_id)


def split_hosts(text: str | None) -> str | list[str] | None:
    """``--es-url`` / ``ES_URL`` as ``es_url``: one URL, or a list when the text names
    several separated by commas (``http://a:9200,http://b:9200``; spaces allowed).

    An empty item (``a,,b``, a trailing comma) is a ``ConfigurationError``: it is a typo,
    and silently dropping it could hide a node the operator meant to list.
    """
    if text is None or "," not in text:
        return text
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        empty = items.index("") + 1
        raise ConfigurationError(
            f"--es-url / ES_URL has an empty item (item {empty} of {len(items)}): list the "
            "node URLs separated by single commas, e.g. "
            "'http://node1:9200,http://node2:9200,http://node3:9200'"
        )
    return items


def _cache_connection(args: argparse.Namespace) -> dict[str, Any]:
    """Connection keywords of the cache classes (``es_url=`` ...)."""
    return {
        "es_url": split_hosts(args.es_url),
        "es_cloud_id": args.es_cloud_id,
        "es_api_key": args.es_api_key,
        "es_user": args.es_user,
        "es_password": args.es_password,
        "ca_certs": args.ca_certs,
        "request_timeout": args.timeout,
    }


def _client_connection(args: argparse.Namespace) -> dict[str, Any]:
    """Connection keywords of ``create_elasticsearch_client`` (``url=`` ...)."""
    return {
        "url": split_hosts(args.es_url),
        "cloud_id": args.es_cloud_id,
        "api_key": args.es_api_key,
        "username": args.es_user,
        "password": args.es_password,
        "ca_certs": args.ca_certs,
        "request_timeout": args.timeout,
    }


def _open_target(
    args: argparse.Namespace, *, must_exist: bool, kind_if_new: str | None = None
) -> IndexTarget:
    if not _has_connection(args):
        raise ConfigurationError(
            "no Elasticsearch given: pass --es-url URL (or --es-cloud-id) or set ES_URL"
        )
    return IndexTarget.connect(
        args.index,
        kind=args.kind,
        must_exist=must_exist,
        kind_if_new=kind_if_new,
        **_client_connection(args),
    )


# --------------------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace) -> int:
    if getattr(args, "semantic", False):
        from .semantic_demo import run_semantic_demo

        return run_semantic_demo(args)
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    class CountingChatModel(FakeListChatModel):
        """A fake chat model that counts how often it is really called."""

        calls: int = 0

        def _call(self, *call_args: Any, **kwargs: Any) -> str:
            self.calls += 1
            return super()._call(*call_args, **kwargs)

    if _has_connection(args):
        from .langchain.elasticsearch_caches import ElasticsearchCache

        cache: Any = ElasticsearchCache(args.index, **_cache_connection(args))
        where = f"Elasticsearch index {args.index!r}"
    else:
        from .langchain.memory import InMemoryLlmCache

        cache = InMemoryLlmCache()
        where = "the in-memory cache (no ES_URL / --es-url given)"
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
        stats = cache.statistics
        print(f"model calls: {model.calls} for {2 * len(prompts)} invocations")
        print(
            f"cache lookups: {stats.hits} hits, {stats.misses} misses, "
            f"{stats.writes} writes, hit rate {stats.hit_rate:.0%}"
        )
        if _has_connection(args) and not args.keep:
            cache.clear()
    finally:
        cache.close()
    return EXIT_OK


# --------------------------------------------------------------------------- helpers

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``7d``, ``2w`` (or a bare number of seconds)."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _UNITS else "s"
    number = raw[:-1] if raw[-1:] in _UNITS else raw
    try:
        value = float(number)
        duration = timedelta(seconds=value * _UNITS[unit])
    except (ValueError, OverflowError):
        raise ConfigurationError(
            f"cannot read duration {text!r}: use a number and a unit, e.g. 90s, 15m, 12h, 7d, 2w"
        ) from None
    if not value > 0:
        raise ConfigurationError(f"duration must be positive, got {text!r}")
    return duration


class Progress:
    """Progress lines on stderr, at most one every ``interval`` seconds plus a last one.

    Enabled by ``--progress`` (or when stderr is a terminal): lines, not a redrawn bar,
    so they read well in logs too.
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        enabled: bool,
        interval: float = 2.0,
        stream: IO[str] | None = None,
    ) -> None:
        self.label, self.total, self.enabled, self.interval = label, total, enabled, interval
        self.stream = stream
        self.done = 0
        self.started = time.monotonic()
        self._last = self.started

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and now - self._last >= self.interval:
            self._last = now
            self._print(now)

    def finish(self) -> None:
        if self.enabled:
            self._print(time.monotonic())

    def _print(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = f"{self.done / elapsed:,.0f}/s"
        if self.total:
            pct = 100.0 * self.done / self.total
            text = f"{self.label}: {self.done}/{self.total} ({pct:.0f}%), {rate}"
        else:
            text = f"{self.label}: {self.done}, {rate}"
        print(text, file=self.stream or sys.stderr, flush=True)


def _progress(args: argparse.Namespace, label: str, total: int | None) -> Progress:
    enabled = bool(args.progress or sys.stderr.isatty())
    return Progress(label, total, enabled=enabled, interval=args.progress_every)


def _utf8_stdout() -> io.TextIOWrapper:
    sys.stdout.flush()
    return io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")


def _utf8_stdin() -> io.TextIOWrapper:
    return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")


def _peek_kind(lines: Iterator[str]) -> tuple[str | None, Iterator[str]]:
    """The kind the first non-blank line declares, and every line again."""
    seen: list[str] = []
    for line in lines:
        seen.append(line)
        if line.strip():
            return kind_of_line(line), itertools.chain(seen, lines)
    return None, iter(seen)


# --------------------------------------------------------------------------- commands


def _human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def cmd_stats(args: argparse.Namespace) -> int:
    with _open_target(args, must_exist=True) as target:
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
    print(f"size:       {report['size_bytes']} bytes ({_human_size(report['size_bytes'])})")
    print(f"oldest:     {report['oldest'] or '-'}")
    print(f"newest:     {report['newest'] or '-'}")
    for field, title in (("models", "model (from llm_params)"), ("namespaces", "namespace")):
        counts = report.get(field)
        if counts:
            print(f"entries per {title}:")
            for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
                print(f"  {count:>10}  {name}")
    return EXIT_OK


def _retention_client(args: argparse.Namespace, *, must_exist: bool = True) -> Any:
    from ..adapters.elasticsearch import create_elasticsearch_client, validate_index_name
    from ..adapters.elasticsearch.admin import index_exists

    if not _has_connection(args):
        raise ConfigurationError(
            "no Elasticsearch given: pass --es-url URL (or --es-cloud-id) or set ES_URL"
        )
    validate_index_name(args.index)
    client = create_elasticsearch_client(**_client_connection(args))
    if must_exist and not index_exists(client, args.index):
        client.close()
        raise IndexNotFoundError(
            f"alias {args.index!r} does not exist at this Elasticsearch: check the name, or "
            "create it with: rollover INDEX --bootstrap --kind llm|embeddings"
        )
    return client


def cmd_purge_by_index(args: argparse.Namespace) -> int:
    from ..adapters.elasticsearch.retention import purge_by_index

    ttl = parse_duration(args.older_than)
    with _retention_client(args) as client:
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
    with _open_target(args, must_exist=True) as target:
        cutoff = datetime.now(timezone.utc) - age
        deleted = target.purge_older_than(cutoff)
    print(
        f"purged {deleted} entries older than {args.older_than} "
        f"(written before {cutoff.isoformat(timespec='seconds')}) from {args.index}"
    )
    return EXIT_OK


def cmd_rollover(args: argparse.Namespace) -> int:
    from ..adapters.elasticsearch.retention import bootstrap_alias, rollover, rollover_conditions

    if args.bootstrap:
        if args.kind not in KINDS:
            raise ConfigurationError(
                "rollover --bootstrap creates the first index with the cache's mapping: say "
                "which with --kind llm or --kind embeddings"
            )
        with _retention_client(args, must_exist=False) as client:
            first = bootstrap_alias(client, args.index, args.kind)
        print(f"created {first} behind alias {args.index} (its write index)")
        return EXIT_OK
    max_age = None
    if args.max_age is not None:
        max_age = timedelta(seconds=int(parse_duration(args.max_age).total_seconds()))
    rollover_conditions(max_age, args.max_docs, args.max_size)  # checked before connecting
    with _retention_client(args) as client:
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
    with _open_target(args, must_exist=True) as target:
        deleted = target.clear()
    print(f"cleared {deleted} entries from {args.index}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    with _open_target(args, must_exist=True) as target:
        # behind an alias over several indices the older copies are not exported
        total = target.count() if len(target.indices()) == 1 else None
        progress = _progress(args, "exported", total)
        to_stdout = args.output in (None, "-")
        out = _utf8_stdout() if to_stdout else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
        try:
            for line in target.export_lines(page_size=args.page_size, on_page=progress.advance):
                out.write(line)
                out.write("\n")
            out.flush()
        finally:
            if to_stdout:
                out.detach()  # keep sys.stdout open
            else:
                out.close()
        progress.finish()
    skipped = (
        f", skipped {target.unreadable} unreadable documents (misses for the cache too)"
        if target.unreadable
        else ""
    )
    print(f"exported {progress.done} entries from {args.index}{skipped}", file=sys.stderr)
    return EXIT_OK


def _a_cache(kind: str) -> str:
    return f"{'a' if kind == 'semantic' else 'an'} {kind} cache"  # "an llm", "a semantic"


def cmd_import(args: argparse.Namespace) -> int:
    from_stdin = args.input in (None, "-")
    if from_stdin and sys.stdin.isatty():
        print("reading export lines from the terminal; end with Ctrl-D", file=sys.stderr)
    source = _utf8_stdin() if from_stdin else open(args.input, encoding="utf-8")  # noqa: SIM115
    try:
        declared, lines = _peek_kind(iter(source))
        with _open_target(args, must_exist=False, kind_if_new=declared) as target:
            if args.kind == "auto" and declared is not None and declared != target.kind:
                raise ConfigurationError(
                    f"the input holds {declared} entries but {args.index!r} is "
                    f"{_a_cache(target.kind)}: import into another index (a new index is "
                    "created with the entries' kind)"
                )
            progress = _progress(args, "imported", None)
            result = target.import_lines(
                lines, batch_size=args.batch_size, on_batch=progress.advance
            )
            progress.finish()
    finally:
        if from_stdin:
            source.detach()  # keep sys.stdin open
        else:
            source.close()
    message = f"imported {result.imported} entries into {args.index}"
    if result.skipped:
        where = ", ".join(str(number) for number in result.first_skipped)
        more = ", ..." if result.skipped > len(result.first_skipped) else ""
        print(
            f"{message}; skipped {result.skipped} lines that are not {target.kind} export "
            f"lines (lines {where}{more})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(message, file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------- parser


def _index_command(sub: Any, name: str, help_text: str, func: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
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


def _progress_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action="store_true",
        help="progress lines on stderr (default: only when stderr is a terminal)",
    )
    parser.add_argument(
        "--progress-every",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="at most one progress line per this many seconds (default 2)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="langchain-elasticsearch-cache",
        description="Inspect and operate a LangChain cache stored in Elasticsearch.",
        epilog="exit codes: 0 ok, 1 failed, 2 usage or configuration error, "
        "3 cannot connect or authenticate, 4 index not found, 130 interrupted",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log more, and show tracebacks"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="show a fake chat model answered from the cache",
        description="A fake chat model answered through the cache: misses, then hits. "
        "In memory, or in Elasticsearch when ES_URL / --es-url is given.",
    )
    _add_connection_flags(demo)
    demo.add_argument("--index", default="langchain-cache-demo", help="index or alias name")
    demo.add_argument("--keep", action="store_true", help="keep the demo entries")
    demo.add_argument(
        "--semantic",
        action="store_true",
        help="the semantic cache: a paraphrase answered from the cache (needs the "
        "[semantic] extra: a small embedding model that runs offline)",
    )
    demo.set_defaults(func=cmd_demo)

    stats = _index_command(
        sub,
        "stats",
        "document count, size, oldest/newest, entries per model (and vector dims)",
        cmd_stats,
    )
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument("--no-models", action="store_true", help="skip the per-model scan")

    purge = _index_command(sub, "purge", "delete entries older than a duration", cmd_purge)
    purge.add_argument("--older-than", required=True, help="e.g. 7d, 12h, 30m, 2w, 90s")
    purge.add_argument(
        "--by-index",
        action="store_true",
        help="drop whole indices behind the alias whose newest entry is older than "
        "--older-than (never the write index), instead of deleting entries one by one",
    )
    purge.add_argument("--dry-run", action="store_true", help="with --by-index: only list")

    roll = _index_command(
        sub,
        "rollover",
        "start a new index behind the cache's alias when a condition is met",
        cmd_rollover,
    )
    roll.add_argument("--max-age", help="age of the write index, e.g. 1d, 12h")
    roll.add_argument("--max-docs", type=_positive_int, help="documents in the write index")
    roll.add_argument("--max-size", help="primary size of the write index, e.g. 50gb")
    roll.add_argument("--dry-run", action="store_true", help="report the conditions only")
    roll.add_argument(
        "--bootstrap",
        action="store_true",
        help="create INDEX-000001 behind the alias INDEX (with --kind llm|embeddings)",
    )

    clear = _index_command(sub, "clear", "delete every entry", cmd_clear)
    clear.add_argument("--yes", action="store_true", help="confirm")

    export = _index_command(sub, "export", "write every entry as JSON Lines", cmd_export)
    export.add_argument("-o", "--output", help="file (default: standard output)")
    export.add_argument("--page-size", type=_positive_int, default=1000)
    _progress_flags(export)

    imp = _index_command(sub, "import", "read JSON Lines written by export", cmd_import)
    imp.add_argument("-i", "--input", help="file (default: standard input)")
    imp.add_argument("--batch-size", type=_positive_int, default=500)
    _progress_flags(imp)

    add_calibrate_command(sub)
    return parser


# --------------------------------------------------------------------------- main


class _FewOfEach(logging.Filter):
    """Let through the first ``limit`` records of each message template, then one notice:
    a file of a million corrupt lines must not print a million warnings."""

    def __init__(self, limit: int = 10) -> None:
        super().__init__()
        self.limit = limit
        self.seen: Counter[tuple[str, object]] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        template = (record.name, record.msg)
        self.seen[template] += 1
        seen = self.seen[template]
        if seen == self.limit + 1:
            record.msg = f"{record.msg} [further warnings like this one are not shown]"
        return seen <= self.limit + 1


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if not verbose:
        handler.addFilter(_FewOfEach())
    handler.setFormatter(
        logging.Formatter(
            "%(levelname)s %(name)s: %(message)s" if verbose else "warning: %(message)s"
        )
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # the client logs every retry and dead node; the error message says what matters
    for noisy in ("elastic_transport", "elasticsearch"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)


def _one_line(exc: BaseException, secrets: Sequence[str]) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return f"error: {text}"


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, IndexNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, ConfigurationError):
        return EXIT_USAGE
    if isinstance(exc, (BackendUnavailableError, AuthenticationError)):
        return EXIT_UNAVAILABLE
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_glue_verbatim_values(sys.argv[1:] if argv is None else argv))
    _configure_logging(args.verbose)
    secrets = [str(getattr(args, name)) for name in _SECRET_FLAGS if getattr(args, name, None)]
    try:
        code: int = args.func(args)
    except (CacheError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):
            return _broken_pipe()
        if args.verbose:
            logger.exception("%s failed", args.command)
        print(_one_line(exc, secrets), file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, OSError) else _exit_code(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


def _broken_pipe() -> int:
    """The reader went away (``export | head``): stop quietly, without Python's own
    "Exception ignored ... BrokenPipeError" when stdout is flushed at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
