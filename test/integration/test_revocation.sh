#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Revocation decisions that cannot fail open (issue 8, DESIGN.md section 7):
# the CRLs that decide chain[d] are those obtained for chain[d] (its own
# CDPs, or host-supplied), verified with chain[d+1]'s key or with a CRL
# issuer whose own path validates to the same anchor (RFC 5280 6.3.3(f)); a
# depth whose CRL cannot be obtained is error 3 at that depth (transient),
# whatever other CRLs the process holds. Unmodified `openssl verify`,
# `s_server` and `s_client` through OPENSSL_CONF and the `domainsec verify`
# CLI (exit 0/1/75), anchors only in trust_dirs (no -CAfile), intermediates
# as -untrusted or sent by the TLS peer, every CRL served by a real nginx
# (a missing file is a 404; a marker file makes nginx send it at one byte a
# second, so a fetch times out). Every verification runs under `timeout`.
#  1. root key rollover as AD CS does it: old root (key 1, the only anchor)
#     -> link certificate (new key 2, same name) -> intermediate -> leaf;
#     the new root's CRL revokes the intermediate (23 at depth 1; 404 -> 3
#     at depth 1, never OK), the old root's CRL revokes a link certificate
#     (23 at depth 2; 404 -> 3 at depth 2), the new root's CRL with an
#     issuingDistributionPoint (quick verdicts, also in s_server, which then
#     still serves the next good client), every CRL without
#     authorityKeyIdentifier (only the signature tells the two keys apart);
#  2. intermediate key rollover: the CRL signed by the renewed key B decides
#     leaves of key A (B sent by the peer or in cross_dirs);
#  3. a separate CRL-signing certificate (same name, cRLSign only, issued by
#     the root); revoked, it is not accepted;
#  4. base + delta CRLs (freshestCRL): a delta-only hold, a removeFromCRL,
#     delta_crl = require (default) | if-available | ignore, a delta served
#     at the complete CRL's URL;
#  5. CRLs partitioned by reasons (two DPs, onlySomeReasons): both fetched;
#  6. IDP mismatch: a CRL of another partition at a URL, an onlyCA CRL at a
#     leaf's CDP: transient, remembered fail_cache seconds, never cached
#     (the same cache_dir verifies again once the right CRL is back);
#  7. every unreachable case within the fetch budget (2 x fetch_timeout),
#     also when the CRLs time out instead of answering 404;
#  8. host-supplied CRLs (-CRLfile) with unreachable CDPs; a CRL of the
#     same issuer name signed by another key never decides; host-supplied
#     CRLs signed by a renewed key or a CRL-signing certificate (the CRL
#     issuer's path is validated in a bounded nested verification).
# Each PKI is first checked by plain OpenSSL (no provider; -CAfile, every
# CRL as -CRLfile, -crl_check_all -extended_crl -use_deltas) wherever plain
# OpenSSL implements the feature, so a broken PKI fails for the right
# reason; where plain OpenSSL itself fails open, its answer is shown as INFO.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/lib_pki.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_pki.sh"
dsec_setup revocation
need_bin "$NGINX_BIN" nginx

FETCH_TIMEOUT=2
FAIL_CACHE=3
# one verification spends at most 2 x fetch_timeout on fetches
BUDGET_MS=$((2 * FETCH_TIMEOUT * 1000 + 1500))
# the hard limit on every host process (run_cmd): a spinning verification
# fails its time assertion instead of hanging the test
CMD_TIMEOUT=15
# a verification that loops while logging writes hundreds of MB a second:
# no file of this test (outputs, server logs) may grow past 64 MB (SIGXFSZ)
ulimit -S -f $((64 * 1024))
# "transient" as a word, not the work directory in a path
TRANSIENT_RE='(^|[^/a-z])transient([^/a-z]|$)'

port=$(free_port)
U="http://127.0.0.1:$port"
O="/O=domainsec revocation test"
pk_init "$WORK/pki" "$U"
WWW="$WORK/www"
CRL="$PK/crl"
EMPTY="$WORK/empty"
mkdir -p "$WWW/.drip" "$CRL" "$EMPTY" "$WORK/bundles" "$WORK/dirs"

# ------------------------------------------------------------ CRL server

# nginx serving $WWW on $port: a file is served as is, a missing one is a
# 404, and a file with a marker $WWW/.drip/<path> is sent at one byte a
# second (its fetch times out).
start_crl_server() {
    local prefix="$WORK/nginx" conf
    mkdir -p "$prefix"
    conf="$prefix/nginx.conf"
    cat >"$conf" <<EOF
$(nginx_conf_common "$prefix")
    types { application/pkix-crl crl; }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$port;
        root $WWW;
        location / {
            if (-f \$document_root/.drip\$uri) {
                set \$limit_rate 1;
            }
        }
    }
}
EOF
    "$NGINX_BIN" -p "$prefix" -c "$conf" -e "$prefix/logs/error.log" \
        -g 'daemon off;' >>"$prefix/logs/stdout.log" 2>&1 &
    NGINX_PID=$!
    track_pid "$NGINX_PID"
    NGINX_ACCESS_LOG="$prefix/logs/access.log"
    if ! wait_port "$port" 10; then
        cat "$prefix/logs/error.log" "$prefix/logs/stdout.log" >&2 || true
        return 1
    fi
}

# serve CRL PATH: $CRL/CRL.crl answers at $U/PATH (atomically replaced).
serve() {
    mkdir -p "$(dirname "$WWW/$2")"
    cp "$CRL/$1.crl" "$WWW/$2.tmp"
    mv "$WWW/$2.tmp" "$WWW/$2"
    rm -f "$WWW/.drip/$2"
}
# unserve PATH: $U/PATH answers 404.
unserve() {
    rm -f "$WWW/$1" "$WWW/.drip/$1"
}
# drip CRL PATH: $U/PATH serves CRL at one byte a second.
drip() {
    serve "$1" "$2"
    mkdir -p "$(dirname "$WWW/.drip/$2")"
    : >"$WWW/.drip/$2"
}

# access_mark / requested_since MARK PATH: PATH was requested from nginx
# after the mark.
access_mark() {
    if [[ -f "$NGINX_ACCESS_LOG" ]]; then
        wc -l <"$NGINX_ACCESS_LOG"
    else
        echo 0
    fi
}
# shellcheck disable=SC2317  # called through expect_true
requested_since() {
    tail -n "+$(($1 + 1))" "$NGINX_ACCESS_LOG" | grep -q "\"GET /$2 "
}

# ------------------------------------------------------------------- PKI

CA_EXT=("basicConstraints = critical,CA:TRUE"
    "keyUsage = critical,keyCertSign,cRLSign"
    "subjectKeyIdentifier = hash"
    "authorityKeyIdentifier = keyid:always")
LEAF_EXT=("basicConstraints = critical,CA:FALSE"
    "keyUsage = critical,digitalSignature"
    "extendedKeyUsage = serverAuth,clientAuth"
    "subjectAltName = DNS:localhost,IP:127.0.0.1"
    "subjectKeyIdentifier = hash"
    "authorityKeyIdentifier = keyid:always")

