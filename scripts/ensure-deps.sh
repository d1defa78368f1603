#!/usr/bin/env bash
# ensure-deps: installs the Debian packages Warren's demo, tests and benchmark use, if any is
# missing. Run as root on Debian; elsewhere it only says what is missing. Used by .ci/run,
# `npm run demo` and `npm test`, so the README's two commands work on a fresh machine.
set -euo pipefail

# command → package that provides it
declare -A PKG=(
  [ip]=iproute2 [ping]=iputils-ping [wireguard-go]=wireguard-go [wg]=wireguard-tools [wg-quick]=wireguard-tools
  [iperf3]=iperf3 [iptables]=iptables [nft]=nftables [dig]=dnsutils [pgrep]=procps
  [sysctl]=procps [killall]=psmisc [curl]=curl [python3]=python3 [make]=make [g++]=g++
  [chromium]=chromium [ethtool]=ethtool [systemd-analyze]=systemd [shellcheck]=shellcheck [makensis]=nsis
)
missing=()
for cmd in "${!PKG[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG[$cmd]}")
done
# PostgreSQL's programs are not on PATH on Debian (/usr/lib/postgresql/N/bin): the store's
# tests start a throwaway server from there (coordinator/src/testing/postgres.ts).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "warren: missing packages: ${missing[*]} (install them as root with apt-get)" >&2
  exit 0
fi
echo "==> installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends ca-certificates "${missing[@]}" >/dev/null
