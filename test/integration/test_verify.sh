#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Unmodified `openssl verify` (and `openssl list`) with domainsec activated
# through OPENSSL_CONF, CRLs served by a real nginx: a good leaf verifies, a
# revoked leaf and a leaf under a revoked intermediate fail with error 23 at
# the right depth, `revocation = off` behaves exactly like plain OpenSSL,
# the CLI gives 0/1, and bad directive values are refused (CLI exit 78).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup verify

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
start_nginx "$WWW" "$port"
write_cnf "$WORK/require.cnf"

echo "-- openssl verify, revocation = require"
ossl_verify good "$WORK/require.cnf" "$PKI/good.pem"
expect_rc "good leaf verifies" 0
expect_grep "good leaf: OK" "good.pem: OK"
expect_grep "inter.crl was fetched from nginx" "GET /inter.crl " \
    "$NGINX_ACCESS_LOG"
expect_grep "root.crl was fetched from nginx" "GET /root.crl " \
    "$NGINX_ACCESS_LOG"

ossl_verify revoked "$WORK/require.cnf" "$PKI/revoked.pem"
expect_rc "revoked leaf is rejected" '!0'
expect_grep "revoked leaf: error 23" "error 23 at 0 depth lookup"
expect_grep "revoked leaf: certificate revoked" "certificate revoked"
expect_no_grep "revoked leaf: no OK" "revoked.pem: OK"

ossl_verify under-revoked "$WORK/require.cnf" "$PKI/under-revoked.pem" \
    "$PKI/inter-revoked.pem"
expect_rc "leaf under a revoked intermediate is rejected" '!0'
expect_grep "revoked intermediate: error 23 at depth 1" \
    "error 23 at 1 depth lookup"
expect_grep "revoked intermediate: certificate revoked" "certificate revoked"

echo "-- revocation = off equals plain OpenSSL"
write_cnf "$WORK/off.cnf" revocation=off
for leaf in good revoked; do
    ossl_verify "$leaf-plain" - "$PKI/$leaf.pem"
    plain_rc=$RC
    grep -F "$PKI/$leaf.pem" "$OUT" >"$WORK/$leaf-plain.cmp" || true
    expect_grep "plain openssl accepts $leaf (it checks no CRL)" \
        "$leaf.pem: OK" "$WORK/$leaf-plain.cmp"
    ossl_verify "$leaf-off" "$WORK/off.cnf" "$PKI/$leaf.pem"
    expect_rc "revocation=off, $leaf: same rc as plain openssl" "$plain_rc"
    expect_rc "revocation=off, $leaf: accepted" 0
    grep -F "$PKI/$leaf.pem" "$OUT" >"$WORK/$leaf-off.cmp" || true
    expect_true "revocation=off, $leaf: same verdict line as plain openssl" \
        cmp -s "$WORK/$leaf-plain.cmp" "$WORK/$leaf-off.cmp"
done

echo "-- domainsec verify (CLI)"
cli_verify cli-good "$WORK/require.cnf" "$PKI/good.pem"
expect_rc "CLI: good leaf exit 0" 0
cli_verify cli-revoked "$WORK/require.cnf" "$PKI/revoked.pem"
expect_rc "CLI: revoked leaf exit 1 (fatal)" 1
expect_grep "CLI: revoked leaf is reported fatal" "fatal"
cli_verify cli-under-revoked "$WORK/require.cnf" "$PKI/under-revoked.pem" \
    "$PKI/inter-revoked.pem"
expect_rc "CLI: leaf under revoked intermediate exit 1 (fatal)" 1

echo "-- bad directive values"
# provider_active CNF: `openssl list -providers` shows domainsec as active.
provider_active() {
    awk '/^  [^ ]/ { p = $1 } p == "domainsec" && /status: active/ { f = 1 }
         END { exit !f }' "$1"
}
run_host list-good "$WORK/require.cnf" "$OPENSSL_BIN" list -providers
expect_rc "openssl list -providers with a good config" 0
expect_true "domainsec is listed active with a good config" \
    provider_active "$OUT"

# File names avoid the directive names: the output must name them itself.
n=0
for bad in "revocation=maybe" "fetch_timeout=10s"; do
    key=${bad%%=*}
    n=$((n + 1))
    write_cnf "$WORK/bad$n.cnf" "$bad"
    run_host "list-bad$n" "$WORK/bad$n.cnf" "$OPENSSL_BIN" list -providers
    if [[ "$RC" -ne 0 ]] || ! provider_active "$OUT"; then
        pass "$bad: openssl list fails or domainsec is not active (rc $RC)"
    else
        fail "$bad: domainsec is active despite the bad value"
    fi
    expect_grep "$bad: the error names the directive" "$key"
    cli_verify "cli-bad$n" "$WORK/bad$n.cnf" "$PKI/good.pem"
    expect_rc "$bad: CLI exit 78 (configuration)" 78
    expect_grep "$bad: CLI names the directive" "$key"
done

finish
