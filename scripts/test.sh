#!/usr/bin/env bash
# Install everything into .venv and run every check and the whole test suite, including
# the tests against a real Elasticsearch node (started here from Maven Central's
# integ-test zip unless ES_URL is set or a Docker engine answers).
set -euo pipefail
cd "$(dirname "$0")/.."
ES9_VERSION=9.2.0
. scripts/_venv.sh
ensure_venv "[test,dev]"

# The local Elasticsearch node is fetched with Maven and needs a JDK; install them when
# they are missing and we may (root on Debian), unless ES_URL points at a cluster.
if [ -z "${ES_URL:-}" ] && ! command -v mvn >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq maven default-jdk-headless >/dev/null
    else
        echo "warning: mvn not found; the Elasticsearch tests need Maven and a JDK 17+" >&2
    fi
fi

echo "== ruff"
lint_paths="src tests scripts"
[ -d benchmarks ] && lint_paths="$lint_paths benchmarks"
# shellcheck disable=SC2086
.venv/bin/ruff check $lint_paths
# shellcheck disable=SC2086
.venv/bin/ruff format --check $lint_paths
echo "== mypy --strict"
.venv/bin/mypy --strict src
echo "== import contracts"
.venv/bin/lint-imports
echo "== generated sync code is up to date"
.venv/bin/python scripts/run_unasync.py --check
echo "== pytest (Elasticsearch ${LECACHE_ES_VERSION:-8.19.7} unless ES_URL is set)"
.venv/bin/python -m pytest "$@"

# Elasticsearch 9 needs a JDK 21+. When one is present (and no ES_URL pins the cluster),
# the tests that talk to Elasticsearch run again against a 9.x node, same 8.x client.
if [ -z "${ES_URL:-}" ] && [ $# -eq 0 ] \
    && .venv/bin/python -m langchain_elasticsearch_cache.testing.node jdk --version "$ES9_VERSION" >/dev/null 2>&1; then
    echo "== pytest against Elasticsearch $ES9_VERSION (tests marked elasticsearch)"
    LECACHE_ES_VERSION="$ES9_VERSION" .venv/bin/python -m pytest -m elasticsearch
else
    echo "== no JDK 21+ (or ES_URL / arguments given): skipping the Elasticsearch $ES9_VERSION run"
fi
