#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A real, unmodified Postfix smtpd as the host: a private Postfix instance
# (its own config, queue and data directories under the work dir, never
# /etc/postfix) listens on 127.0.0.1 with STARTTLS, asks for client
# certificates and gets domainsec only through OPENSSL_CONF in
# import_environment. smtpd runs chrooted into the queue directory as user
# postfix, as Debian runs it. Plain `openssl s_client -starttls smtp` clients
# present certificates; the instance's maillog (postlogd) and domainsec's
# syslog lines (caught on the jail's dev/log, since Postfix sends daemon
# stderr to /dev/null and smtpd itself never logs the verify error number)
# are read: a good client is "Trusted", a revoked one "Untrusted" with error
# 23, a good one is "Untrusted" with error 3 while the CRL server is down
# (fresh instance and cache), a cache_dir the postfix user cannot write
# still verifies (memory cache only), and the same instance without
# OPENSSL_CONF trusts the revoked client (the control that shows domainsec
# makes the difference).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POSTFIX_BIN=$(command -v postfix || true)
if [[ -z "$POSTFIX_BIN" && -x /usr/sbin/postfix ]]; then
    POSTFIX_BIN=/usr/sbin/postfix
fi
need_bin "$POSTFIX_BIN" postfix
if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: a private Postfix instance needs root" >&2
    exit 77
fi
if ! id postfix >/dev/null 2>&1; then
    echo "SKIP: no postfix user" >&2
    exit 77
fi

# Postfix's daemons drop to the postfix user and must reach their queue and
# data directories by path: the build tree may sit below a directory they
# cannot traverse (/root), so this test works in a fresh directory of /tmp,
# linked from the build tree for the logs.
if [[ -z "${DSEC_WORK:-}" ]]; then
    DSEC_WORK=$(mktemp -d /tmp/domainsec-postfix.XXXXXX)
    chmod 755 "$DSEC_WORK"
    mkdir -p "$DSEC_BUILD/test-work"
    rm -rf "$DSEC_BUILD/test-work/postfix"
    ln -sfn "$DSEC_WORK" "$DSEC_BUILD/test-work/postfix"
fi
export DSEC_WORK
dsec_setup postfix
# import_environment and maillog_file_prefixes are lists split at blanks
# and commas
if [[ "$WORK" == *[[:space:],]* ]]; then
    echo "FATAL: work directory '$WORK' has a blank or comma" >&2
    exit 1
fi

PF_CONF="$WORK/pf-etc"
PF_QUEUE="$WORK/pf-spool"
PF_DATA="$WORK/pf-data"
PF_RUNNING=0
PF_TAG="dsectest$$"
# chroot column of master.cf: y, as Debian runs smtpd. domainsec opens its
# directories at activation (pre-jail TLS init), so it works in the jail,
# and its syslog lines go to the jail's dev/log (start_devlog).
PF_CHROOT=y

pf_master_pid() {
    local pidfile="$PF_QUEUE/pid/master.pid"
    if [[ -f "$pidfile" ]]; then
        awk '{ print $1; exit }' "$pidfile"
    fi
}

# pf_stop: stop the private instance; if `postfix stop` fails, kill only
# its master (whose process group holds the daemons it started).
pf_stop() {
    local pid i
    if [[ "$PF_RUNNING" -eq 0 ]]; then
        return 0
    fi
    PF_RUNNING=0
    pid=$(pf_master_pid)
    if ! timeout 20 "$POSTFIX_BIN" -c "$PF_CONF" stop \
        >>"$WORK/postfix-cmd.log" 2>&1; then
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
    fi
}

# shellcheck disable=SC2317 # called by the EXIT trap
pf_cleanup() {
    pf_stop || true
    dsec_cleanup
}
trap pf_cleanup EXIT

