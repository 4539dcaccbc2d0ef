#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The administrator's commands against a real nginx serving CRLs:
# `domainsec fetch URL` prints the route, status, size and the CRL's issuer,
# thisUpdate, nextUpdate, number and entry count exactly as
# `openssl crl -text` reads the same file, checks the signature with
# --issuer or the configured directories, and exits 0/75/1/64/78 by the
# classes of DESIGN.md section 5 (a file: URL is refused without being
# opened); `domainsec verify` shows the same CRL details per CDP; and
# `domainsec doctor` passes on a good set-up and fails, with the right exit
# code, each check in turn: bad directive, module file missing (named),
# missing or malformed trust directory, unwritable cache_dir, dead proxy,
# CDP down, CRL of a forger, scheme outside cdp_schemes; `doctor --offline`
# fetches nothing, so a dead proxy or CDP leaves it at exit 0 while a
# configuration problem is still 78.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# A run killed before its cleanup may have left the unwritable cache_dir
# immutable: dsec_setup could not remove the work directory.
chattr -i "${DSEC_WORK:-$DSEC_BUILD/test-work/cli_fetch}/ro-cache" \
    2>/dev/null || true
umount "${DSEC_WORK:-$DSEC_BUILD/test-work/cli_fetch}/ro-cache" \
    2>/dev/null || true
dsec_setup cli_fetch

# Directories made immutable for the unwritable cache_dir case (as root,
# permission bits do not stop writes): made mutable again on exit.
IMMUTABLE=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup_all() {
    local d
    for d in "${IMMUTABLE[@]}"; do
        umount "$d" 2>/dev/null || true
        chattr -i "$d" 2>/dev/null || true
        chmod 755 "$d" 2>/dev/null || true
    done
    dsec_cleanup
}
trap cleanup_all EXIT

port=$(free_port)
dead=$(free_port) # nothing ever listens there
make_pki "$WORK/pki" "http://127.0.0.1:$port"
start_nginx "$WWW" "$port"
base="http://127.0.0.1:$port"

mkdir -p "$WORK/roots" "$WORK/cross"
cp "$PKI/root.pem" "$WORK/roots/root.pem"
cp "$PKI/inter.pem" "$WORK/cross/inter.pem"
write_cnf "$WORK/good.cnf" "trust_dirs=$WORK/roots" "cross_dirs=$WORK/cross"
write_cnf "$WORK/nodirs.cnf"

# cli NAME args...: the CLI of the build tree, OPENSSL_CONF unset.
cli() {
    local name=$1
    shift
    run_cmd "$name" env -u OPENSSL_CONF "$CLI" "$@"
}

# field FILE LABEL: the value printed after "LABEL:" (first match).
field() {
    sed -n "s/^ *$2: *//p" "$1" | head -n 1
}

# iso TEXT: an `openssl crl -text` date as the CLI prints it (ISO 8601).
iso() {
    date -u -d "$1" '+%Y-%m-%d %H:%M:%SZ'
}

echo "-- domainsec fetch: a good CRL, compared with openssl crl -text"
crltext="$WORK/inter.crl.txt"
pki_ossl crl -inform DER -in "$WWW/inter.crl" -noout -text >"$crltext"
want_issuer=$(sed -n 's/^ *Issuer: //p' "$crltext")
want_this=$(iso "$(sed -n 's/^ *Last Update: //p' "$crltext")")
want_next=$(iso "$(sed -n 's/^ *Next Update: //p' "$crltext")")
want_number=$(sed -n '/X509v3 CRL Number:/{n;s/^ *//p}' "$crltext")
want_entries=$(grep -c 'Serial Number:' "$crltext" || true)
want_size=$(stat -c %s "$WWW/inter.crl")

cli fetch-good fetch --config "$WORK/good.cnf" "$base/inter.crl"
expect_rc "fetch of a good CRL: exit 0" 0
expect_true "fetch: issuer as openssl crl -text ($want_issuer)" \
    test "$(field "$OUT" issuer)" = "$want_issuer"
expect_true "fetch: thisUpdate as openssl crl -text ($want_this)" \
    test "$(field "$OUT" thisUpdate)" = "$want_this"
expect_true "fetch: nextUpdate as openssl crl -text ($want_next)" \
    test "$(field "$OUT" nextUpdate)" = "$want_next"
expect_true "fetch: CRL number as openssl crl -text ($want_number)" \
    test "$(field "$OUT" 'CRL number' | cut -d' ' -f1)" = "$want_number"
expect_true "fetch: entry count as openssl crl -text ($want_entries)" \
    test "$(field "$OUT" entries)" = "$want_entries"
expect_true "fetch: size is the file's ($want_size bytes)" \
    test "$(field "$OUT" size)" = "$want_size bytes"
