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
# and the CRLs are loaded with ldapadd. Unmodified `openssl verify` loads the
# provider through OPENSSL_CONF; the CLI shows the attempts and the class.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup ldap
TRANSIENT_RE='(^|[^/a-z])transient([^/a-z]|$)'
SLAPD_BIN="${SLAPD_BIN:-/usr/sbin/slapd}"
need_bin "$SLAPD_BIN" slapd
need_bin "$(command -v ldapadd || true)" ldapadd
SCHEMA_DIR=/etc/ldap/schema
if [[ ! -f "$SCHEMA_DIR/core.schema" ]]; then
    echo "SKIP: $SCHEMA_DIR/core.schema not found" >&2
    exit 77
fi
SLAPD_DIR="$WORK/slapd"
ROOTDN="cn=admin,o=Test"
ROOTPW="test-only-$RANDOM"

# start_slapd PORT: slapd on 127.0.0.1:PORT, config and database in
# $SLAPD_DIR (kept across restarts). Sets SLAPD_PID and SLAPD_LOG.
start_slapd() {
    local port=$1 modpath
    mkdir -p "$SLAPD_DIR/db"
    modpath=/usr/lib/ldap
    cat >"$SLAPD_DIR/slapd.conf" <<EOF
include $SCHEMA_DIR/core.schema
pidfile $SLAPD_DIR/slapd.pid
argsfile $SLAPD_DIR/slapd.args
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
    "$SLAPD_BIN" -f "$SLAPD_DIR/slapd.conf" -h "ldap://127.0.0.1:$port/" \
        -d stats >>"$SLAPD_LOG" 2>&1 &
    SLAPD_PID=$!
    track_pid "$SLAPD_PID"
    if ! wait_port "$port" 10; then
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

# accepts: number of connections slapd has accepted so far.
accepts() {
    grep -c "ACCEPT from" "$SLAPD_LOG" || true
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
    ca_init root
    ca_init inter
    ca_init inter-revoked
    revoke inter-revoked root
    revoke revoked inter
    gen_crl root "$PKI/root.crl"
    gen_crl inter "$PKI/inter.crl"
    gen_crl inter-revoked "$PKI/inter-revoked.crl"
}

LDAP_PORT=$(free_port)
HANG_PORT=$(free_port)
start_slapd "$LDAP_PORT"
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
start_slapd "$LDAP_PORT"
write_cnf "$WORK/back.cnf" fetch_timeout=5
ossl_verify back "$WORK/back.cnf" "$PKI/good.pem"
expect_rc "slapd back: good leaf verifies again" 0

finish
