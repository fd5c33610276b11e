#!/usr/bin/env bash
# Measures the server in one run on one machine: requests/s and p50/p99 latency of
#   - POST /api/payments/qris/create,
#   - GET  /api/payments/{invoiceId}/status,
#   - notification → paid (POST /api/webhook/payment, each request paying a different invoice),
# with 10,000 pending invoices across 100 merchants, next to GET /healthz of the same server (no database,
# no auth) as the baseline, and prints the medians of BENCH_RUNS runs with the ratios to the baseline.
# It does so on SQLite with the durable default `synchronous=FULL` and with `synchronous=NORMAL` (WAL), and
# on PostgreSQL (a throwaway cluster from scripts/pg-cluster.sh with fsync and synchronous_commit on; a
# fresh database per run), and reports PostgreSQL's figures as ratios to SQLite FULL.
#
# Then webhook delivery (issue 14): a healthy merchant's backlog of BENCH_DELIVERY_HEALTHY webhooks drains
# to a receiver that answers at once, alone ("alone") and next to a merchant whose endpoint accepts
# connections and never answers, paid BENCH_DELIVERY_HANGING times just before ("hanging"); it reports the
# healthy merchant's deliveries/s in both and their ratio. The healthy backlog is made while its receiver
# is down (so the drain measures delivery, not how fast this script pays); its circuit opens, and the
# drain starts with the probe that finds the receiver up. It runs on every database of BENCH_MODES.
#
# Then the memory ceilings of issue 9 (scripts/bench/hostile.py): the server's peak RSS under a flood of
# BENCH_FLOOD (64) concurrent registrations with the default hashing pool, and its RSS with BENCH_SOCKETS
# (1000) idle WebSockets (socket limits lifted for that run).
#
# Then socket memory (issue 15): a database with BENCH_SOCKET_INVOICES (100,000) pending invoices across
# 100 merchants is seeded once; each run starts the server on a copy of it, reads its RSS, opens
# BENCH_SOCKETS (1,000) idle `/ws/merchant` sockets (`hostile.py sockets`) and reads its RSS again and
# its peak; it reports per socket (RSS with − without) / sockets, medians of the runs.
#
# Load generator: wrk (Lua scripts in scripts/bench/ vary tokens, amounts, invoices and notifications);
# payments for the delivery case are posted by scripts/bench/seed.py, webhooks received by
# `cargo run --example webhook_sink`. The throughput runs lift the per-token invoice rate limit (they
# measure capacity, not the limit).
# Settings (environment): BENCH_RUNS (3), BENCH_DURATION seconds per measurement (5), BENCH_THREADS (2),
# BENCH_CONNECTIONS (32), BENCH_MODES ("full normal postgres"),
# BENCH_CASES ("endpoints delivery memory sockets"), BENCH_DELIVERY_HEALTHY (3000),
# BENCH_DELIVERY_HANGING (200), BENCH_FLOOD (64), BENCH_SOCKETS (1000), BENCH_SOCKET_INVOICES (100000),
# BENCH_BIN (the server binary to measure; default the release build), BENCH_SINK (the webhook receiver
# binary; default the release build of the example), BENCH_PROFILE (endpoints whose first run is sampled
# with `perf record -g` into BENCH_PROFILE_DIR, default target/bench-profile/<mode>-<endpoint>.data; read
# them with `perf report -i …`; "delivery" samples the first run's drains, every process on the machine,
# into <mode>-delivery-<case>.data), BENCH_IO=1 (the server's pwrite64/pread64/fsync calls per request,
# counted with `perf stat`). Each endpoint's line also gives the server's CPU time per request.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-3}
DURATION=${BENCH_DURATION:-5}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
MODES=${BENCH_MODES:-"full normal postgres"}
CASES=${BENCH_CASES:-"endpoints delivery memory sockets"}
HEALTHY=${BENCH_DELIVERY_HEALTHY:-3000}
HANGING=${BENCH_DELIVERY_HANGING:-200}
SOCKETS=${BENCH_SOCKETS:-1000}
SOCKET_INVOICES=${BENCH_SOCKET_INVOICES:-100000}
MERCHANTS=100
PER_MERCHANT=100

