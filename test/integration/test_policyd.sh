#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Verdict records and `domainsec policyd`. An unmodified `openssl s_server
# -verify` with domainsec (CRLs served by a real nginx) verifies client
# certificates and records each verdict in cache_dir/verdicts/: good ->
# valid, revoked -> fatal 23, CRL server down -> transient 3, untrusted
# root -> fatal 20; `openssl verify` records too, and a record expires
# after verdict_ttl. Then `domainsec policyd` answers Postfix policy
# requests for them, on stdin/stdout and on --listen unix: (and tcp:),
# exactly as specified: per certificate fingerprint or public key
# fingerprint (Postfix's colon form), per-partner enforcement (--domains:
# no certificate, name mismatch, wildcard, transient, no record) and
# unlisted senders under --unlisted enforce and pass. It is fed garbage, a
# huge attribute list, a line without '=', a 1 MB line, a request over 64
# KiB and abrupt disconnects mid-request: it answers or closes cleanly and
# serves the next request; idle connections are closed, SIGTERM stops it.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup policyd
CLIENT=(python3 "$DSEC_LIB_DIR/policy_client.py")

port=$(free_port)
dead=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
start_nginx "$WWW" "$port"
# a leaf whose CRL server is down, one of a root nobody trusts, and one
# whose only DNS name is a wildcard
make_leaf down "http://127.0.0.1:$dead/inter.crl"
issue stranger-root "/O=elsewhere/CN=Stranger Root" root self
make_leaf stranger "" stranger-root
make_leaf wild "http://127.0.0.1:$port/inter.crl"
ext_file "$PKI/wild.ext" leaf "http://127.0.0.1:$port/inter.crl"
sed -i 's/^subjectAltName = .*/subjectAltName = DNS:*.partner.example/' \
    "$PKI/wild.ext"
pki_ossl x509 -req -in "$PKI/wild.csr" -CA "$PKI/inter.pem" \
    -CAkey "$PKI/inter.key" -days 30 -sha256 -set_serial 0x77 \
    -extfile "$PKI/wild.ext" -extensions ext -out "$PKI/wild.pem" 2>/dev/null

write_cnf "$WORK/server.cnf" fetch_timeout=3
VERDICTS="$WORK/cache.1/verdicts"

# cert_fp NAME / key_fp NAME: the SHA-256 fingerprints as Postfix sends
# them (upper-case hex pairs separated by ':'); *_hex: as record names
cert_hex() {
    pki_ossl x509 -in "$PKI/$1.pem" -outform DER | pki_ossl dgst -sha256 -r |
        cut -c1-64
}
key_hex() {
    pki_ossl x509 -in "$PKI/$1.pem" -noout -pubkey |
        pki_ossl pkey -pubin -outform DER | pki_ossl dgst -sha256 -r |
        cut -c1-64
}
colon_form() {
    tr 'a-f' 'A-F' <<<"$1" | sed 's/../&:/g; s/:$//'
}

echo "-- s_server -verify records the verdict of every client certificate"
tls_port=$(free_port)
start_s_server "$WORK/server.cnf" "$WORK/s_server.log" "$tls_port" \
    -cert "$PKI/server.pem" -key "$PKI/server.key" \
    -cert_chain "$PKI/inter.pem" -CAfile "$PKI/root.pem" -verify 2
for leaf in good revoked down stranger wild; do
    chain=(-cert_chain "$PKI/inter.pem")
    [[ "$leaf" == stranger ]] && chain=()
    s_client "client-$leaf" - "$tls_port" -cert "$PKI/$leaf.pem" \
        -key "$PKI/$leaf.key" "${chain[@]}" -CAfile "$PKI/root.pem"
    expect_grep "$leaf client: s_server carried on (no -verify_return_error)" \
        "HTTP/1.0 200 ok"
done

