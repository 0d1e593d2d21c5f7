"""Side-by-side benchmarks: this library, langchain-elasticsearch (the seed), the raw client.

Run from the repository root::

    .venv/bin/python -m benchmarks.run            # full run (several minutes)
    .venv/bin/python -m benchmarks.run --quick    # small sizes, a smoke test
    .venv/bin/python -m benchmarks.run --scale-1m # lookup latency at 1k vs 1M entries

Each workload times its contenders in interleaved rounds (A B C A B C ...), so drift in
a shared machine's load hits every contender alike. Results go to
``benchmarks/results/<name>.json`` and ``<name>.md``. See ``benchmarks/RESULTS.md``.
"""
