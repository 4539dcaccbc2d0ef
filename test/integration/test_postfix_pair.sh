#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Domain security between two real, unmodified Postfix instances on
# 127.0.0.1, a sender and a receiver, each loading domainsec only through
# OPENSSL_CONF in import_environment (lib_postfix.sh: private config and
# queue under /tmp, smtpd and smtp chrooted as user postfix), both trusting
# the partners' root only through domainsec's trust_dirs (no CAfile). CRLs
# are served by nginx; the CDP of the "flaky" certificates is a second
# nginx that the test stops and starts again.
#
# Both instances take every setting of conf/postfix/main.cf, the receiver
# the policy service of conf/postfix/master.cf and conf/postfix/partners,
# the sender the policy of conf/postfix/tls_policy: as written, only their
# paths, user and domain replaced. Receiver: STARTTLS, client certificates
# asked for, SHA-256 fingerprints, `check_policy_service
# unix:private/policy` with the spawn service running `domainsec policyd` as
# nobody, sender.example a listed partner (certificate name
# mx.sender.example), cache_dir and verdicts/ set up as README.md says,
# mail for receiver.example written to one file per message by a pipe; two
# more listeners serve a revoked server certificate and one whose CRL
# server is the flaky one (outbound tests, no policy there). Sender: the
# example's `secure match=` policy for the receiver's listeners, one
# transport per client certificate (good, revoked, another name, an
# untrusted root, flaky, none) chosen per recipient by transport_maps, its
# bounces written to files too. Mail is injected with sendmail; outcomes
# are read from the sender's maillog (dsn, status, SMTP reply), its queue
# (postqueue -p), the receiver's maillog (TLS verdict, the RCPT reject, the
# policy's answer in smtpd's verbose log of the policy protocol for
# debug_peer_list), domainsec's syslog lines from each jail, and the files
# delivered.
#
# Scenarios, each asserting the SMTP reply and the queue/mail outcome:
#   inbound  good partner certificate -> delivered, Trusted, policy DUNNO
#            revoked -> 554 5.7.1 at RCPT, bounced
#            partner's CRL server down -> 450 4.7.5, kept queued;
#            CRL server back, postqueue -f -> delivered
#            listed partner without certificate / with a certificate for
#            another name / from an untrusted root -> 554 5.7.1, bounced
#            unlisted sender without certificate -> delivered
#   outbound server certificate revoked -> deferred (4.7.5, with the
#            reason), stays queued; its CRL server down -> deferred; back,
#            postqueue -f -> delivered
#   doctor   `domainsec doctor --postfix` on the receiver: all OK; on
#            copies with digest md5 and no policy restriction, the policy
#            service run as the mail owner, a verdicts/ without
#            set-group-ID: the FAIL line, exit 78
# The closing summary lists each scenario's delivery status and the
# sender's queue. Until `domainsec policyd` exists (`domainsec policyd
# --help` fails), the inbound scenarios cannot run: everything else runs,
# the scenarios not reached are listed, and the test fails.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/lib_postfix.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_postfix.sh"

pf_setup postfix_pair
need_bin "$PF_SBIN/sendmail" "Postfix sendmail"
need_bin "$PF_SBIN/postqueue" postqueue
# spawn(8) and pipe(8) refuse root and the mail owner: the policy service
# and the mailbox pipes run as nobody, whose primary group reads verdicts/
POLICY_USER=nobody
if ! POLICY_GROUP=$(id -gn "$POLICY_USER" 2>/dev/null); then
    echo "SKIP: no user $POLICY_USER" >&2
    exit 77
fi
HAVE_POLICYD=1
if ! "$CLI" policyd --help >/dev/null 2>&1; then
    HAVE_POLICYD=0
    echo "note: '$CLI policyd --help' fails: no policy service yet, the" \
        "inbound scenarios are not run"
fi
NOT_REACHED=()

# The CLI and the module, where nobody can reach them (the build tree may
# be below /root).
mkdir -p "$WORK/bin"
cp "$CLI" "$WORK/bin/domainsec"
cp "$MODULE" "$WORK/bin/domainsec.so"
MODULE="$WORK/bin/domainsec.so"
PCLI="$WORK/bin/domainsec"

echo "-- PKI, CRL servers"
crl_port=$(free_port)
flaky_port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$crl_port"
FLAKY_CDP="http://127.0.0.1:$flaky_port/inter.crl"

