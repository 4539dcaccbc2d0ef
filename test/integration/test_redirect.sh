#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Fetch hardening against a hostile CDP server, with real nginx servers.
# The CDP server (nginx, 127.0.0.1:P) answers 302 for some CRLs: to its own
# origin, to a canary nginx on another port of 127.0.0.1, to the canary on
# 127.0.0.2 at the same port P (another host), and to "localhost:P"
# (another host name for the CDP server itself). With the default
# allow_redirects = same-origin only the first is followed: the canary's
# access log and the CDP server's log of Host localhost stay empty, and the
# verification fails (openssl verify error 3, CLI exit 75: transient) with
# "redirect refused". allow_redirects = any follows all three (the control
# that shows the canary answers), allow_redirects = none none of them.
# deny_networks = 127.0.0.0/8 refuses the direct fetch (no request reaches
# the CDP server) with a message naming the address and the block, and
# 127.0.0.2/32 a redirect's target after the first hop was allowed, and
# LDAP CDPs at denied addresses (or names resolving there) too. The
# proxy's own address is exempt (squid on 127.0.0.1 still carries a CDP
# of a name only squid resolves), while a CDP whose host is a denied
# address is refused before it is sent to the proxy. A scheme-less proxy
# whose password holds '@' (in the configuration, where it fails
# activation, and in the environment with http_proxy = env) never shows its
# password in openssl verify's stderr and log, the debug trace, or the
# output of domainsec fetch and doctor. The DOMAINSEC_DEBUG file is created
# 0600 and a symbolic link in its place is not followed.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup redirect
SQUID_BIN="${SQUID_BIN:-/usr/sbin/squid}"
need_bin "$NGINX_BIN" nginx
need_bin "$SQUID_BIN" squid

FETCH_TIMEOUT=3
LIMIT_MS=$(((FETCH_TIMEOUT + 1) * 1000))
PARTNER=crl.partner.test
PASS_A='Pr0xy'
PASS_B='s3cret'
TRANSIENT_RE='(^|[^/a-z])transient([^/a-z]|$)'
settings=("fetch_timeout=$FETCH_TIMEOUT")

cdp_port=$(free_port)
canary_port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$cdp_port"
for leaf in same port host ip2; do
    make_leaf "r-$leaf" "http://127.0.0.1:$cdp_port/$leaf/inter.crl"
done
make_leaf p-name "http://$PARTNER:$cdp_port/inter.crl"

# ------------------------------------------------------------------ nginx

# nginx_pair: the CDP server and the canary, each logging the address and
# port it was reached on and the Host of every request.
# shellcheck disable=SC2016 # nginx variables, not the shell's
LOGFMT='log_format where "$server_addr:$server_port $host $request $status";'
start_nginx_conf() {
    local tag=$1 body=$2 prefix="$WORK/$1"
    mkdir -p "$prefix"
    {
        nginx_conf_common "$prefix" | sed '/access_log/d'
        echo "    $LOGFMT"
        echo "    access_log $prefix/logs/access.log where;"
        echo "    types { application/pkix-crl crl; }"
        echo "$body"
        echo "}"
    } >"$prefix/nginx.conf"
    "$NGINX_BIN" -p "$prefix" -c "$prefix/nginx.conf" \
        -e "$prefix/logs/error.log" -g 'daemon off;' \
        >>"$prefix/logs/stdout.log" 2>&1 &
    track_pid $!
}
start_nginx_conf cdp "    server {
        listen 127.0.0.1:$cdp_port;
        root $WWW;
        location = /same/inter.crl { absolute_redirect off;
            return 302 /inter.crl; }
        location = /port/inter.crl {
            return 302 http://127.0.0.1:$canary_port/inter.crl; }
        location = /ip2/inter.crl {
            return 302 http://127.0.0.2:$cdp_port/inter.crl; }
        location = /host/inter.crl {
            return 302 http://localhost:$cdp_port/inter.crl; }
    }"
start_nginx_conf canary "    server {
        listen 127.0.0.1:$canary_port;
        listen 127.0.0.2:$cdp_port;
        root $WWW;
    }"
wait_port "$cdp_port" 10
wait_port "$canary_port" 10
CDP_LOG="$WORK/cdp/logs/access.log"
CANARY_LOG="$WORK/canary/logs/access.log"

# lines FILE [ERE]: lines of FILE (matching ERE).
lines() {
    if [[ ! -f "$1" ]]; then
        echo 0
    elif [[ -n "${2:-}" ]]; then
        grep -Ec -- "$2" "$1" || true
    else
        wc -l <"$1"
    fi
}
# canary_requests: requests the canary got, plus those the CDP server got
# under the name localhost (the same server reached by another name).
canary_requests() {
    echo $(($(lines "$CANARY_LOG") + $(lines "$CDP_LOG" " localhost ")))
}

# http_get HOST PORT PATH: "STATUS LOCATION" of one GET, redirects not
# followed.
http_get() {
    python3 -c 'import http.client, sys
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=5)
c.request("GET", sys.argv[3])
r = c.getresponse()
print(r.status, r.getheader("Location") or "-")' "$@"
}
expect_true "the canary answers on 127.0.0.2:$cdp_port" \
    test "$(http_get 127.0.0.2 "$cdp_port" /inter.crl)" = "200 -"
