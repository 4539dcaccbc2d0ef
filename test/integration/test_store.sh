#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The domainsec: store loader seen by unmodified openssl commands through
# OPENSSL_CONF: `openssl storeutl` lists domainsec:roots and domainsec:cross
# and searches them by subject, issuer and serial, and SHA-1/SHA-256
# fingerprint (OSSL_STORE_PARAM_EXPECT honoured, an unknown domainsec: URI
# refused); a malformed file is skipped with one log line and the rest is
# served; `s_client -CAstore domainsec:roots` and `VerifyCAStore` in an
# ssl_conf section verify a server whose root is only in a domainsec
# directory; a long-running s_server picks up a root added to trust_dirs
# after it started; `domainsec trust list` shows what is loaded and skipped.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup store

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
# a second, unrelated root (with a CRL) for the ssl_conf and negative cases
issue other "/O=domainsec test/CN=Other Root CA" root self
issue other-leaf "/O=domainsec test/CN=localhost" leaf other \
    "http://127.0.0.1:$port/other.crl"
ca_init other
gen_crl other "$WWW/other.crl"
start_nginx "$WWW" "$port"

# fp DIGEST CERT: the certificate's fingerprint, hex without colons.
fp() {
    pki_ossl x509 -in "$2" -noout -fingerprint "-$1" | sed 's/.*=//; s/://g'
}
# subj CERT: the subject in the form storeutl -subject takes.
subj() {
    pki_ossl x509 -in "$1" -noout -subject -nameopt compat |
        sed 's/^subject=//'
}
# storeutl NAME CNF args...: `openssl storeutl -noout -text`, no output
# of PEM blobs, under CNF.
storeutl() {
    local name=$1 cnf=$2
    shift 2
    run_host "$name" "$cnf" "$OPENSSL_BIN" storeutl -noout -text "$@"
}
# found N: the last storeutl found exactly N objects.
found() {
    expect_grep "$1" "^Total found: $2\$"
}

roots="$WORK/roots"
cross="$WORK/cross"
mkdir -p "$roots" "$cross"
# a bundle with a private key block in it (not a certificate: skipped
# silently), a DER file, a malformed certificate, a duplicate
cat "$PKI/root.pem" "$PKI/other.key" >"$roots/bundle.crt"
pki_ossl x509 -in "$PKI/other.pem" -outform DER -out "$roots/other"
printf -- '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n' \
    >"$roots/broken.pem"
cp "$PKI/root.pem" "$roots/root-again.pem"
cp "$PKI/inter.pem" "$cross/inter.pem"
cp "$PKI/inter-revoked.pem" "$cross/inter-revoked.pem"
write_cnf "$WORK/store.cnf" "trust_dirs=$roots" "cross_dirs=$cross"

root_subj=$(subj "$PKI/root.pem")
inter_subj=$(subj "$PKI/inter.pem")

echo "-- storeutl lists domainsec:roots and domainsec:cross"
storeutl roots "$WORK/store.cnf" -certs domainsec:roots
expect_rc "storeutl domainsec:roots" 0
found "roots: two anchors (bundle + DER; duplicate kept once)" 2
expect_grep "roots: the root is served" "Subject: O ?= ?domainsec test, CN ?= ?Test Root CA"
expect_grep "roots: the DER root is served" "Subject: O ?= ?domainsec test, CN ?= ?Other Root CA"
expect_no_grep "roots: no intermediate" "Intermediate"
n=$(grep -c "skipping .*broken.pem" "$OUT" || true)
expect_true "the malformed file is logged once ($n)" test "$n" -eq 1
expect_grep "the log line names the reason" \
    "skipping $roots/broken.pem: no valid certificate in it"
expect_no_grep "the key block is not a skipped file" "skipping .*bundle.crt"

storeutl bare "$WORK/store.cnf" -certs domainsec:
found "domainsec: alone lists the roots" 2

