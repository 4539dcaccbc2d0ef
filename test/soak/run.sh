#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The soak (ctest `soak`, label soak; .ci/run prints its figures): the soak
# program (soak.c) verifies leaves with SOAK_THREADS threads for
# SOAK_SECONDS seconds through an SSL_CTX store, domainsec loaded by
# OPENSSL_CONF, while this script republishes the intermediate's CRL (served
# by nginx) every 2 s with 10 more leaves revoked and a nextUpdate
# SOAK_NEXT seconds ahead, so that nextUpdate is crossed again and again.
# Modes (SOAK_MODES, default all three):
#   rotate  results only 0 and 23; no revoked leaf accepted once its CRL
#           has been out for nextUpdate + fail_cache; about one fetch of
#           the CRL per republication (nginx's access log);
#   flap    the same while nginx goes down and up every 4 s: results only
#           0, 23 and 3;
#   procs   rotate from 3 processes sharing one cache_dir: one fetch per
#           republication across the processes.
# RSS and open descriptors of each process must stay flat (soak.c).
set -euo pipefail

# shellcheck source=test/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
dsec_setup soak

SOAK_BIN="$DSEC_BUILD/test/soak"
need_bin "$SOAK_BIN" soak
need_bin "$NGINX_BIN" nginx
: "${SOAK_SECONDS:=60}"
: "${SOAK_THREADS:=8}"
: "${SOAK_NEXT:=5}"
: "${SOAK_MODES:=rotate flap procs}"
FAIL_CACHE=2
export SOAK_SECONDS SOAK_THREADS
# a revocation is seen once the CRL before it has passed its nextUpdate
# (SOAK_NEXT after its own publication) and a failure remembered then has
# expired (fail_cache); 2 s for the publication and the fetch
export SOAK_DEADLINE=$((SOAK_NEXT + FAIL_CACHE + 2))
NLEAVES=$(((SOAK_SECONDS / 2 + 2) * 10))
PORT=$(free_port)

# the leaves share one key: each is its own certificate (serial)
make_leaves() {
    local i
    mkdir -p "$PKI/leaves"
    pki_ossl req -new -key "$PKI/good.key" -subj "/O=domainsec test/CN=soak" \
        -out "$PKI/leaves/leaf.csr"
    for ((i = 0; i < NLEAVES; i++)); do
        pki_ossl x509 -req -in "$PKI/leaves/leaf.csr" -CA "$PKI/inter.pem" \
            -CAkey "$PKI/inter.key" -days 30 -sha256 \
            -set_serial "$((100000 + i))" -extfile "$PKI/good.ext" \
            -extensions ext -out "$PKI/leaves/leaf-$i.pem" 2>/dev/null
    done
}

# publish: the intermediate's CRL with nextUpdate SOAK_NEXT s ahead, moved
# into place whole (nginx never serves half a file)
publish() {
    pki_ossl ca -config "$PKI/ca-inter/ca.cnf" -gencrl -crlsec "$SOAK_NEXT" \
        -out "$WORK/next.pem" >/dev/null 2>&1
    pki_ossl crl -in "$WORK/next.pem" -outform DER -out "$WWW/.next.crl"
    mv -f "$WWW/.next.crl" "$WWW/inter.crl"
}

# revoke_fast I: leaf-I listed as revoked in the intermediate's database
# (the line `openssl ca -revoke` writes, without its start-up cost)
revoke_fast() {
    local serial
    serial=$(printf '%06X' $((100000 + $1)))
    printf 'R\t491231235959Z\t%s,keyCompromise\t%s\tunknown\t/O=domainsec test/CN=soak\n' \
        "$(date -u +%y%m%d%H%M%SZ)" "$serial" >>"$PKI/ca-inter/index.txt"
}

# publisher LOG: every 2 s (on the clock, not 2 s after the last one), 10
# more leaves revoked and published; each line of LOG is the second it went
# out and the leaves it revoked
publisher() {
    local log=$1 next=0 i line due
    due=$(($(date +%s) + 2))
    while :; do
        sleep "$(awk -v d="$due" -v n="$(date +%s.%N)" \
            'BEGIN { s = d - n; print (s > 0 ? s : 0) }')"
        due=$((due + 2))
        line=""
        for ((i = next; i < next + 10 && i < NLEAVES; i++)); do
            revoke_fast "$i"
            line+=" $i"
        done
        next=$i
        publish
        echo "$(date +%s)$line" >>"$log"
    done
}

# run_mode MODE ALLOWED NPROCS: one soak run; its figures on stdout.
run_mode() {
    local mode=$1 allowed=$2 nprocs=$3 cnf="$WORK/$1.cnf" log="$WORK/$1.pub"
    local pids=() pub p rc=0 fetches pubs
    ca_init inter
    publish
    : >"$log"
    : >"$NGINX_ACCESS_LOG"
    write_cnf "$cnf" "fail_cache=$FAIL_CACHE" "log=${SOAK_LOG:-none}"
    publisher "$log" &
    pub=$!
    track_pid "$pub"
    for ((p = 0; p < nprocs; p++)); do
        "${HOST_ENV[@]}" OPENSSL_CONF="$cnf" "$SOAK_BIN" "$PKI/root.pem" \
            "$PKI/inter.pem" "$PKI/leaves" "$NLEAVES" "$log" "$allowed" \
            >"$WORK/$mode.$p.out" 2>&1 &
        pids+=("$!")
        track_pid "$!"
    done
    if [[ "$mode" == flap ]]; then
        flap "${pids[0]}"
    fi
    for p in "${pids[@]}"; do
        wait "$p" || rc=1
    done
    stop_pid "$pub"
    if [[ "$mode" == flap ]] && ! kill -0 "$NGINX_PID" 2>/dev/null; then
        start_nginx "$WWW" "$PORT"
    fi
    for ((p = 0; p < nprocs; p++)); do
        sed "s/^/[$mode.$p] /" "$WORK/$mode.$p.out"
    done
    fetches=$(grep -c 'GET /inter.crl' "$NGINX_ACCESS_LOG" || true)
    pubs=$(wc -l <"$log")
    echo "[$mode] CRL republished $pubs times, fetched $fetches times"
    expect_true "$mode: soak assertions hold" test "$rc" -eq 0
    # one fetch per nextUpdate crossed at most (one per republication, the
    # first one and one after each server return in flap mode)
    expect_true "$mode: about one fetch per republication" \
        test "$fetches" -le $((pubs + 2 + (SOAK_SECONDS / 8)))
    expect_true "$mode: CRL fetched" test "$fetches" -ge 1
}

# flap PID: nginx down 4 s, up 4 s, while PID runs
flap() {
    local pid=$1
    while kill -0 "$pid" 2>/dev/null; do
        sleep 4
        stop_nginx
        sleep 4
        start_nginx "$WWW" "$PORT"
    done
}

make_pki "$WORK/pki" "http://127.0.0.1:$PORT"
make_leaves
start_nginx "$WWW" "$PORT"
for mode in $SOAK_MODES; do
    case "$mode" in
    rotate) run_mode rotate 0,23 1 ;;
    flap) run_mode flap 0,23,3 1 ;;
    procs) run_mode procs 0,23 3 ;;
    *)
        echo "unknown soak mode $mode" >&2
        exit 2
        ;;
    esac
done
finish
