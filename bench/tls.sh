#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/tls.sh [N]: CPU per message of a backlog drain over mutual TLS, hmq
# next to mosquitto_sub in the same run, per TLS version and AEAD, with the
# broker's default window (20) and a wide one; the cipher floor of each TLS
# library on this machine; the static binary's size by origin.
# (default N 50000; `bench/tls.sh 2000` is a smoke run)
#
# 1. Cipher floors: bench/bench_cipher built three times: system mbedTLS
#    (Debian 12: 2.28) + OpenSSL, mbedTLS 3.6 for glibc and for musl as
#    scripts/static builds them (same configuration). Microseconds to open
#    one 1.4 KB record, the fastest of 5 rounds of 20,000.
# 2. Drains. For each window (TLS_WINDOWS, default "20 wide": mosquitto's
#    default max_inflight_messages, then max_inflight_messages 0, i.e. the
#    client's Receive Maximum: 2048 for hmq, 65535 for mosquitto_sub) and
#    each case (TLS_CASES, default all six of 1.3|1.2 x AES128|AES256|CHACHA)
#    a fresh mosquitto 2.0.21 (scripts/get-mosquitto; 127.0.0.1 only) with a
#    plain listener for the load and one mutual-TLS listener that allows
#    only that case's suite (`ciphers_tls1.3` for 1.3, `ciphers` for 1.2;
#    for 1.2 the broker's OpenSSL is also capped at TLS 1.2 through an
#    OPENSSL_CONF file, since mosquitto's `tls_version` is only a minimum).
#    Each consumer creates its persistent session (own share group: each
#    gets its own copy of every message), hmq-sim loads N envelopes, then
#    each drains its copy under /usr/bin/time -v:
#      hmq (static, musl + mbedTLS 3.6: scripts/static),
#      hmq (dynamic, system mbedTLS 2.28: TLS 1.2 cases only; it has no 1.3),
#      mosquitto_sub (OpenSSL), and in the first case also the static hmq
#      with --dedupe 1000 (RSS without the 1,000,000-id duplicate filter).
#    hmq's session run has -d; its "TLS established: <version> <suite>" line
#    is checked against the case (the script stops on a mismatch).
#    Each hmq drain: `--out FILE -C N` (fsync before every PUBACK batch,
#    dedupe and envelope validation on); mosquitto_sub: `-C N >FILE`. Both
#    files must hold N lines.
# 3. Size: the static binary's linker map (scripts/static writes it) summed
#    per origin (mbedTLS libraries, musl libc, hmq's own libraries and
#    program, compiler runtime).
#
# hmq is built from a clean snapshot of HMQ_REF (default HEAD: git archive,
# the working tree is not used; HMQ_REF=tree uses the working tree).
# Environment: N as $1, TLS_WINDOWS, TLS_CASES, DRAIN_TIMEOUT (default 120 s
# per drain), TLS_KEEP=1 (keep the temp dir), MOSQUITTO (broker binary).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
N=${1:-50000}
[[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 200000 ]] || { echo "usage: bench/tls.sh [N 1..200000]" >&2; exit 2; }
dt=${DRAIN_TIMEOUT:-120}
windows=${TLS_WINDOWS:-20 wide}
cases=${TLS_CASES:-1.3:AES128 1.3:AES256 1.3:CHACHA 1.2:AES128 1.2:AES256 1.2:CHACHA}
app=879577a3-b25f-4a28-8c0e-7effcc7682a2
base="sandbox/level13/$app"

. "$root/bench/lib.sh"
bench_init tls "${TLS_KEEP:-0}"
bench_need_time
bench_pick_broker get
command -v mosquitto_sub >/dev/null || bench_die "mosquitto_sub not found (apt-get install mosquitto-clients)"
command -v musl-gcc >/dev/null || bench_die "musl-gcc not found (apt-get install musl-tools)"

# --- sources and builds ---------------------------------------------------------
ref=${HMQ_REF:-HEAD}
if [[ $ref == tree ]]; then
  src=$root
  from="working tree"
  out=$root/build/tls-bench
