#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# CRLs through a real forward proxy (squid, own instance and configuration
# in the work directory, `cache deny all`). The CDPs of the partner chain
# name crl.partner.test, which only squid can resolve (its hosts_file), and
# nginx serves the CRLs. With http_proxy the chain verifies through squid
# (good OK, revoked error 23, squid's access.log shows the requests);
# without it, or with the proxy's environment variables but no
# `http_proxy = env`, the fetch goes direct and fails transiently; with
# `http_proxy = env` the environment is used. no_proxy (exact host, .domain,
# domain, address, CIDR, *) bypasses squid (no access.log line, works with
# squid stopped). Proxy failures are transient within fetch_timeout + 1 s:
# squid stopped (refused), a proxy that never accepts, squid's 503 and 502,
# an origin that hangs behind squid, 407 (no or wrong credentials with
# basic auth). The proxy password never appears in any output or log line.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup proxy
SQUID_BIN="${SQUID_BIN:-/usr/sbin/squid}"
NCSA_AUTH="${NCSA_AUTH:-/usr/lib/squid/basic_ncsa_auth}"
need_bin "$SQUID_BIN" squid
need_bin "$NCSA_AUTH" basic_ncsa_auth

FETCH_TIMEOUT=3
LIMIT_MS=$(((FETCH_TIMEOUT + 1) * 1000))
PARTNER=crl.partner.test
PROXY_USER=alice
PROXY_PASS='Pr0xy-s3cret.9'
# a password whose "/" was not percent-encoded: curl cannot parse the proxy
# and quotes it in its error message
SLASH_PASS='Sl/ash-s3cret.7'
TRANSIENT_RE='(^|[^/a-z])transient([^/a-z]|$)'
settings=("fetch_timeout=$FETCH_TIMEOUT" log_level=debug)

# ------------------------------------------------------------------ squid

# start_squid TAG [auth]: squid on a free port of 127.0.0.1, everything in
# $WORK/TAG; PARTNER resolves to 127.0.0.1 in squid only. With "auth",
# basic authentication against $WORK/TAG/passwd. Sets SQUID_PORT,
# SQUID_PID, SQUID_LOG.
start_squid() {
    local tag=$1 auth=${2:-} dir port
    dir="$WORK/$tag"
    mkdir -p "$dir"
    port=$(free_port)
    echo "127.0.0.1 $PARTNER" >"$dir/hosts"
    {
        echo "http_port 127.0.0.1:$port"
        echo "pid_filename $dir/squid.pid"
        echo "access_log stdio:$dir/access.log"
        echo "cache_log $dir/cache.log"
        echo "cache_store_log none"
        echo "coredump_dir $dir"
        echo "cache deny all"
        echo "cache_mem 8 MB"
        echo "hosts_file $dir/hosts"
        echo "visible_hostname domainsec-test"
        echo "pinger_enable off"
        echo "netdb_filename none"
        echo "shutdown_lifetime 0 seconds"
        if [[ $(id -u) -eq 0 ]]; then
            echo "cache_effective_user ${SQUID_USER:-proxy}"
        fi
        if [[ "$auth" == auth ]]; then
            {
                printf '%s:%s\n' "$PROXY_USER" \
                    "$(pki_ossl passwd -apr1 "$PROXY_PASS")"
                printf '%s:%s\n' slashuser \
                    "$(pki_ossl passwd -apr1 "$SLASH_PASS")"
            } >"$dir/passwd"
            echo "auth_param basic program $NCSA_AUTH $dir/passwd"
            echo "auth_param basic realm domainsec-test"
            echo "acl authed proxy_auth REQUIRED"
            echo "http_access allow localhost authed"
        else
            echo "http_access allow localhost"
        fi
        echo "http_access deny all"
    } >"$dir/squid.conf"
    : >"$dir/access.log"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R "${SQUID_USER:-proxy}" "$dir"
    fi
    "$SQUID_BIN" -N -n "dsec${tag//[^a-zA-Z0-9]/}" -f "$dir/squid.conf" \
        >"$dir/stdout.log" 2>&1 &
    SQUID_PID=$!
    track_pid "$SQUID_PID"
    SQUID_PORT=$port
    SQUID_LOG="$dir/access.log"
    if ! wait_port "$port" 20; then
        cat "$dir/stdout.log" "$dir/cache.log" >&2 || true
        return 1
    fi
}

