# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Shared helpers of the integration scripts and the demo, sourced by each of
# them: the work directory under $DSEC_BUILD/test-work/<name>/, servers on
# 127.0.0.1 (nginx serving CRLs, the fault server, openssl s_server) with
# ephemeral ports, readiness waits and a cleanup trap that kills only the
# PIDs started here, the generated openssl.cnf (write_cnf), a throwaway PKI
# built with the openssl command line (make_pki, make_leaf, gen_crl), and the
# assertion helpers with the final "N passed, M failed" line.
# Globals set here (NGINX_*, FAULT_*, PKI, WWW, ...) are read by the scripts.
# shellcheck disable=SC2034

# ---------------------------------------------------------------- locations

DSEC_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${DSEC_SRC:=$(cd "$DSEC_LIB_DIR/../.." && pwd)}"
: "${DSEC_BUILD:=$DSEC_SRC/build}"
DSEC_BUILD=$(cd "$DSEC_BUILD" 2>/dev/null && pwd || echo "$DSEC_BUILD")
MODULE="$DSEC_BUILD/modules/domainsec.so"
CLI="$DSEC_BUILD/src/domainsec"
NGINX_BIN="${NGINX_BIN:-/usr/sbin/nginx}"
OPENSSL_BIN="${OPENSSL_BIN:-$(command -v openssl || true)}"
FAULTSRV="$DSEC_LIB_DIR/faultsrv.py"

# CRLs are fetched from 127.0.0.1 only: no proxy from the environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
    no_proxy NO_PROXY

PASS_COUNT=0
FAIL_COUNT=0
DSEC_PIDS=()
DSEC_PORTS=" "
CNF_SEQ=0
# Set by run_cmd: exit status, wall time in milliseconds, output file.
RC=0
ELAPSED_MS=0
OUT=""

# Commands that load the module into an uninstrumented host (/usr/bin/openssl)
# need the sanitizer runtime first in the library list when the module was
# built with -fsanitize=address: HOST_ENV carries that for run_host.
HOST_ENV=(env)

# ------------------------------------------------------------------ set-up

