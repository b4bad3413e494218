#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and benchmarks: `postgres.sh start <dir>` makes a cluster in <dir> (initdb, trust
# auth, 127.0.0.1 only, a free port), starts it and prints the port; `postgres.sh stop <dir>` stops it and deletes
# <dir>; `stop-server` / `start-server <dir>` stop and start it again on the same port, keeping its data (for
# outage tests). initdb refuses to run as root, so as root the cluster belongs to the postgres user (runuser).
set -euo pipefail
cmd="${1:?usage: postgres.sh start|stop <dir>}"
dir="${2:?usage: postgres.sh start|stop <dir>}"
bin="$(dirname "$(compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" | sort -V | tail -1 || command -v pg_ctl)")"
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; chmod 700 "$dir"; fi
    port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1
    echo "$port" >"$dir/port"
    "$0" start-server "$dir"
    echo "$port"
    ;;
  start-server)
    port="$(cat "$dir/port")"
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/data -c fsync=off -c max_connections=200" start >/dev/null
    ;;
  stop-server)
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
  stop)
    if [ -d "$dir/data" ]; then "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  *) echo "usage: postgres.sh start|stop|start-server|stop-server <dir>" >&2; exit 2 ;;
esac
