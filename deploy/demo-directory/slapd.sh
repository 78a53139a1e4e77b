#!/bin/sh
# A throwaway OpenLDAP directory for trying xcap-bridge (docs/directory-to-phones.md).
# Suffix dc=example,dc=com, administrator cn=admin,dc=example,dc=com with the password in
# $LDAP_PASSWORD, data in DIR (created), listening on ldap://127.0.0.1:$LDAP_PORT (3389), or
# on the URLs in $LDAP_LISTEN. With $LDAP_SEED naming an LDIF file (people.ldif), an empty
# database is loaded from it before slapd starts (the compose stack does this).
# syncprov keeps contextCSN on the suffix, which xcap-bridge reads to see that nothing
# changed. Runs in the foreground; Ctrl-C stops it. Needs Debian's slapd and ldap-utils.
#
#   LDAP_PASSWORD=secret deploy/demo-directory/slapd.sh /tmp/demo-ldap
#   LDAP_PASSWORD=secret LDAP_SEED=deploy/demo-directory/people.ldif deploy/demo-directory/slapd.sh /tmp/demo-ldap
set -eu
dir=${1:?usage: slapd.sh DIR}
port=${LDAP_PORT:-3389}
listen=${LDAP_LISTEN:-ldap://127.0.0.1:$port/}
: "${LDAP_PASSWORD:?set LDAP_PASSWORD to the administrator password}"
mkdir -p "$dir/db"
cat >"$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload syncprov
pidfile $dir/slapd.pid
sizelimit unlimited
database mdb
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw $LDAP_PASSWORD
directory $dir/db
maxsize 1073741824
index objectClass eq
index entryUUID eq
index entryCSN eq
index uid eq
overlay syncprov
CONF
chmod 600 "$dir/slapd.conf"
# slapadd -w writes the suffix's contextCSN after loading, as a running syncprov would.
if [ -n "${LDAP_SEED:-}" ] && [ ! -e "$dir/db/data.mdb" ]; then
  /usr/sbin/slapadd -q -w -f "$dir/slapd.conf" -l "$LDAP_SEED"
fi
# slapd sizes per-descriptor tables by the open-files limit; a huge one costs memory.
ulimit -n 1024
exec /usr/sbin/slapd -d 0 -h "$listen" -f "$dir/slapd.conf"
