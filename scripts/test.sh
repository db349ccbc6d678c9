#!/usr/bin/env bash
# Set up and run the whole test suite (the README's second command; .ci/run calls it too).
# - creates .venv and installs the package with its test extras;
# - installs the Debian packages the browser and database tests need (chromium, CJK fonts,
#   postgresql) when they are missing and we may (root with apt-get);
# - starts a PostgreSQL server on 127.0.0.1 for the database tests;
# - runs pytest; a run that collects no test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# pip's chatter goes to a log (shown when the install fails)
if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[test]"; } \
    > .venv/pip-install.log 2>&1; then
  tail -40 .venv/pip-install.log >&2
  exit 1
fi

need=()
for pkg in chromium fonts-noto-cjk postgresql; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing Debian packages (browser/database tests will be skipped outside CI): ${need[*]}" >&2
  fi
fi

if command -v pg_ctlcluster >/dev/null && [ "$(id -u)" = 0 ]; then
  RESYNERGY_TEST_PG_URL=$(bash .ci/pg_start.sh)
  export RESYNERGY_TEST_PG_URL
fi

mkdir -p test-artifacts
set +e
# two workers, one test file each at a time (module fixtures are not built twice), in the order
# tests/conftest.py gives the files (the long, slow ones first, so that no long file is left
# for the end while the other worker idles); the suite takes ~11 min this way on a 2-core
# machine against ~19 min in one process (2026-11-30).
# RESYNERGY_TEST_WORKERS=0 runs it in one process (e.g. to debug a test).
.venv/bin/python -m pytest -n "${RESYNERGY_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