expect_grep "fetch: route direct" "^route: +direct"
expect_grep "fetch: HTTP 200" "^status: +HTTP 200"
expect_grep "fetch: not a delta CRL" "delta CRL: +no"
expect_grep "fetch: signature checked with cross_dirs' inter.pem" \
    "^signature: +ok, verifies .*cross_dirs .*inter\.pem"
expect_grep "fetch: nginx served the request" "GET /inter.crl " \
    "$NGINX_ACCESS_LOG"

cli fetch-root fetch --config "$WORK/good.cnf" "$base/root.crl"
expect_rc "fetch of the root's CRL: exit 0" 0
expect_grep "root CRL: signature checked with trust_dirs' root.pem" \
    "^signature: +ok, .*trust_dirs .*root\.pem"
expect_grep "root CRL: one entry (the revoked intermediate)" "entries: +1$"

cli fetch-issuer fetch --config "$WORK/nodirs.cnf" --issuer "$PKI/inter.pem" \
    "$base/inter.crl"
expect_rc "fetch --issuer of the right CA: exit 0" 0
expect_grep "--issuer right CA: signature ok" "^signature: +ok, .*--issuer"

cli fetch-unknown fetch --config "$WORK/nodirs.cnf" "$base/inter.crl"
expect_rc "fetch with the issuer nowhere: exit 0" 0
expect_grep "issuer nowhere: says the signature is not checked" \
    "^signature: +not checked"

echo "-- domainsec fetch: failures"
cli fetch-wrong fetch --config "$WORK/good.cnf" --issuer "$PKI/root.pem" \
    "$base/inter.crl"
expect_rc "fetch --issuer of the wrong CA: exit 75" 75
expect_grep "wrong CA: the signature fails" "^signature: +FAILS"

make_fake_ca fake-inter inter
cli fetch-forged fetch --config "$WORK/good.cnf" \
    --issuer "$PKI/fake-inter.pem" "$base/inter.crl"
expect_rc "fetch --issuer of a same-name forger: exit 75" 75
expect_grep "forger: the signature fails" "^signature: +FAILS: does not verify"

cli fetch-stale fetch --config "$WORK/good.cnf" --at 2200-01-01T00:00:00Z \
    "$base/inter.crl"
expect_rc "fetch of a CRL past its nextUpdate (--at): exit 75" 75
expect_grep "stale: says so" "stale"

cli fetch-down fetch --config "$WORK/good.cnf" "http://127.0.0.1:$dead/x.crl"
expect_rc "fetch from a server that is down: exit 75" 75
expect_grep "server down: unreachable" "^result: +unreachable: .*connect"

cli fetch-404 fetch --config "$WORK/good.cnf" "$base/missing.crl"
expect_rc "fetch of a missing file (HTTP 404): exit 75" 75
expect_grep "404: status shown" "HTTP 404"

echo "garbage, not a CRL" >"$WWW/garbage.crl"
cli fetch-garbage fetch --config "$WORK/good.cnf" "$base/garbage.crl"
expect_rc "fetch of a body that is not a CRL: exit 75" 75
expect_grep "garbage: unparsable" "^result: +unparsable"

# A FIFO: opening it to read would block until the 10 s timeout.
mkfifo "$WORK/fifo"
before=$(wc -l <"$NGINX_ACCESS_LOG")
CMD_TIMEOUT=10 cli fetch-file fetch --config "$WORK/good.cnf" \
    "file://$WORK/fifo"
expect_rc "fetch of a file: URL: exit 1 (fatal, scheme refused)" 1
expect_grep "file: URL: refused by cdp_schemes" "refused: .*cdp_schemes"
expect_max_ms "file: URL: refused at once, the FIFO never opened" 3000
write_cnf "$WORK/ldaponly.cnf" cdp_schemes=ldap
cli fetch-scheme fetch --config "$WORK/ldaponly.cnf" "$base/inter.crl"
expect_rc "http URL with cdp_schemes = ldap: exit 1" 1
expect_true "refused URLs never reach nginx" \
    test "$(wc -l <"$NGINX_ACCESS_LOG")" -eq "$before"

cli fetch-usage fetch --config "$WORK/good.cnf"
expect_rc "fetch without URL: exit 64" 64
cli fetch-badat fetch --config "$WORK/good.cnf" --at tomorrow "$base/x.crl"
expect_rc "fetch --at tomorrow: exit 64" 64
write_cnf "$WORK/maybe.cnf" revocation=maybe
cli fetch-badcnf fetch --config "$WORK/maybe.cnf" "$base/inter.crl"
expect_rc "fetch with revocation = maybe: exit 78" 78
expect_grep "bad directive: named" "revocation"

