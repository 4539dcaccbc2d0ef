#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Verification throughput and memory of domainsec against plain OpenSSL, in
# one run: the throwaway PKI and nginx of the integration tests, then
# bench_verify on the good leaf (leaf -> intermediate -> root, the
# intermediate passed as untrusted) in these modes, with 1 and with 2
# threads:
#   plain      OpenSSL without any revocation check
#   plain-crl  OpenSSL checking the same CRLs from local files
#   domainsec  domainsec activated through OPENSSL_CONF (CRLs fetched once
#              from nginx in the warm-up, then served from the memory cache)
# and the trust scenario of issue 3, on pools generated afresh by gen_pool
# (N self-signed anchors plus the real root; N cross-certificates with
# distinct subjects, issued by random anchors, whose CDPs are never fetched):
#   plain-1k          OpenSSL, CAfile = the 1,000 anchors and the root in one
#                     bundle, no revocation check
#   domainsec-1k      domainsec, the same anchors one file each in trust_dirs,
#                     1,000 cross-certificates in cross_dirs, no CAfile,
#                     revocation = require (CRLs as in domainsec)
#   domainsec-1k-off  the same with revocation = off: path building alone
#   domainsec-10-off  domainsec-1k-off with 10 anchors and 10 cross-certs
# It prints a table, the ratios domainsec/plain, domainsec/plain-crl,
# domainsec-1k/plain-1k, domainsec-1k-off/plain-1k and
# domainsec-1k-off/domainsec-10-off (lookups do not grow with the number of
# files: about 1), and the peak RSS differences. It fails unless every run
# verified (bench_verify stops at the first failed verification) the chain
# of three up to the real root, and unless domainsec served every file of
# the pools. Then bench/run_bigcrl.sh: a new process's first verification
# with a 1,000,000-entry CRL (the compact CRL index) against plain OpenSSL.
# Usage: bench/run.sh [BUILD_DIR] (default build/).
# BENCH_SECONDS sets the time per measurement (default 3).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DSEC_SRC=$(cd "$BENCH_DIR/.." && pwd)
DSEC_BUILD=$(cd "${1:-$DSEC_SRC/build}" && pwd)
export DSEC_SRC DSEC_BUILD
SECONDS_PER_RUN=${BENCH_SECONDS:-3}
BENCH="$DSEC_BUILD/bench/bench_verify"
BENCH_HS="$DSEC_BUILD/bench/bench_handshake"
GEN_POOL="$DSEC_BUILD/bench/gen_pool"
POOL_BIG=1000
POOL_SMALL=10

# shellcheck source=SCRIPTDIR/../test/integration/lib.sh
source "$DSEC_SRC/test/integration/lib.sh"
for bin in "$BENCH" "$BENCH_HS" "$GEN_POOL"; do
    if [[ ! -x "$bin" ]]; then
        echo "FATAL: $bin not built (cmake --build $DSEC_BUILD" \
            "--target bench_verify bench_handshake gen_pool)" >&2
        exit 1
    fi
done
dsec_setup bench

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
start_nginx "$WWW" "$port"
write_cnf "$WORK/domainsec.cnf"
cat >"$WORK/plain.cnf" <<'EOF'
# plain OpenSSL: only the default provider, no domainsec
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
[default_sect]
activate = 1
EOF

# make_pool DIR N: N anchors (one file each) and the real root in DIR/trust,
# N cross-certificates in DIR/cross, and DIR/anchors.pem, one bundle of the
# same N + 1 anchors. The cross-certificates' CDP is on our nginx, under a
# path no one may fetch.
NEVER_PATH=/never-fetched/cross.crl
make_pool() {
    local dir=$1 n=$2
    mkdir -p "$dir/trust" "$dir/cross"
    "$GEN_POOL" --anchors "$n" --cross "$n" --trust-dir "$dir/trust" \
        --cross-dir "$dir/cross" --bundle "$dir/anchors.pem" \
        --cdp "http://127.0.0.1:$port$NEVER_PATH" >/dev/null
    cp "$PKI/root.pem" "$dir/trust/root.pem"
    cat "$PKI/root.pem" >>"$dir/anchors.pem"
}
pool_start=$(date +%s%N)
make_pool "$WORK/pool-1k" "$POOL_BIG"
make_pool "$WORK/pool-10" "$POOL_SMALL"
pool_ms=$((($(date +%s%N) - pool_start) / 1000000))
write_cnf "$WORK/domainsec-1k.cnf" "trust_dirs=$WORK/pool-1k/trust" \
    "cross_dirs=$WORK/pool-1k/cross"
write_cnf "$WORK/domainsec-1k-off.cnf" "trust_dirs=$WORK/pool-1k/trust" \
    "cross_dirs=$WORK/pool-1k/cross" revocation=off
write_cnf "$WORK/domainsec-10-off.cnf" "trust_dirs=$WORK/pool-10/trust" \
    "cross_dirs=$WORK/pool-10/cross" revocation=off

