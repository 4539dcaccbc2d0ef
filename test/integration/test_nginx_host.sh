#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# nginx itself as the unmodified TLS host: an HTTPS server with
# `ssl_verify_client on` whose only link to domainsec is OPENSSL_CONF in its
# environment. A good client certificate is served (verify=SUCCESS), a
# revoked one and one under a revoked intermediate get nginx's 400 "The SSL
# certificate error" with error 23 in nginx's error log, a CRL server that
# is down makes a fresh nginx refuse with error 3 (transient) and the same
# nginx accepts again once the CRL server is back (fail_cache = 1). The
# control: the same configuration without OPENSSL_CONF serves the revoked
# client. Clients are plain `openssl s_client` without domainsec.
#
# Findings this script relies on (nginx 1.22, master_process on):
# - nginx's master calls OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG) in
#   main() before it reads nginx.conf, so OPENSSL_CONF activates the
#   provider before any SSL_CTX (and its X509_STORE) exists.
# - workers need no `env OPENSSL_CONF;`: nginx rebuilds the workers'
#   environment with only TZ and the `env` directives, but the workers fork
#   from the master that already loaded the config, created the SSL_CTX and
#   hooked its store; nothing reads OPENSSL_CONF again in a worker. This
#   script deliberately has no `env` directive and still passes.
# - domainsec's `log = stderr` lines land in nginx's error log: nginx
#   dup2()s its error log onto fd 2 (ngx_log_redirect_stderr), so the
#   worker's stderr is the error log file, not the terminal. nginx's own
#   stderr is captured separately (stderr.log) and searched too.
# - run as root without a `user` directive, workers would run as nobody and
#   could not write cache_dir (domainsec then warns and caches in memory):
#   `user root;` is set when root, as lib.sh's start_nginx does.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup nginx_host
need_bin "$NGINX_BIN" nginx

# host_conf PREFIX PORT: nginx.conf of the HTTPS host in PREFIX.
host_conf() {
    local prefix=$1 port=$2
    mkdir -p "$prefix"
    cat >"$prefix/nginx.conf" <<EOF
$(nginx_conf_common "$prefix")
    default_type text/plain;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $PKI/server-chain.pem;
        ssl_certificate_key $PKI/server.key;
        ssl_verify_client on;
        ssl_client_certificate $PKI/root.pem;
        ssl_verify_depth 3;
        location / { return 200 "verify=\$ssl_client_verify\n"; }
    }
}
EOF
}

# start_host TAG CNF: the host nginx in $WORK/TAG on a fresh port, under
# OPENSSL_CONF=CNF ("-": without OPENSSL_CONF, plain OpenSSL). Sets
# HOST_PORT, HOST_PID (the master), HOST_LOG (error log, which also gets
# the workers' stderr) and HOST_STDERR (nginx's own stdout+stderr).
start_host() {
    local tag=$1 cnf=$2 prefix="$WORK/$1"
    local envs=("${HOST_ENV[@]}" "OPENSSL_CONF=$cnf")
    if [[ "$cnf" == "-" ]]; then
        envs=(env -u OPENSSL_CONF)
    fi
    HOST_PORT=$(free_port)
    host_conf "$prefix" "$HOST_PORT"
    HOST_LOG="$prefix/logs/error.log"
    HOST_STDERR="$prefix/logs/stderr.log"
    "${envs[@]}" "$NGINX_BIN" -p "$prefix" -c "$prefix/nginx.conf" \
        -e "$HOST_LOG" -g 'daemon off;' </dev/null >"$HOST_STDERR" 2>&1 &
    HOST_PID=$!
    track_pid "$HOST_PID"
    if ! wait_file_grep "start worker process" "$HOST_LOG" 10 "$HOST_PID" ||
        ! wait_port "$HOST_PORT" 10; then
        cat "$HOST_LOG" "$HOST_STDERR" >&2 || true
        return 1
    fi
}

# client NAME LEAF CHAIN: GET / from the host as a plain s_client (no
# domainsec) presenting LEAF with the intermediate CHAIN.
client() {
    local name=$1 leaf=$2 chain=$3
    s_client "$name" - "$HOST_PORT" -cert "$PKI/$leaf.pem" \
        -key "$PKI/$leaf.key" -cert_chain "$PKI/$chain.pem" \
        -CAfile "$PKI/root.pem" -verify_return_error
}

# expect_served DESC: the last response is 200 with verify=SUCCESS.
expect_served() {
    expect_grep "$1: HTTP 200" "^HTTP/1\.1 200 OK"
    expect_grep "$1: body verify=SUCCESS" "^verify=SUCCESS"
}

# expect_refused DESC: the last response is nginx's 400 certificate error.
expect_refused() {
    expect_grep "$1: HTTP 400" "^HTTP/1\.1 400 Bad Request"
    expect_grep "$1: The SSL certificate error" "The SSL certificate error"
    expect_no_grep "$1: no verify=SUCCESS" "verify=SUCCESS"
}

