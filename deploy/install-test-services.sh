#!/usr/bin/env bash
# Installs the Debian packages the test suite starts as throwaway services: slapd, Redis
# (also as a cluster, with redis-cli), PostgreSQL, Radicale behind apache2 (Digest front),
# Kamailio with its presence/XML/PostgreSQL modules and sipp, Chromium for the status page,
# MariaDB for the SQL connector and the legacy-table import, systemd (systemd-analyze verify)
# and strace for the units in deploy/systemd and the system calls their filter must allow (test/deploy).
# Idempotent; does nothing when everything is present. Needs root to install.
set -euo pipefail
want=(slapd ldap-utils redis-server redis-tools postgresql radicale apache2 kamailio
  kamailio-presence-modules kamailio-xml-modules kamailio-postgres-modules
  kamailio-utils-modules sip-tester chromium mariadb-server systemd strace)
need=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then echo "missing packages: ${need[*]} (run as root: apt-get install ${need[*]})" >&2; exit 1; fi
# Keep Debian from starting the packaged daemons: tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${need[@]}" >/dev/null