# check_pool CNF N: a host under CNF (openssl storeutl) gets the N + 1
# anchors from domainsec:roots and the N cross-certificates from
# domainsec:cross: no file of the pool was skipped.
check_pool() {
    local cnf=$1 n=$2 store want got err
    for store in roots cross; do
        want=$n
        if [[ "$store" == roots ]]; then
            want=$((n + 1))
        fi
        err="$WORK/storeutl-$(basename "$cnf" .cnf)-$store.err"
        got=$("${HOST_ENV[@]}" "OPENSSL_CONF=$cnf" "$OPENSSL_BIN" storeutl \
            -certs "domainsec:$store" 2>"$err" | grep -c 'BEGIN CERTIFICATE' ||
            true)
        if [[ "$got" != "$want" ]]; then
            echo "FATAL: under $cnf, domainsec:$store has $got" \
                "certificates, not $want" >&2
            cat "$err" >&2
            exit 1
        fi
    done
}
check_pool "$WORK/domainsec-1k-off.cnf" "$POOL_BIG"
check_pool "$WORK/domainsec-10-off.cnf" "$POOL_SMALL"

# bench MODE THREADS: one bench_verify run; its result line goes to
# $WORK/MODE-THREADS.out and the fields to the R_* globals. It exits unless
# the run verified, every time, the chain of three up to the real root.
bench() {
    local mode=$1 threads=$2 cnf out line top ca=() crls=() kind
    out="$WORK/$mode-$threads.out"
    cnf="$WORK/plain.cnf"
    kind=plain
    ca=(--CAfile "$PKI/root.pem")
    case "$mode" in
    plain-crl)
        kind=plain-crl
        crls=(--crl "$WWW/root.crl" --crl "$WWW/inter.crl")
        ;;
    domainsec)
        kind=domainsec
        cnf="$WORK/domainsec.cnf"
        ;;
    plain-1k) ca=(--CAfile "$WORK/pool-1k/anchors.pem") ;;
    domainsec-1k)
        kind=domainsec
        cnf="$WORK/$mode.cnf"
        ca=()
        ;;
    domainsec-*-off)
        kind=domainsec-off
        cnf="$WORK/$mode.cnf"
        ca=()
        ;;
    esac
    if ! "${HOST_ENV[@]}" "OPENSSL_CONF=$cnf" "$BENCH" --mode "$kind" \
        --label "$mode" "${ca[@]}" --untrusted "$PKI/inter.pem" \
        "${crls[@]}" --seconds "$SECONDS_PER_RUN" --threads "$threads" \
        "$PKI/good.pem" >"$out" 2>"$out.err"; then
        echo "FATAL: bench_verify --label $mode --threads $threads failed:" >&2
        cat "$out.err" >&2
        exit 1
    fi
    line=$(grep '^mode=' "$out" || true)
    R_RATE=$(sed -n 's/.* per_second=\([0-9.]*\).*/\1/p' <<<"$line")
    R_RSS=$(sed -n 's/.* maxrss_kb=\([0-9]*\).*/\1/p' <<<"$line")
    R_COUNT=$(sed -n 's/.* verifications=\([0-9]*\).*/\1/p' <<<"$line")
    R_CHAIN=$(sed -n 's/.* chain=\([0-9]*\) .*/\1/p' <<<"$line")
    top=${line#* top=}
    if [[ -z "$R_RATE" || -z "$R_RSS" || "${R_COUNT:-0}" -eq 0 ||
        "$R_CHAIN" != 3 || "$top" != "$ROOT_SUBJECT" ]]; then
        echo "FATAL: bench_verify --label $mode --threads $threads:" \
            "unexpected result (wanted verifications > 0, chain=3," \
            "top=$ROOT_SUBJECT):" >&2
        cat "$out" "$out.err" >&2
        exit 1
    fi
}

ROOT_SUBJECT="/O=domainsec test/CN=Test Root CA"
declare -A RATE RSS COUNT
modes=(plain plain-crl domainsec plain-1k domainsec-1k domainsec-1k-off
    domainsec-10-off)
for threads in 1 2; do
    for mode in "${modes[@]}"; do
        bench "$mode" "$threads"
        RATE[$mode-$threads]=$R_RATE
        RSS[$mode-$threads]=$R_RSS
        COUNT[$mode-$threads]=$R_COUNT
    done
done

fetches=$(grep -cE 'GET /(root|inter)\.crl ' "$NGINX_ACCESS_LOG" || true)
never=$(grep -cF "GET $NEVER_PATH" "$NGINX_ACCESS_LOG" || true)
if [[ "$never" -ne 0 ]]; then
    echo "FATAL: nginx served $never requests for the cross-certificates'" \
        "CDP ($NEVER_PATH): they are not on the path" >&2
    exit 1
fi

echo
echo "verification of good.pem (leaf -> intermediate -> root)," \
    "${SECONDS_PER_RUN}s per run; pools of $POOL_BIG and $POOL_SMALL" \
    "anchors + cross-certificates generated in $pool_ms ms"
printf '%-17s %7s %14s %12s %12s\n' mode threads verifications \
    per_second maxrss_kb