# record NAME: the record of NAME's certificate (waits up to 5 s)
record() {
    local f i
    f="$VERDICTS/c-$(cert_hex "$1")"
    for ((i = 0; i < 50; i++)); do
        [[ -f "$f" ]] && break
        sleep 0.1
    done
    echo "$f"
}
check_record() {
    local leaf=$1 class=$2 error=$3 f
    f=$(record "$leaf")
    expect_grep "$leaf: record class=$class" "^class=$class\$" "$f"
    expect_grep "$leaf: record error=$error" "^error=$error\$" "$f"
    expect_true "$leaf: same record under the public key fingerprint" \
        cmp -s "$f" "$VERDICTS/k-$(key_hex "$leaf")"
}
check_record good valid 0
check_record revoked fatal 23
check_record down transient 3
check_record stranger fatal 20
check_record wild valid 0
f=$(record good)
expect_grep "good: record has the subject" "^subject=/O=domainsec test/CN=good$" "$f"
expect_grep "good: record has the DNS names" "^dns=localhost$" "$f"
expect_grep "good: expires = time + verdict_ttl (300)" \
    "^expires=$(($(sed -n 's/^time=//p' "$f") + 300))$" "$f"
expect_grep "revoked: record has the reason" "^reason=certificate revoked$" \
    "$(record revoked)"
expect_grep "down: record says why" "^reason=unable to get certificate CRL" \
    "$(record down)"
expect_grep "wild: record has the wildcard name" '^dns=\*\.partner\.example$' \
    "$(record wild)"
expect_true "verdicts/ is not accessible to others" \
    test "$(stat -c %A "$VERDICTS" | cut -c8-10)" = "---"
expect_true "records are mode 0640" \
    test "$(stat -c %a "$(record good)")" = 640

echo "-- openssl verify records too, with verdict_ttl = 2"
make_leaf expiring "http://127.0.0.1:$port/inter.crl"
write_cnf "$WORK/short.cnf" "cache_dir=$WORK/cache.1" verdict_ttl=2
ossl_verify short "$WORK/short.cnf" "$PKI/expiring.pem"
expect_rc "openssl verify: expiring leaf verifies" 0
f=$(record expiring)
expect_grep "openssl verify recorded valid" "^class=valid$" "$f"
expect_grep "expiring: expires = time + 2" \
    "^expires=$(($(sed -n 's/^time=//p' "$f") + 2))$" "$f"

echo "-- OpenSSL's own errors are recorded; a soft-fail waiver is transient"
make_leaf named "http://127.0.0.1:$port/inter.crl"
run_host hostname "$WORK/short.cnf" "$OPENSSL_BIN" verify -CAfile \
    "$PKI/root.pem" -untrusted "$PKI/inter.pem" -verify_hostname \
    mx.other.example "$PKI/named.pem"
expect_rc "host name mismatch: openssl verify fails" '!0'
expect_grep "host name mismatch recorded: fatal 62" "^error=62$" \
    "$(record named)"
expect_grep "host name mismatch recorded as fatal" "^class=fatal$" \
    "$(record named)"
run_host expired "$WORK/short.cnf" "$OPENSSL_BIN" verify -CAfile \
    "$PKI/root.pem" -untrusted "$PKI/inter.pem" -attime \
    "$(($(date +%s) + 2 * 366 * 86400))" "$PKI/named.pem"
expect_grep "expired leaf recorded: fatal 10" "^error=10$" "$(record named)"
make_leaf waived "http://127.0.0.1:$dead/inter.crl"
write_cnf "$WORK/soft.cnf" "cache_dir=$WORK/cache.1" revocation=soft-fail \
    fetch_timeout=3
ossl_verify waived "$WORK/soft.cnf" "$PKI/waived.pem"
expect_rc "soft-fail: openssl verify accepts the unreachable CRL" 0
expect_grep "soft-fail: recorded as transient all the same" \
    "^class=transient$" "$(record waived)"
expect_grep "soft-fail: error 3" "^error=3$" "$(record waived)"
sleep 2.5 # the policy service must see the record of 'expiring' expired

