#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The NIST PKITS conformance run (test/data/pkits, see its README): every row
# of expected.tsv (one validation run: path, extra certificates, CRLs, policy
# inputs, valid or invalid) is one unmodified `openssl verify` at the PKITS
# time, through domainsec (OPENSSL_CONF): the trust anchor only in
# trust_dirs, the intermediates and extra certificates as -untrusted, the
# run's CRLs as -CRLfile, no CRL switch at all (the provider turns CRL
# checking on itself, revocation = require, check_depth = chain), and
# -no-CAfile -no-CApath -no-CAstore so that nothing but trust_dirs is
# trusted. The policy columns become -policy (anyPolicy for "any"),
# -explicit_policy, -inhibit_map, -inhibit_any. Every run must give the
# expected verdict within 5 s (a run is killed after 10 s); 4.1.5 (DSA
# parameter inheritance, which OpenSSL 3 cannot decode) is skipped.
#
# PKITS_PLAIN=1 validates the harness instead: plain OpenSSL, the anchor as
# -CAfile, -crl_check_all plus the row's crl_opts switch, 4.1.5 included.
# It must reproduce the data's README exactly: 242 of 247 right, the
# differences being 4.1.5, 4.14.30, 4.15.1, 4.15.3 and 4.15.10 (reported,
# not failed); any other difference fails. PKITS_IDS="id ..." runs only
# those rows.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PLAIN=${PKITS_PLAIN:-0}
# PKITS_IDS="4.4.19 4.14.30": run only these rows (while debugging)
ONLY=${PKITS_IDS:+ $PKITS_IDS }
if [[ "$PLAIN" == 1 ]]; then
    dsec_setup pkits-plain
    MODE="plain OpenSSL"
else
    dsec_setup pkits
    MODE=domainsec
fi

DATA=$DSEC_SRC/test/data/pkits
TSV=$DATA/expected.tsv
ATTIME=1302825600
ANCHOR=TrustAnchorRootCertificate
ANY_POLICY=2.5.29.32.0
RUNS_WANTED=247
SKIPPED=4.1.5
KNOWN_PLAIN=" 4.1.5 4.14.30 4.15.1 4.15.3 4.15.10 "
LIMIT_MS=5000
# the hard limit of one openssl process: a hang or a spin is a failure of
# that run, never of the harness
CMD_TIMEOUT=10
OUT_CAP=1048576
# rows left when all runs together have taken this long are not run (and
# fail), so that the summary is printed before ctest's 600 s TIMEOUT
BUDGET_S=450

for f in "$TSV" "$DATA/certs/$ANCHOR.crt"; do
    if [[ ! -f "$f" ]]; then
        echo "FATAL: PKITS data missing: $f" >&2
        exit 1
    fi
done

PEM="$WORK/pem"
TRUST="$WORK/trust"
mkdir -p "$PEM/certs" "$PEM/crls" "$TRUST" "$WORK/cross" "$WORK/runs"

# Every certificate and CRL the rows name, DER to PEM once, into
# $PEM/{certs,crls}/NAME.pem: the certificates base64-wrapped by one python3
# process (the same bytes `openssl x509 -inform DER` writes, one process
# instead of 405), the CRLs with `openssl crl`, a few at a time.
conv_start=$(date +%s%N)
awk -F'\t' '!/^#/ && $1 != "id" { print $4; if ($5 != "-") print $5 }' \
    "$TSV" | tr , '\n' | sort -u >"$WORK/cert-names"
awk -F'\t' '!/^#/ && $1 != "id" { print $6 }' "$TSV" | tr , '\n' |
    sort -u >"$WORK/crl-names"
conv_ok=1
python3 - "$DATA/certs" "$PEM/certs" "$WORK/cert-names" <<'EOF' || conv_ok=0
import base64, sys, textwrap
src, dst, names = sys.argv[1:4]
for name in open(names).read().split():
    with open("%s/%s.crt" % (src, name), "rb") as f:
        b64 = base64.b64encode(f.read()).decode()
    with open("%s/%s.pem" % (dst, name), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n"
                % "\n".join(textwrap.wrap(b64, 64)))
