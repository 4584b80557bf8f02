# SPDX-License-Identifier: MIT
# bench/lib.sh: the set-up the benchmark scripts share, sourced (not run) by
# bench/drain.sh, bench/live.sh, bench/wan.sh and bench/db_drain.sh:
#   bench_init NAME KEEP      temp dir $tmp, $pids stopped on exit (KEEP=1
#                             keeps the temp dir); a function bench_on_exit,
#                             if the script defines one, runs first
#   bench_pick_broker MODE    $broker and $bver: MODE system (the system's
#                             mosquitto), get (MOSQUITTO or
#                             scripts/get-mosquitto, required), prefer-get
#                             (MOSQUITTO, else get-mosquitto, else the system's)
#   bench_select_source BDIR  $src, $bdir, $hmq_from: the working tree, or with
#                             HMQ_REF a git archive of that commit in build/
#   bench_build SRC BDIR BENCH TARGET...   cmake Release build of the targets
#   bench_tools FALLBACK_BDIR TARGET=FILE...  hmq_cli, hmq_sim and the tool
#                             targets from $src in $bdir (tools from the
#                             working tree in FALLBACK_BDIR when $src lacks
#                             one); sets $hmq, $sim, $tools
#   bench_pki                 test PKI in $tmp/pki, sets $pki
#   bench_need_time           /usr/bin/time (installs it when root)
#   bench_broker_conf DIR PORT [PORT2 plain|tls [LINE...]]  DIR/mosquitto.conf:
#                             127.0.0.1 listeners (PORT2 with mutual TLS on
#                             $pki when tls; "" for none), anonymous, queues
#                             up to 500000, log in DIR/mosquitto.log, LINEs
#                             added
#   bench_broker_start DIR PORT  starts $broker on DIR/mosquitto.conf, waits
#                             (5 s) until PORT accepts; sets $bpid
#   port_busy, free_port, calc, stop PID, cpu_of PID, tv FILE FIELD, wall_s
# Every wait is bounded; every process started is stopped by pid.

bench_name=bench
bench_keep=0
tmp=
pids=()

bench_cleanup() {
  local p
  if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 25); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  done
  [[ -n $tmp ]] || return 0
  if [[ $bench_keep == 1 ]]; then echo "$bench_name: kept $tmp" >&2; else rm -rf -- "$tmp"; fi
}

bench_init() { # name keep
  bench_name=$1
  bench_keep=${2:-0}
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/hmq-$bench_name.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_die() {
  echo "$bench_name: $*" >&2
  exit 1
}

bench_pick_broker() { # system | get | prefer-get
  broker=${MOSQUITTO:-}
  if [[ -z $broker ]]; then
    case $1 in
      system) broker=$(command -v mosquitto || echo /usr/sbin/mosquitto) ;;
      get)
        broker=$("$root/scripts/get-mosquitto") ||
          bench_die "no mosquitto 2.0.21 (scripts/get-mosquitto failed; set MOSQUITTO)"
        ;;
      prefer-get)
        broker=$("$root/scripts/get-mosquitto" 2>/dev/null) ||
          broker=$(command -v mosquitto || echo /usr/sbin/mosquitto)
        ;;
    esac
  fi
  bver=$("$broker" -h 2>&1 | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p' || true)
}

bench_select_source() { # default build dir
  src=$root
  bdir=$1
  hmq_from="working tree $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') + $(git -C "$root" status --porcelain -- src programs include 2>/dev/null | wc -l) modified files under src/ programs/ include/"
  [[ -n ${HMQ_REF:-} ]] || return 0
  # everything from a clean snapshot of a commit (git archive; the working
  # tree and the index are not touched)
  local ref
  ref=$(git -C "$root" rev-parse --short "$HMQ_REF^{commit}") ||
    { echo "$bench_name: HMQ_REF: no such commit" >&2; exit 2; }
  src=$root/build/ref-$ref/src
  bdir=$root/build/ref-$ref/build
  if [[ ! -f $src/CMakeLists.txt ]]; then
    rm -rf "$src"
    mkdir -p "$src"
    git -C "$root" archive "$ref" | tar -x -C "$src"
  fi
  hmq_from="commit $ref ($(git -C "$root" log -1 --format=%s "$ref" | cut -c1-60))"
}

