#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (idempotent), then runs every
# test, including the ones that start MariaDB, moto's S3 server and SeaweedFS on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
python3 -m ruff check src tests scripts
python3 -m mypy
exec python3 -m pytest -q -p no:cacheprovider "$@"
