#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A link found good a moment ago (provider/hook/linkmemo.c) stands in for a
# new decision only for the same link from the same CRLs: in one process
# (reverify, verifications one after the other through one store, as a
# long-running host makes them), within the memo's second, the good leaf verified again is
# answered from the memo (the debug log says so), and the same leaf with a
# CRL of the host that lists it (passed to the verification, or in a new
# store) is revoked every time, the revoked leaf under the remembered
# intermediate is revoked, a chain under a revoked intermediate is revoked;
# between them the good leaf is still good.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup linkmemo

REVERIFY="$DSEC_BUILD/test/reverify"
need_bin "$REVERIFY" reverify
port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
start_nginx "$WWW" "$port" crl
write_cnf "$WORK/domainsec.cnf"
# the host's own CRL of the intermediate, newer than the one nginx serves,
# lists the good leaf too
revoke good inter
gen_crl inter "$PKI/host-inter.crl"

steps=(
    good=inter
    good=inter
    good=inter+ctx:host-inter.crl
    good=inter
    good=inter+store:host-inter.crl
    good=inter
    revoked=inter
    good=inter
    under-revoked=inter-revoked
    good=inter
    good=inter+ctx:host-inter.crl
)
want=(0 0 23 0 23 0 23 0 23 0 23)
debug_log="$WORK/debug.log"
run_host steps "$WORK/domainsec.cnf" \
    env "DOMAINSEC_DEBUG=file:$debug_log,level:2" \
    "$REVERIFY" "$PKI/root.pem" "$PKI" "${steps[@]}"
expect_rc "reverify ran every step" 0
echo "   (${#steps[@]} verifications in ${ELAPSED_MS} ms)"
for i in "${!steps[@]}"; do
    n=$((i + 1))
    expect_grep "step $n, ${steps[$i]}: error ${want[$i]}" \
        "^step $n: error ${want[$i]}\$"
done
# steps 4, 6 and 8: the good leaf's link from the memo (step 2 follows the
# fetches of step 1, step 10 the fetch of inter-revoked.crl in step 9: a
# CRL stored since makes the memo's entries old, and the link is decided
# again)
expect_true "the good leaf's link was answered from the memo 3 times" test \
    "$(grep -c 'link 0: good a moment ago from the same CRLs' "$debug_log")" \
    -eq 3
expect_true "root.crl, inter.crl and inter-revoked.crl fetched once each" test \
    "$(grep -cE 'GET /(root|inter|inter-revoked)\.crl ' "$NGINX_ACCESS_LOG")" \
    -eq 3
finish
