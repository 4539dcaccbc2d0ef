#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Junk that looks like a CRL costs no more than its download. nginx serves
# as the intermediate's CRL a 30 MB body with a valid outer DER structure,
# the intermediate's name, a million entries and a garbage signature; an
# unmodified `openssl verify` under /usr/bin/time -v must fail with error 3
# (the signature, checked over the raw tbsCertList before any entry is
# decoded), within 5 s and with a peak RSS under three times the body (the
# download buffer as it grows; decoding the entries took ten times the
# body). Within fail_cache a second
# verification does not fetch it again, and a revoked leaf is never
# accepted. The same body over max_crl_size (the 32M default, 40 MB) is
# refused while it arrives. A genuine CRL with 100,000 entries still
# verifies: good accepted, revoked refused.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup crl_junk
need_bin /usr/bin/time time

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"

# junk SIZE OUT: the real inter.crl's header, SIZE bytes of entries, a
# garbage signature
junk() {
    python3 - "$WWW/inter.crl" "$2" "$1" <<'EOF'
import os, sys
def hdr(b, i):
    l = b[i + 1]; i += 2
    if l & 0x80:
        n = l & 0x7f; l = int.from_bytes(b[i:i + n], 'big'); i += n
    return i, l
def enc(tag, body):
    n = len(body)
    if n < 128:
        return bytes([tag, n]) + body
    nb = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([tag, 0x80 | len(nb)]) + nb + body
real = open(sys.argv[1], 'rb').read()
i, _ = hdr(real, 0)
j, tl = hdr(real, i)
fields, k = [], j
while len(fields) < 5:
    c, ln = hdr(real, k)
    fields.append(real[k:c + ln]); k = c + ln
c, ln = hdr(real, j + tl)
sigalg = real[j + tl:c + ln]
ents = bytearray()
for s in range(int(sys.argv[3]) // 27):
    ents += b'\x30\x19\x02\x08' + (s | (1 << 62)).to_bytes(8, 'big') \
        + b'\x17\x0d250101000000Z'
tbs = enc(0x30, b''.join(fields) + enc(0x30, bytes(ents)))
sig = enc(0x03, b'\x00' + os.urandom(72))
open(sys.argv[2], 'wb').write(enc(0x30, tbs + sigalg + sig))
EOF
}

# timed NAME CNF CERT: ossl_verify under /usr/bin/time -v; RSS_KB set
timed() {
    run_host "$1" "$2" /usr/bin/time -v "$OPENSSL_BIN" verify \
        -CAfile "$PKI/root.pem" -untrusted "$PKI/inter.pem" "$3"
    RSS_KB=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT")
}

junk 30000000 "$WORK/junk30.crl"
junk 40000000 "$WWW/junk40.crl"
cp "$WORK/junk30.crl" "$WWW/inter.crl"
start_nginx "$WWW" "$port"
write_cnf "$WORK/junk.cnf" fail_cache=60

timed junk "$WORK/junk.cnf" "$PKI/good.pem"
expect_rc "30 MB junk CRL: verification fails" "!0"
expect_grep "30 MB junk CRL: error 3" "error 3 at 0 depth"
expect_grep "30 MB junk CRL: refused by its signature before decoding" \
    "checked before decoding"
expect_max_ms "30 MB junk CRL: within 5 s" 5000
# under AddressSanitizer (its shadow memory and quarantine) the bound is
# looser, still below what decoding the entries takes
rss_limit=90000
if [[ ${#HOST_ENV[@]} -gt 1 ]]; then
    rss_limit=300000
fi
expect_true "30 MB junk CRL: peak RSS ${RSS_KB} kB < $rss_limit kB" \
    test "${RSS_KB:-999999}" -lt "$rss_limit"
fetches=$(grep -c 'GET /inter.crl' "$NGINX_ACCESS_LOG" || true)
timed junk-again "$WORK/junk.cnf" "$PKI/revoked.pem"
expect_rc "30 MB junk CRL: revoked leaf not accepted" "!0"
expect_true "30 MB junk CRL: not fetched again within fail_cache" \
    test "$(grep -c 'GET /inter.crl' "$NGINX_ACCESS_LOG" || true)" \
    -eq "$fetches"

cp "$WWW/junk40.crl" "$WWW/inter.crl"
write_cnf "$WORK/big.cnf"
timed big "$WORK/big.cnf" "$PKI/good.pem"
expect_rc "40 MB junk CRL: verification fails" "!0"
expect_grep "40 MB junk CRL: over the 32M default max_crl_size" \
    "larger than max_crl_size \(33554432 bytes\)"

# a genuine CRL of 100,000 entries: the index of `openssl ca`
python3 - "$PKI/ca-inter/index.txt" <<'EOF'
import sys
with open(sys.argv[1], 'a') as f:
    for s in range(100000):
        f.write('R\t491231235959Z\t250101000000Z\t%X\tunknown\t/CN=x%d\n'
                % (0x7000000000 + s, s))
EOF
gen_crl inter "$WWW/inter.crl"
write_cnf "$WORK/real.cnf"
timed real-good "$WORK/real.cnf" "$PKI/good.pem"
expect_rc "CRL of 100,000 entries: good leaf accepted" 0
timed real-revoked "$WORK/real.cnf" "$PKI/revoked.pem"
expect_rc "CRL of 100,000 entries: revoked leaf refused" "!0"
expect_grep "CRL of 100,000 entries: error 23" "error 23 at 0 depth"
finish
