#!/bin/bash
# after-remove.sh: the deb postrm / rpm %postun script of Warren (electron-builder.yml). It runs
# as root after the package's files are gone:
#   deb: $1 = remove, purge, upgrade, failed-upgrade, abort-install, abort-upgrade, disappear
#   rpm: $1 = 0 when the package is erased, 1 or more on an upgrade
# before-remove.sh has already stopped the helper and run `warren cleanup`. This removes the
# service and the links. The operator group, the profiles in /etc/warren and the state in
# /var/lib/warren stay, unless the package is purged (deb only).
set -u

app_dir='/opt/${sanitizedProductName}'
app_bin='${executable}'
unit=warren-helper.service
group=warren

case "${1-}" in
  remove|purge|0) ;;
  *) exit 0 ;;
esac

if command -v systemctl >/dev/null 2>&1; then
  # In case before-remove.sh did not run (an older package): stopping still makes the running
  # helper clean up, from the code it has loaded.
  if [ -d /run/systemd/system ]; then
    systemctl stop "$unit" >/dev/null 2>&1 || true
  fi
  systemctl disable "$unit" >/dev/null 2>&1 || true
fi
for dir in /usr/lib/systemd/system /lib/systemd/system; do
  rm -f "$dir/$unit"
done
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
  systemctl reset-failed "$unit" >/dev/null 2>&1 || true
fi

if [ "$(readlink /usr/bin/warren 2>/dev/null)" = "$app_dir/resources/helper/warren" ]; then
  rm -f /usr/bin/warren
fi
if command -v update-alternatives >/dev/null 2>&1; then
  update-alternatives --remove "$app_bin" "$app_dir/$app_bin" >/dev/null 2>&1 || true
fi
if [ -L "/usr/bin/$app_bin" ] && [ ! -e "/usr/bin/$app_bin" ]; then
  rm -f "/usr/bin/$app_bin"
fi

apparmor_dst="/etc/apparmor.d/$app_bin"
if [ -f "$apparmor_dst" ]; then
  if command -v apparmor_parser >/dev/null 2>&1 && ! { [ -x /usr/bin/ischroot ] && /usr/bin/ischroot; }; then
    apparmor_parser --remove "$apparmor_dst" >/dev/null 2>&1 || true
  fi
  rm -f "$apparmor_dst"
fi

if [ "${1-}" = purge ]; then
  rm -rf /etc/warren /var/lib/warren
  if getent group "$group" >/dev/null 2>&1; then
    groupdel "$group" 2>/dev/null || delgroup --system "$group" >/dev/null 2>&1 || true
  fi
fi
exit 0