echo "-- policy requests"
# request SENDER [LEAF [key]]: a request as Postfix 3.7 sends it, with
# LEAF's fingerprints (both, or with "key" the public key's only); LEAF
# "none": a certificate no verification ever saw
request() {
    local sender=$1 leaf=${2:-} mode=${3:-both} fp="" pfp="" enc=""
    if [[ "$leaf" == none ]]; then
        fp=$(colon_form "$(printf x | pki_ossl dgst -sha256 -r | cut -c1-64)")
        enc=TLSv1.3
    elif [[ -n "$leaf" ]]; then
        fp=$(colon_form "$(cert_hex "$leaf")")
        pfp=$(colon_form "$(key_hex "$leaf")")
        enc=TLSv1.3
    fi
    [[ "$mode" == key ]] && fp=""
    printf '%s\n' request=smtpd_access_policy protocol_state=RCPT \
        protocol_name=ESMTP helo_name=client.example queue_id= \
        "sender=$sender" recipient=postmaster@mx.example recipient_count=0 \
        client_address=127.0.0.1 client_name=localhost \
        reverse_client_name=localhost instance=1a2b.3c4d.0 sasl_method= \
        sasl_username= sasl_sender= size=0 ccert_subject= ccert_issuer= \
        "ccert_fingerprint=$fp" "ccert_pubkey_fingerprint=$pfp" \
        "encryption_protocol=$enc" encryption_cipher= encryption_keysize=0 \
        etrn_domain= stress= policy_context= server_address=127.0.0.1 \
        server_port=25 compatibility_level=3.6 mail_version=3.7.11 ''
}

{
    echo "# domain-secured partners"
    echo "partner.example   localhost   # certificate name to expect"
    echo "mismatch.example"
    echo "WILD.example      mx.partner.example"
} >"$WORK/domains"

DUNNO="action=DUNNO"
DEFER="action=DEFER_IF_PERMIT 4.7.5 revocation status unavailable, try again later"
NOCERT="action=REJECT 5.7.1 domain-secured partner must present a valid certificate"
REVOKED="action=REJECT 5.7.1 certificate revoked"
UNTRUSTED="action=REJECT 5.7.1 unable to get local issuer certificate"
ERROR="action=DEFER_IF_PERMIT 4.3.0 policy service error"
MISMATCH="action=REJECT 5.7.1 certificate does not match domain-secured partner"

# ask SET DESC WANT request-args...: one request of conversation SET
ask() {
    local set=$1 desc=$2 want=$3
    shift 3
    request "$@" >>"$WORK/$set.req"
    printf '%s\t%s\n' "$want" "$desc" >>"$WORK/$set.want"
}
# raw SET DESC WANT TEXT: a request written as it is
raw() {
    printf '%s' "$4" >>"$WORK/$1.req"
    printf '%s\t%s\n' "$3" "$2" >>"$WORK/$1.want"
}
# big SET DESC: the request that printed the lines before it is an error
big() {
    printf '%s\t%s\n' "$ERROR" "$2" >>"$WORK/$1.want"
}
: >"$WORK/main.req"
: >"$WORK/main.want"
ask main "unlisted, good" "$DUNNO" someone@elsewhere.example good
ask main "unlisted, revoked" "$REVOKED" someone@elsewhere.example revoked
ask main "unlisted, CRL server down" "$DEFER" someone@elsewhere.example down
ask main "unlisted, untrusted root" "$UNTRUSTED" someone@elsewhere.example \
    stranger
ask main "unlisted, good, public key fingerprint only" "$DUNNO" \
    someone@elsewhere.example good key
ask main "unlisted, revoked, public key fingerprint only" "$REVOKED" \
    someone@elsewhere.example revoked key
ask main "unlisted, no certificate" "$DUNNO" someone@elsewhere.example
ask main "unlisted, certificate without record" "$DUNNO" \
    someone@elsewhere.example none
