#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# LDAP CDPs against a real slapd (OpenLDAP, Debian package) on 127.0.0.1
# with its own slapd.conf and mdb database in the work directory, suffix
# o=Test, anonymous read. The PKI's only CDPs are LDAP URLs:
#   inter, inter-revoked  ldap://.../cn=Root,o=Test?authorityRevocationList;binary
#   good, revoked         ldap://.../cn=Inter,o=Test?certificateRevocationList;binary
#   under-revoked         ldap://.../cn=InterRevoked,o=Test (default attribute)
#   noattr                ldap://.../cn=Empty,o=Test?... (entry without a CRL)
#   noentry               ldap://.../cn=Nowhere,o=Test?... (no such entry)
#   hang                  a TCP server that accepts and never answers
#   hostless              ldap:///cn=Inter,o=Test?... (no server named)
#   ldaps-good, ldaps-revoked
#                         ldaps://127.0.0.1:PORT2/cn=Inter,o=Test?... (only)
# and the CRLs are loaded with ldapadd. slapd also listens for LDAPS on a
# second port, with a server certificate for 127.0.0.1 from a CA of its own
# (not the PKI under test), which the client trusts only when told through
# LDAPTLS_CACERT (libldap's environment variant of ldap.conf TLS_CACERT).
# Unmodified `openssl verify` loads the provider through OPENSSL_CONF; the
# CLI shows the attempts and the class.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup ldap
TRANSIENT_RE='(^|[^/a-z])transient([^/a-z]|$)'
SLAPD_BIN="${SLAPD_BIN:-/usr/sbin/slapd}"
need_bin "$SLAPD_BIN" slapd
need_bin "$(command -v ldapadd || true)" ldapadd
# libldap's TLS settings come from ldap.conf and these: none inherited, so
# the server certificate is trusted only where a check says so
unset LDAPTLS_CACERT LDAPTLS_CACERTDIR LDAPTLS_REQCERT LDAPTLS_CERT \
    LDAPTLS_KEY LDAPCONF LDAPRC LDAPNOINIT
SCHEMA_DIR=/etc/ldap/schema
if [[ ! -f "$SCHEMA_DIR/core.schema" ]]; then
    echo "SKIP: $SCHEMA_DIR/core.schema not found" >&2
    exit 77
fi
SLAPD_DIR="$WORK/slapd"
ROOTDN="cn=admin,o=Test"
ROOTPW="test-only-$RANDOM"

# make_tls_ca DIR: slapd's TLS identity in DIR (sets TLS_DIR): ca.pem, a
# CA of its own, and server.pem/server.key, a server certificate it issued
# for 127.0.0.1 (subjectAltName IP:127.0.0.1, DNS:localhost: lib.sh's leaf
# profile). slapd runs without -u/-g, as the user of this script (root in
# CI): it never drops privileges, so the key may stay private.
make_tls_ca() {
    local PKI=$1
    mkdir -p "$PKI"
    PKI=$(cd "$PKI" && pwd)
    issue ca "/O=domainsec test/CN=Test LDAPS CA" root self
    issue server "/O=domainsec test/CN=127.0.0.1" leaf ca ""
    chmod 0600 "$PKI/server.key" "$PKI/ca.key"
    TLS_DIR=$PKI
}