command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }

# BENCH_BIN: measure that build of the server instead (an older commit's, for before/after figures).
if [ -z "${BENCH_BIN:-}" ]; then
  echo "==> building the release binary" >&2
  cargo build --release --locked -p webqris-server --bin webqris --example webhook_sink >&2
fi
BIN=${BENCH_BIN:-$PWD/target/release/webqris}
SINK=${BENCH_SINK:-$PWD/target/release/examples/webhook_sink}
export BENCH_LUA=$PWD/scripts/bench
export BENCH_THREADS=$THREADS
PROFILE_DIR=${BENCH_PROFILE_DIR:-$PWD/target/bench-profile}
QRIS=$(awk -F'\t' '$1 == "valid" && $2 == "verssache-DANA" { print $3 }' tests/corpus/qris-vectors.tsv)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/webqris-bench.XXXXXX")
SERVER_PID=
PGDIR=
HANG_PID=
cleanup() {
  [ -n "$PGDIR" ] && scripts/pg-cluster.sh stop "$PGDIR"
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$HANG_PID" ]; then kill "$HANG_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
RESULTS=$WORK/results.tsv
DELIVERY_RESULTS=$WORK/delivery.tsv
SOCKET_RESULTS=$WORK/sockets.tsv
MEMORY_RESULTS=$WORK/memory.txt
: >"$RESULTS"
: >"$DELIVERY_RESULTS"
: >"$SOCKET_RESULTS"
: >"$MEMORY_RESULTS"

if [[ " $MODES " == *" postgres "* ]]; then
  eval "$(PG_DURABLE=1 scripts/pg-cluster.sh)"
  PG_URL=$URL
  echo "==> PostgreSQL on 127.0.0.1:$PGPORT (fsync and synchronous_commit on)" >&2
fi

start_server() { # mode db log
  local sync=$1
  [ "$sync" = postgres ] && sync=full
  WEBQRIS_DB_SYNCHRONOUS=$sync WEBQRIS_LOG=warn,webqris_server=info WEBQRIS_LOG_JSON=true \
    WEBQRIS_CREATE_PER_SEC_PER_TOKEN=${WEBQRIS_CREATE_PER_SEC_PER_TOKEN:-100000000} \
    WEBQRIS_CREATE_BURST_PER_TOKEN=${WEBQRIS_CREATE_BURST_PER_TOKEN:-100000000} \
    "$BIN" serve --listen 127.0.0.1:0 --db "$2" >/dev/null 2>"$3" &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    ADDR=$(python3 -c 'import json,sys
for line in open(sys.argv[1]):
    try:
        log = json.loads(line)
    except ValueError:
        continue
    if log.get("fields", {}).get("message") == "webqris listening":
        print(log["fields"]["addr"]); break' "$3")
    [ -n "$ADDR" ] && return 0
    sleep 0.1
  done
  echo "the server did not start; log:" >&2
  cat "$3" >&2
  exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=
}

# The server's CPU time so far (user + system), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
TICKS_PER_SEC=$(getconf CLK_TCK)

measure() { # mode endpoint run script
  local line cpu_before perf_pid=
  # BENCH_PROFILE="status create": the first run of those endpoints is sampled with perf (call graphs).
  if [[ " ${BENCH_PROFILE:-} " == *" $2 "* ]] && [ "$3" = 1 ]; then
    mkdir -p "$PROFILE_DIR"
    perf record -F 499 -g -p "$SERVER_PID" -o "$PROFILE_DIR/$1-$2.data" -- sleep "$DURATION" 2>/dev/null &
    perf_pid=$!
  fi
  # BENCH_IO=1: the server's file I/O system calls over the run (perf's syscall tracepoints): how many
  # pages a request writes (WAL frames are two pwrite64 each, checkpoints a pread64 and a pwrite64 per
  # page) and how many fsyncs it shares.
  local io_pid= io_file=$WORK/io.csv
  if [ "${BENCH_IO:-0}" = 1 ]; then
    perf stat -x, -e syscalls:sys_enter_pwrite64,syscalls:sys_enter_pread64,syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync \
      -p "$SERVER_PID" -o "$io_file" -- sleep "$DURATION" 2>/dev/null &
    io_pid=$!
  fi
  cpu_before=$(cpu_ticks)
  line=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$BENCH_LUA/$4.lua" "http://$ADDR" | grep '^RESULT')
  # CPU the server spent per request: less sensitive than req/s to what else runs on the machine.
  line="$line cpu_ms=$(( ($(cpu_ticks) - cpu_before) * 1000 / TICKS_PER_SEC ))"
  if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; fi
  if [ -n "$io_pid" ]; then
    wait "$io_pid" || true
    line="$line $(awk -F, '/sys_enter_pwrite64/ { w = $1 } /sys_enter_pread64/ { r = $1 }
      /sys_enter_f(data)?sync/ { s += $1 } END { printf "pwrites=%d preads=%d fsyncs=%d", w, r, s }' "$io_file")"
  fi
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$line" >>"$RESULTS"
  printf '  %-8s %-8s run %s: %s\n' "$1" "$2" "$3" "$line" >&2
}

measure_endpoints() {
  for mode in $MODES; do
    for run in $(seq 1 "$RUNS"); do
      # Every run starts from the same state: a fresh database with 100 merchants × 100 pending invoices.
      echo "==> $mode, run $run: fresh database, $MERCHANTS merchants, $((MERCHANTS * PER_MERCHANT)) pending invoices" >&2
      DIR=$WORK/$mode-$run
      DB=$DIR/webqris.db
      mkdir -p "$DIR"
      if [ "$mode" = postgres ]; then
        psql "$PG_URL" -qc "CREATE DATABASE bench_$run" >/dev/null
        DB=${PG_URL%/*}/bench_$run
      fi
      start_server "$mode" "$DB" "$DIR/server.log"
      export BENCH_MERCHANTS=$DIR/merchants.tsv BENCH_INVOICES=$DIR/invoices.tsv
      python3 scripts/bench/seed.py merchants --bin "$BIN" --db "$DB" --count $MERCHANTS --qris "$QRIS" \
        --out "$BENCH_MERCHANTS"
      python3 scripts/bench/seed.py topup --db "$DB" --base "http://$ADDR" --merchants "$BENCH_MERCHANTS" \
        --per-merchant $PER_MERCHANT --out "$BENCH_INVOICES"
      measure "$mode" healthz "$run" healthz
      measure "$mode" status "$run" status
      measure "$mode" create "$run" create
      # Notifications pay invoices from every pending one (the seeded 10,000 plus those create just made),
      # each request a different invoice.
      python3 scripts/bench/seed.py topup --db "$DB" --base "http://$ADDR" --merchants "$BENCH_MERCHANTS" \
        --per-merchant $PER_MERCHANT --out "$BENCH_INVOICES"
      measure "$mode" notify "$run" notify
      stop_server
      rm -rf "$DIR"
    done
  done
}

delivery_run() { # mode case run
  local mode=$1 dir=$WORK/delivery-$1-$2-$3 port db
  mkdir -p "$dir"
  echo "==> delivery, $mode, $2, run $3: $HEALTHY healthy webhooks$([ "$2" = hanging ] && echo " after $HANGING to a hanging endpoint")" >&2
  db=$dir/webqris.db
  if [ "$mode" = postgres ]; then
    psql "$PG_URL" -qc "CREATE DATABASE delivery_$2_$3" >/dev/null
    db=${PG_URL%/*}/delivery_$2_$3
  fi
  # A free port for the healthy receiver, which only starts once its backlog is in the outbox.
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  start_server "$mode" "$db" "$dir/server.log"
  python3 scripts/bench/seed.py merchants --bin "$BIN" --db "$db" --count 1 --qris "$QRIS" \
    --webhook-url "http://127.0.0.1:$port/webhook" --out "$dir/healthy.tsv"
  python3 scripts/bench/seed.py topup --db "$db" --base "http://$ADDR" --merchants "$dir/healthy.tsv" \
    --per-merchant "$HEALTHY" --out "$dir/healthy-invoices.tsv"
  if [ "$2" = hanging ]; then
    "$SINK" hang >"$dir/hang.url" &
    HANG_PID=$!
    for _ in $(seq 1 100); do [ -s "$dir/hang.url" ] && break; sleep 0.1; done
    python3 scripts/bench/seed.py merchants --bin "$BIN" --db "$db" --count 1 --qris "$QRIS" \
      --webhook-url "$(cat "$dir/hang.url")" --out "$dir/hanging.tsv"
    python3 scripts/bench/seed.py topup --db "$db" --base "http://$ADDR" --merchants "$dir/hanging.tsv" \
      --per-merchant "$HANGING" --out "$dir/hanging-invoices.tsv"
    python3 scripts/bench/seed.py pay --base "http://$ADDR" --invoices "$dir/hanging-invoices.tsv"
  fi
  python3 scripts/bench/seed.py pay --base "http://$ADDR" --invoices "$dir/healthy-invoices.tsv"
  local line perf_pid=
  # BENCH_PROFILE="delivery": the first run's drain is sampled with perf, every process (the server,
  # the receiver and PostgreSQL share the cores).
  if [[ " ${BENCH_PROFILE:-} " == *" delivery "* ]] && [ "$3" = 1 ]; then
    mkdir -p "$PROFILE_DIR"
    perf record -F 499 -g -a -o "$PROFILE_DIR/$mode-delivery-$2.data" 2>/dev/null &
    perf_pid=$!
  fi
  line=$(timeout 300 "$SINK" serve "$port" "$HEALTHY" | grep '^RESULT') || { echo "the healthy backlog did not drain; log:" >&2; tail -20 "$dir/server.log" >&2; exit 1; }
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  printf '%s\t%s\t%s\t%s\n' "$mode" "$2" "$3" "$line" >>"$DELIVERY_RESULTS"
  printf '  delivery %-8s %-8s run %s: %s\n' "$mode" "$2" "$3" "$line" >&2
  stop_server
  if [ -n "$HANG_PID" ]; then kill "$HANG_PID" 2>/dev/null || true; wait "$HANG_PID" 2>/dev/null || true; HANG_PID=; fi
  rm -rf "$dir"
}

measure_memory() {
  echo "==> memory ceilings: ${BENCH_FLOOD:-64} concurrent registrations, ${BENCH_SOCKETS:-1000} idle WebSockets" >&2
  local DIR=$WORK/hostile
  mkdir -p "$DIR"
  # Per-address attempt limits lifted: what bounds memory here must be the hashing pool alone.
  WEBQRIS_REGISTRATION=true WEBQRIS_LOGIN_MAX_FAILURES=100000 start_server full "$DIR/webqris.db" "$DIR/server.log"
  python3 scripts/bench/hostile.py registrations --base "http://$ADDR" --pid "$SERVER_PID" \
    --count "${BENCH_FLOOD:-64}" | tee -a "$MEMORY_RESULTS" >&2
  stop_server
  MERCHANT=$("$BIN" merchant create --name 'Toko Bench' --db "$DIR/sockets.db" --json)
  MID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["merchant_id"])' "$MERCHANT")
  TOKEN=$("$BIN" token create --merchant "$MID" --db "$DIR/sockets.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  WEBQRIS_WS_MAX_SOCKETS=100000 WEBQRIS_WS_MAX_PER_ADDRESS=100000 WEBQRIS_WS_MAX_PER_CREDENTIAL=100000 \
    WEBQRIS_MAX_CONNECTIONS_PER_ADDRESS=100000 WEBQRIS_MAX_CONNECTIONS=100000 \
    start_server full "$DIR/sockets.db" "$DIR/server-sockets.log"
  python3 scripts/bench/hostile.py sockets --base "http://$ADDR" --pid "$SERVER_PID" --token "$TOKEN" \
    --count "${BENCH_SOCKETS:-1000}" | tee -a "$MEMORY_RESULTS" >&2
  stop_server
}

measure_sockets() {
  local dir=$WORK/sockets run
  mkdir -p "$dir"
  echo "==> sockets: seeding $SOCKET_INVOICES pending invoices across $MERCHANTS merchants" >&2
  # The invoices stay pending for every run.
  export WEBQRIS_INVOICE_TTL_SECS=86400
  start_server full "$dir/seed.db" "$dir/seed.log"
  python3 scripts/bench/seed.py merchants --bin "$BIN" --db "$dir/seed.db" --count $MERCHANTS --qris "$QRIS" \
    --out "$dir/merchants.tsv"
  python3 scripts/bench/seed.py topup --db "$dir/seed.db" --base "http://$ADDR" --merchants "$dir/merchants.tsv" \
    --per-merchant $((SOCKET_INVOICES / MERCHANTS)) --out "$dir/invoices.tsv"
  stop_server
  for run in $(seq 1 "$RUNS"); do
    echo "==> sockets, run $run: $SOCKETS idle merchant sockets" >&2
    for f in "$dir"/seed.db*; do cp "$f" "${f/seed.db/run.db}"; done
    WEBQRIS_WS_MAX_SOCKETS=100000 WEBQRIS_WS_MAX_PER_ADDRESS=100000 WEBQRIS_WS_MAX_PER_CREDENTIAL=100000 \
      WEBQRIS_MAX_CONNECTIONS_PER_ADDRESS=100000 WEBQRIS_MAX_CONNECTIONS=100000 \
      start_server full "$dir/run.db" "$dir/run.log"
    local line
    line=$(python3 scripts/bench/hostile.py sockets --base "http://$ADDR" --pid "$SERVER_PID" \
      --merchants "$dir/merchants.tsv" --count "$SOCKETS" | grep '^RESULT')
    printf '%s\t%s\n' "$run" "$line" >>"$SOCKET_RESULTS"
    printf '  sockets run %s: %s\n' "$run" "$line" >&2
    stop_server
    rm -f "$dir"/run.db*
  done
  unset WEBQRIS_INVOICE_TTL_SECS
  rm -rf "$dir"
}

for case in $CASES; do
  case $case in
    endpoints) measure_endpoints ;;
    delivery)
      # The receivers are on loopback.
      export WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS=true
      for mode in $MODES; do
        for run in $(seq 1 "$RUNS"); do
          delivery_run "$mode" alone "$run"
          delivery_run "$mode" hanging "$run"
        done
      done
      unset WEBQRIS_WEBHOOK_ALLOW_PRIVATE_TARGETS
      ;;
    memory) measure_memory ;;
    sockets) measure_sockets ;;
    *) echo "unknown case $case (endpoints, delivery, memory, sockets)" >&2; exit 1 ;;
  esac
done

echo
cat "$MEMORY_RESULTS"
FSYNC_MS=$(python3 -c 'import os, sys, time
path = os.path.join(sys.argv[1], "fsync.probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT)
start = time.perf_counter()
for _ in range(200):
    os.write(fd, b"x" * 128)
    os.fsync(fd)
print(f"{(time.perf_counter() - start) / 200 * 1000:.2f}")
os.close(fd)
os.remove(path)' "$WORK")
echo "Database directory: $(df -T "$WORK" | awk 'NR == 2 { print $2 " on " $1 }'); one fsync takes ${FSYNC_MS} ms there."
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine competes for the same cores)."
echo "Machine: $(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), Linux $(uname -r);" \
  "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on the same machine; medians of $RUNS runs."
python3 scripts/bench/report.py "$RESULTS" "$DELIVERY_RESULTS" "$SOCKET_RESULTS"
