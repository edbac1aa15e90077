#!/usr/bin/env bash
# Benchmarks of orderdesk on this machine, with the physical baselines measured in the same run.
#
#   bash bench/run.sh            # full run (a million orders, a million audit events)
#   QUICK=1 bash bench/run.sh    # smaller counts, for trying the script out
#
# Starts PostgreSQL if it is down, makes a scratch database and a scratch SQLite file, starts
# 1 and then 3 orderdesk servers (3 on PostgreSQL only), runs every orderdesk-load scenario
# (the audit log's, with a million events, on one PostgreSQL server),
# then pgbench's TPC-B and a one-counter-row script at the same client count, and writes the
# table with each figure's ratio to its baseline into docs/BENCHMARKS.md. Only loopback is used.
set -euo pipefail
cd "$(dirname "$0")/.."

C=16
if [ -n "${QUICK:-}" ]; then
  ORDERS=1000; HOT=600; REPLAY=5000; STORM=200; PAGES=50000; PRODUCTS=20000; PAGE_REQ=30
  EVENTS=50000; AUDIT_REQ=50; SEARCH_REQ=300
else
  ORDERS=4000; HOT=2000; REPLAY=20000; STORM=1000; PAGES=1000000; PRODUCTS=100000; PAGE_REQ=200
  EVENTS=1000000; AUDIT_REQ=500; SEARCH_REQ=2000
fi

work=$(mktemp -d)
results="$work/results.md"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS orderdesk_bench WITH (FORCE)" >/dev/null 2>&1 || true
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS orderdesk_pgbench WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building (release)"
cargo build --release --locked --bins 2>&1 | tail -n 1
BIN=target/release/orderdesk
LOAD=target/release/orderdesk-load

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS orderdesk_bench WITH (FORCE)" -c "CREATE DATABASE orderdesk_bench"
PG=postgres://postgres@127.0.0.1:5432/orderdesk_bench
SQLITE="sqlite:$work/bench.db"
"$BIN" --database-url "$PG" migrate run >/dev/null

# start_servers URL N: N servers on ports 8301.. ; sets SERVERS (load-generator flags)
start_servers() {
  local url=$1 n=$2
  SERVERS=()
  for i in $(seq 1 "$n"); do
    local port=$((8300 + i))
    RUST_LOG=warn ORDERDESK_METRICS_TOKEN=bench "$BIN" --database-url "$url" serve --bind "127.0.0.1:$port" >"$work/server-$i.log" 2>&1 &
    pids+=($!)
    SERVERS+=(--server "http://127.0.0.1:$port")
    for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  done
}
# stop_servers: records each server's peak RSS, then stops them
stop_servers() {
  for p in "${pids[@]}"; do
    if [ -r "/proc/$p/status" ]; then
      awk -v label="$LABEL" '/VmHWM/ { printf "%s: peak RSS %d MB\n", label, $2 / 1024 }' "/proc/$p/status" >>"$work/rss.txt"
    fi
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
}
# phases: the mean time per phase of the confirmations the running servers committed so far,
# summed over the servers' /metrics (orderdesk_confirmation_phase_seconds), as a table row
phases() {
  for s in "${SERVERS[@]}"; do
    [ "$s" = --server ] || curl -fs -H "Authorization: Bearer bench" "$s/metrics"
  done | awk -v label="$LABEL" '
    /^orderdesk_confirmation_phase_seconds_sum/ { match($0, /phase="[a-z]+"/); p = substr($0, RSTART + 7, RLENGTH - 8); sum[p] += $2 }
    /^orderdesk_confirmation_phase_seconds_count/ { match($0, /phase="[a-z]+"/); p = substr($0, RSTART + 7, RLENGTH - 8); n[p] += $2 }
    END {
      split("connection claim lock write number render commit", order, " ")
      total = 0; for (i = 1; i <= 7; i++) if (n[order[i]] > 0) total += sum[order[i]] / n[order[i]]
      row = "| " label
      for (i = 1; i <= 7; i++) { p = order[i]; m = n[p] > 0 ? sum[p] / n[p] : 0; row = row sprintf(" | %.3f (%d%%)", m * 1000, total > 0 ? 100 * m / total : 0) }
      printf "%s | %.3f |\n", row, total * 1000
    }' >>"$work/phases.md"
}
run() { # run URL SCENARIO ARGS...
  local url=$1; shift
  echo "-- $LABEL: $*" >&2
  "$LOAD" "${SERVERS[@]}" --database-url "$url" --concurrency "$C" --products "$PRODUCTS" --label "$LABEL" "$@" | tee -a "$results"
}