storeutl cross "$WORK/store.cnf" -certs domainsec:cross
expect_rc "storeutl domainsec:cross" 0
found "cross: the two intermediates" 2
expect_no_grep "cross: never the roots" "Subject: .*CN ?= ?Test Root CA"

echo "-- searches"
storeutl subj-cross "$WORK/store.cnf" -certs -subject "$inter_subj" \
    domainsec:cross
found "cross by subject: the intermediate" 1
expect_grep "cross by subject: it is the intermediate" \
    "Subject: O ?= ?domainsec test, CN ?= ?Test Intermediate CA"
storeutl subj-cross-none "$WORK/store.cnf" -certs -subject "$root_subj" \
    domainsec:cross
found "cross by the root's subject: nothing" 0

serial=$(pki_ossl x509 -in "$PKI/root.pem" -noout -serial | sed 's/.*=//')
storeutl issuer-serial "$WORK/store.cnf" -certs -issuer "$root_subj" \
    -serial "0x$serial" domainsec:roots
found "roots by issuer and serial: the root" 1
expect_grep "issuer+serial: it is the root" "Subject: .*CN ?= ?Test Root CA"
storeutl issuer-serial-none "$WORK/store.cnf" -certs -issuer "$root_subj" \
    -serial 0x1234 domainsec:roots
found "roots by issuer and another serial: nothing" 0
serial=$(pki_ossl x509 -in "$PKI/inter.pem" -noout -serial | sed 's/.*=//')
storeutl issuer-serial-cross "$WORK/store.cnf" -certs -issuer "$root_subj" \
    -serial "0x$serial" domainsec:cross
found "cross by issuer (the root) and serial: the intermediate" 1
expect_grep "issuer+serial in cross: it is the intermediate" \
    "Subject: .*CN ?= ?Test Intermediate CA"

for md in sha1 sha256; do
    storeutl "fp-$md" "$WORK/store.cnf" -certs -fingerprint \
        "$(fp "$md" "$PKI/other.pem")" "-$md" domainsec:roots
    found "roots by $md fingerprint: one" 1
    expect_grep "$md fingerprint: it is the DER root" \
        "Subject: .*CN ?= ?Other Root CA"
    storeutl "fp-$md-cross" "$WORK/store.cnf" -certs -fingerprint \
        "$(fp "$md" "$PKI/other.pem")" "-$md" domainsec:cross
    found "cross by the root's $md fingerprint: nothing" 0
done
storeutl fp-md5 "$WORK/store.cnf" -certs -fingerprint \
    "$(fp md5 "$PKI/other.pem")" -md5 domainsec:roots
expect_rc "an MD5 fingerprint is refused" '!0'
expect_grep "the refusal says why" "SHA-1 and SHA-256"

echo "-- expect, unknown URIs, CRLs"
storeutl expect-crls "$WORK/store.cnf" -crls domainsec:roots
expect_rc "storeutl -crls domainsec:roots" 0
found "roots serve no CRL" 0
storeutl crls "$WORK/store.cnf" -certs domainsec:crls
expect_rc "storeutl -certs domainsec:crls" 0
found "crls serve no certificate" 0
storeutl unknown "$WORK/store.cnf" -certs domainsec:xyz
expect_rc "domainsec:xyz is refused" '!0'
expect_grep "the error names the URI and the valid ones" \
    "unknown domainsec store URI 'domainsec:xyz' \(expected domainsec:roots, domainsec:cross or domainsec:crls\)"

echo "-- s_client -CAstore domainsec:roots"
tls_port=$(free_port)
start_s_server - "$WORK/s_server.log" "$tls_port" \
    -cert "$PKI/server.pem" -key "$PKI/server.key" -cert_chain "$PKI/inter.pem"
s_client castore "$WORK/store.cnf" "$tls_port" -no-CAfile -no-CApath \
    -CAstore domainsec:roots -verify_return_error
