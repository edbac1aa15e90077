#!/usr/bin/env bash
# Property-based run of the JSON API against its own OpenAPI document: a demo server on a
# scratch SQLite file, an API token of the demo clerk, the document checked by
# openapi-spec-validator, then schemathesis (both from PyPI, in a venv under target/) with every
# check, for a bounded time. Fails on an invalid document, any 5xx, any response that
# contradicts the document, or an error in the server's log. Expects `target/debug/orderdesk`
# (built by `cargo test`).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=target/debug/orderdesk
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/st" ] || [ ! -x "$venv/bin/openapi-spec-validator" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5" "openapi-spec-validator==0.9.0"
fi

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

db="sqlite:$work/schemathesis.db"
"$bin" --database-url "$db" demo >/dev/null
token=$("$bin" --database-url "$db" api-token add clerk --label schemathesis | tail -n 1)
port=$((20000 + RANDOM % 10000))
"$bin" --database-url "$db" serve --bind "127.0.0.1:$port" --api-rate 0 >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

curl -fs "http://127.0.0.1:$port/api/v1/openapi.json" >"$work/openapi.json"
"$venv/bin/openapi-spec-validator" "$work/openapi.json"

status=0
"$venv/bin/st" --config-file .ci/schemathesis.toml run \
  "http://127.0.0.1:$port/api/v1/openapi.json" \
  -H "Authorization: Bearer $token" \
  --checks all --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" --max-time "${SCHEMATHESIS_SECONDS:-150}" \
  --seed "${SCHEMATHESIS_SEED:-20261129}" --generation-database none --no-color \
  --request-timeout 10 || status=$?
if grep -qE "panicked|ERROR" "$work/server.log"; then
  echo "schemathesis: the server logged errors:" >&2
  grep -E "panicked|ERROR" "$work/server.log" | head -20 >&2
  status=1
fi
exit "$status"
