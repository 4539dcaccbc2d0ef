#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# HAProxy (Debian's haproxy 2.6, unmodified) as the TLS host: a frontend
# `bind ... ssl crt ... verify required ca-file root.pem` answering
# `http-request return` (no backend server), whose only link to domainsec
# is OPENSSL_CONF in its environment. A good client certificate is served
# (200 "ok"), a revoked one and one under a revoked intermediate are
# refused in the handshake (TLS alert 44, HAProxy logs "SSL client
# certificate not trusted" / "SSL client CA chain cannot be verified" with
# the X509 error), a CRL server that is down makes a fresh HAProxy refuse
# with error 3 (alert 48, domainsec logs transient) and the same HAProxy
# serves again once the CRL server is back (fail_cache = 1). HAProxy's
# master-worker mode (-W, as Debian's unit runs it with -Ws) keeps
# domainsec across a reload (SIGUSR2: the master re-executes itself with
# the same environment), and with Debian's `chroot` + `user`/`group` the
# worker still fetches and writes cache_dir. The example
# conf/haproxy/haproxy.cfg, its paths replaced, passes `haproxy -c`, sends a
# good client to its backend and refuses a revoked one. The control: the same
# configuration without OPENSSL_CONF serves the revoked client. Clients are
# plain `openssl s_client` and curl without domainsec.
#
# Findings this script relies on (HAProxy 2.6.12, OpenSSL 3.0):
# - HAProxy initialises OpenSSL with the configuration before it parses
#   haproxy.cfg, so the provider is active before any SSL_CTX exists; the
#   verification runs in the process (thread) that does the handshake: the
#   worker in master-worker mode, which forks from the master.
# - A failed verification aborts the handshake: OpenSSL sends the alert of
#   the X509 error (23 -> 44 certificate revoked, 3 -> 48 unknown CA) and
#   HAProxy logs the connection error, with the errors when
#   error-log-format has %[ssl_c_err] (depth 0) and %[ssl_c_ca_err] (above).
# - domainsec opens cache_dir when it activates, before HAProxy chroots and
#   drops privileges: the worker keeps using it if its user or group may
#   write it (the package's cache is group domainsec, mode 2770).
# - `log stderr` in haproxy.cfg and domainsec's `log = stderr` both go to
#   HAProxy's stderr in the foreground (-db).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup haproxy
HAPROXY_BIN="${HAPROXY_BIN:-$(command -v haproxy || echo /usr/sbin/haproxy)}"
need_bin "$HAPROXY_BIN" haproxy
need_bin "$NGINX_BIN" nginx
need_bin "$(command -v curl || true)" curl

# host_cfg FILE PORT [GLOBAL_LINE...]: haproxy.cfg of the HTTPS host; its
# bind options are $HOST_BIND when set.
host_cfg() {
    local file=$1 port=$2 line
    shift 2
    {
        echo "global"
        echo "    log stderr format short local0 info"
        for line in "$@"; do
            echo "    $line"
        done
        cat <<EOF
defaults
    mode http
    log global
    option httplog
    error-log-format "%ci:%cp [%tr] %ft: %[fc_err_str] crt_err=%[ssl_c_err] ca_err=%[ssl_c_ca_err]"
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend https
    bind 127.0.0.1:$port ${HOST_BIND:-ssl crt $PKI/server-bundle.pem verify required ca-file $PKI/root.pem}
    http-request return status 200 content-type text/plain string "ok"
EOF
    } >"$file"
}

# start_host TAG CNF [-W] [GLOBAL_LINE...]: HAProxy in the foreground (-db;
# -W: master-worker) with $WORK/TAG.cfg on a fresh port, under
# OPENSSL_CONF=CNF ("-": without OPENSSL_CONF). Sets HOST_PORT, HOST_PID
# and HOST_LOG (HAProxy's stdout+stderr: its log and domainsec's).
start_host() {
    local tag=$1 cnf=$2 mode=()
    shift 2
    local envs=("${HOST_ENV[@]}" "OPENSSL_CONF=$cnf")
    if [[ "$cnf" == "-" ]]; then
        envs=(env -u OPENSSL_CONF)
    fi
    if [[ "${1:-}" == -W ]]; then
        mode=(-W)
        shift
    fi
    HOST_PORT=$(free_port)
    host_cfg "$WORK/$tag.cfg" "$HOST_PORT" "$@"
    HOST_LOG="$WORK/$tag.log"
    "${envs[@]}" "$HAPROXY_BIN" "${mode[@]}" -db -f "$WORK/$tag.cfg" \
        </dev/null >"$HOST_LOG" 2>&1 &
    HOST_PID=$!
    track_pid "$HOST_PID"
    if ! wait_port "$HOST_PORT" 10; then
        cat "$HOST_LOG" >&2 || true
        return 1
    fi
}