bench_build() { # src bdir ON|OFF (bench targets) target...
  local s=$1 b=$2 bench=$3
  shift 3
  cmake -S "$s" -B "$b" -DCMAKE_BUILD_TYPE=Release -DHMQ_TESTS=OFF -DHMQ_FUZZ=OFF \
    -DHMQ_BENCH="$bench" -DHMQ_INSTALL=OFF >/dev/null
  cmake --build "$b" -j 2 --target "$@" >/dev/null
}

bench_tools() { # fallback-bdir target=source-file...
  local fallback=$1 t all=1 targets=(hmq_cli hmq_sim) extra=()
  shift
  for t in "$@"; do
    extra+=("${t%%=*}")
    [[ -f $src/${t#*=} ]] || all=0
  done
  tools=$bdir/bench
  if [[ $all == 1 ]]; then
    targets+=("${extra[@]}")
  else # an older commit: the tools of the working tree
    tools=$fallback/bench
    bench_build "$root" "$fallback" ON "${extra[@]}"
  fi
  echo "$bench_name: building ${targets[*]} (Release) from $src in $bdir" >&2
  bench_build "$src" "$bdir" ON "${targets[@]}"
  hmq=$bdir/hmq
  sim=$bdir/hmq-sim
}

bench_pki() {
  sh "$root/tests/integration/make-pki.sh" "$tmp/pki"
  pki=$tmp/pki
}

bench_need_time() {
  [[ -x /usr/bin/time ]] && return 0
  [[ $(id -u) -eq 0 ]] || bench_die "/usr/bin/time missing: apt-get install time"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
}

bench_broker_conf() { # dir port [port2 plain|tls] [line...]
  local d=$1 port=$2 port2=${3:-} kind=${4:-plain}
  shift $(($# < 4 ? $# : 4))
  {
    echo "per_listener_settings false"
    echo "allow_anonymous true"
    echo "max_queued_messages 500000"
    echo "max_queued_bytes 0"
    echo "log_dest file $d/mosquitto.log"
    [[ $(id -u) -eq 0 ]] && echo "user root"
    [[ $# -gt 0 ]] && printf '%s\n' "$@"
    echo "listener $port 127.0.0.1"
    if [[ -n $port2 ]]; then
      echo "listener $port2 127.0.0.1"
      if [[ $kind == tls ]]; then
        echo "cafile $pki/ca.crt"
        echo "certfile $pki/server.crt"
        echo "keyfile $pki/server.key"
        echo "require_certificate true"
      fi
    fi
  } >"$d/mosquitto.conf"
}

bench_broker_start() { # dir port
  "$broker" -c "$1/mosquitto.conf" >/dev/null 2>&1 &
  bpid=$!
  pids+=("$bpid")
  for _ in $(seq 1 50); do port_busy "$2" && return 0; sleep 0.1; done
  echo "$bench_name: broker did not start" >&2
  cat "$1/mosquitto.log" >&2 || true
  exit 1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    port_busy "$p" || { echo "$p"; return 0; }
  done
  return 1
}
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
# stop a pid (SIGTERM, up to 5 s, then SIGKILL) and reap it
stop() {
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
# CPU seconds (user+sys) a process has used so far.
cpu_of() {
  local f
  read -r -a f <"/proc/$1/stat"
  # fields 14 and 15 (utime, stime) counted after the ")" of the name
  local rest=${f[*]}
  rest=${rest##*) }
  read -r -a f <<<"$rest"
  calc "(${f[11]} + ${f[12]}) / $(getconf CLK_TCK)"
}
# value of a /usr/bin/time -v field
tv() { sed -n "s/^[[:space:]]*$2: //p" "$1"; }
wall_s() { # "h:mm:ss" or "m:ss.ss" -> seconds
  awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }' <<<"$1"
}
