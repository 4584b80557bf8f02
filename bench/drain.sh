#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/drain.sh [N]: time draining a backlog of N realistic envelopes
# (default 100000; `bench/drain.sh 5000` is a smoke run) from a persistent
# session, hmq next to mosquitto_sub, over plain TCP and over mutual TLS.
#
# For each transport, with a fresh mosquitto (127.0.0.1 only, fresh data
# dir, persistence on, max_queued_messages 500000, max_queued_bytes 0):
#  1. both consumers create their persistent session (Clean Start 0, Session
#     Expiry > 0, QoS 1 subscription, each in its own share group) and
#     disconnect; hmq's session-creating TLS connection passes through
#     bench_tls_probe, which reports the cipher suite the broker picked;
#  2. hmq-sim loads N envelopes (~1.4 KB, 1000 VINs, no duplicates) over a
#     plain listener, QoS 1, all acknowledged;
#  3. `hmq ... -C N --out FILE` (file sink, fsync before every PUBACK batch)
#     drains its queue; then `mosquitto_sub -c -V 5 -q 1 --id ... -C N >FILE`
#     (the snippet's options) drains its own.
# Measured per consumer with /usr/bin/time -v: wall time, user and system
# CPU, peak RSS; the broker's CPU during each drain from /proc. Every step
# has a timeout (DRAIN_TIMEOUT, default 300 s per drain).
#
# The broker is mosquitto 2.0.21 from Debian 12's backports when
# scripts/get-mosquitto can fetch it (MOSQUITTO=path picks another), else
# the system's: Debian 12's 2.0.11 ignores the client's Receive Maximum
# while draining (docs/mosquitto.md) and a TLS drain against it may never
# finish.
#
# Environment: HMQ_BUILD_DIR (default build/drain, built here as Release
# with the hmq, hmq-sim and bench_tls_probe targets), DRAIN_TIMEOUT,
# HMQ_BIN (the hmq to measure, e.g. build/static/hmq from scripts/static;
# default the one built here), TRANSPORTS (default "plain tls"), HMQ_ARGS (extra options for the hmq
# drain, e.g. "--stats 1 -d"), DRAIN_KEEP=1 (keep the temp dir: broker logs,
# outputs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
N=${1:-100000}
[[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 500000 ]] || { echo "usage: bench/drain.sh [N 1..500000]" >&2; exit 2; }
bdir=${HMQ_BUILD_DIR:-$root/build/drain}
dt=${DRAIN_TIMEOUT:-300}
transports=${TRANSPORTS:-plain tls}
app=879577a3-b25f-4a28-8c0e-7effcc7682a2
base="sandbox/level13/$app"

. "$root/bench/lib.sh"
bench_init drain "${DRAIN_KEEP:-0}"
bench_need_time
bench_pick_broker prefer-get

echo "drain: building hmq, hmq-sim, bench_tls_probe (Release) in $bdir" >&2
bench_build "$root" "$bdir" ON hmq_cli hmq_sim bench_tls_probe
hmq=${HMQ_BIN:-$bdir/hmq} # HMQ_BIN=build/static/hmq: the static musl + mbedTLS 3.6 build
sim=$bdir/hmq-sim
probe=$bdir/bench/bench_tls_probe

bench_pki
rows=()
suite_line="(not measured)"

