#!/usr/bin/env bash
# `npm run demo`: a two-system Warren network on this machine. Creates two network namespaces
# (wrdemo-alpha, wrdemo-beta) joined by a veth, writes a profile for each with fresh keys
# (`warren genkey` / `warren pubkey`) and one policy (alpha, tag laptop, may reach beta, tag
# server, with ping and SSH), starts a helper in each, shows `warren status`, pings across the
# tunnel, resolves beta's name through Warren's DNS, shows that beta cannot start a connection
# to alpha and `warren why` says so, and shows status again (handshake, bytes). With a terminal on
# stdin (or DEMO_HOLD=1) it then keeps running until Ctrl-C; otherwise it tears down at once.
# Everything it creates is removed on exit, however it exits. Needs root and a built helper.
# Environment: DEMO_HOLD=1 keeps it running; WARREN_CLI=path runs another build of the CLI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLI="${WARREN_CLI:-$ROOT/dist/helper/src/cli/main.js}"
NAMES=(alpha beta)
declare -A NS=([alpha]=wrdemo-alpha [beta]=wrdemo-beta)
declare -A UNDERLAY=([alpha]=192.0.2.1 [beta]=192.0.2.2)   # RFC 5737 TEST-NET-1
declare -A VIRTUAL=([alpha]=100.64.0.1 [beta]=100.64.0.2)
declare -A PEER=([alpha]=beta [beta]=alpha)
declare -A TAG=([alpha]=laptop [beta]=server)
declare -A PID=()
WORK=""