# squid_lines FILE: number of lines of a squid access.log.
squid_lines() {
    wc -l <"$1"
}

# squid_quiet DESC FILE BEFORE: FILE got no line since it had BEFORE lines.
squid_quiet() {
    local now
    sleep 0.3
    now=$(squid_lines "$2")
    if [[ "$now" -eq "$3" ]]; then
        pass "$1 (squid access.log unchanged)"
    else
        fail "$1: squid access.log grew from $3 to $now lines"
    fi
}

# ------------------------------------------------------------------- PKI

nport=$(free_port)
make_pki "$WORK/pki" "http://$PARTNER:$nport"
start_nginx "$WWW" "$nport"
start_faultsrv "$WWW"
# partner leaves whose CRL server misbehaves behind squid
dead_port=$(free_port)
make_leaf p-dead "http://$PARTNER:$dead_port/inter.crl"
make_leaf p-close "http://$PARTNER:$FAULT_PORT/close"
make_leaf p-hang "http://$PARTNER:$FAULT_PORT/hang"
# a chain the host resolves itself: CDPs at localhost, and one at 127.0.0.1
issue inter-l "/O=domainsec test/CN=Test Local Intermediate CA" ca root \
    "http://localhost:$nport/root.crl"
make_leaf l-good "http://localhost:$nport/inter-l.crl" inter-l
issue inter-ip "/O=domainsec test/CN=Test IP Intermediate CA" ca root \
    "http://127.0.0.1:$nport/root.crl"
make_leaf ip-good "http://127.0.0.1:$nport/inter-ip.crl" inter-ip
ca_init inter-l
ca_init inter-ip
gen_crl inter-l "$WWW/inter-l.crl"
gen_crl inter-ip "$WWW/inter-ip.crl"

expect_true "the host itself cannot resolve $PARTNER" \
    bash -c "! getent hosts $PARTNER >/dev/null"

# A blackhole proxy: a port whose connections are never accepted.
bh_dir="$WORK/blackhole"
mkdir -p "$bh_dir"
python3 "$FAULTSRV" --root "$WWW" --port-file "$bh_dir/port" \
    --log "$bh_dir/requests.log" --blackhole-port-file "$bh_dir/bh-port" \
    >"$bh_dir/stdout.log" 2>&1 &
track_pid $!
wait_file_grep . "$bh_dir/bh-port" 10
bh_port=$(cat "$bh_dir/bh-port")

start_squid squid
sq_port=$SQUID_PORT
sq_log=$SQUID_LOG
sq_pid=$SQUID_PID
proxy="http://127.0.0.1:$sq_port"

echo "-- no proxy configured: the partner's CDP host does not resolve"
before=$(squid_lines "$sq_log")
write_cnf "$WORK/direct.cnf" "${settings[@]}"
ossl_verify direct "$WORK/direct.cnf" "$PKI/good.pem"
expect_rc "direct: openssl verify fails" '!0'
expect_grep "direct: error 3" "error 3 at [0-9]+ depth lookup"
expect_grep "direct: logged transient" "$TRANSIENT_RE"
write_cnf "$WORK/direct-cli.cnf" "${settings[@]}"
cli_verify direct-cli "$WORK/direct-cli.cnf" "$PKI/good.pem"
expect_rc "direct: CLI exit 75 (transient)" 75
expect_grep "direct: CLI route is direct" "route: direct"
expect_max_ms "direct: CLI within fetch_timeout + 1 s" "$LIMIT_MS"
squid_quiet "direct: squid not used" "$sq_log" "$before"