else
  sha=$(git -C "$root" rev-parse --short "$ref^{commit}") || bench_die "HMQ_REF: no such commit"
  out=$root/build/tls-bench-$sha
  src=$out/src
  if [[ ! -f $src/CMakeLists.txt ]]; then
    rm -rf "$src"
    mkdir -p "$src"
    git -C "$root" archive "$sha" | tar -x -C "$src"
  fi
  from="commit $sha"
  export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct "$sha")}
fi
echo "tls: building from $from in $out" >&2
bench_build "$src" "$out/dyn" ON hmq_cli hmq_sim
HMQ_STATIC_DIR=$out/static HMQ_MBEDTLS_DIR=$root/build/mbedtls "$src/scripts/static" >/dev/null
gnu_prefix=$(HMQ_MBEDTLS_DIR=$root/build/mbedtls "$src/scripts/static" --gnu)
musl_prefix=$(cat "$out/static/mbedtls-prefix")
hmq_static=$out/static/hmq
hmq_dyn=$out/dyn/hmq
sim=$out/dyn/hmq-sim
cflags=(-O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L)
gcc "${cflags[@]}" -DHMQ_BENCH_OPENSSL "$src/bench/bench_cipher.c" -o "$tmp/cipher-228" -lmbedcrypto -lcrypto
gcc "${cflags[@]}" -I"$gnu_prefix/include" "$src/bench/bench_cipher.c" -o "$tmp/cipher-36" \
  "$gnu_prefix/lib/libmbedcrypto.a"
musl-gcc -static "${cflags[@]}" -I"$musl_prefix/include" "$src/bench/bench_cipher.c" \
  -o "$tmp/cipher-36musl" "$musl_prefix/lib/libmbedcrypto.a"

# --- 1. cipher floors ---------------------------------------------------------------
echo "tls: cipher floors" >&2
declare -A floor
while read -r _ lib aead _ _ us _; do
  floor["$lib $aead"]=$us
done < <("$tmp/cipher-228"; "$tmp/cipher-36"; "$tmp/cipher-36musl" | sed 's/^floor mbedTLS-/floor musl-mbedTLS-/')
libs=()
for k in "${!floor[@]}"; do libs+=("${k% *}"); done
mapfile -t libs < <(printf '%s\n' "${libs[@]}" | sort -u)

# --- 2. drains -----------------------------------------------------------------------
bench_pki
cat >"$tmp/tls12.cnf" <<'EOF'
openssl_conf = hmq_bench
[hmq_bench]
ssl_conf = hmq_ssl
[hmq_ssl]
system_default = hmq_tls12
[hmq_tls12]
MaxProtocol = TLSv1.2
EOF
rows=()

case_conf() { # version aead -> broker lines, expected mbedTLS suite part
  local v=$1 a=$2 o12 o13
  case $a in
    AES128) o13=TLS_AES_128_GCM_SHA256; o12=ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256; want=AES-128-GCM ;;
    AES256) o13=TLS_AES_256_GCM_SHA384; o12=ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384; want=AES-256-GCM ;;
    CHACHA) o13=TLS_CHACHA20_POLY1305_SHA256; o12=ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305; want=CHACHA20-POLY1305 ;;
    *) bench_die "TLS_CASES: unknown AEAD '$a' (AES128, AES256, CHACHA)" ;;
  esac
  case $v in
    1.3) tls_lines=("ciphers_tls1.3 $o13") ;;
    1.2) tls_lines=("ciphers $o12") ;;
    *) bench_die "TLS_CASES: unknown version '$v' (1.2, 1.3)" ;;
  esac
}

