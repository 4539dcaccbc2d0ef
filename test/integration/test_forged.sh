#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The signature gate: a forged leaf (issuer name and authority key id of the
# real intermediate, signed by another key) whose CDP points at a second
# nginx is rejected as a signature failure (error 7, fatal), not as a CRL
# failure, and its CDP is never fetched: the second nginx sees no request.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup forged

port=$(free_port)
port2=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
make_fake_ca fake-inter inter
mkdir -p "$WORK/www2"
cp "$WWW/inter.crl" "$WORK/www2/inter.crl"
issue forged "/O=domainsec test/CN=forged" leaf fake-inter \
    "http://127.0.0.1:$port2/inter.crl"

start_nginx "$WWW" "$port" nginx
start_nginx "$WORK/www2" "$port2" nginx2
access2=$NGINX_ACCESS_LOG
write_cnf "$WORK/require.cnf"

ossl_verify plain - "$PKI/forged.pem"
expect_grep "plain OpenSSL reports error 7 for the forged leaf" \
    "error 7 at 0 depth lookup"

ossl_verify forged "$WORK/require.cnf" "$PKI/forged.pem"
expect_rc "forged leaf is rejected" '!0'
expect_grep "forged leaf: error 7 certificate signature failure" \
    "error 7 at 0 depth lookup: certificate signature failure"
expect_no_grep "forged leaf: not reported as a CRL failure (error 3)" \
    "error 3 at"

cli_verify cli-forged "$WORK/require.cnf" "$PKI/forged.pem"
expect_rc "CLI: forged leaf exit 1 (fatal)" 1

forged_requests=$(grep -c . "$access2" || true)
expect_true "forged leaf: its CDP was never fetched (second nginx: 0 lines)" \
    test "$forged_requests" -eq 0

# A genuine leaf whose CDP is the second nginx proves its log is written.
make_leaf genuine "http://127.0.0.1:$port2/inter.crl"
ossl_verify genuine "$WORK/require.cnf" "$PKI/genuine.pem"
expect_rc "genuine leaf with the second nginx's CDP verifies" 0
expect_grep "second nginx logged the genuine leaf's fetch" "GET /inter.crl " \
    "$access2"

finish