run() { # transport
  local tr=$1 d=$tmp/$1 pub sub bpid
  mkdir -p "$d/data"
  pub=$(free_port)
  sub=$(free_port)
  while [[ $sub == "$pub" ]]; do sub=$(free_port); done
  bench_broker_conf "$d" "$pub" "$sub" "$tr" "persistence true" "persistence_location $d/data/"
  bench_broker_start "$d" "$sub"

  local hconn=(--plain --host 127.0.0.1 --port "$sub")
  local mconn=(-h 127.0.0.1 -p "$sub")
  if [[ $tr == tls ]]; then
    hconn=(--cafile "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" --host localhost
      --port "$sub")
    mconn=(--cafile "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" -h localhost
      -p "$sub")
  fi
  local hid="$app-sandbox-hmqbench" mid="$app-sandbox-subbench"
  # hmq in the documented share group, mosquitto_sub in a second group (each
  # group gets its own copy of every message)
  local htopic="\$share/$app/$base/#" mtopic="\$share/$app-msub/$base/#"
  local hargs=(-V 5 -q 1 -c --id "$hid" -t "$htopic" --state-dir "$d/state")
  [[ -z ${HMQ_ARGS:-} ]] && hargs+=(--quiet)

  # 1. sessions (hmq's through the probe when TLS)
  if [[ $tr == tls ]]; then
    local pp
    pp=$(free_port)
    "$probe" "$pp" "$sub" 20 >"$d/probe.out" &
    local probe_pid=$!
    pids+=("$probe_pid")
    sleep 0.2
    timeout 30 "$hmq" --cafile "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" \
      --host localhost --port "$pp" "${hargs[@]}" --out "$d/warm.out" -W 1 --quiet || true
    wait "$probe_pid" || true
    local s
    s=$(sed -n 's/^suite \(0x[0-9A-F]*,0x[0-9A-F]*\) version \(.*\)$/\1 \2/p' "$d/probe.out")
    if [[ -n $s ]]; then
      local id=${s%% *} ver=${s#* } name
      name=$(openssl ciphers -V ALL 2>/dev/null | awk -v id="$id" '$1 == id { print $3; exit }')
      suite_line="$ver ${name:-?} ($id), chosen by mosquitto ${bver:-?} for hmq's ClientHello"
    fi
  else
    timeout 30 "$hmq" "${hconn[@]}" "${hargs[@]}" --out "$d/warm.out" -W 1 --quiet || true
  fi
  timeout 30 mosquitto_sub "${mconn[@]}" -V 5 -q 1 -c --id "$mid" -t "$mtopic" -E

  # 2. load
  local t0 t1 acked
  t0=$(date +%s.%N)
  acked=$(timeout $((dt * 2)) "$sim" --plain --host 127.0.0.1 --port "$pub" -n "$N" --vins 1000 \
    --dup-rate 0 --seed 1 --app-id "$app" --id loader --timeout $((dt * 2)) --quiet |
    sed -n 's/^acked //p')
  t1=$(date +%s.%N)
  [[ $acked == "$N" ]] || { echo "drain: only ${acked:-0} of $N loaded" >&2; exit 1; }
  echo "drain[$tr]: loaded $N envelopes in $(calc "$t1 - $t0") s" >&2

  # 3. drains
  local c0 c1 bh bm
  c0=$(cpu_of "$bpid")
  /usr/bin/time -v -o "$d/hmq.time" timeout "$dt" "$hmq" "${hconn[@]}" "${hargs[@]}" \
    --out "$d/hmq.out" -C "$N" ${HMQ_ARGS:-} || { echo "drain: hmq failed" >&2; cat "$d/hmq.time" >&2; exit 1; }
  c1=$(cpu_of "$bpid")
  bh=$(calc "$c1 - $c0")
  c0=$c1
  /usr/bin/time -v -o "$d/msub.time" timeout "$dt" mosquitto_sub "${mconn[@]}" -V 5 -q 1 -c \
    --id "$mid" -t "$mtopic" -C "$N" >"$d/msub.out" ||
    { echo "drain: mosquitto_sub failed" >&2; cat "$d/msub.time" >&2; exit 1; }
  c1=$(cpu_of "$bpid")
  bm=$(calc "$c1 - $c0")
  local lh lm
  lh=$(wc -l <"$d/hmq.out")
  lm=$(wc -l <"$d/msub.out")
  [[ $lh == "$N" && $lm == "$N" ]] || { echo "drain: lines hmq $lh, mosquitto_sub $lm, want $N" >&2; exit 1; }
  kill "$bpid" 2>/dev/null || true
  # connections each consumer needed for its drain (the first one was the
  # session set-up); more than one means it reconnected mid-drain
  local nh nm
  nh=$(grep -c "New client connected .* as $hid " "$d/mosquitto.log" || true)
  nm=$(grep -c "New client connected .* as $mid " "$d/mosquitto.log" || true)

  local who tf w u s rss bc_ per conns
  for who in hmq msub; do
    tf=$d/$who.time
    w=$(wall_s "$(tv "$tf" 'Elapsed (wall clock) time (h:mm:ss or m:ss)')")
    u=$(tv "$tf" 'User time (seconds)')
    s=$(tv "$tf" 'System time (seconds)')
    rss=$(tv "$tf" 'Maximum resident set size (kbytes)')
    [[ $who == hmq ]] && bc_=$bh || bc_=$bm
    [[ $who == hmq ]] && conns=$((nh - 1)) || conns=$((nm - 1))
    per=$(calc "($u + $s) * 1000000 / $N")
    rows+=("$tr $who $w $u $s $per $rss $bc_ $conns")
  done
}

for tr in $transports; do run "$tr"; done

# --- report ---------------------------------------------------------------------
printf '\nN = %d envelopes (avg %s bytes), mosquitto %s, %s\n' "$N" \
  "$("$sim" --write - -n 2000 --vins 1000 --dup-rate 0 --seed 1 --app-id "$app" --quiet | awk '{ s += length($0) } END { printf "%.0f", s / NR }')" \
  "$("$broker" -h 2>/dev/null | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p')" \
  "$(nproc) CPUs"
echo "TLS: $suite_line"
echo
echo "| transport | consumer      | wall s | msg/s   | user s | sys s | CPU µs/msg | peak RSS MB | broker CPU µs/msg | connections |"
echo "|-----------|---------------|--------|---------|--------|-------|------------|-------------|-------------------|-------------|"
for r in "${rows[@]}"; do
  read -r tr who w u s per rss bcpu conns <<<"$r"
  name=hmq
  [[ $who == msub ]] && name=mosquitto_sub
  printf '| %-9s | %-13s | %6.2f | %7.0f | %6.2f | %5.2f | %10.2f | %11.1f | %17.2f | %11d |\n' \
    "$tr" "$name" "$w" "$(calc "$N / $w")" "$u" "$s" "$per" "$(calc "$rss / 1024")" \
    "$(calc "$bcpu * 1000000 / $N")" "$conns"
done
echo
for tr in $transports; do
  h=() m=()
  for r in "${rows[@]}"; do
    read -r -a f <<<"$r"
    [[ ${f[0]} == "$tr" && ${f[1]} == hmq ]] && h=("${f[@]}")
    [[ ${f[0]} == "$tr" && ${f[1]} == msub ]] && m=("${f[@]}")
  done
  printf 'ratio hmq/mosquitto_sub (%s): CPU per message %.2f, wall %.2f, peak RSS %.2f\n' "$tr" \
    "$(calc "${h[5]} / ${m[5]}")" "$(calc "${h[2]} / ${m[2]}")" \
    "$(calc "${h[6]} / ${m[6]}")"
done
