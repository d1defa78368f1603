#!/bin/bash
# before-remove.sh: the deb prerm / rpm %preun script of Warren, handed to fpm by
# electron-builder.yml. It runs as root while the package's files still exist:
#   deb: $1 = remove (also upgrade, deconfigure, failed-upgrade)
#   rpm: $1 = 0 when the package is erased, 1 or more on an upgrade
# On removal it stops the helper, which on SIGTERM removes its adapter, routes, split DNS and
# exit-node firewall rules, then runs `warren cleanup` for whatever a crashed helper left.
# On an upgrade it does nothing: after-install.sh restarts the helper on the new version.
set -u

# fpm takes this script as it is (electron-builder fills in no macros here), so the install
# folder is spelled out: /opt/<productName>, as after-install.sh computes it.
app_dir=/opt/Warren
unit=warren-helper.service

case "${1-}" in
  remove|0) ;;
  *) exit 0 ;;
esac

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now "$unit" >/dev/null 2>&1 || true
fi

if [ -x "$app_dir/resources/helper/warren" ]; then
  "$app_dir/resources/helper/warren" cleanup ||
    echo "warren: cleanup after the helper did not finish; see the messages above" >&2
fi
exit 0
