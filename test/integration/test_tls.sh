#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Unmodified `openssl s_server` / `openssl s_client` with domainsec activated
# through OPENSSL_CONF, CRLs served by a real nginx: a good client
# certificate is accepted, a revoked one is refused with alert 44
# (certificate_revoked), and a client refuses a revoked server certificate.
# Both TLS 1.3 and TLS 1.2 are exercised.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup tls

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
start_nginx "$WWW" "$port"
write_cnf "$WORK/server.cnf"
write_cnf "$WORK/client.cnf"

tls_port=$(free_port)
start_s_server "$WORK/server.cnf" "$WORK/s_server.log" "$tls_port" \
    -cert "$PKI/server.pem" -key "$PKI/server.key" \
    -cert_chain "$PKI/inter.pem" -CAfile "$PKI/root.pem" \
    -Verify 2 -verify_return_error

for proto in tls1_3 tls1_2; do
    echo "-- client certificates over $proto"
    s_client "good-$proto" "$WORK/client.cnf" "$tls_port" "-$proto" \
        -cert "$PKI/good.pem" -key "$PKI/good.key" \
        -cert_chain "$PKI/inter.pem" -CAfile "$PKI/root.pem" \
        -verify_return_error
    expect_rc "$proto: good client: s_client exits 0" 0
    expect_grep "$proto: good client: server certificate verified" \
        "Verify return code: 0 \(ok\)"
    expect_grep "$proto: good client: request served" "HTTP/1.0 200 ok"
    expect_no_grep "$proto: good client: no alert" "alert"

    s_client "revoked-$proto" "$WORK/client.cnf" "$tls_port" "-$proto" \
        -cert "$PKI/revoked.pem" -key "$PKI/revoked.key" \
        -cert_chain "$PKI/inter.pem" -CAfile "$PKI/root.pem" \
        -verify_return_error
    expect_grep "$proto: revoked client: alert 44 certificate revoked" \
        "alert certificate revoked|alert number 44"
    expect_no_grep "$proto: revoked client: nothing served" "HTTP/1.0 200 ok"
done
expect_grep "s_server logged the revoked client (error 23)" \
    "num=23|certificate revoked" "$WORK/s_server.log"
expect_true "s_server still running" kill -0 "$SSERVER_PID"

echo "-- revoked server certificate"
rev_port=$(free_port)
start_s_server "$WORK/server.cnf" "$WORK/s_server-revoked.log" "$rev_port" \
    -cert "$PKI/revoked.pem" -key "$PKI/revoked.key" \
    -cert_chain "$PKI/inter.pem"
s_client server-revoked "$WORK/client.cnf" "$rev_port" \
    -CAfile "$PKI/root.pem" -verify_return_error
expect_rc "revoked server: s_client fails" '!0'
expect_grep "revoked server: certificate revoked" "certificate revoked"
expect_no_grep "revoked server: nothing served" "HTTP/1.0 200 ok"

s_client server-revoked-plain - "$rev_port" -CAfile "$PKI/root.pem" \
    -verify_return_error
expect_rc "revoked server, plain OpenSSL (no CRL check) connects" 0
expect_grep "revoked server, plain OpenSSL: served" "HTTP/1.0 200 ok"

finish