: >"$results"
: >"$work/rss.txt"
: >"$work/phases.md"

LABEL="SQLite, 1 server"
start_servers "$SQLITE" 1
run "$SQLITE" confirm --orders "$ORDERS"
phases
run "$SQLITE" hot --orders "$HOT"
run "$SQLITE" healthz --requests "$REPLAY"
run "$SQLITE" replay --requests "$REPLAY"
run "$SQLITE" big --orders 5 --lines 500
run "$SQLITE" search --requests "$SEARCH_REQ"
stop_servers

LABEL="PostgreSQL, 1 server"
start_servers "$PG" 1
run "$PG" confirm --orders "$ORDERS"
phases
run "$PG" hot --orders "$HOT"
run "$PG" healthz --requests "$REPLAY"
run "$PG" replay --requests "$REPLAY"
run "$PG" big --orders 5 --lines 500
run "$PG" search --requests "$SEARCH_REQ"
stop_servers

LABEL="PostgreSQL, 3 servers"
start_servers "$PG" 3
run "$PG" confirm --orders "$ORDERS"
phases
for k in 2 8 32; do run "$PG" storm --orders "$STORM" --k "$k"; done
run "$PG" pages --orders "$PAGES" --requests "$PAGE_REQ"
stop_servers

# The audit log's target is set for one server.
LABEL="PostgreSQL, 1 server, audit log"
start_servers "$PG" 1
run "$PG" audit --events "$EVENTS" --requests "$AUDIT_REQ"
stop_servers

echo "== pgbench baselines at $C clients"
psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS orderdesk_pgbench WITH (FORCE)" -c "CREATE DATABASE orderdesk_pgbench"
pgbench -h 127.0.0.1 -U postgres -i -q -s "$C" orderdesk_pgbench >/dev/null 2>&1
TPCB=$(pgbench -h 127.0.0.1 -U postgres -n -c "$C" -j 2 -T 15 orderdesk_pgbench 2>/dev/null | awk '/^tps/ { print $3 }')
psql -h 127.0.0.1 -U postgres -d orderdesk_pgbench -qc "CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL); INSERT INTO counter VALUES (1, 0)"
echo "UPDATE counter SET n = n + 1 WHERE id = 1;" >"$work/counter.sql"
COUNTER=$(pgbench -h 127.0.0.1 -U postgres -n -c "$C" -j 2 -T 15 -f "$work/counter.sql" orderdesk_pgbench 2>/dev/null | awk '/^tps/ { print $3 }')

# The table, with ratios to the baselines measured above.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
healthz_rate() { awk -F'|' -v l="$1" '$2 ~ /healthz/ && $3 ~ l { gsub(/ /, "", $6); print $6; exit }' "$results"; }
table="$work/table.md"
{
  echo "| scenario | setup | C | n | per s | p50 ms | p90 ms | p99 ms | max ms | ratio | notes |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  while IFS= read -r row; do
    scenario=$(echo "$row" | awk -F'|' '{ gsub(/^ +| +$/, "", $2); print $2 }')
    setup=$(echo "$row" | awk -F'|' '{ gsub(/^ +| +$/, "", $3); print $3 }')
    rate=$(echo "$row" | awk -F'|' '{ gsub(/ /, "", $6); print $6 }')
    case "$scenario" in
      confirm) r="$(ratio "$rate" "$TPCB") x TPC-B" ;;
      hot) r="$(ratio "$rate" "$COUNTER") x counter row" ;;
      replay) r="$(ratio "$rate" "$(healthz_rate "$setup")") x healthz" ;;
      *) r="" ;;
    esac
    echo "$row" | awk -F'|' -v r="$r" 'BEGIN { OFS = "|" } { $11 = " " r " |" $11; print }'
  done <"$results"
} >"$table"