ask main "null sender, revoked" "$REVOKED" "" revoked
ask main "listed, no certificate" "$NOCERT" someone@partner.example
ask main "listed (any case), no certificate" "$NOCERT" Someone@PARTNER.Example
ask main "listed, good, name matches" "$DUNNO" someone@partner.example good
ask main "listed, good, name mismatch" "$MISMATCH mismatch.example" \
    someone@mismatch.example good
ask main "listed, revoked" "$REVOKED" someone@partner.example revoked
ask main "listed, CRL server down" "$DEFER" someone@partner.example down
ask main "listed, certificate without record" "$NOCERT" \
    someone@partner.example none
ask main "listed, untrusted root" "$UNTRUSTED" someone@partner.example stranger
ask main "listed, wildcard certificate name" "$DUNNO" someone@wild.example wild
ask main "listed, wildcard certificate, other name expected" \
    "$MISMATCH partner.example" someone@partner.example wild
ask main "listed, record expired" "$NOCERT" someone@partner.example expiring
raw main "a line without '='" "$ERROR" \
    $'request=smtpd_access_policy\nno equals sign here\nsender=a@b\n\n'
ask main "the request after it" "$REVOKED" someone@elsewhere.example revoked
raw main "garbage" "$ERROR" $'\x01\x02binary\x7f=\xff\n\n'
raw main "not smtpd_access_policy" "$ERROR" $'request=junk\nsender=a@b\n\n'
{
    printf 'request=smtpd_access_policy\n'
    for ((i = 0; i < 150; i++)); do
        printf 'attr%d=value %d\n' "$i" "$i"
    done
    printf '\n'
} >>"$WORK/main.req"
big main "150 attributes"
{
    printf 'request=smtpd_access_policy\nsender=a@b\nhuge='
    head -c 1048576 /dev/zero | tr '\0' 'x'
    printf '\n\n'
} >>"$WORK/main.req"
big main "a 1 MB line"
{
    printf 'request=smtpd_access_policy\n'
    for ((i = 0; i < 80; i++)); do
        printf 'a%d=%01000d\n' "$i" 0
    done
    printf '\n'
} >>"$WORK/main.req"
big main "a request over 64 KiB"
ask main "after all that, a good request" "$DUNNO" someone@partner.example good
nreq=$(wc -l <"$WORK/main.want")

# compare NAME SET ANSWERS: each answer against SET.want, in order
compare() {
    local name=$1 set=$2 answers=$3 i=0 want desc got
    while IFS=$'\t' read -r want desc; do
        i=$((i + 1))
        got=$(sed -n "${i}p" "$answers")
        if [[ "$got" == "$want" ]]; then
            pass "$name: $desc: $want"
        else
            fail "$name: $desc: got '$got', wanted '$want'"
        fi
    done <"$WORK/$set.want"
    if [[ $(wc -l <"$answers") -eq $i ]]; then
        pass "$name: $i answers for $i requests"
    else
        fail "$name: $(wc -l <"$answers") answers for $i requests"
    fi
}

echo "-- policyd on stdin/stdout (a spawn service)"
CMD_TIMEOUT=30 run_cmd stdio env -u OPENSSL_CONF "$CLI" policyd \
    --config "$WORK/server.cnf" --domains "$WORK/domains" <"$WORK/main.req"
expect_rc "stdio: ends with its input (exit 0)" 0
grep -a '^action=' "$OUT" >"$WORK/stdio.answers" || true
compare stdio main "$WORK/stdio.answers"
LOG=$OUT
expect_grep "stdio: answers logged with fingerprint, verdict and reason" \
    "action=REJECT 5.7.1 certificate revoked; verdict=fatal; fingerprint=$(cert_hex revoked); reason=certificate revoked" \
    "$LOG"
expect_grep "stdio: a transient answer logged" \
    "verdict=transient; fingerprint=$(cert_hex down); reason=unable to get certificate CRL" \
    "$LOG"