# mx_cert NAME DNS CDP [ISSUER]: a leaf for the name DNS and NAME-chain.pem
# (leaf and issuer, as a server or client sends them).
mx_cert() {
    local name=$1 dns=$2 cdp=$3 issuer=${4:-inter}
    LEAF_SAN="DNS:$dns" make_leaf "$name" "$cdp" "$issuer"
    cat "$PKI/$name.pem" "$PKI/$issuer.pem" >"$PKI/$name-chain.pem"
}
mx_cert mx-sender mx.sender.example "$CDP_BASE/inter.crl"
mx_cert mx-sender-revoked mx.sender.example "$CDP_BASE/inter.crl"
mx_cert mx-other mx.other.example "$CDP_BASE/inter.crl"
mx_cert mx-sender-flaky mx.sender.example "$FLAKY_CDP"
issue evil-root "/O=elsewhere/CN=Untrusted Root CA" root self
mx_cert mx-sender-evil mx.sender.example "$CDP_BASE/evil.crl" evil-root
mx_cert mx-receiver mx.receiver.example "$CDP_BASE/inter.crl"
mx_cert mx-receiver-revoked mx.receiver.example "$CDP_BASE/inter.crl"
mx_cert mx-receiver-flaky mx.receiver.example "$FLAKY_CDP"
revoke mx-sender-revoked inter
revoke mx-receiver-revoked inter
publish_crls
mkdir -p "$WORK/www-flaky"
cp "$WWW/inter.crl" "$WORK/www-flaky/"
start_nginx "$WWW" "$crl_port" nginx
start_nginx "$WORK/www-flaky" "$flaky_port" nginx-flaky
FLAKY_PID=$NGINX_PID

# deliver.sh DIR RECIPIENT: the mailbox of both instances, one file per
# message (run by pipe(8) as nobody)
cat >"$WORK/deliver.sh" <<'EOF'
#!/bin/sh
umask 022
f=$(mktemp "$1/$2.XXXXXX") && cat >"$f"
EOF
chmod 755 "$WORK/deliver.sh"
mkdir -p "$WORK/mail-receiver" "$WORK/mail-sender"
chown "$POLICY_USER" "$WORK/mail-receiver" "$WORK/mail-sender"

# The examples of conf/postfix, with their paths and user replaced by the
# test's (nothing else changed): EXAMPLES is that directory.
EXAMPLES="$DSEC_SRC/conf/postfix"

# example_main INST CNF CERT: every setting of the example main.cf on the
# instance (postconf -e), OPENSSL_CONF=CNF (plus the sanitizer runtime of
# an ASan build), CERT's certificate and key, its tls_policy.
example_main() {
    local inst=$1 cnf=$2 cert=$3 extra="" kv settings=()
    for kv in "${HOST_ENV[@]:1}"; do
        extra+=" $kv"
    done
    mapfile -t settings < <(grep -E '^[a-z_]+ = ' "$EXAMPLES/main.cf" | sed \
        -e "s|OPENSSL_CONF=/etc/postfix/domainsec.cnf|OPENSSL_CONF=$cnf$extra|" \
        -e "s|/etc/postfix/tls/mx-chain.pem|$PKI/$cert-chain.pem|" \
        -e "s|/etc/postfix/tls/mx.key|$PKI/$cert.key|" \
        -e "s|/etc/postfix/tls_policy|$(pf_conf "$inst")/tls_policy|")
    pf_postconf "$inst" -e "${settings[@]}"
    pf_postconf "$inst" -n >"$WORK/$inst-postconf-n.txt" \
        2>>"$WORK/postfix-cmd.log"
    expect_no_grep "$inst: the example main.cf, every path relocated" \
        "[ =:,]/etc/" "$WORK/$inst-postconf-n.txt"
}

echo "-- receiver"
R_PORT=$(free_port)
R_PORT_REVOKED=$(free_port)
R_PORT_FLAKY=$(free_port)
RLOG="$WORK/maillog-receiver"
RDEVLOG="$WORK/devlog-receiver"
RCNF="$WORK/receiver.cnf"
# the partners' root is trusted through domainsec only (no CAfile)
mkdir -p "$WORK/roots"
cp "$PKI/root.pem" "$WORK/roots/"
write_cnf "$RCNF" log=syslog fail_cache=0 "trust_dirs=$WORK/roots" \
    "cross_dirs="
# README, "Domain security with Postfix": cache_dir and verdicts/ written
# by postfix, read through the policy service user's primary group
R_CACHE="$WORK/cache.$CNF_SEQ"
install -d -o postfix -g "$POLICY_GROUP" -m 2750 "$R_CACHE" \
    "$R_CACHE/verdicts"
