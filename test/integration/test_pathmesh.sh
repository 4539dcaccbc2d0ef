#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Path building with backtracking over a generated mesh, and its bounds.
#
# The mesh (the model below is its only description): 12 CAs in four
# organisations, our root R the only trust anchor (trust_dirs), partner
# roots P1, P2, P3 untrusted (their self-signed certificates in the pool),
# 20 CA certificates (8 within an organisation, 12 cross-certificates, some
# of them dead ends under P3, one loop, one bilateral R-by-P2) in cross_dirs,
# and a leaf under each CA but R. `openssl verify` through OPENSSL_CONF gets
# only the leaf. In a variant, the leaves whose search can meet the changed
# certificate (its subject is reachable by issuer names) are verified; the
# others keep their base answer (the model checks that) and are verified in
# every variant of one edge (FULL_EDGE). Then each CA certificate in turn is made invalid in each
# way (expired, not yet valid, CA:FALSE, no keyCertSign, pathlen 0, pathlen
# 1, name constraints excluding the "b" leaves, bad signature, revoked,
# issued by an untrusted root instead): the model says which leaves keep a
# valid path to R under RFC 5280, and verification must succeed exactly for
# them. Every path the model considers is also given, alone, to plain
# OpenSSL (-CAfile R -untrusted <path> -crl_check_all): its verdict and
# error code must agree with the model, so the expectations are checked
# against OpenSSL's own RFC 5280 implementation.
#
# Bounds: 200 CA certificates with the leaf's issuer name and key
# identifier but other keys (the signature bound), a chain of 15 CAs (the
# depth bound) and cross-signing loops finish quickly with a fatal result.
#
# DSEC_JOBS (default 2) verifications run in parallel.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/lib_pki.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_pki.sh"
dsec_setup pathmesh
JOBS=${DSEC_JOBS:-2}
T0=$(date +%s)

# ------------------------------------------------------------------ model

MODEL="$WORK/mesh_model.py"
cat >"$MODEL" <<'EOF'
"""The mesh and what RFC 5280 says about it.

A CA is a name with one key; an edge is a certificate (subject CA, issuer
CA). A path for a leaf is leaf, e1, ..., ek, R: the subject of e1 is the
leaf's CA, the issuer of ek is R, each CA at most once (a path through a CA
twice contains a shorter one that is valid whenever it is). Edge ej is at
chain index j (the leaf is 0); no certificate here is self-issued, so below
ej there are j - 1 intermediates: pathlen:N on ej fails when j - 1 > N.
Name constraints (permitted DNS subtree) of an edge apply to the leaf's
DNS names. A leaf is valid when one of its paths passes every check.
"""
import sys

TRUSTED = "R"
CAS = [  # name, kind: trusted | untrusted (root in the pool) | dead | inter
    ("R", "trusted"), ("P1", "untrusted"), ("P2", "untrusted"),
    ("P3", "untrusted"), ("U", "dead"),
    ("A", "inter"), ("B", "inter"), ("C", "inter"), ("D", "inter"),
    ("E", "inter"), ("F", "inter"), ("G", "inter"), ("H", "inter"),
]
ORG = {"R": 0, "A": 0, "B": 0, "P1": 1, "C": 1, "D": 1, "P2": 2, "E": 2,
       "F": 2, "P3": 3, "G": 3, "H": 3, "U": 4}
# In file order: the order of the candidates in cross_dirs.
EDGES = [
    ("x01", "A", "R"), ("x02", "B", "R"), ("x03", "P1", "R"),
    ("x04", "C", "P1"), ("x05", "C", "A"), ("x06", "D", "P3"),
    ("x07", "D", "C"), ("x08", "P2", "B"), ("x09", "E", "P3"),
    ("x10", "E", "P2"), ("x11", "F", "E"), ("x12", "G", "P3"),
    ("x13", "G", "D"), ("x14", "H", "G"), ("x15", "H", "F"),
    ("x16", "C", "G"), ("x17", "R", "P2"), ("x18", "P1", "P3"),
    ("x19", "A", "P2"), ("x20", "P2", "P3"),
]
LEAVES = [  # leaf, CA, group (its DNS name is leaf.group.mesh.test)
    ("lA", "A", "a"), ("lB", "B", "b"), ("lC", "C", "a"), ("lD", "D", "b"),
    ("lE", "E", "a"), ("lF", "F", "b"), ("lG", "G", "a"), ("lH", "H", "b"),
    ("lP1", "P1", "a"), ("lP2", "P2", "b"),
]
NC_PERMITTED = "a.mesh.test"
KINDS = ["expired", "notyet", "cafalse", "nokcs", "pathlen0", "pathlen1",
         "nc", "badsig", "revoked", "untrusted"]