run_case() { # window version aead first
  local win=$1 v=$2 a=$3 first=$4 d pub sub want tls_lines=() extra=()
  d=$tmp/$win-$v-$a
  mkdir -p "$d"
  case_conf "$v" "$a"
  pub=$(free_port)
  sub=$(free_port)
  while [[ $sub == "$pub" ]]; do sub=$(free_port); done
  [[ $win != 20 ]] && extra+=("max_inflight_messages 0")
  bench_broker_conf "$d" "$pub" "$sub" tls "${extra[@]}"
  printf '%s\n' "${tls_lines[@]}" >>"$d/mosquitto.conf"
  if [[ $v == 1.2 ]]; then
    OPENSSL_CONF=$tmp/tls12.cnf bench_broker_start "$d" "$sub"
  else
    bench_broker_start "$d" "$sub"
  fi
  local tlsargs=(--cafile "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key")
  local who consumers=(static msub)
  [[ $v == 1.2 ]] && consumers=(static dyn228 msub)
  [[ $first == 1 ]] && consumers+=(static-d1k)
  for who in "${consumers[@]}"; do
    local id="$app-sandbox-$who" topic="\$share/$app-$who/$base/#"
    if [[ $who == msub ]]; then
      timeout 30 mosquitto_sub "${tlsargs[@]}" -h localhost -p "$sub" -V 5 -q 1 -c --id "$id" \
        -t "$topic" -E || bench_die "mosquitto_sub session ($win $v $a) failed"
      continue
    fi
    local bin=$hmq_static
    [[ $who == dyn228 ]] && bin=$hmq_dyn
    timeout 30 "$bin" "${tlsargs[@]}" --host localhost --port "$sub" -V 5 -q 1 -c --id "$id" \
      -t "$topic" --state-dir "$d/state-$who" --out "$d/warm-$who.out" -W 1 -d 2>"$d/warm-$who.err" || true
    local est
    est=$(sed -n 's/.*TLS established: //p' "$d/warm-$who.err" | head -n 1)
    [[ $est == *"$v"* && $est == *"$want"* ]] ||
      bench_die "$who ($win $v $a): negotiated '${est:-nothing}', want TLS $v with $want (see $d/warm-$who.err)"
    echo "$est" >"$d/suite-$who"
  done

  local acked
  acked=$(timeout $((dt * 2)) "$sim" --plain --host 127.0.0.1 --port "$pub" -n "$N" --vins 1000 \
    --dup-rate 0 --seed 1 --app-id "$app" --id loader --timeout $((dt * 2)) --quiet |
    sed -n 's/^acked //p')
  [[ $acked == "$N" ]] || bench_die "only ${acked:-0} of $N loaded"

  for who in "${consumers[@]}"; do
    local id="$app-sandbox-$who" topic="\$share/$app-$who/$base/#" tf=$d/$who.time
    if [[ $who == msub ]]; then
      /usr/bin/time -v -o "$tf" timeout "$dt" mosquitto_sub "${tlsargs[@]}" -h localhost -p "$sub" \
        -V 5 -q 1 -c --id "$id" -t "$topic" -C "$N" >"$d/$who.out" ||
        { cat "$tf" >&2; bench_die "mosquitto_sub drain ($win $v $a) failed"; }
    else
      local bin=$hmq_static more=()
      [[ $who == dyn228 ]] && bin=$hmq_dyn
      [[ $who == static-d1k ]] && more=(--dedupe 1000)
      /usr/bin/time -v -o "$tf" timeout "$dt" "$bin" "${tlsargs[@]}" --host localhost --port "$sub" \
        -V 5 -q 1 -c --id "$id" -t "$topic" --state-dir "$d/state-$who" --quiet "${more[@]}" \
        --out "$d/$who.out" -C "$N" || { cat "$tf" >&2; bench_die "hmq $who drain ($win $v $a) failed"; }
    fi
    local lines
    lines=$(wc -l <"$d/$who.out")
    [[ $lines == "$N" ]] || bench_die "$who ($win $v $a): $lines lines, want $N"
    local u s rss w
    u=$(tv "$tf" 'User time (seconds)')
    s=$(tv "$tf" 'System time (seconds)')
    rss=$(tv "$tf" 'Maximum resident set size (kbytes)')
    w=$(wall_s "$(tv "$tf" 'Elapsed (wall clock) time (h:mm:ss or m:ss)')")
    rows+=("$win $v $a $who $(calc "($u + $s) * 1000000 / $N") $u $s $rss $w")
  done
  local c
  c=$(grep -c "New client connected .* as $app-sandbox-static " "$d/mosquitto.log" || true)
  [[ $c == 2 ]] || echo "tls: note: static hmq connected $c times in $win $v $a (2 = session + drain)" >&2
  stop "$bpid"
  echo "tls: $win $v $a done" >&2
}