echo "-- http_proxy = $proxy"
write_cnf "$WORK/proxy.cnf" "${settings[@]}" "http_proxy=$proxy"
ossl_verify proxy-good "$WORK/proxy.cnf" "$PKI/good.pem"
expect_rc "proxy: good leaf verifies" 0
expect_grep "proxy: good leaf OK" "good.pem: OK"
ossl_verify proxy-revoked "$WORK/proxy.cnf" "$PKI/revoked.pem"
expect_rc "proxy: revoked leaf is rejected" '!0'
expect_grep "proxy: revoked leaf error 23" "error 23 at 0 depth lookup"
wait_file_grep "GET http://$PARTNER:$nport/inter.crl" "$sq_log" 5 || true
expect_grep "proxy: squid logged inter.crl" \
    "TCP_[A-Z_]+/200 .* GET http://$PARTNER:$nport/inter.crl " "$sq_log"
expect_grep "proxy: squid logged root.crl" \
    "TCP_[A-Z_]+/200 .* GET http://$PARTNER:$nport/root.crl " "$sq_log"
expect_grep "proxy: nginx served inter.crl (to squid)" "GET /inter.crl " \
    "$NGINX_ACCESS_LOG"
write_cnf "$WORK/proxy-cli.cnf" "${settings[@]}" "http_proxy=$proxy"
cli_verify proxy-cli-good "$WORK/proxy-cli.cnf" "$PKI/good.pem"
expect_rc "proxy: CLI good exit 0" 0
expect_grep "proxy: CLI route names the proxy" \
    "route: proxy http://127.0.0.1:$sq_port"
cli_verify proxy-cli-revoked "$WORK/proxy-cli.cnf" "$PKI/revoked.pem"
expect_rc "proxy: CLI revoked exit 1 (fatal)" 1

echo "-- no_proxy"
# entry|leaf|untrusted|expected CLI rc: bypass for the partner host gives a
# direct fetch that cannot resolve (75) and no squid line; a non-matching
# entry keeps the proxy (0).
np_cases=(
    "$PARTNER|good|inter|75|bypass"
    "CRL.Partner.Test|good|inter|75|bypass"
    ".partner.test|good|inter|75|bypass"
    "partner.test|good|inter|75|bypass"
    "example.org,.test|good|inter|75|bypass"
    "*|good|inter|75|bypass"
    "artner.test|good|inter|0|proxy"
    "crl.partner.tes|good|inter|0|proxy"
    "127.0.0.1|good|inter|0|proxy"
)
n=0
for c in "${np_cases[@]}"; do
    IFS='|' read -r entry leaf untrusted want route <<<"$c"
    n=$((n + 1))
    before=$(squid_lines "$sq_log")
    write_cnf "$WORK/np$n.cnf" "${settings[@]}" "http_proxy=$proxy" \
        "no_proxy=$entry"
    cli_verify "np$n" "$WORK/np$n.cnf" "$PKI/$leaf.pem" "$PKI/$untrusted.pem"
    expect_rc "no_proxy=$entry: CLI exit $want" "$want"
    expect_max_ms "no_proxy=$entry: within fetch_timeout + 1 s" "$LIMIT_MS"
    if [[ "$route" == bypass ]]; then
        expect_grep "no_proxy=$entry: route direct" "route: direct"
        expect_no_grep "no_proxy=$entry: no proxy route" "route: proxy"
        squid_quiet "no_proxy=$entry: bypasses squid" "$sq_log" "$before"
    else
        expect_grep "no_proxy=$entry: route through squid" \
            "route: proxy http://127.0.0.1:$sq_port"
        wait_file_grep "GET http://$PARTNER" "$sq_log" 5 || true
        expect_true "no_proxy=$entry: squid logged the fetch" \
            test "$(squid_lines "$sq_log")" -gt "$before"
    fi
done

echo "-- proxy environment variables"
env_vars=("http_proxy=$proxy" "HTTP_PROXY=$proxy" "all_proxy=$proxy"
    "ALL_PROXY=$proxy")
before=$(squid_lines "$sq_log")
write_cnf "$WORK/env-ignored.cnf" "${settings[@]}"
write_cnf "$WORK/env-ignored-cli.cnf" "${settings[@]}"
run_host env-ignored "$WORK/env-ignored.cnf" env "${env_vars[@]}" \
    "$OPENSSL_BIN" verify -CAfile "$PKI/root.pem" -untrusted "$PKI/inter.pem" \
    "$PKI/good.pem"
