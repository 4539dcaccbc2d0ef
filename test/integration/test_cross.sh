#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Trust through private roots and cross-certificates, with unmodified
# `openssl verify`, `s_server` and `s_client` through OPENSSL_CONF and every
# CRL served by a real nginx (revocation = require, every certificate has a
# CDP, every CA publishes a CRL):
#  (a) direct trust: a partner root only in trust_dirs (no -CAfile): its
#      leaf verifies with its intermediate sent by the peer or only in
#      cross_dirs; a leaf of an unrelated root fails (fatal);
#  (b) cross-certification: our root R in trust_dirs, the partner root P
#      untrusted, a cross-certificate P-by-R in cross_dirs: the partner leaf
#      verifies, also when the peer sends P's self-signed root; with the
#      cross-certificate revoked by R's CRL it is rejected with error 23;
#      an expired (or a revoked) and a valid cross-certificate for the same
#      subject and key verify in both file orders;
#  (c) the same over TLS: s_server -Verify 3 -verify_return_error accepts
#      the cross-certified client, and refuses it when the cross-certificate
#      is revoked;
#  (d) control: plain OpenSSL given the same candidates in a file order.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/lib_pki.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_pki.sh"
dsec_setup cross

port=$(free_port)
pk_init "$WORK/pki" "http://127.0.0.1:$port"

# ca_cert NAME ISSUER OUT START END [ext settings...]: a certificate for CA
# NAME issued by ISSUER, CDP = ISSUER's CRL (START, END: "" for now, a year).
ca_cert() {
    local name=$1 issuer=$2 out=$3 start=$4 end=$5
    shift 5
    pk_ext "$PK/keys/$(basename "$out").ext" "cdp=$PK_URL/$issuer.crl" "$@"
    pk_sign "$out" "$name" "$issuer" "$PK/keys/$(basename "$out").ext" \
        "$start" "$end"
}

echo "-- PKI"
O="/O=domainsec cross test"
# (a) a partner trusted directly, and an unrelated PKI
pk_root DR "$O/CN=Direct Partner Root"
pk_ca DI "$O/CN=Direct Partner Intermediate"
ca_cert DI DR "$PK/DI.pem" "" ""
pk_leaf DL "$O/CN=dl.partner.test" DI
pk_root UR "$O/CN=Unrelated Root"
pk_ca UI "$O/CN=Unrelated Intermediate"
ca_cert UI UR "$PK/UI.pem" "" ""
pk_leaf UL "$O/CN=ul.unrelated.test" UI
# (b) our root, the partner root, the cross-certificates
pk_root R "$O/CN=Our Root"
pk_root P "$O/CN=Partner Root"
pk_ca PI "$O/CN=Partner Intermediate"
ca_cert PI P "$PK/PI.pem" "" ""
pk_leaf PL "$O/CN=pl.partner.test" PI
pk_leaf SRV "$O/CN=server.our.test" R
ca_cert P R "$PK/X.pem" "" ""
ca_cert P R "$PK/Xrev.pem" "" ""
ca_cert P R "$PK/Xexp.pem" "$PK_PAST_START" "$PK_PAST_END"
pk_revoke R "$PK/Xrev.pem"
for ca in DR DI UR UI R P PI; do
    pk_crl "$ca"
done
pk_crl_bundle "$WORK/crls.pem"
start_nginx "$PK_WWW" "$port"

# certdir NAME FILE=SRC...: a directory $WORK/dirs/NAME holding copies of SRC
# under the names FILE.
certdir() {
    local d="$WORK/dirs/$1" spec
    shift
    mkdir -p "$d"
    for spec in "$@"; do
        cp "${spec#*=}" "$d/${spec%%=*}"
    done
    echo "$d"
}
bundle() {
    local out="$WORK/bundles/$1"
    shift
    mkdir -p "$WORK/bundles"
    cat "$@" >"$out"
    echo "$out"
}

