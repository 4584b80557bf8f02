#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/wan.sh: QoS 1 throughput at WAN distance: hmq --connections N next to
# N mosquitto_sub processes, through a local delay proxy, over mutual TLS.
#
#   bench/wan.sh                      # 30 ms RTT, windows "default 50", N = 1 2 4 8
#   WAN_N="1 8" WAN_WINDOWS=50 bench/wan.sh
#
# A QoS 1 stream moves at most window / RTT messages per second per
# connection. The broker is mosquitto from Debian 12's backports (2.0.21,
# scripts/get-mosquitto; it holds to the client's Receive Maximum, which
# Debian 12's 2.0.11 does not while draining), started fresh for every cell
# (127.0.0.1 only, no persistence, max_queued_messages 500000,
# max_queued_bytes 0), once with its default window (max_inflight_messages
# unset = 20: what a client that sends no Receive Maximum gets) and once with
# max_inflight_messages 50. For each window and each N:
#  1. hmq (--connections N, its default Receive Maximum, share group A) and
#     N mosquitto_sub (-V 5 -q 1 -c, share group B) create their persistent
#     sessions directly on the broker's TLS listener and leave;
#  2. two hmq-sim load a backlog of realistic ~1.4 KB envelopes for each
#     group over the plain listener (topics bench/h/... and bench/m/...);
#  3. tools/delay-proxy (--delay-ms RTT/2 each way) sits in front of the TLS
#     listener; hmq (--out FILE, fsync before every PUBACK batch) drains
#     through it for WAN_SECONDS, then the N mosquitto_sub (stdout to files)
#     do (one after the other: a consumer that is not window-bound takes the
#     broker's CPU from the other on 2 cores), while tools/live-probe counts
#     the lines of every output every 100 ms;
#  4. msg/s = lines gained from 0.5 s after the first line until the end (or
#     until that consumer's backlog ran out), per consumer side.
# Printed: msg/s for both, hmq / mosquitto_sub (same cell, same broker), the
# window-allowed target 0.9 * N * window / RTT, and the apparent in-flight
# messages per connection (msg/s * RTT / N).
#
# Environment: HMQ_BUILD_DIR (default build/wan, Release with hmq, hmq-sim,
# delay-proxy, live-probe), MOSQUITTO (a broker binary; default: the one
# scripts/get-mosquitto fetches), WAN_RTT_MS (30), WAN_SECONDS (4),
# WAN_N ("1 2 4 8"), WAN_WINDOWS ("default 50"), WAN_HMQ_BACKLOG (60000),
# HMQ_ARGS (extra hmq options), HMQ_REF (build everything from this commit,
# e.g. HEAD, exported with git archive into build/ref-<sha>, instead of from
# the working tree), WAN_KEEP=1 (keep the temp dir).
# Every step has a timeout; everything started is stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
bdir=${HMQ_BUILD_DIR:-$root/build/wan}
rtt_ms=${WAN_RTT_MS:-30}
secs=${WAN_SECONDS:-4}
ns=${WAN_N:-1 2 4 8}
windows=${WAN_WINDOWS:-default 50}
hback=${WAN_HMQ_BACKLOG:-60000}
[[ $rtt_ms =~ ^[0-9]+$ && $rtt_ms -ge 2 && $rtt_ms -le 1000 ]] || { echo "wan: WAN_RTT_MS 2..1000" >&2; exit 2; }
[[ $secs =~ ^[0-9]+$ && $secs -ge 2 && $secs -le 60 ]] || { echo "wan: WAN_SECONDS 2..60" >&2; exit 2; }
[[ $hback =~ ^[0-9]+$ && $hback -ge 1000 && $hback -le 400000 ]] || { echo "wan: WAN_HMQ_BACKLOG 1000..400000" >&2; exit 2; }
for n in $ns; do [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 16 ]] || { echo "wan: WAN_N values 1..16" >&2; exit 2; }; done
for w in $windows; do [[ $w == default || ($w =~ ^[0-9]+$ && $w -ge 1 && $w -le 65535) ]] || { echo "wan: WAN_WINDOWS: default or 1..65535" >&2; exit 2; }; done

. "$root/bench/lib.sh"
bench_init wan "${WAN_KEEP:-0}"
bench_pick_broker get
bench_select_source "$bdir"
bench_tools "$root/build/wan" delay_proxy=tools/delay-proxy/delay_proxy.c live_probe=tools/live-probe/live_probe.c
proxy=$tools/delay-proxy
probe=$tools/live-probe

bench_pki
rows=()
app=879577a3-b25f-4a28-8c0e-7effcc7682a2