# the error plain OpenSSL 3 reports for a path through such an edge
KIND_ERRORS = {"expired": "10", "notyet": "9", "cafalse": "79|24",
               "nokcs": "79|24|32", "pathlen0": "25", "pathlen1": "25",
               "nc": "47", "badsig": "7", "revoked": "23",
               "untrusted": "19|20|2"}
MAX_DFS = 60
# the variants of this edge verify every leaf, not only those whose search
# meets the changed certificate
FULL_EDGE = "x14"  # candidates of an exhaustive search, well under 100


def dns(leaf, group):
    return "%s.%s.mesh.test" % (leaf.lower(), group)


def paths(ca, seen):
    if ca == TRUSTED:
        yield []
        return
    for eid, subj, iss in EDGES:
        if subj == ca and iss not in seen:
            for rest in paths(iss, seen | {iss}):
                yield [eid] + rest


def all_paths(ca):
    return list(paths(ca, {ca}))


def dfs_size(ca, seen):
    """Candidates tried (one signature check each) by an exhaustive search
    that cuts loops by CA and stops at R; self-signed pool roots count."""
    if ca == TRUSTED:
        return 0
    n = 1 if dict(CAS)[ca] in ("untrusted", "dead") else 0
    for eid, subj, iss in EDGES:
        if subj == ca and iss not in seen:
            n += 1 + dfs_size(iss, seen | {iss})
    return n


def link_ok(kind, vedge, eid, index, group):
    if eid != vedge:
        return True
    below = index - 1  # intermediates between this edge and the leaf
    if kind == "pathlen0":
        return below <= 0
    if kind == "pathlen1":
        return below <= 1
    if kind == "nc":
        return group == "a"
    return False  # every other kind makes the certificate unusable


def path_ok(path, kind, vedge, group):
    return all(link_ok(kind, vedge, eid, i + 1, group)
               for i, eid in enumerate(path))


def cmd_spec():
    for name, kind in CAS:
        print("ca", name, kind)
    for eid, subj, iss in EDGES:
        print("edge", eid, subj, iss)
    for leaf, ca, group in LEAVES:
        print("leaf", leaf, ca, dns(leaf, group))
    print("nc", NC_PERMITTED)
    for kind in KINDS:
        print("kind", kind, KIND_ERRORS[kind])


def searched(ca):
    """The CAs a search from ca can meet: candidates are found by issuer
    name, so a certificate whose subject is not among them is never seen."""
    seen, todo = {ca}, [ca]
    while todo:
        cur = todo.pop()
        if cur == TRUSTED:
            continue
        for _, subj, iss in EDGES:
            if subj == cur and iss not in seen:
                seen.add(iss)
                todo.append(iss)
    return seen


def cmd_expect(kind, vedge):
    """leaf valid|invalid run|same [the shortest valid path]; "same": the
    leaf's search never meets the changed certificate, its answer is the
    base one (checked here) and it is verified in every variant of FULL_EDGE
    only"""
    subj = {e: s for e, s, _ in EDGES}.get(vedge)
    for leaf, ca, group in LEAVES:
        ok = sorted((p for p in all_paths(ca)
                     if path_ok(p, kind, vedge, group)), key=len)
        run = kind == "base" or vedge == FULL_EDGE or subj in searched(ca)
        if not run and not any(path_ok(p, "base", "none", group)
                               for p in all_paths(ca)) == bool(ok):
            raise SystemExit("model: %s %s %s differs from base" %
                             (kind, vedge, leaf))
        print(leaf, "valid" if ok else "invalid", "run" if run else "same",
              " ".join(ok[0]) if ok else "")


