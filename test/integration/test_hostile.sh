#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Hostile and broken CRL sources. For each fault a leaf whose only CDP is
# that fault (fault server: empty body, HTML, truncated DER, a server that
# never answers or stops after the headers, garbage, 503, a 1 byte/s drip,
# an endless body; nginx: a CRL signed
# by the wrong key, a delta CRL, a CRL past nextUpdate, one larger than
# max_crl_size): `openssl verify` fails, a revoked leaf is never accepted,
# the CLI exits 75 (transient), and nothing takes longer than
# fetch_timeout + 1 s. A leaf without any CDP is fatal (CLI exit 1).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup hostile

FETCH_TIMEOUT=3
LIMIT_MS=$(((FETCH_TIMEOUT + 1) * 1000))
MAX_CRL_SIZE=2048

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
start_nginx "$WWW" "$port"
nginx_url="http://127.0.0.1:$port"

fault_cases=()
if [[ -f "$FAULTSRV" ]]; then
    start_faultsrv "$WWW"
    fault_cases=(
        "empty|$FAULT_URL/empty|GET /empty"
        "html|$FAULT_URL/html|GET /html"
        "truncated|$FAULT_URL/truncate/64/inter.crl|GET /truncate/64/"
        "hang|$FAULT_URL/hang|GET /hang"
        "hangheaders|$FAULT_URL/hang-headers/inter.crl|GET /hang-headers/"
        "garbage|$FAULT_URL/garbage|GET /garbage"
        "status503|$FAULT_URL/status/503|GET /status/503"
        "drip|$FAULT_URL/drip/inter.crl|GET /drip/"
        "endless|$FAULT_URL/endless|GET /endless"
    )
else
    echo "FAIL: $FAULTSRV missing: the fault-server cases cannot run" >&2
    exit 1
fi
static_cases=(
    "wrongkey|$nginx_url/wrongkey.crl|GET /wrongkey.crl "
    "delta|$nginx_url/delta.crl|GET /delta.crl "
    "expired|$nginx_url/expired.crl|GET /expired.crl "
    "oversized|$nginx_url/big.crl|GET /big.crl "
)
cases=("${fault_cases[@]}" "${static_cases[@]}")

# One good and one revoked leaf per case, then the CRLs that list them.
for c in "${cases[@]}"; do
    IFS='|' read -r name url _ <<<"$c"
    make_leaf "h-$name" "$url"
    make_leaf "h-$name-rev" "$url"
    revoke "h-$name-rev" inter
done
make_leaf nocdp ""
publish_crls

make_fake_ca fake-inter inter
gen_crl fake-inter "$WWW/wrongkey.crl"
gen_crl inter "$WWW/delta.crl" -crlexts crl_delta
gen_crl inter "$WWW/expired.crl" \
    -crl_lastupdate "$(date -u -d '-2 days' +%Y%m%d%H%M%SZ)" \
    -crl_nextupdate "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)"
# big.crl: the inter CRL padded with revoked serials past max_crl_size.
cp -r "$PKI/ca-inter" "$PKI/ca-inter-big"
sed "s|$PKI/ca-inter|$PKI/ca-inter-big|" "$PKI/ca-inter/ca.cnf" \
    >"$PKI/ca-inter-big/ca.cnf"
expiry=$(date -u -d '+1 year' +%y%m%d%H%M%SZ)
revdate=$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)
for ((i = 1; i <= 200; i++)); do
    printf 'R\t%s\t%s\t%06X\tunknown\t/CN=pad%d\n' "$expiry" "$revdate" \
        $((0x10000 + i)) "$i" >>"$PKI/ca-inter-big/index.txt"
done
gen_crl inter-big "$WWW/big.crl"

expect_true "delta.crl carries a Delta CRL Indicator" \
    bash -c "openssl crl -inform DER -in '$WWW/delta.crl' -noout -text |
        grep -q 'Delta CRL Indicator'"
expect_true "expired.crl is past nextUpdate" \
    test "$(date -u -d "$(openssl crl -inform DER -in "$WWW/expired.crl" \
        -noout -nextupdate | sed 's/^nextUpdate=//')" +%s)" -lt "$(date +%s)"
expect_true "big.crl is larger than max_crl_size ($MAX_CRL_SIZE)" \
    test "$(stat -c %s "$WWW/big.crl")" -gt "$MAX_CRL_SIZE"
expect_true "root.crl and inter.crl fit in max_crl_size" \
    test "$(cat "$WWW/root.crl" "$WWW/inter.crl" | wc -c)" -le \
    "$MAX_CRL_SIZE"

settings=("fetch_timeout=$FETCH_TIMEOUT" "max_crl_size=$MAX_CRL_SIZE")
write_cnf "$WORK/sanity.cnf" "${settings[@]}"
ossl_verify sanity "$WORK/sanity.cnf" "$PKI/good.pem"
expect_rc "sanity: good leaf with nginx's inter.crl verifies" 0

for c in "${cases[@]}"; do
    IFS='|' read -r name url logline <<<"$c"
    echo "-- $name: $url"
    write_cnf "$WORK/$name-verify.cnf" "${settings[@]}"
    ossl_verify "$name-verify" "$WORK/$name-verify.cnf" "$PKI/h-$name.pem"
    expect_rc "$name: openssl verify fails" '!0'
    expect_no_grep "$name: no OK" "h-$name.pem: OK"
    expect_max_ms "$name: openssl verify within fetch_timeout + 1 s" \
        "$LIMIT_MS"

    write_cnf "$WORK/$name-rev.cnf" "${settings[@]}"
    ossl_verify "$name-rev" "$WORK/$name-rev.cnf" "$PKI/h-$name-rev.pem"
    expect_rc "$name: revoked leaf is not accepted" '!0'
    expect_max_ms "$name: revoked leaf within fetch_timeout + 1 s" \
        "$LIMIT_MS"

    write_cnf "$WORK/$name-cli.cnf" "${settings[@]}"
    cli_verify "$name-cli" "$WORK/$name-cli.cnf" "$PKI/h-$name.pem"
    expect_rc "$name: CLI exit 75 (transient)" 75
    expect_grep "$name: CLI says transient" "transient"
    expect_max_ms "$name: CLI within fetch_timeout + 1 s" "$LIMIT_MS"

    if [[ "$url" == "$nginx_url"/* ]]; then
        expect_grep "$name: the CRL was requested" "$logline" \
            "$NGINX_ACCESS_LOG"
    else
        expect_grep "$name: the fault was requested" "$logline" "$FAULT_LOG"
    fi
done

echo "-- no CDP at all"
write_cnf "$WORK/nocdp.cnf" "${settings[@]}"
ossl_verify nocdp "$WORK/nocdp.cnf" "$PKI/nocdp.pem"
expect_rc "no CDP: openssl verify fails" '!0'
expect_grep "no CDP: error 3 (no CRL)" "error 3 at 0 depth lookup"
expect_grep "no CDP: logged as fatal" "(^|[^a-z])fatal([^a-z]|$)"
cli_verify nocdp-cli "$WORK/nocdp.cnf" "$PKI/nocdp.pem"
expect_rc "no CDP: CLI exit 1 (fatal: configuration)" 1
expect_grep "no CDP: CLI says fatal" "fatal"

finish
