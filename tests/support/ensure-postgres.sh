#!/usr/bin/env bash
# Makes sure PostgreSQL's server binaries are on this machine, for the test suite's throw-away
# cluster (tests/support/postgres.py starts it on loopback and stops it). Installs Debian's
# `postgresql` package when they are missing; the package's own cluster is not started.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
  exit 0
fi
if [ "${OPTOUT_TEST_POSTGRES:-}" = "skip" ]; then
  echo "PostgreSQL missing; OPTOUT_TEST_POSTGRES=skip: its tests will be skipped" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "PostgreSQL is not installed and cannot be installed here (needs root and apt-get):" >&2
  echo "install Debian's 'postgresql' package, or set OPTOUT_TEST_POSTGRES=skip" >&2
  exit 1
fi
echo "installing PostgreSQL from Debian's packages (once)..." >&2
# Keep the package from starting its default cluster: the tests start their own.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
trap 'if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