# rate SAMPLES BACKLOG: msg/s over the samples (last column: all lines),
# and "ok", "exhausted" (backlog ran out, rate up to then) or "short"
rate_of() {
  awk -v B="$2" '
    { t[NR] = $1 / 1000; c[NR] = $NF }
    END {
      first = 0; reach = 0; s = 0
      for (i = 1; i <= NR; i++) if (c[i] > 0) { first = i; break }
      if (!first) { print 0, "none"; exit }
      for (i = first; i <= NR; i++) if (c[i] >= B) { reach = i; break }
      for (i = first; i <= NR; i++) if (t[i] >= t[first] + 0.5) { s = i; break }
      e = reach ? reach - 1 : NR
      if (s && e > s) { print (c[e] - c[s]) / (t[e] - t[s]), reach ? "exhausted" : "ok"; exit }
      # gone in under ~0.6 s: from the first line to the sample that saw
      # the end (start-up included, so a lower bound)
      e = reach ? reach : NR
      print (c[e] - c[first]) / (t[e] - t[first] > 0 ? t[e] - t[first] : 0.1), "short"
    }' "$1"
}

cell() { # window N
  local w=$1 n=$2 d=$tmp/w$1-n$2 tls plain bpid i
  mkdir -p "$d"
  plain=$(free_port)
  tls=$(free_port)
  while [[ $tls == "$plain" ]]; do tls=$(free_port); done
  local wl=()
  [[ $w != default ]] && wl=("max_inflight_messages $w")
  bench_broker_conf "$d" "$plain" "$tls" tls "persistence false" "${wl[@]}"
  bench_broker_start "$d" "$tls"

  local certs=(--cafile "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key")
  local hid="$app-sandbox-wanh" mid="$app-sandbox-wanm"
  local htopic="\$share/$app/bench/h/#" mtopic="\$share/$app-msub/bench/m/#"
  local hargs=(-V 5 -q 1 -c --id "$hid" -t "$htopic" --connections "$n" --state-dir "$d/state")
  [[ -z ${HMQ_ARGS:-} ]] && hargs+=(--quiet)

  # 1. sessions, directly on the broker
  timeout 30 "$hmq" "${certs[@]}" --host localhost --port "$tls" "${hargs[@]}" --out "$d/warm.out" \
    -W 1 >/dev/null 2>&1 || true
  for i in $(seq 1 "$n"); do
    timeout 30 mosquitto_sub "${certs[@]}" -h localhost -p "$tls" -V 5 -q 1 -c --id "$mid-$i" \
      -t "$mtopic" -E
  done

  # 2. backlogs: mosquitto_sub's sized for ~2x what the window allows in the
  # measured time; hmq's WAN_HMQ_BACKLOG (at least as large)
  local wn=$w
  [[ $w == default ]] && wn=20
  local mback hb
  mback=$(awk -v n="$n" -v w="$wn" -v r="$rtt_ms" -v s="$secs" 'BEGIN { b = int(2 * n * w / (r / 1000) * s) + 1000; print (b > 150000) ? 150000 : b }')
  hb=$hback
  [[ $hb -lt $mback ]] && hb=$mback
  local t0 t1 lh lm
  t0=$(date +%s.%N)
  timeout 300 "$sim" --plain --host 127.0.0.1 --port "$plain" -n "$hb" --vins 1000 --dup-rate 0 \
    --seed 1 --app-id "$app" --topic-prefix bench/h --id loader-h --timeout 280 --quiet >"$d/load-h" &
  lh=$!
  timeout 300 "$sim" --plain --host 127.0.0.1 --port "$plain" -n "$mback" --vins 1000 --dup-rate 0 \
    --seed 2 --app-id "$app" --topic-prefix bench/m --id loader-m --timeout 280 --quiet >"$d/load-m" &
  lm=$!
  wait "$lh" || true
  wait "$lm" || true
  t1=$(date +%s.%N)
  [[ $(sed -n 's/^acked //p' "$d/load-h") == "$hb" && $(sed -n 's/^acked //p' "$d/load-m") == "$mback" ]] ||
    { echo "wan: backlog not loaded ($(cat "$d/load-h" "$d/load-m" | tr '\n' ' '))" >&2; exit 1; }
  echo "wan[window $w, N $n]: loaded $hb + $mback envelopes in $(calc "$t1 - $t0") s" >&2

  # 3. proxy, then both consumers at once, counted every 100 ms
  # the files exist before the proxy starts: the background job opens its
  # redirections after the fork, and a sed that ran first failed the cell
  # (set -e) with "can't read .../proxy.out"
  : >"$d/proxy.out"
  : >"$d/proxy.err"
  "$proxy" --listen 0 --target "$tls" --delay-ms "$(calc "$rtt_ms / 2")" --seconds $((secs + 60)) \
    --max-conns 64 >"$d/proxy.out" 2>"$d/proxy.err" &
  local ppid=$!
  pids+=("$ppid")
  local pport=
  for _ in $(seq 1 50); do
    pport=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$d/proxy.out")
    [[ -n $pport ]] && break
    sleep 0.1
  done
  [[ -n $pport ]] || { echo "wan: delay-proxy did not start" >&2; cat "$d/proxy.err" >&2; exit 1; }
  # one after the other, hmq first: a consumer that is not window-bound
  # takes CPU from the broker and the other consumer (2 cores), so they
  # never drain at the same moment
  local files=() cpids=() p
  : >"$d/h.out"
  "$hmq" "${certs[@]}" --host localhost --port "$pport" "${hargs[@]}" --out "$d/h.out" \
    ${HMQ_ARGS:-} 2>"$d/hmq.err" &
  cpids+=($!)
  pids+=("${cpids[@]}")
  "$probe" count --interval-ms 100 --seconds "$secs" "$d/h.out" >"$d/samples.h"
  for p in "${cpids[@]}"; do stop "$p"; done
  cpids=()
  for i in $(seq 1 "$n"); do
    mosquitto_sub "${certs[@]}" -h localhost -p "$pport" -V 5 -q 1 -c --id "$mid-$i" -t "$mtopic" \
      >"$d/m-$i.out" 2>"$d/m-$i.err" &
    cpids+=($!)
    files+=("$d/m-$i.out")
  done
  pids+=("${cpids[@]}")
  "$probe" count --interval-ms 100 --seconds "$secs" "${files[@]}" >"$d/samples.m"
  for p in "${cpids[@]}"; do stop "$p"; done
  stop "$ppid"
  stop "$bpid"

  local rh fh rm fm
  read -r rh fh <<<"$(rate_of "$d/samples.h" "$hb")"
  read -r rm fm <<<"$(rate_of "$d/samples.m" "$mback")"
  rows+=("$w $n $rh $fh $rm $fm")
  printf 'wan[window %s, N %s]: hmq %.0f msg/s (%s), mosquitto_sub x%s %.0f msg/s (%s)\n' \
    "$w" "$n" "$rh" "$fh" "$n" "$rm" "$fm" >&2
}

