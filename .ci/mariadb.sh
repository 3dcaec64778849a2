#!/usr/bin/env bash
# Prints a MySQL DSN for the test suites. Uses the MariaDB answering on
# 127.0.0.1:3306 when there is one; otherwise installs mariadb-server from
# Debian's packages (needs root) and starts a throwaway server in a temporary
# data directory, stopped when the calling shell exits (see .ci/run).
set -euo pipefail

answers() { # host port
  if command -v mariadb >/dev/null 2>&1; then
    mariadb --protocol=tcp -h "$1" -P "$2" -uroot -e 'SELECT 1' >/dev/null 2>&1
  else
    (exec 3<>"/dev/tcp/$1/$2") >/dev/null 2>&1
  fi
}

if [ "${MARIADB_FORCE_LOCAL:-}" != 1 ] && answers 127.0.0.1 3306; then
  echo "root@tcp(127.0.0.1:3306)/"
  exit 0
fi

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  echo "installing mariadb-server…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >&2
fi
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
dir=$(mktemp -d /tmp/unionhall-mariadb.XXXXXX)
port=3306
if (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then port=3307; fi
mariadb-install-db --no-defaults --datadir="$dir/data" --user=root --auth-root-authentication-method=normal \
  --skip-test-db >"$dir/install.log" 2>&1
"$MARIADBD" --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
  --port="$port" --bind-address=127.0.0.1 --user=root --skip-log-bin --innodb-buffer-pool-size=512M \
  --max-connections=500 --innodb-flush-log-at-trx-commit=2 >"$dir/server.log" 2>&1 &
echo "$dir" >"${MARIADB_DIR_FILE:-/dev/null}"
for _ in $(seq 1 60); do
  if mariadb --protocol=tcp -h 127.0.0.1 -P "$port" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
    echo "root@tcp(127.0.0.1:$port)/"
    exit 0
  fi
  sleep 1
done
echo "MariaDB did not start; see $dir/server.log" >&2
tail -20 "$dir/server.log" >&2 || true
exit 1