expect_true "the canary answers on 127.0.0.1:$canary_port" \
    test "$(http_get 127.0.0.1 "$canary_port" /inter.crl)" = "200 -"
expect_true "the CDP server redirects /port/ to the canary" \
    test "$(http_get 127.0.0.1 "$cdp_port" /port/inter.crl)" = \
    "302 http://127.0.0.1:$canary_port/inter.crl"
sleep 0.3
CANARY_BASE=$(canary_requests)

# ------------------------------------------------------ allow_redirects

echo "-- default (same-origin): a redirect within the origin is followed"
write_cnf "$WORK/so-same.cnf" "${settings[@]}"
ossl_verify so-same "$WORK/so-same.cnf" "$PKI/r-same.pem"
expect_rc "same origin: openssl verify OK" 0
expect_grep "same origin: nginx served the redirect's target" \
    "127.0.0.1:$cdp_port [^ ]+ GET /inter.crl " "$CDP_LOG"

echo "-- default (same-origin): another port, host or host name is refused"
for leaf in port ip2 host; do
    write_cnf "$WORK/so-$leaf.cnf" "${settings[@]}"
    before=$(canary_requests)
    ossl_verify "so-$leaf" "$WORK/so-$leaf.cnf" "$PKI/r-$leaf.pem"
    expect_rc "$leaf: openssl verify fails" '!0'
    expect_grep "$leaf: error 3" "error 3 at 0 depth lookup"
    expect_grep "$leaf: logged transient, redirect refused" \
        "transient: error 3 at depth 0: .*redirect refused \(allow_redirects = same-origin\)"
    expect_max_ms "$leaf: openssl verify within fetch_timeout + 1 s" "$LIMIT_MS"
    write_cnf "$WORK/so-$leaf-cli.cnf" "${settings[@]}"
    cli_verify "so-$leaf-cli" "$WORK/so-$leaf-cli.cnf" "$PKI/r-$leaf.pem"
    expect_rc "$leaf: CLI exit 75 (transient)" 75
    expect_grep "$leaf: CLI says transient" "$TRANSIENT_RE"
    expect_grep "$leaf: CLI names the refused redirect" \
        "redirect refused \(allow_redirects = same-origin\): http://127.0.0.1:$cdp_port/$leaf/inter.crl redirected to another host or port"
    expect_grep "$leaf: the CDP server answered 302" \
        "GET /$leaf/inter.crl HTTP/1.1 302" "$CDP_LOG"
    sleep 0.3
    after=$(canary_requests)
    expect_true "$leaf: the canary got 0 requests ($((after - before)))" \
        test "$after" -eq "$before"
done
expect_true "default: the canary got 0 requests in all" \
    test "$(canary_requests)" -eq "$CANARY_BASE"

echo "-- allow_redirects = none"
write_cnf "$WORK/none.cnf" "${settings[@]}" allow_redirects=none
cli_verify none "$WORK/none.cnf" "$PKI/r-same.pem"
expect_rc "none: even a same-origin redirect fails, exit 75" 75
expect_grep "none: says so" "redirect refused \(allow_redirects = none\)"

