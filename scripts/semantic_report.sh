#!/usr/bin/env bash
# The semantic cache's quality report: benchmarks/SEMANTIC.md, benchmarks/results/semantic.json
# and the PNGs under benchmarks/results/. Offline except for building the scratch GPTCache
# environment once (.venv-gptcache: gptcache, the sqlalchemy and faiss-cpu it imports,
# wordllama). GPTCACHE_PYTHON=/path/to/python uses another one; GPTCACHE_PYTHON= (empty)
# skips GPTCache. Arguments go to benchmarks.semantic_report (--quick, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv "[test,dev]"
if [ -z "${GPTCACHE_PYTHON+set}" ]; then
    if [ ! -x .venv-gptcache/bin/python ]; then
        python3 -m venv .venv-gptcache
        .venv-gptcache/bin/pip install --quiet gptcache sqlalchemy faiss-cpu wordllama
    fi
    GPTCACHE_PYTHON=.venv-gptcache/bin/python
fi
exec .venv/bin/python -m benchmarks.semantic_report ${GPTCACHE_PYTHON:+--gptcache-python "$GPTCACHE_PYTHON"} "$@"