# start_slapd PORT TLS_PORT: slapd on ldap://127.0.0.1:PORT and
# ldaps://127.0.0.1:TLS_PORT (certificate from $TLS_DIR), config and
# database in $SLAPD_DIR (kept across restarts). Sets SLAPD_PID, SLAPD_LOG.
start_slapd() {
    local port=$1 tls_port=$2 modpath
    mkdir -p "$SLAPD_DIR/db"
    modpath=/usr/lib/ldap
    cat >"$SLAPD_DIR/slapd.conf" <<EOF
include $SCHEMA_DIR/core.schema
pidfile $SLAPD_DIR/slapd.pid
argsfile $SLAPD_DIR/slapd.args
TLSCACertificateFile $TLS_DIR/ca.pem
TLSCertificateFile $TLS_DIR/server.pem
TLSCertificateKeyFile $TLS_DIR/server.key
modulepath $modpath
moduleload back_mdb
database mdb
maxsize 67108864
suffix "o=Test"
rootdn "$ROOTDN"
rootpw $ROOTPW
directory $SLAPD_DIR/db
access to * by * read
EOF
    SLAPD_LOG="$SLAPD_DIR/slapd.log"
    # -d keeps slapd in the foreground (our PID) and logs connections
    "$SLAPD_BIN" -f "$SLAPD_DIR/slapd.conf" \
        -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$tls_port/" \
        -d stats >>"$SLAPD_LOG" 2>&1 &
    SLAPD_PID=$!
    track_pid "$SLAPD_PID"
    if ! wait_port "$port" 10 || ! wait_port "$tls_port" 10; then
        tail -n 20 "$SLAPD_LOG" >&2 || true
        return 1
    fi
}

# ldap_load LDIF: add the entries of LDIF as the rootdn.
# shellcheck disable=SC2317  # called through expect_true
ldap_load() {
    ldapadd -x -H "ldap://127.0.0.1:$LDAP_PORT" -D "$ROOTDN" -w "$ROOTPW" \
        -f "$1" >"$1.out" 2>&1
}

# accepts [PORT]: number of connections slapd has accepted so far (on the
# listener 127.0.0.1:PORT only when given).
accepts() {
    grep -c "ACCEPT from .*(IP=127\.0\.0\.1:${1:-[0-9]*})" "$SLAPD_LOG" ||
        true
}

# ldaps_no_op: connections to the LDAPS listener that slapd closed before
# any operation (not even a bind) so far. A client rejecting the server's
# certificate ends up here: libldap (GnuTLS) checks it once the handshake is
# done, so slapd logs "TLS established", then "connection lost".
ldaps_no_op() {
    awk -v listener="(IP=127.0.0.1:$LDAPS_PORT)" '
        match($0, /conn=[0-9]+ /) { c = substr($0, RSTART + 5, RLENGTH - 6) }
        / ACCEPT from / && index($0, listener) { tls[c] = 1 }
        / op=[0-9]+ / { op[c] = 1 }
        / fd=[0-9]+ closed/ && (c in tls) && !(c in op) { n++ }
        END { print n + 0 }' "$SLAPD_LOG"
}

