#!/usr/bin/env bash
# uptake's two commands. Needs only python3 (3.11) on the machine; everything else is installed
# from the lock file into .venv by uv, which is itself installed into .tools/ on first use.
#   ./dev.sh demo   simulate an organisation, run every asset, print the report's path
#   ./dev.sh test   run the test suite (what CI runs)
#   ./dev.sh <cmd>  run any command inside the project's environment, e.g. ./dev.sh uptake --help
set -euo pipefail
cd "$(dirname "$0")"
UV_VERSION=0.13.8
PY=${UPTAKE_PYTHON:-python3}

bootstrap() {
  if [ ! -x .tools/bin/uv ]; then
    "$PY" -m venv .tools
    .tools/bin/python -m pip install --quiet "uv==${UV_VERSION}"
  fi
  export UV_PYTHON_DOWNLOADS=never
  # --compile-bytecode: the dependencies' .pyc files are written once here. Without them every process
  # compiles Dagster, Great Expectations, pandas... again where PYTHONDONTWRITEBYTECODE is set (about
  # 10 s of a demo run); a second sync only checks them (about 0.5 s).
  .tools/bin/uv sync --locked --quiet --python "$PY" --compile-bytecode
  .venv/bin/python -m compileall -q pipelines transforms quality >/dev/null
}

ensure_chromium() {
  # The browser test drives Debian's Chromium (PyPI playwright cannot download browsers here).
  if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium for the browser test..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

bootstrap
case "${1:-}" in
  demo)
    shift
    export DAGSTER_HOME="$PWD"   # dagster.yaml here keeps run history in .dagster_home/
    exec .venv/bin/uptake demo "$@"
    ;;
  test)
    shift
    ensure_chromium
    unset DAGSTER_HOME           # tests use ephemeral Dagster instances
    exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@"
    ;;
  "")
    echo "usage: ./dev.sh demo | test | <command>" >&2
    exit 2
    ;;
  *)
    exec .tools/bin/uv run --locked --python "$PY" "$@"
    ;;
esac
