#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A fleet behind one caching forward proxy (README "A fleet behind a caching
# proxy"): two hosts with their own cache_dir verify through one squid, set
# up with the README's refresh_pattern; nginx, the CRLs' origin, serves each
# CRL once (squid's access.log: a miss, then hits). `domainsec cache
# refresh --force` gets squid's copy, no newer than its own, and asks once
# more with Cache-Control: no-cache, which squid passes to the origin; once
# the CA publishes a newer CRL, a refresh through squid gets it and a leaf
# revoked in it fails at once.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup refresh_fleet
SQUID_BIN="${SQUID_BIN:-/usr/sbin/squid}"
need_bin "$SQUID_BIN" squid

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
make_leaf late "$CDP_BASE/inter.crl"
start_nginx "$WWW" "$port"

sq="$WORK/squid"
mkdir -p "$sq"
SQUID_PORT=$(free_port)
{
    echo "http_port 127.0.0.1:$SQUID_PORT"
    echo "pid_filename $sq/squid.pid"
    echo "access_log stdio:$sq/access.log"
    echo "cache_log $sq/cache.log"
    echo "cache_store_log none"
    echo "coredump_dir $sq"
    echo "cache_mem 16 MB"
    echo "maximum_object_size_in_memory 4 MB"
    echo "visible_hostname domainsec-test"
    echo "pinger_enable off"
    echo "netdb_filename none"
    echo "shutdown_lifetime 0 seconds"
    # README: fresh for a minute at least, then revalidated
    echo 'refresh_pattern -i \.crl$ 1 20% 60 override-lastmod'
    if [[ $(id -u) -eq 0 ]]; then
        echo "cache_effective_user ${SQUID_USER:-proxy}"
    fi
    echo "http_access allow localhost"
    echo "http_access deny all"
} >"$sq/squid.conf"
: >"$sq/access.log"
if [[ $(id -u) -eq 0 ]]; then
    chown -R "${SQUID_USER:-proxy}" "$sq"
fi
"$SQUID_BIN" -N -n dsecfleet -f "$sq/squid.conf" >"$sq/stdout.log" 2>&1 &
track_pid $!
if ! wait_port "$SQUID_PORT" 20; then
    cat "$sq/stdout.log" "$sq/cache.log" >&2 || true
    exit 1
fi

proxy="http_proxy=http://127.0.0.1:$SQUID_PORT"
write_cnf "$WORK/host1.cnf" "$proxy"
write_cnf "$WORK/host2.cnf" "$proxy"

# origin_gets CRL: how often nginx served CRL (a 200 with the body).
origin_gets() {
    grep -c "\"GET /$1 HTTP/1.1\" 200 " "$NGINX_ACCESS_LOG" || true
}

echo "-- two hosts, two cache_dirs, one squid"
ossl_verify host1 "$WORK/host1.cnf" "$PKI/good.pem"
expect_rc "host 1 verifies through squid" 0
ossl_verify host2 "$WORK/host2.cnf" "$PKI/good.pem"
expect_rc "host 2 verifies through squid" 0
ossl_verify host2-revoked "$WORK/host2.cnf" "$PKI/revoked.pem"
expect_rc "host 2: revoked leaf refused (fatal)" 2
expect_true "the origin served inter.crl once ($(origin_gets inter.crl))" \
    test "$(origin_gets inter.crl)" -eq 1
expect_true "the origin served root.crl once ($(origin_gets root.crl))" \
    test "$(origin_gets root.crl)" -eq 1
expect_grep "squid served host 2 from its cache" \
    "TCP_(MEM_)?HIT/200 .*/inter\\.crl" "$sq/access.log"
expect_true "each host has its own cached copy" \
    test "$(find "$WORK/cache.1" "$WORK/cache.2" -name '*.crl' | wc -l)" -eq 4

echo "-- cache refresh through squid"
run_cmd refresh2 "$CLI" cache refresh --config "$WORK/host2.cnf" --force
expect_rc "host 2 cache refresh --force exits 0" 0
expect_grep "host 2: inter.crl unchanged" "/inter.crl: unchanged"
# squid's copy is as new as host 2's: a forced refresh asks past squid once
expect_true "a forced refresh asks the origin once past squid ($(origin_gets inter.crl))" \
    test "$(origin_gets inter.crl)" -eq 2

revoke late inter
gen_crl inter "$WWW/inter.crl.new"
mv "$WWW/inter.crl.new" "$WWW/inter.crl"
ossl_verify late-before "$WORK/host1.cnf" "$PKI/late.pem"
expect_rc "host 1: late accepted while its cached CRL stands" 0
run_cmd refresh1 "$CLI" cache refresh --config "$WORK/host1.cnf" --force \
    "$CDP_BASE/inter.crl"
expect_rc "host 1 cache refresh exits 0" 0
expect_grep "host 1: the newer CRL reached it through squid" \
    "/inter.crl: refreshed"
expect_true "the origin served the new CRL ($(origin_gets inter.crl))" \
    test "$(origin_gets inter.crl)" -eq 3
ossl_verify late-after "$WORK/host1.cnf" "$PKI/late.pem"
expect_rc "host 1: late refused after the refresh" 2

finish
