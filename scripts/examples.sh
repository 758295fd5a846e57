#!/usr/bin/env bash
# Builds and runs every example as a user would, and checks what each one does:
# quickstart, typed_models, custom_store (and its conformance tests), redis_cache
# (against the test Redis), and axum_sessions, started on a free port over a memory
# store and over Redis and driven with real HTTP requests. Needs the servers of
# scripts/servers.sh (its env sourced).
set -euo pipefail
cd "$(dirname "$0")/.."

run() { echo "[examples] $*" >&2; "$@"; }

run cargo run -q --example quickstart > /dev/null
run cargo run -q --example typed_models --features json > /dev/null
run cargo run -q --example custom_store > /dev/null
run cargo test -q --example custom_store --features testkit > /dev/null
KV_REDIS_URL="$KV_REDIS_URL" run cargo run -q --example redis_cache --features redis > /dev/null

cargo build -q -p kv-store-adapter-suite --example axum_sessions
server_bin=target/debug/examples/axum_sessions

# A free port: bind port 0 and read back what the kernel chose.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

fail() { echo "[examples] axum_sessions: $*" >&2; exit 1; }

sessions() { # store URL
  local url=$1 port pid id body code
  port=$(free_port)
  SESSION_STORE="$url" "$server_bin" "127.0.0.1:$port" > "target/axum_sessions.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' RETURN
  for _ in $(seq 1 100); do
    grep -q listening target/axum_sessions.log && break
    kill -0 "$pid" 2>/dev/null || fail "exited: $(cat target/axum_sessions.log)"
    sleep 0.1
  done
  local base="http://127.0.0.1:$port"
  echo "[examples] axum_sessions over $(sed -n 's/.*sessions in //p' target/axum_sessions.log)"
  id=$(curl -sf -XPOST "$base/login" -d 'ada') || fail "login failed"
  [ ${#id} -eq 32 ] || fail "login gave no session id: $id"
  body=$(curl -sf "$base/me" -H "authorization: Bearer $id") || fail "/me failed"
  [ "$body" = "ada (1 requests)" ] || fail "/me answered $body"
  body=$(curl -sf "$base/me" -H "authorization: Bearer $id")
  [ "$body" = "ada (2 requests)" ] || fail "/me answered $body the second time"
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base/me" -H "authorization: Bearer 0123456789abcdef0123456789abcdef")
  [ "$code" = 401 ] || fail "an unknown session got $code"
  code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$base/login" -d '')
  [ "$code" = 400 ] || fail "an empty login got $code"
  code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$base/logout" -H "authorization: Bearer $id")
  [ "$code" = 204 ] || fail "logout got $code"
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base/me" -H "authorization: Bearer $id")
  [ "$code" = 401 ] || fail "a closed session got $code"
}

sessions "memory://"
sessions "${KV_REDIS_URL%/}/?namespace=axum-$$"
echo "[examples] all examples ran"
