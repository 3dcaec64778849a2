#!/usr/bin/env bash
# Starts, on loopback, what the cluster suites need, and prints their
# settings as shell assignments (for eval):
#   TEST_GALERA_DSNS   three DSNs, one per node of a Galera cluster
#                      (state transfer by rsync)
#   TEST_GALERA_PIDS   the nodes' pids, in the same order (a test kills one)
#   TEST_PRIMARY_DSN   a primary with binary logging …
#   TEST_REPLICA_DSN   … and a replica of it (MariaDB replication)
#   TEST_REPLICA_PID   the replica's pid (a test stops it)
# Everything lives under one temporary directory, written to
# $CLUSTER_DIR_FILE, and is stopped by `.ci/cluster.sh stop DIR`.
# Needs mariadb-server and galera-4 (Debian's packages; installed when
# missing and root) and rsync.
set -euo pipefail

if [ "${1:-}" = stop ]; then
  for f in "$2"/*/mysqld.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  for f in "$2"/*/mysqld.pid; do
    for _ in $(seq 1 30); do [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.5; done
  done
  rm -rf "$2"
  exit 0
fi

need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server mariadb-client)
[ -e /usr/lib/galera/libgalera_smm.so ] || need+=(galera-4)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
GALERA=/usr/lib/galera/libgalera_smm.so

free_port() { # a port nothing listens on, from $1 up
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

root=$(mktemp -d /tmp/unionhall-cluster.XXXXXX)
echo "$root" >"${CLUSTER_DIR_FILE:-/dev/null}"
# The servers run as mysql (the package's user): a Galera joiner's rsync
# daemon started by root would drop to nobody and could not write the
# data directory.
runas=mysql
id "$runas" >/dev/null 2>&1 || runas=root
chmod 755 "$root"

# common are the settings every server here runs with: small, and durable
# enough for tests.
common=(--no-defaults --user="$runas" --bind-address=127.0.0.1 --innodb-buffer-pool-size=128M
  --max-connections=300 --innodb-flush-log-at-trx-commit=2 --skip-name-resolve)

init() { # dir
  mkdir -p "$1"
  chown "$runas" "$1"
  mariadb-install-db --no-defaults --datadir="$1/data" --user="$runas" --auth-root-authentication-method=normal \
    --skip-test-db >"$1/install.log" 2>&1
}

wait_sql() { # port dir
  for _ in $(seq 1 90); do
    if mariadb --protocol=tcp -h 127.0.0.1 -P "$1" -uroot -e 'SELECT 1' >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$(cat "$2/mysqld.pid" 2>/dev/null || echo 0)" 2>/dev/null && [ -f "$2/mysqld.pid" ]; then break; fi
    sleep 1
  done
  echo "the server in $2 did not start:" >&2
  tail -30 "$2/server.log" >&2 || true
  return 1
}

# --- Galera: three nodes --------------------------------------------------
gports=() sports=() dsns=() pids=()
base=$(free_port 4567)
for i in 1 2 3; do
  sports+=("$(free_port $((13400 + i * 10)))")
  gports+=($((base + (i - 1) * 10)))
done
addrs=$(printf '127.0.0.1:%s,' "${gports[@]}")
addrs=${addrs%,}
for i in 1 2 3; do
  d="$root/galera$i"
  init "$d"
  g=${gports[$((i - 1))]}
  args=("${common[@]}" --datadir="$d/data" --socket="$d/mysqld.sock" --pid-file="$d/mysqld.pid"
    --port="${sports[$((i - 1))]}" --binlog-format=ROW --innodb-autoinc-lock-mode=2
    --wsrep-on=ON --wsrep-provider="$GALERA" --wsrep-cluster-name=unionhall-ci
    --wsrep-node-name="node$i" --wsrep-node-address="127.0.0.1:$g"
    --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:$g;ist.recv_addr=127.0.0.1:$((g + 1));gcache.size=64M"
    --wsrep-sst-receive-address="127.0.0.1:$((g + 2))" --wsrep-sst-method=rsync
    --wsrep-slave-threads=2)
  if [ "$i" = 1 ]; then
    args+=(--wsrep-cluster-address=gcomm:// --wsrep-new-cluster)
  else
    args+=(--wsrep-cluster-address="gcomm://$addrs")
  fi
  "$MARIADBD" "${args[@]}" >"$d/server.log" 2>&1 &
  wait_sql "${sports[$((i - 1))]}" "$d"
  pids+=("$(cat "$d/mysqld.pid")")
  dsns+=("root@tcp(127.0.0.1:${sports[$((i - 1))]})/")
done
# The cluster is ready when every node says it is synced, in a cluster of 3.
for i in 0 1 2; do
  for _ in $(seq 1 60); do
    state=$(mariadb --protocol=tcp -h 127.0.0.1 -P "${sports[$i]}" -uroot -N -e \
      "SELECT GROUP_CONCAT(VARIABLE_VALUE ORDER BY VARIABLE_NAME) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('WSREP_CLUSTER_SIZE','WSREP_LOCAL_STATE_COMMENT')" 2>/dev/null || true)
    [ "$state" = "3,Synced" ] && break
    sleep 1
  done
  [ "$state" = "3,Synced" ] || { echo "galera node $((i + 1)) is '$state'" >&2; exit 1; }
done

# --- a primary and a replica ------------------------------------------------
pp=$(free_port 13500)
rp=$(free_port $((pp + 1)))
d="$root/primary"
init "$d"
"$MARIADBD" "${common[@]}" --datadir="$d/data" --socket="$d/mysqld.sock" --pid-file="$d/mysqld.pid" \
  --port="$pp" --server-id=1 --log-bin=mysql-bin --binlog-format=ROW >"$d/server.log" 2>&1 &
wait_sql "$pp" "$d"
d="$root/replica"
init "$d"
"$MARIADBD" "${common[@]}" --datadir="$d/data" --socket="$d/mysqld.sock" --pid-file="$d/mysqld.pid" \
  --port="$rp" --server-id=2 --read-only=ON >"$d/server.log" 2>&1 &
wait_sql "$rp" "$d"
mariadb --protocol=tcp -h 127.0.0.1 -P "$rp" -uroot -e \
  "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$pp, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos; START SLAVE;"
for _ in $(seq 1 30); do
  run=$(mariadb --protocol=tcp -h 127.0.0.1 -P "$rp" -uroot -e 'SHOW SLAVE STATUS\G' | awk '/Slave_(IO|SQL)_Running:/ {print $2}' | tr '\n' ,)
  [ "$run" = "Yes,Yes," ] && break
  sleep 1
done
[ "$run" = "Yes,Yes," ] || { echo "the replica does not replicate: $run" >&2; exit 1; }

echo "TEST_GALERA_DSNS='$(IFS=,; echo "${dsns[*]}")'"
echo "TEST_GALERA_PIDS='$(IFS=,; echo "${pids[*]}")'"
echo "TEST_PRIMARY_DSN='root@tcp(127.0.0.1:$pp)/'"
echo "TEST_REPLICA_DSN='root@tcp(127.0.0.1:$rp)/'"
echo "TEST_REPLICA_PID='$(cat "$root/replica/mysqld.pid")'"
