# Sourced by the scripts: create .venv once and install the project into it.
# Usage: ensure_venv EXTRAS   (e.g. ensure_venv "" or ensure_venv "[test,dev]")
ensure_venv() {
    local extras="$1"
    local py="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        "$py" -m venv .venv
        .venv/bin/python -m pip install -q --upgrade pip
    fi
    # The test matrix uses the 8.x client: it talks to 8.x and 9.x servers.
    .venv/bin/python -m pip install -q -e ".${extras}" "elasticsearch[async]>=8.13,<9"
}