# mkcert OUT KEY ISSUER PROFILE [LINE...]: $PK/OUT.pem for the key and CSR
# of KEY, issued by CA ISSUER (lib_pki.sh), with the extensions of PROFILE
# (ca, leaf, none) followed by LINEs (x509v3_config syntax; a line "[sect]"
# starts a section the extensions refer to).
mkcert() {
    local out=$1 key=$2 issuer=$3 profile=$4 f="$PK/keys/$1.ext"
    shift 4
    {
        echo "[ext]"
        case "$profile" in
        ca) printf '%s\n' "${CA_EXT[@]}" ;;
        leaf) printf '%s\n' "${LEAF_EXT[@]}" ;;
        esac
        printf '%s\n' "$@"
    } >"$f"
    pk_sign "$PK/$out.pem" "$key" "$issuer" "$f"
}

# leaf NAME ISSUER CDP_URL [LINE...]: a TLS leaf of ISSUER whose only CDP is
# CDP_URL ("" for none: then LINEs give the CDP).
leaf() {
    local name=$1 issuer=$2 cdp=$3
    shift 3
    pk_key "$name" "$O/CN=$name"
    if [[ -n "$cdp" ]]; then
        mkcert "$name" "$name" "$issuer" leaf \
            "crlDistributionPoints = URI:$cdp" "$@"
    else
        mkcert "$name" "$name" "$issuer" leaf "$@"
    fi
}

# crlprof CA TAG [LINE...]: $PK/ca/CA/TAG.cnf, an `openssl ca`
# configuration for CRLs of CA from a database of their own (index-TAG.txt,
# crlnumber-TAG starting at $CRLNUM, hex, default 1000) with the CRL
# extensions [crl_ext]: authorityKeyIdentifier (unless $NOAKID is set, as
# `openssl ca -gencrl` writes CRLs by default), then LINEs.
crlprof() {
    local ca=$1 tag=$2 dir="$PK/ca/$1"
    shift 2
    : >"$dir/index-$tag.txt"
    echo "unique_subject = no" >"$dir/index-$tag.txt.attr"
    echo "${CRLNUM:-1000}" >"$dir/crlnumber-$tag"
    sed -e "s|^database = .*|database = \$dir/index-$tag.txt|" \
        -e "s|^crlnumber = .*|crlnumber = \$dir/crlnumber-$tag|" \
        "$dir/ca.cnf" >"$dir/$tag.cnf"
    {
        echo "[crl_ext]"
        if [[ -z "${NOAKID:-}" ]]; then
            echo "authorityKeyIdentifier = keyid:always"
        fi
        printf '%s\n' "$@"
    } >>"$dir/$tag.cnf"
}

# crlrev CA TAG CERT REASON: CERT listed with REASON in CA's TAG database.
crlrev() {
    if ! pk_ossl ca -config "$PK/ca/$1/$2.cnf" -revoke "$3" \
        -crl_reason "$4" >"$PK/ca/$1/last-revoke.log" 2>&1; then
        echo "crlrev: $3 in $1/$2 failed" >&2
        cat "$PK/ca/$1/last-revoke.log" >&2
        return 1
    fi
}

# crlgen CA TAG OUT: $CRL/OUT.crl (DER), CA's CRL from its TAG database.
crlgen() {
    if ! pk_ossl ca -config "$PK/ca/$1/$2.cnf" -gencrl -crlexts crl_ext \
        -out "$CRL/$3.pem" >"$PK/ca/$1/last-gencrl.log" 2>&1; then
        echo "crlgen: $1/$2 failed" >&2
        cat "$PK/ca/$1/last-gencrl.log" >&2
        return 1
    fi
    pk_ossl crl -in "$CRL/$3.pem" -outform DER -out "$CRL/$3.crl"
}

# bundle NAME FILE...: the PEM files concatenated; prints the path.
bundle() {
    local out="$WORK/bundles/$1"
    shift
    cat "$@" >"$out"
    echo "$out"
}
# crlbundle NAME CRL...: the CRLs $CRL/CRL.pem as one PEM file.
crlbundle() {
    local out="$WORK/bundles/$1.crls" c
    shift
    : >"$out"
    for c in "$@"; do
        cat "$CRL/$c.pem" >>"$out"
    done
    echo "$out"
}
# certdir NAME CERT...: a directory holding copies of CERTs; prints it.
certdir() {
    local d="$WORK/dirs/$1" c
    shift
    mkdir -p "$d"
    for c in "$@"; do
        cp "$c" "$d/"
    done
    echo "$d"
}

# ------------------------------------------------------------- running

# Read by the helpers below: the anchors (TRUST), cross_dirs (CROSS),
# more directives (EXTRA), and a configuration shared by several runs
# (SHARED_CNF; otherwise each run gets its own, with a fresh cache_dir).
TRUST=""
CROSS=""
EXTRA=()
SHARED_CNF=""
CNF=""

# conf FILE: trust_dirs=$TRUST, cross_dirs=$CROSS, short fetch_timeout and
# fail_cache, then $EXTRA; a fresh cache_dir. write_cnf makes one template
# per set of directives; each run gets a copy with a cache_dir of its own.
declare -A CNF_TEMPLATE=()
conf() {
    local key="$TRUST|$CROSS|${EXTRA[*]}" tmpl cache
    tmpl=${CNF_TEMPLATE[$key]:-}
    if [[ -z "$tmpl" ]]; then
        tmpl="$WORK/template.$((${#CNF_TEMPLATE[@]} + 1)).cnf"
        write_cnf "$tmpl" "trust_dirs=$TRUST" "cross_dirs=${CROSS:-$EMPTY}" \
            "fetch_timeout=$FETCH_TIMEOUT" "fail_cache=$FAIL_CACHE" \
            "${EXTRA[@]}"
        CNF_TEMPLATE[$key]=$tmpl
    fi
    CNF_SEQ=$((CNF_SEQ + 1))
    cache="$WORK/cache.run$CNF_SEQ"
    mkdir -p "$cache"
    sed "s|^cache_dir = .*|cache_dir = $cache|" "$tmpl" >"$1"
}
# cnf_for NAME: sets CNF, $SHARED_CNF or a fresh $WORK/NAME.cnf (not in a
# subshell: conf numbers the cache directories in CNF_SEQ).
cnf_for() {
    if [[ -n "$SHARED_CNF" ]]; then
        CNF=$SHARED_CNF
    else
        CNF="$WORK/$1.cnf"
        conf "$CNF"
    fi
}

