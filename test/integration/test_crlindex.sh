#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The compact CRL index (src/crlindex.c): a large CRL (200,000 entries, the
# revoked leaf among them) fetched once from nginx is written to cache_dir
# with its index; new `openssl verify` processes, nginx stopped, answer from
# the index (debug line "CRL index ... opened"): the revoked leaf is
# rejected (23), the good one accepted. A damaged index is ignored (logged)
# and the full CRL of cache_dir still rejects the revoked leaf.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
GEN="$DSEC_BUILD/bench/gen_bigcrl"
need_bin "$GEN" gen_bigcrl
dsec_setup crlindex
ENTRIES=${CRLINDEX_ENTRIES:-200000}

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
serial=$(pki_ossl x509 -in "$PKI/revoked.pem" -noout -serial | sed 's/.*=//')
run_cmd gen "$GEN" "$PKI/inter.pem" "$PKI/inter.key" "$ENTRIES" \
    "$WWW/inter.crl" "$serial"
expect_rc "a CRL of $ENTRIES entries and the revoked leaf generated" 0
start_nginx "$WWW" "$port"
write_cnf "$WORK/index.cnf" log_level=debug
cache=$(sed -n 's/^cache_dir *= *//p' "$WORK/index.cnf")

echo "-- the first process fetches the CRL and writes its index"
ossl_verify first "$WORK/index.cnf" "$PKI/good.pem"
expect_rc "good leaf, CRL fetched: accepted" 0
idx=$(find "$cache" -name '*.idx' -size +1000k | head -n 1)
expect_true "the large CRL's index is in cache_dir" test -n "$idx"
stop_nginx

echo "-- new processes answer from the index, nginx stopped"
ossl_verify revoked "$WORK/index.cnf" "$PKI/revoked.pem"
expect_rc "revoked leaf: rejected" 2
expect_grep "revoked leaf: error 23 (certificate revoked)" "error 23 at"
expect_grep "revoked leaf: looked up in the index" \
    "CRL index [0-9a-f]{64}\.idx opened \($((ENTRIES + 1)) entries\)"
ossl_verify good "$WORK/index.cnf" "$PKI/good.pem"
expect_rc "good leaf: accepted" 0
expect_grep "good leaf: from the index" "CRL index .* opened"
expect_no_grep "good leaf: nothing fetched" "^fetch "

echo "-- a damaged index is ignored, the full CRL still decides"
head -c 4000 "$idx" >"$WORK/short.idx"
cp "$WORK/short.idx" "$idx"
ossl_verify damaged "$WORK/index.cnf" "$PKI/revoked.pem"
expect_rc "revoked leaf, damaged index: rejected" 2
expect_grep "revoked leaf, damaged index: error 23" "error 23 at"
expect_grep "the damaged index is reported" "ignoring unusable CRL index"
ossl_verify damaged-good "$WORK/index.cnf" "$PKI/good.pem"
expect_rc "good leaf, damaged index: accepted from the full CRL" 0

finish