# both_logs: the host's error log and captured stderr, as one file.
both_logs() {
    cat "$HOST_LOG" "$HOST_STDERR" >"$WORK/$1.log"
    echo "$WORK/$1.log"
}

crl_port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$crl_port"
cat "$PKI/server.pem" "$PKI/inter.pem" >"$PKI/server-chain.pem"
start_nginx "$WWW" "$crl_port" crl
crl_pid=$NGINX_PID

echo "-- nginx host with domainsec, CRL server up"
write_cnf "$WORK/host.cnf"
start_host host "$WORK/host.cnf"
expect_maps "domainsec.so is loaded into the nginx master" "$HOST_PID" yes \
    domainsec.so
if [[ "${HOST_ENV[*]}" == *LD_PRELOAD=* ]]; then
    expect_maps "sanitizer build: libasan is preloaded into nginx" \
        "$HOST_PID" yes "$(basename "$(gcc -print-file-name=libasan.so)")"
fi

client good good inter
expect_served "good client"

client revoked revoked inter
expect_refused "revoked client"
expect_grep "revoked client: nginx logs (23:certificate revoked)" \
    "client SSL certificate verify error: \(23:certificate revoked\)" \
    "$HOST_LOG"
log=$(both_logs host-1)
expect_grep "revoked client: domainsec logs fatal error 23 at depth 0" \
    "domainsec: fatal: error 23 at depth 0: .*subject=.*CN=revoked" "$log"

client under-revoked under-revoked inter-revoked
expect_refused "client under the revoked intermediate"
log=$(both_logs host-2)
expect_grep "under revoked intermediate: error 23 at depth 1" \
    "domainsec: fatal: error 23 at depth 1: .*Revoked Intermediate" "$log"
expect_true "under revoked intermediate: nginx logged a 2nd error 23" \
    test "$(grep -c '(23:certificate revoked)' "$HOST_LOG")" -eq 2
expect_no_grep "workers could write cache_dir" \
    "cannot write the CRL cache|cache_dir .* not" "$log"
expect_true "host nginx master still running" kill -0 "$HOST_PID"
stop_pid "$HOST_PID"

echo "-- CRL server down: a fresh host nginx (empty cache), fail_cache = 1"
stop_pid "$crl_pid"
expect_true "CRL server stopped" \
    bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$crl_port)" 2>/dev/null
write_cnf "$WORK/down.cnf" fail_cache=1
start_host down "$WORK/down.cnf"
down_pid=$HOST_PID

client down-good good inter
expect_refused "CRL server down: good client"
expect_grep "CRL server down: nginx logs (3:unable to get certificate CRL)" \
    "client SSL certificate verify error: \(3:unable to get certificate CRL\)" \
    "$HOST_LOG"
log=$(both_logs down-1)
expect_grep "CRL server down: domainsec says transient, error 3" \
    "domainsec: transient: error 3 at depth [0-9]+: .*url=http://127\.0\.0\.1:$crl_port/" \
    "$log"
expect_no_grep "CRL server down: never called fatal" "domainsec: fatal" "$log"

echo "-- CRL server back on the same port: the same host nginx recovers"
start_nginx "$WWW" "$crl_port" crl
crl_lines=$(wc -l <"$NGINX_ACCESS_LOG")
sleep 2
client up-good good inter
expect_served "CRL server back: good client"
expect_true "CRL server back: the same host master is running" \
    kill -0 "$down_pid"
expect_true "CRL server back: one access log has the 400 then the 200" \
    test "$(awk '{ print $9 }' "$WORK/down/logs/access.log" | paste -sd,)" \
    = "400,200"
expect_true "CRL server back: the CRLs were fetched again" \
    test "$(wc -l <"$NGINX_ACCESS_LOG")" -gt "$crl_lines"
client up-revoked revoked inter
expect_refused "CRL server back: revoked client"
stop_pid "$down_pid"

echo "-- control: the same host configuration without OPENSSL_CONF"
start_host plain -
expect_maps "plain OpenSSL: no domainsec.so in nginx" "$HOST_PID" no \
    domainsec.so
client plain-revoked revoked inter
expect_served "plain OpenSSL: revoked client (no CRL check)"
expect_no_grep "plain OpenSSL: no domainsec in the logs" "domainsec" \
    "$(both_logs plain)"
stop_pid "$HOST_PID"

cat "$WORK"/{host,down,plain}/logs/{error,stderr}.log >"$WORK/all-hosts.log"
expect_no_grep "no sanitizer report, no crashed or failed worker" \
    "AddressSanitizer|LeakSanitizer|runtime error|exited on signal|exited with code [1-9]" \
    "$WORK/all-hosts.log"

finish
