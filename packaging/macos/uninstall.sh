#!/bin/sh
# uninstall.sh: removes Warren from a Mac. macOS packages have no uninstaller, so run:
#   sudo /Applications/Warren.app/Contents/Resources/helper/uninstall.sh [--purge]
# It stops the helper daemon (which on SIGTERM removes its adapter, routes and DNS settings),
# runs `warren cleanup` for whatever a crashed helper left, removes the daemon and the app.
# The operator group and the profiles in /etc/warren stay unless --purge is given.
set -eu

label=com.warren.helper
plist=/Library/LaunchDaemons/$label.plist
app=/Applications/Warren.app
purge=no
[ "${1:-}" = --purge ] && purge=yes

if [ "$(id -u)" -ne 0 ]; then
  echo "uninstall.sh: run it as root (sudo)" >&2
  exit 1
fi

launchctl bootout "system/$label" 2>/dev/null || true
if [ -x "$app/Contents/Resources/helper/warren" ]; then
  "$app/Contents/Resources/helper/warren" cleanup --state-dir /var/db/warren --socket /var/run/warren/warren.sock ||
    echo "uninstall.sh: cleanup did not finish; see the messages above" >&2
fi
rm -f "$plist"
pkgutil --forget com.warren.app >/dev/null 2>&1 || true
rm -rf "$app" /var/run/warren
if [ "$purge" = yes ]; then
  rm -rf /etc/warren /var/db/warren /var/log/warren-helper.log
  dseditgroup -o delete warren 2>/dev/null || true
fi
echo "Warren removed"