sed 's/partner\.example/sender.example/g' "$EXAMPLES/partners" \
    >"$WORK/partners"
chmod 644 "$WORK/partners" "$RCNF"
pf_main_cf receiver "$RLOG" "$RCNF" \
    "myhostname = mx.receiver.example" \
    "mydestination = receiver.example" "local_transport = mbox" \
    "smtpd_tls_session_cache_database =" \
    "smtpd_tls_session_cache_timeout = 0" \
    "debug_peer_list = 127.0.0.1"
pf_master_cf receiver "127.0.0.1:$R_PORT"
rconf=$(pf_conf receiver)
# the listeners of the outbound tests (another server certificate, no
# policy service: the sender's verification is what they test), the
# mailbox, and the example's policy service
{
    for l in "$R_PORT_REVOKED mx-receiver-revoked" \
        "$R_PORT_FLAKY mx-receiver-flaky"; do
        read -r port cert <<<"$l"
        echo "127.0.0.1:$port inet n - $PF_CHROOT - - smtpd" \
            "-o smtpd_tls_cert_file=$PKI/$cert-chain.pem" \
            "-o smtpd_tls_key_file=$PKI/$cert.key" \
            "-o smtpd_recipient_restrictions="
    done
    echo "mbox unix - n n - - pipe user=$POLICY_USER" \
        "argv=$WORK/deliver.sh $WORK/mail-receiver \${recipient}"
    grep -E '^[a-z]' "$EXAMPLES/master.cf" | sed \
        -e "s|user=domainsec|user=$POLICY_USER|" \
        -e "s|/usr/local/bin/domainsec|$PCLI|" \
        -e "s|/etc/postfix/domainsec.cnf|$RCNF|" \
        -e "s|/etc/domainsec/partners|$WORK/partners|"
} >>"$rconf/master.cf"
expect_no_grep "receiver: the example master.cf, every path relocated" \
    "[ =:,](/etc/|/usr/local/)" "$rconf/master.cf"
example_main receiver "$RCNF" mx-receiver
pf_devlog receiver "$RDEVLOG"
pf_launch receiver "$R_PORT" "$RLOG"

echo "-- domainsec doctor --postfix"
# doctor_postfix NAME DIR: `domainsec doctor --postfix` on the instance
# whose configuration directory is DIR, its OpenSSL configuration found
# through postconf.
doctor_postfix() {
    run_cmd "$1" env -u OPENSSL_CONF "$CLI" doctor --postfix \
        --postfix-config "$2"
}
doctor_postfix doctor-receiver "$rconf"
expect_rc "doctor --postfix, receiver: exit 0" 0
expect_no_grep "doctor --postfix, receiver: no FAIL" "^FAIL"
expect_grep "doctor: postconf answers, mail owner" \
    "^OK   postfix: Postfix [0-9.]+ \\(postconf -c $rconf\\), mail_owner postfix"
expect_grep "doctor: checks the configuration smtpd loads" \
    "^OK   configuration: $RCNF parses"
expect_grep "doctor: OPENSSL_CONF reaches smtpd and smtp" \
    "^OK   postfix OpenSSL configuration: its [0-9]+ smtpd and smtp services load $RCNF \\(OPENSSL_CONF=$RCNF in import_environment\\)"
expect_grep "doctor: digest sha256" \
    "^OK   postfix smtpd_tls_fingerprint_digest = sha256"
expect_grep "doctor: client certificates asked for" \
    "^OK   postfix client certificates: smtpd_tls_ask_ccert = yes"
expect_grep "doctor: the policy restriction, on the partner listener" \
    "^OK   postfix restriction: check_policy_service unix:private/policy in smtpd_recipient_restrictions \\(main\\.cf\\), on 1 of 3 smtpd service"
expect_grep "doctor: names the listeners without it" \
    "^INFO postfix restriction: not on 127\\.0\\.0\\.1:$R_PORT_REVOKED/inet, 127\\.0\\.0\\.1:$R_PORT_FLAKY/inet"
expect_grep "doctor: the spawn service runs domainsec policyd as nobody" \
    "^OK   postfix policy service unix:private/policy: spawn runs $PCLI policyd --config $RCNF --domains $WORK/partners as $POLICY_USER \\(group $POLICY_GROUP\\), reading $RCNF"
