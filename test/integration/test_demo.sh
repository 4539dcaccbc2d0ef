#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Keeps the admin demo (.ci/demo) green: runs its core (no apt, no build)
# against this build tree and checks that all three demonstrations behaved
# as expected and that its output carries the headings an admin reads.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup demo
need_bin "$NGINX_BIN" nginx

run_cmd demo env DSEC_BUILD="$DSEC_BUILD" DSEC_SRC="$DSEC_SRC" \
    DSEC_WORK="$WORK/run" bash "$DSEC_SRC/.ci/demo" --no-setup
expect_rc "demo exits 0" 0
expect_grep "demo: good client accepted" \
    "AS EXPECTED: good client accepted"
expect_grep "demo: revoked client refused with alert 44" \
    "AS EXPECTED: revoked client refused with alert 44"
expect_grep "demo: CRL server down is transient" \
    "AS EXPECTED: CRL unreachable: error 3"
expect_no_grep "demo: nothing unexpected" "NOT AS EXPECTED"
expect_grep "demo: its own summary is 3 passed, 0 failed" \
    "^3 passed, 0 failed$"
expect_grep "demo: commands are echoed" '^\$ OPENSSL_CONF=openssl.cnf openssl s_server'

finish
