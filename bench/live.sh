#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/live.sh: live latency, publish -> line in the output, hmq (--out FILE,
# durable) next to mosquitto_sub (stdout, keeps nothing) on the same broker
# in the same run, at fixed publish rates, on a quiet file system and while
# another process syncs 8 MB to it every 100 ms.
#
#   bench/live.sh                     # rates 1000 10000, loads "quiet sync", 5 s each
#   LIVE_RATES=1000 LIVE_LOADS=sync bench/live.sh
#
# For each rate and load, a fresh mosquitto (the broker of
# scripts/get-mosquitto, 2.0.21; 127.0.0.1 only; a plain listener for the
# publisher, a mutual-TLS listener for the consumers):
#  1. hmq (-c, its own share group, --out FILE in the temp dir) and
#     mosquitto_sub (-c -V 5 -q 1, another share group, stdout into a pipe)
#     subscribe; the run starts once the broker logged both subscriptions;
#  2. with load "sync", `live-probe syncload` appends 8 MB to a file beside
#     hmq's output and fdatasync()s it every 100 ms;
#  3. `live-probe publish` sends realistic envelopes (hmq-sim --write,
#     unique message_ids) at the rate as QoS 1 PUBLISHes over one plain MQTT
#     connection and logs each message_id with the time right before its
#     send (LIVE_PUB=mosquitto_pub: `live-probe pace` into `mosquitto_pub -l
#     -q 1` instead, the publisher of the runs before 2026-12-06, two more
#     processes and a pipe per message);
#  4. `live-probe stamp` logs the time each output line appeared: for hmq by
#     following --out (inotify), for mosquitto_sub by reading its pipe;
#  5. latency = appearance - hand-over, matched by message_id: p50, p99 and
#     max per consumer, over every message of the run (nothing discarded),
#     and how many never appeared.
# Printed: the table, hmq / mosquitto_sub ratios, and the targets
# p99(hmq) <= p99(mosquitto_sub) + 1 ms and max(hmq) <= 20 ms.
#
# Environment: HMQ_BUILD_DIR (default build/live, Release), HMQ_REF (build
# everything from this commit, e.g. HEAD, exported with git archive into
# build/ref-<sha>, instead of from the working tree), MOSQUITTO (broker
# binary; default from scripts/get-mosquitto, else the system's),
# LIVE_RATES ("1000 10000"), LIVE_LOADS ("quiet sync"), LIVE_SECONDS (5),
# LIVE_PUB (probe | mosquitto_pub, see 3.), HMQ_BIN (measure this hmq
# binary instead of the one built, e.g. a patched build for an A/B),
# HMQ_ARGS (extra hmq options), MSUB_ARGS (extra mosquitto_sub options, for a
# diagnosis, e.g. "-D connect receive-maximum 2048"), LIVE_KEEP=1 (keep the temp dir), LIVE_STRACE
# (diagnosis: strace -f -T -ttt -s 65536 -e trace=LIST of the hmq process into
# hmq.strace; use with LIVE_KEEP=1), LIVE_PERF=sched|sys (diagnosis: perf
# record of the hmq process into perf.data, monotonic clock: its context
# switches with kernel stacks, its write/recvfrom/poll/sendto calls, or
# LIVE_PERF=cpu: samples of its CPU time with call stacks).
# Every wait
# is bounded; everything started is stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
bdir=${HMQ_BUILD_DIR:-$root/build/live}
rates=${LIVE_RATES:-1000 10000}
loads=${LIVE_LOADS:-quiet sync}
secs=${LIVE_SECONDS:-5}
publisher=${LIVE_PUB:-probe}
[[ $publisher == probe || $publisher == mosquitto_pub ]] || { echo "live: LIVE_PUB: probe or mosquitto_pub" >&2; exit 2; }
[[ $secs =~ ^[0-9]+$ && $secs -ge 1 && $secs -le 60 ]] || { echo "live: LIVE_SECONDS 1..60" >&2; exit 2; }
for r in $rates; do [[ $r =~ ^[0-9]+$ && $r -ge 1 && $r -le 50000 ]] || { echo "live: LIVE_RATES values 1..50000" >&2; exit 2; }; done
for l in $loads; do [[ $l == quiet || $l == sync ]] || { echo "live: LIVE_LOADS: quiet and/or sync" >&2; exit 2; }; done

