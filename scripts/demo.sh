#!/usr/bin/env bash
# Install the library into .venv and run the demo: a fake chat model answered from the
# cache (misses, then hits). Uses Elasticsearch when ES_URL is set, else the in-memory cache.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv ""
exec .venv/bin/langchain-elasticsearch-cache demo "$@"