for win in $windows; do
  first=1
  for c in $cases; do
    run_case "$win" "${c%%:*}" "${c#*:}" "$first"
    first=0
  done
done

# --- 3. size ---------------------------------------------------------------------------
# Bytes of .text/.rodata/.data* per input file of the linker map, grouped by
# origin. (Sections the linker dropped with --gc-sections are listed under
# "Discarded input sections" and not counted.)
size_report() {
  awk '
    /^Discarded input sections/ { skip = 1 }
    /^Linker script and memory map/ { skip = 0 }
    skip { next }
    # a section line: " .text.name  0xaddr  0xsize  file" (or name alone, rest on the next line)
    /^ \.(text|rodata|data|init_array|fini_array|eh_frame|gcc_except_table|tdata)/ {
      n = split($0, f, /[ \t]+/)
      if (n >= 5) { add(f[4], f[5]) ; pending = 0 } else pending = 1
      next
    }
    pending && /^[ \t]+0x[0-9a-f]+[ \t]+0x[0-9a-f]+[ \t]+/ {
      split($0, f, /[ \t]+/); add(f[3], f[4]); pending = 0; next
    }
    { pending = 0 }
    function hex(h,   i, v) { # "0x1a2" -> 418 (mawk has no strtonum)
      v = 0
      h = tolower(substr(h, 3))
      for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
      return v
    }
    function add(sz, file,   o) {
      sz = hex(sz)
      if (sz == 0) return
      if (file ~ /libmbedcrypto\.a/) o = "mbedTLS crypto (libmbedcrypto)"
      else if (file ~ /libmbedx509\.a/) o = "mbedTLS X.509 (libmbedx509)"
      else if (file ~ /libmbedtls\.a/) o = "mbedTLS TLS (libmbedtls)"
      else if (file ~ /musl|libc\.a|crt1\.o|crti\.o|crtn\.o/) o = "musl libc"
      else if (file ~ /libgcc|crtbegin|crtend/) o = "compiler runtime (libgcc)"
      else if (file ~ /libhmq_pipeline|pipeline/) o = "hmq pipeline (sinks, dedupe, loop, options)"
      else if (file ~ /hmq/) o = "hmq libraries + program"
      else o = "other: " file
      tot[o] += sz; all += sz
      m = file; sub(/.*\//, "", m); obj[m] += sz
    }
    END {
      if (by == "origin") for (o in tot) printf "%s\t%d\t%.1f\n", o, tot[o], 100 * tot[o] / all
      else for (o in obj) printf "%s\t%d\t%.1f\n", o, obj[o], 100 * obj[o] / all
      if (by == "origin") printf "total\t%d\t100.0\n", all
    }
  ' by="${1:-origin}" "$out/static/hmq.map" | sort -t "$(printf '\t')" -k2,2nr
}

# --- report ------------------------------------------------------------------------------
avg=$("$sim" --write - -n 2000 --vins 1000 --dup-rate 0 --seed 1 --app-id "$app" --quiet |
  awk '{ s += length($0) } END { printf "%.0f", s / NR }')
printf '\nN = %d envelopes (avg %s bytes), mosquitto %s, mosquitto_sub %s, %s CPUs, hmq from %s\n' \
  "$N" "$avg" "$bver" "$(mosquitto_sub --help 2>/dev/null | sed -n 's/^mosquitto_sub version \([^ ]*\).*/\1/p')" \
  "$(nproc)" "$from"
echo "static hmq: $(stat -c %s "$hmq_static") bytes, $("$hmq_static" --version 2>&1 | head -n 2 | tr '\n' ' ')"
echo
echo "Cipher floor: µs of CPU to open one 1400-byte record (decrypt + tag check), best of 5 x 20,000"
echo
printf '| AEAD              |'
for l in "${libs[@]}"; do printf ' %-22s |' "$l"; done
printf ' musl 3.6 / OpenSSL |\n|-------------------|'
for l in "${libs[@]}"; do printf '%s|' "------------------------"; done
printf '%s|\n' "--------------------"
osl=$(printf '%s\n' "${libs[@]}" | grep '^OpenSSL' | head -n 1)
m36=$(printf '%s\n' "${libs[@]}" | grep '^musl-mbedTLS' | head -n 1)
for a in AES-128-GCM AES-256-GCM ChaCha20-Poly1305; do
  printf '| %-17s |' "$a"
  for l in "${libs[@]}"; do printf ' %22s |' "${floor["$l $a"]:-}"; done
  printf ' %18.1f |\n' "$(calc "${floor["$m36 $a"]} / ${floor["$osl $a"]}")"
done
echo
echo "Drains (CPU = user + sys of the consumer process, per message; ratio = hmq / mosquitto_sub of the same case)"
echo
echo "| window | TLS | AEAD   | consumer                  | CPU µs/msg | ratio | user s | sys s | peak RSS MB | wall s | negotiated (hmq -d) |"
echo "|--------|-----|--------|---------------------------|------------|-------|--------|-------|-------------|--------|---------------------|"
declare -A msub
for r in "${rows[@]}"; do
  read -r win v a who per _ <<<"$r"
  [[ $who == msub ]] && msub["$win $v $a"]=$per
done
for r in "${rows[@]}"; do
  read -r win v a who per u s rss w <<<"$r"
  case $who in
    static) name="hmq static musl+3.6" ;;
    static-d1k) name="hmq static, --dedupe 1000" ;;
    dyn228) name="hmq dynamic glibc+2.28" ;;
    msub) name="mosquitto_sub (OpenSSL)" ;;
  esac
  neg=-
  [[ -f $tmp/$win-$v-$a/suite-$who ]] && neg=$(cat "$tmp/$win-$v-$a/suite-$who")
  printf '| %-6s | %s | %-6s | %-25s | %10.2f | %5.2f | %6.2f | %5.2f | %11.1f | %6.2f | %s |\n' \
    "$win" "$v" "$a" "$name" "$per" "$(calc "$per / ${msub["$win $v $a"]}")" "$u" "$s" \
    "$(calc "$rss / 1024")" "$w" "$neg"
