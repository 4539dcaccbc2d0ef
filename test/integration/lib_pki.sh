# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# PKI helpers of the path-building tests (test_cross.sh, test_pathmesh.sh),
# sourced after lib.sh. A CA is an identity (name, EC P-256 key, subject)
# that may hold any number of certificates: its key and CSR are made once,
# and every certificate for it (a root, an intermediate, a cross-certificate,
# an expired or defective copy) is issued from that CSR by `openssl ca`, so
# any validity period, basicConstraints, keyUsage, pathLenConstraint or
# nameConstraints can be set per certificate without a new key. Each issuer
# keeps its own `openssl ca` database; revoking a certificate there and
# regenerating the issuer's CRL (pk_crl) publishes the revocation.
#
#   pk_init DIR CDP_BASE_URL        PK=DIR, PK_URL, PK_WWW=DIR/www
#   pk_ca NAME SUBJECT              a CA: key, CSR, signing handle, database
#   pk_root NAME SUBJECT            pk_ca, and its self-signed NAME.pem
#   pk_ext FILE key=value...        x509v3 extensions of one certificate
#   pk_sign OUT SUBJ ISSUER EXT [START END]     a certificate for SUBJ
#   pk_leaf NAME SUBJECT ISSUER [DNS]           key, CSR and leaf certificate
#   pk_revoke ISSUER CERT           mark CERT revoked in ISSUER's database
#   pk_crl ISSUER                   ISSUER's DER CRL as $PK_WWW/ISSUER.crl
#   pk_flip_sig IN OUT              IN with one bit of its signature flipped
# shellcheck disable=SC2034

# Validity periods that are wrong at any verification time of the test.
PK_PAST_START=20200101000000Z
PK_PAST_END=20210101000000Z
PK_FUTURE_START=20400101000000Z
PK_FUTURE_END=20410101000000Z

# pk_init DIR CDP_BASE_URL: the PKI directory (created) and the base URL of
# the CRLs (every CA publishes $CDP_BASE_URL/NAME.crl, kept in $PK_WWW).
pk_init() {
    PK=$1
    PK_URL=$2
    mkdir -p "$PK/keys" "$PK/ca" "$PK/www"
    PK=$(cd "$PK" && pwd)
    PK_WWW="$PK/www"
}

# pk_ossl args...: openssl for building the PKI, never under a test config.
pk_ossl() {
    env -u OPENSSL_CONF "$OPENSSL_BIN" "$@"
}

# pk_ext FILE [key=value]...: the [ext] section of one certificate.
#   profile=ca|root|leaf  (default ca)
#   ca=TRUE|FALSE         basicConstraints (ca, root: TRUE; leaf: FALSE)
#   ku=LIST               keyUsage (ca, root: keyCertSign,cRLSign)
#   pathlen=N             pathLenConstraint (ca only)
#   nc=SPEC               nameConstraints, e.g. permitted;DNS:a.example
#   dns=NAME              subjectAltName DNS:NAME (leaf: default localhost)
#   cdp=URL               CRL distribution point (none when empty)
pk_ext() {
    local file=$1 kv profile=ca ca="" ku="" pathlen="" nc="" dns="" cdp=""
    shift
    for kv in "$@"; do
        case "$kv" in
        profile=*) profile=${kv#*=} ;;
        ca=*) ca=${kv#*=} ;;
        ku=*) ku=${kv#*=} ;;
        pathlen=*) pathlen=${kv#*=} ;;
        nc=*) nc=${kv#*=} ;;
        dns=*) dns=${kv#*=} ;;
        cdp=*) cdp=${kv#*=} ;;
        *)
            echo "pk_ext: unknown setting $kv" >&2
            return 1
            ;;
        esac
    done
    {
        echo "[ext]"
        if [[ "$profile" == leaf ]]; then
            echo "basicConstraints = critical,CA:${ca:-FALSE}"
            echo "keyUsage = critical,${ku:-digitalSignature}"
            echo "extendedKeyUsage = serverAuth,clientAuth"
            echo "subjectAltName = DNS:${dns:-localhost},IP:127.0.0.1"
        else
            if [[ -n "$pathlen" ]]; then
                echo "basicConstraints = critical,CA:${ca:-TRUE},pathlen:$pathlen"
            else
                echo "basicConstraints = critical,CA:${ca:-TRUE}"
            fi
            echo "keyUsage = critical,${ku:-keyCertSign,cRLSign}"
            if [[ -n "$nc" ]]; then
                echo "nameConstraints = critical,$nc"
            fi
        fi
        echo "subjectKeyIdentifier = hash"
        if [[ "$profile" != root ]]; then
            echo "authorityKeyIdentifier = keyid:always"
        fi
        if [[ -n "$cdp" ]]; then
            echo "crlDistributionPoints = URI:$cdp"
        fi
    } >"$file"
}

# pk_key NAME SUBJECT: EC P-256 key and CSR of NAME (kept, made once).
pk_key() {
    local name=$1 subj=$2
    if [[ ! -f "$PK/keys/$name.key" ]]; then
        pk_ossl ecparam -name prime256v1 -genkey -noout \
            -out "$PK/keys/$name.key"
    fi
    pk_ossl req -new -key "$PK/keys/$name.key" -subj "$subj" \
        -out "$PK/keys/$name.csr"
}

