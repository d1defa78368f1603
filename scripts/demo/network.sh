# shellcheck shell=bash
# The demo's machines (sourced by scripts/demo.sh): network namespaces for the coordinator, the
# three systems and a printer, on documentation addresses (RFC 5737). The coordinator's
# namespace holds the underlay LAN's bridge (203.0.113.0/24), which the systems and this machine
# (wrdemo-host, so a browser here reaches the console, unless this machine routes that prefix
# itself) are plugged into; the printer sits on
# its own LAN (198.51.100.0/24) behind the exit node, with no route to anything else.

COORD_IP=203.0.113.100
declare -A UNDERLAY=([laptop]=203.0.113.1 [server]=203.0.113.2 [exit]=203.0.113.3)
HOST_IP=203.0.113.254
PRINTER_LAN=198.51.100.0/24
EXIT_LAN_IP=198.51.100.1
PRINTER_IP=198.51.100.10

new_namespace() {
  local n="$1"
  ip netns add "wrdemo-$n"
  in_ns "$n" ip link set lo up
  # Each namespace gets its own resolv.conf (ip netns exec bind-mounts it), which the helper
  # manages for split DNS; this machine's own resolver is never touched.
  mkdir -p "/etc/netns/wrdemo-$n"
  printf '# Warren demo namespace wrdemo-%s\n' "$n" >"/etc/netns/wrdemo-$n/resolv.conf"
}

make_network() {
  local n
  say "creating namespaces wrdemo-coord, wrdemo-laptop, wrdemo-server, wrdemo-exit, wrdemo-printer"
  for n in coord laptop server exit printer; do new_namespace "$n"; done
  say "underlay LAN ${COORD_IP%.*}.0/24: a bridge in wrdemo-coord ($COORD_IP), laptop ${UNDERLAY[laptop]}, server ${UNDERLAY[server]}, exit ${UNDERLAY[exit]}"
  in_ns coord ip link add lan type bridge
  in_ns coord ip addr add "$COORD_IP/24" dev lan
  in_ns coord ip link set lan up
  for n in laptop server exit; do
    ip link add eth0 netns "wrdemo-$n" type veth peer name "to-$n" netns wrdemo-coord
    in_ns coord ip link set "to-$n" master lan up
    in_ns "$n" ip addr add "${UNDERLAY[$n]}/24" dev eth0
    in_ns "$n" ip link set eth0 up
  done
  # This machine joins the LAN only if it has no route of its own into it: a second route to
  # the same prefix here would fight the machine's own network.
  local lan="${COORD_IP%.*}.0/24"
  if [[ -z "$(ip -4 route show root "$lan"; ip -4 route show match "$COORD_IP" | grep -v '^default' || true)" ]]; then
    ip link add wrdemo-host type veth peer name to-host netns wrdemo-coord
    in_ns coord ip link set to-host master lan up
    ip addr add "$HOST_IP/24" dev wrdemo-host
    ip link set wrdemo-host up
    HOST_LINK=1
    printf '    this machine joins it as %s (wrdemo-host), so a browser here reaches the console\n' "$HOST_IP"
  else
    printf '    this machine already routes %s: it stays off the demo LAN (the console is reached from wrdemo-coord)\n' "$lan"
    HOST_LINK=0
  fi
  say "printer LAN $PRINTER_LAN behind the exit node: exit $EXIT_LAN_IP, printer $PRINTER_IP"
  ip link add eth1 netns wrdemo-exit type veth peer name eth0 netns wrdemo-printer
  in_ns exit ip addr add "$EXIT_LAN_IP/24" dev eth1
  in_ns exit ip link set eth1 up
  in_ns printer ip addr add "$PRINTER_IP/24" dev eth0
  in_ns printer ip link set eth0 up
}

# start_printer: the printer answers ping (the kernel does) and TCP 9100 (a raw print port)
# with one line naming the address it was reached at.
start_printer() {
  # A client that closes at once (the readiness probe below) resets the socket: ignore that.
  local js="require('net').createServer((s) => s.on('error', () => {}).end('printer: ready, reached at ' + s.localAddress + ':' + s.localPort + '\\n')).listen(9100, '0.0.0.0')"
  say "the printer listens on TCP 9100 (a node one-liner standing in for a print server)"
  printf '    $ %s &\n' "$(shown ip netns exec wrdemo-printer node -e "$js")"
  ip netns exec wrdemo-printer node -e "$js" >"$WORK/printer.log" 2>&1 &
  PRINTER_PID=$!
  wait_for "the printer listening on 9100" 10 in_ns printer bash -c 'exec 3<>/dev/tcp/127.0.0.1/9100'
}
