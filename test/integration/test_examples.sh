#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The examples work as written. The build is installed with
# `DESTDIR=<scratch> cmake --install`, OPENSSL_MODULES points at the
# installed modules directory, and the openssl.cnf of README.md's "Enabling
# it" section (its ```ini block, extracted from the README) and
# conf/domainsec.cnf, used verbatim, make `openssl list -providers` show
# domainsec active and `openssl verify` run its hook (a certificate whose
# CRL server is down fails with error 3 where plain OpenSSL says OK). The
# broken form `module = domainsec` (OpenSSL 3.0 adds no .so) is not loaded,
# verification then silently goes without revocation checking, and the
# installed `domainsec doctor` names the file OpenSSL tried (exit 78);
# `config_diagnostics = 1` does not make that fatal, as the README says.
# The systemd drop-ins of conf/systemd parse (systemd-analyze verify, when
# present), and their ExecStartPre command, run against the installed CLI,
# passes on the example configuration and stops on the broken one.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup examples
need_bin "$(command -v cmake || true)" cmake

# cache_var NAME: a variable of the build's CMakeCache.txt.
cache_var() {
    sed -n "s|^$1:[A-Z]*=||p" "$DSEC_BUILD/CMakeCache.txt"
}

# provider_active FILE: `openssl list -providers` output FILE shows
# domainsec with status active.
# shellcheck disable=SC2317  # called through expect_true
provider_active() {
    awk '/^  [^ ]/ { p = $1 } p == "domainsec" && /status: active/ { f = 1 }
         END { exit !f }' "$1"
}

# provider_absent FILE: that output does not list domainsec at all.
# shellcheck disable=SC2317  # called through expect_true
provider_absent() {
    ! grep -Eq '^  domainsec$' "$1"
}

# relocate SRC DST: SRC with the absolute directories of trust_dirs,
# cross_dirs and cache_dir moved into the scratch root, nothing else
# changed (so the test never reads or writes the host's /etc or /var).
relocate() {
    sed -E "s#^((trust_dirs|cross_dirs|cache_dir)[[:space:]]*=[[:space:]]*)/#\\1$ROOT/#" \
        "$1" >"$2"
}

echo "-- DESTDIR install"
ROOT="$WORK/root"
run_cmd install env DESTDIR="$ROOT" cmake --install "$DSEC_BUILD"
expect_rc "DESTDIR=<scratch> cmake --install" 0
modulesdir=$(cache_var DOMAINSEC_MODULESDIR)
prefix=$(cache_var CMAKE_INSTALL_PREFIX)
MODDIR="$ROOT$modulesdir"
ICLI="$ROOT$prefix/bin/domainsec"
expect_true "domainsec.so installed in the modules directory" \
    test -f "$MODDIR/domainsec.so"
expect_true "the domainsec command installed in bin/" test -x "$ICLI"
expect_true "conf/domainsec.cnf installed unchanged" \
    cmp -s "$DSEC_SRC/conf/domainsec.cnf" \
    "$ROOT$prefix/share/doc/domainsec/domainsec.cnf"
expect_true "conf/postfix installed unchanged" \
    diff -r "$DSEC_SRC/conf/postfix" "$ROOT$prefix/share/doc/domainsec/examples/postfix"