# client NAME LEAF CHAIN: GET / through a plain s_client presenting LEAF
# with the intermediate CHAIN (-quiet: the session print would interleave
# with the response on stdout; errors and alerts still go to stderr).
client() {
    local name=$1 leaf=$2 chain=$3
    s_client "$name" - "$HOST_PORT" -cert "$PKI/$leaf.pem" \
        -key "$PKI/$leaf.key" -cert_chain "$PKI/$chain.pem" \
        -CAfile "$PKI/root.pem" -quiet
}

# curl_client NAME LEAF: GET / with curl presenting $PKI/LEAF-chain.pem.
curl_client() {
    run_cmd "$1" curl -sS --max-time 20 --cacert "$PKI/root.pem" \
        --cert "$PKI/$2-chain.pem" --key "$PKI/$2.key" \
        "https://localhost:$HOST_PORT/" --resolve "localhost:$HOST_PORT:127.0.0.1"
}

# expect_served DESC: the last s_client response is HAProxy's 200 "ok".
expect_served() {
    expect_grep "$1: HTTP 200" "^HTTP/1\.[01] 200"
    expect_grep "$1: body ok" "^ok$"
}

# expect_refused DESC ALERT: the handshake was aborted with TLS alert
# ALERT (a number) and no response came back.
expect_refused() {
    expect_grep "$1: TLS alert $2" "SSL alert number $2\$"
    expect_no_grep "$1: no HTTP response" "^HTTP/|^ok$"
}

# count RE FILE: lines of FILE matching the ERE RE.
count() {
    grep -Ec -- "$1" "$2" || true
}

crl_port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$crl_port"
cat "$PKI/server.pem" "$PKI/inter.pem" "$PKI/server.key" \
    >"$PKI/server-bundle.pem"
cat "$PKI/good.pem" "$PKI/inter.pem" >"$PKI/good-chain.pem"
cat "$PKI/revoked.pem" "$PKI/inter.pem" >"$PKI/revoked-chain.pem"
start_nginx "$WWW" "$crl_port" crl
crl_pid=$NGINX_PID

echo "-- HAProxy with domainsec, CRL server up"
write_cnf "$WORK/host.cnf"
start_host host "$WORK/host.cnf"
expect_maps "domainsec.so is loaded into HAProxy" "$HOST_PID" yes domainsec.so

client good good inter
expect_served "good client (s_client)"
curl_client curl-good good
expect_rc "good client (curl): served" 0
expect_grep "good client (curl): body ok" "^ok$"

client revoked revoked inter
expect_refused "revoked client (s_client)" 44
expect_grep "revoked client: alert certificate revoked" \
    "alert certificate revoked"
curl_client curl-revoked revoked
expect_rc "revoked client (curl): curl fails" "!0"
expect_grep "revoked client (curl): alert certificate revoked" \
    "alert certificate revoked"
expect_no_grep "revoked client (curl): no ok" "^ok$"
sleep 0.3
expect_true "revoked client: domainsec logs fatal error 23 twice" test \
    "$(count 'domainsec: fatal: error 23 at depth 0: .*CN=revoked' \
        "$HOST_LOG")" -eq 2
expect_true "revoked client: HAProxy logs certificate not trusted, 23" test \
    "$(count 'https~: SSL client certificate not trusted crt_err=23 ca_err=0' \
        "$HOST_LOG")" -eq 2

client under-revoked under-revoked inter-revoked
expect_refused "client under the revoked intermediate" 44
sleep 0.3
expect_grep "under revoked intermediate: domainsec fatal at depth 1" \
    "domainsec: fatal: error 23 at depth 1: .*Revoked Intermediate" \
    "$HOST_LOG"
expect_grep "under revoked intermediate: HAProxy logs CA chain, ca_err=23" \
    "https~: SSL client CA chain cannot be verified crt_err=0 ca_err=23" \
    "$HOST_LOG"
expect_true "exactly 2 requests got a 200 (the good clients)" test \
    "$(count ' 200 [0-9]+ - - ' "$HOST_LOG")" -eq 2
expect_true "HAProxy still running" kill -0 "$HOST_PID"
stop_pid "$HOST_PID"

echo "-- master-worker mode (-W, as Debian's unit), then a reload (SIGUSR2)"
write_cnf "$WORK/mw.cnf"
start_host mw "$WORK/mw.cnf" -W
mw_pid=$HOST_PID
client mw-good good inter
expect_served "master-worker: good client"
client mw-revoked revoked inter
expect_refused "master-worker: revoked client" 44
kill -USR2 "$mw_pid"
if wait_file_grep "Loading success" "$HOST_LOG" 10 "$mw_pid"; then
    for ((i = 0; i < 100; i++)); do
        [[ $(count "Loading success" "$HOST_LOG") -ge 2 ]] && break
        sleep 0.1
    done
