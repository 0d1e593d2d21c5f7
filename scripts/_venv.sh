# Sourced by the scripts: create a virtualenv once and install the project into it.
# Usage: ensure_venv EXTRAS [VENV_DIR [REQUIREMENT...]]
#   ensure_venv "[test,dev]"                      -> .venv with the row-1 pins below
#   ensure_venv "" .venv-client9 "elasticsearch[async]==9.5.1" ...
# The requirements pin the versions a row of the test matrix uses (README, "Tested
# versions"); pip refuses a pin that contradicts pyproject's bounds, so a pin outside
# them fails loudly here instead of testing an unsupported combination.

# Row 1 of the matrix (and what the demo and the benchmarks use): the newest 8.x client,
# which talks to Elasticsearch 8.x and 9.x servers alike.
DEFAULT_PINS=(
    "elasticsearch[async]==8.19.3"
    "elastic-transport==8.19.0"
    "langchain-core==1.8.3"
    "attrs==26.1.0"
)

ensure_venv() {
    local extras="$1"
    local venv="${2:-.venv}"
    local py="${PYTHON:-python3}"
    local pins
    if [ $# -gt 2 ]; then
        pins=("${@:3}")
    else
        pins=("${DEFAULT_PINS[@]}")
    fi
    if [ ! -x "$venv/bin/python" ]; then
        "$py" -m venv "$venv"
        "$venv/bin/python" -m pip install -q --upgrade pip
    fi
    "$venv/bin/python" -m pip install -q -e ".${extras}" "${pins[@]}"
}

# Print the versions a virtualenv resolved, one "name==version" per line.
print_versions() {
    "$1/bin/python" - "${@:2}" <<'PY'
import sys
from importlib import metadata

for name in sys.argv[1:]:
    try:
        print(f"   {name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        print(f"   {name}: not installed")
PY
}