expect_grep "doctor: verdicts written by postfix, read by the policy user" \
    "^OK   postfix verdicts $R_CACHE/verdicts: written by postfix, read by the policy service as $POLICY_USER through group $POLICY_GROUP \\(owner postfix, group $POLICY_GROUP, mode 2750\\)"

# receiver_copy NAME name=value...: a copy of the receiver's configuration
# directory with these main.cf settings; BAD is its directory.
receiver_copy() {
    BAD="$WORK/$1-etc"
    shift
    rm -rf "$BAD"
    cp -a "$rconf" "$BAD"
    "$PF_SBIN/postconf" -c "$BAD" -e "$@"
}
receiver_copy bad-digest "smtpd_tls_fingerprint_digest = md5" \
    "smtpd_recipient_restrictions ="
doctor_postfix doctor-bad-digest "$BAD"
expect_rc "doctor --postfix, digest md5 and no restriction: exit 78" 78
expect_grep "doctor: FAIL for the md5 digest" \
    "^FAIL postfix smtpd_tls_fingerprint_digest = md5 \\(main\\.cf\\).*fix: smtpd_tls_fingerprint_digest = sha256"
expect_grep "doctor: FAIL for the missing restriction" \
    "^FAIL postfix restriction: no check_policy_service in the smtpd_\\*_restrictions of its 3 smtpd service"
receiver_copy bad-user "mail_owner = postfix"
sed -i "s/spawn user=$POLICY_USER /spawn user=postfix /" "$BAD/master.cf"
doctor_postfix doctor-bad-user "$BAD"
expect_rc "doctor --postfix, policy service as the mail owner: exit 78" 78
expect_grep "doctor: FAIL, spawn refuses the mail owner" \
    "^FAIL postfix policy service unix:private/policy: user=postfix runs as the mail owner or its group, which spawn refuses"
write_cnf "$WORK/bad-verdicts.cnf" log=syslog "trust_dirs=$WORK/roots" \
    "cross_dirs="
install -d -o postfix -g "$POLICY_GROUP" -m 750 "$WORK/cache.$CNF_SEQ" \
    "$WORK/cache.$CNF_SEQ/verdicts"
receiver_copy bad-verdicts \
    "import_environment = MAIL_CONFIG OPENSSL_CONF=$WORK/bad-verdicts.cnf"
sed -i "s|--config $RCNF |--config $WORK/bad-verdicts.cnf |" "$BAD/master.cf"
doctor_postfix doctor-bad-verdicts "$BAD"
expect_rc "doctor --postfix, verdicts/ not set-group-ID: exit 78" 78
expect_grep "doctor: FAIL, records would not be readable by the policy user" \
    "^FAIL postfix verdicts $WORK/cache\\.$CNF_SEQ/verdicts: records are written 0640 .*fix: chgrp $POLICY_GROUP .* chmod 2750"

write_cnf "$WORK/fresh.cnf" log=syslog "trust_dirs=$WORK/roots" "cross_dirs="
install -d -o postfix -g "$POLICY_GROUP" -m 2750 "$WORK/cache.$CNF_SEQ"
receiver_copy fresh "import_environment = MAIL_CONFIG OPENSSL_CONF=$WORK/fresh.cnf"
sed -i "s|--config $RCNF |--config $WORK/fresh.cnf |" "$BAD/master.cf"
doctor_postfix doctor-fresh "$BAD"
expect_rc "doctor --postfix, a cache_dir without verdicts/ yet: exit 0" 0
expect_grep "doctor: a cache_dir without verdicts/ yet is judged by its own" \
    "^OK   postfix verdicts $WORK/cache\\.$CNF_SEQ(/verdicts)?: written by postfix, read by the policy service as $POLICY_USER through group $POLICY_GROUP"

echo "-- sender"
SLOG="$WORK/maillog-sender"
SDEVLOG="$WORK/devlog-sender"
SCNF="$WORK/sender.cnf"
write_cnf "$SCNF" log=syslog fail_cache=0 "trust_dirs=$WORK/roots" \
    "cross_dirs="
chown postfix "$WORK/cache.$CNF_SEQ"
chmod 750 "$WORK/cache.$CNF_SEQ"
S_PORT=$(free_port)
sconf=$(pf_conf sender)
pf_main_cf sender "$SLOG" "$SCNF" \
    "myhostname = mx.sender.example" \
    "mydestination = sender.example" "local_transport = mbox" \
    "transport_maps = texthash:$sconf/transport" \
    "smtp_tls_session_cache_database =" \
    "smtp_connection_cache_on_demand = no" \
    "queue_run_delay = 20s" "minimal_backoff_time = 20s" \
    "maximal_backoff_time = 40s"