# pf_start NAME CNF: (re)start the instance on a fresh port with its log in
# $WORK/maillog-NAME, OPENSSL_CONF=CNF imported into every daemon ("-": no
# OPENSSL_CONF at all). Sets PF_PORT and MAILLOG.
pf_start() {
    local name=$1 cnf=$2 imports kv
    pf_stop
    PF_PORT=$(free_port)
    MAILLOG="$WORK/maillog-$name"
    imports="MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C"
    imports+=" POSTLOG_SERVICE POSTLOG_HOSTNAME"
    if [[ "$cnf" != "-" ]]; then
        imports+=" OPENSSL_CONF=$cnf"
        # sanitizer runtime of an ASan build for the uninstrumented daemons
        for kv in "${HOST_ENV[@]:1}"; do
            imports+=" $kv"
        done
    fi
    mkdir -p "$PF_CONF" "$PF_QUEUE" "$PF_DATA"
    chmod 755 "$PF_CONF" "$PF_QUEUE"
    chown postfix "$PF_DATA"
    chmod 700 "$PF_DATA"
    cat >"$PF_CONF/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PF_CONF
queue_directory = $PF_QUEUE
data_directory = $PF_DATA
mail_owner = postfix
setgid_group = postdrop
multi_instance_name = $PF_TAG
syslog_name = $PF_TAG
maillog_file = $MAILLOG
maillog_file_prefixes = $WORK
import_environment = $imports
myhostname = dsec-test.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
biff = no
smtpd_tls_security_level = may
smtpd_tls_cert_file = $PKI/server-chain.pem
smtpd_tls_key_file = $PKI/server.key
smtpd_tls_CAfile = $PKI/root.pem
smtpd_tls_ask_ccert = yes
smtpd_tls_loglevel = 2
smtpd_tls_session_cache_database =
tls_random_source = dev:/dev/urandom
EOF
    cat >"$PF_CONF/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - $PF_CHROOT - - smtpd
pickup    unix  n       -       $PF_CHROOT       60      1       pickup
cleanup   unix  n       -       $PF_CHROOT       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       $PF_CHROOT       1000?   1       tlsmgr
rewrite   unix  -       -       $PF_CHROOT       -       -       trivial-rewrite
bounce    unix  -       -       $PF_CHROOT       -       0       bounce
defer     unix  -       -       $PF_CHROOT       -       0       bounce
trace     unix  -       -       $PF_CHROOT       -       0       bounce
verify    unix  -       -       $PF_CHROOT       -       1       verify
flush     unix  n       -       $PF_CHROOT       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       $PF_CHROOT       -       -       showq
error     unix  -       -       $PF_CHROOT       -       -       error
retry     unix  -       -       $PF_CHROOT       -       -       error
discard   unix  -       -       $PF_CHROOT       -       -       discard
anvil     unix  -       -       $PF_CHROOT       -       1       anvil
scache    unix  -       -       $PF_CHROOT       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    if ! timeout 30 "$POSTFIX_BIN" -c "$PF_CONF" check \
        >>"$WORK/postfix-cmd.log" 2>&1; then
        echo "FATAL: postfix check failed" >&2
        cat "$WORK/postfix-cmd.log" >&2
        exit 1
    fi
    PF_RUNNING=1
    if ! timeout 30 "$POSTFIX_BIN" -c "$PF_CONF" start \
        >>"$WORK/postfix-cmd.log" 2>&1; then
        echo "FATAL: postfix start failed" >&2
        cat "$WORK/postfix-cmd.log" "$MAILLOG" >&2 || true
        exit 1
    fi
    # the probe connection of wait_port is logged before any client's
    if ! wait_port "$PF_PORT" 15 ||
        ! wait_file_grep "disconnect from" "$MAILLOG" 10; then
        cat "$WORK/postfix-cmd.log" "$MAILLOG" >&2 || true
        exit 1
    fi
}

