"""The command line of :mod:`lecache_devtools`: a throw-away Elasticsearch node by hand.

Run from the repository root (``lecache_devtools`` is not part of the installed package)::

    python -m lecache_devtools --version 8.19.9            # start (the default command)
    python -m lecache_devtools start --secure              # HTTPS + authentication
    python -m lecache_devtools fetch --version 9.2.8       # download and unpack only
    python -m lecache_devtools jdk --version 9.2.8         # the JDK that would run it

``start`` prints the node's URL on the first line of stdout (with ``--secure``, then the CA
file and the ``elastic`` password) and keeps the node running until Ctrl-C or SIGTERM, then
stops it and removes its data. ``fetch`` prints the install path, ``jdk`` the JDK's home.
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

__all__ = ["COMMANDS", "main", "parse_arguments"]

COMMANDS = ("start", "fetch", "jdk")
"""The sub-commands; ``start`` runs when the command line names none of them."""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lecache_devtools",
        description="Run a throw-away Elasticsearch node from Maven Central, without Docker.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--version", default=os.environ.get("LECACHE_ES_VERSION", DEFAULT_VERSION))
        sub.add_argument(
            "--cache-dir", default=None, help="default: see lecache_devtools/distribution.py"
        )
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


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """The parsed command line; ``start`` when its first argument names no command.

    So ``python -m lecache_devtools --version 8.19.9`` starts a node, as does
    ``python -m lecache_devtools start --version 8.19.9``; ``-h`` alone still shows the help.
    """
    arguments = list(argv)
    if not arguments or arguments[0] not in (*COMMANDS, "-h", "--help"):
        arguments.insert(0, "start")
    return _build_parser().parse_args(arguments)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m lecache_devtools``."""
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
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


if __name__ == "__main__":
    sys.exit(main())