echo "-- domainsec fetch through a proxy (nginx answers absolute URIs)"
write_cnf "$WORK/proxy.cnf" "trust_dirs=$WORK/roots" \
    "cross_dirs=$WORK/cross" "http_proxy=http://alice:s3cret@127.0.0.1:$port"
cli fetch-proxy fetch --config "$WORK/proxy.cnf" "http://crl.invalid/inter.crl"
expect_rc "fetch through the proxy: exit 0" 0
expect_grep "proxy: the route names the proxy" "^route: +proxy "
expect_no_grep "proxy: the password is never printed" "s3cret"

echo "-- domainsec verify shows the CRL of each CDP"
cli_verify verify-good "$WORK/good.cnf" "$PKI/good.pem"
expect_rc "verify of the good leaf: exit 0" 0
expect_grep "verify: CRL issuer of depth 0's CDP" \
    "^ +issuer: +O = domainsec test, CN = Test Intermediate CA$"
expect_grep "verify: CRL number printed" "^ +CRL number: +$want_number "
expect_grep "verify: entry count printed" "^ +entries: +$want_entries$"
expect_grep "verify: nextUpdate printed" "^ +nextUpdate: +$want_next$"

echo "-- domainsec doctor: a good set-up"
cli doctor-good doctor --config "$WORK/good.cnf"
expect_rc "doctor, good set-up: exit 0" 0
expect_no_grep "doctor, good set-up: no FAIL line" "^FAIL"
expect_grep "doctor: configuration parses" "^OK   configuration: "
expect_grep "doctor: provider activated" "^OK   provider: "
expect_grep "doctor: trust_dirs counted" "^OK   trust_dirs .*: 1 certificate"
expect_grep "doctor: cross_dirs counted" "^OK   cross_dirs .*: 1 certificate"
expect_grep "doctor: cache_dir writable" "^OK   cache_dir .*writable"
expect_grep "doctor: self-signed root, informational" \
    "^INFO anchor .*Test Root CA.*self-signed, no CDP"
expect_grep "doctor: inter's CDP yields a CRL signed by the root" \
    "^OK   cross-certificate .*root\.crl.*signed by the issuer"

echo "-- domainsec doctor: each check fails"
write_cnf "$WORK/dr-maybe.cnf" "trust_dirs=$WORK/roots" revocation=maybe
cli doctor-maybe doctor --config "$WORK/dr-maybe.cnf"
expect_rc "doctor, revocation = maybe: exit 78" 78
expect_grep "doctor, bad directive: configuration FAIL names it" \
    "^FAIL configuration: .*revocation: invalid value 'maybe'"
expect_grep "doctor, bad directive: provider FAIL" "^FAIL provider: "
cli doctor-maybe-offline doctor --offline --config "$WORK/dr-maybe.cnf"
expect_rc "doctor --offline, revocation = maybe: still exit 78" 78

write_cnf "$WORK/dr-module.cnf" "module=$WORK/no-such-module.so"
cli doctor-module doctor --config "$WORK/dr-module.cnf"
expect_rc "doctor, module missing: exit 78" 78
expect_grep "doctor, module missing: provider FAIL" "^FAIL provider: "
expect_grep "doctor, module missing: names the file OpenSSL tried" \
    "^FAIL provider: OpenSSL could not load $WORK/no-such-module\.so: No such file or directory"

write_cnf "$WORK/dr-notrust.cnf" "trust_dirs=$WORK/roots:$WORK/missing-roots"
cli doctor-notrust doctor --config "$WORK/dr-notrust.cnf"
expect_rc "doctor, missing trust dir: exit 78" 78
expect_grep "doctor, missing trust dir: named" \
    "^FAIL trust_dirs .*missing-roots: does not exist"
expect_grep "doctor, missing trust dir: the other one still OK" \
    "^OK   trust_dirs .*/roots: 1 certificate"

mkdir -p "$WORK/badroots"
cp "$PKI/root.pem" "$WORK/badroots/root.pem"
echo "not a certificate" >"$WORK/badroots/junk.pem"
write_cnf "$WORK/dr-junk.cnf" "trust_dirs=$WORK/badroots"
cli doctor-junk doctor --config "$WORK/dr-junk.cnf"
expect_rc "doctor, malformed file in a trust dir: exit 78" 78
expect_grep "doctor, malformed file: named" \
    "^FAIL trust_dirs .*skipped as malformed: junk\.pem"

mkdir -p "$WORK/ro-cache"
ro_ok=1
if [[ $(id -u) -eq 0 ]]; then
    # root writes anywhere: an immutable directory, else a read-only tmpfs
    if ! chattr +i "$WORK/ro-cache" 2>/dev/null; then
        mount -t tmpfs -o ro,size=64k tmpfs "$WORK/ro-cache" 2>/dev/null ||
            ro_ok=0
    fi