# dsec_setup NAME: fresh work dir, cleanup trap, required tools.
dsec_setup() {
    TEST_NAME=$1
    WORK="${DSEC_WORK:-$DSEC_BUILD/test-work/$TEST_NAME}"
    rm -rf "$WORK"
    mkdir -p "$WORK"
    WORK=$(cd "$WORK" && pwd)
    trap dsec_cleanup EXIT
    trap 'exit 130' INT TERM
    need_bin "$OPENSSL_BIN" openssl
    need_bin "$(command -v python3 || true)" python3
    need_bin "$(command -v timeout || true)" timeout
    if [[ ! -f "$MODULE" ]]; then
        echo "FATAL: provider module not built: $MODULE" >&2
        exit 1
    fi
    if [[ ! -x "$CLI" ]]; then
        echo "FATAL: CLI not built: $CLI" >&2
        exit 1
    fi
    # capture first: with pipefail, `ldd | grep -q` fails at random when
    # grep exits before ldd has written everything (SIGPIPE)
    local deps
    deps=$(ldd "$MODULE" 2>/dev/null || true)
    if [[ "$deps" == *libasan* ]]; then
        local asan
        asan=$(gcc -print-file-name=libasan.so 2>/dev/null || true)
        if [[ -n "$asan" && -e "$asan" ]]; then
            HOST_ENV=(env "LD_PRELOAD=$asan"
                "ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=99"
                "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
        fi
    fi
    echo "== $TEST_NAME: build $DSEC_BUILD, logs in $WORK"
}

# need_bin PATH LABEL: exit 77 (skip) when a needed program is missing.
need_bin() {
    if [[ -z "$1" || ! -x "$1" ]]; then
        echo "SKIP: ${2:-$1} not found" >&2
        exit 77
    fi
}

# track_pid PID: remember a PID this script started, for the cleanup trap.
track_pid() {
    DSEC_PIDS+=("$1")
}

# stop_pid PID: terminate one PID this script started and reap it.
stop_pid() {
    local pid=$1 i
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

dsec_cleanup() {
    local pid
    for pid in "${DSEC_PIDS[@]}"; do
        stop_pid "$pid"
    done
    DSEC_PIDS=()
}

# free_port: print a free TCP port of 127.0.0.1 not handed out before here.
free_port() {
    local port i
    for ((i = 0; i < 20; i++)); do
        port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
        if [[ "$DSEC_PORTS" != *" $port "* ]]; then
            DSEC_PORTS+="$port "
            echo "$port"
            return 0
        fi
    done
    echo "free_port: no fresh port" >&2
    return 1
}

# wait_port PORT [TIMEOUT_S]: wait until 127.0.0.1:PORT accepts connections.
wait_port() {
    local port=$1 timeout=${2:-10} i
    for ((i = 0; i < timeout * 10; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "wait_port: 127.0.0.1:$port not ready after ${timeout}s" >&2
    return 1
}

# wait_file_grep PATTERN FILE [TIMEOUT_S] [PID]: wait for a line in a log.
wait_file_grep() {
    local pattern=$1 file=$2 timeout=${3:-10} pid=${4:-} i
    for ((i = 0; i < timeout * 10; i++)); do
        if [[ -f "$file" ]] && grep -q -- "$pattern" "$file"; then
            return 0
        fi
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            echo "wait_file_grep: process $pid exited before '$pattern'" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "wait_file_grep: '$pattern' not in $file after ${timeout}s" >&2
    return 1
}

# ------------------------------------------------------------------ servers

# nginx_conf_common PREFIX: the start of an nginx.conf kept inside PREFIX
# (pid, logs, temp paths), up to and including "http {". As root the
# workers run as root too: as nobody they could not write cache_dir.
nginx_conf_common() {
    local prefix=$1
    mkdir -p "$prefix/tmp" "$prefix/logs"
    if [[ $(id -u) -eq 0 ]]; then
        echo "user root;"
    fi
    cat <<EOF
master_process on;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log info;
events { worker_connections 64; }
http {
    access_log $prefix/logs/access.log;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
EOF
}

# start_nginx ROOTDIR [PORT] [TAG]: nginx-light serving ROOTDIR on
# 127.0.0.1:PORT (a free port when empty). Sets NGINX_PORT, NGINX_PID,
# NGINX_ACCESS_LOG, NGINX_ERROR_LOG. TAG separates several instances.
start_nginx() {
    local root=$1 port=${2:-} tag=${3:-nginx} prefix conf
    need_bin "$NGINX_BIN" nginx
    if [[ -z "$port" ]]; then
        port=$(free_port)
    fi
    root=$(cd "$root" && pwd)
    prefix="$WORK/$tag"
    mkdir -p "$prefix/tmp" "$prefix/logs"
    conf="$prefix/nginx.conf"
    cat >"$conf" <<EOF
$(nginx_conf_common "$prefix")
    types { application/pkix-crl crl; }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$port;
        root $root;
        location / { }
    }
}
EOF
    "$NGINX_BIN" -p "$prefix" -c "$conf" -e "$prefix/logs/error.log" \
        -g 'daemon off;' >>"$prefix/logs/stdout.log" 2>&1 &
    NGINX_PID=$!
    track_pid "$NGINX_PID"
    NGINX_PORT=$port
    NGINX_ACCESS_LOG="$prefix/logs/access.log"
    NGINX_ERROR_LOG="$prefix/logs/error.log"
    if ! wait_port "$port" 10; then
        cat "$prefix/logs/error.log" "$prefix/logs/stdout.log" >&2 || true
        return 1
    fi
}

# stop_nginx: stop the nginx started last by start_nginx.
stop_nginx() {
    stop_pid "$NGINX_PID"
}

# start_faultsrv ROOTDIR [TAG]: the scriptable fault server. Sets
# FAULT_PORT, FAULT_PID, FAULT_LOG, FAULT_URL. Exits 77 when it is missing.
start_faultsrv() {
    local root=$1 tag=${2:-faultsrv} dir i
    if [[ ! -f "$FAULTSRV" ]]; then
        echo "SKIP: $FAULTSRV not found" >&2
        exit 77
    fi
    dir="$WORK/$tag"
    mkdir -p "$dir"
    rm -f "$dir/port"
    python3 "$FAULTSRV" --root "$root" --port-file "$dir/port" \
        --log "$dir/requests.log" >"$dir/stdout.log" 2>&1 &
    FAULT_PID=$!
    track_pid "$FAULT_PID"
    FAULT_LOG="$dir/requests.log"
    for ((i = 0; i < 100; i++)); do
        if [[ -s "$dir/port" ]]; then
            break
        fi
        if ! kill -0 "$FAULT_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    if [[ ! -s "$dir/port" ]]; then
        echo "start_faultsrv: no port file" >&2
        cat "$dir/stdout.log" >&2 || true
        return 1
    fi
    FAULT_PORT=$(cat "$dir/port")
    FAULT_URL="http://127.0.0.1:$FAULT_PORT"
    wait_port "$FAULT_PORT" 10
}

# start_s_server CNF LOG PORT args...: `openssl s_server -www` in the
# background under OPENSSL_CONF=CNF ("-" for none). Sets SSERVER_PID.
start_s_server() {
    local cnf=$1 log=$2 port=$3
    shift 3
    local envs=("${HOST_ENV[@]}")
    if [[ "$cnf" != "-" ]]; then
        envs+=("OPENSSL_CONF=$cnf")
    else
        envs=(env -u OPENSSL_CONF)
    fi
    "${envs[@]}" "$OPENSSL_BIN" s_server -accept "127.0.0.1:$port" -www \
        "$@" </dev/null >"$log" 2>&1 &
    SSERVER_PID=$!
    track_pid "$SSERVER_PID"
    wait_file_grep ACCEPT "$log" 10 "$SSERVER_PID"
}

# ---------------------------------------------------------- configuration

# write_cnf FILE [key=value | -key]...: the test openssl.cnf from
# conf/openssl-test.cnf.in with a fresh cache_dir, then each key=value
# replaces (or adds) a directive of [domainsec_sect] and -key removes it.
write_cnf() {
    local file=$1 kv key val
    shift
    CNF_SEQ=$((CNF_SEQ + 1))
    local cache="$WORK/cache.$CNF_SEQ"
    mkdir -p "$cache"
    sed -e "s|@MODULE@|$MODULE|" -e "s|@TRUST_DIRS@|$WORK/no-trust-dir|" \
        -e "s|@CROSS_DIRS@|$WORK/no-cross-dir|" -e "s|@CACHE_DIR@|$cache|" \
        "$DSEC_SRC/conf/openssl-test.cnf.in" >"$file.tmp"
    for kv in "$@"; do
        if [[ "$kv" == -* ]]; then
            key=${kv#-}
            awk -v k="$key" '
                /^\[/ { sect = $0 }
                sect == "[domainsec_sect]" && $1 == k && $2 == "=" { next }
                { print }' "$file.tmp" >"$file.tmp2"
        else
            key=${kv%%=*}
            val=${kv#*=}
            awk -v k="$key" -v v="$val" '
                /^\[/ { sect = $0 }
                sect == "[domainsec_sect]" && $1 == k && $2 == "=" {
                    if (!done) { print k " = " v; done = 1 }
                    next
                }
                { print }
                END { if (!done) { print k " = " v } }' "$file.tmp" \
                >"$file.tmp2"
        fi
        mv "$file.tmp2" "$file.tmp"
    done
    mv "$file.tmp" "$file"
}

# ------------------------------------------------------------ running things

# run_cmd NAME cmd...: run a command (60 s limit), output (stdout+stderr) to
# $WORK/NAME.out (the command line and status in NAME.out.cmd); sets RC,
# ELAPSED_MS and OUT.
run_cmd() {
    local name=$1 start end
    shift
    OUT="$WORK/$name.out"
    start=$(date +%s%N)
    set +e
    timeout "${CMD_TIMEOUT:-60}" "$@" >"$OUT" 2>&1
    RC=$?
    set -e
    end=$(date +%s%N)
    ELAPSED_MS=$(((end - start) / 1000000))
    {
        echo "command: $*"
        echo "rc=$RC elapsed_ms=$ELAPSED_MS"
    } >"$OUT.cmd"
}

# run_host NAME CNF cmd...: run_cmd with OPENSSL_CONF=CNF ("-" for none, with
# OPENSSL_CONF removed from the environment) for an unmodified host program.
run_host() {
    local name=$1 cnf=$2
    shift 2
    if [[ "$cnf" == "-" ]]; then
        run_cmd "$name" env -u OPENSSL_CONF "$@"
    else
        run_cmd "$name" "${HOST_ENV[@]}" "OPENSSL_CONF=$cnf" "$@"
    fi
}

# ossl_verify NAME CNF CERT [UNTRUSTED]: `openssl verify -CAfile root.pem`.
ossl_verify() {
    local name=$1 cnf=$2 cert=$3 untrusted=${4:-$PKI/inter.pem}
    run_host "$name" "$cnf" "$OPENSSL_BIN" verify -CAfile "$PKI/root.pem" \
        -untrusted "$untrusted" "$cert"
}

# cli_verify NAME CNF CERT [UNTRUSTED]: `domainsec verify` of the build tree.
cli_verify() {
    local name=$1 cnf=$2 cert=$3 untrusted=${4:-$PKI/inter.pem}
    run_cmd "$name" env -u OPENSSL_CONF "$CLI" verify --config "$cnf" \
        --CAfile "$PKI/root.pem" --untrusted "$untrusted" "$cert"
}

# s_client NAME CNF PORT args...: one HTTP request through openssl s_client.
# -ign_eof keeps it reading until the server closes, so an alert the server
# sends after the client's side of a TLS 1.3 handshake is seen too.
s_client() {
    local name=$1 cnf=$2 port=$3
    shift 3
    local req="$WORK/$name.req"
    printf 'GET / HTTP/1.0\r\n\r\n' >"$req"
    if [[ "$cnf" == "-" ]]; then
        run_cmd "$name" env -u OPENSSL_CONF "$OPENSSL_BIN" s_client \
            -connect "127.0.0.1:$port" -servername localhost -ign_eof "$@" \
            <"$req"
    else
        run_cmd "$name" "${HOST_ENV[@]}" "OPENSSL_CONF=$cnf" "$OPENSSL_BIN" \
            s_client -connect "127.0.0.1:$port" -servername localhost \
            -ign_eof "$@" <"$req"
    fi
}

# -------------------------------------------------------------- assertions

pass() {
    PASS_COUNT=$((PASS_COUNT + 1))
    echo "PASS: $*"
}

fail() {
    FAIL_COUNT=$((FAIL_COUNT + 1))
    echo "FAIL: $*"
    if [[ -n "$OUT" && -f "$OUT" ]]; then
        echo "---- $OUT (last 25 lines)"
        tail -n 25 "$OUT" | sed 's/^/    /'
        if [[ -f "$OUT.cmd" ]]; then
            sed 's/^/    # /' "$OUT.cmd"
        fi
        echo "----"
    fi
}

# expect_rc DESC WANT: WANT is a number, or "!N" for "anything but N".
expect_rc() {
    local desc=$1 want=$2
    if [[ "$want" == !* ]]; then
        if [[ "$RC" -ne "${want#!}" ]]; then
            pass "$desc (rc $RC)"
        else
            fail "$desc: rc $RC, wanted not ${want#!}"
        fi
    elif [[ "$RC" -eq "$want" ]]; then
        pass "$desc (rc $RC)"
    else
        fail "$desc: rc $RC, wanted $want"
    fi
}

# expect_grep DESC ERE [FILE]: FILE (default: the last output) matches ERE.
expect_grep() {
    local desc=$1 re=$2 file=${3:-$OUT}
    if grep -Eq -- "$re" "$file"; then
        pass "$desc"
    else
        fail "$desc: /$re/ not found in $file"
    fi
}

# expect_no_grep DESC ERE [FILE]: FILE does not match ERE.
expect_no_grep() {
    local desc=$1 re=$2 file=${3:-$OUT}
    if grep -Eq -- "$re" "$file"; then
        fail "$desc: /$re/ found in $file"
    else
        pass "$desc"
    fi
}

# expect_true DESC cmd...: the command succeeds.
expect_true() {
    local desc=$1
    shift
    if "$@"; then
        pass "$desc"
    else
        fail "$desc"
    fi
}

# expect_max_ms DESC LIMIT_MS: the last command took at most LIMIT_MS.
expect_max_ms() {
    local desc=$1 limit=$2
    if [[ "$ELAPSED_MS" -le "$limit" ]]; then
        pass "$desc (${ELAPSED_MS} ms <= $limit ms)"
    else
        fail "$desc: took ${ELAPSED_MS} ms > $limit ms"
    fi
}

# expect_maps DESC PID WANT NAME: a library whose file name starts with NAME
# is mapped into PID (WANT yes/no). /proc/PID/maps is not read atomically:
# a process that maps and unmaps while it is read (a sanitizer build's
# allocator does, all the time) can have lines skipped. So "yes" passes on
# the first of up to 20 reads that shows it, "no" only if 3 reads agree.
expect_maps() {
    local desc=$1 pid=$2 want=$3 name=$4 have i tries=3
    [[ "$want" == yes ]] && tries=20
    for ((i = 0; i < tries; i++)); do
        have=no
        if grep -qF -- "/$name" "/proc/$pid/maps" 2>/dev/null; then
            have=yes
        fi
        [[ "$want" == yes && "$have" == yes ]] && break
        [[ "$want" == no && "$have" == yes ]] && break
        sleep 0.1
    done
    if [[ "$have" == "$want" ]]; then
        pass "$desc"
    else
        fail "$desc: mapped=$have in /proc/$pid/maps ($i reads), wanted $want"
    fi
}

# finish: the summary line; non-zero exit when a check failed or none ran.
finish() {
    echo "$PASS_COUNT passed, $FAIL_COUNT failed"
    if [[ "$FAIL_COUNT" -gt 0 || "$PASS_COUNT" -eq 0 ]]; then
        exit 1
    fi
    exit 0
}

# --------------------------------------------------------------------- PKI

# pki_ossl args...: the openssl command line for building the PKI, never
# under a test OPENSSL_CONF.
pki_ossl() {
    env -u OPENSSL_CONF "$OPENSSL_BIN" "$@"
}

# ca_init NAME: a CA database $PKI/ca-NAME/ for `openssl ca` (revoke,
# gencrl) around the existing $PKI/NAME.pem and $PKI/NAME.key.
ca_init() {
    local name=$1 dir="$PKI/ca-$1"
    mkdir -p "$dir"
    : >"$dir/index.txt"
    echo "unique_subject = no" >"$dir/index.txt.attr"
    echo 1000 >"$dir/crlnumber"
    cat >"$dir/ca.cnf" <<EOF
[ca]
default_ca = CA_default
[CA_default]
dir = $dir
database = \$dir/index.txt
new_certs_dir = \$dir
certificate = $PKI/$name.pem
private_key = $PKI/$name.key
crlnumber = \$dir/crlnumber
default_md = sha256
default_crl_days = 3
unique_subject = no
[crl_delta]
deltaCRL = critical,ASN1:INTEGER:1
EOF
}

# ext_file FILE PROFILE CDP_URL: x509v3 extensions of a certificate.
# PROFILE: root, ca, leaf; CDP_URL empty for no CRL Distribution Point.
ext_file() {
    local file=$1 profile=$2 cdp=${3:-}
    {
        echo "[ext]"
        case "$profile" in
        root)
            echo "basicConstraints = critical,CA:TRUE"
            echo "keyUsage = critical,keyCertSign,cRLSign"
            echo "subjectKeyIdentifier = hash"
            ;;
        ca)
            echo "basicConstraints = critical,CA:TRUE"
            echo "keyUsage = critical,keyCertSign,cRLSign"
            echo "subjectKeyIdentifier = ${SKI_OVERRIDE:-hash}"
            echo "authorityKeyIdentifier = keyid:always"
            ;;
        leaf)
            echo "basicConstraints = critical,CA:FALSE"
            echo "keyUsage = critical,digitalSignature"
            echo "extendedKeyUsage = serverAuth,clientAuth"
            echo "subjectAltName = ${LEAF_SAN:-DNS:localhost,IP:127.0.0.1}"
            echo "subjectKeyIdentifier = hash"
            echo "authorityKeyIdentifier = keyid:always"
            ;;
        esac
        if [[ -n "$cdp" ]]; then
            echo "crlDistributionPoints = URI:$cdp"
        fi
    } >"$file"
}

# issue NAME SUBJECT PROFILE ISSUER CDP_URL: key + certificate $PKI/NAME.pem
# signed by $PKI/ISSUER.{pem,key} (ISSUER "self": self-signed).
issue() {
    local name=$1 subj=$2 profile=$3 issuer=$4 cdp=${5:-} serial
    pki_ossl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key"
    pki_ossl req -new -key "$PKI/$name.key" -subj "$subj" \
        -out "$PKI/$name.csr"
    ext_file "$PKI/$name.ext" "$profile" "$cdp"
    serial="0x$(pki_ossl rand -hex 8)"
    if [[ "$issuer" == self ]]; then
        pki_ossl x509 -req -in "$PKI/$name.csr" -signkey "$PKI/$name.key" \
            -days 3650 -sha256 -set_serial "$serial" \
            -extfile "$PKI/$name.ext" -extensions ext \
            -out "$PKI/$name.pem" 2>/dev/null
    else
        pki_ossl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$issuer.pem" \
            -CAkey "$PKI/$issuer.key" -days 365 -sha256 \
            -set_serial "$serial" -extfile "$PKI/$name.ext" \
            -extensions ext -out "$PKI/$name.pem" 2>/dev/null
    fi
}

# make_leaf NAME CDP_URL [ISSUER]: a TLS server/client leaf (serverAuth,
# clientAuth, SAN DNS:localhost,IP:127.0.0.1, or $LEAF_SAN when set) issued
# by ISSUER (default inter), whose only CDP is CDP_URL ("" for none).
make_leaf() {
    issue "$1" "/O=domainsec test/CN=$1" leaf "${3:-inter}" "${2:-}"
}

# revoke NAME ISSUER: list $PKI/NAME.pem in ISSUER's database (gen_crl
# publishes it).
revoke() {
    pki_ossl ca -config "$PKI/ca-$2/ca.cnf" -revoke "$PKI/$1.pem" \
        -crl_reason keyCompromise >/dev/null 2>&1
}

# gen_crl ISSUER OUT.crl [openssl ca options...]: a DER CRL of ISSUER.
gen_crl() {
    local issuer=$1 out=$2
    shift 2
    pki_ossl ca -config "$PKI/ca-$issuer/ca.cnf" -gencrl "$@" \
        -out "$out.pem" >/dev/null 2>&1
    pki_ossl crl -in "$out.pem" -outform DER -out "$out"
    rm -f "$out.pem"
}

# make_pki DIR CDP_BASE_URL: the throwaway PKI in DIR (sets PKI=DIR, WWW=
# DIR/www, CDP_BASE=CDP_BASE_URL):
#   root           self-signed anchor, no CDP
#   inter          issued by root, CDP $CDP_BASE/root.crl
#   inter-revoked  issued by root, CDP $CDP_BASE/root.crl, revoked in root.crl
#   good, server   leaves of inter, CDP $CDP_BASE/inter.crl
#   revoked        leaf of inter, CDP $CDP_BASE/inter.crl, revoked in inter.crl
#   under-revoked  leaf of inter-revoked, CDP $CDP_BASE/inter-revoked.crl
# and the DER CRLs root.crl, inter.crl, inter-revoked.crl in $WWW.
make_pki() {
    PKI=$1
    CDP_BASE=$2
    mkdir -p "$PKI"
    PKI=$(cd "$PKI" && pwd)
    WWW="$PKI/www"
    mkdir -p "$WWW"
    issue root "/O=domainsec test/CN=Test Root CA" root self
    issue inter "/O=domainsec test/CN=Test Intermediate CA" ca root \
        "$CDP_BASE/root.crl"
    issue inter-revoked "/O=domainsec test/CN=Test Revoked Intermediate CA" \
        ca root "$CDP_BASE/root.crl"
    make_leaf good "$CDP_BASE/inter.crl"
    make_leaf server "$CDP_BASE/inter.crl"
    make_leaf revoked "$CDP_BASE/inter.crl"
    make_leaf under-revoked "$CDP_BASE/inter-revoked.crl" inter-revoked
    ca_init root
    ca_init inter
    ca_init inter-revoked
    revoke inter-revoked root
    revoke revoked inter
    publish_crls
}

# publish_crls: (re)generate the three CRLs of make_pki in $WWW.
publish_crls() {
    gen_crl root "$WWW/root.crl"
    gen_crl inter "$WWW/inter.crl"
    gen_crl inter-revoked "$WWW/inter-revoked.crl"
}

# make_fake_ca NAME REAL: a CA $PKI/NAME with REAL's subject name and
# subject key identifier but a key of its own (a forger's CA), self-signed,
# with an `openssl ca` database for CRLs.
make_fake_ca() {
    local name=$1 real=$2 subj ski
    subj=$(pki_ossl x509 -in "$PKI/$real.pem" -noout -subject \
        -nameopt RFC2253 | sed 's/^subject=//')
    ski=$(pki_ossl x509 -in "$PKI/$real.pem" -noout \
        -ext subjectKeyIdentifier | sed -n '2s/^ *//p')
    # RFC 2253 lists the most specific RDN first; -subj wants the opposite.
    subj="/$(echo "$subj" | tr ',' '\n' | tac | paste -sd/)"
    SKI_OVERRIDE="$ski" issue "$name" "$subj" ca self
    ca_init "$name"
}
