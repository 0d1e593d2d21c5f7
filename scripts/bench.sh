#!/usr/bin/env bash
# Install everything into .venv (as scripts/test.sh does) and run the benchmarks:
# this library vs langchain-elasticsearch 1.0.0 vs the raw client. Arguments go to
# benchmarks.run (--quick, --scale-1m, --profile, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv "[test,dev]"
exec .venv/bin/python -m benchmarks.run "$@"