def cmd_control(kind, vedge):
    """leaf verdict path: every path (base) or every path through vedge"""
    for leaf, ca, group in LEAVES:
        for p in all_paths(ca):
            if kind == "base" or vedge in p:
                verdict = "valid" if path_ok(p, kind, vedge, group) \
                    else "invalid"
                print(leaf, verdict, " ".join(p))


def cmd_check():
    """The design promises of the mesh; prints one line each."""
    bad = 0
    cas = [n for n, k in CAS if k != "dead"]
    cross = [e for e, s, i in EDGES if ORG[s] != ORG[i]]
    checks = [
        ("at least 8 CAs (%d)" % len(cas), len(cas) >= 8),
        ("at least 12 cross-certificates (%d)" % len(cross),
         len(cross) >= 12),
    ]
    for leaf, ca, group in LEAVES:
        ps = all_paths(ca)
        size = dfs_size(ca, {ca})
        checks.append(("%s: %d paths, longest %d CA certificates, "
                       "exhaustive search %d candidates <= %d"
                       % (leaf, len(ps), max(map(len, ps)), size, MAX_DFS),
                       ps and size <= MAX_DFS and max(map(len, ps)) <= 7))
    # backtracking matters: for some CAs the first candidate in file order
    # (a self-signed partner root, or an edge) leads to no anchor
    first_dead = []
    for name, kind in CAS:
        if kind == "untrusted":
            first_dead.append(name)  # its own root comes first in the pool
            continue
        first = [iss for _, subj, iss in EDGES if subj == name][:1]
        if first and not list(paths(first[0], {first[0], name})):
            first_dead.append(name)
    checks.append(("CAs whose first candidate leads to no anchor: %s"
                   % " ".join(first_dead), len(first_dead) >= 3))
    for kind in KINDS:
        inval = sum(1 for eid, _, _ in EDGES for leaf, ca, group in LEAVES
                    if not any(path_ok(p, kind, eid, group)
                               for p in all_paths(ca)))
        checks.append(("%s: leaves invalid over all variants: %d"
                       % (kind, inval), inval > 0))
    for text, ok in checks:
        print(("ok " if ok else "NOT ") + text)
        bad += 0 if ok else 1
    return bad


def cmd_all(outdir):
    """expect.txt and control.txt of every variant in outdir/TAG/, TAG
    being "base" or KIND-EDGE; the tags, in order, on stdout."""
    import contextlib
    import io
    import os
    variants = [("base", "none")] + [(k, e) for e, _, _ in EDGES
                                     for k in KINDS]
    for kind, vedge in variants:
        tag = "base" if kind == "base" else "%s-%s" % (kind, vedge)
        os.makedirs(os.path.join(outdir, tag), exist_ok=True)
        for name, fn in (("expect.txt", cmd_expect),
                         ("control.txt", cmd_control)):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                fn(kind, vedge)
            with open(os.path.join(outdir, tag, name), "w") as f:
                f.write(buf.getvalue())
        print(tag)


def main():
    cmd = sys.argv[1]
    if cmd == "spec":
        cmd_spec()
    elif cmd == "all":
        cmd_all(sys.argv[2])
    elif cmd == "check":
        sys.exit(1 if cmd_check() else 0)


main()
EOF
model() {
    python3 "$MODEL" "$@"
}

# ------------------------------------------------------------------ jobs

