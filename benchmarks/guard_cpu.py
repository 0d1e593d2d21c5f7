"""The default hit guard's CPU per (query, candidate) pair: ``python -m benchmarks.guard_cpu``.

The pairs are the meaning texts of the shipped evaluation sets (main and held-out, 780
pairs); "accepted" are those the guard lets through, every rule asked (a hit's path). Each
pair is timed with :func:`time.process_time` (CPU of this process, not wall time) in three
states of the per-text caches of the guard (issue 19):

* ``cold``: neither text seen before (the caches are cleared before each pair);
* ``candidate seen``: the candidate's text analysed before, the query's not (a cache's
  steady state: the stored entry's text comes back lookup after lookup, the query is new);
* ``both seen``: the same pair asked again.

A round times every pair once; the figure is the median over rounds of the mean µs per
pair. ``--baseline REV`` measures the library at git revision ``REV`` too (its ``src``
extracted to a temporary folder), each version in its own process, the two interleaved
``--repeats`` times so that the machine's load falls on both alike, and prints the ratio
of the medians. A guard without caches (the baseline) is timed the same way: in its every
state the texts are analysed afresh.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import langchain_elasticsearch_cache
from langchain_elasticsearch_cache.domain.semantic import default_hit_guard, split_prompt
from langchain_elasticsearch_cache.domain.semantic.guards import words as guard_words
from langchain_elasticsearch_cache.evaluation import builtin_pairs, holdout_pairs

STATES = ("cold", "candidate seen", "both seen")
Pair = tuple[str, str]


def evaluation_pairs() -> list[Pair]:
    """The meaning texts of the shipped evaluation sets' pairs."""
    return [
        (split_prompt(pair.a).meaning, split_prompt(pair.b).meaning)
        for pair in [*builtin_pairs(), *holdout_pairs()]
    ]


def _clear() -> Callable[[], None]:
    clear: Callable[[], None] | None = getattr(guard_words, "clear_text_caches", None)
    return clear if clear is not None else (lambda: None)


def time_round(pairs: Sequence[Pair], state: str) -> float:
    """Mean CPU µs of one guard call per pair, every pair once, in ``state``."""
    clear, guard, clock = _clear(), default_hit_guard, time.process_time
    total = 0.0
    for query, candidate in pairs:
        clear()
        if state == "candidate seen":
            guard(candidate, candidate)
        elif state == "both seen":
            guard(query, candidate)
        start = clock()
        guard(query, candidate)
        total += clock() - start
    clear()
    return total / len(pairs) * 1e6


def measure(rounds: int) -> dict[str, float]:
    """Median µs per pair for each pair set and cache state, in this process."""
    everything = evaluation_pairs()
    sets = {"all": everything, "accepted": [p for p in everything if default_hit_guard(*p)]}
    figures: dict[str, float] = {}
    for name, pairs in sets.items():
        for state in STATES:
            figures[f"{name}, {state}"] = statistics.median(
                time_round(pairs, state) for _ in range(rounds)
            )
    figures["pairs: all"], figures["pairs: accepted"] = len(everything), len(sets["accepted"])
    return figures


def _extract(revision: str, into: Path) -> Path:
    root = Path(__file__).resolve().parent.parent
    archive = into / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(
            ["git", "archive", revision, "src/langchain_elasticsearch_cache"],
            cwd=root,
            stdout=out,
            check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _run(rounds: int, source: Path | None) -> dict[str, float]:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "benchmarks.guard_cpu", "--json", "--rounds", str(rounds)]
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=True)
    output = json.loads(done.stdout)
    expected = source if source is not None else Path(langchain_elasticsearch_cache.__file__)
    if source is not None and not output["library"].startswith(str(source)):
        raise RuntimeError(f"the baseline run loaded {output['library']}, not {expected}")
    figures: dict[str, float] = output["figures"]
    return figures


def compare(revision: str, rounds: int, repeats: int) -> str:
    """The table of baseline and current medians, interleaved runs, and their ratios."""
    with tempfile.TemporaryDirectory() as folder:
        source = _extract(revision, Path(folder))
        runs: dict[str, list[dict[str, float]]] = {"baseline": [], "current": []}
        for _ in range(repeats):
            runs["baseline"].append(_run(rounds, source))
            runs["current"].append(_run(rounds, None))
    lines = [
        f"default hit guard, CPU µs per pair: {revision} against the working tree "
        f"({repeats} interleaved runs of {rounds} rounds each, medians)",
        "",
        "| pairs, cache state | baseline µs | current µs | current / baseline |",
        "|---|---:|---:|---:|",
    ]
    for key in runs["current"][0]:
        if key.startswith("pairs:"):
            continue
        before = statistics.median(run[key] for run in runs["baseline"])
        after = statistics.median(run[key] for run in runs["current"])
        lines.append(f"| {key} | {before:.1f} | {after:.1f} | {after / before:.2f} |")
    counts = runs["current"][0]
    lines.append("")
    lines.append(f"pairs: {counts['pairs: all']:.0f}, accepted: {counts['pairs: accepted']:.0f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print µs per pair (``--baseline REV``: against that revision, as ratios)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.guard_cpu", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="rounds per process")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs per version")
    parser.add_argument("--baseline", metavar="REV", help="git revision to compare against")
    parser.add_argument("--json", action="store_true", help="print this process's figures")
    args = parser.parse_args(argv)
    if args.baseline:
        print(compare(args.baseline, args.rounds, args.repeats))
        return 0
    figures = measure(args.rounds)
    if args.json:
        print(json.dumps({"figures": figures, "library": langchain_elasticsearch_cache.__file__}))
        return 0
    for key, value in figures.items():
        print(f"{key}: {value:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