expect_rc "env set, no http_proxy: openssl verify fails (direct)" '!0'
expect_grep "env set, no http_proxy: error 3" "error 3 at [0-9]+ depth lookup"
run_cmd env-ignored-cli env -u OPENSSL_CONF "${env_vars[@]}" "$CLI" verify \
    --config "$WORK/env-ignored-cli.cnf" --CAfile "$PKI/root.pem" \
    --untrusted "$PKI/inter.pem" "$PKI/good.pem"
expect_rc "env set, no http_proxy: CLI exit 75" 75
expect_grep "env set, no http_proxy: CLI route direct" "route: direct"
squid_quiet "env set, no http_proxy: squid not used" "$sq_log" "$before"

write_cnf "$WORK/env-used.cnf" "${settings[@]}" http_proxy=env
run_host env-used "$WORK/env-used.cnf" env "http_proxy=$proxy" \
    "$OPENSSL_BIN" verify -CAfile "$PKI/root.pem" -untrusted "$PKI/inter.pem" \
    "$PKI/good.pem"
expect_rc "http_proxy = env: openssl verify through squid" 0
write_cnf "$WORK/env-used-cli.cnf" "${settings[@]}" http_proxy=env
before=$(squid_lines "$sq_log")
run_cmd env-used-cli env -u OPENSSL_CONF "http_proxy=$proxy" "$CLI" verify \
    --config "$WORK/env-used-cli.cnf" --CAfile "$PKI/root.pem" \
    --untrusted "$PKI/inter.pem" "$PKI/revoked.pem"
expect_rc "http_proxy = env: CLI revoked exit 1" 1
expect_grep "http_proxy = env: CLI route names the proxy" \
    "route: proxy http://127.0.0.1:$sq_port"
wait_file_grep "GET http://$PARTNER" "$sq_log" 5 || true
expect_true "http_proxy = env: squid logged the fetch" \
    test "$(squid_lines "$sq_log")" -gt "$before"
write_cnf "$WORK/env-np.cnf" "${settings[@]}" http_proxy=env
before=$(squid_lines "$sq_log")
run_cmd env-np-cli env -u OPENSSL_CONF "http_proxy=$proxy" \
    "no_proxy=.partner.test" "$CLI" verify --config "$WORK/env-np.cnf" \
    --CAfile "$PKI/root.pem" --untrusted "$PKI/inter.pem" "$PKI/good.pem"
expect_rc "http_proxy = env with env no_proxy: direct, exit 75" 75
squid_quiet "http_proxy = env with env no_proxy: bypasses squid" "$sq_log" \
    "$before"
write_cnf "$WORK/env-empty.cnf" "${settings[@]}" http_proxy=env
run_cmd env-empty-cli env -u OPENSSL_CONF "$CLI" verify \
    --config "$WORK/env-empty.cnf" --CAfile "$PKI/root.pem" \
    --untrusted "$PKI/inter-ip.pem" "$PKI/ip-good.pem"
expect_rc "http_proxy = env, no variable: direct, 127.0.0.1 CDPs verify" 0

echo "-- failures behind or of the proxy"
# name|leaf|http_proxy|CLI detail ERE
pf_cases=(
    "squid-503|p-dead|$proxy|HTTP 503 .*via proxy"
    "squid-502|p-close|$proxy|HTTP 502 .*via proxy"
    "origin-hang|p-hang|$proxy|timeout"
    "proxy-blackhole|good|http://127.0.0.1:$bh_port|timeout"
)
for c in "${pf_cases[@]}"; do
    IFS='|' read -r name leaf px re <<<"$c"
    write_cnf "$WORK/$name.cnf" "${settings[@]}" "http_proxy=$px"
    ossl_verify "$name" "$WORK/$name.cnf" "$PKI/$leaf.pem"
    expect_rc "$name: openssl verify fails" '!0'
    expect_grep "$name: error 3" "error 3 at 0 depth lookup"
    expect_max_ms "$name: openssl verify within fetch_timeout + 1 s" \
        "$LIMIT_MS"
    write_cnf "$WORK/$name-cli.cnf" "${settings[@]}" "http_proxy=$px"
    cli_verify "$name-cli" "$WORK/$name-cli.cnf" "$PKI/$leaf.pem"
    expect_rc "$name: CLI exit 75 (transient)" 75
    expect_grep "$name: CLI names the cause" "$re"
    expect_max_ms "$name: CLI within fetch_timeout + 1 s" "$LIMIT_MS"
