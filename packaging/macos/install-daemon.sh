#!/bin/sh
# install-daemon.sh: installs and starts the Warren helper's launchd daemon. The pkg's
# postinstall runs it; after installing from the dmg, run it once yourself:
#   sudo /Applications/Warren.app/Contents/Resources/helper/install-daemon.sh
# It also creates the operator group `warren` and adds the installing user to it.
# Usage: install-daemon.sh [TARGET_VOLUME] (default /)
set -eu

volume=${1:-/}
label=com.warren.helper
here=$(cd "$(dirname -- "$0")" && pwd -P)
plist_src="$here/$label.plist"
plist_dst="${volume%/}/Library/LaunchDaemons/$label.plist"
group=warren

if [ "$(id -u)" -ne 0 ]; then
  echo "install-daemon.sh: run it as root (sudo)" >&2
  exit 1
fi

# Stop a daemon of an earlier version before its plist is replaced.
launchctl bootout "system/$label" 2>/dev/null || true

install -d -m 0755 -o root -g wheel "${volume%/}/Library/LaunchDaemons"
install -m 0644 -o root -g wheel "$plist_src" "$plist_dst"
install -d -m 0700 -o root -g wheel "${volume%/}/etc/warren" "${volume%/}/var/db/warren"

# The operator group: its members may connect and disconnect through the helper.
if ! dscl . -read "/Groups/$group" >/dev/null 2>&1; then
  gid=400
  while dscl . -search /Groups PrimaryGroupID "$gid" 2>/dev/null | grep -q .; do
    gid=$((gid + 1))
  done
  dseditgroup -o create -i "$gid" -r "Warren operators" "$group"
fi
user=${SUDO_USER:-}
if [ -z "$user" ]; then
  user=$(stat -f %Su /dev/console 2>/dev/null || true)
fi
if [ -n "$user" ] && [ "$user" != root ]; then
  dseditgroup -o edit -a "$user" -t user "$group" || true
fi

if [ "$volume" = / ]; then
  launchctl bootstrap system "$plist_dst"
  launchctl enable "system/$label"
fi
echo "Warren helper daemon installed ($plist_dst)"