# Verifications are written as small scripts under $WORK/jobs and run
# DSEC_JOBS at a time by run_jobs; job NAME leaves $WORK/runs/NAME.out (its
# output), NAME.out.rc, NAME.out.ms and NAME.sh (to rerun it by hand).
mkdir -p "$WORK/jobs" "$WORK/runs"
# add_job NAME CNF cmd...: CNF is an OPENSSL_CONF, or "-" for none.
add_job() {
    local name=$1 cnf=$2 envs
    shift 2
    if [[ "$cnf" == - ]]; then
        envs=(env -u OPENSSL_CONF)
    else
        envs=("${HOST_ENV[@]}" "OPENSSL_CONF=$cnf")
    fi
    # shellcheck disable=SC2016 # the job script expands these itself
    {
        printf 'out=%q\n' "$WORK/runs/$name.out"
        printf 'start=$(date +%%s%%N)\n'
        printf 'timeout %q ' "${CMD_TIMEOUT:-60}"
        printf '%q ' "${envs[@]}" "$@"
        printf '>"$out" 2>&1\n'
        printf 'echo $? >"$out.rc"\n'
        printf 'echo $(( ($(date +%%s%%N) - start) / 1000000 )) >"$out.ms"\n'
    } >"$WORK/jobs/$name.sh"
    cp "$WORK/jobs/$name.sh" "$WORK/runs/$name.sh"
}
run_jobs() {
    find "$WORK/jobs" -name '*.sh' -print0 |
        xargs -0 -r -P "$JOBS" -n 1 bash
    rm -f "$WORK/jobs"/*.sh
}
# job_rc NAME / job_out NAME: status and output file of a finished job.
job_rc() {
    cat "$WORK/runs/$1.out.rc" 2>/dev/null || echo 255
}
job_out() {
    echo "$WORK/runs/$1.out"
}
# errors_of FILE: the "error N at D" lines of openssl verify, on one line.
errors_of() {
    grep -oE 'error [0-9]+ at [0-9]+ depth lookup' "$1" | paste -sd ',' ||
        true
}

# ------------------------------------------------------------------ mesh

declare -A CA_KIND=() EDGE_SUBJ=() EDGE_ISS=() LEAF_CA=() LEAF_DNS=()
declare -A KIND_ERR=()
CA_NAMES=()
EDGE_IDS=()
LEAF_IDS=()
KINDS=()
NC_DNS=""
while read -r what a b c; do
    case "$what" in
    ca)
        CA_KIND[$a]=$b
        CA_NAMES+=("$a")
        ;;
    edge)
        EDGE_SUBJ[$a]=$b
        EDGE_ISS[$a]=$c
        EDGE_IDS+=("$a")
        ;;
    leaf)
        LEAF_CA[$a]=$b
        LEAF_DNS[$a]=$c
        LEAF_IDS+=("$a")
        ;;
    nc) NC_DNS=$a ;;
    kind)
        KINDS+=("$a")
        KIND_ERR[$a]=$b
        ;;
    esac
done < <(model spec)
DEAD=""
for ca in "${CA_NAMES[@]}"; do
    if [[ "${CA_KIND[$ca]}" == dead ]]; then
        DEAD=$ca
    fi
done

echo "-- the model's design checks"
model check >"$WORK/model-check.txt" || true
sed 's/^/   /' "$WORK/model-check.txt"
expect_no_grep "model: every design promise holds" '^NOT ' \
    "$WORK/model-check.txt"

echo "-- PKI: ${#CA_NAMES[@]} CAs, ${#EDGE_IDS[@]} CA certificates," \
    "${#KINDS[@]} defects each, ${#LEAF_IDS[@]} leaves"
port=$(free_port)
pk_init "$WORK/pki" "http://127.0.0.1:$port"
SUBJ_BASE="/O=domainsec mesh"
for ca in "${CA_NAMES[@]}"; do
    if [[ "${CA_KIND[$ca]}" == inter ]]; then
        pk_ca "$ca" "$SUBJ_BASE/CN=Mesh CA $ca"
    else
        pk_root "$ca" "$SUBJ_BASE/CN=Mesh Root $ca"
    fi
done
mkdir -p "$PK/edges"
# edge_cert ID KIND: $PK/edges/ID.KIND.pem, edge ID with defect KIND
# ("base": none).
edge_cert() {
    local id=$1 kind=$2 subj=${EDGE_SUBJ[$1]} iss=${EDGE_ISS[$1]}
    local out="$PK/edges/$1.$2.pem" ext="$PK/edges/$1.$2.ext"
    local cdp="cdp=$PK_URL/$iss.crl" dates=("" "")
    case "$kind" in
    base | revoked) pk_ext "$ext" "$cdp" ;;
    expired)
        pk_ext "$ext" "$cdp"
        dates=("$PK_PAST_START" "$PK_PAST_END")
        ;;
    notyet)
        pk_ext "$ext" "$cdp"
        dates=("$PK_FUTURE_START" "$PK_FUTURE_END")
        ;;
    cafalse) pk_ext "$ext" "$cdp" ca=FALSE ;;
    nokcs) pk_ext "$ext" "$cdp" ku=digitalSignature,cRLSign ;;
    pathlen0) pk_ext "$ext" "$cdp" pathlen=0 ;;
    pathlen1) pk_ext "$ext" "$cdp" pathlen=1 ;;
    nc) pk_ext "$ext" "$cdp" "nc=permitted;DNS:$NC_DNS" ;;
    badsig)
        pk_flip_sig "$PK/edges/$id.base.pem" "$out"
        return 0
        ;;
    untrusted)
        iss=$DEAD
        pk_ext "$ext" "cdp=$PK_URL/$iss.crl"
        ;;
    esac
    pk_sign "$out" "$subj" "$iss" "$ext" "${dates[@]}"
    if [[ "$kind" == revoked ]]; then
        pk_revoke "$iss" "$out"
    fi
}
for id in "${EDGE_IDS[@]}"; do
    edge_cert "$id" base
    for kind in "${KINDS[@]}"; do
        edge_cert "$id" "$kind"
    done
done
for leaf in "${LEAF_IDS[@]}"; do
    pk_leaf "$leaf" "$SUBJ_BASE/CN=mesh leaf $leaf" "${LEAF_CA[$leaf]}" \
        "${LEAF_DNS[$leaf]}"
done
for ca in "${CA_NAMES[@]}"; do
    pk_crl "$ca"
done
pk_crl_bundle "$WORK/crls.pem"
mkdir -p "$WORK/trust" "$WORK/pool-base"
cp "$PK/R.pem" "$WORK/trust/R.pem"
for ca in "${CA_NAMES[@]}"; do
    if [[ "${CA_KIND[$ca]}" == untrusted || "${CA_KIND[$ca]}" == dead ]]; then
        cp "$PK/$ca.pem" "$WORK/pool-base/00-root-$ca.pem"
    fi
done
# pool_name ID: the file name of edge ID in cross_dirs (file order = ID
# order; a defective copy keeps the name).
pool_name() {
    echo "$1-${EDGE_SUBJ[$1]}-by-${EDGE_ISS[$1]}.pem"
}
for id in "${EDGE_IDS[@]}"; do
    cp "$PK/edges/$id.base.pem" "$WORK/pool-base/$(pool_name "$id")"
done
start_nginx "$PK_WWW" "$port"
echo "   generated in $(($(date +%s) - T0)) s"

# ------------------------------------------------------------- variants

# VARIANTS: "base" and KIND-ID for every defect of every edge; the model
# writes each one's expected answers (expect.txt: leaf, verdict, shortest
# valid path) and the paths plain OpenSSL checks (control.txt: every path in
# base, every path through the changed edge otherwise).
mkdir -p "$WORK/variants" "$WORK/ctl"
mapfile -t VARIANTS < <(model all "$WORK/variants")
# Each variant: its pool, its configuration (fresh cache), one domainsec
# job per leaf (and the CLI for one rejected leaf), a plain-OpenSSL job per
# path of control.txt.
nctl=0
nds=0
for tag in "${VARIANTS[@]}"; do
    vkind=${tag%%-*}
    vedge=none
    if [[ "$tag" != base ]]; then
        vedge=${tag#*-}
    fi
    vdir="$WORK/variants/$tag"
    cp -r "$WORK/pool-base" "$vdir/pool"
    if [[ "$tag" != base ]]; then
        cp "$PK/edges/$vedge.$vkind.pem" "$vdir/pool/$(pool_name "$vedge")"
    fi
    write_cnf "$vdir/openssl.cnf" "trust_dirs=$WORK/trust" \
        "cross_dirs=$vdir/pool"
    while read -r leaf verdict run _; do
        if [[ "$run" != run ]]; then
            continue
        fi
        nds=$((nds + 1))
        add_job "$tag.$leaf" "$vdir/openssl.cnf" "$OPENSSL_BIN" verify \
            "$PK/$leaf.pem"
        if [[ "$tag" == base ]] ||
            [[ "$verdict" == invalid && ! -f "$vdir/cli-leaf" ]]; then
            echo "$leaf" >>"$vdir/cli-leaf"
            add_job "$tag.$leaf.cli" - "$CLI" verify --config \
                "$vdir/openssl.cnf" "$PK/$leaf.pem"
        fi
    done <"$vdir/expect.txt"
    n=0
    while read -r leaf verdict path; do
        n=$((n + 1))
        bundle="$WORK/ctl/$tag.$n.pem"
        : >"$bundle"
        for id in $path; do
            if [[ "$id" == "$vedge" ]]; then
                cat "$PK/edges/$id.$vkind.pem" >>"$bundle"
            else
                cat "$PK/edges/$id.base.pem" >>"$bundle"
            fi
        done
        if [[ "$vkind" == untrusted ]]; then
            cat "$PK/$DEAD.pem" >>"$bundle"
        fi
        add_job "ctl.$tag.$n" - "$OPENSSL_BIN" verify -CAfile "$PK/R.pem" \
            -untrusted "$bundle" -crl_check_all -CRLfile "$WORK/crls.pem" \
            "$PK/$leaf.pem"
        nctl=$((nctl + 1))
    done <"$vdir/control.txt"
done
echo "-- ${#VARIANTS[@]} variants: $nds leaf verifications through" \
    "domainsec, $nctl paths through plain OpenSSL, $JOBS at a time"
T1=$(date +%s)
run_jobs
echo "   ran in $(($(date +%s) - T1)) s"

echo "-- plain OpenSSL on every path agrees with the model"
for v in "${VARIANTS[@]}"; do
    vkind=${v%%-*}
    tag=$v
    n=0
    bad=0
    while read -r leaf verdict path; do
        n=$((n + 1))
        OUT=$(job_out "ctl.$tag.$n")
        rc=$(job_rc "ctl.$tag.$n")
        if [[ "$verdict" == valid ]]; then
            if [[ "$rc" -ne 0 ]] || ! grep -q ": OK\$" "$OUT"; then
                bad=1
                fail "control $v: $leaf via [$path]: model valid," \
                    "plain OpenSSL rc $rc $(errors_of "$OUT")"
            fi
        elif [[ "$rc" -eq 0 ]]; then
            bad=1
            fail "control $v: $leaf via [$path]: model invalid," \
                "plain OpenSSL accepts it"
        elif ! grep -Eq "error (${KIND_ERR[$vkind]:-x}) at" "$OUT"; then
            bad=1
            fail "control $v: $leaf via [$path]: model invalid, plain" \
                "OpenSSL fails but not with error ${KIND_ERR[$vkind]:-?}:" \
                "$(errors_of "$OUT")"
        fi
    done <"$WORK/variants/$tag/control.txt"
    if [[ "$bad" -eq 0 ]]; then
        pass "control $v: plain OpenSSL agrees on all $n paths"
    fi
done

echo "-- domainsec: openssl verify LEAF (no -CAfile) succeeds exactly" \
    "for the leaves with a valid path"
declare -A SUMMARY=()
for v in "${VARIANTS[@]}"; do
    tag=$v
    vdir="$WORK/variants/$tag"
    valid=()
    invalid=()
    while read -r leaf verdict run path; do
        if [[ "$verdict" == valid ]]; then
            valid+=("$leaf")
        else
            invalid+=("$leaf")
        fi
        if [[ "$run" != run ]]; then
            continue
        fi
        OUT=$(job_out "$tag.$leaf")
        rc=$(job_rc "$tag.$leaf")
        got=invalid
        if [[ "$rc" -eq 0 ]] && grep -q "^$PK/$leaf.pem: OK\$" "$OUT"; then
            got=valid
        fi
        if [[ "$got" != "$verdict" ]]; then
            fail "$v: $leaf expected $verdict${path:+ (e.g. via $path)}," \
                "got $got (rc $rc $(errors_of "$OUT"))"
        elif [[ "$got" == invalid ]] && grep -q "domainsec: transient" "$OUT"; then
            fail "$v: $leaf rejected, but classified transient"
        else
            pass "$v: $leaf $verdict as expected"
        fi
    done <"$vdir/expect.txt"
    while read -r leaf; do
        OUT=$(job_out "$tag.$leaf.cli")
        RC=$(job_rc "$tag.$leaf.cli")
        if grep -q "^$leaf valid" "$vdir/expect.txt"; then
            expect_rc "$v: CLI verify $leaf exit 0" 0
        else
            expect_rc "$v: CLI verify $leaf exit 1 (fatal)" 1
        fi
    done < <(cat "$vdir/cli-leaf" 2>/dev/null || true)
    SUMMARY[$v]="valid: ${valid[*]:-none} | invalid: ${invalid[*]:-none}"
done
echo "-- expected answers (model)"
for v in "${VARIANTS[@]}"; do
    printf '   %-16s %s\n' "$v" "${SUMMARY[$v]}"
done

# ---------------------------------------------------------------- bounds

echo "-- bounds: pathological pools fail fast and fatal"
BOUND_MS=${DSEC_BOUND_MS:-5000}
# bound_case TAG POOL LEAF BOUND OTHER: openssl verify and the CLI of LEAF
# with cross_dirs POOL fail within BOUND_MS, fatal; when BOUND is given the
# log says that bound (and not OTHER) stopped the search.
bound_case() {
    local tag=$1 pool=$2 leaf=$3 bound=${4:-} other=${5:-}
    write_cnf "$WORK/bound-$tag.cnf" "trust_dirs=$WORK/trust" \
        "cross_dirs=$pool"
    run_host "bound-$tag" "$WORK/bound-$tag.cnf" "$OPENSSL_BIN" verify \
        "$PK/$leaf.pem"
    expect_rc "$tag: openssl verify fails" '!0'
    expect_no_grep "$tag: no OK" ": OK\$"
    expect_max_ms "$tag: openssl verify is fast" "$BOUND_MS"
    expect_no_grep "$tag: not transient" "domainsec: transient"
    if [[ -n "$bound" ]]; then
        expect_grep "$tag: the log reports a fatal failure" "domainsec: fatal"
        grep -E "domainsec: fatal.*path building stopped" "$OUT" >"$OUT.bound" ||
            true
        expect_grep "$tag: the log says $bound stopped the search" \
            "$bound" "$OUT.bound"
        expect_no_grep "$tag: the log does not blame $other" "$other" \
            "$OUT.bound"
    fi
    run_cmd "bound-$tag-cli" env -u OPENSSL_CONF "$CLI" verify --config \
        "$WORK/bound-$tag.cnf" "$PK/$leaf.pem"
    expect_rc "$tag: CLI exit 1 (fatal)" 1
    expect_max_ms "$tag: CLI is fast" "$BOUND_MS"
    if [[ -n "$bound" ]]; then
        expect_grep "$tag: the CLI says $bound was reached" "$bound reached"
    fi
}

# 200 CAs named like the leaf's issuer, with its subject key identifier
# (the leaf's authority key identifier), each with a key of its own, all
# issued by R: every one is a candidate that costs a signature check.
pk_ca Z "$SUBJ_BASE/CN=Flood CA"
pk_leaf lZ "$SUBJ_BASE/CN=mesh leaf lZ" Z flood.a.mesh.test
pk_crl Z
zski=$(pk_ossl x509 -in "$PK/ca/Z/self.pem" -noout -ext subjectKeyIdentifier |
    sed -n '2s/^ *//p')
cat >"$PK/flood.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
x509_extensions = ext
[dn]
O = domainsec mesh
CN = Flood CA
[ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = $zski
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:$PK_URL/R.crl
EOF
mkdir -p "$WORK/pool-flood" "$PK/flood"
for ((i = 0; i < 200; i++)); do
    add_job "flood-gen.$i" - "$OPENSSL_BIN" req -x509 -config "$PK/flood.cnf" \
        -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$PK/flood/$i.key" -CA "$PK/R.pem" -CAkey "$PK/keys/R.key" \
        -days 365 -out "$WORK/pool-flood/flood-$(printf %03d "$i").pem"
done
run_jobs
nflood=$(find "$WORK/pool-flood" -name 'flood-*.pem' -size +0 | wc -l)
expect_true "flood: 200 certificates generated ($nflood)" \
    test "$nflood" -eq 200
pk_ossl x509 -in "$WORK/pool-flood/flood-199.pem" -noout -subject \
    -ext subjectKeyIdentifier,authorityKeyIdentifier >"$WORK/flood-199.txt"
expect_grep "flood: same subject and key identifier as the leaf's issuer" \
    "$zski" "$WORK/flood-199.txt"
bound_case flood "$WORK/pool-flood" lZ max_signature_checks max_path_depth

# A chain R <- K1 <- ... <- K15: a leaf under K15 is beyond the depth
# bound, a leaf under K5 well within it.
mkdir -p "$WORK/pool-deep"
prev=R
for ((i = 1; i <= 15; i++)); do
    pk_ca "K$i" "$SUBJ_BASE/CN=Deep CA K$i"
    pk_ext "$PK/keys/K$i.ext" "cdp=$PK_URL/$prev.crl"
    pk_sign "$WORK/pool-deep/K$(printf %02d "$i").pem" "K$i" "$prev" \
        "$PK/keys/K$i.ext"
    prev=K$i
done
pk_leaf lK5 "$SUBJ_BASE/CN=mesh leaf lK5" K5 deep5.a.mesh.test
pk_leaf lK15 "$SUBJ_BASE/CN=mesh leaf lK15" K15 deep15.a.mesh.test
for ((i = 1; i <= 15; i++)); do
    pk_crl "K$i"
done
pk_crl_bundle "$WORK/crls-deep.pem"
cat "$WORK/pool-deep"/K*.pem >"$WORK/deep-chain.pem"
plain_verify deep-plain "$PK/R.pem" "$WORK/deep-chain.pem" \
    "$WORK/crls-deep.pem" "$PK/lK15.pem"
expect_rc "deep: plain OpenSSL given the 15 CAs accepts lK15 (a valid chain)" 0
write_cnf "$WORK/deep-ok.cnf" "trust_dirs=$WORK/trust" \
    "cross_dirs=$WORK/pool-deep"
run_host deep-ok "$WORK/deep-ok.cnf" "$OPENSSL_BIN" verify "$PK/lK5.pem"
expect_rc "deep: a leaf 6 CAs below R verifies" 0
bound_case deep "$WORK/pool-deep" lK15 max_path_depth max_signature_checks

# Cross-signing loops with no way to R: LA <-> LB once, and six
# certificates each way (loops cut by certificate alone would explode).
pk_ca LA "$SUBJ_BASE/CN=Loop CA LA"
pk_ca LB "$SUBJ_BASE/CN=Loop CA LB"
pk_leaf lL "$SUBJ_BASE/CN=mesh leaf lL" LA loop.a.mesh.test
pk_crl LA
pk_crl LB
mkdir -p "$WORK/pool-loop" "$WORK/pool-loop6"
pk_ext "$PK/keys/LA.ext" "cdp=$PK_URL/LB.crl"
pk_ext "$PK/keys/LB.ext" "cdp=$PK_URL/LA.crl"
pk_sign "$WORK/pool-loop/LA-by-LB.pem" LA LB "$PK/keys/LA.ext"
pk_sign "$WORK/pool-loop/LB-by-LA.pem" LB LA "$PK/keys/LB.ext"
for ((i = 1; i <= 6; i++)); do
    pk_sign "$WORK/pool-loop6/LA-by-LB-$i.pem" LA LB "$PK/keys/LA.ext"
    pk_sign "$WORK/pool-loop6/LB-by-LA-$i.pem" LB LA "$PK/keys/LB.ext"
done
bound_case loop "$WORK/pool-loop" lL
bound_case loop6 "$WORK/pool-loop6" lL

echo "   whole test: $(($(date +%s) - T0)) s"
finish