else
    chmod 555 "$WORK/ro-cache"
fi
IMMUTABLE+=("$WORK/ro-cache")
if [[ "$ro_ok" -eq 1 ]]; then
    write_cnf "$WORK/dr-cache.cnf" "trust_dirs=$WORK/roots" \
        "cache_dir=$WORK/ro-cache"
    cli doctor-cache doctor --config "$WORK/dr-cache.cnf"
    expect_rc "doctor, unwritable cache_dir: exit 78" 78
    expect_grep "doctor, unwritable cache_dir: says who needs write" \
        "^FAIL cache_dir .*cannot create a file.*needs write"
else
    fail "doctor, unwritable cache_dir: cannot make one for root here" \
        "(neither chattr +i nor a read-only tmpfs mount works)"
fi

write_cnf "$WORK/dr-nocache.cnf" "trust_dirs=$WORK/roots" \
    "cache_dir=$WORK/no-cache-dir"
cli doctor-nocache doctor --config "$WORK/dr-nocache.cnf"
expect_rc "doctor, missing cache_dir: exit 78" 78
expect_grep "doctor, missing cache_dir: FAIL" "^FAIL cache_dir .*does not exist"

write_cnf "$WORK/dr-scheme.cnf" "trust_dirs=$WORK/roots" \
    "cross_dirs=$WORK/cross" cdp_schemes=ldap
cli doctor-scheme doctor --config "$WORK/dr-scheme.cnf"
expect_rc "doctor, CDP scheme outside cdp_schemes: exit 78" 78
expect_grep "doctor, scheme: FAIL" "^FAIL cross-certificate .*not in cdp_schemes"

# An anchor whose own CDP is on a port where nothing listens.
mkdir -p "$WORK/roots-down"
cp "$PKI/root.pem" "$WORK/roots-down/"
issue down-ca "/O=domainsec test/CN=Down CA" ca root \
    "http://127.0.0.1:$dead/root.crl"
cp "$PKI/down-ca.pem" "$WORK/roots-down/"
write_cnf "$WORK/dr-down.cnf" "trust_dirs=$WORK/roots-down" \
    "cross_dirs=$WORK/cross" fetch_timeout=3
cli doctor-down doctor --config "$WORK/dr-down.cnf"
expect_rc "doctor, anchor's CDP down: exit 75 (transient)" 75
expect_grep "doctor, CDP down: FAIL names the URL" \
    "^FAIL anchor .*Down CA.*:$dead/root\.crl: unreachable"
cli doctor-down-offline doctor --offline --config "$WORK/dr-down.cnf"
expect_rc "doctor --offline, anchor's CDP down: exit 0 (nothing fetched)" 0
expect_grep "doctor --offline: says what it left out" \
    "^INFO proxy and CDPs: not checked \(--offline\)"
expect_no_grep "doctor --offline: no CDP line" ":$dead/root\.crl"

write_cnf "$WORK/dr-proxy.cnf" "trust_dirs=$WORK/roots" \
    "cross_dirs=$WORK/cross" "http_proxy=http://127.0.0.1:$dead" \
    fetch_timeout=3
cli doctor-proxy doctor --config "$WORK/dr-proxy.cnf"
expect_rc "doctor, proxy down: exit 75" 75
expect_grep "doctor, proxy down: FAIL" "^FAIL proxy http://127.0.0.1:$dead"
cli doctor-proxy-offline doctor --offline --config "$WORK/dr-proxy.cnf"
expect_rc "doctor --offline, proxy down: exit 0" 0
expect_no_grep "doctor --offline: the proxy is not tried" "^(OK  |FAIL) proxy"
write_cnf "$WORK/dr-proxy-ok.cnf" "trust_dirs=$WORK/roots" \
    "cross_dirs=$WORK/cross" "http_proxy=http://bob:pw0rd@127.0.0.1:$port"
cli doctor-proxy-ok doctor --config "$WORK/dr-proxy-ok.cnf"
expect_rc "doctor, proxy up: exit 0" 0
expect_grep "doctor, proxy up: OK" "^OK   proxy .*accepts TCP connections"
expect_no_grep "doctor, proxy up: password masked" "pw0rd"

# The root's CRL replaced by one of a forger with the root's name.
make_fake_ca fake-root root
gen_crl fake-root "$WWW/root.crl"
cli doctor-forged doctor --config "$WORK/good.cnf"
expect_rc "doctor, CRL signed by a forger: exit 75" 75
expect_grep "doctor, forged CRL: signature FAIL" \
    "^FAIL cross-certificate .*root\.crl.*signature does not verify"
publish_crls

finish
