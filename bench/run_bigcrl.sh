#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Huge CRLs in new processes (issue 10): the throwaway PKI of the
# integration tests, the intermediate's CRL replaced by one of 1,000,000
# entries (gen_bigcrl; BIGCRL_ENTRIES sets another size) served by nginx,
# cache_dir warmed by one domainsec process (which writes the CRL and its
# index), then, in one run, new processes of bench_first (RUNS each,
# default 3, the median reported):
#   domainsec   domainsec through OPENSSL_CONF, warm cache_dir: the first
#               X509_verify_cert of the good leaf (nothing fetched)
#   plain-crl   plain OpenSSL with the same CRLs as local files: their load
#               plus the first X509_verify_cert with CRL checking
#   plain       plain OpenSSL, no CRL at all: the RSS baseline
#   domainsec-off  domainsec with revocation = off: the module's own RSS
# and checks that the revoked leaf is rejected (error 23) from the index.
# Prints a table, plain-crl/domainsec (target >= 100, domainsec <= 10 ms)
# and the peak RSS above plain (target <= 20 MB).
# Usage: bench/run_bigcrl.sh [BUILD_DIR] (default build/).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DSEC_SRC=$(cd "$BENCH_DIR/.." && pwd)
DSEC_BUILD=$(cd "${1:-$DSEC_SRC/build}" && pwd)
export DSEC_SRC DSEC_BUILD
FIRST="$DSEC_BUILD/bench/bench_first"
GEN="$DSEC_BUILD/bench/gen_bigcrl"
ENTRIES=${BIGCRL_ENTRIES:-1000000}
RUNS=${RUNS:-3}

# shellcheck source=SCRIPTDIR/../test/integration/lib.sh
source "$DSEC_SRC/test/integration/lib.sh"
for bin in "$FIRST" "$GEN"; do
    if [[ ! -x "$bin" ]]; then
        echo "FATAL: $bin not built (cmake --build $DSEC_BUILD" \
            "--target bench_first gen_bigcrl)" >&2
        exit 1
    fi
done
dsec_setup bench_bigcrl

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
serial=$(pki_ossl x509 -in "$PKI/revoked.pem" -noout -serial | sed 's/.*=//')
gen_start=$(date +%s%N)
"$GEN" "$PKI/inter.pem" "$PKI/inter.key" "$ENTRIES" "$WWW/inter.crl" "$serial"
gen_ms=$((($(date +%s%N) - gen_start) / 1000000))
crl_bytes=$(stat -c %s "$WWW/inter.crl")
start_nginx "$WWW" "$port"
# the 1,000,000-entry CRL is 36 MB, above the 32M default of max_crl_size
# (which fits the largest public CRLs): raised for this CRL
write_cnf "$WORK/domainsec.cnf" max_crl_size=64M
write_cnf "$WORK/domainsec-off.cnf" revocation=off max_crl_size=64M
cat >"$WORK/plain.cnf" <<'CNF'
# plain OpenSSL: only the default provider, no domainsec
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
[default_sect]
activate = 1
CNF

# first MODE CNF LEAF [CRL...]: one bench_first process; its fields in
# R_OK, R_ERR, R_MS, R_RSS.
first() {
    local mode=$1 cnf=$2 leaf=$3 line
    shift 3
    line=$("${HOST_ENV[@]}" "OPENSSL_CONF=$cnf" "$FIRST" "$mode" \
        "$PKI/root.pem" "$PKI/inter.pem" "$leaf" "$@" 2>>"$WORK/first.err" |
        grep '^mode=' || true)
    R_OK=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$line")
    R_ERR=$(sed -n 's/.* error=\([0-9-]*\).*/\1/p' <<<"$line")
    R_MS=$(sed -n 's/.* first_ms=\([0-9.]*\).*/\1/p' <<<"$line")
    R_RSS=$(sed -n 's/.* maxrss_kb=\([0-9]*\).*/\1/p' <<<"$line")
}

