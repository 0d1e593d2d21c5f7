#!/usr/bin/env bash
# Install the library into .venv and run the demo: a fake chat model answered from the
# cache (misses, then hits; then a new prompt streamed twice through CachedChatModel: a
# miss, then the hit replayed). Uses Elasticsearch when ES_URL is set, else in memory.
# `./scripts/demo.sh --semantic` shows the semantic cache with a small offline embedding model.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv "[semantic]"
exec .venv/bin/langchain-elasticsearch-cache demo "$@"