# dverify NAME CNF CERT [UNTRUSTED]: unmodified `openssl verify` through
# OPENSSL_CONF, no -CAfile.
dverify() {
    local name=$1 cnf=$2 cert=$3 untrusted=${4:-}
    local args=()
    if [[ -n "$untrusted" ]]; then
        args=(-untrusted "$untrusted")
    fi
    run_host "$name" "$cnf" "$OPENSSL_BIN" verify "${args[@]}" "$cert"
}
# dcli NAME CNF CERT [UNTRUSTED]: the domainsec CLI, no --CAfile.
dcli() {
    local name=$1 cnf=$2 cert=$3 untrusted=${4:-}
    local args=()
    if [[ -n "$untrusted" ]]; then
        args=(--untrusted "$untrusted")
    fi
    run_cmd "$name" env -u OPENSSL_CONF "$CLI" verify --config "$cnf" \
        "${args[@]}" "$cert"
}
# expect_ok DESC CERT: the last openssl verify accepted CERT.
expect_ok() {
    expect_rc "$1: openssl verify exits 0" 0
    expect_grep "$1: OK" "^$2: OK\$"
}
# expect_rejected DESC CERT ERE: the last openssl verify rejected CERT with
# an error matching ERE (e.g. "error (2|20) at").
expect_rejected() {
    expect_rc "$1: openssl verify fails" '!0'
    expect_no_grep "$1: no OK" "^$2: OK\$"
    expect_grep "$1: $3" "$3"
}

empty=$(certdir empty)
direct_trust=$(certdir direct-trust DR.pem="$PK/DR.pem")
our_trust=$(certdir our-trust R.pem="$PK/R.pem")

echo "-- (a) direct trust: partner root only in trust_dirs"
write_cnf "$WORK/direct.cnf" "trust_dirs=$direct_trust" "cross_dirs=$empty"
dverify direct-untrusted "$WORK/direct.cnf" "$PK/DL.pem" "$PK/DI.pem"
expect_ok "direct trust, intermediate sent by the peer" "$PK/DL.pem"
dcli cli-direct-untrusted "$WORK/direct.cnf" "$PK/DL.pem" "$PK/DI.pem"
expect_rc "direct trust, intermediate sent: CLI exit 0" 0
expect_grep "DR's CRL (for DI) fetched from nginx" "GET /DR.crl " \
    "$NGINX_ACCESS_LOG"
expect_grep "DI's CRL (for the leaf) fetched from nginx" "GET /DI.crl " \
    "$NGINX_ACCESS_LOG"

write_cnf "$WORK/direct-pool.cnf" "trust_dirs=$direct_trust" \
    "cross_dirs=$(certdir direct-pool DI.pem="$PK/DI.pem")"
dverify direct-pool "$WORK/direct-pool.cnf" "$PK/DL.pem"
expect_ok "direct trust, intermediate only in cross_dirs" "$PK/DL.pem"
dcli cli-direct-pool "$WORK/direct-pool.cnf" "$PK/DL.pem"
expect_rc "direct trust, intermediate in cross_dirs: CLI exit 0" 0

dverify unrelated "$WORK/direct-pool.cnf" "$PK/UL.pem" "$PK/UI.pem"
expect_rejected "leaf of an unrelated root" "$PK/UL.pem" \
    "error (2|20) at [0-9]+ depth lookup"
dcli cli-unrelated "$WORK/direct-pool.cnf" "$PK/UL.pem" "$PK/UI.pem"
expect_rc "leaf of an unrelated root: CLI exit 1 (fatal)" 1

dverify direct-no-trust "$WORK/direct.cnf" "$PK/PL.pem" "$PK/PI.pem"
expect_rejected "partner leaf of another root under direct trust only" \
    "$PK/PL.pem" "error (2|20) at [0-9]+ depth lookup"

echo "-- (b) cross-certification: R trusted, P not, P-by-R in cross_dirs"
write_cnf "$WORK/x.cnf" "trust_dirs=$our_trust" \
    "cross_dirs=$(certdir x cross-P-by-R.pem="$PK/X.pem")"
dverify x-untrusted "$WORK/x.cnf" "$PK/PL.pem" "$PK/PI.pem"
expect_ok "cross-certified, intermediate sent by the peer" "$PK/PL.pem"
dcli cli-x-untrusted "$WORK/x.cnf" "$PK/PL.pem" "$PK/PI.pem"
expect_rc "cross-certified, intermediate sent: CLI exit 0" 0
expect_grep "P's CRL (for PI) fetched" "GET /P.crl " "$NGINX_ACCESS_LOG"
expect_grep "R's CRL (for the cross-certificate) fetched" "GET /R.crl " \
    "$NGINX_ACCESS_LOG"

dverify x-peer-root "$WORK/x.cnf" "$PK/PL.pem" \
    "$(bundle pi-p.pem "$PK/PI.pem" "$PK/P.pem")"
expect_ok "cross-certified, the peer also sends its untrusted root P" \
    "$PK/PL.pem"

write_cnf "$WORK/x-pool.cnf" "trust_dirs=$our_trust" \
    "cross_dirs=$(certdir x-pool cross-P-by-R.pem="$PK/X.pem" \
        partner-inter.pem="$PK/PI.pem")"