ossl_moddir=$(env -u OPENSSL_CONF "$OPENSSL_BIN" version -m |
    sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')
if [[ "$modulesdir" == "$ossl_moddir" ]]; then
    pass "installed into OpenSSL's modules directory ($ossl_moddir)"
else
    echo "note: built with DOMAINSEC_MODULESDIR=$modulesdir, not OpenSSL's" \
        "$ossl_moddir: the examples' relative module needs OPENSSL_MODULES"
fi
# as if the module were in OpenSSL's own directory
export OPENSSL_MODULES="$MODDIR"

echo "-- the examples, verbatim"
# The first ```ini block of the "## Enabling it" section of README.md.
awk '/^## / { sect = $0; next }
     sect == "## Enabling it" && !done && /^```ini$/ { inb = 1; next }
     inb && /^```$/ { inb = 0; done = 1; next }
     inb { print }' "$DSEC_SRC/README.md" >"$WORK/readme.cnf"
expect_grep "README: the openssl.cnf block of \"Enabling it\" is found" \
    '^\[domainsec_sect\]$' "$WORK/readme.cnf"
expect_grep "README: its module line" '^module[[:space:]]*=' \
    "$WORK/readme.cnf"
cp "$DSEC_SRC/conf/domainsec.cnf" "$WORK/conf.cnf"

for ex in readme conf; do
    run_host "list-$ex" "$WORK/$ex.cnf" "$OPENSSL_BIN" list -providers
    expect_rc "$ex: openssl list -providers" 0
    expect_true "$ex: domainsec is listed, status active" \
        provider_active "$OUT"
done

echo "-- the broken form: module = domainsec"
sed -E 's/^(module[[:space:]]*=[[:space:]]*)domainsec\.so/\1domainsec/' \
    "$WORK/readme.cnf" >"$WORK/broken.cnf"
expect_grep "broken.cnf says module = domainsec" \
    '^module[[:space:]]*=[[:space:]]*domainsec([[:space:]]|$)' \
    "$WORK/broken.cnf"
run_cmd strace-broken env "OPENSSL_CONF=$WORK/broken.cnf" \
    strace -f -e trace=openat "$OPENSSL_BIN" list -providers
if [[ "$RC" -eq 0 ]]; then
    expect_grep "broken: OpenSSL opens <modulesdir>/domainsec, without .so" \
        "openat\\(.*\"$MODDIR/domainsec\".*ENOENT"
else
    echo "note: strace unavailable here (rc $RC): the open is not traced"
fi
run_host list-broken "$WORK/broken.cnf" "$OPENSSL_BIN" list -providers
expect_rc "broken: openssl list -providers still exits 0" 0
expect_true "broken: domainsec is not listed" provider_absent "$OUT"
expect_no_grep "broken: and OpenSSL says nothing about it" "domainsec|rror"

grep -Ev '^module[[:space:]]*=' "$WORK/readme.cnf" >"$WORK/nomodule.cnf"
run_host list-nomodule "$WORK/nomodule.cnf" "$OPENSSL_BIN" list -providers
expect_true "no module line: the provider's name + .so is loaded" \
    provider_active "$OUT"

echo "-- config_diagnostics = 1 does not make a missing provider fatal"
{
    echo "config_diagnostics = 1"
    cat "$WORK/broken.cnf"
} >"$WORK/broken-diag.cnf"
run_host list-broken-diag "$WORK/broken-diag.cnf" "$OPENSSL_BIN" list \
    -providers
expect_rc "broken + config_diagnostics: openssl still starts" 0
expect_true "broken + config_diagnostics: domainsec not listed" \
    provider_absent "$OUT"
# Inside [openssl_init], before providers: OpenSSL takes it for a module
# name and stops the section, so even a good module is not loaded.
sed 's/^providers = provider_sect$/config_diagnostics = 1\n&/' \
    "$WORK/readme.cnf" >"$WORK/diag-in-init.cnf"
run_host list-diag-in-init "$WORK/diag-in-init.cnf" "$OPENSSL_BIN" list \
    -providers
expect_true "config_diagnostics in [openssl_init]: domainsec not loaded" \
    provider_absent "$OUT"

echo "-- openssl verify runs the hook"
dead=$(free_port) # nothing listens there: every CRL is unreachable
make_pki "$WORK/pki" "http://127.0.0.1:$dead"
mkdir -p "$ROOT/etc/domainsec/roots" "$ROOT/etc/domainsec/cross" \
    "$ROOT/var/cache/domainsec"
cp "$PKI/root.pem" "$ROOT/etc/domainsec/roots/"
cp "$PKI/inter.pem" "$ROOT/etc/domainsec/cross/"
ossl_verify verify-plain - "$PKI/good.pem"
expect_rc "plain openssl verify: OK (no revocation check)" 0
for ex in readme conf broken; do
    relocate "$WORK/$ex.cnf" "$WORK/$ex-local.cnf"
done
expect_true "relocated files differ from the examples only in directories" \
    cmp -s <(grep -Ev '^(trust_dirs|cross_dirs|cache_dir)' "$WORK/conf.cnf") \
    <(grep -Ev '^(trust_dirs|cross_dirs|cache_dir)' "$WORK/conf-local.cnf")
for ex in readme conf; do
    ossl_verify "verify-$ex" "$WORK/$ex-local.cnf" "$PKI/good.pem"
    expect_rc "$ex: CRL server down, openssl verify fails" '!0'
    expect_grep "$ex: error 3 (unable to get certificate CRL)" \
        "error 3 at 0 depth lookup"
done
ossl_verify verify-broken "$WORK/broken-local.cnf" "$PKI/good.pem"
expect_rc "broken: openssl verify says OK, unchecked (the reported bug)" 0

echo "-- domainsec doctor (installed)"
run_cmd doctor-broken env -u OPENSSL_CONF "$ICLI" doctor --offline \
    --config "$WORK/broken-local.cnf"
expect_rc "doctor, module = domainsec: exit 78 (configuration)" 78
expect_grep "doctor names the file OpenSSL tried and why" \
    "^FAIL provider: OpenSSL could not load $MODDIR/domainsec: No such file or directory \\(module = domainsec, "
expect_grep "doctor says what to write" "fix: write module = domainsec\\.so"
run_cmd doctor-conf env -u OPENSSL_CONF "$ICLI" doctor --offline \
    --config "$WORK/conf-local.cnf"
expect_rc "doctor --offline, conf/domainsec.cnf: exit 0" 0
expect_grep "doctor names the module it loaded" \
    "^OK   provider: .*\\(module $MODDIR/domainsec\\.so\\)"
run_cmd doctor-conf-online env -u OPENSSL_CONF "$ICLI" doctor \
    --config "$WORK/conf-local.cnf"
expect_rc "doctor without --offline: CRL server down, exit 75" 75
run_cmd verify-cli-broken env -u OPENSSL_CONF "$ICLI" verify \
    --config "$WORK/broken-local.cnf" --CAfile "$PKI/root.pem" \
    --untrusted "$PKI/inter.pem" "$PKI/good.pem"
expect_rc "domainsec verify, broken module line: exit 78" 78
expect_grep "domainsec verify names the file OpenSSL tried" \
    "OpenSSL could not load $MODDIR/domainsec: No such file"

echo "-- systemd drop-ins"
# exec_start_pre FILE: the ExecStartPre command line of a drop-in.
exec_start_pre() {
    sed -n 's/^ExecStartPre=//p' "$1"
}
# run_pre NAME DROPIN CNF: the drop-in's ExecStartPre, its command being
# the installed CLI and its configuration CNF (for --config, or as
# OPENSSL_CONF like the drop-in's Environment= line).
run_pre() {
    local name=$1 dropin=$2 cnf=$3 words=() args=() i
    read -r -a words <<<"$(exec_start_pre "$dropin")"
    for ((i = 1; i < ${#words[@]}; i++)); do
        if [[ "${words[i - 1]}" == --config ]]; then
            args+=("$cnf")
        else
            args+=("${words[i]}")
        fi
    done
    run_cmd "$name" env "OPENSSL_CONF=$cnf" "$ICLI" "${args[@]}"
}
sd="$DSEC_SRC/conf/systemd"
for dropin in "$sd/nginx.service.d/domainsec.conf" \
    "$sd/haproxy.service.d/domainsec.conf" \
    "$sd/postfix@-.service.d/domainsec.conf"; do
    unit=$(basename "$(dirname "$dropin")" .d)
    expect_grep "$unit: ExecStartPre runs domainsec doctor --offline" \
        '^ExecStartPre=/[^ ]*/domainsec doctor --offline' "$dropin"
    pre=$(exec_start_pre "$dropin")
    if [[ "$prefix" == /usr/local ]]; then
        expect_true "$unit: the command is where cmake --install put it" \
            test -x "$ROOT${pre%% *}"
    fi
    run_pre "pre-$unit-conf" "$dropin" "$WORK/conf-local.cnf"
    expect_rc "$unit: ExecStartPre passes on conf/domainsec.cnf" 0
    run_pre "pre-$unit-broken" "$dropin" "$WORK/broken-local.cnf"
    expect_rc "$unit: ExecStartPre stops the start on the broken module" 78
done
expect_grep "nginx drop-in sets OPENSSL_CONF" \
    '^Environment=OPENSSL_CONF=/' "$sd/nginx.service.d/domainsec.conf"
expect_grep "haproxy drop-in sets OPENSSL_CONF" \
    '^Environment=OPENSSL_CONF=/' "$sd/haproxy.service.d/domainsec.conf"

analyze=$(command -v systemd-analyze || true)
if [[ -z "$analyze" ]]; then
    echo "note: systemd-analyze not installed: the drop-ins are not parsed"
else
    units="$WORK/units"
    for dropin in "$sd/nginx.service.d/domainsec.conf" \
        "$sd/haproxy.service.d/domainsec.conf" \
        "$sd/postfix@-.service.d/domainsec.conf"; do
        d=$(basename "$(dirname "$dropin")")
        unit=${d%.d}
        # the template of an instance: postfix@-.service -> postfix@.service
        base=$unit
        if [[ "$unit" == *@* ]]; then
            base="${unit%%@*}@.${unit##*.}"
        fi
        if [[ ! -f "/lib/systemd/system/$base" ]]; then
            echo "note: /lib/systemd/system/$base missing: $unit not parsed"
            continue
        fi
        rm -rf "$units"
        mkdir -p "$units/$d"
        cp "/lib/systemd/system/$base" "$units/"
        # the command as installed here: verify checks that the first
        # ExecStartPre exists (haproxy.service has none of its own)
        sed "s|^ExecStartPre=/[^ ]*/domainsec |ExecStartPre=$ICLI |" \
            "$dropin" >"$units/$d/domainsec.conf"
        run_cmd "analyze-$unit" env "SYSTEMD_UNIT_PATH=$units:" \
            "$analyze" verify "$unit"
        expect_rc "$unit + drop-in: systemd-analyze verify" 0
        expect_no_grep "$unit: no complaint about the drop-in" \
            "domainsec\\.conf"
        # the same with a bad key: the drop-in is really read
        printf 'NoSuchKey=1\n' >>"$units/$d/domainsec.conf"
        run_cmd "analyze-$unit-bad" env "SYSTEMD_UNIT_PATH=$units:" \
            "$analyze" verify "$unit"
        expect_grep "$unit: systemd-analyze reads the drop-in" \
            "domainsec\\.conf:.*NoSuchKey"
    done
fi

finish