echo "-- allow_redirects = any (control: the canary answers)"
for leaf in port ip2 host; do
    write_cnf "$WORK/any-$leaf.cnf" "${settings[@]}" allow_redirects=any
    before=$(canary_requests)
    ossl_verify "any-$leaf" "$WORK/any-$leaf.cnf" "$PKI/r-$leaf.pem"
    expect_rc "any, $leaf: openssl verify OK" 0
    sleep 0.3
    after=$(canary_requests)
    expect_true "any, $leaf: the canary served the CRL ($((after - before)))" \
        test "$after" -gt "$before"
done
expect_grep "any: the canary was reached on 127.0.0.2" \
    "^127.0.0.2:$cdp_port .* GET /inter.crl HTTP/1.1 200" "$CANARY_LOG"
expect_grep "any: the canary was reached on its port" \
    "^127.0.0.1:$canary_port .* GET /inter.crl HTTP/1.1 200" "$CANARY_LOG"

# ------------------------------------------------------- deny_networks

echo "-- deny_networks = 127.0.0.0/8: the direct fetch is refused"
before=$(lines "$CDP_LOG")
write_cnf "$WORK/deny.cnf" "${settings[@]}" deny_networks=127.0.0.0/8
ossl_verify deny "$WORK/deny.cnf" "$PKI/good.pem"
expect_rc "deny: openssl verify fails" '!0'
expect_grep "deny: error 3" "error 3 at [0-9]+ depth lookup"
expect_grep "deny: logged transient with address and block" \
    "transient: error 3 at depth [0-9]+: .*refused: address 127.0.0.1 is in deny_networks \(127.0.0.0/8\)"
write_cnf "$WORK/deny-cli.cnf" "${settings[@]}" deny_networks=127.0.0.0/8
cli_verify deny-cli "$WORK/deny-cli.cnf" "$PKI/good.pem"
expect_rc "deny: CLI exit 75 (transient)" 75
expect_grep "deny: CLI names address and block" \
    "address 127.0.0.1 is in deny_networks \(127.0.0.0/8\)"
run_cmd deny-fetch env -u OPENSSL_CONF "$CLI" fetch --config \
    "$WORK/deny-cli.cnf" "http://localhost:$cdp_port/inter.crl"
expect_rc "deny: domainsec fetch of localhost exit 75" 75
expect_grep "deny: domainsec fetch: a name resolving into the block" \
    "address (127.0.0.1|::1) is in deny_networks"
sleep 0.3
expect_true "deny: no request reached the CDP server" \
    test "$(lines "$CDP_LOG")" -eq "$before"

echo "-- deny_networks after a redirect (allow_redirects = any)"
before=$(canary_requests)
write_cnf "$WORK/deny-ip2.cnf" "${settings[@]}" allow_redirects=any \
    deny_networks=127.0.0.2/32
cli_verify deny-ip2 "$WORK/deny-ip2.cnf" "$PKI/r-ip2.pem"
expect_rc "deny after redirect: CLI exit 75" 75
expect_grep "deny after redirect: names the target's address" \
    "address 127.0.0.2 is in deny_networks \(127.0.0.2/32\)"
expect_grep "deny after redirect: the first hop was made" \
    "GET /ip2/inter.crl HTTP/1.1 302" "$CDP_LOG"
sleep 0.3
expect_true "deny after redirect: the canary got 0 requests" \
    test "$(canary_requests)" -eq "$before"

echo "-- deny_networks applies to LDAP CDPs too"
before=$(canary_requests)
ldap_url="ldap://127.0.0.2:$cdp_port/cn=CA?certificateRevocationList"
run_cmd deny-ldap env -u OPENSSL_CONF "$CLI" fetch --config \
    "$WORK/deny-ip2.cnf" "$ldap_url"
expect_rc "ldap: a CDP at a denied address, exit 75" 75
expect_grep "ldap: refused with address and block" \
    "ldap: fetching .* refused: address 127.0.0.2 is in deny_networks \(127.0.0.2/32\)"
write_cnf "$WORK/deny-ldap-name.cnf" "${settings[@]}" \
    "deny_networks=127.0.0.0/8,::1"