. "$root/bench/lib.sh"
bench_init live "${LIVE_KEEP:-0}"
bench_pick_broker prefer-get
bench_select_source "$bdir"
bench_tools "$root/build/live" live_probe=tools/live-probe/live_probe.c
probe=$tools/live-probe
if [[ -n ${HMQ_BIN:-} ]]; then # measure this hmq binary (an A/B of a patched build)
  [[ -x $HMQ_BIN ]] || { echo "live: HMQ_BIN: $HMQ_BIN is not an executable" >&2; exit 2; }
  hmq=$HMQ_BIN
  hmq_from="binary $(basename "$(dirname "$HMQ_BIN")")/$(basename "$HMQ_BIN")"
fi

# latency stats of one consumer: "p50 p99 max missing" in ms
lat() { # publish-log stamp-log total
  awk 'NR == FNR { s[$1] = $2; next } ($1 in s) && !($1 in seen) { seen[$1] = 1; print ($2 - s[$1]) / 1e6 }' \
    "$1" "$2" | sort -g | awk -v total="$3" '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print "nan nan nan", total; exit }
      i50 = int(0.5 * NR + 0.999999); i99 = int(0.99 * NR + 0.999999)
      printf "%.3f %.3f %.3f %d\n", v[i50], v[i99], v[NR], total - NR
    }'
}

# ms after the first send at which the slowest message of a consumer was sent
max_at() { # publish-log stamp-log
  awk 'NR == FNR { s[$1] = $2; if (FNR == 1) t0 = $2; next }
    ($1 in s) && !($1 in seen) { seen[$1] = 1; d = $2 - s[$1]; if (d > m) { m = d; at = s[$1] - t0 } }
    END { printf "%.0f", at / 1e6 }' "$1" "$2"
}
# a stamper's own CPU seconds from its last line ("?" from an older live-probe)
stamp_cpu() { sed -n 's/.*CPU \([0-9.]*\) s$/\1/p' "$1" | grep . || echo "?"; }
# "<seconds> <idle+iowait jiffies of all CPUs>", for the machine's busy share.
# Busy = wall time x CPUs - idle: the idle time is exact, while /proc/stat's
# user and system times are sampled at ticks, which miss the short wake-ups
# of a lightly loaded machine (at 1,000 msg/s they showed 6-9 % busy while
# our own processes alone used ~25 %).
cpu_idle() { echo "$(date +%s.%N) $(awk '/^cpu / { print $5 + $6 }' /proc/stat)"; }

bench_pki
app=879577a3-b25f-4a28-8c0e-7effcc7682a2
rows=()

