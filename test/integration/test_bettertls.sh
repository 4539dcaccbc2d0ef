#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The 81 path-building cases of Netflix BetterTLS (test/data/bettertls,
# see its README): one trust root, per case a leaf and the intermediates a TLS
# server would send, and ACCEPT or REJECT. Unmodified `openssl verify`
# (purpose sslserver, host name checked, security level 2, at the export
# time) runs every case twice: plain OpenSSL with the root as -CAfile, and
# with domainsec through OPENSSL_CONF, the root only in trust_dirs
# (revocation = off: the cases carry no CDPs). domainsec must get every
# case right; plain OpenSSL is recorded for comparison (it does not
# backtrack).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup bettertls

DATA=$DSEC_SRC/test/data/bettertls/pathbuilding.json

CASES="$WORK/cases"
mkdir -p "$CASES" "$WORK/roots"
python3 - "$DATA" "$CASES" "$WORK/roots" <<'EOF'
import base64, json, os, sys, textwrap
data, out, roots = sys.argv[1:4]
d = json.load(open(data))

def pem(der_b64):
    body = "\n".join(textwrap.wrap(der_b64.strip(), 64))
    return "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % body

open(os.path.join(roots, "bettertls-root.pem"), "w").write(pem(d["trustRoot"]))
with open(os.path.join(out, "attime"), "w") as f:
    f.write("%d\n" % d["attime"])
for c in d["cases"]:
    cdir = os.path.join(out, "%03d" % c["id"])
    os.makedirs(cdir)
    leaf_suffix = "> " + c["leafNode"]
    chain = []
    for cert in c["certs"]:
        if cert["edge"].endswith(leaf_suffix):
            open(os.path.join(cdir, "leaf.pem"), "w").write(pem(cert["der"]))
        else:
            chain.append(pem(cert["der"]))
    open(os.path.join(cdir, "chain.pem"), "w").write("".join(chain))
    for k in ("expected", "hostname", "graph", "invalidReason"):
        open(os.path.join(cdir, k), "w").write(str(c[k]) + "\n")
EOF
attime=$(cat "$CASES/attime")
write_cnf "$WORK/dsec.cnf" revocation=off "trust_dirs=$WORK/roots"

# verify_case CNF CASEDIR: rc 0 when openssl verify accepts the case
verify_case() {
    local cnf=$1 dir=$2 host ca=()
    host=$(cat "$dir/hostname")
    if [[ "$cnf" == "-" ]]; then
        ca=(-CAfile "$WORK/roots/bettertls-root.pem")
    fi
    if [[ -s "$dir/chain.pem" ]]; then
        ca+=(-untrusted "$dir/chain.pem")
    fi
    run_host "case-$(basename "$dir")-$([[ $cnf == - ]] && echo plain ||
        echo dsec)" "$cnf" "$OPENSSL_BIN" verify -attime "$attime" \
        -purpose sslserver -verify_hostname "$host" -auth_level 2 \
        "${ca[@]}" "$dir/leaf.pem"
    [[ $RC -eq 0 ]] && grep -q ": OK$" "$OUT"
}

total=0
right_dsec=0
right_plain=0
accept_total=0
accept_dsec=0
accept_plain=0
slowest=0
for dir in "$CASES"/[0-9]*; do
    id=$(basename "$dir")
    expected=$(cat "$dir/expected")
    total=$((total + 1))
    [[ "$expected" == ACCEPT ]] && accept_total=$((accept_total + 1))
    if verify_case "$WORK/dsec.cnf" "$dir"; then got=ACCEPT; else got=REJECT; fi
    ((ELAPSED_MS > slowest)) && slowest=$ELAPSED_MS
    if [[ "$got" == "$expected" ]]; then
        right_dsec=$((right_dsec + 1))
        [[ "$expected" == ACCEPT ]] && accept_dsec=$((accept_dsec + 1))
    else
        fail "case $id ($(cat "$dir/graph") $(cat "$dir/invalidReason")):" \
            "domainsec $got, expected $expected"
        sed 's/^/    /' "$OUT" | head -5
    fi
    if verify_case - "$dir"; then got=ACCEPT; else got=REJECT; fi
    if [[ "$got" == "$expected" ]]; then
        right_plain=$((right_plain + 1))
        [[ "$expected" == ACCEPT ]] && accept_plain=$((accept_plain + 1))
    fi
done
echo "INFO: domainsec: $right_dsec/$total right, $accept_dsec/$accept_total" \
    "ACCEPT cases accepted; plain OpenSSL: $right_plain/$total right," \
    "$accept_plain/$accept_total accepted; slowest domainsec case" \
    "${slowest} ms"
expect_true "81 cases exported" test "$total" -eq 81
expect_true "domainsec gets every case right ($right_dsec/$total)" \
    test "$right_dsec" -eq "$total"
expect_true "plain OpenSSL misses ACCEPT cases domainsec gets" \
    test "$accept_plain" -lt "$accept_dsec"
expect_true "no case takes more than 2 s" test "$slowest" -lt 2000
finish