pf_master_cf sender "127.0.0.1:$S_PORT"
{
    echo "smtp unix - - $PF_CHROOT - - smtp"
    for t in "revoked mx-sender-revoked" "other mx-other" \
        "flaky mx-sender-flaky" "evil mx-sender-evil"; do
        read -r name cert <<<"$t"
        echo "s-$name unix - - $PF_CHROOT - - smtp" \
            "-o smtp_tls_cert_file=$PKI/$cert-chain.pem" \
            "-o smtp_tls_key_file=$PKI/$cert.key"
    done
    echo "s-nocert unix - - $PF_CHROOT - - smtp" \
        "-o smtp_tls_cert_file= -o smtp_tls_key_file="
    echo "mbox unix - n n - - pipe user=$POLICY_USER" \
        "argv=$WORK/deliver.sh $WORK/mail-sender \${recipient}"
} >>"$sconf/master.cf"
example_main sender "$SCNF" mx-sender
to_r="[127.0.0.1]:$R_PORT"
cat >"$sconf/transport" <<EOF
good@receiver.example smtp:$to_r
revoked@receiver.example s-revoked:$to_r
other@receiver.example s-other:$to_r
flaky@receiver.example s-flaky:$to_r
untrusted@receiver.example s-evil:$to_r
nocert@receiver.example s-nocert:$to_r
unlisted@receiver.example s-nocert:$to_r
out-revoked@receiver.example smtp:[127.0.0.1]:$R_PORT_REVOKED
out-flaky@receiver.example smtp:[127.0.0.1]:$R_PORT_FLAKY
EOF
# the example's policy for partner.example, keyed by the receiver's
# listeners (the next hops of transport_maps here; in production the key is
# the partner's domain)
policy=$(awk '$1 == "partner.example" { $1 = ""; print; exit }' \
    "$EXAMPLES/tls_policy" | sed 's/partner\.example/receiver.example/g')
expect_true "the example tls_policy: secure, match=mx.receiver.example" \
    test "$policy" = " secure match=mx.receiver.example"
for port in "$R_PORT" "$R_PORT_REVOKED" "$R_PORT_FLAKY"; do
    echo "[127.0.0.1]:$port$policy"
done >"$sconf/tls_policy"
"$PF_SBIN/postmap" -c "$sconf" "hash:$sconf/tls_policy"
pf_devlog sender "$SDEVLOG"
pf_launch sender "$S_PORT" "$SLOG"

# ------------------------------------------------------------- scenarios

# log_mark: remember where each log ends, for log_since.
log_mark() {
    local f
    MARKS=()
    for f in "$SLOG" "$RLOG" "$SDEVLOG" "$RDEVLOG"; do
        MARKS+=("$(wc -l <"$f" 2>/dev/null || echo 0)")
    done
}

# log_since NAME: the lines each log got since log_mark, into
# NAME.sender, NAME.receiver, NAME.sender-devlog, NAME.receiver-devlog.
log_since() {
    local name=$1 i=0 f
    for f in sender receiver sender-devlog receiver-devlog; do
        local src
        case "$f" in
        sender) src=$SLOG ;;
        receiver) src=$RLOG ;;
        sender-devlog) src=$SDEVLOG ;;
        receiver-devlog) src=$RDEVLOG ;;
        esac
        tail -n "+$((MARKS[i] + 1))" "$src" >"$WORK/$name.$f" 2>/dev/null ||
            : >"$WORK/$name.$f"
        i=$((i + 1))
    done
}

# await NAME RCPT...: wait (60 s at most) until the sender's maillog has a
# delivery status for each RCPT since log_mark, and the receiver's smtpd
# has logged its disconnect; the new lines are in NAME.* (log_since), OUT
# is NAME.sender.
await() {
    local name=$1 i rcpt all
    shift
    for ((i = 0; i < 600; i++)); do
        log_since "$name"
        all=1
        for rcpt in "$@"; do
            if ! grep -q "to=<$rcpt>.*status=" "$WORK/$name.sender"; then
                all=0
            fi
        done
        if [[ "$all" -eq 1 ]]; then
            break
        fi
        sleep 0.1
    done
    # the receiver's lines of the session end with its disconnect
    for ((i = 0; i < 50; i++)); do
        if grep -q "disconnect from" "$WORK/$name.receiver"; then
            break
        fi
        sleep 0.1
        log_since "$name"
    done
    OUT="$WORK/$name.sender"
}