cell() { # rate load
  local rate=$1 load=$2 d=$tmp/r$1-$2 tls plain bpid n
  n=$((rate * secs))
  mkdir -p "$d"
  "$sim" --write "$d/envelopes" -n "$n" --vins 1000 --dup-rate 0 --seed "$rate" --app-id "$app" \
    --start now --quiet
  plain=$(free_port)
  tls=$(free_port)
  while [[ $tls == "$plain" ]]; do tls=$(free_port); done
  bench_broker_conf "$d" "$plain" "$tls" tls "persistence false" "max_inflight_messages 1000" \
    "$(printf 'log_type %s\n' error warning notice information subscribe)"
  bench_broker_start "$d" "$tls"

  local certs=(--cafile "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key")
  local hid="$app-sandbox-liveh" mid="$app-sandbox-livem"
  local hargs=(-V 5 -q 1 -c --id "$hid" -t "\$share/$app/bench/live/#" --state-dir "$d/state")
  [[ -z ${HMQ_ARGS:-} ]] && hargs+=(--quiet)
  local wait_s=$((secs + 15)) cpids=()
  : >"$d/h.out"
  "$probe" stamp --follow "$d/h.out" --log "$d/h.recv" --seconds "$wait_s" --count "$n" \
    2>"$d/h.stamp.err" &
  local hstamp=$!
  pids+=("$hstamp")
  "$hmq" "${certs[@]}" --host localhost --port "$tls" "${hargs[@]}" --out "$d/h.out" ${HMQ_ARGS:-} \
    2>"$d/hmq.err" &
  cpids+=($!)
  if [[ -n ${LIVE_STRACE:-} ]]; then # diagnosis: the hmq process's syscalls with times
    strace -f -T -ttt -s 65536 -e trace="$LIVE_STRACE" -o "$d/hmq.strace" -p "${cpids[0]}" 2>/dev/null &
    pids+=($!)
    # realtime - monotonic, to put strace's times beside the probe's
    python3 -c 'import time; print(time.time() - time.monotonic())' >"$d/clock.off"
  fi
  if [[ -n ${LIVE_PERF:-} ]]; then # diagnosis: where hmq's threads sleep (kernel stacks)
    local pev=(-e sched:sched_switch -e sched:sched_wakeup -g)
    [[ $LIVE_PERF == sys ]] && pev=(-e syscalls:sys_enter_write -e syscalls:sys_exit_write
      -e syscalls:sys_exit_recvfrom -e syscalls:sys_enter_poll -e syscalls:sys_exit_poll
      -e syscalls:sys_exit_sendto -e sched:sched_switch)
    [[ $LIVE_PERF == cpu ]] && pev=(-F 4999 -g) # where its CPU time goes, with stacks
    perf record -q -k CLOCK_MONOTONIC "${pev[@]}" -p "${cpids[0]}" -o "$d/perf.data" \
      >/dev/null 2>&1 &
    pids+=($!)
  fi
  # mosquitto_sub's stdout goes through a FIFO into its stamper
  mkfifo "$d/m.fifo" "$d/pub.fifo"
  "$probe" stamp --log "$d/m.recv" --seconds "$wait_s" --count "$n" <"$d/m.fifo" \
    2>"$d/m.stamp.err" &
  local mstamp=$!
  # shellcheck disable=SC2086 # MSUB_ARGS: extra options, split on purpose
  mosquitto_sub "${certs[@]}" -h localhost -p "$tls" -V 5 -q 1 -c --id "$mid" \
    -t "\$share/$app-msub/bench/live/#" ${MSUB_ARGS:-} >"$d/m.fifo" 2>"$d/msub.err" &
  cpids+=($!)
  pids+=("${cpids[@]}" "$mstamp")
  local ok=0
  for _ in $(seq 1 100); do
    if grep -q "^.*$hid 1 " "$d/mosquitto.log" && grep -q "^.*$mid 1 " "$d/mosquitto.log"; then
      ok=1
      break
    fi
    sleep 0.1
  done
  [[ $ok == 1 ]] || { echo "live: consumers did not subscribe" >&2; cat "$d/mosquitto.log" "$d/hmq.err" >&2; exit 1; }
  local lpid=
  if [[ $load == sync ]]; then
    "$probe" syncload --file "$d/syncload.bin" --mb 8 --interval-ms 100 --seconds $((secs + 2)) \
      2>"$d/syncload.err" &
    lpid=$!
    pids+=("$lpid")
    sleep 0.5
  fi
  local j0
  j0=$(cpu_idle)
  if [[ $publisher == probe ]]; then
    # the publisher: live-probe itself, one plain MQTT connection, QoS 1
    # PUBLISHes pipelined at the rate, each send time logged
    "$probe" publish --rate "$rate" --in "$d/envelopes" --log "$d/pub.log" --port "$plain" \
      --topic bench/live/v 2>"$d/pace.err" &
    local pace=$! mpub=
    pids+=("$pace")
    for _ in $(seq 1 $(((secs + 20) * 10))); do kill -0 "$pace" 2>/dev/null || break; sleep 0.1; done
    stop "$pace"
  else
    # the publisher: paced lines through a FIFO into mosquitto_pub -l. The
    # script holds the FIFO open (fd 9) until mosquitto_pub is connected, so
    # the first messages do not wait for its connection (it reads stdin only
    # after CONNACK); the children do not inherit fd 9, so EOF still arrives.
    exec 9<>"$d/pub.fifo"
    mosquitto_pub -h 127.0.0.1 -p "$plain" -V 5 -q 1 --id live-pub -t bench/live/v -l \
      <"$d/pub.fifo" 2>"$d/pub.err" 9>&- &
    local mpub=$!
    for _ in $(seq 1 100); do grep -q ' as live-pub ' "$d/mosquitto.log" && break; sleep 0.05; done
    sleep 0.1
    "$probe" pace --rate "$rate" --in "$d/envelopes" --log "$d/pub.log" >"$d/pub.fifo" \
      2>"$d/pace.err" 9>&- &
    local pace=$!
    exec 9>&-
    pids+=("$mpub" "$pace")
    for _ in $(seq 1 $(((secs + 10) * 10))); do kill -0 "$pace" 2>/dev/null || break; sleep 0.1; done
    stop "$pace"
    for _ in $(seq 1 100); do kill -0 "$mpub" 2>/dev/null || break; sleep 0.1; done
    stop "$mpub"
  fi
  # both stampers stop at n lines or after wait_s
  for _ in $(seq 1 $((wait_s * 10))); do
    kill -0 "$hstamp" 2>/dev/null || kill -0 "$mstamp" 2>/dev/null || break
    sleep 0.1
  done
  # CPU seconds each process used during the cell (broker, hmq, mosquitto_sub;
  # the publisher and the stampers print their own), and how busy the whole
  # machine was from the publisher's start to here (every process, ours or not)
  local cpu j1 busy
  j1=$(cpu_idle)
  busy=$(awk -v a="$j0" -v b="$j1" -v hz="$(getconf CLK_TCK)" -v n="$(nproc)" 'BEGIN {
    split(a, x, " "); split(b, y, " "); w = (y[1] - x[1]) * n
    if (w > 0) printf "%.0f", 100 * (1 - (y[2] - x[2]) / hz / w); else printf "?" }')
  [[ -n $lpid ]] && stop "$lpid"
  cpu="broker $(cpu_of "$bpid" 2>/dev/null || echo ?) s, hmq $(cpu_of "${cpids[0]}" 2>/dev/null || echo ?) s, mosquitto_sub $(cpu_of "${cpids[1]}" 2>/dev/null || echo ?) s"
  local p
  for p in "${cpids[@]}"; do stop "$p"; done
  stop "$hstamp"
  stop "$mstamp"
  stop "$bpid"
  local hl ml
  hl=$(lat "$d/pub.log" "$d/h.recv" "$n")
  ml=$(lat "$d/pub.log" "$d/m.recv" "$n")
  rows+=("$rate $load $hl $ml")
  echo "live[$rate msg/s, $load]: hmq p50/p99/max/missing $hl; mosquitto_sub $ml ($(cat "$d/pace.err"))" >&2
  echo "live:   slowest message sent at +$(max_at "$d/pub.log" "$d/h.recv") ms (hmq), +$(max_at "$d/pub.log" "$d/m.recv") ms (mosquitto_sub)" >&2
  echo "live:   CPU: $cpu; stampers: hmq's $(stamp_cpu "$d/h.stamp.err") s, mosquitto_sub's $(stamp_cpu "$d/m.stamp.err") s; machine busy $busy % of $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  [[ $load == sync ]] && sed 's/^/live:   /' "$d/syncload.err" >&2
  return 0
}

