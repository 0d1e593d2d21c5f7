#!/usr/bin/env bash
# Install everything and run every check and the test matrix (README, "Tested versions"):
#
#   row 1  .venv          newest 8.x client, Elasticsearch 8.19.9: the whole suite
#   row 2  .venv-client9  newest 9.x client, Elasticsearch 9.2.8: every test marked
#                         elasticsearch, plus client 9 against an 8.19.9 node
#   row 3  .venv-lowest   the lowest versions pyproject allows, Elasticsearch 8.19.9:
#                         every test marked elasticsearch
#
# Each row pins its exact versions below and prints what it resolved. Nodes are started
# here from Maven Central's integ-test zip (unless ES_URL is set or a Docker engine
# answers). With arguments, or with ES_URL set, only row 1 runs (with those arguments).
set -euo pipefail
cd "$(dirname "$0")/.."
ES8_VERSION=8.19.9
ES9_VERSION=9.2.8
# row 1's pins are DEFAULT_PINS in scripts/_venv.sh (the demo and benchmarks use them too)
ROW2_PINS=(
    "elasticsearch[async]==9.5.1"
    "elastic-transport==9.4.2"
    "langchain-core==1.8.3"
    "attrs==26.1.0"
)
ROW3_PINS=(
    "elasticsearch[async]==8.13.0"
    "elastic-transport==8.13.0"
    "langchain-core==1.2.5"
    "attrs==23.1.0"
)
# wordllama (with numpy): the semantic tests' real embedding model and the semantic benchmark
# opentelemetry-sdk: tests/integration/test_telemetry_es.py reads the spans in memory
TEST_TOOLS=("pytest>=8" "pytest-asyncio>=0.24" "pytest-timeout>=2.3" "hypothesis>=6.100" "wordllama>=0.4"
    "opentelemetry-sdk>=1.20")
SHOWN=(elasticsearch elastic-transport langchain-core attrs aiohttp pytest)
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
lint_paths="src lecache_devtools tests scripts"
[ -d benchmarks ] && lint_paths="$lint_paths benchmarks"
# shellcheck disable=SC2086
.venv/bin/ruff check $lint_paths
# shellcheck disable=SC2086
.venv/bin/ruff format --check $lint_paths
echo "== mypy --strict"
.venv/bin/mypy --strict src lecache_devtools
echo "== import contracts"
.venv/bin/lint-imports
echo "== generated sync code is up to date"
.venv/bin/python scripts/run_unasync.py --check

echo "== row 1: the whole suite, Elasticsearch ${ES_URL:+at \$ES_URL}${ES_URL:-$ES8_VERSION}"
print_versions .venv "${SHOWN[@]}" langchain-elasticsearch
LECACHE_ES_VERSION="$ES8_VERSION" .venv/bin/python -m pytest "$@"

if [ -n "${ES_URL:-}" ] || [ $# -gt 0 ]; then
    echo "== rows 2 and 3 skipped: ES_URL or pytest arguments given (they start their own nodes)"
    exit 0
fi

# Tests that cannot run in a row, each with the reason, passed to pytest explicitly.
# langchain-elasticsearch 1.0.0 (the seed) requires elasticsearch>=8.19,<9; langchain-tests
# and langchain-classic require langchain-core>=1.4.
SEED_TESTS=(
    --ignore=tests/integration/test_interop_seed.py
    --ignore=tests/integration/test_alias_langchain.py
    --ignore=tests/integration/test_benchmark_smoke.py
    --deselect=tests/integration/test_es_adapter.py::test_mappings_are_the_seeds
    --deselect=tests/integration/test_foreign_index_es.py::test_seed_and_old_version_indices_keep_working
    --deselect=tests/integration/test_foreign_index_es.py::test_the_seeds_dynamic_mapping_is_recognised
)
SEED_REASON="the seed langchain-elasticsearch==1.0.0 needs elasticsearch>=8.19,<9"

echo "== row 2: client 9 against Elasticsearch $ES9_VERSION (tests marked elasticsearch) and against $ES8_VERSION (tests marked client9_against_es8)"
ensure_venv "" .venv-client9 "${ROW2_PINS[@]}" "${TEST_TOOLS[@]}" \
    "langchain-tests>=1.0" "langchain-classic>=1.0"
print_versions .venv-client9 "${SHOWN[@]}"
echo "   not run here (${SEED_REASON}): ${SEED_TESTS[*]}"
LECACHE_ES_VERSION="$ES9_VERSION" .venv-client9/bin/python -m pytest tests/integration \
    -m "elasticsearch or client9_against_es8" "${SEED_TESTS[@]}"

echo "== row 3: the lowest versions pyproject allows, Elasticsearch $ES8_VERSION (tests marked elasticsearch)"
ensure_venv "" .venv-lowest "${ROW3_PINS[@]}" "${TEST_TOOLS[@]}"
print_versions .venv-lowest "${SHOWN[@]}"
echo "   not run here (${SEED_REASON}): ${SEED_TESTS[*]}"
# langchain-tests and langchain-classic (CacheBackedEmbeddings) need langchain-core>=1.4
CLASSIC_TESTS=(
    --ignore=tests/integration/test_es_langchain.py
    --ignore=tests/integration/test_es_semantic_standard_suites.py
    --ignore=tests/integration/test_index_check_es.py
    --ignore=tests/integration/test_refused_entries_es.py
    --ignore=tests/integration/test_readme_es.py
)
echo "   not run here (langchain-tests and langchain-classic need langchain-core>=1.4):" \
    "${CLASSIC_TESTS[*]}"
LECACHE_ES_VERSION="$ES8_VERSION" .venv-lowest/bin/python -m pytest tests/integration \
    -m "elasticsearch" "${SEED_TESTS[@]}" "${CLASSIC_TESTS[@]}"
