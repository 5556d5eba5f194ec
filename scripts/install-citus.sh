#!/usr/bin/env bash
# PostgreSQL 15 + Citus 13.2.2 for test/citus/ (a coordinator and two workers on this machine).
# Idempotent and never fatal: when Citus cannot be installed here, the Citus tests say why
# (they fail under CI=true, and are skipped with a one-line note otherwise).
set -uo pipefail
cd "$(dirname "$0")/.."

bin=/usr/lib/postgresql/15/bin
# The extension is built against 15.20: an older minor release (preinstalled, e.g. with pgbouncer)
# fails to load it ("undefined symbol: have_createdb_privilege").
minimum=15.20
installed=$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || true)
if [ -n "$installed" ] && dpkg --compare-versions "$installed" lt "$minimum" && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --only-upgrade postgresql-15 >/dev/null) ||
    echo "citus: postgresql-15 $installed could not be upgraded to $minimum; the Citus tests will report it" >&2
fi
if [ -x "$bin/postgres" ] && [ -f /usr/lib/postgresql/15/lib/citus.so ]; then
  echo "citus: already installed ($("$bin/postgres" --version))"
  exit 0
fi
installer=../shared/citus/install.sh
if [ ! -f "$installer" ]; then
  echo "citus: $installer not found; the Citus tests will report it" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "citus: installing needs root (bash $installer); the Citus tests will report it" >&2
  exit 0
fi
bash "$installer" || echo "citus: $installer failed; the Citus tests will report it" >&2
