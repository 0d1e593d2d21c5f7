"""The command line of :mod:`.node`: ``python -m langchain_elasticsearch_cache.testing.node``.

``start`` runs a node until Ctrl-C or SIGTERM, ``fetch`` only downloads and unpacks a
version, ``jdk`` prints the JDK that would run it (see :mod:`.node` for examples).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .distribution import fetch_distribution
from .errors import NodeError
from .jdk import jdk_for_version
from .node import DEFAULT_VERSION, LocalElasticsearchNode

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m langchain_elasticsearch_cache.testing.node",
        description="Run a throw-away Elasticsearch node from Maven Central, without Docker.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--version", default=os.environ.get("LECACHE_ES_VERSION", DEFAULT_VERSION))
        sub.add_argument("--cache-dir", default=None, help="default: see the module docstring")
        sub.add_argument("--java-home", default=None, help="default: newest supported JDK")

    start = commands.add_parser("start", help="start a node, print its URL, run until signalled")
    common(start)
    start.add_argument("--heap", default="512m")
    start.add_argument(
        "--secure",
        action="store_true",
        help="HTTPS and authentication; prints the CA file and the elastic password too",
    )
    start.add_argument("--timeout", type=float, default=180.0)
    start.add_argument(
        "-E",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Elasticsearch setting (repeatable)",
    )
    common(commands.add_parser("fetch", help="download and unpack only; print the install path"))
    common(commands.add_parser("jdk", help="print the JDK that would run the version"))
    return parser


def _serve(arguments: argparse.Namespace) -> int:
    settings: dict[str, str] = {}
    for item in arguments.settings:
        key, separator, value = item.partition("=")
        if not separator:
            print(f"-E wants KEY=VALUE, not {item!r}", file=sys.stderr)
            return 2
        settings[key] = value
    node = LocalElasticsearchNode(
        arguments.version,
        heap=arguments.heap,
        java_home=arguments.java_home,
        cache_dir=arguments.cache_dir,
        settings=settings,
        secure=arguments.secure,
    )
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        url = node.start(timeout=arguments.timeout)
        print(url, flush=True)
        if node.secure:  # a throw-away test node: its credentials are meant to be used
            print(f"ca_certs={node.ca_certs}", flush=True)
            print(f"user={node.username} password={node.password}", flush=True)
        print(
            f"Elasticsearch {node.version} on Java at {node.java_home}, files in {node.base_dir}; "
            "Ctrl-C or SIGTERM stops it",
            file=sys.stderr,
            flush=True,
        )
        while not stop_requested.wait(1.0):
            if not node.is_running():
                print(f"the node died:\n{node.log_tail()}", file=sys.stderr)
                return 1
        return 0
    finally:
        node.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m langchain_elasticsearch_cache.testing.node``."""
    arguments = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        if arguments.command == "fetch":
            print(fetch_distribution(arguments.version, arguments.cache_dir))
            return 0
        if arguments.command == "jdk":
            print(jdk_for_version(arguments.version, arguments.java_home))
            return 0
        return _serve(arguments)
    except (NodeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