done
expect_grep "proxy-blackhole: the next CRL does not wait for the dead proxy" \
    "proxy was unreachable less than [0-9]+ s ago" "$WORK/proxy-blackhole-cli.out"
expect_grep "squid-503: squid answered 503" \
    "/503 .* GET http://$PARTNER:$dead_port/inter.crl" "$sq_log"
expect_grep "squid-502: squid answered 502" \
    "/502 .* GET http://$PARTNER:$FAULT_PORT/close" "$sq_log"
expect_grep "squid-502: the origin got the request" "GET /close" "$FAULT_LOG"

echo "-- basic authentication"
start_squid squid-auth auth
asq_port=$SQUID_PORT
asq_log=$SQUID_LOG
auth_cases=(
    "auth-ok|http://$PROXY_USER:$PROXY_PASS@127.0.0.1:$asq_port|0"
    "auth-none|http://127.0.0.1:$asq_port|75"
    "auth-wrong|http://$PROXY_USER:wrong-$PROXY_PASS@127.0.0.1:$asq_port|75"
    "auth-encoded|http://slashuser:${SLASH_PASS//\//%2F}@127.0.0.1:$asq_port|0"
)
for c in "${auth_cases[@]}"; do
    IFS='|' read -r name px want <<<"$c"
    write_cnf "$WORK/$name.cnf" "${settings[@]}" "http_proxy=$px"
    ossl_verify "$name" "$WORK/$name.cnf" "$PKI/good.pem"
    if [[ "$want" -eq 0 ]]; then
        expect_rc "$name: openssl verify through the authenticating proxy" 0
    else
        expect_rc "$name: openssl verify fails" '!0'
        expect_grep "$name: error 3" "error 3 at 0 depth lookup"
        expect_grep "$name: logged transient" "$TRANSIENT_RE"
    fi
    expect_max_ms "$name: openssl verify within fetch_timeout + 1 s" \
        "$LIMIT_MS"
    write_cnf "$WORK/$name-cli.cnf" "${settings[@]}" "http_proxy=$px"
    cli_verify "$name-cli" "$WORK/$name-cli.cnf" "$PKI/good.pem"
    expect_rc "$name: CLI exit $want" "$want"
    expect_max_ms "$name: CLI within fetch_timeout + 1 s" "$LIMIT_MS"
    if [[ "$want" -ne 0 ]]; then
        expect_grep "$name: CLI says 407 proxy authentication" \
            "HTTP 407 .*proxy authentication required"
    fi
    if [[ "$px" == *@* ]]; then
        expect_grep "$name: CLI route shows the proxy masked" \
            "route: proxy http://\[\*\*\*\*\]@127.0.0.1:$asq_port"
    fi
done
# an unencoded '/' in the password: a configuration error at load (curl
# could not parse the URL), never a transient failure at every fetch
write_cnf "$WORK/auth-slash.cnf" "${settings[@]}" \
    "http_proxy=http://$PROXY_USER:$SLASH_PASS@127.0.0.1:$asq_port"
ossl_verify auth-slash "$WORK/auth-slash.cnf" "$PKI/good.pem"
expect_rc "auth-slash: openssl verify fails (fail closed)" '!0'
expect_grep "auth-slash: the error names http_proxy and the fix" \
    "http_proxy: invalid value .*percent-encoded"
cli_verify auth-slash-cli "$WORK/auth-slash.cnf" "$PKI/good.pem"
expect_rc "auth-slash: CLI exit 78 (configuration)" 78
wait_file_grep " $PROXY_USER " "$asq_log" 5 || true
expect_grep "auth-ok: squid logged the authenticated user" \
    "TCP_[A-Z_]+/200 .* GET http://$PARTNER:$nport/inter.crl $PROXY_USER " \
    "$asq_log"