# The targets of the round-trip work, judged on this run's figures.
col() { # col SCENARIO SETUP COLUMN: a figure of the results table (5 = per s, 8 = p99 ms)
  awk -F'|' -v s="$1" -v l="$2" -v c="$3" '{ a = $2; b = $3; gsub(/^ +| +$/, "", a); gsub(/^ +| +$/, "", b) }
    a == s && b == l { v = $(c + 1); gsub(/ /, "", v); print v; exit }' "$results"
}
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 >= b + 0) ? "met" : "**not met**" }'; }
PG1="PostgreSQL, 1 server"; PG3="PostgreSQL, 3 servers"; SQ1="SQLite, 1 server"
confirm_pg=$(col confirm "$PG1" 5); confirm_p99=$(col confirm "$PG1" 8); hot_pg=$(col hot "$PG1" 5)
confirm_sq=$(col confirm "$SQ1" 5); confirm_pg3=$(col confirm "$PG3" 5)
replay_pg=$(col replay "$PG1" 5); healthz_pg=$(col healthz "$PG1" 5)
replay_sq=$(col replay "$SQ1" 5); healthz_sq=$(col healthz "$SQ1" 5)
targets="$work/targets.md"
{
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  r=$(ratio "$confirm_pg" "$TPCB"); echo "| PostgreSQL confirm >= 0.35x TPC-B | $confirm_pg/s = ${r}x | $(verdict "$r" 0.35) |"
  echo "| PostgreSQL confirm p99 < 50 ms | $confirm_p99 ms | $(verdict 50 "$confirm_p99") |"
  r=$(ratio "$hot_pg" "$COUNTER"); echo "| PostgreSQL hot >= 0.35x counter row | $hot_pg/s = ${r}x | $(verdict "$r" 0.35) |"
  r=$(ratio "$replay_pg" "$healthz_pg"); echo "| PostgreSQL replay >= 0.3x healthz | $replay_pg/s = ${r}x | $(verdict "$r" 0.3) |"
  r=$(ratio "$replay_sq" "$healthz_sq"); echo "| SQLite replay >= 0.3x healthz | $replay_sq/s = ${r}x | $(verdict "$r" 0.3) |"
  echo "| SQLite confirm >= 1,000/s | $confirm_sq/s | $(verdict "$confirm_sq" 1000) |"
  r=$(ratio "$confirm_pg3" "$confirm_pg"); echo "| 3 servers confirm >= 1 server | $confirm_pg3/s vs $confirm_pg/s = ${r}x | $(verdict "$r" 1) |"
} >"$targets"

machine="$(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB, $(uname -sr), $(psql -h 127.0.0.1 -U postgres -Atc 'SHOW server_version' | cut -d' ' -f1) (PostgreSQL, default durability), SQLite WAL with synchronous=FULL"
{
  echo "# Benchmarks"
  echo
  echo "Measured by \`bash bench/run.sh\` on $(date -u +%Y-%m-%d): $machine. Load generator, servers and"
  echo "database share the same machine, so every figure includes their competition for the CPU."
  echo
  echo "Baselines in the same run, $C clients: pgbench TPC-B **$TPCB tps**; a pgbench script that"
  echo "increments one counter row (the ceiling for anything serialised on one row, as gapless invoice"
  echo "numbering is) **$COUNTER tps**."
  echo
  cat "$table"
  echo
  echo "Targets of the round-trip work (issue 12), judged on the figures above:"
  echo
  cat "$targets"
  echo
  echo "Where a committed confirmation's time goes, per phase (mean ms and share, from the servers'"
  echo "\`orderdesk_confirmation_phase_seconds\` after the confirm scenario; see \`src/db/timing.rs\`):"
  echo
  echo "| setup | connection | claim | lock | write | number | render | commit | total |"
  echo "|---|---|---|---|---|---|---|---|---|"
  cat "$work/phases.md"
  echo
  echo "Peak memory:"
  echo
  sed 's/^/- /' "$work/rss.txt"
  echo
  echo "Commands: each row is \`orderdesk-load --server URL... --database-url URL --concurrency $C"
  echo "--products $PRODUCTS --label SETUP SCENARIO ...\` as in \`bench/run.sh\`; after every scenario"
  echo "the invariant self-check ran and found nothing (a violation fails the run)."
} >"$work/BENCHMARKS.part.md"

cat "$work/BENCHMARKS.part.md"
if [ -z "${QUICK:-}" ]; then
  # Keep the analysis that follows the generated part, if any.
  if [ -f docs/BENCHMARKS.md ] && grep -q '^## Analysis' docs/BENCHMARKS.md; then
    sed -n '/^## Analysis/,$p' docs/BENCHMARKS.md >"$work/analysis.md"
    { cat "$work/BENCHMARKS.part.md"; echo; cat "$work/analysis.md"; } >docs/BENCHMARKS.md
  else
    cp "$work/BENCHMARKS.part.md" docs/BENCHMARKS.md
  fi
  echo "== written to docs/BENCHMARKS.md"
fi