# grows BEFORE cmd...: the number cmd prints exceeds BEFORE within 5 s
# (slapd logs a connection's end when it gets to it).
# shellcheck disable=SC2317  # called through expect_true
grows() {
    local before=$1 i
    shift
    for ((i = 0; i < 50; i++)); do
        if [[ $("$@") -gt "$before" ]]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# attempt_of NAME URL_ERE: the CLI's lines (URL, result, source) on its
# attempts at URLs matching URL_ERE in the last output, into ATTEMPT
# ($WORK/NAME.attempt).
attempt_of() {
    ATTEMPT="$WORK/$1.attempt"
    grep -E -A2 -- "^  depth [0-9]+: $2\$" "$OUT" >"$ATTEMPT" || true
}

# issue_ldap NAME SUBJECT PROFILE ISSUER CDP_URL: lib.sh's issue, with the
# CDP in a section of its own: an LDAP DN's commas would split the
# one-line form "URI:..." into several names.
issue_ldap() {
    local name=$1 subj=$2 profile=$3 issuer=$4 cdp=$5 serial
    pki_ossl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key"
    pki_ossl req -new -key "$PKI/$name.key" -subj "$subj" \
        -out "$PKI/$name.csr"
    ext_file "$PKI/$name.ext" "$profile" ""
    cat >>"$PKI/$name.ext" <<EOF
crlDistributionPoints = cdp_dp
[cdp_dp]
fullname = @cdp_names
[cdp_names]
URI.1 = $cdp
EOF
    serial="0x$(pki_ossl rand -hex 8)"
    pki_ossl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$issuer.pem" \
        -CAkey "$PKI/$issuer.key" -days 365 -sha256 -set_serial "$serial" \
        -extfile "$PKI/$name.ext" -extensions ext -out "$PKI/$name.pem" \
        2>"$PKI/$name.err"
}

# ldap_leaf NAME CDP_URL [ISSUER]: make_leaf with an LDAP CDP.
ldap_leaf() {
    issue_ldap "$1" "/O=domainsec test/CN=$1" leaf "${3:-inter}" "$2"
}

# make_ldap_pki DIR: the PKI above in DIR (sets PKI).
make_ldap_pki() {
    local base="ldap://127.0.0.1:$LDAP_PORT"
    local tls_base="ldaps://127.0.0.1:$LDAPS_PORT"
    local crl="certificateRevocationList;binary"
    PKI=$1
    mkdir -p "$PKI"
    PKI=$(cd "$PKI" && pwd)
    issue root "/O=domainsec test/CN=Test Root CA" root self
    issue_ldap inter "/O=domainsec test/CN=Test Intermediate CA" ca root \
        "$base/cn=Root,o=Test?authorityRevocationList;binary"
    issue_ldap inter-revoked \
        "/O=domainsec test/CN=Test Revoked Intermediate CA" ca root "$base/cn=Root,o=Test?authorityRevocationList;binary"
    ldap_leaf good "$base/cn=Inter,o=Test?$crl"
    ldap_leaf revoked "$base/cn=Inter,o=Test?$crl"
    ldap_leaf under-revoked "$base/cn=InterRevoked,o=Test" inter-revoked
    ldap_leaf noattr "$base/cn=Empty,o=Test?$crl"
    ldap_leaf noentry "$base/cn=Nowhere,o=Test?$crl"
    ldap_leaf hang "ldap://127.0.0.1:$HANG_PORT/cn=Inter,o=Test?$crl"
    ldap_leaf hostless "ldap:///cn=Inter,o=Test?$crl"
    ldap_leaf ldaps-good "$tls_base/cn=Inter,o=Test?$crl"
    ldap_leaf ldaps-revoked "$tls_base/cn=Inter,o=Test?$crl"
    ca_init root
    ca_init inter
    ca_init inter-revoked
    revoke inter-revoked root
    revoke revoked inter
    revoke ldaps-revoked inter
    gen_crl root "$PKI/root.crl"
    gen_crl inter "$PKI/inter.crl"
    gen_crl inter-revoked "$PKI/inter-revoked.crl"
}

LDAP_PORT=$(free_port)
LDAPS_PORT=$(free_port)
HANG_PORT=$(free_port)
make_tls_ca "$WORK/tls"
start_slapd "$LDAP_PORT" "$LDAPS_PORT"
make_ldap_pki "$WORK/pki"
cat >"$WORK/entries.ldif" <<EOF
dn: o=Test
objectClass: organization
o: Test

dn: cn=Root,o=Test
objectClass: cRLDistributionPoint
cn: Root
authorityRevocationList;binary:< file://$PKI/root.crl

dn: cn=Inter,o=Test
objectClass: cRLDistributionPoint
cn: Inter
certificateRevocationList;binary:< file://$PKI/inter.crl

dn: cn=InterRevoked,o=Test
objectClass: cRLDistributionPoint
cn: InterRevoked
certificateRevocationList;binary:< file://$PKI/inter-revoked.crl

dn: cn=Empty,o=Test
objectClass: cRLDistributionPoint
cn: Empty
EOF
expect_true "slapd: CRLs loaded with ldapadd" ldap_load "$WORK/entries.ldif"
run_cmd ldapsearch ldapsearch -x -LLL -H "ldap://127.0.0.1:$LDAP_PORT" \
    -b "cn=Inter,o=Test" -s base "certificateRevocationList;binary"
expect_grep "slapd: anonymous search returns the intermediate's CRL" \
    "^certificateRevocationList;binary::"

echo "-- good and revoked leaves, CRLs from LDAP only"
write_cnf "$WORK/up.cnf" fetch_timeout=5
ossl_verify good "$WORK/up.cnf" "$PKI/good.pem"
expect_rc "good leaf: openssl verify succeeds" 0
expect_grep "good leaf: OK" ": OK$"
echo "   good leaf verified in $ELAPSED_MS ms (2 LDAP fetches)"
ossl_verify revoked "$WORK/up.cnf" "$PKI/revoked.pem"
expect_rc "revoked leaf: openssl verify fails" '!0'
expect_grep "revoked leaf: error 23" "error 23 at 0 depth lookup"
expect_grep "revoked leaf: certificate revoked" "certificate revoked"

write_cnf "$WORK/cli.cnf" fetch_timeout=5
cli_verify cli-good "$WORK/cli.cnf" "$PKI/good.pem"
expect_rc "good leaf: CLI exit 0" 0
expect_grep "good leaf: CLI shows the LDAP attempt for the leaf" \
    "depth 0: ldap://127\.0\.0\.1:$LDAP_PORT/cn=Inter,o=Test\?certificateRevocationList;binary"
expect_grep "good leaf: CLI shows the ARL attempt for the intermediate" \
    "depth 1: ldap://127\.0\.0\.1:$LDAP_PORT/cn=Root,o=Test\?authorityRevocationList;binary"
expect_grep "good leaf: LDAP route is direct" "route: direct"
cli_verify cli-revoked "$WORK/cli.cnf" "$PKI/revoked.pem"
expect_rc "revoked leaf: CLI exit 1 (fatal)" 1
expect_grep "revoked leaf: CLI says fatal" "fatal"

echo "-- authorityRevocationList: a revoked intermediate"
write_cnf "$WORK/arl.cnf" fetch_timeout=5
ossl_verify arl "$WORK/arl.cnf" "$PKI/under-revoked.pem" \
    "$PKI/inter-revoked.pem"
expect_rc "revoked intermediate: openssl verify fails" '!0'
expect_grep "revoked intermediate: error 23 at depth 1 (root's ARL)" \
    "error 23 at 1 depth lookup"
expect_no_grep "revoked intermediate: leaf's CRL (default attribute) found" \
    "error [0-9]+ at 0 depth lookup"

echo "-- entry without the attribute, entry missing"
write_cnf "$WORK/noattr.cnf" fetch_timeout=5
cli_verify cli-noattr "$WORK/noattr.cnf" "$PKI/noattr.pem"
expect_rc "no attribute: CLI exit 75 (transient)" 75
expect_grep "no attribute: the reason names the entry and attribute" \
    "entry 'cn=Empty,o=Test' has no certificateRevocationList;binary value"
expect_grep "no attribute: CLI says transient" "$TRANSIENT_RE"
ossl_verify noattr "$WORK/noattr.cnf" "$PKI/noattr.pem"
expect_grep "no attribute: openssl verify error 3" "error 3 at 0 depth lookup"
expect_grep "no attribute: log line gives the reason" \
    "transient.*has no certificateRevocationList;binary value"
cli_verify cli-noentry "$WORK/noattr.cnf" "$PKI/noentry.pem"
expect_rc "no entry: CLI exit 75 (transient)" 75
expect_grep "no entry: the reason says the entry is missing" \
    "no entry 'cn=Nowhere,o=Test'"

echo "-- max_crl_size smaller than the CRL"
write_cnf "$WORK/small.cnf" fetch_timeout=5 max_crl_size=100
cli_verify cli-small "$WORK/small.cnf" "$PKI/good.pem"
expect_rc "CRL over max_crl_size: CLI exit 75 (transient)" 75
expect_grep "CRL over max_crl_size: reason says too big" \
    "too-big.*larger than max_crl_size"

echo "-- hostless URL: refused, nothing contacted"
before=$(accepts)
# leaf only: the intermediate's own (valid) CDP would contact slapd
write_cnf "$WORK/hostless.cnf" fetch_timeout=5 check_depth=leaf
# libldap's default server would be this slapd: it must not be asked
LDAPURI="ldap://127.0.0.1:$LDAP_PORT" cli_verify cli-hostless \
    "$WORK/hostless.cnf" "$PKI/hostless.pem"
# retrying cannot help: a configuration problem of the issuing CA (fatal)
expect_rc "hostless URL: CLI exit 1 (fatal)" 1
expect_grep "hostless URL: refused with a clear reason" \
    "names no server; refused"
LDAPURI="ldap://127.0.0.1:$LDAP_PORT" ossl_verify hostless \
    "$WORK/hostless.cnf" "$PKI/hostless.pem"
expect_grep "hostless URL: openssl verify error 3" "error 3 at 0 depth lookup"
after=$(accepts)
expect_true "hostless URL: slapd got no connection ($before -> $after)" \
    test "$before" -eq "$after"
expect_true "hostless URL: slapd got connections before (the check can fail)" \
    test "$before" -gt 0

echo "-- ldaps://: slapd's CA trusted through LDAPTLS_CACERT"
LDAPS_RE="ldaps://127\.0\.0\.1:$LDAPS_PORT/cn=Inter,o=Test"
LDAPS_RE+="\?certificateRevocationList;binary"
# libldap alone first: the variable is what makes the certificate trusted
LDAPTLS_CACERT="$TLS_DIR/ca.pem" run_cmd ldapsearch-tls ldapsearch -x \
    -LLL -H "ldaps://127.0.0.1:$LDAPS_PORT" -b "cn=Inter,o=Test" -s base \
    "certificateRevocationList;binary"
expect_rc "ldapsearch over ldaps, CA in LDAPTLS_CACERT: succeeds" 0
expect_grep "ldapsearch over ldaps: returns the intermediate's CRL" \
    "^certificateRevocationList;binary::"
run_cmd ldapsearch-tls-untrusted ldapsearch -x -LLL \
    -H "ldaps://127.0.0.1:$LDAPS_PORT" -b "cn=Inter,o=Test" -s base \
    "certificateRevocationList;binary"
expect_rc "ldapsearch over ldaps without the CA: fails" '!0'

# a fresh cache (write_cnf) for every run: each one fetches over LDAPS
write_cnf "$WORK/ldaps-good.cnf" fetch_timeout=5 cdp_schemes=http,ldap,ldaps
before=$(accepts "$LDAPS_PORT")
LDAPTLS_CACERT="$TLS_DIR/ca.pem" ossl_verify ldaps-good \
    "$WORK/ldaps-good.cnf" "$PKI/ldaps-good.pem"
expect_rc "ldaps good leaf: openssl verify succeeds" 0
expect_grep "ldaps good leaf: OK" ": OK$"
after=$(accepts "$LDAPS_PORT")
expect_true "ldaps good leaf: LDAPS listener contacted ($before -> $after)" \
    test "$after" -gt "$before"
write_cnf "$WORK/ldaps-revoked.cnf" fetch_timeout=5 \
    cdp_schemes=http,ldap,ldaps
LDAPTLS_CACERT="$TLS_DIR/ca.pem" ossl_verify ldaps-revoked \
    "$WORK/ldaps-revoked.cnf" "$PKI/ldaps-revoked.pem"
expect_rc "ldaps revoked leaf: openssl verify fails" '!0'
expect_grep "ldaps revoked leaf: error 23" "error 23 at 0 depth lookup"

write_cnf "$WORK/ldaps-cli.cnf" fetch_timeout=5 cdp_schemes=http,ldap,ldaps
LDAPTLS_CACERT="$TLS_DIR/ca.pem" cli_verify cli-ldaps-good \
    "$WORK/ldaps-cli.cnf" "$PKI/ldaps-good.pem"
expect_rc "ldaps good leaf: CLI exit 0" 0
attempt_of cli-ldaps-good "$LDAPS_RE"
expect_grep "ldaps good leaf: CLI shows the ldaps attempt for the leaf" \
    "depth 0: $LDAPS_RE" "$ATTEMPT"
expect_grep "ldaps good leaf: the ldaps attempt succeeded" "result: ok" \
    "$ATTEMPT"
expect_grep "ldaps good leaf: the CRL came from the network" \
    "source: network.*route: direct" "$ATTEMPT"
write_cnf "$WORK/ldaps-cli-revoked.cnf" fetch_timeout=5 \
    cdp_schemes=http,ldap,ldaps
LDAPTLS_CACERT="$TLS_DIR/ca.pem" cli_verify cli-ldaps-revoked \
    "$WORK/ldaps-cli-revoked.cnf" "$PKI/ldaps-revoked.pem"
expect_rc "ldaps revoked leaf: CLI exit 1 (fatal)" 1
expect_grep "ldaps revoked leaf: CLI says revoked" "error 23 at depth 0"

echo "-- ldaps://: server certificate not trusted"
# LDAPTLS_CACERT unset: ldap.conf's TLS_CACERT (the system bundle) applies,
# LDAPTLS_REQCERT unset: its default, demand
write_cnf "$WORK/ldaps-untrusted.cnf" fetch_timeout=2 \
    cdp_schemes=http,ldap,ldaps
before=$(ldaps_no_op)
ossl_verify ldaps-untrusted "$WORK/ldaps-untrusted.cnf" \
    "$PKI/ldaps-good.pem"
expect_rc "untrusted LDAPS server: openssl verify fails" '!0'
expect_grep "untrusted LDAPS server: openssl verify error 3" \
    "error 3 at 0 depth lookup"
expect_grep "untrusted LDAPS server: log line says transient" \
    "$TRANSIENT_RE"
expect_max_ms "untrusted LDAPS server: within fetch_timeout + 1 s" 3000
expect_true "untrusted LDAPS server: the client left slapd before any request" \
    grows "$before" ldaps_no_op
write_cnf "$WORK/ldaps-untrusted-cli.cnf" fetch_timeout=2 \
    cdp_schemes=http,ldap,ldaps
cli_verify cli-ldaps-untrusted "$WORK/ldaps-untrusted-cli.cnf" \
    "$PKI/ldaps-good.pem"
expect_rc "untrusted LDAPS server: CLI exit 75 (transient)" 75
expect_grep "untrusted LDAPS server: CLI says transient" "$TRANSIENT_RE"
expect_max_ms "untrusted LDAPS server: CLI within fetch_timeout + 1 s" 3000
attempt_of cli-ldaps-untrusted "$LDAPS_RE"
expect_grep "untrusted LDAPS server: CLI shows the failed ldaps attempt" \
    "result: unreachable" "$ATTEMPT"
expect_grep "untrusted LDAPS server: the reason points at the certificate check" \
    "TLS handshake; the server certificate is checked" "$ATTEMPT"
# the trust anchor file named does not exist
write_cnf "$WORK/ldaps-nowhere.cnf" fetch_timeout=2 \
    cdp_schemes=http,ldap,ldaps
LDAPTLS_CACERT="$WORK/no-such-ca.pem" cli_verify cli-ldaps-nowhere \
    "$WORK/ldaps-nowhere.cnf" "$PKI/ldaps-good.pem"
expect_rc "LDAPTLS_CACERT pointing nowhere: CLI exit 75 (transient)" 75
expect_max_ms "LDAPTLS_CACERT pointing nowhere: within fetch_timeout + 1 s" \
    3000
write_cnf "$WORK/ldaps-nowhere2.cnf" fetch_timeout=2 \
    cdp_schemes=http,ldap,ldaps
LDAPTLS_CACERT="$WORK/no-such-ca.pem" ossl_verify ldaps-nowhere \
    "$WORK/ldaps-nowhere2.cnf" "$PKI/ldaps-good.pem"
expect_grep "LDAPTLS_CACERT pointing nowhere: openssl verify error 3" \
    "error 3 at 0 depth lookup"
expect_max_ms "LDAPTLS_CACERT pointing nowhere: openssl verify in time" 3000

echo "-- ldaps:// not in cdp_schemes: never contacted"
# the CA is trusted: contacting the server would succeed
write_cnf "$WORK/ldaps-off.cnf" fetch_timeout=5 cdp_schemes=http,ldap
before=$(accepts "$LDAPS_PORT")
LDAPTLS_CACERT="$TLS_DIR/ca.pem" cli_verify cli-ldaps-off \
    "$WORK/ldaps-off.cnf" "$PKI/ldaps-good.pem"
expect_rc "ldaps not allowed: CLI exit 1 (fatal)" 1
expect_grep "ldaps not allowed: CLI says fatal" "fatal"
attempt_of cli-ldaps-off "$LDAPS_RE"
expect_grep "ldaps not allowed: the ldaps CDP is listed as not fetched" \
    "scheme not in cdp_schemes; not fetched" "$ATTEMPT"
write_cnf "$WORK/ldaps-off2.cnf" fetch_timeout=5 cdp_schemes=http,ldap
LDAPTLS_CACERT="$TLS_DIR/ca.pem" ossl_verify ldaps-off \
    "$WORK/ldaps-off2.cnf" "$PKI/ldaps-good.pem"
expect_rc "ldaps not allowed: openssl verify fails" '!0'
expect_grep "ldaps not allowed: openssl verify error 3" \
    "error 3 at 0 depth lookup"
after=$(accepts "$LDAPS_PORT")
expect_true "ldaps not allowed: no LDAPS connection ($before -> $after)" \
    test "$before" -eq "$after"
expect_true "ldaps not allowed: LDAPS connections before (the check can fail)" \
    test "$before" -gt 0

echo "-- a server that accepts and never answers"
python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)' "$HANG_PORT" >"$WORK/hang.log" 2>&1 &
track_pid $!
wait_port "$HANG_PORT" 10
write_cnf "$WORK/hang.cnf" fetch_timeout=2
cli_verify cli-hang "$WORK/hang.cnf" "$PKI/hang.pem"
expect_rc "hanging server: CLI exit 75 (transient)" 75
expect_grep "hanging server: reason is a timeout" "timeout"
expect_max_ms "hanging server: within fetch_timeout + 1 s" 3000
echo "   hanging server (fetch_timeout 2 s): CLI took $ELAPSED_MS ms"
write_cnf "$WORK/hang2.cnf" fetch_timeout=2
ossl_verify hang "$WORK/hang2.cnf" "$PKI/hang.pem"
expect_grep "hanging server: openssl verify error 3" "error 3 at 0 depth lookup"
expect_max_ms "hanging server: openssl verify within fetch_timeout + 1 s" 3000
echo "   hanging server (fetch_timeout 2 s): openssl verify took $ELAPSED_MS ms"