# smtp_client NAME CERT: a plain `openssl s_client -starttls smtp` (no
# OPENSSL_CONF) presenting $PKI/CERT.pem; EHLO and QUIT once the handshake
# is done. The maillog lines of this connection are put in $OUT.log.
smtp_client() {
    local name=$1 cert=$2 before i
    before=$(wc -l <"$MAILLOG" 2>/dev/null || echo 0)
    DEVLOG_BEFORE=$(wc -l <"$DEVLOG")
    run_cmd "$name" bash -c '
        { sleep 1; printf "EHLO x\r\n"; sleep 0.5; printf "QUIT\r\n"; } |
            env -u OPENSSL_CONF "$@"' _ \
        timeout 20 "$OPENSSL_BIN" s_client -starttls smtp \
        -connect "127.0.0.1:$PF_PORT" -ign_eof \
        -cert "$PKI/$cert.pem" -key "$PKI/$cert.key" \
        -cert_chain "$PKI/inter.pem" -CAfile "$PKI/root.pem"
    # the connection's lines end with its "disconnect from"
    for ((i = 0; i < 100; i++)); do
        tail -n "+$((before + 1))" "$MAILLOG" >"$OUT.log" 2>/dev/null || true
        if grep -q "disconnect from .*starttls=" "$OUT.log"; then
            break
        fi
        sleep 0.1
    done
    tail -n "+$((DEVLOG_BEFORE + 1))" "$DEVLOG" >"$OUT.devlog"
}

# expect_devlog DESC ERE: a domainsec syslog line of the last connection
# matches ERE (waits up to 5 s for the datagram to be written).
expect_devlog() {
    local desc=$1 re=$2 i
    for ((i = 0; i < 50; i++)); do
        tail -n "+$((DEVLOG_BEFORE + 1))" "$DEVLOG" >"$OUT.devlog"
        if grep -Eq -- "$re" "$OUT.devlog"; then
            break
        fi
        sleep 0.1
    done
    expect_grep "$desc" "$re" "$OUT.devlog"
}

# start_devlog: a syslog sink on $PF_QUEUE/dev/log, which is /dev/log for
# the chrooted daemons (as Debian's rsyslog provides one in
# /var/spool/postfix/dev/log): domainsec's `log = syslog` lines of smtpd
# reach $DEVLOG. Postfix itself logs through postlogd to its maillog.
start_devlog() {
    local sock="$PF_QUEUE/dev/log" i
    DEVLOG="$WORK/devlog"
    mkdir -p "$PF_QUEUE/dev"
    chmod 755 "$PF_QUEUE" "$PF_QUEUE/dev"
    rm -f "$sock"
    : >"$DEVLOG"
    python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
' "$sock" "$DEVLOG" >"$WORK/devlog.stderr" 2>&1 &
    DEVLOG_PID=$!
    track_pid "$DEVLOG_PID"
    for ((i = 0; i < 100; i++)); do
        if [[ -S "$sock" ]]; then
            return 0
        fi
        sleep 0.1
    done
    echo "start_devlog: no socket $sock" >&2
    cat "$WORK/devlog.stderr" >&2 || true
    return 1
}

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
cat "$PKI/server.pem" "$PKI/inter.pem" >"$PKI/server-chain.pem"
start_nginx "$WWW" "$port"

# cache_dir writable by the postfix user (smtpd runs as postfix)
start_devlog
write_cnf "$WORK/smtpd.cnf" log=syslog
cache_rw="$WORK/cache.$CNF_SEQ"
chown postfix "$cache_rw"
chmod 750 "$cache_rw"

echo "-- domainsec through import_environment (smtpd chroot=$PF_CHROOT)"
pf_start domainsec "$WORK/smtpd.cnf"
smtp_client good good
expect_grep "good client: EHLO answered after STARTTLS" "^250[ -]" "$OUT"
expect_grep "good client: Trusted TLS connection" \
    "]: Trusted TLS connection established from" "$OUT.log"
expect_no_grep "good client: not Untrusted" "Untrusted TLS" "$OUT.log"
expect_no_grep "good client: no domainsec error" "domainsec: " "$OUT.devlog"

smtp_client revoked revoked
expect_grep "revoked client: Untrusted TLS connection" \
    "Untrusted TLS connection established from" "$OUT.log"