# dverify NAME CERT [UNTRUSTED [OPTION...]]: unmodified `openssl verify`
# through OPENSSL_CONF, no -CAfile.
dverify() {
    local name=$1 cert=$2 untrusted=${3:-} args=()
    shift 2
    if [[ $# -gt 0 ]]; then
        shift
    fi
    cnf_for "$name"
    if [[ -n "$untrusted" ]]; then
        args=(-untrusted "$untrusted")
    fi
    run_host "$name" "$CNF" "$OPENSSL_BIN" verify "${args[@]}" "$@" "$cert"
}
# dcli NAME CERT [UNTRUSTED]: `domainsec verify`, no --CAfile.
dcli() {
    local name=$1 cert=$2 untrusted=${3:-} args=()
    cnf_for "$name"
    if [[ -n "$untrusted" ]]; then
        args=(--untrusted "$untrusted")
    fi
    run_cmd "$name" env -u OPENSSL_CONF "$CLI" verify --config "$CNF" \
        "${args[@]}" "$cert"
}
# plain NAME CAFILE UNTRUSTED CRLFILE CERT: plain OpenSSL, no provider.
plain() {
    local name=$1 ca=$2 untrusted=$3 crls=$4 cert=$5
    local args=(-CAfile "$ca" -crl_check_all -extended_crl -use_deltas
        -CRLfile "$crls")
    if [[ -n "$untrusted" ]]; then
        args+=(-untrusted "$untrusted")
    fi
    run_cmd "$name" env -u OPENSSL_CONF "$OPENSSL_BIN" verify "${args[@]}" \
        "$cert"
}
# info DESC: the last command's verdict lines, shown, not asserted.
info() {
    echo "INFO: $1: rc $RC: $(grep -E 'OK$|^error [0-9]+ at' "$OUT" |
        head -n 2 | paste -sd ' ')"
}

# The verdicts. CERT's "OK" line is anchored: openssl verify prints
# "CERT: OK" only for a valid certificate.
v_ok() {
    expect_rc "$1: exit 0" 0
    expect_grep "$1: OK" "^$2: OK\$"
}
v_revoked() {
    expect_rc "$1: fails" '!0'
    expect_no_grep "$1: no OK" "^$2: OK\$"
    expect_grep "$1: error 23 at depth $3" "^error 23 at $3 depth lookup"
}
v_transient() {
    expect_rc "$1: fails" '!0'
    expect_no_grep "$1: no OK" "^$2: OK\$"
    expect_no_grep "$1: not revoked" "^error 23 at"
    expect_grep "$1: error 3 at depth $3" "^error 3 at $3 depth lookup"
}
v_rejected() {
    expect_rc "$1: fails" '!0'
    expect_no_grep "$1: no OK" "^$2: OK\$"
}

# want_valid DESC NAME CERT [UNTRUSTED]: openssl verify and the CLI accept.
want_valid() {
    local desc=$1 name=$2 cert=$3 untrusted=${4:-}
    dverify "$name" "$cert" "$untrusted"
    v_ok "$desc: openssl verify" "$cert"
    dcli "$name-cli" "$cert" "$untrusted"
    expect_rc "$desc: CLI exit 0" 0
}
# want_revoked DESC NAME CERT UNTRUSTED DEPTH: error 23 at DEPTH, logged
# fatal, CLI exit 1.
want_revoked() {
    local desc=$1 name=$2 cert=$3 untrusted=$4 depth=$5
    dverify "$name" "$cert" "$untrusted"
    v_revoked "$desc: openssl verify" "$cert" "$depth"
    expect_grep "$desc: logged fatal at depth $depth" \
        "domainsec: fatal: error 23 at depth $depth"
    dcli "$name-cli" "$cert" "$untrusted"
    expect_rc "$desc: CLI exit 1 (fatal)" 1
}
# want_transient DESC NAME CERT UNTRUSTED DEPTH: error 3 at DEPTH, logged
# transient, CLI exit 75, both within the fetch budget.
want_transient() {
    local desc=$1 name=$2 cert=$3 untrusted=$4 depth=$5
    dverify "$name" "$cert" "$untrusted"
    v_transient "$desc: openssl verify" "$cert" "$depth"
    expect_grep "$desc: logged transient at depth $depth" \
        "domainsec: transient: error 3 at depth $depth"
    expect_max_ms "$desc: openssl verify within the fetch budget" \
        "$BUDGET_MS"
    dcli "$name-cli" "$cert" "$untrusted"
    expect_rc "$desc: CLI exit 75 (transient)" 75
    expect_grep "$desc: CLI says transient" "$TRANSIENT_RE"
    expect_max_ms "$desc: CLI within the fetch budget" "$BUDGET_MS"
}
# want_rejected DESC NAME CERT UNTRUSTED: not accepted (any error).
want_rejected() {
    local desc=$1 name=$2 cert=$3 untrusted=$4
    dverify "$name" "$cert" "$untrusted"
    v_rejected "$desc: openssl verify" "$cert"
    expect_max_ms "$desc: openssl verify within the fetch budget" \
        "$BUDGET_MS"
    dcli "$name-cli" "$cert" "$untrusted"
    expect_rc "$desc: CLI does not exit 0" '!0'
}

echo "-- PKI"
# ---- 1. root key rollover: key 1 (anchor) -> link (key 2) -> I -> leaf
pk_ca s1r1 "$O/CN=Roll Root"
pk_ca s1r2 "$O/CN=Roll Root"
cp "$PK/ca/s1r1/self.pem" "$PK/s1r1.pem"
mkcert s1link s1r2 s1r1 ca "crlDistributionPoints = URI:$U/s1/R1.crl"
mkcert s1linkrev s1r2 s1r1 ca "crlDistributionPoints = URI:$U/s1/R1.crl"
pk_ca s1i "$O/CN=Roll Intermediate"
mkcert s1i s1i s1r2 ca "crlDistributionPoints = URI:$U/s1/R2.crl"
pk_ca s1ig "$O/CN=Roll Intermediate Good"
mkcert s1ig s1ig s1r2 ca "crlDistributionPoints = URI:$U/s1/R2.crl"
leaf s1leaf s1i "$U/s1/I.crl"
leaf s1good s1ig "$U/s1/Ig.crl"
crlprof s1r1 main
crlrev s1r1 main "$PK/s1linkrev.pem" keyCompromise
crlgen s1r1 main s1-R1
crlprof s1r2 main
crlrev s1r2 main "$PK/s1i.pem" keyCompromise
crlgen s1r2 main s1-R2
crlprof s1r2 idp "issuingDistributionPoint = critical, @idp" "[idp]" \
    "fullname = URI:$U/s1/R2.crl"
crlrev s1r2 idp "$PK/s1i.pem" keyCompromise
crlgen s1r2 idp s1-R2-idp
crlprof s1i main
crlgen s1i main s1-I
crlprof s1ig main
crlgen s1ig main s1-Ig
# the same CRLs without authorityKeyIdentifier: only the signature tells
# the two "Roll Root" keys' CRLs apart
NOAKID=1 crlprof s1r1 noakid
crlrev s1r1 noakid "$PK/s1linkrev.pem" keyCompromise
crlgen s1r1 noakid s1-R1-noakid
NOAKID=1 crlprof s1r2 noakid
crlrev s1r2 noakid "$PK/s1i.pem" keyCompromise
crlgen s1r2 noakid s1-R2-noakid
NOAKID=1 crlprof s1i noakid
crlgen s1i noakid s1-I-noakid
NOAKID=1 crlprof s1ig noakid
crlgen s1ig noakid s1-Ig-noakid
S1_LEAF_CHAIN=$(bundle s1-leaf-chain "$PK/s1i.pem" "$PK/s1link.pem")
S1_GOOD_CHAIN=$(bundle s1-good-chain "$PK/s1ig.pem" "$PK/s1link.pem")
S1_REVLINK_CHAIN=$(bundle s1-revlink-chain "$PK/s1ig.pem" \
    "$PK/s1linkrev.pem")
S1_TRUST=$(certdir s1-trust "$PK/s1r1.pem")
s1_serve_all() {
    serve s1-R1 s1/R1.crl
    serve s1-R2 s1/R2.crl
    serve s1-I s1/I.crl
    serve s1-Ig s1/Ig.crl
}

# ---- 2. intermediate key rollover: Inter key A and renewed Inter key B
pk_root s2r "$O/CN=S2 Root"
pk_ca s2a "$O/CN=S2 Inter"
mkcert s2a s2a s2r ca "crlDistributionPoints = URI:$U/s2/R.crl"
pk_ca s2b "$O/CN=S2 Inter"
mkcert s2b s2b s2r ca "crlDistributionPoints = URI:$U/s2/R.crl"
leaf s2la s2a "$U/s2/I.crl"
leaf s2larev s2a "$U/s2/I.crl"
leaf s2lb s2b "$U/s2/I.crl"
crlprof s2r main
crlgen s2r main s2-R
crlprof s2b main
crlrev s2b main "$PK/s2larev.pem" keyCompromise
crlgen s2b main s2-I
S2_AB=$(bundle s2-ab "$PK/s2a.pem" "$PK/s2b.pem")
S2_TRUST=$(certdir s2-trust "$PK/s2r.pem")
S2_CROSS_B=$(certdir s2-cross-b "$PK/s2b.pem")

# ---- 3. CA S3 Inter (key C) whose CRLs are signed by S3 Inter (key S)
pk_root s3r "$O/CN=S3 Root"
pk_ca s3c "$O/CN=S3 Inter"
mkcert s3c s3c s3r none "basicConstraints = critical,CA:TRUE" \
    "keyUsage = critical,keyCertSign" "subjectKeyIdentifier = hash" \
    "authorityKeyIdentifier = keyid:always" \
    "crlDistributionPoints = URI:$U/s3/R.crl"
for s in s3s s3s2; do
    pk_ca "$s" "$O/CN=S3 Inter"
    mkcert "$s" "$s" s3r none "basicConstraints = critical,CA:FALSE" \
        "keyUsage = critical,cRLSign" "subjectKeyIdentifier = hash" \
        "authorityKeyIdentifier = keyid:always" \
        "crlDistributionPoints = URI:$U/s3/R.crl"
done
leaf s3good s3c "$U/s3/I.crl"
leaf s3rev s3c "$U/s3/I.crl"
crlprof s3r main
crlrev s3r main "$PK/s3s2.pem" keyCompromise
crlgen s3r main s3-R
crlprof s3s main
crlrev s3s main "$PK/s3rev.pem" keyCompromise
crlgen s3s main s3-I
crlprof s3s2 main
crlrev s3s2 main "$PK/s3rev.pem" keyCompromise
crlgen s3s2 main s3-I-s2
S3_CS=$(bundle s3-cs "$PK/s3c.pem" "$PK/s3s.pem")
S3_CS2=$(bundle s3-cs2 "$PK/s3c.pem" "$PK/s3s2.pem")
S3_TRUST=$(certdir s3-trust "$PK/s3r.pem")
S3_CROSS_S=$(certdir s3-cross-s "$PK/s3s.pem")

# ---- 4. complete CRL (number 0x1000, freshestCRL) and delta CRLs
pk_root s4r "$O/CN=S4 Root"
pk_ca s4i "$O/CN=S4 Inter"
mkcert s4i s4i s4r ca "crlDistributionPoints = URI:$U/s4/R.crl"
leaf s4good s4i "$U/s4/base.crl"
leaf s4held s4i "$U/s4/base.crl"
leaf s4bhold s4i "$U/s4/base.crl"
crlprof s4r main
crlgen s4r main s4-R
CRLNUM=1000 crlprof s4i base "freshestCRL = URI:$U/s4/delta.crl"
crlrev s4i base "$PK/s4bhold.pem" certificateHold
crlgen s4i base s4-base
# delta 1: s4held on hold; delta 2 (later): both holds released
CRLNUM=2000 crlprof s4i delta1 "deltaCRL = critical, ASN1:INTEGER:0x1000"
crlrev s4i delta1 "$PK/s4held.pem" certificateHold
crlgen s4i delta1 s4-delta1
CRLNUM=2001 crlprof s4i delta2 "deltaCRL = critical, ASN1:INTEGER:0x1000"
crlrev s4i delta2 "$PK/s4held.pem" removeFromCRL
crlrev s4i delta2 "$PK/s4bhold.pem" removeFromCRL
crlgen s4i delta2 s4-delta2
S4_I="$PK/s4i.pem"
S4_TRUST=$(certdir s4-trust "$PK/s4r.pem")

# ---- 5. two DPs partitioned by reasons, CRLs with onlySomeReasons
OTHER_REASONS="affiliationChanged, superseded, cessationOfOperation,"
OTHER_REASONS+=" certificateHold, privilegeWithdrawn, AACompromise"
pk_root s5r "$O/CN=S5 Root"
pk_ca s5i "$O/CN=S5 Inter"
mkcert s5i s5i s5r ca "crlDistributionPoints = URI:$U/s5/R.crl"
for l in s5good s5kc s5sup; do
    leaf "$l" s5i "" "crlDistributionPoints = dp_a, dp_b" "[dp_a]" \
        "fullname = URI:$U/s5/A.crl" "reasons = keyCompromise, CACompromise" \
        "[dp_b]" "fullname = URI:$U/s5/B.crl" "reasons = $OTHER_REASONS"
done
crlprof s5r main
crlgen s5r main s5-R
crlprof s5i a "issuingDistributionPoint = critical, @idp" "[idp]" \
    "fullname = URI:$U/s5/A.crl" \
    "onlysomereasons = keyCompromise, CACompromise"
crlrev s5i a "$PK/s5kc.pem" keyCompromise
crlgen s5i a s5-A
crlprof s5i b "issuingDistributionPoint = critical, @idp" "[idp]" \
    "fullname = URI:$U/s5/B.crl" "onlysomereasons = $OTHER_REASONS"
crlrev s5i b "$PK/s5sup.pem" superseded
crlgen s5i b s5-B
S5_I="$PK/s5i.pem"
S5_TRUST=$(certdir s5-trust "$PK/s5r.pem")

# ---- 6. partitions by IDP name; the root's CRL covers CA certificates only
pk_ca s6r "$O/CN=S6 Root"
cp "$PK/ca/s6r/self.pem" "$PK/s6r.pem"
pk_ca s6i "$O/CN=S6 Inter"
mkcert s6i s6i s6r ca "crlDistributionPoints = URI:$U/s6/R.crl"
leaf s6x s6i "$U/s6/p1.crl"
leaf s6y s6i "$U/s6/p2.crl"
leaf s6d s6r "$U/s6/R.crl"
# no distribution point name in this IDP: the root, checked against its
# own CRL (the anchor rule), has no CDP to match one
crlprof s6r main "issuingDistributionPoint = critical, @idp" "[idp]" \
    "onlyCA = TRUE"
crlgen s6r main s6-R
for p in p1 p2; do
    crlprof s6i "$p" "issuingDistributionPoint = critical, @idp" "[idp]" \
        "fullname = URI:$U/s6/$p.crl"
    crlgen s6i "$p" "s6-$p"
done
S6_I="$PK/s6i.pem"
S6_TRUST=$(certdir s6-trust "$PK/s6r.pem")

# ---- 8. CDPs that never answer; CRLs given by the host
pk_root s8r "$O/CN=S8 Root"
pk_ca s8i "$O/CN=S8 Inter"
mkcert s8i s8i s8r ca "crlDistributionPoints = URI:$U/s8/gone/R.crl"
leaf s8good s8i "$U/s8/gone/I.crl"
leaf s8rev s8i "$U/s8/gone/I.crl"
crlprof s8r main
crlgen s8r main s8-R
crlprof s8i main
crlrev s8i main "$PK/s8rev.pem" keyCompromise
crlgen s8i main s8-I
# Two other CAs named "S8 Inter": s8f with a key identifier of its own,
# s8ff also copying S8 Inter's subject key identifier (so the CRL's
# authorityKeyIdentifier matches the real CA too). Their CRLs list the
# good leaf and are one second newer than the real one.
pk_ca s8f "$O/CN=S8 Inter"
pk_ca s8ff "$O/CN=S8 Inter"
s8_ski=$(pk_ossl x509 -in "$PK/s8i.pem" -noout -ext subjectKeyIdentifier |
    sed -n '2s/^ *//p')
{
    echo "[ext]"
    echo "basicConstraints = critical,CA:TRUE"
    echo "keyUsage = critical,keyCertSign,cRLSign"
    echo "subjectKeyIdentifier = $s8_ski"
} >"$PK/ca/s8ff/forged.ext"
pk_ossl x509 -req -in "$PK/keys/s8ff.csr" -signkey "$PK/keys/s8ff.key" \
    -days 3650 -sha256 -set_serial "0x$(pk_ossl rand -hex 8)" \
    -extfile "$PK/ca/s8ff/forged.ext" -extensions ext \
    -out "$PK/ca/s8ff/self.pem" 2>/dev/null
sleep 1
for f in s8f s8ff; do
    crlprof "$f" main
    crlrev "$f" main "$PK/s8good.pem" keyCompromise
    crlgen "$f" main "$f"
done
S8_I="$PK/s8i.pem"
S8_TRUST=$(certdir s8-trust "$PK/s8r.pem")

start_crl_server

echo "-- plain OpenSSL: the PKIs are what the scenarios say"
crls=$(crlbundle s1-all s1-R1 s1-R2 s1-I s1-Ig)
plain plain-s1-leaf "$PK/s1r1.pem" "$S1_LEAF_CHAIN" "$crls" "$PK/s1leaf.pem"
v_revoked "plain OpenSSL: rollover, I revoked by the new root's CRL" \
    "$PK/s1leaf.pem" 1
plain plain-s1-good "$PK/s1r1.pem" "$S1_GOOD_CHAIN" "$crls" "$PK/s1good.pem"
v_ok "plain OpenSSL: rollover, good chain through the link certificate" \
    "$PK/s1good.pem"
plain plain-s1-revlink "$PK/s1r1.pem" "$S1_REVLINK_CHAIN" "$crls" \
    "$PK/s1good.pem"
v_revoked "plain OpenSSL: rollover, link certificate revoked by the old root" \
    "$PK/s1good.pem" 2
crls=$(crlbundle s1-idp s1-R1 s1-R2-idp s1-I s1-Ig)
plain plain-s1-idp "$PK/s1r1.pem" "$S1_LEAF_CHAIN" "$crls" "$PK/s1leaf.pem"
v_revoked "plain OpenSSL: rollover, new root's CRL with an IDP" \
    "$PK/s1leaf.pem" 1
plain plain-s1-idp-good "$PK/s1r1.pem" "$S1_GOOD_CHAIN" "$crls" \
    "$PK/s1good.pem"
v_ok "plain OpenSSL: rollover, good chain, new root's CRL with an IDP" \
    "$PK/s1good.pem"
# Plain OpenSSL decides I with the old root's CRL (same issuer name, no
# IDP, its issuer on the path) when the new root's is missing: the fail-open
# this issue is about.
crls=$(crlbundle s1-no-r2 s1-R1 s1-I s1-Ig)
plain plain-s1-no-r2 "$PK/s1r1.pem" "$S1_LEAF_CHAIN" "$crls" \
    "$PK/s1leaf.pem"
info "plain OpenSSL, rollover, new root's CRL missing"

crls=$(crlbundle s2-all s2-R s2-I)
plain plain-s2-la "$PK/s2r.pem" "$S2_AB" "$crls" "$PK/s2la.pem"
v_ok "plain OpenSSL: key-A leaf, CRL signed by key B" "$PK/s2la.pem"
plain plain-s2-larev "$PK/s2r.pem" "$S2_AB" "$crls" "$PK/s2larev.pem"
v_revoked "plain OpenSSL: revoked key-A leaf, CRL signed by key B" \
    "$PK/s2larev.pem" 0
plain plain-s2-lb "$PK/s2r.pem" "$S2_AB" "$crls" "$PK/s2lb.pem"
v_ok "plain OpenSSL: key-B leaf" "$PK/s2lb.pem"

crls=$(crlbundle s3-all s3-R s3-I)
plain plain-s3-good "$PK/s3r.pem" "$S3_CS" "$crls" "$PK/s3good.pem"
v_ok "plain OpenSSL: CRL signed by the CRL-signing certificate, good leaf" \
    "$PK/s3good.pem"
plain plain-s3-rev "$PK/s3r.pem" "$S3_CS" "$crls" "$PK/s3rev.pem"
v_revoked "plain OpenSSL: CRL-signing certificate, revoked leaf" \
    "$PK/s3rev.pem" 0
crls=$(crlbundle s3-s2 s3-R s3-I-s2)
plain plain-s3-s2 "$PK/s3r.pem" "$S3_CS2" "$crls" "$PK/s3good.pem"
v_rejected "plain OpenSSL: CRL signed by a revoked CRL-signing certificate" \
    "$PK/s3good.pem"

crls=$(crlbundle s4-d1 s4-R s4-base s4-delta1)
plain plain-s4-good "$PK/s4r.pem" "$S4_I" "$crls" "$PK/s4good.pem"
v_ok "plain OpenSSL: base + delta 1, good leaf" "$PK/s4good.pem"
plain plain-s4-held "$PK/s4r.pem" "$S4_I" "$crls" "$PK/s4held.pem"
v_revoked "plain OpenSSL: base + delta 1, on hold in the delta only" \
    "$PK/s4held.pem" 0
plain plain-s4-bhold "$PK/s4r.pem" "$S4_I" "$crls" "$PK/s4bhold.pem"
v_revoked "plain OpenSSL: base + delta 1, on hold in the base" \
    "$PK/s4bhold.pem" 0
crls=$(crlbundle s4-d2 s4-R s4-base s4-delta2)
plain plain-s4-held2 "$PK/s4r.pem" "$S4_I" "$crls" "$PK/s4held.pem"
v_ok "plain OpenSSL: base + delta 2 (removeFromCRL), hold of delta 1" \
    "$PK/s4held.pem"
plain plain-s4-bhold2 "$PK/s4r.pem" "$S4_I" "$crls" "$PK/s4bhold.pem"
v_ok "plain OpenSSL: base + delta 2 (removeFromCRL), hold of the base" \
    "$PK/s4bhold.pem"
crls=$(crlbundle s4-base s4-R s4-base)
plain plain-s4-held-base "$PK/s4r.pem" "$S4_I" "$crls" "$PK/s4held.pem"
v_ok "plain OpenSSL: base alone, hold of delta 1 not seen" "$PK/s4held.pem"

crls=$(crlbundle s5-all s5-R s5-A s5-B)
plain plain-s5-good "$PK/s5r.pem" "$S5_I" "$crls" "$PK/s5good.pem"
v_ok "plain OpenSSL: reason partitions A + B, good leaf" "$PK/s5good.pem"
plain plain-s5-kc "$PK/s5r.pem" "$S5_I" "$crls" "$PK/s5kc.pem"
v_revoked "plain OpenSSL: keyCompromise on A" "$PK/s5kc.pem" 0
plain plain-s5-sup "$PK/s5r.pem" "$S5_I" "$crls" "$PK/s5sup.pem"
v_revoked "plain OpenSSL: superseded on B" "$PK/s5sup.pem" 0
crls=$(crlbundle s5-a s5-R s5-A)
plain plain-s5-a-only "$PK/s5r.pem" "$S5_I" "$crls" "$PK/s5good.pem"
v_transient "plain OpenSSL: only partition A, reasons not covered" \
    "$PK/s5good.pem" 0

crls=$(crlbundle s6-right s6-R s6-p1)
plain plain-s6-x "$PK/s6r.pem" "$S6_I" "$crls" "$PK/s6x.pem"
v_ok "plain OpenSSL: partition p1's CRL for a p1 leaf" "$PK/s6x.pem"
crls=$(crlbundle s6-wrong s6-R s6-p2)
plain plain-s6-x-wrong "$PK/s6r.pem" "$S6_I" "$crls" "$PK/s6x.pem"
v_rejected "plain OpenSSL: only partition p2's CRL for a p1 leaf" \
    "$PK/s6x.pem"
crls=$(crlbundle s6-root s6-R)
plain plain-s6-d "$PK/s6r.pem" "" "$crls" "$PK/s6d.pem"
v_rejected "plain OpenSSL: onlyCA CRL for a leaf" "$PK/s6d.pem"
plain plain-s6-i "$PK/s6r.pem" "" "$crls" "$PK/s6i.pem"
v_ok "plain OpenSSL: onlyCA CRL for a CA" "$PK/s6i.pem"

crls=$(crlbundle s8-right s8-R s8-I)
plain plain-s8-good "$PK/s8r.pem" "$S8_I" "$crls" "$PK/s8good.pem"
v_ok "plain OpenSSL: host CRLs, good leaf" "$PK/s8good.pem"
plain plain-s8-rev "$PK/s8r.pem" "$S8_I" "$crls" "$PK/s8rev.pem"
v_revoked "plain OpenSSL: host CRLs, revoked leaf" "$PK/s8rev.pem" 0
for f in s8f s8ff; do
    crls=$(crlbundle "s8-right-$f" s8-R s8-I "$f")
    plain "plain-s8-good-$f" "$PK/s8r.pem" "$S8_I" "$crls" "$PK/s8good.pem"
    info "plain OpenSSL, good leaf, real CRLs + $f's CRL listing it"
done

echo "-- 1a. root key rollover: the new root's CRL revokes I"
TRUST=$S1_TRUST
s1_serve_all
want_revoked "rollover, all CRLs served, I revoked" s1a-served \
    "$PK/s1leaf.pem" "$S1_LEAF_CHAIN" 1
want_valid "rollover, good chain through the link certificate" s1a-good \
    "$PK/s1good.pem" "$S1_GOOD_CHAIN"
mark=$(access_mark)
want_valid "rollover, the link certificate's CRL (old root) is fetched" \
    s1a-good-log "$PK/s1good.pem" "$S1_GOOD_CHAIN"
expect_true "rollover: new root's CRL fetched for Ig" \
    requested_since "$mark" s1/R2.crl
expect_true "rollover: old root's CRL fetched for the link certificate" \
    requested_since "$mark" s1/R1.crl
unserve s1/R2.crl
want_transient "rollover, new root's CRL 404 (old root's CRL served)" \
    s1a-404 "$PK/s1leaf.pem" "$S1_LEAF_CHAIN" 1
want_transient "rollover, good chain, new root's CRL 404" s1a-404-good \
    "$PK/s1good.pem" "$S1_GOOD_CHAIN" 1

echo "-- 1b. root key rollover: the old root's CRL revokes the link"
s1_serve_all
want_revoked "rollover, link certificate revoked by the old root" \
    s1b-served "$PK/s1good.pem" "$S1_REVLINK_CHAIN" 2
unserve s1/R1.crl
want_transient "rollover, revoked link, old root's CRL 404" s1b-404 \
    "$PK/s1good.pem" "$S1_REVLINK_CHAIN" 2
want_transient "rollover, good link, old root's CRL 404" s1b-404-good \
    "$PK/s1good.pem" "$S1_GOOD_CHAIN" 2

echo "-- 1c. root key rollover: the new root's CRL has an IDP"
s1_serve_all
serve s1-R2-idp s1/R2.crl
want_revoked "rollover, IDP on the new root's CRL, I revoked" s1c-served \
    "$PK/s1leaf.pem" "$S1_LEAF_CHAIN" 1
expect_max_ms "rollover, IDP, I revoked: quick (no spin)" "$BUDGET_MS"
want_valid "rollover, IDP on the new root's CRL, good chain" s1c-good \
    "$PK/s1good.pem" "$S1_GOOD_CHAIN"
expect_max_ms "rollover, IDP, good chain: quick (no spin)" "$BUDGET_MS"
unserve s1/R1.crl
want_transient "rollover, IDP on the new root's CRL, old root's CRL 404" \
    s1c-404 "$PK/s1good.pem" "$S1_GOOD_CHAIN" 2

echo "-- 1d. root key rollover: CRLs without authorityKeyIdentifier"
serve s1-R1-noakid s1/R1.crl
serve s1-R2-noakid s1/R2.crl
serve s1-I-noakid s1/I.crl
serve s1-Ig-noakid s1/Ig.crl
want_revoked "rollover, CRLs without AKID, I revoked" s1d-served \
    "$PK/s1leaf.pem" "$S1_LEAF_CHAIN" 1
want_valid "rollover, CRLs without AKID, good chain" s1d-good \
    "$PK/s1good.pem" "$S1_GOOD_CHAIN"
want_revoked "rollover, CRLs without AKID, link revoked" s1d-revlink \
    "$PK/s1good.pem" "$S1_REVLINK_CHAIN" 2
unserve s1/R2.crl
want_transient "rollover, CRLs without AKID, new root's CRL 404" s1d-r2-404 \
    "$PK/s1good.pem" "$S1_GOOD_CHAIN" 1
serve s1-R2-noakid s1/R2.crl
unserve s1/R1.crl
want_transient "rollover, CRLs without AKID, old root's CRL 404" \
    s1d-r1-404 "$PK/s1good.pem" "$S1_GOOD_CHAIN" 2

echo "-- 1c over TLS: s_server -Verify 3 -verify_return_error"
s1_serve_all
serve s1-R2-idp s1/R2.crl
srv_cnf="$WORK/s1c-server.cnf"
conf "$srv_cnf"
tls_port=$(free_port)
start_s_server "$srv_cnf" "$WORK/s_server-s1c.log" "$tls_port" \
    -cert "$PK/s1good.pem" -key "$PK/keys/s1good.key" \
    -cert_chain "$S1_GOOD_CHAIN" -Verify 3 -verify_return_error
s_client s1c-tls-revoked - "$tls_port" -cert "$PK/s1leaf.pem" \
    -key "$PK/keys/s1leaf.key" -cert_chain "$S1_LEAF_CHAIN"
expect_no_grep "TLS, I revoked (IDP CRL): nothing served" "HTTP/1.0 200 ok"
expect_grep "TLS, I revoked (IDP CRL): alert 44 certificate revoked" \
    "alert certificate revoked|alert number 44"
expect_max_ms "TLS, I revoked (IDP CRL): handshake within the fetch budget" \
    "$BUDGET_MS"
expect_grep "TLS, I revoked (IDP CRL): s_server logged error 23" \
    "num=23|certificate revoked" "$WORK/s_server-s1c.log"
s_client s1c-tls-good - "$tls_port" -cert "$PK/s1good.pem" \
    -key "$PK/keys/s1good.key" -cert_chain "$S1_GOOD_CHAIN"
expect_rc "TLS, next good client: s_client exits 0" 0
expect_grep "TLS, next good client: request served" "HTTP/1.0 200 ok"
expect_max_ms "TLS, next good client: within the fetch budget" "$BUDGET_MS"
expect_true "TLS: s_server still running" kill -0 "$SSERVER_PID"
stop_pid "$SSERVER_PID"

echo "-- 2. intermediate key rollover: CRL signed by the renewed key B"
TRUST=$S2_TRUST
serve s2-R s2/R.crl
serve s2-I s2/I.crl
want_valid "key-A leaf, A and B sent, CRL by key B" s2-la "$PK/s2la.pem" \
    "$S2_AB"
want_revoked "revoked key-A leaf, A and B sent, CRL by key B" s2-larev \
    "$PK/s2larev.pem" "$S2_AB" 0
want_valid "key-B leaf" s2-lb "$PK/s2lb.pem" "$PK/s2b.pem"
CROSS=$S2_CROSS_B
want_valid "key-A leaf, only A sent, B in cross_dirs" s2-la-cross \
    "$PK/s2la.pem" "$PK/s2a.pem"
want_revoked "revoked key-A leaf, only A sent, B in cross_dirs" \
    s2-larev-cross "$PK/s2larev.pem" "$PK/s2a.pem" 0
CROSS=""
unserve s2/I.crl
want_transient "key-A leaf, Inter's CRL 404" s2-la-404 "$PK/s2la.pem" \
    "$S2_AB" 0
want_transient "revoked key-A leaf, Inter's CRL 404" s2-larev-404 \
    "$PK/s2larev.pem" "$S2_AB" 0
want_transient "key-B leaf, Inter's CRL 404" s2-lb-404 "$PK/s2lb.pem" \
    "$PK/s2b.pem" 0

echo "-- 3. a separate CRL-signing certificate"
TRUST=$S3_TRUST
serve s3-R s3/R.crl
serve s3-I s3/I.crl
want_valid "good leaf, CRL-signing certificate sent" s3-good \
    "$PK/s3good.pem" "$S3_CS"
want_revoked "revoked leaf, CRL-signing certificate sent" s3-rev \
    "$PK/s3rev.pem" "$S3_CS" 0
CROSS=$S3_CROSS_S
want_valid "good leaf, CRL-signing certificate in cross_dirs" \
    s3-good-cross "$PK/s3good.pem" "$PK/s3c.pem"
want_revoked "revoked leaf, CRL-signing certificate in cross_dirs" \
    s3-rev-cross "$PK/s3rev.pem" "$PK/s3c.pem" 0
CROSS=""
serve s3-I-s2 s3/I.crl
want_rejected "good leaf, CRL signed by a revoked CRL-signing certificate" \
    s3-signer-revoked "$PK/s3good.pem" "$S3_CS2"
serve s3-I s3/I.crl
unserve s3/I.crl
want_transient "good leaf, Inter's CRL 404" s3-404 "$PK/s3good.pem" \
    "$S3_CS" 0
want_transient "revoked leaf, Inter's CRL 404" s3-rev-404 \
    "$PK/s3rev.pem" "$S3_CS" 0

echo "-- 4. base and delta CRLs"
TRUST=$S4_TRUST
serve s4-R s4/R.crl
serve s4-base s4/base.crl
serve s4-delta1 s4/delta.crl
mark=$(access_mark)
want_valid "base + delta 1: good leaf" s4-good "$PK/s4good.pem" "$S4_I"
expect_true "base + delta 1: the delta was fetched (freshestCRL)" \
    requested_since "$mark" s4/delta.crl
want_revoked "base + delta 1: on hold in the delta only" s4-held \
    "$PK/s4held.pem" "$S4_I" 0
want_revoked "base + delta 1: on hold in the base" s4-bhold \
    "$PK/s4bhold.pem" "$S4_I" 0
serve s4-delta2 s4/delta.crl
want_valid "base + delta 2: removeFromCRL releases the delta's hold" \
    s4-held-d2 "$PK/s4held.pem" "$S4_I"
want_valid "base + delta 2: removeFromCRL releases the base's hold" \
    s4-bhold-d2 "$PK/s4bhold.pem" "$S4_I"
unserve s4/delta.crl
want_transient "delta 404, delta_crl absent (require)" s4-nodelta \
    "$PK/s4good.pem" "$S4_I" 0
want_transient "delta 404, delta_crl absent, hold only in the delta" \
    s4-nodelta-held "$PK/s4held.pem" "$S4_I" 0
EXTRA=(delta_crl=require)
want_transient "delta 404, delta_crl = require" s4-nodelta-require \
    "$PK/s4good.pem" "$S4_I" 0
EXTRA=(delta_crl=if-available)
want_valid "delta 404, delta_crl = if-available: base alone" \
    s4-ifavail-good "$PK/s4good.pem" "$S4_I"
want_valid "delta 404, delta_crl = if-available: delta's hold not seen" \
    s4-ifavail-held "$PK/s4held.pem" "$S4_I"
want_revoked "delta 404, delta_crl = if-available: base's hold" \
    s4-ifavail-bhold "$PK/s4bhold.pem" "$S4_I" 0
serve s4-delta1 s4/delta.crl
want_revoked "delta 1 served, delta_crl = if-available: delta's hold" \
    s4-ifavail-d1-held "$PK/s4held.pem" "$S4_I" 0
EXTRA=(delta_crl=ignore)
# documented behaviour: delta_crl = ignore never applies a delta CRL, so a
# revocation published only in a delta is not seen until the next base
want_valid "DOCUMENTED: delta_crl = ignore: a delta-only hold is not seen" \
    s4-ignore-held "$PK/s4held.pem" "$S4_I"
want_revoked "delta_crl = ignore: base's hold still seen" s4-ignore-bhold \
    "$PK/s4bhold.pem" "$S4_I" 0
EXTRA=()
serve s4-delta1 s4/base.crl
want_transient "a delta CRL served at the complete CRL's URL" \
    s4-delta-as-base "$PK/s4good.pem" "$S4_I" 0
serve s4-base s4/base.crl

echo "-- 5. CRLs partitioned by reasons"
TRUST=$S5_TRUST
serve s5-R s5/R.crl
serve s5-A s5/A.crl
serve s5-B s5/B.crl
mark=$(access_mark)
want_valid "partitions A + B: good leaf" s5-good "$PK/s5good.pem" "$S5_I"
expect_true "partitions: A (keyCompromise, cACompromise) fetched" \
    requested_since "$mark" s5/A.crl
expect_true "partitions: B (the other reasons) fetched" \
    requested_since "$mark" s5/B.crl
want_revoked "partitions: keyCompromise on A" s5-kc "$PK/s5kc.pem" "$S5_I" 0
want_revoked "partitions: superseded on B" s5-sup "$PK/s5sup.pem" \
    "$S5_I" 0
unserve s5/B.crl
want_transient "partitions: B 404, good leaf" s5-b404 "$PK/s5good.pem" \
    "$S5_I" 0
serve s5-B s5/B.crl
unserve s5/A.crl
want_transient "partitions: A 404, good leaf" s5-a404 "$PK/s5good.pem" \
    "$S5_I" 0
serve s5-A s5/A.crl

echo "-- 6. IDP mismatch: no poisoning"
TRUST=$S6_TRUST
serve s6-R s6/R.crl
serve s6-p1 s6/p1.crl
serve s6-p2 s6/p2.crl
want_valid "partition p1 leaf, right CRL" s6-x "$PK/s6x.pem" "$S6_I"
want_valid "partition p2 leaf, right CRL" s6-y "$PK/s6y.pem" "$S6_I"
serve s6-p2 s6/p1.crl
SHARED_CNF="$WORK/s6-poison.cnf"
conf "$SHARED_CNF"
want_transient "p1's URL serves p2's CRL (IDP names p2)" s6-poison \
    "$PK/s6x.pem" "$S6_I" 0
serve s6-p1 s6/p1.crl
sleep $((FAIL_CACHE + 1))
want_valid "right CRL back, after fail_cache, same cache_dir, new process" \
    s6-poison-after "$PK/s6x.pem" "$S6_I"
SHARED_CNF="$WORK/s6-onlyca.cnf"
conf "$SHARED_CNF"
want_transient "onlyCA CRL at a leaf's CDP" s6-onlyca-leaf \
    "$PK/s6d.pem" "" 0
sleep $((FAIL_CACHE + 1))
want_valid "after fail_cache: a CA checked against the onlyCA CRL" \
    s6-onlyca-ca "$PK/s6i.pem" ""
want_valid "after fail_cache: a chain through that CA" s6-onlyca-chain \
    "$PK/s6y.pem" "$S6_I"
SHARED_CNF=""

echo "-- 7. the fetch budget when CRLs time out"
TRUST=$S1_TRUST
s1_serve_all
drip s1-R2 s1/R2.crl
want_transient "rollover, new root's CRL times out" s7-r2 \
    "$PK/s1leaf.pem" "$S1_LEAF_CHAIN" 1
s1_serve_all
drip s1-R1 s1/R1.crl
want_transient "rollover, old root's CRL times out" s7-r1 \
    "$PK/s1good.pem" "$S1_REVLINK_CHAIN" 2
drip s1-R2 s1/R2.crl
drip s1-I s1/I.crl
want_transient "rollover, every CRL times out" s7-all \
    "$PK/s1leaf.pem" "$S1_LEAF_CHAIN" 0
s1_serve_all
TRUST=$S4_TRUST
drip s4-delta1 s4/delta.crl
want_transient "delta CRL times out" s7-delta "$PK/s4good.pem" "$S4_I" 0
unserve s4/delta.crl
TRUST=$S5_TRUST
drip s5-B s5/B.crl
want_transient "partition B times out" s7-b "$PK/s5good.pem" "$S5_I" 0
drip s5-A s5/A.crl
want_transient "partitions A and B time out" s7-ab "$PK/s5good.pem" \
    "$S5_I" 0
serve s5-A s5/A.crl
serve s5-B s5/B.crl

echo "-- 8. host-supplied CRLs (-CRLfile), CDPs 404"
TRUST=$S8_TRUST
right=$(crlbundle s8-host s8-R s8-I)
dverify s8-none "$PK/s8good.pem" "$S8_I"
v_transient "no CRL given, CDPs 404" "$PK/s8good.pem" 0
dverify s8-good "$PK/s8good.pem" "$S8_I" -CRLfile "$right"
v_ok "host CRLs, good leaf" "$PK/s8good.pem"
dverify s8-rev "$PK/s8rev.pem" "$S8_I" -CRLfile "$right"
v_revoked "host CRLs, revoked leaf" "$PK/s8rev.pem" 0
for f in s8f s8ff; do
    crls=$(crlbundle "s8-host-$f" s8-R "$f")
    dverify "s8-rev-$f" "$PK/s8rev.pem" "$S8_I" -CRLfile "$crls"
    v_rejected "revoked leaf, only $f's CRL (same name, other key)" \
        "$PK/s8rev.pem"
    expect_grep "revoked leaf, only $f's CRL: no CRL for depth 0" \
        "^error (3|8) at 0 depth lookup"
    dverify "s8-good-$f" "$PK/s8good.pem" "$S8_I" -CRLfile "$crls"
    v_rejected "good leaf, only $f's CRL listing it" "$PK/s8good.pem"
    expect_no_grep "good leaf, only $f's CRL listing it: not revoked" \
        "^error 23 at"
    crls=$(crlbundle "s8-host-right-$f" s8-R s8-I "$f")
    dverify "s8-good-right-$f" "$PK/s8good.pem" "$S8_I" -CRLfile "$crls"
    v_ok "good leaf, real CRLs and $f's newer CRL listing it" \
        "$PK/s8good.pem"
done

echo "-- 8. host-supplied CRLs signed by another key of the issuer"
# The CRL issuer is not on the chain: OpenSSL validates its path in a
# nested verification, which must stay bounded (no hang, no spin).
TRUST=$S2_TRUST
unserve s2/I.crl
serve s2-R s2/R.crl
crls=$(crlbundle s8-s2 s2-R s2-I)
dverify s8-s2-la "$PK/s2la.pem" "$S2_AB" -CRLfile "$crls"
v_ok "host CRL by key B, Inter's CDP 404: key-A leaf" "$PK/s2la.pem"
expect_max_ms "host CRL by key B: key-A leaf within the fetch budget" \
    "$BUDGET_MS"
dverify s8-s2-larev "$PK/s2larev.pem" "$S2_AB" -CRLfile "$crls"
v_revoked "host CRL by key B, Inter's CDP 404: revoked key-A leaf" \
    "$PK/s2larev.pem" 0
expect_max_ms "host CRL by key B: revoked key-A leaf within the budget" \
    "$BUDGET_MS"
unserve s2/R.crl
dverify s8-s2-la-r404 "$PK/s2la.pem" "$S2_AB" -CRLfile "$(crlbundle \
    s8-s2-i s2-I)"
# depth 0 (its CRL's issuer B has no revocation status) or depth 1 (A)
v_rejected "host CRL by key B, root's CRL (for A and B) 404" "$PK/s2la.pem"
expect_grep "host CRL by key B, root's CRL 404: error 3 at depth 0 or 1" \
    "^error 3 at [01] depth lookup"
expect_no_grep "host CRL by key B, root's CRL 404: not revoked" "^error 23 at"
expect_max_ms "host CRL by key B, root's CRL 404: within the fetch budget" \
    "$BUDGET_MS"
TRUST=$S3_TRUST
unserve s3/I.crl
serve s3-R s3/R.crl
crls=$(crlbundle s8-s3 s3-R s3-I)
dverify s8-s3-good "$PK/s3good.pem" "$S3_CS" -CRLfile "$crls"
v_ok "host CRL by the CRL-signing certificate: good leaf" \
    "$PK/s3good.pem"
expect_max_ms "host CRL by the CRL-signing certificate: good leaf in time" \
    "$BUDGET_MS"
dverify s8-s3-rev "$PK/s3rev.pem" "$S3_CS" -CRLfile "$crls"
v_revoked "host CRL by the CRL-signing certificate: revoked leaf" \
    "$PK/s3rev.pem" 0
expect_max_ms "host CRL by the CRL-signing certificate: revoked leaf in time" \
    "$BUDGET_MS"

finish