expect_rc "s_client -CAstore domainsec:roots: verified" 0
expect_grep "-CAstore: Verify return code 0" "Verify return code: 0 \(ok\)"
expect_grep "-CAstore: served" "HTTP/1.0 200 ok"
# the same without our root in trust_dirs: the check can fail
mkdir -p "$WORK/roots-other"
cp "$PKI/other.pem" "$WORK/roots-other/other.pem"
write_cnf "$WORK/other.cnf" "trust_dirs=$WORK/roots-other" \
    "cross_dirs=$cross"
s_client castore-other "$WORK/other.cnf" "$tls_port" -no-CAfile \
    -no-CApath -CAstore domainsec:roots -verify_return_error
expect_rc "root not in trust_dirs: s_client fails" '!0'
expect_no_grep "root not in trust_dirs: nothing served" "HTTP/1.0 200 ok"
s_client castore-bad "$WORK/store.cnf" "$tls_port" -no-CAfile -no-CApath \
    -CAstore domainsec:nonsense -verify_return_error
expect_rc "-CAstore domainsec:nonsense fails" '!0'

echo "-- VerifyCAStore in an ssl_conf section"
# ssl_cnf FILE BASE STORE: BASE plus an ssl_conf section "dsec_tls" with
# VerifyCAStore = STORE, applied with -ssl_config dsec_tls (OpenSSL ignores
# certificate directives such as VerifyCAStore in system_default).
ssl_cnf() {
    sed 's/^providers = provider_sect$/&\nssl_conf = ssl_sect/' "$2" >"$1"
    printf '\n[ssl_sect]\ndsec_tls = dsec_tls_sect\n\n[dsec_tls_sect]\nVerifyCAStore = %s\n' \
        "$3" >>"$1"
}
ssl_cnf "$WORK/ssl-roots.cnf" "$WORK/store.cnf" domainsec:roots
s_client verifycastore "$WORK/ssl-roots.cnf" "$tls_port" -no-CAfile \
    -no-CApath -no-CAstore -ssl_config dsec_tls -verify_return_error
expect_rc "VerifyCAStore = domainsec:roots: verified" 0
expect_grep "VerifyCAStore: Verify return code 0" "Verify return code: 0 \(ok\)"
ssl_cnf "$WORK/ssl-roots-other.cnf" "$WORK/other.cnf" domainsec:roots
s_client verifycastore-other "$WORK/ssl-roots-other.cnf" "$tls_port" \
    -no-CAfile -no-CApath -no-CAstore -ssl_config dsec_tls -verify_return_error
expect_rc "VerifyCAStore, root not in trust_dirs: fails" '!0'
# The hook adds domainsec:roots to every store anyway; domainsec:cross is
# only added by the directive, so this shows VerifyCAStore itself at work:
# the other root is only in cross_dirs, trusted because the host says so.
mkdir -p "$WORK/cross-other"
cp "$PKI/other.pem" "$WORK/cross-other/"
write_cnf "$WORK/cross-other.cnf" "trust_dirs=$WORK/roots-other-none" \
    "cross_dirs=$WORK/cross-other"
other_port=$(free_port)
start_s_server - "$WORK/s_server-other.log" "$other_port" \
    -cert "$PKI/other-leaf.pem" -key "$PKI/other-leaf.key"
s_client cross-plain "$WORK/cross-other.cnf" "$other_port" -no-CAfile \
    -no-CApath -no-CAstore -verify_return_error
expect_rc "without VerifyCAStore the cross_dirs root is not trusted" '!0'
ssl_cnf "$WORK/ssl-cross.cnf" "$WORK/cross-other.cnf" domainsec:cross
s_client cross-store "$WORK/ssl-cross.cnf" "$other_port" -no-CAfile \
    -no-CApath -no-CAstore -ssl_config dsec_tls -verify_return_error
expect_rc "VerifyCAStore = domainsec:cross: verified" 0
expect_grep "VerifyCAStore cross: Verify return code 0" \
    "Verify return code: 0 \(ok\)"