done
echo
for win in $windows; do
  goal=0.8
  [[ $win != 20 ]] && goal=0.6
  lo=9 hi=0
  for r in "${rows[@]}"; do
    read -r w v a who per _ <<<"$r"
    [[ $w == "$win" && $who == static ]] || continue
    x=$(calc "$per / ${msub["$w $v $a"]}")
    lo=$(calc "($x < $lo) ? $x : $lo")
    hi=$(calc "($x > $hi) ? $x : $hi")
  done
  verdict="met"
  awk "BEGIN { exit !($hi < $goal) }" || verdict="NOT met"
  awk "BEGIN { exit !($lo < $goal) }" || verdict="NOT met in any case"
  [[ $verdict == "NOT met" ]] && verdict="met in some cases only"
  printf 'static hmq / mosquitto_sub CPU per message, window %s: %.2f..%.2f over the cases (target < %s: %s)\n' \
    "$win" "$lo" "$hi" "$goal" "$verdict"
done
echo
echo "Static binary by origin (linker map of the unstripped binary: .text, .rodata, .data, unwind tables)"
echo
echo "| origin | bytes | share % |"
echo "|--------|-------|---------|"
size_report | while IFS=$'\t' read -r o b p; do printf '| %s | %d | %s |\n' "$o" "$b" "$p"; done
echo
echo "Largest input objects (archive member)"
echo
echo "| object | bytes | share % |"
echo "|--------|-------|---------|"
size_report object | head -n 15 | while IFS=$'\t' read -r o b p; do printf '| %s | %d | %s |\n' "$o" "$b" "$p"; done
