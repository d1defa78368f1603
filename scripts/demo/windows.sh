# shellcheck shell=bash
# Screenshots (sourced by scripts/demo.sh): the app's window for the laptop (`warren ui`, the
# browser fallback of the tray app) and the coordinator's web console, both in Debian's
# Chromium; then, with a terminal or DEMO_HOLD=1, what to try while the network stays up.

ARTIFACTS="$ROOT/.artifacts"

laptop_window() {
  say "warren ui: Warren's window for laptop (screenshot $ARTIFACTS/demo-ui.png)"
  on laptop
  # Not through run: its PID must be the window's. The one-time address it prints goes to the
  # screenshot on stdin, never on a command line, and is used up by it, so it is not shown.
  printf '    $ %s &\n' "$(shown "${ON[@]}" warren ui --no-open)"
  "${ON[@]}" warren ui --no-open >"$WORK/ui.out" 2>"$WORK/ui.log" &
  UI_PID=$!
  local url=""
  wait_for "warren ui printing its address" 10 grep -q '/open?code=' "$WORK/ui.out"
  url="$(grep -o 'http://127\.0\.0\.1:[0-9]*/open?code=[A-Za-z0-9_-]*' "$WORK/ui.out" | head -n 1 || true)"
  [[ -n "$url" ]] || die "warren ui did not start: $(cat "$WORK/ui.log")"
  mkdir -p "$ARTIFACTS"
  # ip netns exec: `warren ui` listens on the laptop's own 127.0.0.1.
  timeout 60 ip netns exec wrdemo-laptop node "$ROOT/scripts/ui-screenshot.mjs" "$ARTIFACTS/demo-ui.png" \
    <<<"$url" >"$WORK/chromium-ui.log" 2>&1 || {
    sed 's/^/    /' "$WORK/chromium-ui.log" >&2
    die "the screenshot of the window failed"
  }
  printf '    screenshot: %s\n' "$ARTIFACTS/demo-ui.png"
  stop_pid "$UI_PID"
  UI_PID=""
}

console_pages() {
  say "the web console at $COORD_URL/console/: log in with the admin token, screenshot systems, policy (dry run of a draft) and audit"
  # Chromium runs in the coordinator's namespace: in this machine's own, links that come and go
  # (other namespaces' veths) make it abort loads with ERR_NETWORK_CHANGED.
  local cmd=(ip netns exec wrdemo-coord node "$ROOT/scripts/console-screenshot.mjs" "$COORD_URL/console/" "$ARTIFACTS"
    "$WORK/policy-next.json")
  printf '    $ %s < %s\n' "$(shown "${cmd[@]}")" "$WORK/coordinator/admin.token"
  timeout 90 "${cmd[@]}" <"$WORK/coordinator/admin.token" >"$WORK/chromium-console.log" 2>&1 || {
    sed 's/^/    /' "$WORK/chromium-console.log" >&2
    die "the console screenshots failed"
  }
  sed 's/^/    /' "$WORK/chromium-console.log"
}

hold() {
  [[ -t 0 || "${DEMO_HOLD:-}" == 1 ]] || return 0
  say "the network is up; try (as root, in another terminal):"
  on laptop
  printf '    %s ping server.warren.internal\n' "$(shown ip netns exec wrdemo-laptop)"
  printf '    %s warren status\n' "$(shown "${ON[@]}")"
  printf '    %s warren why %s\n' "$(shown "${ON[@]}")" "$PRINTER_IP"
  printf "    %s warren ui --no-open   (laptop's window, on the laptop's 127.0.0.1: open the one-time address with ip netns exec wrdemo-laptop chromium --no-sandbox ADDRESS)\n" "$(shown "${ON[@]}")"
  printf '    %s systems list --data %s\n' "$(shown "${COORD[@]}")" "$WORK/coordinator"
  if [[ "$HOST_LINK" == 1 ]]; then
    printf '    the web console: %s/console/ in a browser on this machine; log in with the admin token:\n' "$COORD_URL"
  else
    printf '    the web console: %s/console/ in a browser run in wrdemo-coord, e.g. %s; log in with the admin token:\n' \
      "$COORD_URL" "ip netns exec wrdemo-coord chromium --no-sandbox $COORD_URL/console/"
  fi
  printf '    cat %s\n' "$WORK/coordinator/admin.token"
  printf '    (warren and warren-coordinator are %s/bin/warren and %s/bin/warren-coordinator)\n' "$ROOT" "$ROOT"
  say "press Ctrl-C to stop and tear everything down"
  trap 'exit 0' INT
  local n pid
  while kill -0 "$COORD_PID" 2>/dev/null; do
    for n in laptop server exit; do
      pid="$(cat "$WORK/$n/state/helper.pid" 2>/dev/null || true)"
      kill -0 "$pid" 2>/dev/null || {
        tail -n 20 "$WORK/$n/state/helper.log" >&2
        die "the helper of $n stopped on its own"
      }
    done
    sleep 1
  done
  tail -n 20 "$WORK/coordinator.log" >&2
  die "the coordinator stopped on its own"
}