echo "-- slapd stopped"
stop_pid "$SLAPD_PID"
expect_true "slapd stopped" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$LDAP_PORT)"
write_cnf "$WORK/down.cnf" fetch_timeout=5
ossl_verify down "$WORK/down.cnf" "$PKI/good.pem"
expect_rc "slapd down: openssl verify fails" '!0'
expect_grep "slapd down: error 3" "error 3 at 0 depth lookup"
expect_grep "slapd down: log line says transient" "$TRANSIENT_RE"
expect_max_ms "slapd down: fails fast (connection refused)" 2000
echo "   slapd down: openssl verify took $ELAPSED_MS ms"
write_cnf "$WORK/down-cli.cnf" fetch_timeout=5
cli_verify cli-down "$WORK/down-cli.cnf" "$PKI/good.pem"
expect_rc "slapd down: CLI exit 75 (transient)" 75
expect_grep "slapd down: CLI says unreachable" "unreachable"
cli_verify cli-down-revoked "$WORK/down-cli.cnf" "$PKI/revoked.pem"
expect_rc "slapd down: revoked leaf is not accepted" '!0'

echo "-- slapd back: the cached CRLs of up.cnf and a fresh fetch"
start_slapd "$LDAP_PORT" "$LDAPS_PORT"
write_cnf "$WORK/back.cnf" fetch_timeout=5
ossl_verify back "$WORK/back.cnf" "$PKI/good.pem"
expect_rc "slapd back: good leaf verifies again" 0

finish