dverify x-pool "$WORK/x-pool.cnf" "$PK/PL.pem"
expect_ok "cross-certified, intermediate only in cross_dirs" "$PK/PL.pem"
dcli cli-x-pool "$WORK/x-pool.cnf" "$PK/PL.pem"
expect_rc "cross-certified, intermediate in cross_dirs: CLI exit 0" 0

dverify x-partner-root-untrusted "$WORK/x.cnf" "$PK/DL.pem" "$PK/DI.pem"
expect_rejected "a root trusted elsewhere is no anchor here" "$PK/DL.pem" \
    "error (2|20) at [0-9]+ depth lookup"

echo "-- (b) the cross-certificate revoked in R's CRL"
write_cnf "$WORK/xrev.cnf" "trust_dirs=$our_trust" \
    "cross_dirs=$(certdir xrev cross-P-by-R.pem="$PK/Xrev.pem")"
dverify xrev-untrusted "$WORK/xrev.cnf" "$PK/PL.pem" "$PK/PI.pem"
expect_rejected "revoked cross-certificate" "$PK/PL.pem" \
    "error 23 at 2 depth lookup"
expect_grep "revoked cross-certificate: certificate revoked" \
    "certificate revoked"
dcli cli-xrev "$WORK/xrev.cnf" "$PK/PL.pem" "$PK/PI.pem"
expect_rc "revoked cross-certificate: CLI exit 1 (fatal)" 1

write_cnf "$WORK/xrev-pool.cnf" "trust_dirs=$our_trust" \
    "cross_dirs=$(certdir xrev-pool cross-P-by-R.pem="$PK/Xrev.pem" \
        partner-inter.pem="$PK/PI.pem")"
dverify xrev-pool "$WORK/xrev-pool.cnf" "$PK/PL.pem"
expect_rejected "revoked cross-certificate, intermediate in cross_dirs" \
    "$PK/PL.pem" "error 23 at 2 depth lookup"

echo "-- (b) an expired or revoked and a valid cross-certificate, both orders"
n=0
for bad in Xexp Xrev; do
    for order in bad-first valid-first; do
        n=$((n + 1))
        if [[ "$order" == bad-first ]]; then
            d=$(certdir "two-$bad-$order" a-cross.pem="$PK/$bad.pem" \
                b-cross.pem="$PK/X.pem")
        else
            d=$(certdir "two-$bad-$order" a-cross.pem="$PK/X.pem" \
                b-cross.pem="$PK/$bad.pem")
        fi
        write_cnf "$WORK/two$n.cnf" "trust_dirs=$our_trust" "cross_dirs=$d"
        dverify "two-$bad-$order" "$WORK/two$n.cnf" "$PK/PL.pem" "$PK/PI.pem"
        expect_ok "$bad and valid cross-certificate, $order" "$PK/PL.pem"
        dcli "cli-two-$bad-$order" "$WORK/two$n.cnf" "$PK/PL.pem" \
            "$PK/PI.pem"
        expect_rc "$bad and valid cross-certificate, $order: CLI exit 0" 0
    done
done
write_cnf "$WORK/xexp.cnf" "trust_dirs=$our_trust" \
    "cross_dirs=$(certdir xexp cross-P-by-R.pem="$PK/Xexp.pem")"
dverify xexp-only "$WORK/xexp.cnf" "$PK/PL.pem" "$PK/PI.pem"
expect_rejected "only an expired cross-certificate" "$PK/PL.pem" \
    "error [0-9]+ at"
dcli cli-xexp-only "$WORK/xexp.cnf" "$PK/PL.pem" "$PK/PI.pem"
expect_rc "only an expired cross-certificate: CLI exit 1 (fatal)" 1

echo "-- (c) TLS: s_server requires a client certificate"
write_cnf "$WORK/client.cnf" "trust_dirs=$our_trust" "cross_dirs=$empty"
# tls_case TAG CROSS_CNF: s_server through CROSS_CNF, one s_client.
tls_case() {
    local tag=$1 cnf=$2 tport
    tport=$(free_port)
    start_s_server "$cnf" "$WORK/s_server-$tag.log" "$tport" \
        -cert "$PK/SRV.pem" -key "$PK/keys/SRV.key" \
        -verify_return_error -Verify 3
    s_client "tls-$tag" "$WORK/client.cnf" "$tport" \
        -cert "$PK/PL.pem" -key "$PK/keys/PL.key" -cert_chain "$PK/PI.pem" \
        -verify_return_error
}
write_cnf "$WORK/server-x.cnf" "trust_dirs=$our_trust" \
    "cross_dirs=$WORK/dirs/x"
