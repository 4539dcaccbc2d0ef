#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Verification throughput and memory of domainsec against plain OpenSSL, in
# one run: the throwaway PKI and nginx of the integration tests, then
# bench_verify on the good leaf (leaf -> intermediate -> root) in three
# modes, with 1 and with 2 threads:
#   plain      OpenSSL without any revocation check
#   plain-crl  OpenSSL checking the same CRLs from local files
#   domainsec  domainsec activated through OPENSSL_CONF (CRLs fetched once
#              from nginx in the warm-up, then served from the memory cache)
# and prints a table, the ratios domainsec/plain and domainsec/plain-crl and
# the peak RSS differences. Usage: bench/run.sh [BUILD_DIR] (default build/).
# BENCH_SECONDS sets the time per measurement (default 3).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DSEC_SRC=$(cd "$BENCH_DIR/.." && pwd)
DSEC_BUILD=$(cd "${1:-$DSEC_SRC/build}" && pwd)
export DSEC_SRC DSEC_BUILD
SECONDS_PER_RUN=${BENCH_SECONDS:-3}
BENCH="$DSEC_BUILD/bench/bench_verify"

# shellcheck source=SCRIPTDIR/../test/integration/lib.sh
source "$DSEC_SRC/test/integration/lib.sh"
if [[ ! -x "$BENCH" ]]; then
    echo "FATAL: $BENCH not built (cmake --build $DSEC_BUILD" \
        "--target bench_verify)" >&2
    exit 1
fi
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

# bench MODE THREADS: one bench_verify run; its result line goes to
# $WORK/MODE-THREADS.out and the fields to the R_* globals.
bench() {
    local mode=$1 threads=$2 cnf out line crls=()
    out="$WORK/$mode-$threads.out"
    cnf="$WORK/plain.cnf"
    case "$mode" in
    plain-crl) crls=(--crl "$WWW/root.crl" --crl "$WWW/inter.crl") ;;
    domainsec) cnf="$WORK/domainsec.cnf" ;;
    esac
    if ! "${HOST_ENV[@]}" "OPENSSL_CONF=$cnf" "$BENCH" --mode "$mode" \
        --CAfile "$PKI/root.pem" --untrusted "$PKI/inter.pem" \
        "${crls[@]}" --seconds "$SECONDS_PER_RUN" --threads "$threads" \
        "$PKI/good.pem" >"$out" 2>"$out.err"; then
        echo "FATAL: bench_verify --mode $mode --threads $threads failed:" >&2
        cat "$out.err" >&2
        exit 1
    fi
    line=$(grep '^mode=' "$out")
    R_RATE=$(sed -n 's/.* per_second=\([0-9.]*\).*/\1/p' <<<"$line")
    R_RSS=$(sed -n 's/.* maxrss_kb=\([0-9]*\).*/\1/p' <<<"$line")
    R_COUNT=$(sed -n 's/.* verifications=\([0-9]*\).*/\1/p' <<<"$line")
}

declare -A RATE RSS COUNT
modes=(plain plain-crl domainsec)
for threads in 1 2; do
    for mode in "${modes[@]}"; do
        bench "$mode" "$threads"
        RATE[$mode-$threads]=$R_RATE
        RSS[$mode-$threads]=$R_RSS
        COUNT[$mode-$threads]=$R_COUNT
    done
done

fetches=$(grep -cE 'GET /(root|inter)\.crl ' "$NGINX_ACCESS_LOG" || true)

echo
echo "verification of good.pem (leaf -> intermediate -> root)," \
    "${SECONDS_PER_RUN}s per run"
printf '%-10s %7s %14s %12s %12s\n' mode threads verifications \
    per_second maxrss_kb
for threads in 1 2; do
    for mode in "${modes[@]}"; do
        printf '%-10s %7s %14s %12s %12s\n' "$mode" "$threads" \
            "${COUNT[$mode-$threads]}" "${RATE[$mode-$threads]}" \
            "${RSS[$mode-$threads]}"
    done
done
echo
printf '%-8s %22s %26s %18s %22s\n' threads "domainsec/plain" \
    "domainsec/plain-crl" "RSS vs plain" "RSS vs plain-crl"
for threads in 1 2; do
    d=domainsec-$threads
    awk -v t="$threads" -v d="${RATE[$d]}" -v p="${RATE[plain-$threads]}" \
        -v c="${RATE[plain-crl-$threads]}" -v rd="${RSS[$d]}" \
        -v rp="${RSS[plain-$threads]}" -v rc="${RSS[plain-crl-$threads]}" \
        'BEGIN { printf "%-8s %22.3f %26.3f %+15d kB %+19d kB\n",
                 t, d / p, d / c, rd - rp, rd - rc }'
done
echo
echo "CRL requests nginx served: $fetches (the first domainsec warm-up" \
    "fetches root.crl and inter.crl, later runs may read cache_dir)"
echo "outputs: $WORK"