expect_no_grep "revoked client: not Trusted" "]: Trusted TLS" "$OUT.log"
expect_grep "revoked client: smtpd's verify callback saw the leaf fail" \
    "depth=0 verify=0 subject=/O=domainsec test/CN=revoked" "$OUT.log"
expect_devlog "revoked client: domainsec (in chrooted smtpd) logs error 23" \
    "domainsec: fatal: error 23 at depth 0: certificate revoked.*CN=revoked"

smtp_client good-again good
expect_grep "good client again: Trusted TLS connection" \
    "]: Trusted TLS connection established from" "$OUT.log"
expect_true "smtpd (user postfix) wrote the disk cache" \
    test -n "$(find "$cache_rw" -name '*.crl' -user postfix -print -quit)"
expect_true "smtpd (chrooted, user postfix) recorded the revoked verdict" \
    grep -qx "error=23" "$cache_rw/verdicts/c-$(pki_ossl x509 -in \
        "$PKI/revoked.pem" -outform DER | pki_ossl dgst -sha256 -r | cut -c1-64)"
expect_no_grep "no daemon crashed" \
    "(exit status|killed by signal|fatal:|panic:)" "$MAILLOG"

echo "-- cache_dir not writable by smtpd: memory cache only"
write_cnf "$WORK/smtpd-ro.cnf" log=syslog
cache_ro="$WORK/cache.$CNF_SEQ"
chown root:root "$cache_ro"
chmod 755 "$cache_ro"
pf_start readonly-cache "$WORK/smtpd-ro.cnf"
smtp_client ro-good good
expect_grep "read-only cache: good client Trusted" \
    "]: Trusted TLS connection established from" "$OUT.log"
expect_no_grep "read-only cache: good client not Untrusted" "Untrusted TLS" \
    "$OUT.log"
expect_devlog "read-only cache: domainsec says memory cache only" \
    "domainsec: cannot write the CRL cache directory.*memory cache only"
smtp_client ro-revoked revoked
expect_grep "read-only cache: revoked client Untrusted" \
    "Untrusted TLS connection established from" "$OUT.log"
expect_devlog "read-only cache: revoked client, error 23" \
    "domainsec: fatal: error 23 at depth 0: certificate revoked.*CN=revoked"
# smtpd activates domainsec as root: verdicts/ is created, and stays empty
expect_true "read-only cache: nothing written" \
    test -z "$(find "$cache_ro" -mindepth 1 ! -path "$cache_ro/verdicts" \
        -print -quit)"

echo "-- control: the same instance without OPENSSL_CONF"
pf_start control -
smtp_client control-revoked revoked
expect_grep "control: revoked client Trusted without domainsec" \
    "]: Trusted TLS connection established from" "$OUT.log"
expect_no_grep "control: not Untrusted" "Untrusted TLS" "$OUT.log"
expect_no_grep "control: no domainsec line" "domainsec: " "$OUT.devlog"

echo "-- CRL server down, fresh instance and cache: transient"
stop_nginx
write_cnf "$WORK/smtpd-down.cnf" log=syslog
cache_down="$WORK/cache.$CNF_SEQ"
chown postfix "$cache_down"
pf_start crl-down "$WORK/smtpd-down.cnf"
smtp_client down-good good
expect_grep "CRL server down: good client Untrusted" \
    "Untrusted TLS connection established from" "$OUT.log"
expect_no_grep "CRL server down: not Trusted" "]: Trusted TLS" "$OUT.log"
expect_grep "CRL server down: smtpd's verify callback saw the leaf fail" \
    "depth=0 verify=0 subject=/O=domainsec test/CN=good" "$OUT.log"
expect_devlog "CRL server down: domainsec logs transient error 3" \
    "domainsec: transient: error 3 at depth 0: unable to get certificate CRL.*CN=good"
expect_no_grep "CRL server down: nothing fatal" "domainsec: fatal" \
    "$OUT.devlog"
expect_no_grep "CRL server down: no daemon crashed" \
    "(exit status|killed by signal|fatal:|panic:)" "$MAILLOG"

pf_stop
finish
