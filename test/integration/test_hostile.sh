#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Hostile and broken CRL sources. For each fault a leaf whose only CDP is
# that fault (fault server: empty body, HTML, truncated DER, a server that
# never answers or stops after the headers, garbage, 500, 503, a 1 byte/s
# drip, an endless body, redirect loops and chains over the limit,
# redirects to file:, ftp: and https:, a port that never accepts (connect
# timeout); an unresolvable name; nginx: 404, a CRL signed by the wrong
# key, a CRL of another CA, a delta CRL, a CRL past nextUpdate, one larger
# than max_crl_size): `openssl verify` fails, a revoked leaf is never
# accepted, the CLI exits 75 (transient), and nothing takes longer than
# fetch_timeout + 1 s. A DNS server that never answers (own resolv.conf in
# a private mount namespace) is bounded the same way. CDPs of a scheme
# outside cdp_schemes (file:, ftp:, gopher:, ldaps:, https: when not
# allowed) are never connected to and are fatal (configuration); a leaf
# without any CDP is fatal too. A leaf with 100 failing CDPs costs at most 4
# fetches. The fault matrix (case, X509 error, class, time) is printed and
# written to $DSEC_BUILD/fault-matrix.txt.
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

if [[ ! -f "$FAULTSRV" ]]; then
    echo "FAIL: $FAULTSRV missing: the fault-server cases cannot run" >&2
    exit 1
fi
start_faultsrv "$WWW"
# A second instance for the blackholes: a TCP port that never accepts and a
# UDP "DNS server" that never answers.
DNS_ADDR=127.0.83.53
bh_dir="$WORK/blackhole"
mkdir -p "$bh_dir"
python3 "$FAULTSRV" --root "$WWW" --port-file "$bh_dir/port" \
    --log "$bh_dir/requests.log" --blackhole-port-file "$bh_dir/bh-port" \
    --udp-blackhole "$DNS_ADDR:53" >"$bh_dir/stdout.log" 2>&1 &
track_pid $!
wait_file_grep . "$bh_dir/bh-port" 10
bh_port=$(cat "$bh_dir/bh-port")

# name|CDP URL|line the server logs (nginx or fault server)|CLI detail ERE
fault_cases=(
    "empty|$FAULT_URL/empty|GET /empty|"
    "html|$FAULT_URL/html|GET /html|"
    "truncated|$FAULT_URL/truncate/64/inter.crl|GET /truncate/64/|"
    "hang|$FAULT_URL/hang|GET /hang|timeout"
    "hangheaders|$FAULT_URL/hang-headers/inter.crl|GET /hang-headers/|timeout"
    "garbage|$FAULT_URL/garbage|GET /garbage|"
    "status500|$FAULT_URL/status/500|GET /status/500|HTTP 500"
    "status503|$FAULT_URL/status/503|GET /status/503|HTTP 503"
    "drip|$FAULT_URL/drip/inter.crl|GET /drip/|timeout"
    "endless|$FAULT_URL/endless|GET /endless|larger than max_crl_size"
    "loop|$FAULT_URL/loop|GET /loop|more than 3 redirects"
    "redirect5|$FAULT_URL/redirect/5/ok/inter.crl|GET /redirect/5/|redirect"
    "redir-file|$FAULT_URL/goto?file:///etc/passwd|GET /goto[?]file:|redirect refused"
    "redir-ftp|$FAULT_URL/goto?ftp://127.0.0.1:$FAULT_PORT/inter.crl|GET /goto[?]ftp:|redirect refused"
    "redir-https|$FAULT_URL/goto?https://127.0.0.1:$FAULT_PORT/ok/inter.crl|GET /goto[?]https:|redirect refused"
    "connect-timeout|http://127.0.0.1:$bh_port/inter.crl||timeout"
    "nxdomain|http://crl.nonexistent.invalid/inter.crl||resolve"
)
static_cases=(
    "status404|$nginx_url/missing.crl|GET /missing.crl |HTTP 404"
    "wrongkey|$nginx_url/wrongkey.crl|GET /wrongkey.crl |"
    "otherca|$nginx_url/otherca.crl|GET /otherca.crl |"
    "delta|$nginx_url/delta.crl|GET /delta.crl |"
    "expired|$nginx_url/expired.crl|GET /expired.crl |"
    "oversized|$nginx_url/big.crl|GET /big.crl |larger than max_crl_size"
)
cases=("${fault_cases[@]}" "${static_cases[@]}")