for w in $windows; do
  for n in $ns; do cell "$w" "$n"; done
done

# --- report ---------------------------------------------------------------------
printf '\nRTT %s ms (tools/delay-proxy, %g ms each way), mosquitto %s, mutual TLS, %s CPUs, %s s per cell\n' \
  "$rtt_ms" "$(calc "$rtt_ms / 2")" "${bver:-?}" "$(nproc)" "$secs"
printf 'hmq: %s; mosquitto_sub %s\n' "$hmq_from" "$(mosquitto_sub --help 2>/dev/null | sed -n 's/^mosquitto_sub version \([^ ]*\).*/\1/p')"
echo
echo "| broker window | N | hmq msg/s | mosquitto_sub msg/s | hmq / mosquitto_sub | target 0.9·N·W/RTT | hmq / target | in flight per conn hmq / msub |"
echo "|---------------|---|-----------|---------------------|---------------------|--------------------|--------------|-------------------------------|"
for r in "${rows[@]}"; do
  read -r w n rh fh rm fm <<<"$r"
  wn=$w
  [[ $w == default ]] && wn=20
  tgt=$(calc "0.9 * $n * $wn * 1000 / $rtt_ms")
  note=
  [[ $fh != ok ]] && note+=" (hmq: $fh)"
  [[ $fm != ok ]] && note+=" (msub: $fm)"
  wlabel="$w"
  [[ $w == default ]] && wlabel="default (20)"
  printf '| %-13s | %d | %9.0f | %19.0f | %19.2f | %18.0f | %12.2f | %13.1f / %-13.1f |%s\n' \
    "$wlabel" "$n" "$rh" "$rm" "$(calc "$rh / ($rm > 0 ? $rm : 1)")" "$tgt" "$(calc "$rh / $tgt")" \
    "$(calc "$rh * $rtt_ms / 1000 / $n")" "$(calc "$rm * $rtt_ms / 1000 / $n")" "$note"
done
echo
echo "Targets: one connection, default window: hmq >= 10x mosquitto_sub;"
echo "window 50: hmq >= 0.9·N·50/RTT for every N."