for r in $rates; do
  for l in $loads; do cell "$r" "$l"; done
done

# --- report ---------------------------------------------------------------------
printf '\npublish -> output line, %s s per cell, publisher %s, mosquitto %s, consumers over mutual TLS, %s CPUs\n' \
  "$secs" "$publisher" "${bver:-?}" "$(nproc)"
[[ -n ${MSUB_ARGS:-} ]] && printf 'mosquitto_sub with extra options: %s\n' "$MSUB_ARGS"
printf 'hmq: %s; mosquitto_sub %s; file system of --out: %s\n' "$hmq_from" \
  "$(mosquitto_sub --help 2>/dev/null | sed -n 's/^mosquitto_sub version \([^ ]*\).*/\1/p')" \
  "$(df -T "$tmp" 2>/dev/null | awk 'NR == 2 { print $2 }')"
echo
echo "| msg/s | load  | hmq p50 ms | hmq p99 ms | hmq max ms | msub p50 ms | msub p99 ms | msub max ms | p99 hmq/msub | max hmq/msub | p99 ≤ msub+1 | max ≤ 20 | missing hmq/msub |"
echo "|-------|-------|------------|------------|------------|-------------|-------------|-------------|--------------|--------------|--------------|----------|------------------|"
for r in "${rows[@]}"; do
  read -r rate load h50 h99 hmax hmiss m50 m99 mmax mmiss <<<"$r"
  t1=no t2=no
  awk "BEGIN { exit !($h99 <= $m99 + 1) }" && t1=yes
  awk "BEGIN { exit !($hmax <= 20) }" && t2=yes
  printf '| %5d | %-5s | %10.2f | %10.2f | %10.2f | %11.2f | %11.2f | %11.2f | %12.2f | %12.2f | %-12s | %-8s | %6d / %-7d |\n' \
    "$rate" "$load" "$h50" "$h99" "$hmax" "$m50" "$m99" "$mmax" "$(calc "$h99 / $m99")" \
    "$(calc "$hmax / $mmax")" "$t1" "$t2" "$hmiss" "$mmiss"
done