# The fault matrix: one row per case.
MATRIX=()
# class_of RC: the class the CLI exit code stands for.
class_of() {
    case "$1" in
    0) echo valid ;;
    1) echo fatal ;;
    75) echo transient ;;
    78) echo config ;;
    *) echo "rc$1" ;;
    esac
}
# x509_err FILE: the first "error N at" of an openssl verify output, or 0.
x509_err() {
    local e
    e=$(grep -Eo 'error [0-9]+ at' "$1" | head -n 1 | grep -Eo '[0-9]+' ||
        true)
    echo "${e:-0}"
}
# matrix_row CASE OSSL_OUT OSSL_MS: a row from the last CLI run and the
# openssl verify run whose output and time are given.
matrix_row() {
    MATRIX+=("$(printf '%-16s %9s  %-9s %7s %9s' "$1" "$(x509_err "$2")" \
        "$(class_of "$RC")" "$ELAPSED_MS" "$3")")
}
# accepts FILE: number of connections a fault server accepted so far.
accepts() {
    grep -c '^ACCEPT ' "$1" || true
}

# One good and one revoked leaf per case, then the CRLs that list them.
for c in "${cases[@]}"; do
    IFS='|' read -r name url _ <<<"$c"
    make_leaf "h-$name" "$url"
    make_leaf "h-$name-rev" "$url"
    revoke "h-$name-rev" inter