expect_grep "stdio: the malformed request is logged with why" \
    "verdict=error; fingerprint=-; reason=request line without name=value" \
    "$LOG"
expect_grep "stdio: the 1 MB line is logged" "request line over 4096 bytes" \
    "$LOG"
expect_grep "stdio: the 150 attributes are logged" "more than 100 attributes" \
    "$LOG"
expect_grep "stdio: the request over 64 KiB is logged" \
    "request over 65536 bytes" "$LOG"
expect_grep "stdio: the expired record is logged" "record expired" "$LOG"

echo "-- stdio: end of input in the middle of a request"
request someone@partner.example good >"$WORK/full.req"
head -c 200 "$WORK/full.req" >"$WORK/cut.req"
run_cmd stdio-cut env -u OPENSSL_CONF "$CLI" policyd --config \
    "$WORK/server.cnf" <"$WORK/cut.req"
expect_rc "stdio, cut request: exit 0" 0
expect_grep "stdio, cut request: logged" "in the middle of a request"
expect_no_grep "stdio, cut request: nothing answered" "^action="

echo "-- --unlisted pass (--verdicts, no configuration needed)"
: >"$WORK/pass.req"
: >"$WORK/pass.want"
ask pass "unlisted, revoked" "$DUNNO" someone@elsewhere.example revoked
ask pass "unlisted, CRL server down" "$DUNNO" someone@elsewhere.example down
ask pass "unlisted, no certificate" "$DUNNO" someone@elsewhere.example
ask pass "listed, no certificate" "$NOCERT" someone@partner.example
ask pass "listed, revoked" "$REVOKED" someone@partner.example revoked
run_cmd stdio-pass env -u OPENSSL_CONF "OPENSSL_CONF=$WORK/nowhere.cnf" \
    "$CLI" policyd --unlisted pass --verdicts "$VERDICTS" \
    --domains "$WORK/domains" <"$WORK/pass.req"
expect_rc "pass: exit 0" 0
grep -a '^action=' "$OUT" >"$WORK/pass.answers" || true
compare pass pass "$WORK/pass.answers"

echo "-- policyd --listen unix:"
sock="$WORK/policy.sock"
"$CLI" policyd --config "$WORK/server.cnf" --domains "$WORK/domains" \
    --listen "unix:$sock" --idle-timeout 3 >"$WORK/listen.log" 2>&1 &
LPID=$!
track_pid "$LPID"
wait_file_grep "serving unix:" "$WORK/listen.log" 10 "$LPID"
run_cmd unix "${CLIENT[@]}" --unix "$sock" converse "$WORK/main.req" "$nreq"
grep -a '^action=' "$OUT" >"$WORK/unix.answers" || true
compare unix main "$WORK/unix.answers"

echo "-- abrupt disconnects, then the next request"
request someone@elsewhere.example revoked >"$WORK/one.req"
run_cmd abort-mid "${CLIENT[@]}" --unix "$sock" abort "$WORK/one.req" 300
expect_rc "disconnect mid-request: client done" 0
{
    printf 'request=smtpd_access_policy\nhuge='
    head -c 1048576 /dev/zero | tr '\0' 'y'
} >"$WORK/bigcut.req"
run_cmd abort-big "${CLIENT[@]}" --unix "$sock" abort "$WORK/bigcut.req"
run_cmd abort-none "${CLIENT[@]}" --unix "$sock" abort "$WORK/one.req" 0
run_cmd after-abort "${CLIENT[@]}" --unix "$sock" converse "$WORK/one.req" 1
expect_rc "after the disconnects: answered" 0
expect_grep "after the disconnects: the right answer" "^$REVOKED$"
expect_grep "the cut request is logged" "in the middle of a request" \
    "$WORK/listen.log"
expect_true "policyd still running" kill -0 "$LPID"

