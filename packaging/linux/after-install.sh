#!/bin/bash
# after-install.sh: the deb postinst / rpm %post script of Warren (electron-builder.yml). It
# runs as root after the files are in place, on a first install and on every upgrade:
#   deb: $1 = configure, $2 = the version being upgraded from (empty on a first install)
#   rpm: $1 = 1 on a first install, 2 or more on an upgrade
# electron-builder fills in the two macros below. As this replaces electron-builder's own
# after-install script, it also does that script's work (the app's /usr/bin link, the
# chrome-sandbox mode, the desktop and MIME databases, the AppArmor profile).
# Nothing here may fail the install: a step that cannot be done says so and the rest goes on.
set -u

app_dir='/opt/${sanitizedProductName}'
app_bin='${executable}'
unit=warren-helper.service
group=warren
helper_dir="$app_dir/resources/helper"

upgrade=no
case "${1-}" in
  configure) [ -n "${2-}" ] && upgrade=yes ;;
  [2-9]|[1-9][0-9]*) upgrade=yes ;;
esac

say() { echo "warren: $*"; }

# --- the app and the command -------------------------------------------------------------
if command -v update-alternatives >/dev/null 2>&1; then
  update-alternatives --install "/usr/bin/$app_bin" "$app_bin" "$app_dir/$app_bin" 100 >/dev/null ||
    ln -sf "$app_dir/$app_bin" "/usr/bin/$app_bin"
else
  ln -sf "$app_dir/$app_bin" "/usr/bin/$app_bin"
fi
chmod 0755 "$helper_dir/warren" "$helper_dir/bin/warren" 2>/dev/null || true
ln -sf "$helper_dir/warren" /usr/bin/warren

# Chromium's SUID sandbox helper is needed only where unprivileged user namespaces do not work.
if [ -L /proc/self/ns/user ] && unshare --user true 2>/dev/null; then
  chmod 0755 "$app_dir/chrome-sandbox" 2>/dev/null || true
else
  chmod 4755 "$app_dir/chrome-sandbox" 2>/dev/null || true
fi

if command -v update-mime-database >/dev/null 2>&1; then update-mime-database /usr/share/mime || true; fi
if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database /usr/share/applications || true; fi

# Ubuntu 24.04 and later restrict user namespaces to programs with an AppArmor profile.
apparmor_src="$app_dir/resources/apparmor-profile"
apparmor_dst="/etc/apparmor.d/$app_bin"
if [ -f "$apparmor_src" ] && command -v apparmor_parser >/dev/null 2>&1 && apparmor_status --enabled >/dev/null 2>&1; then
  if apparmor_parser --skip-kernel-load --debug "$apparmor_src" >/dev/null 2>&1; then
    cp -f "$apparmor_src" "$apparmor_dst"
    if ! { [ -x /usr/bin/ischroot ] && /usr/bin/ischroot; }; then
      apparmor_parser --replace --write-cache --skip-read-cache "$apparmor_dst" || true
    fi
  else
    say "this AppArmor cannot load the app's profile; the app runs without it"
  fi
fi

# --- the operator group --------------------------------------------------------------------
# Members of the group may connect, disconnect and choose exit nodes through the helper.
if ! getent group "$group" >/dev/null 2>&1; then
  if groupadd --system "$group" 2>/dev/null || addgroup --system "$group" >/dev/null 2>&1; then
    say "created the operator group $group"
  else
    say "could not create the group $group; create it with: groupadd --system $group"
  fi
fi

# The person who installed Warren (through sudo or pkexec) joins the group.
user=""
if [ -n "${SUDO_USER-}" ] && [ "${SUDO_USER-}" != root ]; then
  user=$SUDO_USER
elif [ -n "${PKEXEC_UID-}" ] && [ "${PKEXEC_UID-}" != 0 ]; then
  user=$(getent passwd "$PKEXEC_UID" | cut -d: -f1)
fi
if [ -n "$user" ] && getent passwd "$user" >/dev/null 2>&1 && getent group "$group" >/dev/null 2>&1; then
  if id -nG "$user" 2>/dev/null | tr ' ' '\n' | grep -qx "$group"; then
    :
  elif usermod -a -G "$group" "$user" 2>/dev/null || gpasswd -a "$user" "$group" >/dev/null 2>&1; then
    say "added $user to the group $group; it takes effect at the next login"
  else
    say "could not add $user to the group $group; run: usermod -a -G $group $user"
  fi
fi

# --- the service ---------------------------------------------------------------------------
unit_dir=/usr/lib/systemd/system
[ -d "$unit_dir" ] || unit_dir=/lib/systemd/system
if ! command -v systemctl >/dev/null 2>&1; then
  say "systemd is not installed: start the helper yourself with: sudo warren run"
  exit 0
fi
mkdir -p "$unit_dir"
if ! install -m 0644 "$helper_dir/$unit" "$unit_dir/$unit"; then
  say "could not install $unit_dir/$unit; the helper is not installed as a service"
  exit 0
fi

if [ ! -d /run/systemd/system ]; then
  # A chroot, a container or an image build: enable for the next boot, start nothing.
  systemctl enable "$unit" >/dev/null 2>&1 || say "could not enable $unit"
  exit 0
fi

systemctl daemon-reload || true
if [ "$upgrade" = yes ]; then
  # Restart a running helper so it runs the new version; leave a stopped or disabled one be.
  systemctl try-restart "$unit" || say "could not restart $unit; see: journalctl -u $unit"
else
  systemctl enable --now "$unit" || say "could not start $unit; see: journalctl -u $unit"
fi

if [ ! -e /etc/warren/profiles/Universe.profile ]; then
  say "no profile yet: the helper starts once /etc/warren/profiles/Universe.profile exists."
  say "create one with: sudo warren init --profile /etc/warren/profiles/Universe.profile --address 100.64.X.Y"
  say "then run: sudo warren start"
fi
exit 0