done
make_leaf nocdp ""
publish_crls
cp "$WWW/root.crl" "$WWW/otherca.crl"

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
    IFS='|' read -r name url logline detail <<<"$c"
    echo "-- $name: $url"
    write_cnf "$WORK/$name-verify.cnf" "${settings[@]}"
    ossl_verify "$name-verify" "$WORK/$name-verify.cnf" "$PKI/h-$name.pem"
    expect_rc "$name: openssl verify fails" '!0'
    expect_no_grep "$name: no OK" "h-$name.pem: OK"
    expect_max_ms "$name: openssl verify within fetch_timeout + 1 s" \
        "$LIMIT_MS"
    ossl_out=$OUT
    ossl_ms=$ELAPSED_MS

    write_cnf "$WORK/$name-rev.cnf" "${settings[@]}"
    ossl_verify "$name-rev" "$WORK/$name-rev.cnf" "$PKI/h-$name-rev.pem"
    expect_rc "$name: revoked leaf is not accepted" '!0'
    expect_max_ms "$name: revoked leaf within fetch_timeout + 1 s" \
        "$LIMIT_MS"

    write_cnf "$WORK/$name-cli.cnf" "${settings[@]}"
    acc_before=$(accepts "$FAULT_LOG")
    cli_verify "$name-cli" "$WORK/$name-cli.cnf" "$PKI/h-$name.pem"
    acc_after=$(accepts "$FAULT_LOG")
    expect_rc "$name: CLI exit 75 (transient)" 75
    expect_grep "$name: CLI says transient" "transient"
    expect_max_ms "$name: CLI within fetch_timeout + 1 s" "$LIMIT_MS"
    matrix_row "$name" "$ossl_out" "$ossl_ms"
    if [[ -n "$detail" ]]; then
        expect_grep "$name: CLI gives the reason ($detail)" "$detail"
    fi

    if [[ -z "$logline" ]]; then
        :
    elif [[ "$url" == "$nginx_url"/* ]]; then
        expect_grep "$name: the CRL was requested" "$logline" \
            "$NGINX_ACCESS_LOG"
    else
        expect_grep "$name: the fault was requested" "$logline" "$FAULT_LOG"
    fi
    case "$name" in
    redir-*)
        # the redirect target is the fault server itself: following it
        # would be a second connection
        expect_true "$name: the redirect was not followed (1 connection)" \
            test "$((acc_after - acc_before))" -eq 1
        ;;
    endless)
        expect_true "$name: cut while streaming, long before the timeout" \
            test "$ELAPSED_MS" -lt $((FETCH_TIMEOUT * 1000 - 1000))
        ;;
    esac
done
expect_no_grep "redir-file: nothing of /etc/passwd in the output" \
    "root:.*:0:0:" "$WORK/redir-file-cli.out"

echo "-- redirects that stay inside the rules are followed"
make_leaf redirect2 "$FAULT_URL/redirect/2/ok/inter.crl"
write_cnf "$WORK/redirect2.cnf" "${settings[@]}"
cli_verify redirect2 "$WORK/redirect2.cnf" "$PKI/redirect2.pem"
expect_rc "2 redirects (http to http): CLI exit 0" 0
matrix_row redirect2-ok "$OUT" "-"

echo "-- https allowed: an http CDP still may not redirect to https"
write_cnf "$WORK/redir-https-allowed.cnf" "${settings[@]}" \
    cdp_schemes=http,https
acc_before=$(accepts "$FAULT_LOG")
cli_verify redir-https-allowed "$WORK/redir-https-allowed.cnf" \
    "$PKI/h-redir-https.pem"
acc_after=$(accepts "$FAULT_LOG")
expect_rc "http -> https with https allowed: CLI exit 75" 75
expect_grep "http -> https with https allowed: redirect refused" \
    "redirect refused"
expect_true "http -> https with https allowed: not followed (1 connection)" \
    test "$((acc_after - acc_before))" -eq 1
matrix_row redir-https-ok "$OUT" "-"

echo "-- CDP schemes outside cdp_schemes are never fetched"
# name|CDP URL|extra settings
scheme_cases=(
    "file|file:///etc/passwd|"
    "ftp|ftp://127.0.0.1:$FAULT_PORT/inter.crl|"
    "gopher|gopher://127.0.0.1:$FAULT_PORT/1inter.crl|"
    "https-off|https://127.0.0.1:$FAULT_PORT/ok/inter.crl|"
    "ldaps-off|ldaps://127.0.0.1:$FAULT_PORT/cn=x?certificateRevocationList|"
    "http-off|$FAULT_URL/ok/inter.crl|cdp_schemes=https"
)
for c in "${scheme_cases[@]}"; do
    IFS='|' read -r name url extra <<<"$c"
    make_leaf "s-$name" "$url"
    extras=("${settings[@]}")
    if [[ -n "$extra" ]]; then
        extras+=("$extra")
    fi
    acc_before=$(accepts "$FAULT_LOG")
    write_cnf "$WORK/s-$name.cnf" "${extras[@]}"
    ossl_verify "s-$name" "$WORK/s-$name.cnf" "$PKI/s-$name.pem"
    expect_rc "scheme $name: openssl verify fails" '!0'
    expect_grep "scheme $name: error 3" "error 3 at 0 depth lookup"
    ossl_out=$OUT
    ossl_ms=$ELAPSED_MS
    write_cnf "$WORK/s-$name-cli.cnf" "${extras[@]}"
    cli_verify "s-$name-cli" "$WORK/s-$name-cli.cnf" "$PKI/s-$name.pem"
    expect_rc "scheme $name: CLI exit 1 (fatal: configuration)" 1
    expect_grep "scheme $name: CLI says not fetched" "not fetched"
    expect_max_ms "scheme $name: CLI well within fetch_timeout" 1500
    acc_after=$(accepts "$FAULT_LOG")
    expect_true "scheme $name: no connection to the fault server" \
        test "$acc_after" -eq "$acc_before"
    matrix_row "scheme-$name" "$ossl_out" "$ossl_ms"
done
make_leaf s-mixed "ftp://127.0.0.1:$FAULT_PORT/inter.crl,URI:$FAULT_URL/ok/inter.crl"
write_cnf "$WORK/s-mixed.cnf" "${settings[@]}"
acc_before=$(accepts "$FAULT_LOG")
cli_verify s-mixed "$WORK/s-mixed.cnf" "$PKI/s-mixed.pem"
acc_after=$(accepts "$FAULT_LOG")
expect_rc "ftp CDP then http CDP: the http one is used, exit 0" 0
expect_true "ftp CDP then http CDP: one connection (the http fetch)" \
    test "$((acc_after - acc_before))" -eq 1
matrix_row scheme-ftp+http "$OUT" "-"

echo "-- a DNS server that never answers"
# Own resolv.conf in a private mount namespace: the host's is untouched.
printf 'nameserver %s\noptions timeout:15 attempts:2\n' "$DNS_ADDR" \
    >"$WORK/resolv.conf"
make_leaf h-dnshang "http://crl.dnshang.test:$port/inter.crl"
# DNS_NS cmd...: run cmd with $WORK/resolv.conf as /etc/resolv.conf.
# shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
DNS_NS=(unshare -m --propagation private sh -c
    'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$WORK/resolv.conf")
run_cmd dns-ns-check "${DNS_NS[@]}" cat /etc/resolv.conf
expect_grep "dnshang: the private resolv.conf is in place" \
    "nameserver $DNS_ADDR"
write_cnf "$WORK/dnshang.cnf" "${settings[@]}"
run_cmd dnshang "${DNS_NS[@]}" "${HOST_ENV[@]}" "OPENSSL_CONF=$WORK/dnshang.cnf" \
    "$OPENSSL_BIN" verify -CAfile "$PKI/root.pem" -untrusted "$PKI/inter.pem" \
    "$PKI/h-dnshang.pem"
expect_rc "dnshang: openssl verify fails" '!0'
expect_grep "dnshang: error 3" "error 3 at 0 depth lookup"
expect_max_ms "dnshang: openssl verify within fetch_timeout + 1 s" "$LIMIT_MS"
ossl_out=$OUT
ossl_ms=$ELAPSED_MS
write_cnf "$WORK/dnshang-cli.cnf" "${settings[@]}"
run_cmd dnshang-cli "${DNS_NS[@]}" env -u OPENSSL_CONF "$CLI" verify \
    --config "$WORK/dnshang-cli.cnf" --CAfile "$PKI/root.pem" \
    --untrusted "$PKI/inter.pem" "$PKI/h-dnshang.pem"
expect_rc "dnshang: CLI exit 75 (transient)" 75
expect_grep "dnshang: CLI says the resolution timed out" "[Rr]esol.*tim|timeout"
expect_max_ms "dnshang: CLI within fetch_timeout + 1 s" "$LIMIT_MS"
matrix_row dns-hang "$ossl_out" "$ossl_ms"

echo "-- 100 CDPs, all failing"
many_cdps() {
    local path=$1 i list=""
    for ((i = 1; i <= 100; i++)); do
        list+="${list:+,URI:}$FAULT_URL/$path?cdp=$i"
    done
    echo "$list"
}
make_leaf many503 "$(many_cdps status/503)"
make_leaf manyhang "$(many_cdps hang)"
expect_true "many503 carries 100 CDP URIs" test "$(pki_ossl x509 \
    -in "$PKI/many503.pem" -noout -ext crlDistributionPoints |
    grep -c 'URI:')" -eq 100
for name in many503 manyhang; do
    path=status/503
    limit=$LIMIT_MS
    if [[ "$name" == manyhang ]]; then
        path=hang
        # the verification's whole fetch time is 2 x fetch_timeout
        limit=$(((2 * FETCH_TIMEOUT + 1) * 1000))
    fi
    write_cnf "$WORK/$name.cnf" "${settings[@]}"
    before=$(grep -c "GET /$path?cdp=" "$FAULT_LOG" || true)
    ossl_verify "$name" "$WORK/$name.cnf" "$PKI/$name.pem"
    ossl_out=$OUT
    ossl_ms=$ELAPSED_MS
    expect_rc "$name: openssl verify fails" '!0'
    expect_max_ms "$name: openssl verify bounded" "$limit"
    mid=$(grep -c "GET /$path?cdp=" "$FAULT_LOG" || true)
    write_cnf "$WORK/$name-cli.cnf" "${settings[@]}"
    cli_verify "$name-cli" "$WORK/$name-cli.cnf" "$PKI/$name.pem"
    after=$(grep -c "GET /$path?cdp=" "$FAULT_LOG" || true)
    expect_rc "$name: CLI exit 75 (transient)" 75
    expect_max_ms "$name: CLI bounded" "$limit"
    expect_true "$name: openssl verify made 1 to 4 fetches ($((mid - before)))" \
        test "$((mid - before))" -ge 1 -a "$((mid - before))" -le 4
    expect_true "$name: the CLI made 1 to 4 fetches ($((after - mid)))" \
        test "$((after - mid))" -ge 1 -a "$((after - mid))" -le 4
    if [[ "$name" == manyhang ]]; then
        expect_grep "$name: the CLI says the fetch time was spent" \
            "spent its fetch time"
    fi
    matrix_row "$name" "$ossl_out" "$ossl_ms"
done

echo "-- no CDP at all"
write_cnf "$WORK/nocdp.cnf" "${settings[@]}"
ossl_verify nocdp "$WORK/nocdp.cnf" "$PKI/nocdp.pem"
expect_rc "no CDP: openssl verify fails" '!0'
expect_grep "no CDP: error 3 (no CRL)" "error 3 at 0 depth lookup"
expect_grep "no CDP: logged as fatal" "(^|[^a-z])fatal([^a-z]|$)"
ossl_out=$OUT
ossl_ms=$ELAPSED_MS
cli_verify nocdp-cli "$WORK/nocdp.cnf" "$PKI/nocdp.pem"
expect_rc "no CDP: CLI exit 1 (fatal: configuration)" 1
expect_grep "no CDP: CLI says fatal" "fatal"
matrix_row nocdp "$ossl_out" "$ossl_ms"

{
    echo "fault matrix (fetch_timeout $FETCH_TIMEOUT s, max_crl_size" \
        "$MAX_CRL_SIZE; openssl verify of the good leaf, CLI class and time)"
    printf '%-16s %9s  %-9s %7s %9s\n' case x509-err class cli-ms openssl-ms
    printf '%s\n' "${MATRIX[@]}"
} | tee "$DSEC_BUILD/fault-matrix.txt"

finish
