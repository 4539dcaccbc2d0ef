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
# shellcheck source=SCRIPTDIR/lib_postfix.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_postfix.sh"

pf_setup postfix

PF_TAG=pf

# pf_start NAME CNF: (re)start the instance on a fresh port with its log in
# $WORK/maillog-NAME, OPENSSL_CONF=CNF imported into every daemon ("-": no
# OPENSSL_CONF at all). Sets PF_PORT and MAILLOG.
pf_start() {
    local name=$1 cnf=$2
    pf_stop "$PF_TAG"
    PF_PORT=$(free_port)
    MAILLOG="$WORK/maillog-$name"
    pf_main_cf "$PF_TAG" "$MAILLOG" "$cnf" \
        "myhostname = dsec-test.localdomain" \
        "smtpd_tls_security_level = may" \
        "smtpd_tls_cert_file = $PKI/server-chain.pem" \
        "smtpd_tls_key_file = $PKI/server.key" \
        "smtpd_tls_CAfile = $PKI/root.pem" \
        "smtpd_tls_ask_ccert = yes" "smtpd_tls_loglevel = 2" \
        "smtpd_tls_session_cache_database ="
    pf_master_cf "$PF_TAG" "127.0.0.1:$PF_PORT"
    pf_launch "$PF_TAG" "$PF_PORT" "$MAILLOG"
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

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
cat "$PKI/server.pem" "$PKI/inter.pem" >"$PKI/server-chain.pem"
start_nginx "$WWW" "$port"

# cache_dir writable by the postfix user (smtpd runs as postfix)
DEVLOG="$WORK/devlog"
pf_devlog "$PF_TAG" "$DEVLOG"
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

pf_stop "$PF_TAG"
finish