expect_grep "auth-none: squid answered 407" "TCP_DENIED/407 .* GET " \
    "$asq_log"
expect_grep "auth-ok: debug log line shows the masked route" \
    "proxy http://\[\*\*\*\*\]@127.0.0.1:$asq_port" "$WORK/auth-ok.out"
# every output and log line of this script: openssl, the CLI, the
# provider's log (stderr), squid's logs
n=0
for secret in "$PROXY_PASS" "$SLASH_PASS" "${SLASH_PASS#*/}"; do
    n=$((n + 1))
    leaks=$(grep -rlF --include='*.out' --include='*.log' --include='*.cmd' \
        -- "$secret" "$WORK" || true)
    if [[ -z "$leaks" ]]; then
        pass "proxy secret $n appears in no output or log"
    else
        fail "proxy secret $n leaked into: $leaks"
    fi
done
expect_true "the password check can see the cnf that holds it" \
    grep -qF -- "$SLASH_PASS" "$WORK/auth-slash.cnf"

echo "-- squid stopped"
stop_pid "$sq_pid"
expect_true "squid stopped" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$sq_port)"
write_cnf "$WORK/down.cnf" "${settings[@]}" "http_proxy=$proxy"
ossl_verify down "$WORK/down.cnf" "$PKI/good.pem"
expect_rc "squid down: openssl verify fails" '!0'
expect_grep "squid down: error 3" "error 3 at 0 depth lookup"
expect_grep "squid down: logged transient" "$TRANSIENT_RE"
expect_max_ms "squid down: openssl verify within fetch_timeout + 1 s" \
    "$LIMIT_MS"
write_cnf "$WORK/down-cli.cnf" "${settings[@]}" "http_proxy=$proxy"
cli_verify down-cli "$WORK/down-cli.cnf" "$PKI/good.pem"
expect_rc "squid down: CLI exit 75 (transient)" 75
expect_max_ms "squid down: CLI within fetch_timeout + 1 s" "$LIMIT_MS"
write_cnf "$WORK/down-ip.cnf" "${settings[@]}" "http_proxy=$proxy"
cli_verify down-ip "$WORK/down-ip.cnf" "$PKI/ip-good.pem" "$PKI/inter-ip.pem"
expect_rc "squid down, 127.0.0.1 CDPs, no no_proxy: exit 75 (proxy used)" 75

# no_proxy entries for hosts the host resolves: they work with squid down
# leaf|untrusted|no_proxy
down_cases=(
    "l-good|inter-l|localhost"
    "l-good|inter-l|.localhost,localhost"
    "ip-good|inter-ip|127.0.0.1"
    "ip-good|inter-ip|127.0.0.0/8"
    "ip-good|inter-ip|10.0.0.0/8,127.0.0.1/32"
)
n=0
for c in "${down_cases[@]}"; do
    IFS='|' read -r leaf untrusted entry <<<"$c"
    n=$((n + 1))
    write_cnf "$WORK/down-np$n.cnf" "${settings[@]}" "http_proxy=$proxy" \
        "no_proxy=$entry"
    ossl_verify "down-np$n" "$WORK/down-np$n.cnf" "$PKI/$leaf.pem" \
        "$PKI/$untrusted.pem"
    expect_rc "squid down, no_proxy=$entry: openssl verify OK" 0
    write_cnf "$WORK/down-np$n-cli.cnf" "${settings[@]}" \
        "http_proxy=$proxy" "no_proxy=$entry"
    cli_verify "down-np$n-cli" "$WORK/down-np$n-cli.cnf" "$PKI/$leaf.pem" \
        "$PKI/$untrusted.pem"
    expect_rc "squid down, no_proxy=$entry: CLI exit 0 (direct)" 0
    expect_grep "squid down, no_proxy=$entry: CLI route direct" \
        "route: direct"
    expect_no_grep "squid down, no_proxy=$entry: no proxy route" \
        "route: proxy"
done

finish