fi
expect_true "reload: HAProxy loaded the configuration again" test \
    "$(count "Loading success" "$HOST_LOG")" -ge 2
expect_maps "reload: domainsec.so is in the re-executed master" \
    "$mw_pid" yes domainsec.so
client mw-revoked2 revoked inter
expect_refused "after the reload: revoked client" 44
client mw-good2 good inter
expect_served "after the reload: good client"
sleep 0.3
expect_true "master-worker: domainsec logged fatal 23 before and after" \
    test "$(count 'domainsec: fatal: error 23 at depth 0' "$HOST_LOG")" -eq 2
stop_pid "$mw_pid"

if [[ $(id -u) -eq 0 ]]; then
    echo "-- chroot and an unprivileged worker (Debian's haproxy.cfg)"
    # cache_dir owned by a group the worker runs as, mode 2770, like the
    # package's /var/cache/domainsec; the chroot has nothing in it.
    write_cnf "$WORK/jail.cnf"
    jail_cache="$WORK/cache.$CNF_SEQ"
    chgrp nogroup "$jail_cache"
    chmod 2770 "$jail_cache"
    mkdir -p "$WORK/jail"
    start_host jail "$WORK/jail.cnf" "chroot $WORK/jail" "user nobody" \
        "group nogroup"
    client jail-good good inter
    expect_served "chroot, user nobody: good client"
    client jail-revoked revoked inter
    expect_refused "chroot, user nobody: revoked client" 44
    sleep 0.3
    expect_grep "chroot: domainsec logs fatal error 23" \
        "domainsec: fatal: error 23 at depth 0: .*CN=revoked" "$HOST_LOG"
    expect_no_grep "chroot: the worker could write cache_dir" \
        "cannot write the CRL cache|cannot record verdicts" "$HOST_LOG"
    expect_true "chroot: CRLs were cached in cache_dir" test \
        "$(find "$jail_cache" -type f | wc -l)" -gt 0
    stop_pid "$HOST_PID"
fi

echo "-- the example conf/haproxy/haproxy.cfg, only its paths replaced"
# certificates, chroot, stats socket and port of the test; logs to stderr;
# group nogroup (owning this cache_dir, mode 2770) for domainsec; user
# nobody; the backend is the CRL nginx (index.html). Not root: no chroot,
# user, group.
echo "backend ok" >"$WWW/index.html"
write_cnf "$WORK/example.cnf"
ex_cache="$WORK/cache.$CNF_SEQ"
ex_port=$(free_port)
mkdir -p "$WORK/jail-ex"
ex_sed=(-e "s|/etc/haproxy/certs/server.pem|$PKI/server-bundle.pem|"
    -e "s|/etc/haproxy/client-ca.pem|$PKI/root.pem|"
    -e "s|bind :443 |bind 127.0.0.1:$ex_port |"
    -e "s|127.0.0.1:8080|127.0.0.1:$crl_port|"
    -e "s|^\tlog /dev/log\tlocal0|\tlog stderr format short local0 info|"
    -e "/^\tlog \/dev\/log/d" -e "s|/run/haproxy/|$WORK/|"
    -e "s|^\tchroot .*|\tchroot $WORK/jail-ex|" -e "s|^\tuser .*|\tuser nobody|"
    -e "s|^\tgroup domainsec|\tgroup nogroup|")
if [[ $(id -u) -eq 0 ]]; then
    chgrp nogroup "$ex_cache"
    chmod 2770 "$ex_cache"
else
    ex_sed+=(-e "/^\t\(chroot\|user\|group\) /d")
fi
sed "${ex_sed[@]}" "$DSEC_SRC/conf/haproxy/haproxy.cfg" >"$WORK/example.cfg"
run_host example-check "$WORK/example.cnf" "$HAPROXY_BIN" -c \
    -f "$WORK/example.cfg"
expect_rc "example: haproxy -c accepts it" 0
HOST_LOG="$WORK/example.log"
"${HOST_ENV[@]}" "OPENSSL_CONF=$WORK/example.cnf" "$HAPROXY_BIN" -W -db \
    -f "$WORK/example.cfg" </dev/null >"$HOST_LOG" 2>&1 &
HOST_PID=$!
track_pid "$HOST_PID"
HOST_PORT=$ex_port
wait_port "$HOST_PORT" 10 || cat "$HOST_LOG" >&2
client example-good good inter
expect_grep "example: good client: HTTP 200" "^HTTP/1\.1 200" "$OUT"
expect_grep "example: good client: the backend's answer" "^backend ok" "$OUT"
client example-revoked revoked inter
expect_refused "example: revoked client" 44
sleep 0.3
expect_grep "example: HAProxy's log names the certificate and error 23" \
    "partners~: SSL client certificate not trusted crt_err=23 ca_err=0" \
    "$HOST_LOG"
