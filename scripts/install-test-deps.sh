#!/usr/bin/env bash
# Installs everything the test suite and the benchmarks need, idempotently:
# Debian's MariaDB server/client and sysbench (only when missing), then the
# project itself with its test extras. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] || need_apt+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need_apt+=(mariadb-client)
command -v sysbench >/dev/null 2>&1 || need_apt+=(sysbench)
if ((${#need_apt[@]})); then
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # The package's own service must not start: tests run private servers. An existing policy is left as is.
  made_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  if [[ -n $made_policy ]]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
