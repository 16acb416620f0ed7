#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian or Ubuntu machine: system packages, then a
# virtual environment in .venv filled from pyproject.toml. Sourced by ./hub and ./run-tests.
#   bootstrap.sh hub    -> what the hub needs (mosquitto)
#   bootstrap.sh tests  -> also what the test suite needs (chromium, smartmontools, CUPS, ...)
set -euo pipefail
purpose=${1:-hub}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '[setup] %s\n' "$*" >&2; }

# --- system packages -------------------------------------------------------
declare -A need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need[mosquitto]=1
command -v mosquitto_ctrl >/dev/null 2>&1 || need[mosquitto]=1
command -v openssl >/dev/null 2>&1 || need[openssl]=1
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need[python3-venv]=1
if [ "$purpose" = tests ]; then
  [ -x /usr/bin/chromium ] || need[chromium]=1
  command -v smartctl >/dev/null 2>&1 || need[smartmontools]=1
  command -v losetup >/dev/null 2>&1 || need[util-linux]=1
  command -v mosquitto_sub >/dev/null 2>&1 || need[mosquitto-clients]=1
  command -v udevadm >/dev/null 2>&1 || need[udev]=1
  # The label printing tests start their own CUPS scheduler (tests/station/cups_server.py):
  # cupsd, its client tools (lp, lpadmin, lpstat) and CUPS's pass-through filter gziptoany.
  [ -x /usr/sbin/cupsd ] || need[cups-daemon]=1
  [ -x /usr/bin/lp ] && [ -x /usr/sbin/lpadmin ] || need[cups-client]=1
  [ -x /usr/lib/cups/filter/gziptoany ] || need[cups-core-drivers]=1
fi
if [ ${#need[@]} -gt 0 ]; then
  pkgs="${!need[*]}"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: $pkgs"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  else
    say "missing system packages: $pkgs"
    say "install them with: sudo apt-get install $pkgs   (then run this command again)"
    exit 1
  fi
fi
# A Debian-installed mosquitto starts its own service on 1883; the hub starts its
# own broker from broker_config/ and needs nothing from that service. Likewise the tests
# start their own cupsd on a free loopback port and never use the system's CUPS service.

# --- virtual environment ----------------------------------------------------
venv="$root/.venv"
stamp="$venv/.digibank-installed"
want=$(sha256sum "$root/pyproject.toml" | cut -c1-16)
if [ ! -x "$venv/bin/python" ]; then
  say "creating virtual environment in .venv"
  python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing Python packages into .venv (first run takes a minute)"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q -e "$root[dev]"
  echo "$want" >"$stamp"
fi