EOF
xargs -P 4 -I{} env -u OPENSSL_CONF "$OPENSSL_BIN" crl -inform DER \
    -in "$DATA/crls/{}.crl" -out "$PEM/crls/{}.pem" <"$WORK/crl-names" ||
    conv_ok=0
if [[ $conv_ok -ne 1 ]]; then
    echo "FATAL: a PKITS certificate or CRL does not convert to PEM" >&2
    exit 1
fi
conv_ms=$((($(date +%s%N) - conv_start) / 1000000))
echo "converted $(wc -l <"$WORK/cert-names") certificates and" \
    "$(wc -l <"$WORK/crl-names") CRLs to PEM in $conv_ms ms"

cp "$PEM/certs/$ANCHOR.pem" "$TRUST/$ANCHOR.pem"
CNF="$WORK/pkits.cnf"
write_cnf "$CNF" "trust_dirs=$TRUST" "cross_dirs=$WORK/cross" "cache_dir=" \
    revocation=require check_depth=chain log=stderr
if [[ "$PLAIN" != 1 ]]; then
    run_host providers "$CNF" "$OPENSSL_BIN" list -providers
    expect_rc "openssl list -providers with the PKITS configuration" 0
    if awk '/^  [^ ]/ { p = $1 } p == "domainsec" && /status: active/ {
        f = 1 } END { exit !f }' "$OUT"; then
        pass "domainsec is active with the PKITS configuration"
    else
        fail "domainsec is not active with the PKITS configuration"
    fi
fi

bad_rows=$(awk -F'\t' '!/^#/ && NF != 11' "$TSV")
expect_true "every row of expected.tsv has 11 columns" test -z "$bad_rows"
dup_ids=$(awk -F'\t' '!/^#/ { print $1 }' "$TSV" | sort | uniq -d)
expect_true "every id of expected.tsv is unique" test -z "$dup_ids"
expect_true "header of expected.tsv as documented" grep -qxP \
    'id\tname\texpect\tpath\textra\tcrls\tpolicy\texplicit\tinh_map\tinh_any\tcrl_opts' \
    "$TSV"

# run_capped NAME cmd...: like lib.sh's run_cmd (sets RC, ELAPSED_MS, OUT),
# killed after $CMD_TIMEOUT s, and keeping only the first $OUT_CAP bytes of
# the output while still draining the rest: a run that spins writing log
# lines must end by the timeout, not by SIGPIPE, and not fill the disk.
run_capped() {
    local name=$1 start end
    shift
    OUT="$WORK/$name.out"
    start=$(date +%s%N)
    set +e
    timeout -k 2 "$CMD_TIMEOUT" "$@" 2>&1 </dev/null |
        {
            head -c "$OUT_CAP" >"$OUT"
            cat >/dev/null
        }
    RC=${PIPESTATUS[0]}
    set -e
    end=$(date +%s%N)
    ELAPSED_MS=$(((end - start) / 1000000))
    {
        echo "command: $*"
        echo "rc=$RC elapsed_ms=$ELAPSED_MS"
    } >"$OUT.cmd"
}

