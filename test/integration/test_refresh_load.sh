#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Refresh ahead under load: an unmodified `openssl s_server` (domainsec
# through OPENSSL_CONF) verifies the client certificates of 8 concurrent
# s_client loops while the CA publishes a new CRL every 2 s (each revoking
# one more leaf, each with a Next CRL Publish 2 s later), served by nginx.
# No handshake waits on a fetch: each finishes within 10 times the median
# of the same load with nothing to refresh. No revoked leaf is accepted by
# a handshake that started after the server fetched a CRL listing it (plus
# 1 s for the store).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup refresh_load

CLIENTS=8
ROTATIONS=5
port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
for ((k = 0; k <= ROTATIONS; k++)); do
    make_leaf "leaf$k" "$CDP_BASE/inter.crl"
done

# nginx logging each request's end to the millisecond
need_bin "$NGINX_BIN" nginx
prefix="$WORK/nginx"
mkdir -p "$prefix"
cat >"$prefix/nginx.conf" <<CONF
$(nginx_conf_common "$prefix")
    log_format ms '\$msec \$uri \$status';
    types { application/pkix-crl crl; }
    server {
        listen 127.0.0.1:$port;
        root $WWW;
        access_log $prefix/logs/ms.log ms;
        location / { }
    }
}
CONF
"$NGINX_BIN" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" \
    -g 'daemon off;' >>"$prefix/logs/stdout.log" 2>&1 &
track_pid $!
wait_port "$port" 10

NP_SEQ=0
# publish_inter SECONDS: inter.crl again, Next CRL Publish SECONDS from now.
publish_inter() {
    NP_SEQ=$((NP_SEQ + 1))
    printf '[np%d]\n1.3.6.1.4.1.311.21.4 = ASN1:UTCTIME:%s\n' "$NP_SEQ" \
        "$(date -u -d "@$(($(date +%s) + $1))" +%y%m%d%H%M%SZ)" \
        >>"$PKI/ca-inter/ca.cnf"
    gen_crl inter "$WWW/inter.crl.new" -crlexts "np$NP_SEQ"
    mv "$WWW/inter.crl.new" "$WWW/inter.crl"
}
# the first CRL's refresh point: about when the warm phase ends
publish_inter 10

write_cnf "$WORK/server.cnf"
TLS_PORT=$(free_port)
start_s_server "$WORK/server.cnf" "$WORK/s_server.log" "$TLS_PORT" \
    -cert "$PKI/server.pem" -key "$PKI/server.key" \
    -cert_chain "$PKI/inter.pem" -CAfile "$PKI/root.pem" \
    -Verify 2 -verify_return_error

# client N OUTFILE: handshakes until $WORK/stop exists, one line each:
# start_ns end_ns leaf rc
client() {
    local n=$1 out=$2 i=0 leaf t0 rc
    while [[ ! -e "$WORK/stop" ]]; do
        leaf="leaf$(((n + i) % (ROTATIONS + 1)))"
        i=$((i + 1))
        t0=$(date +%s%N)
        set +e
        printf 'GET / HTTP/1.0\r\n\r\n' | timeout 30 env -u OPENSSL_CONF \
            "$OPENSSL_BIN" s_client -connect "127.0.0.1:$TLS_PORT" \
            -servername localhost -ign_eof -cert "$PKI/$leaf.pem" \
            -key "$PKI/$leaf.key" -cert_chain "$PKI/inter.pem" \
            -CAfile "$PKI/root.pem" -verify_return_error \
            >"$out.out" 2>&1
        rc=$?
        set -e
        if [[ $rc -eq 0 ]] && ! grep -q "HTTP/1.0 200 ok" "$out.out"; then
            rc=99
        fi
        echo "$t0 $(date +%s%N) $leaf $rc" >>"$out"
    done
}

# run_load TAG SECONDS [rotate]: CLIENTS loops for SECONDS.
run_load() {
    local tag=$1 secs=$2 n k pids=()
    rm -f "$WORK/stop"
    for ((n = 0; n < CLIENTS; n++)); do
        client "$n" "$WORK/$tag.times.$n" &
        pids+=($!)
        track_pid "${pids[-1]}"
    done
    if [[ "${3:-}" == rotate ]]; then
        for ((k = 1; k <= ROTATIONS; k++)); do
            sleep 2
            revoke "leaf$k" inter
            publish_inter 2
            echo "$(date +%s%N) leaf$k" >>"$WORK/published"
        done
    else
        sleep "$secs"
    fi
    touch "$WORK/stop"
    for n in "${pids[@]}"; do
        wait "$n" || true
    done
    cat "$WORK/$tag".times.? >"$WORK/$tag.all"
}

echo "-- warm: $CLIENTS concurrent clients, nothing to refresh"
run_load warm 6
warm_n=$(wc -l <"$WORK/warm.all")
median=$(awk '{ print int(($2 - $1) / 1000000) }' "$WORK/warm.all" | sort -n |
    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
expect_true "warm: $warm_n handshakes, all accepted" \
    test "$(awk '$4 != 0' "$WORK/warm.all" | wc -l)" -eq 0
echo "warm median under load: $median ms"
fetches_before=$(grep -c " /inter.crl 200" "$prefix/logs/ms.log" || true)

echo "-- rotating: a new CRL every 2 s, $ROTATIONS rotations"
run_load rot 0 rotate
rot_n=$(wc -l <"$WORK/rot.all")
limit=$((median * 10))
slow=$(awk -v l="$limit" '(($2 - $1) / 1000000) > l' "$WORK/rot.all" | wc -l)
max=$(awk '{ d = int(($2 - $1) / 1000000); if (d > m) m = d } END { print m }' \
    "$WORK/rot.all")
expect_true "rotating: $rot_n handshakes, none slower than 10 x median ($limit ms; max $max ms)" \
    test "$slow" -eq 0
fetches=$(grep -c " /inter.crl 200" "$prefix/logs/ms.log" || true)
expect_true "rotating: the server refreshed inter.crl in the background ($((fetches - fetches_before)) fetches)" \
    test "$((fetches - fetches_before))" -ge 3

# For each fetch of inter.crl: every leaf published before it is revoked
# for handshakes starting 1 s after it.
bad=0
checked=0
while read -r msec _; do
    # $msec is "seconds.milliseconds"
    fetched_ns="${msec%.*}${msec#*.}000000"
    while read -r pub leaf; do
        if [[ "$pub" -lt "$fetched_ns" ]]; then
            n=0
            while read -r t0 _ l rc; do
                if [[ "$l" == "$leaf" && "$rc" -eq 0 \
                    && "$t0" -gt $((fetched_ns + 1000000000)) ]]; then
                    n=$((n + 1))
                fi
            done <"$WORK/rot.all"
            checked=$((checked + 1))
            bad=$((bad + n))
        fi
    done <"$WORK/published"
done < <(grep " /inter.crl 200" "$prefix/logs/ms.log")
expect_true "no revoked leaf accepted after its CRL was fetched ($checked fetch/leaf pairs checked, $bad accepted)" \
    test "$bad" -eq 0 -a "$checked" -gt 0
refused=$(awk '$4 != 0' "$WORK/rot.all" | wc -l)
expect_true "rotating: revoked leaves were refused ($refused handshakes)" \
    test "$refused" -gt 0
expect_true "leaf0 (never revoked) always accepted" \
    test "$(awk '$3 == "leaf0" && $4 != 0' "$WORK/rot.all" | wc -l)" -eq 0
expect_true "s_server still running" kill -0 "$SSERVER_PID"

finish
