# shellcheck shell=bash
# The coordinated network (sourced by scripts/demo.sh), built as docs/coordinator.md's quick
# start says: serve the coordinator, make enrolment keys, each system joins with one
# `warren up`, the gated one is approved by name, and the policy is dry-run and applied.

COORD_URL="http://$COORD_IP:8080"
declare -A KEY=()

start_coordinator() {
  local data="$WORK/coordinator"
  say "serving the coordinator in wrdemo-coord, with its web console (log: $WORK/coordinator.log)"
  local cmd=(ip netns exec wrdemo-coord warren-coordinator serve --data "$data" --listen "$COORD_IP:8080" --console)
  printf '    $ %s &\n' "$(shown "${cmd[@]}")"
  "${cmd[@]}" >"$WORK/coordinator.log" 2>&1 &
  COORD_PID=$!
  wait_for "the coordinator answering at $COORD_URL" 20 test -s "$data/serve.json"
  sed -n 's/.*\(listening on .*\)/    \1/p' "$WORK/coordinator.log" | head -n 1
  coord_prefix
  # Over plain http:// the systems must be given the coordinator's key by the admin.
  printf '    $ %s\n' "$(shown "${COORD[@]}" key --data "$data")"
  COORD_KEY="$("${COORD[@]}" key --data "$data" --json | sed -n 's/.*"publicKey": *"\([^"]*\)".*/\1/p')"
  [[ -n "$COORD_KEY" ]] || die "warren-coordinator key printed no key"
  printf '    %s\n' "$COORD_KEY"
}

# make_key NAME ARGS...: an enrolment key for NAME; the key alone is on stdout.
make_key() {
  local n="$1"
  shift
  local cmd=("${COORD[@]}" keys create "$@" --data "$WORK/coordinator")
  printf '    $ %s\n' "$(shown "${cmd[@]}")"
  KEY[$n]="$("${cmd[@]}" 2>"$WORK/key.err")" || {
    cat "$WORK/key.err" >&2
    die "keys create failed"
  }
  sed 's/^/    /' "$WORK/key.err"
  printf '    %s\n' "${KEY[$n]}"
}

make_keys() {
  say "enrolment keys: laptop, server (gated: an admin approves it), exit"
  make_key laptop --tags laptop --uses 1 --expires 1h
  make_key server --tags server --uses 1 --expires 1h --approval gated
  make_key exit --tags exit --uses 1 --expires 1h
}

# up_cmd NAME ARGS...: the one command with which NAME joins.
up_cmd() {
  local n="$1"
  shift
  on "$n"
  mkdir -p "$WORK/$n"
  UP=("${ON[@]}" warren up --coordinator "$COORD_URL" --key "${KEY[$n]}" --coordinator-key "$COORD_KEY"
    --adapter "wrdemo-$n" --hostname "$n" "$@")
}

join_systems() {
  say "laptop joins with one command"
  up_cmd laptop
  run "${UP[@]}" || die "laptop could not join"
  say "exit joins, and opts in to serving its LAN as an exit node (--serve-exit-node)"
  up_cmd exit --serve-exit-node
  run "${UP[@]}" || die "exit could not join"
  say "server joins with its gated key: warren up waits for an admin's approval"
  up_cmd server
  printf '    $ %s &\n' "$(shown "${UP[@]}")"
  "${UP[@]}" >"$WORK/server-up.out" 2>&1 &
  UP_PID=$!
  wait_for "server's warren up reporting that it waits for approval" 30 grep -q 'waiting for approval:' "$WORK/server-up.out"
  sed 's/^/    /' "$WORK/server-up.out"
  local seen
  seen=$(wc -l <"$WORK/server-up.out")
  say "approving server by name on the coordinator"
  run "${COORD[@]}" systems approve server --data "$WORK/coordinator" || die "approval failed"
  say "server's warren up completes"
  local rc=0
  wait "$UP_PID" || rc=$?
  UP_PID=""
  tail -n +"$((seen + 1))" "$WORK/server-up.out" | sed 's/^/    /'
  ((rc == 0)) || die "server's warren up failed (exit $rc)"
}

write_policy() {
  cat >"$WORK/policy.json" <<JSON
{
  "Tags": ["laptop", "server", "exit"],
  "Policies": [
    { "Name": "laptops to servers", "Senders": ["tag:laptop"], "Receivers": ["tag:server"],
      "Acls": [{ "Protocol": "icmp" }, { "Protocol": "tcp", "Ports": "22" }] }
  ],
  "Routes": [ { "ExitNode": "tag:exit", "Subnets": ["$PRINTER_LAN"], "Senders": ["tag:laptop"] } ]
}
JSON
  # A draft for the console's dry run: laptops may reach servers on HTTPS too.
  sed 's/"Ports": "22"/"Ports": "22,443"/' "$WORK/policy.json" >"$WORK/policy-next.json"
}

apply_policy() {
  write_policy
  say "the policy file: laptops may reach servers (ping, SSH); laptops may use the exit node's printer LAN"
  sed 's/^/    /' "$WORK/policy.json"
  say "dry run first: whose access would change"
  run "${COORD[@]}" policy test "$WORK/policy.json" --data "$WORK/coordinator" || die "policy test refused the file"
  say "applying it"
  run "${COORD[@]}" policy apply "$WORK/policy.json" --data "$WORK/coordinator" || die "policy apply refused the file"
}