# send_mail NAME FROM RCPT: one message injected into the sender with its
# sendmail, then await NAME RCPT.
send_mail() {
    local name=$1 from=$2 rcpt=$3
    log_mark
    printf 'From: <%s>\nTo: <%s>\nSubject: %s\n\nscenario %s\n' \
        "$from" "$rcpt" "$name" "$name" |
        "$PF_SBIN/sendmail" -C "$sconf" -f "$from" -- "$rcpt"
    await "$name" "$rcpt"
}

# queue NAME: the sender's queue (postqueue -p) into NAME.queue.
queue() {
    "$PF_SBIN/postqueue" -c "$sconf" -p >"$WORK/$1.queue" 2>&1 || true
}

# queued_with NAME RCPT REASON: NAME.queue (postqueue -p) lists RCPT, with
# REASON on the line before it (where postqueue -p gives the last reason).
# shellcheck disable=SC2317 # called through expect_true
queued_with() {
    grep -B1 -E "^[[:space:]]+${2//./\\.}\$" "$WORK/$1.queue" |
        grep -qF -- "$3"
}

# note NAME RCPT: keep the sender's last delivery status of RCPT in
# NAME.sender (dsn, status and the reply), for the closing summary.
NOTES=()
note() {
    local st
    st=$(grep "to=<$2>.*status=" "$WORK/$1.sender" | tail -n 1 |
        sed -n 's/.*\(dsn=.*\)$/\1/p')
    NOTES+=("$1: <$2> ${st:-no delivery status}")
}

# delivered RCPT / not_delivered RCPT: whether the receiver's mailbox has
# a message for RCPT.
# shellcheck disable=SC2317 # called through expect_true
delivered() {
    compgen -G "$WORK/mail-receiver/$1.*" >/dev/null
}

# shellcheck disable=SC2317 # called through expect_true
not_delivered() {
    ! delivered "$1"
}

