"""Where the commands find Elasticsearch: the connection flags (defaults from ``ES_URL``,
``ES_CLOUD_ID``, ``ES_API_KEY``, ``ES_USER``, ``ES_PASSWORD``, ``ES_CA_CERTS``), how they
become the keywords of the cache classes or of the client, and the common arguments of
every index command (the index, ``--kind``, the connection).

Secrets given as flags are never printed: :data:`SECRET_FLAGS` names them for the error
line, which masks them.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Any

from ...domain.errors import ConfigurationError
from ..operations import KINDS, IndexTarget
from .values import parse_timeout

__all__ = [
    "SECRET_FLAGS",
    "VERBATIM_VALUE_FLAGS",
    "add_connection_flags",
    "add_index_command",
    "cache_connection",
    "client_connection",
    "glue_verbatim_values",
    "has_connection",
    "open_target",
    "require_connection",
    "split_hosts",
]

#: The ``argparse`` destinations whose values are secrets (masked in error lines).
SECRET_FLAGS = ("es_api_key", "es_password")

#: Flags whose value may legitimately begin with "-" (a generated password, a base64url API
#: key): argparse would take such a value for an option and stop with "expected one
#: argument", so the word after these flags is always their value.
VERBATIM_VALUE_FLAGS = frozenset({"--es-password", "--es-api-key", "--es-user"})


def glue_verbatim_values(argv: Sequence[str]) -> list[str]:
    """``--es-password -x1`` -> ``--es-password=-x1``; everything else unchanged."""
    glued: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--":
            glued.append(word)
            glued.extend(words)
            break
        if word in VERBATIM_VALUE_FLAGS:
            value = next(words, None)
            glued.append(word if value is None else f"{word}={value}")
        else:
            glued.append(word)
    return glued


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """``--es-url``, ``--es-cloud-id``, ``--es-api-key``, ``--es-user``, ``--es-password``,
    ``--ca-certs`` (defaults from the environment) and ``--timeout``."""
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
        default=None,
        metavar="SECONDS",
        help="per-request timeout, a number of seconds more than 0 (default: the client's, 10 s)",
    )


def has_connection(args: argparse.Namespace) -> bool:
    """Whether the flags or the environment name an Elasticsearch."""
    return bool(args.es_url or args.es_cloud_id)


def require_connection(args: argparse.Namespace) -> None:
    """A ``ConfigurationError`` saying how to name an Elasticsearch when none is given."""
    if not has_connection(args):
        raise ConfigurationError(
            "no Elasticsearch given: pass --es-url URL (or --es-cloud-id) or set ES_URL"
        )


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


def cache_connection(args: argparse.Namespace) -> dict[str, Any]:
    """Connection keywords of the cache classes (``es_url=`` ...)."""
    return {
        "es_url": split_hosts(args.es_url),
        "es_cloud_id": args.es_cloud_id,
        "es_api_key": args.es_api_key,
        "es_user": args.es_user,
        "es_password": args.es_password,
        "ca_certs": args.ca_certs,
        "request_timeout": parse_timeout(args.timeout),
    }


def client_connection(args: argparse.Namespace) -> dict[str, Any]:
    """Connection keywords of ``create_elasticsearch_client`` (``url=`` ...)."""
    return {
        "url": split_hosts(args.es_url),
        "cloud_id": args.es_cloud_id,
        "api_key": args.es_api_key,
        "username": args.es_user,
        "password": args.es_password,
        "ca_certs": args.ca_certs,
        "request_timeout": parse_timeout(args.timeout),
    }


def open_target(
    args: argparse.Namespace, *, must_exist: bool, kind_if_new: str | None = None
) -> IndexTarget:
    """The index (or alias) ``args.index`` of the kind ``args.kind``, connected."""
    require_connection(args)
    return IndexTarget.connect(
        args.index,
        kind=args.kind,
        must_exist=must_exist,
        kind_if_new=kind_if_new,
        **client_connection(args),
    )


def add_index_command(
    sub: Any, name: str, help_text: str, func: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """Register the command ``name`` on the subparsers ``sub``, with the arguments every
    index command takes: the index, ``--kind`` and the connection flags."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("index", help="index or alias name")
    parser.add_argument(
        "--kind",
        choices=(*KINDS, "auto"),
        default="auto",
        help="what the index caches (default: read it from the mapping)",
    )
    add_connection_flags(parser)
    parser.set_defaults(func=func)
    return parser