run_cmd deny-ldap-name env -u OPENSSL_CONF "$CLI" fetch --config \
    "$WORK/deny-ldap-name.cnf" \
    "ldap://localhost:$canary_port/cn=CA?certificateRevocationList"
expect_rc "ldap: a name resolving into the blocks, exit 75" 75
expect_grep "ldap: every address of the name refused" \
    "address (127.0.0.1|::1) is in deny_networks"
sleep 0.3
expect_true "ldap: the canary got 0 connections" \
    test "$(canary_requests)" -eq "$before"

# ------------------------------------------------------------ the proxy

sq_dir="$WORK/squid"
sq_port=$(free_port)
mkdir -p "$sq_dir"
echo "127.0.0.1 $PARTNER" >"$sq_dir/hosts"
cat >"$sq_dir/squid.conf" <<EOF
http_port 127.0.0.1:$sq_port
pid_filename $sq_dir/squid.pid
access_log stdio:$sq_dir/access.log
cache_log $sq_dir/cache.log
cache_store_log none
coredump_dir $sq_dir
cache deny all
cache_mem 8 MB
hosts_file $sq_dir/hosts
visible_hostname domainsec-test
pinger_enable off
netdb_filename none
shutdown_lifetime 0 seconds
http_access allow localhost
http_access deny all
EOF
if [[ $(id -u) -eq 0 ]]; then
    echo "cache_effective_user ${SQUID_USER:-proxy}" >>"$sq_dir/squid.conf"
fi
: >"$sq_dir/access.log"
if [[ $(id -u) -eq 0 ]]; then
    chown -R "${SQUID_USER:-proxy}" "$sq_dir"
fi
"$SQUID_BIN" -N -n dsecredirect -f "$sq_dir/squid.conf" \
    >"$sq_dir/stdout.log" 2>&1 &
track_pid $!
wait_port "$sq_port" 20
SQ_LOG="$sq_dir/access.log"

echo "-- deny_networks: the proxy's own address is exempt"
write_cnf "$WORK/deny-proxy.cnf" "${settings[@]}" \
    "http_proxy=http://127.0.0.1:$sq_port" deny_networks=127.0.0.0/8
run_cmd deny-proxy-name env -u OPENSSL_CONF "$CLI" fetch --config \
    "$WORK/deny-proxy.cnf" --issuer "$PKI/inter.pem" \
    "http://$PARTNER:$cdp_port/inter.crl"
expect_rc "proxy on 127.0.0.1: a CDP by name is fetched through it" 0
expect_grep "proxy on 127.0.0.1: route through squid" \
    "route: +proxy http://127.0.0.1:$sq_port"
wait_file_grep "GET http://$PARTNER:$cdp_port/inter.crl" "$SQ_LOG" 5 || true
expect_grep "proxy on 127.0.0.1: squid logged the fetch" \
    "/200 .* GET http://$PARTNER:$cdp_port/inter.crl " "$SQ_LOG"
before=$(lines "$SQ_LOG")
run_cmd deny-proxy-ip env -u OPENSSL_CONF "$CLI" fetch --config \
    "$WORK/deny-proxy.cnf" "http://127.0.0.1:$cdp_port/inter.crl"
expect_rc "through the proxy: a CDP at a denied address, exit 75" 75
expect_grep "through the proxy: refused with address and block" \
    "address 127.0.0.1 is in deny_networks \(127.0.0.0/8\)"
sleep 0.3
expect_true "through the proxy: nothing was sent to squid" \
    test "$(lines "$SQ_LOG")" -eq "$before"

# ------------------------------------------- the proxy's password masked

echo "-- a scheme-less proxy whose password holds '@'"
secret_proxy="alice:$PASS_A@$PASS_B@127.0.0.1:$sq_port"
# no_secret DESC FILE: FILE shows neither half of the password.
no_secret() {
    expect_no_grep "$1: no password" "$PASS_A|$PASS_B" "$2"
}
write_cnf "$WORK/pw-cnf.cnf" "${settings[@]}" "http_proxy=$secret_proxy"
run_host pw-cnf "$WORK/pw-cnf.cnf" \
    env "DOMAINSEC_DEBUG=file:$WORK/pw-debug.log,level:3" \
    "$OPENSSL_BIN" verify -CAfile "$PKI/root.pem" -untrusted "$PKI/inter.pem" \
    "$PKI/good.pem"