tls_case x "$WORK/server-x.cnf"
expect_rc "TLS, cross-certified client: s_client exits 0" 0
expect_grep "TLS, cross-certified client: server verified by the client" \
    "Verify return code: 0 \(ok\)"
expect_grep "TLS, cross-certified client: request served" "HTTP/1.0 200 ok"
expect_no_grep "TLS, cross-certified client: no alert" "alert"
expect_true "TLS, cross-certified client: s_server still running" \
    kill -0 "$SSERVER_PID"

write_cnf "$WORK/server-xrev.cnf" "trust_dirs=$our_trust" \
    "cross_dirs=$WORK/dirs/xrev"
tls_case xrev "$WORK/server-xrev.cnf"
expect_no_grep "TLS, revoked cross-certificate: nothing served" \
    "HTTP/1.0 200 ok"
expect_grep "TLS, revoked cross-certificate: alert 44 certificate revoked" \
    "alert certificate revoked|alert number 44"
expect_grep "TLS, revoked cross-certificate: s_server logged error 23" \
    "num=23|certificate revoked" "$WORK/s_server-xrev.log"

write_cnf "$WORK/server-two.cnf" "trust_dirs=$our_trust" \
    "cross_dirs=$WORK/dirs/two-Xrev-bad-first"
tls_case two "$WORK/server-two.cnf"
expect_rc "TLS, revoked and valid cross-certificate: s_client exits 0" 0
expect_grep "TLS, revoked and valid cross-certificate: request served" \
    "HTTP/1.0 200 ok"

echo "-- (d) control: plain OpenSSL, R as -CAfile, candidates as -untrusted"
# plain OpenSSL takes the first time-valid candidate of -untrusted in file
# order and never backtracks on a revoked or untrusted issuer.
plain_verify plain-x "$PK/R.pem" "$(bundle x.pem "$PK/PI.pem" "$PK/X.pem")" \
    "$WORK/crls.pem" "$PK/PL.pem"
expect_ok "plain OpenSSL given exactly the cross path" "$PK/PL.pem"
plain_verify plain-xrev "$PK/R.pem" \
    "$(bundle xrev.pem "$PK/PI.pem" "$PK/Xrev.pem")" "$WORK/crls.pem" \
    "$PK/PL.pem"
expect_rejected "plain OpenSSL, revoked cross-certificate" "$PK/PL.pem" \
    "error 23 at 2 depth lookup"
plain_verify plain-xexp "$PK/R.pem" \
    "$(bundle xexp.pem "$PK/PI.pem" "$PK/Xexp.pem")" "$WORK/crls.pem" \
    "$PK/PL.pem"
expect_rejected "plain OpenSSL, expired cross-certificate" "$PK/PL.pem" \
    "error 10 at 2 depth lookup"
plain_verify plain-rev-first "$PK/R.pem" \
    "$(bundle rev-first.pem "$PK/PI.pem" "$PK/Xrev.pem" "$PK/X.pem")" \
    "$WORK/crls.pem" "$PK/PL.pem"
expect_rejected "plain OpenSSL, revoked cross-certificate first: no backtracking" \
    "$PK/PL.pem" "error 23 at 2 depth lookup"
plain_verify plain-root-first "$PK/R.pem" \
    "$(bundle root-first.pem "$PK/PI.pem" "$PK/P.pem" "$PK/X.pem")" \
    "$WORK/crls.pem" "$PK/PL.pem"
expect_rejected "plain OpenSSL, untrusted partner root first: no backtracking" \
    "$PK/PL.pem" "error 19 at 2 depth lookup"
# Recorded, not asserted: what this OpenSSL does with the expired
# cross-certificate first (3.0 prefers a candidate valid now among
# -untrusted; older versions took the first).
for order in exp-first valid-first; do
    if [[ "$order" == exp-first ]]; then
        u=$(bundle "$order.pem" "$PK/PI.pem" "$PK/Xexp.pem" "$PK/X.pem")
    else
        u=$(bundle "$order.pem" "$PK/PI.pem" "$PK/X.pem" "$PK/Xexp.pem")
    fi
    plain_verify "plain-$order" "$PK/R.pem" "$u" "$WORK/crls.pem" "$PK/PL.pem"
    echo "INFO: plain OpenSSL, expired and valid cross-certificate," \
        "$order: rc $RC: $(grep -E 'OK$|^error' "$OUT" | head -n 2 |
            paste -sd ' ')"
done

finish