echo "-- s_server picks up a root added while it runs"
live="$WORK/live-roots"
mkdir -p "$live"
cp "$PKI/other.pem" "$live/"
write_cnf "$WORK/live.cnf" "trust_dirs=$live" "cross_dirs=$cross"
live_port=$(free_port)
start_s_server "$WORK/live.cnf" "$WORK/s_server-live.log" "$live_port" \
    -cert "$PKI/server.pem" -key "$PKI/server.key" \
    -cert_chain "$PKI/inter.pem" -Verify 2 -verify_return_error
s_client live-before - "$live_port" -CAfile "$PKI/root.pem" \
    -cert "$PKI/good.pem" -key "$PKI/good.key" -cert_chain "$PKI/inter.pem"
expect_no_grep "before: the client is rejected (root unknown)" \
    "HTTP/1.0 200 ok"
cp "$PKI/root.pem" "$live/new-root.pem"
sleep 1.5
s_client live-after - "$live_port" -CAfile "$PKI/root.pem" \
    -cert "$PKI/good.pem" -key "$PKI/good.key" -cert_chain "$PKI/inter.pem"
expect_grep "after >= 1 s: the client is accepted" "HTTP/1.0 200 ok"
expect_true "s_server still running" kill -0 "$SSERVER_PID"
expect_grep "s_server logged the reload" "reloaded $live: 2 certificates" \
    "$WORK/s_server-live.log"

echo "-- domainsec trust list"
run_cmd trust-list env -u OPENSSL_CONF "$CLI" trust list \
    --config "$WORK/store.cnf"
expect_rc "trust list exits 0" 0
expect_grep "trust list: the root is an anchor" \
    "^anchor: O = domainsec test, CN = Test Root CA$"
expect_grep "trust list: the DER root is an anchor" \
    "^anchor: O = domainsec test, CN = Other Root CA$"
expect_grep "trust list: the intermediate is a cross-certificate" \
    "^cross: O = domainsec test, CN = Test Intermediate CA$"
root_fp=$(pki_ossl x509 -in "$PKI/root.pem" -noout -fingerprint -sha256 |
    sed 's/.*=//')
expect_grep "trust list: SHA-256 fingerprint of the root" \
    "sha256: +$root_fp$"
expect_grep "trust list: source file" "file: +$roots/bundle.crt$"
expect_grep "trust list: the cross source" "file: +$cross/inter.pem$"
expect_grep "trust list: the malformed file with its reason" \
    "^skipped \(trust_dirs\): $roots/broken.pem: no valid certificate in it$"
expect_grep "trust list: counts" \
    "^2 anchors, 2 cross-certificates, 1 skipped$"
expect_no_grep "trust list: nothing expired here" "EXPIRED|NOT YET VALID"
# an expired cross-certificate is marked
sed -i "s|^\\[CA_default\\]\$|&\\nserial = $PKI/ca-root/serial|" \
    "$PKI/ca-root/ca.cnf"
echo 01 >"$PKI/ca-root/serial"
printf '[p_any]\norganizationName = optional\ncommonName = supplied\n' \
    >>"$PKI/ca-root/ca.cnf"
pki_ossl ca -config "$PKI/ca-root/ca.cnf" -batch -notext -policy p_any \
    -startdate 20200101000000Z -enddate 20210101000000Z \
    -in "$PKI/inter.csr" -out "$cross/expired.pem" \
    -extfile "$PKI/inter.ext" -extensions ext >"$WORK/ca-expired.log" 2>&1 ||
    true
run_cmd trust-list-expired env -u OPENSSL_CONF "$CLI" trust list \
    --config "$WORK/store.cnf"
expect_grep "trust list: the expired cross-certificate is marked" \
    "notAfter: +2021-01-01 00:00:00Z +EXPIRED$"
run_cmd trust-list-usage env -u OPENSSL_CONF "$CLI" trust frobnicate
expect_rc "trust with an unknown action: usage error" 64

finish
