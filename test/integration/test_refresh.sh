#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Refresh ahead in an unmodified `openssl s_server` (domainsec through
# OPENSSL_CONF): the CRL server answers every request 3 s late (faultsrv's
# /slow/, a delay nginx cannot produce). Once the CRLs are cached, client
# handshakes never wait on it: before the CRL's refresh point (its Next CRL
# Publish extension) nothing is fetched; past it, the handshake that
# notices goes on with the cached CRL while a background thread fetches the
# new one, and a leaf revoked in that new CRL is refused right after.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup refresh

DELAY_MS=3000
mkdir -p "$WORK/pki/www"
start_faultsrv "$WORK/pki/www"
make_pki "$WORK/pki" "$FAULT_URL/slow/$DELAY_MS"
make_leaf late "$CDP_BASE/inter.crl"

# publish_inter [SECONDS]: inter.crl again (3 days valid), with a Next CRL
# Publish extension SECONDS from now when given.
NP_SEQ=0
publish_inter() {
    local args=()
    if [[ -n "${1:-}" ]]; then
        NP_SEQ=$((NP_SEQ + 1))
        printf '[np%d]\n1.3.6.1.4.1.311.21.4 = ASN1:UTCTIME:%s\n' "$NP_SEQ" \
            "$(date -u -d "@$(($(date +%s) + $1))" +%y%m%d%H%M%SZ)" \
            >>"$PKI/ca-inter/ca.cnf"
        args=(-crlexts "np$NP_SEQ")
    fi
    gen_crl inter "$WWW/inter.crl.new" "${args[@]}"
    mv "$WWW/inter.crl.new" "$WWW/inter.crl"
}

# inter_fetches: how often the origin was asked for inter.crl.
inter_fetches() {
    grep -c "GET /slow/$DELAY_MS/inter.crl" "$FAULT_LOG" || true
}

# handshake NAME LEAF: one client-certificate handshake with s_server.
handshake() {
    s_client "$1" - "$TLS_PORT" -cert "$PKI/$2.pem" -key "$PKI/$2.key" \
        -cert_chain "$PKI/inter.pem" -CAfile "$PKI/root.pem" \
        -verify_return_error
}

write_cnf "$WORK/server.cnf" fetch_timeout=10
TLS_PORT=$(free_port)
start_s_server "$WORK/server.cnf" "$WORK/s_server.log" "$TLS_PORT" \
    -cert "$PKI/server.pem" -key "$PKI/server.key" \
    -cert_chain "$PKI/inter.pem" -CAfile "$PKI/root.pem" \
    -Verify 2 -verify_return_error

echo "-- (a) refresh ahead: no handshake waits on the slow origin"
REFRESH_AT=$(($(date +%s) + 12))
publish_inter 12
handshake warm good
expect_rc "first handshake fetches the CRLs (slow origin) and succeeds" 0
expect_grep "first handshake: request served" "HTTP/1.0 200 ok"
expect_true "first handshake waited on the origin (>= $DELAY_MS ms)" \
    test "$ELAPSED_MS" -ge "$DELAY_MS"
expect_true "inter.crl fetched once" test "$(inter_fetches)" -eq 1

# the CA revokes `late` out of cycle: the origin serves the new CRL now
revoke late inter
publish_inter

times=()
for i in 1 2 3 4 5; do
    handshake "cached-$i" late
    expect_rc "before the refresh point: late still accepted ($i)" 0
    times+=("$ELAPSED_MS")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo "warm median: $median ms"
expect_true "before the refresh point nothing was fetched" \
    test "$(inter_fetches)" -eq 1
expect_true "warm handshakes do not wait on the origin (median $median ms)" \
    test "$median" -lt "$DELAY_MS"

while [[ $(date +%s) -le $REFRESH_AT ]]; do
    sleep 0.2
done
limit=$((median * 10 < DELAY_MS ? median * 10 : DELAY_MS))
handshake noticed late
expect_rc "past the refresh point: the cached CRL still serves" 0
expect_true "the handshake that noticed did not wait (${ELAPSED_MS} ms < $limit ms)" \
    test "$ELAPSED_MS" -lt "$limit"
for i in 1 2; do
    handshake "during-$i" good
    expect_rc "during the background fetch: good accepted ($i)" 0
    expect_true "during the background fetch: no wait (${ELAPSED_MS} ms < $limit ms)" \
        test "$ELAPSED_MS" -lt "$limit"
done
for ((i = 0; i < 100; i++)); do
    if [[ $(inter_fetches) -ge 2 ]]; then
        break
    fi
    sleep 0.1
done
expect_true "the origin saw the background fetch of inter.crl" \
    test "$(inter_fetches)" -eq 2
sleep $((DELAY_MS / 1000 + 1))
handshake after late
expect_rc "after the background refresh: late is refused" '!0'
expect_grep "after the background refresh: alert certificate revoked" \
    "alert certificate revoked|alert number 44"
expect_true "refused without waiting (${ELAPSED_MS} ms < $limit ms)" \
    test "$ELAPSED_MS" -lt "$limit"
handshake after-good good
expect_rc "after the background refresh: good still accepted" 0
expect_true "no further fetch of inter.crl" test "$(inter_fetches)" -eq 2
expect_true "s_server still running" kill -0 "$SSERVER_PID"

finish
