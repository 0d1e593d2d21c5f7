"""Run the benchmarks: ``.venv/bin/python -m benchmarks.run [--quick | --scale-1m]``.

The node is ``--es-url`` or ``$ES_URL`` when given (used as it is; the run creates and
deletes only ``bench-<random>-*`` indices), otherwise a local node started here from
Maven Central (``LocalElasticsearchNode``, no Docker; ``--heap``, default 2g) and
stopped at the end.

Modes:

* default (full): every workload at the issue's sizes; several minutes on 2 cores.
* ``--quick``: tiny sizes, well under a minute on a running node; what the test suite runs.
* ``--scale-1m``: only the scale workload, 1k vs 1,000,000 entries (loading takes minutes).

Results: ``benchmarks/results/<name>.json`` and ``<name>.md`` (``--name``, default the
mode); ``--profile`` adds ``<name>-profile.txt`` (cProfile of this library's hot paths).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .environment import describe, load_average
from .report import build, write
from .scaffold import RESULTS_DIR, log, log_targets, node
from .workloads import WORKLOADS, Bench, Plan, WorkloadResult

__all__ = ["main", "run_benchmarks"]


def _quiet_langchain_warnings() -> None:
    """The seed's ``loads()`` warns (beta, pending deprecation) on every call."""
    with contextlib.suppress(ImportError):
        from langchain_core._api import LangChainBetaWarning

        warnings.filterwarnings("ignore", category=LangChainBetaWarning)
    with contextlib.suppress(ImportError):
        from langchain_core._api.deprecation import LangChainPendingDeprecationWarning

        warnings.filterwarnings("ignore", category=LangChainPendingDeprecationWarning)


def run_benchmarks(
    url: str,
    plan: Plan,
    *,
    name: str | None = None,
    out_dir: Path = RESULTS_DIR,
    profile: bool = False,
    node_source: str = "ES_URL",
) -> dict[str, Any]:
    """Run ``plan`` against the node at ``url``; write and return the result document."""
    name = name or plan.mode
    selected = plan.workloads or tuple(WORKLOADS)
    unknown = [w for w in selected if w not in WORKLOADS]
    if unknown:
        raise ValueError(f"unknown workloads {unknown}; choose from {sorted(WORKLOADS)}")
    started = time.perf_counter()
    results: list[WorkloadResult] = []
    profiles: list[str] = []
    bench = Bench(url, plan)
    with warnings.catch_warnings():
        try:
            environment = describe(bench.client, node_source)
            for workload in selected:
                log(f"== {workload}")
                # importing langchain_classic re-enables LangChain's warnings: quiet them again
                _quiet_langchain_warnings()
                produced = WORKLOADS[workload](bench)
                for result in produced if isinstance(produced, Iterator) else [produced]:
                    results.append(result)
                    log(f"   {result.title}: done ({time.perf_counter() - started:.0f} s)")
                    if profile and result.profile is not None:
                        text = result.profile()
                        profiles.append(f"== {result.title}\n{text}")
        finally:
            bench.close()
    environment["load_average_at_end"] = load_average()
    document = build(name, plan.mode, environment, results, time.perf_counter() - started)
    json_path, md_path = write(document, out_dir)
    if profiles:
        (out_dir / f"{name}-profile.txt").write_text("\n\n".join(profiles))
    log(f"wrote {json_path} and {md_path}")
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    mode.add_argument("--scale-1m", action="store_true", help="lookup at 1k vs 1M entries")
    parser.add_argument("--es-url", default=os.environ.get("ES_URL"), help="default: $ES_URL")
    parser.add_argument("--heap", default="2g", help="heap of a node started here")
    parser.add_argument("--name", default=None, help="result file name (default: the mode)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--only", default=None, help=f"comma-separated subset of: {','.join(WORKLOADS)}"
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile our hot paths")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        plan = Plan.quick()
    elif arguments.scale_1m:
        plan = Plan.scale_1m()
    else:
        plan = Plan.full()
    if arguments.only:
        plan = plan.with_workloads(part.strip() for part in arguments.only.split(","))
    with node(arguments.es_url, arguments.heap) as (url, source):
        document = run_benchmarks(
            url,
            plan,
            name=arguments.name,
            out_dir=arguments.out_dir,
            profile=arguments.profile,
            node_source=source,
        )
    log_targets(document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
