#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages where its server binaries are missing (the durable-action tests start
# a throwaway server from them: scripts/postgres.sh). Does nothing when initdb and pg_ctl are found. Run by
# `npm run setup:postgres` and by .ci/run.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || command -v pg_ctl >/dev/null 2>&1; then
  echo "postgresql ready: $(compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" | tail -1 || command -v pg_ctl)"
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" postgresql
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
# Debian starts a system cluster on install; the tests use their own, so stop it where a service manager runs.
$sudo pg_ctlcluster --help >/dev/null 2>&1 && $sudo sh -c 'for c in $(pg_lsclusters -h | awk "{print \$1\"/\"\$2}"); do pg_ctlcluster ${c%/*} ${c#*/} stop || true; done' || true
echo "postgresql ready"