expect_rc "in the configuration: activation fails, openssl verify fails" '!0'
expect_grep "in the configuration: the error names the proxy, masked" \
    "http_proxy: invalid value '\[\*\*\*\*\]@127.0.0.1:$sq_port'"
expect_grep "in the configuration: the fail-closed line on stderr" \
    "domainsec: .*not active|fail"
no_secret "activation error and log (openssl verify stderr)" "$OUT"
expect_true "the debug trace was written" test -s "$WORK/pw-debug.log"
no_secret "debug trace" "$WORK/pw-debug.log"
expect_true "the debug trace is mode 0600" \
    test "$(stat -c %a "$WORK/pw-debug.log")" = 600
run_cmd pw-cnf-fetch env -u OPENSSL_CONF "$CLI" fetch --config \
    "$WORK/pw-cnf.cnf" "http://$PARTNER:$cdp_port/inter.crl"
expect_rc "in the configuration: domainsec fetch exit 78" 78
expect_grep "in the configuration: domainsec fetch names it masked" \
    "\[\*\*\*\*\]@127.0.0.1"
no_secret "domainsec fetch (configuration)" "$OUT"
run_cmd pw-cnf-doctor env -u OPENSSL_CONF "$CLI" doctor --config \
    "$WORK/pw-cnf.cnf"
expect_rc "in the configuration: doctor exit 78" 78
expect_grep "in the configuration: doctor names it masked" \
    "\[\*\*\*\*\]@127.0.0.1"
no_secret "domainsec doctor (configuration)" "$OUT"

write_cnf "$WORK/pw-env.cnf" "${settings[@]}" http_proxy=env log_level=debug
run_host pw-env "$WORK/pw-env.cnf" env "http_proxy=$secret_proxy" \
    "DOMAINSEC_DEBUG=file:$WORK/pw-env-debug.log,level:3" \
    "$OPENSSL_BIN" verify -CAfile "$PKI/root.pem" -untrusted "$PKI/inter.pem" \
    "$PKI/p-name.pem"
expect_rc "from the environment: openssl verify fails (proxy unusable)" '!0'
expect_grep "from the environment: logged transient" "$TRANSIENT_RE"
expect_grep "from the environment: the route is shown masked" \
    "proxy http://\[\*\*\*\*\]@127.0.0.1:$sq_port"
no_secret "openssl verify stderr and log (environment)" "$OUT"
no_secret "debug trace (environment)" "$WORK/pw-env-debug.log"
run_cmd pw-env-fetch env -u OPENSSL_CONF "http_proxy=$secret_proxy" "$CLI" \
    fetch --config "$WORK/pw-env.cnf" "http://$PARTNER:$cdp_port/inter.crl"
expect_rc "from the environment: domainsec fetch exit 75" 75
expect_grep "from the environment: domainsec fetch route masked" \
    "route: +proxy http://\[\*\*\*\*\]@127.0.0.1:$sq_port"
no_secret "domainsec fetch (environment)" "$OUT"
run_cmd pw-env-doctor env -u OPENSSL_CONF "http_proxy=$secret_proxy" "$CLI" \
    doctor --config "$WORK/pw-env.cnf"
expect_grep "from the environment: doctor names the proxy masked" \
    "proxy .*\[\*\*\*\*\]@127.0.0.1:$sq_port"
no_secret "domainsec doctor (environment)" "$OUT"

# ------------------------------------------------------- DOMAINSEC_DEBUG

echo "-- DOMAINSEC_DEBUG does not follow a symbolic link"
: >"$WORK/victim"
ln -s "$WORK/victim" "$WORK/debug-link.log"
write_cnf "$WORK/dbg.cnf" "${settings[@]}"
run_host dbg-link "$WORK/dbg.cnf" \
    env "DOMAINSEC_DEBUG=file:$WORK/debug-link.log,level:3" \
    "$OPENSSL_BIN" verify -CAfile "$PKI/root.pem" -untrusted "$PKI/inter.pem" \
    "$PKI/good.pem"
expect_rc "debug file a symbolic link: the verification still works" 0
expect_true "debug file a symbolic link: its target was not written" \
    test ! -s "$WORK/victim"

finish