for threads in 1 2; do
    for mode in "${modes[@]}"; do
        printf '%-17s %7s %14s %12s %12s\n' "$mode" "$threads" \
            "${COUNT[$mode-$threads]}" "${RATE[$mode-$threads]}" \
            "${RSS[$mode-$threads]}"
    done
done
echo
printf '%-8s %16s %20s %18s %22s\n' threads "domainsec/plain" \
    "domainsec/plain-crl" "RSS vs plain" "RSS vs plain-crl"
for threads in 1 2; do
    d=domainsec-$threads
    awk -v t="$threads" -v d="${RATE[$d]}" -v p="${RATE[plain-$threads]}" \
        -v c="${RATE[plain-crl-$threads]}" -v rd="${RSS[$d]}" \
        -v rp="${RSS[plain-$threads]}" -v rc="${RSS[plain-crl-$threads]}" \
        'BEGIN { printf "%-8s %16.3f %20.3f %+15d kB %+19d kB\n",
                 t, d / p, d / c, rd - rp, rd - rc }'
done
echo
echo "trust scenario: $POOL_BIG anchors in trust_dirs and $POOL_BIG" \
    "cross-certificates in cross_dirs vs plain OpenSSL with the same anchors" \
    "as a CAfile"
printf '%-8s %16s %20s %18s %22s\n' threads "1k/plain-1k" \
    "1k-off/plain-1k" "1k-off/10-off" "RSS 1k vs plain-1k"
for threads in 1 2; do
    awk -v t="$threads" -v d="${RATE[domainsec-1k-$threads]}" \
        -v o="${RATE[domainsec-1k-off-$threads]}" \
        -v s="${RATE[domainsec-10-off-$threads]}" \
        -v p="${RATE[plain-1k-$threads]}" \
        -v rd="${RSS[domainsec-1k-$threads]}" \
        -v rp="${RSS[plain-1k-$threads]}" \
        'BEGIN { printf "%-8s %16.3f %20.3f %18.3f %+19d kB\n",
                 t, d / p, o / p, o / s, rd - rp }'
done
echo
echo "CRL requests nginx served: $fetches (the first warm-ups of domainsec" \
    "and domainsec-1k fetch root.crl and inter.crl, later runs may read" \
    "cache_dir); cross-certificate CDP requests: $never"

# handshake MODE CNF: full TLS handshakes per second of one server (its own
# time only, over a memory BIO pair) with the host's default verify paths
# and root.pem as CA file, verifying the good leaf's chain as a client
# certificate; the rate goes to HS[MODE].
declare -A HS HS_RSS
handshake() {
    local mode=$1 cnf=$2 out="$WORK/handshake-$1.out" line
    if ! "${HOST_ENV[@]}" "OPENSSL_CONF=$cnf" "$BENCH_HS" --mode "$mode" \
        --CAfile "$PKI/root.pem" --cert "$PKI/server.pem" \
        --key "$PKI/server.key" --client-cert "$PKI/good.pem" \
        --client-key "$PKI/good.key" --chain "$PKI/inter.pem" \
        --seconds "$SECONDS_PER_RUN" >"$out" 2>"$out.err"; then
        echo "FATAL: bench_handshake --mode $mode failed:" >&2
        cat "$out.err" >&2
        exit 1
    fi
    line=$(grep '^mode=' "$out" || true)
    HS[$mode]=$(sed -n 's/.* per_second=\([0-9.]*\).*/\1/p' <<<"$line")
    HS_RSS[$mode]=$(sed -n 's/.* maxrss_kb=\([0-9]*\).*/\1/p' <<<"$line")
    if [[ -z "${HS[$mode]}" ]]; then
        echo "FATAL: bench_handshake --mode $mode: no result" >&2
        cat "$out" "$out.err" >&2
        exit 1
    fi
}
handshake plain "$WORK/plain.cnf"
handshake domainsec "$WORK/domainsec.cnf"
echo "full TLS handshakes of one server with a client certificate" \
    "(in process, memory BIOs, the server's time only; default verify" \
    "paths + CA file; no resumption), ${SECONDS_PER_RUN}s per run"
printf '%-10s %12s %12s\n' mode per_second maxrss_kb
for mode in plain domainsec; do
    printf '%-10s %12s %12s\n' "$mode" "${HS[$mode]}" "${HS_RSS[$mode]}"
done
awk -v d="${HS[domainsec]}" -v p="${HS[plain]}" \
    'BEGIN { r = d / p; printf "handshakes domainsec/plain: %.3f (target >= 0.95: %s)\n",
             r, (r >= 0.95 ? "met" : "NOT met") }'
awk -v d="${RATE[domainsec-1]}" -v p="${RATE[plain-1]}" \
    'BEGIN { r = d / p; printf "verifications domainsec/plain, 1 thread: %.3f (target >= 0.95: %s)\n",
             r, (r >= 0.95 ? "met" : "NOT met") }'
echo
echo "outputs: $WORK"

# huge CRLs in new processes (the compact index): its own run and table
"$BENCH_DIR/run_bigcrl.sh" "$DSEC_BUILD"
