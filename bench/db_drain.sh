#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/db_drain.sh [N]: backlog drain into the database sinks, next to the
# --out file sink in the same run (default N 20000; plain TCP on loopback).
#
#  1. a private mosquitto (127.0.0.1, fresh data dir, persistence on,
#     max_queued_messages 500000) and a private PostgreSQL (Debian's server
#     binaries, a fresh cluster in the temp dir, as user nobody when run as
#     root, fsync and synchronous_commit on: the default);
#  2. three persistent sessions, each in its own share group (file, sqlite,
#     postgres), created and left; hmq-sim loads N realistic envelopes (1000
#     VINs, no duplicates) once, so each group queues all N;
#  3. `hmq -C N --out FILE`, `hmq -C N --sqlite FILE`, `hmq -C N --postgres
#     CONNINFO` drain their queues one after the other. /usr/bin/time: wall,
#     hmq's CPU, peak RSS; CPU of the broker and of the PostgreSQL server
#     (postmaster + backends) from /proc over the same drain. Rate = N /
#     wall; ratios against the file sink.
#  4. memory while the database is down: the server is stopped, an hmq
#     --postgres starts (it must wait for the server, not exit), 3 N more
#     messages are queued for it (more than its batch limit holds); hmq's
#     RSS is sampled
#     every 0.5 s for DOWN_SECONDS (default 10) while it holds what it could
#     take (its batch limit); then the server comes back and the drain must
#     complete (-C N).
# Environment: HMQ_BUILD_DIR (default build/dbbench, Release), DRAIN_TIMEOUT
# (default 600 s per drain), DOWN_SECONDS (0 skips step 4), DB_KEEP=1 (keep
# the temp dir), DB_SINKS (default "sqlite pg": which database drains run
# after the file sink), PG_SET (extra server settings "name=value ...", e.g.
# log_min_duration_statement=0 to see each statement's time in pg/log),
# PG_TUNED (default 1: the server runs with the settings recommended in
# docs/database.md, durability untouched; 0: Debian's defaults), PG_PEER
# (another hmq binary, e.g. a build of an older commit: it drains the same
# N into its own database in the same run, before and after ours when
# PG_ROUNDS=2, and the rates are compared), SQ_PEER (the same for --sqlite:
# another hmq binary drains N into its own SQLite file; SQ_ROUNDS=2 runs
# this hmq, the peer, the peer, this hmq: ABBA).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
N=${1:-20000}
[[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 500000 ]] || { echo "usage: bench/db_drain.sh [N]" >&2; exit 2; }
bdir=${HMQ_BUILD_DIR:-$root/build/dbbench}
dt=${DRAIN_TIMEOUT:-600}
down_s=${DOWN_SECONDS:-10}
DOWN_N=$((N * 3)) # more than the 32 MiB batch limit holds (~1.4 KB each)
app=879577a3-b25f-4a28-8c0e-7effcc7682a2
base="sandbox/level13/$app"
. "$root/bench/lib.sh"
bench_init db_drain "${DB_KEEP:-0}"
bench_need_time
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $pgbin/postgres ]] || { echo "db_drain: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }
# mosquitto 2.0.21 when scripts/get-mosquitto can fetch it: 2.0.11 drops a
# client that announces a Receive Maximum after the first PUBACK of a
# backlog (docs/mosquitto.md), so every drain there is a chain of reconnects
bench_pick_broker prefer-get

echo "db_drain: building hmq, hmq-sim (Release) in $bdir" >&2
bench_build "$root" "$bdir" OFF hmq_cli hmq_sim
hmq=$bdir/hmq
sim=$bdir/hmq-sim

chmod 755 "$tmp" # the PostgreSQL server runs as nobody when we are root
pgpid=
bench_on_exit() { [[ -n $pgpid ]] && kill -INT "$pgpid" 2>/dev/null && sleep 1; }

# exec: run in a subshell or in the background, so that $! is the server itself
as_pg() { if [[ $(id -u) -eq 0 ]]; then exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else exec "$@"; fi; }

# --- servers -------------------------------------------------------------------
mport=$(free_port)
mkdir -p "$tmp/mq"
bench_broker_conf "$tmp/mq" "$mport" "" plain "persistence true" "persistence_location $tmp/mq/" \
  "max_inflight_messages 0"
bench_broker_start "$tmp/mq" "$mport"

# Recommended for a PostgreSQL that hmq writes to (docs/database.md); none
# of them weakens durability (fsync, synchronous_commit, full_page_writes
# stay on): memory for the tables a drain touches, WAL written compressed,
# no checkpoint in the middle of a drain.
pg_tuned="shared_buffers=512MB wal_compression=on max_wal_size=4GB checkpoint_timeout=15min"
[[ ${PG_TUNED:-1} == 1 ]] || pg_tuned=
pg_set=()
for kv in $pg_tuned ${PG_SET:-}; do pg_set+=(-c "$kv"); done
peer=${PG_PEER:-}
rounds=${PG_ROUNDS:-1}
[[ -z $peer || -x $peer ]] || { echo "db_drain: PG_PEER $peer is not an executable" >&2; exit 2; }
sqpeer=${SQ_PEER:-}
sqrounds=${SQ_ROUNDS:-1}
[[ -z $sqpeer || -x $sqpeer ]] || { echo "db_drain: SQ_PEER $sqpeer is not an executable" >&2; exit 2; }
sinks=${DB_SINKS:-sqlite pg}
pport=$(free_port)
mkdir -p "$tmp/pg"
[[ $(id -u) -eq 0 ]] && chown nobody "$tmp/pg"
(as_pg "$pgbin/initdb" -D "$tmp/pg/data" -U hmq --auth=trust -E UTF8 --locale=C) >"$tmp/initdb.log" 2>&1
pg_start() {
  as_pg "$pgbin/postgres" -D "$tmp/pg/data" -p "$pport" -k "$tmp/pg" \
    -c listen_addresses=127.0.0.1 "${pg_set[@]}" >>"$tmp/pg/log" 2>&1 &
  pgpid=$!
  for _ in $(seq 300); do pg_isready -q -h 127.0.0.1 -p "$pport" && return 0; sleep 0.1; done
  echo "db_drain: PostgreSQL did not start" >&2; exit 1
}
pg_stop() { kill -INT "$pgpid"; for _ in $(seq 100); do kill -0 "$pgpid" 2>/dev/null || break; sleep 0.1; done; pgpid=; }
pg_start
conninfo="host=127.0.0.1 port=$pport dbname=postgres user=hmq"
sleep 0.5

common=(--plain --host 127.0.0.1 --port "$mport" -q 1 -c -V 5 --quiet)
session() { # group
  "$hmq" "${common[@]}" --id "$app-sandbox-$1" --topic "\$share/$1/$base/#" \
    --state-dir "$tmp/sd-$1" --out /dev/null -W 2 || true
}
groups="file sqlite pg pgdown"
[[ -n $peer ]] && groups+=" peer peer2 pg2"
[[ -n $sqpeer ]] && groups+=" sqpeer sqpeer2 sqlite2"
for g in $groups; do session "$g"; done
"$sim" --plain --host 127.0.0.1 --port "$mport" -n "$N" --vins 1000 --dup-rate 0 \
  --app-id "$app" --quiet --timeout "$dt" >/dev/null

# CPU seconds of the PostgreSQL server: the postmaster (with the backends
# it has reaped: cutime, cstime) and its live children.
pg_cpu() {
  local p f rest t=0
  for p in $pgpid $(ps -o pid= --ppid "$pgpid" 2>/dev/null); do
    read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
    rest=${f[*]}
    rest=${rest##*) }
    read -r -a f <<<"$rest"
    t=$((t + f[11] + f[12] + (p == pgpid ? f[13] + f[14] : 0)))
  done
  calc "$t / $(getconf CLK_TCK)"
}
drain() { # group sink-args...
  local g=$1 b0 b1 p0 p1 bin=$hmq
  shift
  [[ $g == peer* ]] && bin=$peer
  [[ $g == sqpeer* ]] && bin=$sqpeer
  b0=$(cpu_of "$bpid")
  p0=$(pg_cpu)
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/time-$g" timeout "$dt" \
    "$bin" "${common[@]}" --id "$app-sandbox-$g" --topic "\$share/$g/$base/#" \
    --state-dir "$tmp/sd-$g" -C "$N" "$@" 2>"$tmp/err-$g"
  sleep 0.3 # the server's backend exits after hmq's disconnect
  b1=$(cpu_of "$bpid")
  p1=$(pg_cpu)
  read -r wall user sys rss <"$tmp/time-$g"
  printf '%-8s %6.2f s  %8.0f msg/s  CPU us/msg: hmq %5.1f  broker %5.1f  postgres %5.1f  peak RSS %6.1f MB\n' \
    "$g" "$wall" "$(calc "$N / $wall")" "$(calc "($user + $sys) * 1000000 / $N")" \
    "$(calc "($b1 - $b0) * 1000000 / $N")" "$(calc "($p1 - $p0) * 1000000 / $N")" \
    "$(calc "$rss / 1024")"
  calc "$N / $wall" >"$tmp/rate-$g"
}
echo "db_drain: $N messages per sink (plain TCP, loopback, mosquitto $("$broker" -h | head -1 | awk '{print $3}'))"
echo "db_drain: PostgreSQL $("$pgbin/postgres" -V | awk '{print $3}') settings: ${pg_tuned:-defaults} ${PG_SET:-}"
drain file --out "$tmp/out.ndjson"
[[ " $sinks " == *" sqlite "* ]] && drain sqlite --sqlite "$tmp/hmq.db"
if [[ -n $sqpeer ]]; then
  drain sqpeer --sqlite "$tmp/sqpeer.db"
  if ((sqrounds > 1)); then
    drain sqpeer2 --sqlite "$tmp/sqpeer2.db"
    drain sqlite2 --sqlite "$tmp/hmq2.db"
  fi
fi
if [[ -n $peer ]]; then
  for d in peer peer2 pg2; do psql -h 127.0.0.1 -p "$pport" -U hmq -d postgres -qc "CREATE DATABASE $d"; done
  drain peer --postgres "host=127.0.0.1 port=$pport dbname=peer user=hmq"
fi
[[ " $sinks " == *" pg "* ]] && drain pg --postgres "$conninfo"
if [[ -n $peer ]] && ((rounds > 1)); then
  drain pg2 --postgres "host=127.0.0.1 port=$pport dbname=pg2 user=hmq"
  drain peer2 --postgres "host=127.0.0.1 port=$pport dbname=peer2 user=hmq"
fi
fr=$(cat "$tmp/rate-file")
if [[ -f $tmp/rate-sqlite ]]; then
  printf 'ratio sqlite/file %.2f (target >= 0.7)\n' "$(echo "$(cat "$tmp/rate-sqlite") / $fr" | bc -l)"
  echo "stored: sqlite $(sqlite3 "$tmp/hmq.db" 'select count(*) from messages')"
fi
if [[ -f $tmp/rate-sqpeer && -f $tmp/rate-sqlite ]]; then
  pr=$(cat "$tmp/rate-sqpeer") our=$(cat "$tmp/rate-sqlite") n=1
  if [[ -f $tmp/rate-sqpeer2 ]]; then
    pr=$(calc "($pr + $(cat "$tmp/rate-sqpeer2")) / 2")
    our=$(calc "($our + $(cat "$tmp/rate-sqlite2")) / 2")
    n=2
  fi
  printf 'ratio sqlite/file of SQ_PEER %.2f; this hmq / SQ_PEER rate %.2f (mean of %d rounds, ABBA)\n' \
    "$(calc "$pr / $fr")" "$(calc "$our / $pr")" "$n"
  echo "stored: sqlite of SQ_PEER $(sqlite3 "$tmp/sqpeer.db" 'select count(*) from messages')"
fi
if [[ -f $tmp/rate-pg ]]; then
  printf 'ratio postgres/file %.2f (target >= 0.5)\n' "$(echo "$(cat "$tmp/rate-pg") / $fr" | bc -l)"
  echo "stored: postgres $(psql -h 127.0.0.1 -p "$pport" -U hmq -d postgres -Atc 'select count(*) from messages')"
fi
if [[ -f $tmp/rate-peer && -f $tmp/rate-pg ]]; then
  pr=$(cat "$tmp/rate-peer") our=$(cat "$tmp/rate-pg")
  if [[ -f $tmp/rate-peer2 ]]; then
    pr=$(calc "($pr + $(cat "$tmp/rate-peer2")) / 2")
    our=$(calc "($our + $(cat "$tmp/rate-pg2")) / 2")
  fi
  printf 'ratio postgres/file of PG_PEER %.2f; this hmq / PG_PEER rate %.2f (mean of %d rounds, alternating)\n' \
    "$(calc "$pr / $fr")" "$(calc "$our / $pr")" "$rounds"
fi
((down_s > 0)) && [[ -f $tmp/rate-pg ]] || exit 0

# --- memory while the database is down ---------------------------------------
# hmq starts while the server is down (it must wait, not exit); its session
# also holds the first N: -C counts both loads
pg_stop
"$hmq" "${common[@]}" --id "$app-sandbox-pgdown" --topic "\$share/pgdown/$base/#" \
  --state-dir "$tmp/sd-pgdown" -C $((N + DOWN_N)) --postgres "$conninfo" --stats 2 \
  2>"$tmp/err-pgdown" &
hp=$!
pids+=($hp)
sleep 1
"$sim" --plain --host 127.0.0.1 --port "$mport" -n "$DOWN_N" --vins 1000 --dup-rate 0 --seed 9 \
  --app-id "$app" --quiet --timeout "$dt" >/dev/null
peak=0
for _ in $(seq $((down_s * 2))); do
  r=$(awk '/VmRSS/ {print $2}' /proc/$hp/status 2>/dev/null || echo 0)
  ((r > peak)) && peak=$r
  sleep 0.5
done
t0=$(date +%s.%N)
pg_start
wait "$hp" && rc=0 || rc=$?
t1=$(date +%s.%N)
printf 'database down %d s with %d messages queued: hmq RSS peak %.1f MB (batch limit 32 MiB of payloads); after restart drained in %.1f s, exit %d\n' \
  "$down_s" "$DOWN_N" "$(echo "$peak / 1024" | bc -l)" "$(echo "$t1 - $t0" | bc -l)" "$rc"
{ grep -c "database unavailable at start" "$tmp/err-pgdown" || true; } | xargs printf '  stderr: %s "unavailable at start", '
{ grep -c "database unavailable," "$tmp/err-pgdown" || true; } | xargs printf '  stderr: %s "database unavailable" reports, '
{ grep -c "available again" "$tmp/err-pgdown" || true; } | xargs printf '%s "available again"\n'
echo "stored: $(psql -h 127.0.0.1 -p "$pport" -U hmq -d postgres -Atc 'select count(*) from messages') of $((N + DOWN_N)) in postgres"