# measure LABEL MODE CNF [CRL...]: RUNS processes on the good leaf, which
# must verify; the medians in MS[LABEL] and RSS[LABEL].
declare -A MS RSS
measure() {
    local label=$1 mode=$2 cnf=$3 i ms=() rss=()
    shift 3
    for ((i = 0; i < RUNS; i++)); do
        first "$mode" "$cnf" "$PKI/good.pem" "$@"
        if [[ "$R_OK" != 1 ]]; then
            echo "FATAL: $label: the good leaf did not verify" \
                "(error $R_ERR)" >&2
            tail -n 20 "$WORK/first.err" >&2
            exit 1
        fi
        ms+=("$R_MS")
        rss+=("$R_RSS")
    done
    MS[$label]=$(printf '%s\n' "${ms[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p")
    RSS[$label]=$(printf '%s\n' "${rss[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p")
}

# warm cache_dir: this process fetches both CRLs and writes their indexes
first domainsec "$WORK/domainsec.cnf" "$PKI/good.pem"
warm_ms=$R_MS
if [[ "$R_OK" != 1 ]]; then
    echo "FATAL: the warm-up did not verify (error $R_ERR)" >&2
    exit 1
fi
fetched=$(grep -cE 'GET /(root|inter)\.crl ' "$NGINX_ACCESS_LOG" || true)

measure domainsec domainsec "$WORK/domainsec.cnf"
first domainsec "$WORK/domainsec.cnf" "$PKI/revoked.pem"
if [[ "$R_OK" != 0 || "$R_ERR" != 23 ]]; then
    echo "FATAL: the revoked leaf was not rejected as revoked" \
        "(ok=$R_OK error=$R_ERR)" >&2
    exit 1
fi
measure plain-crl plain-crl "$WORK/plain.cnf" "$WWW/root.crl" "$WWW/inter.crl"
measure plain plain "$WORK/plain.cnf"
measure domainsec-off domainsec "$WORK/domainsec-off.cnf"
after=$(grep -cE 'GET /(root|inter)\.crl ' "$NGINX_ACCESS_LOG" || true)
if [[ "$after" != "$fetched" ]]; then
    echo "FATAL: the measured domainsec processes fetched CRLs" \
        "($fetched before, $after after)" >&2
    exit 1
fi

echo
echo "a new process's first verification of good.pem (leaf ->" \
    "intermediate -> root), the intermediate's CRL of $ENTRIES entries" \
    "($crl_bytes bytes DER, generated in $gen_ms ms); median of $RUNS" \
    "processes; the warm-up (fetch + index) took $warm_ms ms"
printf '%-14s %12s %12s\n' mode first_ms maxrss_kb
for label in domainsec plain-crl plain domainsec-off; do
    printf '%-14s %12s %12s\n' "$label" "${MS[$label]}" "${RSS[$label]}"
done
echo
awk -v d="${MS[domainsec]}" -v c="${MS[plain-crl]}" \
    -v rd="${RSS[domainsec]}" -v rp="${RSS[plain]}" \
    -v ro="${RSS[domainsec-off]}" -v rc="${RSS[plain-crl]}" 'BEGIN {
    speed = c / d
    above = (rd - rp) / 1024
    printf "plain-crl/domainsec: %.0fx faster (target >= 100x, " \
           "domainsec %.2f ms, target <= 10 ms): %s\n", speed, d,
           (speed >= 100 && d <= 10) ? "met" : "MISSED"
    printf "domainsec peak RSS above the process without CRLs (plain): " \
           "%+.1f MB (target <= 20 MB): %s\n", above,
           above <= 20 ? "met" : "MISSED"
    printf "  (above domainsec with revocation = off: %+.1f MB; " \
           "plain-crl above plain: %+.1f MB)\n", (rd - ro) / 1024,
           (rc - rp) / 1024 }'
echo "revoked leaf from the index: rejected, error 23; CRL requests" \
    "during the measured runs: $((after - fetched))"
echo "outputs: $WORK"