# pk_ca NAME SUBJECT: a CA identity: key, CSR, an `openssl ca` database and
# $PK/ca/NAME/self.pem, a self-signed certificate `openssl ca` signs with
# (same subject and key as every certificate of NAME, hence the same
# authority key identifier in what it issues); published only for roots.
pk_ca() {
    local name=$1 subj=$2 dir="$PK/ca/$1"
    pk_key "$name" "$subj"
    mkdir -p "$dir/new"
    pk_ext "$dir/self.ext" profile=root
    pk_ossl x509 -req -in "$PK/keys/$name.csr" \
        -signkey "$PK/keys/$name.key" -days 3650 -sha256 \
        -set_serial "0x$(pk_ossl rand -hex 8)" \
        -extfile "$dir/self.ext" -extensions ext \
        -out "$dir/self.pem" 2>/dev/null
    mkdir -p "$dir/new"
    : >"$dir/index.txt"
    echo "unique_subject = no" >"$dir/index.txt.attr"
    echo 1000 >"$dir/crlnumber"
    cat >"$dir/ca.cnf" <<EOF
[ca]
default_ca = CA_default
[CA_default]
dir = $dir
database = \$dir/index.txt
new_certs_dir = \$dir/new
certificate = $dir/self.pem
private_key = $PK/keys/$name.key
rand_serial = yes
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 7
unique_subject = no
email_in_dn = no
preserve = yes
policy = pol_any
[pol_any]
organizationName = optional
commonName = supplied
EOF
}

# pk_root NAME SUBJECT: pk_ca, and $PK/NAME.pem, its self-signed root
# certificate (no CDP).
pk_root() {
    pk_ca "$1" "$2"
    cp "$PK/ca/$1/self.pem" "$PK/$1.pem"
}

# pk_sign OUT SUBJ ISSUER EXTFILE [START [END]]: a certificate for CA or
# leaf SUBJ (its key and CSR), issued by CA ISSUER, with the extensions of
# EXTFILE; START and END (YYYYMMDDHHMMSSZ, both or neither) default to now
# and now + 365 days.
pk_sign() {
    local out=$1 subj=$2 issuer=$3 ext=$4 start=${5:-} end=${6:-}
    local dates=(-days 365)
    if [[ -n "$start" || -n "$end" ]]; then
        dates=(-startdate "$start" -enddate "$end")
    fi
    if ! pk_ossl ca -batch -notext -config "$PK/ca/$issuer/ca.cnf" \
        -in "$PK/keys/$subj.csr" -extfile "$ext" -extensions ext \
        "${dates[@]}" -out "$out" >"$PK/ca/$issuer/last.log" 2>&1; then
        echo "pk_sign: $subj by $issuer failed" >&2
        cat "$PK/ca/$issuer/last.log" >&2
        return 1
    fi
}

# pk_leaf NAME SUBJECT ISSUER [DNS]: key, CSR and $PK/NAME.pem, a leaf of
# ISSUER with ISSUER's CRL as CDP.
pk_leaf() {
    local name=$1 subj=$2 issuer=$3 dns=${4:-localhost}
    pk_key "$name" "$subj"
    pk_ext "$PK/keys/$name.ext" profile=leaf "dns=$dns" \
        "cdp=$PK_URL/$issuer.crl"
    pk_sign "$PK/$name.pem" "$name" "$issuer" "$PK/keys/$name.ext"
}

# pk_revoke ISSUER CERT: CERT (issued by ISSUER) is revoked from the next
# pk_crl ISSUER on.
pk_revoke() {
    pk_ossl ca -config "$PK/ca/$1/ca.cnf" -revoke "$2" \
        -crl_reason keyCompromise >/dev/null 2>&1
}

# pk_crl ISSUER [OUT]: ISSUER's current CRL, DER, as OUT (default
# $PK_WWW/ISSUER.crl, the URL $PK_URL/ISSUER.crl).
pk_crl() {
    local issuer=$1 out=${2:-$PK_WWW/$1.crl}
    pk_ossl ca -config "$PK/ca/$issuer/ca.cnf" -gencrl \
        -out "$out.pem" >/dev/null 2>&1
    pk_ossl crl -in "$out.pem" -outform DER -out "$out"
    rm -f "$out.pem"
}

# pk_flip_sig IN OUT: OUT is IN (PEM) with the last bit of its signature
# value inverted: same to-be-signed part, a signature that does not verify.
pk_flip_sig() {
    python3 - "$1" "$2" <<'EOF'
import base64, sys
text = open(sys.argv[1]).read()
body = text.split("-----BEGIN CERTIFICATE-----")[1]
body = body.split("-----END CERTIFICATE-----")[0]
der = bytearray(base64.b64decode("".join(body.split())))
der[-1] ^= 0x01
b64 = base64.b64encode(bytes(der)).decode()
with open(sys.argv[2], "w") as out:
    out.write("-----BEGIN CERTIFICATE-----\n")
    for i in range(0, len(b64), 64):
        out.write(b64[i:i + 64] + "\n")
    out.write("-----END CERTIFICATE-----\n")
EOF
}

# pk_crl_bundle OUT: every CRL in $PK_WWW as one PEM file (for plain
# OpenSSL's -CRLfile).
pk_crl_bundle() {
    local out=$1 crl
    : >"$out"
    for crl in "$PK_WWW"/*.crl; do
        pk_ossl crl -inform DER -in "$crl" >>"$out"
    done
}

# plain_verify NAME CAFILE UNTRUSTED CRLFILE CERT: plain OpenSSL (no
# provider) checking every CRL from CRLFILE, for controls; RC/OUT as run_cmd.
plain_verify() {
    local name=$1 cafile=$2 untrusted=$3 crls=$4 cert=$5
    local args=(-CAfile "$cafile" -crl_check_all -CRLfile "$crls")
    if [[ -n "$untrusted" ]]; then
        args+=(-untrusted "$untrusted")
    fi
    run_cmd "$name" env -u OPENSSL_CONF "$OPENSSL_BIN" verify "${args[@]}" \
        "$cert"
}