# await_mailbox RCPT: wait (10 s at most) for delivered RCPT.
# shellcheck disable=SC2317 # called through expect_true
await_mailbox() {
    local i
    for ((i = 0; i < 100; i++)); do
        if delivered "$1"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# policy_answered NAME ACTION: the receiver's smtpd read ACTION from the
# policy service (its verbose log of the policy protocol, debug_peer_list).
# shellcheck disable=SC2317 # called through expect_true
policy_answered() {
    # per smtpd process: several sessions' lines may interleave
    awk -v want="$2" '
        match($0, /smtpd\[[0-9]+\]: /) {
            pid = substr($0, RSTART, RLENGTH)
            if (index($0, "private/policy: wanted attribute: action")) {
                asked[pid] = 1
            } else if (asked[pid] && index($0, "input attribute value: ")) {
                if (substr($0, index($0, "input attribute value: ") + 23) == want) {
                    found = 1
                }
                asked[pid] = 0
            }
        }
        END { exit !found }' "$WORK/$1.receiver"
}

# await_bounce RCPT: wait (10 s at most) for the sender's non-delivery
# notification about RCPT in its own mailbox; BOUNCE is that file.
# shellcheck disable=SC2317 # called through expect_true
await_bounce() {
    local i
    BOUNCE=""
    for ((i = 0; i < 100; i++)); do
        BOUNCE=$(grep -l "Final-Recipient: rfc822; $1" \
            "$WORK/mail-sender/"* 2>/dev/null | head -n 1 || true)
        if [[ -n "$BOUNCE" ]]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# inbound NAME FROM RCPT WANT TLS [TEXT]: one inbound scenario, mail from
# FROM to RCPT through the sender. TLS: what the receiver's smtpd says of
# the client (Trusted, Untrusted, Anonymous). WANT: delivered (policy
# DUNNO, sent, in the mailbox); rejected (554 5.7.1 TEXT at RCPT, bounced
# by the sender with a notification, not queued); deferred (450 4.7.5 TEXT
# at RCPT, kept in the sender's queue). Without the policy service the
# scenario is only listed in NOT_REACHED.
inbound() {
    local name=$1 from=$2 rcpt=$3 want=$4 tls=$5 text=${6:-} re
    if [[ "$HAVE_POLICYD" -eq 0 ]]; then
        case "$want" in
        delivered) want="DUNNO, 250, delivered" ;;
        rejected) want="554 5.7.1 at RCPT, bounced, not queued" ;;
        deferred) want="450 4.7.5 at RCPT, kept in the queue" ;;
        esac
        NOT_REACHED+=("$name: <$from> to <$rcpt>: $want ($tls TLS)")
        return 0
    fi
    re=${rcpt//./\\.}
    send_mail "$name" "$from" "$rcpt"
    note "$name" "$rcpt"
    expect_grep "$name: receiver: $tls TLS connection" \
        "]: $tls TLS connection established from" "$WORK/$name.receiver"
    queue "$name"
    case "$want" in
    delivered)
        expect_true "$name: the policy service answered DUNNO" \
            policy_answered "$name" DUNNO
        expect_grep "$name: sent (250 2.0.0)" \
            "to=<$re>.*dsn=2\\.0\\.0, status=sent \\(250 2\\.0\\.0 "
        expect_true "$name: in the receiver's mailbox" await_mailbox "$rcpt"
        expect_no_grep "$name: not queued" "(^|[[:space:]])$re" \
            "$WORK/$name.queue"
        ;;
    rejected)
        expect_grep "$name: 554 5.7.1 at RCPT" \
            "NOQUEUE: reject: RCPT from [^ ]+: 554 5\\.7\\.1 <$re>: Recipient address rejected: $text" \
            "$WORK/$name.receiver"
        expect_grep "$name: the sender bounces it (dsn 5.7.1)" \
            "to=<$re>.*dsn=5\\.7\\.1, status=bounced \\(host 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\] said: 554 5\\.7\\.1 "
        expect_true "$name: non-delivery notification to <$from>" \
            await_bounce "$rcpt"
        if [[ -n "$BOUNCE" ]]; then
            expect_grep "$name: the notification says 5.7.1" \
                "^Status: 5\\.7\\.1" "$BOUNCE"
        fi
        expect_no_grep "$name: not queued" "(^|[[:space:]])$re" \
            "$WORK/$name.queue"
        expect_true "$name: not delivered" not_delivered "$rcpt"
        ;;
    deferred)
        expect_grep "$name: 450 4.7.5 at RCPT" \
            "NOQUEUE: reject: RCPT from [^ ]+: 450 4\\.7\\.5 <$re>: Recipient address rejected: $text" \
            "$WORK/$name.receiver"
        expect_grep "$name: the sender defers it (dsn 4.7.5)" \
            "to=<$re>.*dsn=4\\.7\\.5, status=deferred \\(host 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\] said: 450 4\\.7\\.5 "
        expect_true "$name: kept in the sender's queue, with the reply" \
            queued_with "$name" "$rcpt" "said: 450 4.7.5 "
        expect_true "$name: not delivered" not_delivered "$rcpt"
        ;;
    esac
}

echo "-- CRL server of the flaky certificates: down"
stop_pid "$FLAKY_PID"

