#!/usr/bin/env bash
# `npm run demo`: a coordinated Warren network on this machine, built the way a new admin builds
# one from docs/coordinator.md's quick start. In network namespaces (wrdemo-*): a coordinator,
# three systems (laptop, server, exit) on an underlay LAN, and a printer on a LAN behind the exit
# node. The coordinator serves (with its web console when built), makes enrolment keys (the
# server's gated), each system joins with one `warren up --coordinator ...` (the server after
# the admin approves it by name), and a policy file is dry-run and applied: laptops may reach
# servers (ping, SSH) and the exit node's printer LAN. Then it shows `warren status` on each,
# the laptop pinging server.warren.internal by name and the printer through the exit node and
# reading the printer's banner over TCP 9100, the server blocked from the printer and from the
# laptop, `warren why` explaining both, `systems list` and the audit log, and saves screenshots
# of the laptop's window and the console's pages to .artifacts/. Every step is printed with its
# literal command (`$ ...`) so it can be repeated by hand.
# With a terminal on stdin (or DEMO_HOLD=1) it keeps running until Ctrl-C; otherwise it tears
# down at once. Everything it creates is removed however it exits, and anything an earlier run
# left behind is removed first. Needs root and a built tree (npm run build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# warren and warren-coordinator in the printed commands are these launchers.
export PATH="$ROOT/bin:$PATH"
WORK=""
UI_PID=""
UP_PID=""

# shellcheck source=scripts/demo/lib.sh
source "$ROOT/scripts/demo/lib.sh"
# shellcheck source=scripts/demo/network.sh
source "$ROOT/scripts/demo/network.sh"
# shellcheck source=scripts/demo/coordinated.sh
source "$ROOT/scripts/demo/coordinated.sh"
# shellcheck source=scripts/demo/show.sh
source "$ROOT/scripts/demo/show.sh"
# shellcheck source=scripts/demo/windows.sh
source "$ROOT/scripts/demo/windows.sh"

preflight
if ip netns list | grep -q '^wrdemo-' || ip link show wrdemo-host >/dev/null 2>&1 || compgen -G '/tmp/wrdemo.*' >/dev/null; then
  say "removing what an earlier demo left behind"
  remove_all
fi

trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# A closed pipe on stdout (`npm run demo | head`) must still tear down.
trap 'exit 141' PIPE
WORK="$(mktemp -d /tmp/wrdemo.XXXXXX)"
say "working directory $WORK (profiles, state, sockets, logs); warren is $ROOT/bin/warren"

make_network
start_printer
start_coordinator
make_keys
join_systems
apply_policy
show_status
show_laptop
show_server
show_coordinator
laptop_window
console_pages
hold
say "done (set DEMO_HOLD=1 to keep the network running)"