# run_row: verify one row (the read variables below); sets GOT (valid,
# invalid, timeout or error) and WHY (the openssl error line or what went
# wrong, empty when valid).
run_row() {
    local dir="$WORK/runs/${id//#/-}" n args=() certs=() files=()
    mkdir -p "$dir"
    IFS=, read -r -a certs <<<"$path"
    if [[ "${certs[0]}" != "$ANCHOR" ]]; then
        fail "$id: path starts with ${certs[0]}, not $ANCHOR"
    fi
    cp "$PEM/certs/${certs[-1]}.pem" "$dir/ee.pem"
    for n in "${certs[@]:1:${#certs[@]}-2}"; do
        files+=("$PEM/certs/$n.pem")
    done
    if [[ "$extra" != - ]]; then
        IFS=, read -r -a certs <<<"$extra"
        for n in "${certs[@]}"; do
            files+=("$PEM/certs/$n.pem")
        done
    fi
    if [[ ${#files[@]} -gt 0 ]]; then
        cat "${files[@]}" >"$dir/untrusted.pem"
    fi
    files=()
    IFS=, read -r -a certs <<<"$crls"
    for n in "${certs[@]}"; do
        files+=("$PEM/crls/$n.pem")
    done
    cat "${files[@]}" >"$dir/crls.pem"

    args=(verify -attime "$ATTIME" -no-CApath -no-CAstore)
    if [[ "$PLAIN" == 1 ]]; then
        args+=(-CAfile "$TRUST/$ANCHOR.pem" -crl_check_all)
        case "$crl_opts" in
        -) ;;
        extended_crl) args+=(-extended_crl) ;;
        use_deltas) args+=(-use_deltas) ;;
        *) fail "$id: unknown crl_opts '$crl_opts'" ;;
        esac
    else
        args+=(-no-CAfile)
    fi
    if [[ -f "$dir/untrusted.pem" ]]; then
        args+=(-untrusted "$dir/untrusted.pem")
    fi
    args+=(-CRLfile "$dir/crls.pem")
    # "any" is the initial-policy-set {anyPolicy}: OpenSSL needs it spelt
    # out, as without -policy it does no policy processing at all, and with
    # -explicit_policy but no -policy its user policy set is empty (error 43)
    if [[ "$policy" == any ]]; then
        certs=("$ANY_POLICY")
    else
        IFS=, read -r -a certs <<<"$policy"
    fi
    for n in "${certs[@]}"; do
        args+=(-policy "$n")
    done
    [[ "$explicit" == 1 ]] && args+=(-explicit_policy)
    [[ "$inh_map" == 1 ]] && args+=(-inhibit_map)
    [[ "$inh_any" == 1 ]] && args+=(-inhibit_any)
    args+=("$dir/ee.pem")

    local envs=(env -u OPENSSL_CONF)
    if [[ "$PLAIN" != 1 ]]; then
        envs=("${HOST_ENV[@]}" "OPENSSL_CONF=$CNF")
    fi
    run_capped "runs/${id//#/-}/verify" "${envs[@]}" "$OPENSSL_BIN" "${args[@]}"
    WHY=""
    if [[ $RC -eq 0 ]] && grep -qxF "$dir/ee.pem: OK" "$OUT"; then
        GOT=valid
    elif [[ $RC -eq 2 ]] &&
        grep -qxF "error $dir/ee.pem: verification failed" "$OUT"; then
        GOT=invalid
        WHY=$(grep -m1 -E '^error [0-9]+ at [0-9]+ depth lookup' "$OUT" ||
            echo "no error line")
    elif [[ $RC -eq 124 || $RC -eq 137 ]]; then
        # a hang is a failure whatever the row expects
        GOT=timeout
        WHY="killed after $CMD_TIMEOUT s"
        TIMEOUTS+=("$id")
    else
        # neither verdict: a crash, or openssl could not load its input
        GOT=error
        WHY="rc $RC: $(grep -m1 -v '^domainsec:' "$OUT" || echo "no output")"
    fi
    if [[ $(stat -c %s "$OUT") -ge $OUT_CAP ]]; then
        WHY+=" (output cut at $OUT_CAP bytes)"
    fi
}

