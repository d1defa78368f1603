# shellcheck shell=bash
# Helpers of scripts/demo.sh (sourced): printing each step with the literal command, running
# commands on the demo's systems, waiting with deadlines, and tearing everything down.

say() { printf '==> %s\n' "$*"; }
die() {
  printf 'demo: %s\n' "$*" >&2
  exit 1
}

# shown CMD...: the command as a person would type it (shell-quoted).
shown() {
  local out="" a q
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then q="$a"; else q="'${a//\'/\'\\\'\'}'"; fi
    out+="${out:+ }$q"
  done
  printf '%s' "$out"
}

# run CMD...: print the command, then run it with its output (stdout and stderr) indented.
# Returns the command's status.
run() {
  printf '    $ %s\n' "$(shown "$@")"
  local rc
  set +e
  "$@" 2>&1 | sed 's/^/    /'
  rc=${PIPESTATUS[0]}
  set -e
  return "$rc"
}

# on NAME: the prefix that runs a command on system NAME (its namespace and its own paths:
# WARREN_STATE_DIR, WARREN_SOCKET and WARREN_PROFILE select them, see docs/coordinator.md).
on() {
  local n="$1"
  ON=(ip netns exec "wrdemo-$n" env "WARREN_STATE_DIR=$WORK/$n/state" "WARREN_SOCKET=$WORK/$n/warren.sock"
    "WARREN_PROFILE=$WORK/$n/warren.profile")
}

# in_ns NAME CMD...: run a command in namespace wrdemo-NAME.
in_ns() {
  local n="$1"
  shift
  ip netns exec "wrdemo-$n" "$@"
}

# coord ARGS...: the admin command on the coordinator's machine (its data directory finds it).
COORD=()
coord_prefix() { COORD=(ip netns exec wrdemo-coord warren-coordinator); }

# wait_for DESC SECONDS CMD...: poll CMD (quietly) every 0.2 s until it succeeds, or fail.
wait_for() {
  local desc="$1" secs="$2" deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$desc did not happen within $secs s"
    sleep 0.2
  done
}

remove_namespace() {
  local ns="$1" pid
  ip netns list | grep -qw "^$ns" || return 0
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    [[ -z "$(ip netns pids "$ns" 2>/dev/null)" ]] && break
    sleep 0.1
  done
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
}

# stop_pid PID: SIGTERM, then SIGKILL after 5 s.
stop_pid() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# remove_all: everything a demo run makes, this one's or one left over from an earlier run.
remove_all() {
  local ns pidfile stoppers=() p
  # The helpers `warren up` started detached: their pids are in STATE/helper.pid. Stopping
  # them first lets each remove its adapter, routes and nft tables itself. (Only these
  # stoppers are waited for: a bare `wait` would wait for the coordinator too.)
  for pidfile in /tmp/wrdemo.*/*/state/helper.pid; do
    [[ -f "$pidfile" ]] || continue
    stop_pid "$(head -c 20 "$pidfile" | tr -cd 0-9)" &
    stoppers+=($!)
  done
  for p in "${stoppers[@]}"; do wait "$p" || true; done
  for ns in $(ip netns list | awk '{print $1}' | grep '^wrdemo-' || true); do remove_namespace "$ns"; done
  ip link del wrdemo-host 2>/dev/null || true
  rm -rf /etc/netns/wrdemo-*
  rm -rf /tmp/wrdemo.*
}

teardown() {
  local status=$?
  trap - EXIT INT TERM HUP
  trap '' PIPE
  say "tearing down (helpers by their helper.pid, the coordinator, namespaces, temp files)"
  [[ -n "${UI_PID:-}" ]] && stop_pid "$UI_PID"
  [[ -n "${UP_PID:-}" ]] && stop_pid "$UP_PID"
  remove_all
  exit "$status"
}

preflight() {
  [[ "$(id -u)" == 0 ]] || die "run as root (network namespaces and TUN devices need it): sudo npm run demo"
  [[ -c /dev/net/tun ]] || die "/dev/net/tun is missing: load the tun module (modprobe tun)"
  local bin
  for bin in ip ping node nft sed awk timeout chromium; do
    command -v "$bin" >/dev/null || die "\`$bin\` is not installed; run: bash scripts/ensure-deps.sh"
  done
  [[ -e "$ROOT/dist/helper/src/cli/main.js" && -e "$ROOT/dist/coordinator/src/main.js" && -e "$ROOT/dist/console/index.html" ]] ||
    die "Warren is not built; run: npm run build"
}
