#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The disk cache is shared by every process of the host, as Postfix's many
# smtpd processes need: four `openssl verify` processes started together
# against a slow CRL server cause ONE download (the others wait on the lock
# file and read the result from cache_dir), a later process downloads
# nothing, and a failed fetch is remembered across processes for fail_cache
# seconds and retried after it.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup shared_cache

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
start_nginx "$WWW" "$port"
start_faultsrv "$WWW"
make_leaf slowleaf "$FAULT_URL/slow/1500/inter.crl"
make_leaf failleaf "$FAULT_URL/status/503"
write_cnf "$WORK/shared.cnf" fetch_timeout=5 fail_cache=3

# expect_requests DESC NEEDLE WANT: the fault server logged WANT requests
# containing NEEDLE so far.
expect_requests() {
    local n
    n=$(grep -c -F -- "$2" "$FAULT_LOG" || true)
    if [[ "$n" -eq "$3" ]]; then
        pass "$1 ($n)"
    else
        fail "$1: $n requests, wanted $3"
    fi
}

echo "-- four processes at once, one slow CRL download"
pids=()
for i in 1 2 3 4; do
    (
        set +e
        "${HOST_ENV[@]}" "OPENSSL_CONF=$WORK/shared.cnf" "$OPENSSL_BIN" \
            verify -CAfile "$PKI/root.pem" -untrusted "$PKI/inter.pem" \
            "$PKI/slowleaf.pem" >"$WORK/concurrent.$i.out" 2>&1
        echo $? >"$WORK/concurrent.$i.rc"
    ) &
    pids+=("$!")
done
for pid in "${pids[@]}"; do
    wait "$pid" || true
done
for i in 1 2 3 4; do
    RC=$(cat "$WORK/concurrent.$i.rc")
    OUT="$WORK/concurrent.$i.out"
    expect_rc "process $i verifies the slow leaf" 0
done
expect_requests "the slow CRL was downloaded once for four processes" \
    "GET /slow/1500/inter.crl" 1

echo "-- a later process is served from cache_dir"
ossl_verify later "$WORK/shared.cnf" "$PKI/slowleaf.pem"
expect_rc "a fifth process verifies" 0
expect_requests "the fifth process downloaded nothing" \
    "GET /slow/1500/inter.crl" 1

echo "-- a failure is remembered across processes for fail_cache"
ossl_verify fail1 "$WORK/shared.cnf" "$PKI/failleaf.pem"
expect_rc "503: rejected" 2
expect_grep "503: transient" "domainsec: transient: error 3"
cli_verify fail2 "$WORK/shared.cnf" "$PKI/failleaf.pem"
expect_rc "503, second process within fail_cache: CLI exit 75" 75
expect_grep "second process: the remembered failure is reported" \
    "failed recently"
expect_requests "the second process did not contact the failing server" \
    "GET /status/503" 1
sleep 3.5
ossl_verify fail3 "$WORK/shared.cnf" "$PKI/failleaf.pem"
expect_rc "503 after fail_cache: still rejected" 2
expect_requests "after fail_cache the server is tried again" \
    "GET /status/503" 2

finish
