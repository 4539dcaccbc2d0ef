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
make_leaf urgent "$CDP_BASE/inter.crl"
make_leaf timer "$CDP_BASE/inter.crl"

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

echo "-- (d) cache list and metrics, field by field"
INTER_URL="$CDP_BASE/inter.crl"
inter_next=$(date -u -d "$(pki_ossl crl -inform DER -in "$WWW/inter.crl" \
    -noout -nextupdate | sed 's/^nextUpdate=//')" +%Y-%m-%dT%H:%M:%SZ)
inter_bytes=$(stat -c %s "$WWW/inter.crl")
run_cmd list "$CLI" cache list --config "$WORK/server.cnf"
expect_rc "cache list exits 0" 0
expect_grep "cache list: a header line" \
    "^URL +NEXT_UPDATE +AGE_S +NUMBER +ENTRIES +BYTES +RESULT +LAST_FETCH"
line=$(grep -F "/inter.crl " "$OUT" || true)
read -r l_url l_next l_age l_num l_entries l_bytes l_result l_last <<<"$line"
expect_true "list: inter.crl URL" test "$l_url" = "$INTER_URL"
expect_true "list: nextUpdate $l_next" test "$l_next" = "$inter_next"
expect_true "list: age $l_age s" test "$l_age" -ge 0 -a "$l_age" -lt 120
expect_true "list: CRL number $l_num (0x1002)" test "$l_num" = 4098
expect_true "list: 2 entries" test "$l_entries" = 2
expect_true "list: $l_bytes bytes" test "$l_bytes" = "$inter_bytes"
expect_true "list: last fetch ok" test "$l_result" = ok
expect_true "list: last fetch time $l_last" test -n "$l_last" -a "$l_last" != -
expect_grep "list: root.crl too" "^$CDP_BASE/root.crl "

run_cmd metrics "$CLI" cache metrics --config "$WORK/server.cnf" \
    --textfile "$WORK/domainsec.prom"
expect_rc "cache metrics exits 0" 0
prom="$WORK/domainsec.prom"
lbl="{url=\"$INTER_URL\"}"
metric() {
    grep -F "domainsec_crl_$1$lbl " "$prom" | awk '{ print $2 }'
}
expect_true "metrics: next_update $(metric next_update_timestamp_seconds)" \
    test "$(metric next_update_timestamp_seconds)" = "$(date -d "$inter_next" +%s)"
expect_true "metrics: age" test "$(metric age_seconds)" -lt 120
expect_true "metrics: number 4098" test "$(metric number)" = 4098
expect_true "metrics: entries 2" test "$(metric entries)" = 2
expect_true "metrics: bytes" test "$(metric bytes)" = "$inter_bytes"
expect_true "metrics: last fetch success 1" \
    test "$(metric last_fetch_success)" = 1
last_ts=$(metric last_fetch_timestamp_seconds)
expect_true "metrics: last fetch within the last 2 minutes ($last_ts)" \
    test "$last_ts" -le "$(date +%s)" -a "$last_ts" -gt "$(($(date +%s) - 120))"
expect_grep "metrics: TYPE gauge lines" \
    "^# TYPE domainsec_crl_last_fetch_success gauge" "$prom"
expect_no_grep "metrics: no temporary file left" "." \
    <(find "$WORK" -maxdepth 1 -name 'domainsec.prom.tmp*')

echo "-- cache refresh (the timer's command)"
run_cmd refresh-none "$CLI" cache refresh --config "$WORK/server.cnf"
expect_rc "cache refresh before the refresh points exits 0" 0
expect_grep "refresh: inter.crl not due" "/inter.crl: not due"
expect_true "refresh: nothing fetched" test "$(inter_fetches)" -eq 2
run_cmd refresh-same "$CLI" cache refresh --config "$WORK/server.cnf" \
    --force "$INTER_URL"
expect_rc "cache refresh --force URL exits 0" 0
expect_grep "refresh --force: inter.crl unchanged" "/inter.crl: unchanged"
revoke timer inter
publish_inter
handshake timer-before timer
expect_rc "timer leaf accepted while the cached CRL stands" 0
run_cmd refresh-new "$CLI" cache refresh --config "$WORK/server.cnf" \
    --force "$INTER_URL"
expect_rc "cache refresh of a newer CRL exits 0" 0
expect_grep "refresh: inter.crl refreshed" "/inter.crl: refreshed"
sleep 1.2
handshake timer-after timer
expect_rc "after cache refresh: the running s_server refuses the leaf" '!0'
expect_grep "after cache refresh: alert certificate revoked" \
    "alert certificate revoked|alert number 44"
expect_true "... without fetching itself (${ELAPSED_MS} ms < $limit ms)" \
    test "$ELAPSED_MS" -lt "$limit"

echo "-- (c) cache purge: an emergency revocation takes effect now"
revoke urgent inter
publish_inter
handshake urgent-before urgent
expect_rc "urgent accepted while the cached CRL stands" 0
run_cmd purge "$CLI" cache purge --config "$WORK/server.cnf" "$INTER_URL"
expect_rc "cache purge URL exits 0" 0
expect_grep "purge: one CRL" "^purged 1 cached CRL;"
expect_true "purge: its files are gone" \
    test -z "$(find "$WORK/cache.1" -name '*.crl' -newer "$WORK/server.cnf" \
        -exec cmp -s {} "$WWW/inter.crl.old" \; -print 2>/dev/null)"
sleep 1.2
handshake urgent-after urgent
expect_rc "after the purge: the running s_server refuses urgent" '!0'
expect_grep "after the purge: alert certificate revoked" \
    "alert certificate revoked|alert number 44"
