#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A CRL server that is down is a transient failure: `openssl verify` reports
# error 3 (unable to get certificate CRL), the log line says "transient" and
# the CLI exits 75. Once the server is back on the same port, the same
# long-running s_server (fail_cache = 1) accepts the client again: a failed
# fetch never becomes a sticky failure. A new process accepts too.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup transient
# "transient" as a word, not the work directory .../transient/ in a path.
TRANSIENT_RE='(^|[^/a-z])transient([^/a-z]|$)'

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"

echo "-- CRL server up: baseline"
start_nginx "$WWW" "$port"
write_cnf "$WORK/up.cnf"
ossl_verify up "$WORK/up.cnf" "$PKI/good.pem"
expect_rc "nginx up: good leaf verifies" 0
stop_nginx
expect_true "nginx stopped" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$port)"

echo "-- CRL server down"
write_cnf "$WORK/down.cnf" fail_cache=1
ossl_verify down "$WORK/down.cnf" "$PKI/good.pem"
expect_rc "nginx down: openssl verify fails" '!0'
expect_grep "nginx down: error 3" "error 3 at [0-9]+ depth lookup"
expect_grep "nginx down: unable to get certificate CRL" \
    "unable to get certificate CRL"
expect_grep "nginx down: log line classifies it transient" "$TRANSIENT_RE"
expect_grep "nginx down: log line names the CRL URL" \
    "http://127.0.0.1:$port/[a-z-]+\.crl"
expect_no_grep "nginx down: not called fatal" "fatal"

write_cnf "$WORK/down-cli.cnf" fail_cache=1
cli_verify cli-down "$WORK/down-cli.cnf" "$PKI/good.pem"
expect_rc "nginx down: CLI exit 75 (transient)" 75
expect_grep "nginx down: CLI says transient" "$TRANSIENT_RE"

cli_verify cli-down-revoked "$WORK/down-cli.cnf" "$PKI/revoked.pem"
expect_rc "nginx down: revoked leaf is not accepted by the CLI" '!0'

echo "-- recovery in a long-running s_server (fail_cache = 1)"
write_cnf "$WORK/server.cnf" fail_cache=1
tls_port=$(free_port)
start_s_server "$WORK/server.cnf" "$WORK/s_server.log" "$tls_port" \
    -cert "$PKI/server.pem" -key "$PKI/server.key" \
    -cert_chain "$PKI/inter.pem" -CAfile "$PKI/root.pem" \
    -Verify 2 -verify_return_error
server_pid=$SSERVER_PID

# The client runs without domainsec: only the server's view is tested.
s_client client-down - "$tls_port" -cert "$PKI/good.pem" \
    -key "$PKI/good.key" -cert_chain "$PKI/inter.pem" \
    -CAfile "$PKI/root.pem"
expect_no_grep "nginx down: s_server rejects the good client" \
    "HTTP/1.0 200 ok"
expect_grep "nginx down: the client sees an alert" "alert"
expect_grep "nginx down: s_server saw error 3" \
    "num=3:|unable to get certificate CRL" "$WORK/s_server.log"

start_nginx "$WWW" "$port"
sleep 2
s_client client-up - "$tls_port" -cert "$PKI/good.pem" \
    -key "$PKI/good.key" -cert_chain "$PKI/inter.pem" \
    -CAfile "$PKI/root.pem"
expect_grep "nginx back: the same s_server accepts the good client" \
    "HTTP/1.0 200 ok"
expect_true "nginx back: s_server is the same process" kill -0 "$server_pid"
expect_grep "nginx back: the CRL was fetched again" "GET /inter.crl " \
    "$NGINX_ACCESS_LOG"

s_client client-up-revoked - "$tls_port" -cert "$PKI/revoked.pem" \
    -key "$PKI/revoked.key" -cert_chain "$PKI/inter.pem" \
    -CAfile "$PKI/root.pem"
expect_grep "nginx back: the revoked client gets alert 44" \
    "alert certificate revoked|alert number 44"

ossl_verify up-again "$WORK/down.cnf" "$PKI/good.pem"
expect_rc "nginx back: a new openssl verify (same cache) accepts" 0
cli_verify cli-up-again "$WORK/down-cli.cnf" "$PKI/good.pem"
expect_rc "nginx back: the CLI exits 0" 0

finish