say() { printf '==> %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

warren() {
  if [[ "$CLI" == *.js ]]; then node "$CLI" "$@"; else "$CLI" "$@"; fi
}

# in_ns NAME CMD...: run a command inside the demo namespace of alpha or beta.
in_ns() { local n="$1"; shift; ip netns exec "${NS[$n]}" "$@"; }

remove_namespace() {
  local ns="$1" pid
  ip netns list | grep -qw "^$ns" || return 0
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
}

teardown() {
  local status=$? n pid i
  trap - EXIT INT TERM
  say "tearing down"
  [[ -n "${UI_PID:-}" ]] && kill -TERM "$UI_PID" 2>/dev/null || true
  for n in "${NAMES[@]}"; do
    pid="${PID[$n]:-}"
    [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
  done
  for n in "${NAMES[@]}"; do
    pid="${PID[$n]:-}"
    [[ -z "$pid" ]] && continue
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for n in "${NAMES[@]}"; do remove_namespace "${NS[$n]}"; rm -rf "/etc/netns/${NS[$n]}"; done
  [[ -n "$WORK" ]] && rm -rf "$WORK"
  exit "$status"
}

[[ "$(id -u)" == 0 ]] || die "run as root (network namespaces and TUN devices need it): sudo npm run demo"
[[ -c /dev/net/tun ]] || die "/dev/net/tun is missing"
for bin in ip ping node; do command -v "$bin" >/dev/null || die "\`$bin\` is not installed"; done
[[ -e "$CLI" ]] || die "$CLI is missing; run npm run build first"

for n in "${NAMES[@]}"; do
  if ip netns list | grep -qw "^${NS[$n]}"; then
    say "removing ${NS[$n]} left over from an earlier demo"
    remove_namespace "${NS[$n]}"
  fi
done

trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
WORK="$(mktemp -d /tmp/wrdemo.XXXXXX)"

say "creating namespaces ${NS[alpha]} and ${NS[beta]}, joined by a veth (${UNDERLAY[alpha]} <-> ${UNDERLAY[beta]})"
for n in "${NAMES[@]}"; do
  ip netns add "${NS[$n]}"
  in_ns "$n" ip link set lo up
  # Each namespace gets its own resolv.conf (ip netns exec bind-mounts it), which the helper
  # manages for split DNS; the machine's own resolver is never touched.
  mkdir -p "/etc/netns/${NS[$n]}"
  printf '# demo namespace %s\n' "${NS[$n]}" >"/etc/netns/${NS[$n]}/resolv.conf"
done
ip link add wrdemo-a-eth netns "${NS[alpha]}" type veth peer name wrdemo-b-eth netns "${NS[beta]}"
declare -A ETH=([alpha]=wrdemo-a-eth [beta]=wrdemo-b-eth)
for n in "${NAMES[@]}"; do
  in_ns "$n" ip addr add "${UNDERLAY[$n]}/24" dev "${ETH[$n]}"
  in_ns "$n" ip link set "${ETH[$n]}" up
done

say "generating keys with warren genkey / warren pubkey"
declare -A PRIV=() PUB=()
for n in "${NAMES[@]}"; do
  PRIV[$n]="$(warren genkey)"
  PUB[$n]="$(printf '%s\n' "${PRIV[$n]}" | warren pubkey)"
  printf '    %-5s public key %s\n' "$n" "${PUB[$n]}"
done

say "writing profiles"
for n in "${NAMES[@]}"; do
  p="${PEER[$n]}"
  # 0600 and owned by root: the helper refuses a profile that others may write.
  umask 077
  cat >"$WORK/$n.profile" <<JSON
{
  "PrivateKey": "${PRIV[$n]}",
  "ListenPort": 51820,
  "VirtualAddress": "${VIRTUAL[$n]}",
  "Adapter": { "Name": "wrdemo-$n" },
  "Tags": ["${TAG[$n]}"],
  "Policies": [
    { "Name": "laptops to servers", "Senders": ["tag:laptop"], "Receivers": ["tag:server"],
      "Acls": [{ "Protocol": "icmp" }, { "Protocol": "tcp", "Ports": "22" }] }
  ],
  "Peers": [
    {
      "Name": "$p",
      "PublicKey": "${PUB[$p]}",
      "Endpoint": "${UNDERLAY[$p]}:51820",
      "AllowedIPs": ["${VIRTUAL[$p]}/32"],
      "Tags": ["${TAG[$p]}"],
      "DnsNames": ["$p"]
    }
  ]
}
JSON
  printf '    %s\n' "$WORK/$n.profile"
done

for n in "${NAMES[@]}"; do
  say "starting helper $n in ${NS[$n]} (log: $WORK/$n.log)"
  mkdir -p "$WORK/$n-state"
  if [[ "$CLI" == *.js ]]; then run=(node "$CLI"); else run=("$CLI"); fi
  ip netns exec "${NS[$n]}" "${run[@]}" run --profile "$WORK/$n.profile" -v 1 \
    --socket "$WORK/$n.sock" --state-dir "$WORK/$n-state" >"$WORK/$n.log" 2>&1 &
  PID[$n]=$!
done

for n in "${NAMES[@]}"; do
  say "waiting for helper $n"
  for i in $(seq 1 100); do
    warren status --json --socket "$WORK/$n.sock" >/dev/null 2>&1 && break
    if ! kill -0 "${PID[$n]}" 2>/dev/null; then
      tail -n 30 "$WORK/$n.log" >&2
      die "helper $n exited during startup"
    fi
    [[ "$i" == 100 ]] && { tail -n 30 "$WORK/$n.log" >&2; die "helper $n did not answer within 20 s"; }
    sleep 0.2
  done
done

show_status() {
  for n in "${NAMES[@]}"; do
    say "warren status ($n)"
    warren status --socket "$WORK/$n.sock" | sed 's/^/    /'
  done
}

show_status
say "ping -c 3 from alpha to beta.warren.internal (policy: laptops may reach servers)"
in_ns alpha ping -c 3 -W 2 beta.warren.internal | sed 's/^/    /'
say "getent hosts beta.warren.internal in alpha (Warren's DNS through the namespace's resolv.conf)"
in_ns alpha getent hosts beta.warren.internal | sed 's/^/    /'
say "ping -c 2 from beta to alpha: the server may not start connections to the laptop"
if in_ns beta ping -c 2 -W 1 "${VIRTUAL[alpha]}" >/dev/null 2>&1; then
  die "beta reached alpha although no policy allows it"
fi
printf '    blocked, as the policy says\n'
say "warren why alpha (asked on beta)"
warren why alpha --socket "$WORK/beta.sock" | sed 's/^/    /'
show_status

# The app's window (browser fallback, `warren ui`) on alpha's helper. The screenshot shows
# what a person would see. The address `warren ui --no-open` prints works once, and the
# screenshot uses it, so it is not shown; with DEMO_HOLD=1 a person starts a `warren ui` of their own.
say "warren ui: Warren's window for alpha"
UI_CMD=("$CLI"); [[ "$CLI" == *.js ]] && UI_CMD=(node "$CLI")
# Not through the warren() function: a backgrounded function is a subshell, and its PID would
# not be the window's.
"${UI_CMD[@]}" ui --no-open --socket "$WORK/alpha.sock" >"$WORK/ui.out" 2>"$WORK/ui.log" &
UI_PID=$!
UI_URL=""
for i in $(seq 1 50); do
  # The one-time address; it goes to the screenshot on stdin, never on a command line.
  UI_URL="$(grep -o 'http://127\.0\.0\.1:[0-9]*/open?code=[A-Za-z0-9_-]*' "$WORK/ui.out" 2>/dev/null | head -n 1 || true)"
  [[ -n "$UI_URL" ]] && break
  sleep 0.2
done
if [[ -z "$UI_URL" ]]; then
  printf '    the window did not start:\n' ; sed 's/^/    /' "$WORK/ui.log" >&2
else
  printf '    serving on %s\n' "${UI_URL%%/open*}"
  if command -v chromium >/dev/null 2>&1; then
    mkdir -p "$ROOT/.artifacts"
    timeout 60 node "$ROOT/scripts/ui-screenshot.mjs" "$ROOT/.artifacts/demo-ui.png" <<<"$UI_URL" >"$WORK/chromium.log" 2>&1 &&
      printf '    screenshot: %s\n' "$ROOT/.artifacts/demo-ui.png"
  fi
fi

if [[ -t 0 || "${DEMO_HOLD:-}" == 1 ]]; then
  say "the network is up; try (as root, in another terminal):"
  printf '    ip netns exec %s ping beta.warren.internal\n' "${NS[alpha]}"
  printf '    %s status --socket %s\n' "$ROOT/bin/warren" "$WORK/alpha.sock"
  printf "    %s ui --no-open --socket %s   (Warren's window for alpha: open the one-time address it prints)\n" \
    "$ROOT/bin/warren" "$WORK/alpha.sock"
  say "press Ctrl-C to stop and tear everything down"
  trap 'exit 0' INT
  while kill -0 "${PID[alpha]}" 2>/dev/null && kill -0 "${PID[beta]}" 2>/dev/null; do sleep 1; done
  for n in "${NAMES[@]}"; do say "log of $n"; tail -n 20 "$WORK/$n.log" >&2; done
  die "a helper stopped on its own"
fi
say "done (set DEMO_HOLD=1 to keep the network running)"
