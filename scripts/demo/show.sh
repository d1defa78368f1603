# shellcheck shell=bash
# What the coordinated network does (sourced by scripts/demo.sh): status on each system, what the
# laptop reaches by name and through the exit node, what the server may not reach, `warren why`
# explaining both, and the coordinator's view (systems list, audit log).

show_status() {
  local n
  for n in laptop server exit; do
    say "warren status on $n"
    on "$n"
    run "${ON[@]}" warren status || die "warren status failed on $n"
  done
}

# pings NAME TARGET: true when NAME gets an answer from TARGET within a second.
pings() { in_ns "$1" ping -c 1 -W 1 "$2"; }

show_laptop() {
  say "laptop pings server.warren.internal by name (Warren's DNS, through the namespace's resolv.conf)"
  # The maps reach the helpers within a second of the policy; wait until the tunnel answers.
  wait_for "laptop reaching server.warren.internal" 20 pings laptop server.warren.internal
  run ip netns exec wrdemo-laptop getent hosts server.warren.internal || die "server.warren.internal does not resolve on laptop"
  run ip netns exec wrdemo-laptop ping -c 3 -i 0.3 -W 2 server.warren.internal || die "laptop cannot ping server"
  say "laptop pings the printer $PRINTER_IP on the LAN behind the exit node (route grant)"
  wait_for "laptop reaching the printer" 20 pings laptop "$PRINTER_IP"
  run ip netns exec wrdemo-laptop ping -c 3 -i 0.3 -W 2 "$PRINTER_IP" || die "laptop cannot ping the printer"
  say "laptop opens TCP 9100 on the printer and reads its banner"
  run ip netns exec wrdemo-laptop timeout 5 bash -c "exec 3<>/dev/tcp/$PRINTER_IP/9100 && head -n 1 <&3" ||
    die "laptop cannot open TCP 9100 on the printer"
  say "warren why $PRINTER_IP on laptop: which exit node and grant carry it"
  on laptop
  run "${ON[@]}" warren why "$PRINTER_IP" || die "warren why failed on laptop"
}

show_server() {
  local laptop_vip
  laptop_vip="$(awk -F'"' '/"VirtualAddress"/ {print $4; exit}' "$WORK/laptop/warren.profile")"
  say "server pings the printer: no grant gives it the printer LAN"
  if run ip netns exec wrdemo-server ping -c 2 -W 1 "$PRINTER_IP"; then
    die "server reached the printer although no route grant allows it"
  fi
  printf '    blocked: no route to the printer LAN, as the policy says\n'
  on server
  run "${ON[@]}" warren why "$PRINTER_IP" || die "warren why failed on server"
  say "server pings laptop ($laptop_vip): the policy lets laptops start connections to servers, not back"
  if run ip netns exec wrdemo-server ping -c 2 -W 1 "$laptop_vip"; then
    die "server reached laptop although no policy allows it"
  fi
  printf '    blocked by the firewall, as the policy says\n'
  say "warren why laptop on server"
  run "${ON[@]}" warren why laptop || die "warren why failed on server"
}

show_coordinator() {
  say "the coordinator's view: systems"
  run "${COORD[@]}" systems list --data "$WORK/coordinator" || die "systems list failed"
  say "the coordinator's audit log"
  run "${COORD[@]}" audit --data "$WORK/coordinator" || die "audit failed"
}