# outbound NAME RCPT PORT WHY DEVLOG: mail to RCPT goes to the receiver's
# listener on PORT, whose server certificate does not verify: the sender
# defers it (dsn 4.7.5, "Server certificate not verified"), smtp's maillog
# says WHY, the chrooted smtp's domainsec line matches DEVLOG, and the mail
# stays in the queue with the reason, undelivered.
outbound() {
    local name=$1 rcpt=$2 port=$3 why=$4 devlog=$5 re=${2//./\\.}
    send_mail "$name" a@sender.example "$rcpt"
    note "$name" "$rcpt"
    expect_grep "$name: deferred, dsn 4.7.5, server certificate not verified" \
        "to=<$re>.*dsn=4\\.7\\.5, status=deferred \\(Server certificate not verified\\)"
    expect_grep "$name: smtp logs why ($why)" \
        "server certificate verification failed for 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:$port: num=[0-9]+:$why"
    expect_grep "$name: domainsec in the chrooted smtp" "domainsec: $devlog" \
        "$WORK/$name.sender-devlog"
    queue "$name"
    expect_true "$name: kept in the sender's queue, with the reason" \
        queued_with "$name" "$rcpt" "Server certificate not verified"
    expect_true "$name: not delivered" not_delivered "$rcpt"
}

echo "-- outbound: the partner's server certificate is revoked"
outbound out-revoked out-revoked@receiver.example "$R_PORT_REVOKED" \
    "certificate revoked" \
    "fatal: error 23 at depth 0: certificate revoked.*CN=mx-receiver-revoked"

echo "-- outbound: the partner's CRL server is down"
outbound out-flaky out-flaky@receiver.example "$R_PORT_FLAKY" \
    "unable to get certificate CRL" \
    "transient: error 3 at depth 0: unable to get certificate CRL.*CN=mx-receiver-flaky"

echo "-- inbound: partner certificates presented to the receiver"
inbound good a@sender.example good@receiver.example delivered Trusted
inbound revoked a@sender.example revoked@receiver.example rejected \
    Untrusted ".*certificate revoked"
if [[ "$HAVE_POLICYD" -eq 1 ]]; then
    expect_grep "revoked: domainsec in the chrooted smtpd: error 23" \
        "domainsec: fatal: error 23 at depth 0: certificate revoked.*CN=mx-sender-revoked" \
        "$WORK/revoked.receiver-devlog"
fi
inbound nocert a@sender.example nocert@receiver.example rejected \
    Anonymous "domain-secured partner must present a valid certificate"
inbound other-name a@sender.example other@receiver.example rejected \
    Trusted ".+"
inbound untrusted-root a@sender.example untrusted@receiver.example \
    rejected Untrusted ".+"
inbound unlisted someone@unlisted.example unlisted@receiver.example \
    delivered Anonymous
inbound flaky a@sender.example flaky@receiver.example deferred Untrusted \
    "revocation status unavailable, try again later"
if [[ "$HAVE_POLICYD" -eq 1 ]]; then
    expect_grep "flaky: domainsec in the chrooted smtpd: transient, error 3" \
        "domainsec: transient: error 3 at depth 0: unable to get certificate CRL.*CN=mx-sender-flaky" \
        "$WORK/flaky.receiver-devlog"
fi

echo "-- CRL server of the flaky certificates: back, postqueue -f"
start_nginx "$WORK/www-flaky" "$flaky_port" nginx-flaky
log_mark
"$PF_SBIN/postqueue" -c "$sconf" -f
flushed=(out-flaky@receiver.example)
if [[ "$HAVE_POLICYD" -eq 1 ]]; then
    flushed+=(flaky@receiver.example)
fi
await flush "${flushed[@]}"
note flush out-flaky@receiver.example
expect_grep "out-flaky after flush: sent" \
    "to=<out-flaky@receiver\\.example>.*dsn=2\\.0\\.0, status=sent \\(250 2\\.0\\.0"
expect_grep "out-flaky after flush: Verified TLS connection" \
    "Verified TLS connection established to 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:$R_PORT_FLAKY"
expect_true "out-flaky after flush: in the receiver's mailbox" \
    await_mailbox out-flaky@receiver.example
queue flush
expect_no_grep "out-flaky after flush: no longer queued" \
    "out-flaky@receiver\\.example" "$WORK/flush.queue"
expect_true "out-revoked after flush: still queued, with the reason" \
    queued_with flush out-revoked@receiver.example \
    "Server certificate not verified"
if [[ "$HAVE_POLICYD" -eq 1 ]]; then
    note flush flaky@receiver.example
    expect_grep "flaky after flush: sent (250 2.0.0)" \
        "to=<flaky@receiver\\.example>.*dsn=2\\.0\\.0, status=sent \\(250 2\\.0\\.0"
    expect_true "flaky after flush: the policy service answered DUNNO" \
        policy_answered flush DUNNO
    expect_true "flaky after flush: in the receiver's mailbox" \
        await_mailbox flaky@receiver.example
    expect_no_grep "flaky after flush: no longer queued" \
        "(^|[[:space:]])flaky@receiver\\.example" "$WORK/flush.queue"
else
    NOT_REACHED+=("flaky after flush: DUNNO, 250, delivered, no longer queued")
fi

expect_no_grep "sender: no daemon crashed" \
    "(exit status|killed by signal|fatal:|panic:)" "$SLOG"
expect_no_grep "receiver: no daemon crashed" \
    "(exit status|killed by signal|fatal:|panic:)" "$RLOG"

echo "-- summary: each scenario's delivery status at the sender"
printf '  %s\n' "${NOTES[@]}"
queue final
echo "-- the sender's queue at the end"
sed 's/^/  /' "$WORK/final.queue"
pf_stop sender
pf_stop receiver
if [[ ${#NOT_REACHED[@]} -gt 0 ]]; then
    echo "-- NOT REACHED: no 'domainsec policyd' in $CLI"
    printf '  %s\n' "${NOT_REACHED[@]}"
    echo "$PASS_COUNT passed, $FAIL_COUNT failed, ${#NOT_REACHED[@]} scenarios not reached"
    exit 1
fi
finish