run_cmd purge-all "$CLI" cache purge --config "$WORK/server.cnf"
expect_rc "cache purge (all) exits 0" 0
run_cmd list-empty "$CLI" cache list --config "$WORK/server.cnf"
expect_no_grep "after purging all: nothing listed" "crl " "$OUT"
expect_true "s_server still running" kill -0 "$SSERVER_PID"

echo "-- (b) conditional GET: an unchanged CRL is not downloaded again"
nport=$(free_port)
make_pki "$WORK/pki2" "http://127.0.0.1:$nport"
start_nginx "$WWW" "$nport" nginx2
write_cnf "$WORK/cond.cnf"
ossl_verify cond-verify "$WORK/cond.cnf" "$PKI/good.pem"
expect_rc "openssl verify fills the cache from nginx" 0
expect_grep "the verification recorded the origin's validators" \
    '^etag ' "$(grep -l "$CDP_BASE/inter.crl" "$WORK"/cache.*/*.meta | head -1)"
run_cmd cond-1 "$CLI" cache refresh --config "$WORK/cond.cnf" --force \
    "$CDP_BASE/inter.crl"
expect_grep "first refresh: unchanged" "/inter.crl: unchanged"
run_cmd cond-2 "$CLI" cache refresh --config "$WORK/cond.cnf" --force \
    "$CDP_BASE/inter.crl"
expect_rc "second refresh exits 0" 0
expect_grep "second refresh: unchanged" "/inter.crl: unchanged"
mapfile -t codes < <(grep -F '"GET /inter.crl ' "$NGINX_ACCESS_LOG" |
    awk '{ print $9 " " $10 }')
expect_true "nginx: the verification's full GET (${codes[0]:-none})" \
    test "${codes[0]:-}" = "200 $(stat -c %s "$WWW/inter.crl")"
expect_true "nginx: both refreshes got 304 and no body (${codes[1]:-none}, ${codes[2]:-none})" \
    test "${codes[1]:-}" = "304 0" -a "${codes[2]:-}" = "304 0"
expect_true "nginx: three requests of inter.crl" test "${#codes[@]}" -eq 3
run_cmd cond-list "$CLI" cache list --config "$WORK/cond.cnf"
expect_grep "after a 304 the last fetch is ok" "/inter.crl .* ok "

echo "-- (e) the background refresh of a host is a conditional GET too"
publish_inter 6
BG_REFRESH_AT=$(($(date +%s) + 6))
write_cnf "$WORK/bg.cnf"
TLS_PORT=$(free_port)
start_s_server "$WORK/bg.cnf" "$WORK/s_server-bg.log" "$TLS_PORT" \
    -cert "$PKI/server.pem" -key "$PKI/server.key" \
    -cert_chain "$PKI/inter.pem" -CAfile "$PKI/root.pem" \
    -Verify 2 -verify_return_error
before=$(grep -cF '"GET /inter.crl ' "$NGINX_ACCESS_LOG" || true)
handshake bg-first good
expect_rc "the first handshake fetches the CRLs from nginx" 0
while [[ $(date +%s) -le $BG_REFRESH_AT ]]; do
    sleep 0.2
done
handshake bg-noticed good
expect_rc "past the refresh point: accepted with the cached CRL" 0
for ((i = 0; i < 50; i++)); do
    if [[ $(grep -cF '"GET /inter.crl ' "$NGINX_ACCESS_LOG" || true) -ge \
        $((before + 2)) ]]; then
        break
    fi
    sleep 0.1
done
mapfile -t codes < <(grep -F '"GET /inter.crl ' "$NGINX_ACCESS_LOG" |
    tail -n +$((before + 1)) | awk '{ print $9 " " $10 }')
expect_true "nginx: the handshake's full GET (${codes[0]:-none})" \
    test "${codes[0]:-}" = "200 $(stat -c %s "$WWW/inter.crl")"
expect_true "nginx: the background refresh got 304 and no body (${codes[1]:-none})" \
    test "${codes[1]:-}" = "304 0"
handshake bg-after good
expect_rc "after the 304 the cached CRL still serves" 0

echo "-- the systemd timer and service of conf/systemd"
analyze=$(command -v systemd-analyze || true)
sd="$DSEC_SRC/conf/systemd"
expect_grep "the service runs cache refresh" \
    "^ExecStart=/usr/local/bin/domainsec cache refresh$" \
    "$sd/domainsec-refresh.service"
expect_grep "the timer runs every 5 minutes" "^OnUnitActiveSec=5min$" \
    "$sd/domainsec-refresh.timer"
expect_grep "the timer spreads a fleet" "^RandomizedDelaySec=" \
    "$sd/domainsec-refresh.timer"
if [[ -z "$analyze" ]]; then
    echo "note: systemd-analyze not installed: the units are not parsed"
else
    units="$WORK/units"
    mkdir -p "$units"
    sed "s|/usr/local/bin/domainsec|$CLI|" "$sd/domainsec-refresh.service" \
        >"$units/domainsec-refresh.service"
    cp "$sd/domainsec-refresh.timer" "$units/"
    run_cmd analyze env "SYSTEMD_UNIT_PATH=$units:" "$analyze" verify \
        domainsec-refresh.timer domainsec-refresh.service
    expect_rc "systemd-analyze verify: timer and service" 0
    expect_no_grep "systemd-analyze: no complaint" "domainsec-refresh"
    printf 'NoSuchKey=1\n' >>"$units/domainsec-refresh.timer"
    run_cmd analyze-bad env "SYSTEMD_UNIT_PATH=$units:" "$analyze" verify \
        domainsec-refresh.timer
    expect_grep "systemd-analyze really reads the timer" \
        "domainsec-refresh\.timer:.*NoSuchKey"
fi

finish