expect_grep "example: HAProxy logs the good request to app1, 200" \
    'partners~ app/app1 [0-9/]+ 200 .*"GET / HTTP/1\.0"' "$HOST_LOG"
expect_grep "example: domainsec logs fatal error 23" \
    "domainsec: fatal: error 23 at depth 0: .*CN=revoked" "$HOST_LOG"
expect_no_grep "example: the worker could write cache_dir" \
    "cannot write the CRL cache|cannot record verdicts" "$HOST_LOG"
stop_pid "$HOST_PID"

echo "-- crt-list whose line has verify, ca-file and a crl-file past nextUpdate"
pki_ossl ca -config "$PKI/ca-inter/ca.cnf" -gencrl -crlsec 1 \
    -out "$WORK/stale-crls.pem" >/dev/null 2>&1
pki_ossl crl -inform DER -in "$WWW/root.crl" >>"$WORK/stale-crls.pem"
echo "$PKI/server-bundle.pem [verify required ca-file $PKI/root.pem" \
    "crl-file $WORK/stale-crls.pem] localhost" >"$WORK/crt-list.txt"
sleep 2
HOST_BIND="ssl crt-list $WORK/crt-list.txt"
write_cnf "$WORK/list.cnf"
start_host list "$WORK/list.cnf"
client list-good good inter
expect_served "crt-list, stale crl-file: good client (CRL fetched)"
client list-revoked revoked inter
expect_refused "crt-list, stale crl-file: revoked client" 44
sleep 0.3
expect_grep "crt-list: domainsec took the revoked status from the CDP" \
    "domainsec: fatal: error 23 at depth 0: .*url=http://127\.0\.0\.1:$crl_port/inter\.crl" \
    "$HOST_LOG"
stop_pid "$HOST_PID"
start_host list-plain -
client list-plain-good good inter
expect_refused "plain OpenSSL, stale crl-file: good client refused" 45
expect_grep "plain OpenSSL, stale crl-file: HAProxy logs error 12" \
    "https~: SSL client certificate not trusted crt_err=12" "$HOST_LOG"
stop_pid "$HOST_PID"
unset HOST_BIND

echo "-- CRL server down: a fresh HAProxy (empty cache), fail_cache = 1"
stop_pid "$crl_pid"
expect_true "CRL server stopped" \
    bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$crl_port)" 2>/dev/null
write_cnf "$WORK/down.cnf" fail_cache=1
start_host down "$WORK/down.cnf"
down_pid=$HOST_PID
client down-good good inter
expect_refused "CRL server down: good client" 48
expect_grep "CRL server down: alert unknown ca" "alert unknown ca"
sleep 0.3
expect_grep "CRL server down: domainsec says transient, error 3" \
    "domainsec: transient: error 3 at depth 0: .*url=http://127\.0\.0\.1:$crl_port/" \
    "$HOST_LOG"
expect_no_grep "CRL server down: never called fatal" "domainsec: fatal" \
    "$HOST_LOG"
expect_grep "CRL server down: HAProxy logs certificate not trusted, 3" \
    "https~: SSL client certificate not trusted crt_err=3 ca_err=0" \
    "$HOST_LOG"

echo "-- CRL server back on the same port: the same HAProxy serves again"
start_nginx "$WWW" "$crl_port" crl
sleep 2
client up-good good inter
expect_served "CRL server back: good client"
client up-revoked revoked inter
expect_refused "CRL server back: revoked client" 44
expect_true "CRL server back: the same HAProxy is running" kill -0 "$down_pid"
stop_pid "$down_pid"

echo "-- control: the same HAProxy configuration without OPENSSL_CONF"
start_host plain -
expect_maps "plain OpenSSL: no domainsec.so in HAProxy" "$HOST_PID" no domainsec.so
client plain-revoked revoked inter
expect_served "plain OpenSSL: revoked client (no CRL check)"
stop_pid "$HOST_PID"
expect_no_grep "plain OpenSSL: no domainsec in the log" "domainsec" \
    "$HOST_LOG"

# stop_pid's SIGTERM makes the master report its worker's code 143
grep -hv 'exited with code 143 (Terminated)' "$WORK"/*.log \
    >"$WORK/all-hosts.log.txt"
expect_no_grep "no sanitizer report, no crashed worker" \
    "AddressSanitizer|LeakSanitizer|runtime error|exited with code [1-9]|killed by signal|\\[ALERT\\]" \
    "$WORK/all-hosts.log.txt"

finish