total=0
right=0
slowest=0
slowest_id=""
MISMATCH=()
UNEXPECTED=()
NOT_RUN=()
TIMEOUTS=()
SLOW=()
start_all=$(date +%s%N)
while IFS=$'\t' read -r -u 3 id name expect path extra crls policy \
    explicit inh_map inh_any crl_opts; do
    if [[ "$id" == \#* || "$id" == id ]]; then
        continue
    fi
    if [[ "$expect" != valid && "$expect" != invalid ]] ||
        [[ ! "$explicit$inh_map$inh_any" =~ ^[01]{3}$ ]]; then
        fail "$id ($name): malformed row"
        continue
    fi
    if [[ -n "$ONLY" && "$ONLY" != *" $id "* ]]; then
        continue
    fi
    if [[ "$id" == "$SKIPPED" && "$PLAIN" != 1 ]]; then
        echo "$id  skipped (DSA parameter inheritance: OpenSSL 3 cannot decode it)"
        continue
    fi
    total=$((total + 1))
    if (($(date +%s%N) - start_all > BUDGET_S * 1000000000)); then
        NOT_RUN+=("$id")
        MISMATCH+=("$id")
        UNEXPECTED+=("$id")
        continue
    fi
    run_row
    if ((ELAPSED_MS > slowest)); then
        slowest=$ELAPSED_MS
        slowest_id=$id
    fi
    mark=""
    known=0
    if [[ "$PLAIN" == 1 && "$KNOWN_PLAIN" == *" $id "* ]]; then
        known=1
    fi
    if [[ "$GOT" == "$expect" ]]; then
        right=$((right + 1))
        if [[ $known == 1 ]]; then
            UNEXPECTED+=("$id")
            mark="  (plain OpenSSL 3.0 should get this one wrong)"
        fi
    else
        MISMATCH+=("$id")
        mark="  MISMATCH"
        # the known difference is the opposite verdict, not a hang or error
        if [[ $known == 1 && ("$GOT" == valid || "$GOT" == invalid) ]]; then
            mark="  MISMATCH (known for plain OpenSSL 3.0)"
        else
            UNEXPECTED+=("$id")
        fi
    fi
    printf '%-9s expected %-7s got %-7s %5d ms%s%s\n' "$id" "$expect" \
        "$GOT" "$ELAPSED_MS" "$mark" "${WHY:+  | $WHY}"
    if ((ELAPSED_MS > LIMIT_MS)); then
        SLOW+=("$id")
        OUT="" # its line above says why; the output may be a flood
        fail "$id ($name): took $ELAPSED_MS ms > $LIMIT_MS ms"
    fi
done 3<"$TSV"
end_all=$(date +%s%N)
total_s=$(((end_all - start_all) / 1000000000))

if [[ "$PLAIN" == 1 ]]; then
    summary="PKITS ($MODE): $right/$total runs as expected"
    runs_expected=$RUNS_WANTED
else
    summary="PKITS: $right/$total runs as expected ($SKIPPED skipped)"
    runs_expected=$((RUNS_WANTED - 1))
fi
echo "$summary"
echo "slowest run ${slowest_id:--} ${slowest} ms; all runs ${total_s} s"
echo "not as expected (${#MISMATCH[@]}): ${MISMATCH[*]:--}"
echo "timed out (${#TIMEOUTS[@]}): ${TIMEOUTS[*]:--}"
echo "over $LIMIT_MS ms (${#SLOW[@]}): ${SLOW[*]:--}"
if [[ ${#NOT_RUN[@]} -gt 0 ]]; then
    echo "not run, over the ${BUDGET_S} s budget (${#NOT_RUN[@]}): ${NOT_RUN[*]}"
fi

OUT="" # the assertions below are about all runs, not the last output
if [[ -z "$ONLY" ]]; then
    expect_true "$runs_expected runs read from expected.tsv ($total)" \
        test "$total" -eq "$runs_expected"
else
    expect_true "PKITS_IDS: every id found ($total)" \
        test "$total" -eq "$(wc -w <<<"$ONLY")"
fi
if [[ "$PLAIN" == 1 ]]; then
    expect_true "plain OpenSSL gets wrong exactly$KNOWN_PLAIN(of those run; unexpected: ${UNEXPECTED[*]:-none})" \
        test "${#UNEXPECTED[@]}" -eq 0
else
    expect_true "every run gives the expected verdict (not as expected: ${MISMATCH[*]:-none})" \
        test "${#MISMATCH[@]}" -eq 0
fi
expect_true "no run hit the $CMD_TIMEOUT s kill (${TIMEOUTS[*]:-none})" \
    test "${#TIMEOUTS[@]}" -eq 0
expect_true "every run within $LIMIT_MS ms (slowest ${slowest} ms)" \
    test "${#SLOW[@]}" -eq 0
finish
