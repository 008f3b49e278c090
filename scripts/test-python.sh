#!/usr/bin/env bash
# Runs the Python SDK's pytest suite (sdk/python) in its own virtualenv, created and filled from PyPI
# when missing or when sdk/python/pyproject.toml changed since it was filled.
set -euo pipefail
cd "$(dirname "$0")/../sdk/python"

venv=.venv
stamp="$venv/.installed-from"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -e '.[test]'
  echo "$want" > "$stamp"
fi
exec "$venv/bin/python" -m pytest -q tests