echo "-- 20 conversations at once"
request someone@partner.example good >"$WORK/two.req"
request someone@partner.example >>"$WORK/two.req"
run_cmd parallel "${CLIENT[@]}" --unix "$sock" parallel 20 "$WORK/two.req" 2
expect_grep "all 20 conversations answered twice" "^20$"

echo "-- idle connections are closed (--idle-timeout 3)"
run_cmd idle "${CLIENT[@]}" --unix "$sock" idle
secs=$(tr -d '\n' <"$OUT")
expect_true "idle connection closed after about 3 s ($secs s)" \
    python3 -c "import sys; sys.exit(not 2.5 <= float('$secs') <= 10)"
run_cmd after-idle "${CLIENT[@]}" --unix "$sock" converse "$WORK/one.req" 1
expect_grep "after the idle timeout: answered" "^$REVOKED$"

echo "-- SIGTERM stops it cleanly"
kill -TERM "$LPID"
RC=0
wait "$LPID" || RC=$?
expect_rc "SIGTERM: exit 0" 0
expect_grep "SIGTERM: logged" "stopped" "$WORK/listen.log"
expect_true "SIGTERM: the socket file is removed" test ! -e "$sock"

echo "-- policyd --listen tcp:"
tport=$(free_port)
"$CLI" policyd --config "$WORK/server.cnf" --domains "$WORK/domains" \
    --listen "tcp:127.0.0.1:$tport" >"$WORK/tcp.log" 2>&1 &
TPID=$!
track_pid "$TPID"
wait_port "$tport" 10
run_cmd tcp "${CLIENT[@]}" --tcp "127.0.0.1:$tport" converse \
    "$WORK/main.req" "$nreq"
grep -a '^action=' "$OUT" >"$WORK/tcp.answers" || true
compare tcp main "$WORK/tcp.answers"
stop_pid "$TPID"

echo "-- the next writer removes expired records"
write_cnf "$WORK/short2.cnf" "cache_dir=$WORK/cache.1" verdict_ttl=1
ossl_verify sweep "$WORK/short2.cnf" "$PKI/good.pem"
expect_true "the expired record of 'expiring' is gone" \
    test ! -e "$VERDICTS/c-$(cert_hex expiring)"
expect_true "live records stay" test -e "$VERDICTS/c-$(cert_hex revoked)"

echo "-- exit codes"
run_cmd no-domains env -u OPENSSL_CONF "$CLI" policyd --config \
    "$WORK/server.cnf" --domains "$WORK/missing" </dev/null
expect_rc "unreadable domains file: 78" 78
expect_grep "unreadable domains file: said" "missing"
printf 'good.example\nbad_domain!\n' >"$WORK/bad-domains"
run_cmd bad-domains env -u OPENSSL_CONF "$CLI" policyd --config \
    "$WORK/server.cnf" --domains "$WORK/bad-domains" </dev/null
expect_rc "malformed domains file: 78" 78
expect_grep "malformed domains file: names the line" "line 2"
write_cnf "$WORK/nocache.cnf" "cache_dir="
run_cmd no-cache env -u OPENSSL_CONF "$CLI" policyd --config \
    "$WORK/nocache.cnf" </dev/null
expect_rc "no cache_dir, no --verdicts: 78" 78
expect_grep "no cache_dir: said" "cache_dir is not set"
run_cmd no-dir env -u OPENSSL_CONF "$CLI" policyd --verdicts \
    "$WORK/nowhere" </dev/null
expect_rc "missing --verdicts directory: 78" 78
run_cmd bad-unlisted "$CLI" policyd --unlisted maybe </dev/null
expect_rc "bad --unlisted: 64" 64
run_cmd bad-listen env -u OPENSSL_CONF "$CLI" policyd --config \
    "$WORK/server.cnf" --listen "udp:1.2.3.4:5" </dev/null
expect_rc "bad --listen: 64" 64
run_cmd help "$CLI" policyd --help
expect_rc "--help: 0" 0
expect_grep "--help lists --domains" "--domains FILE"

finish
