#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The files the cache trusts and rollback protection, with real processes
# (`openssl verify` through OPENSSL_CONF, nginx serving the CRLs, a second
# user of the cache group made with useradd):
#   (a) the second user copies an older, valid CRL (#1, victim not revoked)
#       over <hash>.crl of a cache holding #2: a new process refuses it as
#       a rollback and the victim is not accepted;
#       Readers prefer the CRL's index (<hash>.idx): the other user removes
#       it first; (a2) plants the index of #1 instead: refused too;
#   (b) the CDP server serves #1 to a process whose cache_dir knows #2
#       (<hash>.crl gone, <keyhash>.num left): refused (a cache_dir that
#       never saw #2 accepts it: the check that can fail);
#   (c) a FIFO planted as <hash>.crl and <hash>.lock: bounded, right verdict;
#   (d) a planted <hash>.fail (a day long, a fatal class) under soft-fail: a
#       leaf revoked by a cached CRL, fresh or within stale_grace, is still
#       rejected as revoked; a good leaf with a fresh CRL is accepted;
#   (e) the lock file held by the second user (flock): bounded time;
#   (f) a CRL file writable by others: ignored, logged once per process,
#       and `domainsec doctor --offline` fails naming it.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dsec_setup cache_trust

if [[ "$(id -u)" -ne 0 ]]; then
    echo "SKIP: needs root (a second user of the cache group)" >&2
    exit 77
fi
need_bin "$(command -v useradd || true)" useradd
need_bin "$(command -v runuser || true)" runuser
need_bin "$(command -v flock || true)" flock
need_bin "$NGINX_BIN" nginx
OTHER=dsec-cacheuser
if ! id "$OTHER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$OTHER"
fi
GROUP=$(id -gn "$OTHER")

port=$(free_port)
make_pki "$WORK/pki" "http://127.0.0.1:$port"
make_leaf victim "$CDP_BASE/inter.crl"
gen_crl inter "$WORK/crl1.der" # victim not revoked
revoke victim inter
gen_crl inter "$WORK/crl2.der" # victim revoked
cp "$WORK/crl2.der" "$WWW/inter.crl"
start_nginx "$WWW" "$port"
hash=$(printf '%s' "$CDP_BASE/inter.crl" | sha256sum | cut -c1-64)

# cache_dir NAME: a cache directory the second user may write (group,
# set-group-ID), under a path it can reach.
cache_dir() {
    local d="$WORK/$1"
    mkdir -p "$d"
    chgrp "$GROUP" "$d"
    chmod 2775 "$d"
    echo "$d"
}
chmod 755 "$WORK"

# as_other cmd...: run as the second user.
as_other() {
    runuser -u "$OTHER" -- "$@"
}

echo "-- (a) rollback on disk by another user of the cache group"
CA=$(cache_dir cache-a)
write_cnf "$WORK/a.cnf" "cache_dir=$CA" fetch_timeout=3
ossl_verify a-warm "$WORK/a.cnf" "$PKI/victim.pem"
expect_rc "warm: victim revoked by CRL #2" 2
expect_grep "warm: certificate revoked" "error 23 at 0 depth"
expect_true "warm: the CRL and its rollback record are in cache_dir" \
    test -f "$CA/$hash.crl" -a -n "$(ls "$CA"/*.num 2>/dev/null)"
as_other tee "$CA/planted.tmp" <"$WORK/crl1.der" >/dev/null
as_other mv -f "$CA/planted.tmp" "$CA/$hash.crl"
# the index of #2 would be read first: the other user removes it too
as_other rm -f "$CA/$hash.idx"
expect_true "the other user replaced the CRL with #1" \
    cmp -s "$CA/$hash.crl" "$WORK/crl1.der"
# the network is down: only the disk could answer
stop_nginx
ossl_verify a-rolled "$WORK/a.cnf" "$PKI/victim.pem"
expect_rc "rolled back on disk: victim not accepted" 2
expect_no_grep "rolled back on disk: no OK" "^$PKI/victim.pem: OK"
expect_grep "rolled back on disk: logged as a rollback" "rollback"
start_nginx "$WWW" "$port"
rm -f "$CA/$hash.fail" # the failure of the fetch just made
ossl_verify a-after "$WORK/a.cnf" "$PKI/victim.pem"
expect_rc "network back: revoked from CRL #2" 2
expect_grep "network back: error 23" "error 23 at 0 depth"

echo "-- (b) rollback by the CDP server"
cp "$WORK/crl1.der" "$WWW/inter.crl"
rm -f "$CA/$hash.crl" "$CA/$hash.idx" "$CA/$hash.fail"
ossl_verify b-rolled "$WORK/a.cnf" "$PKI/victim.pem"
expect_rc "server serves #1 to a cache_dir that knows #2: not accepted" 2
expect_grep "server rollback: logged as a rollback" "rollback"
expect_no_grep "server rollback: no OK" "^$PKI/victim.pem: OK"
write_cnf "$WORK/b-fresh.cnf" "cache_dir=$(cache_dir cache-b)" fetch_timeout=3
ossl_verify b-control "$WORK/b-fresh.cnf" "$PKI/victim.pem"
expect_rc "control: a cache_dir that never saw #2 takes #1" 0
cp "$WORK/crl2.der" "$WWW/inter.crl"

echo "-- (a2) rollback on disk through the index"
# the index of #1 that the control's cache_dir wrote, planted by the other
# user in the cache_dir that knows #2, with the network down
expect_true "the control's cache_dir holds the index of #1" \
    test -f "$WORK/cache-b/$hash.idx"
as_other tee "$CA/planted.tmp" <"$WORK/cache-b/$hash.idx" >/dev/null
as_other mv -f "$CA/planted.tmp" "$CA/$hash.idx"
rm -f "$CA/$hash.fail"
stop_nginx
ossl_verify a2-rolled "$WORK/a.cnf" "$PKI/victim.pem"
expect_rc "an old index planted: victim not accepted" 2
expect_no_grep "old index: no OK" "^$PKI/victim.pem: OK"
expect_grep "old index: logged as a rollback" "rollback"
start_nginx "$WWW" "$port"

echo "-- (c) a FIFO planted as the CRL and the lock"
CC=$(cache_dir cache-c)
write_cnf "$WORK/c.cnf" "cache_dir=$CC" fetch_timeout=3
mkfifo "$CC/$hash.crl" "$CC/$hash.lock"
chgrp "$GROUP" "$CC/$hash.crl" "$CC/$hash.lock"
ossl_verify c-revoked "$WORK/c.cnf" "$PKI/victim.pem"
expect_rc "FIFO: victim revoked" 2
expect_grep "FIFO: error 23" "error 23 at 0 depth"
expect_max_ms "FIFO: within fetch_timeout + slack" 6000
rm -f "$CC/$hash.crl"
mkfifo "$CC/$hash.crl"
ossl_verify c-good "$WORK/c.cnf" "$PKI/good.pem"
expect_rc "FIFO: good leaf accepted" 0
expect_max_ms "FIFO, good leaf: within fetch_timeout + slack" 6000

echo "-- (d) a planted .fail under soft-fail"
CD=$(cache_dir cache-d)
write_cnf "$WORK/d.cnf" "cache_dir=$CD" fetch_timeout=3 revocation=soft-fail \
    stale_grace=3600 fail_cache=5
ossl_verify d-warm "$WORK/d.cnf" "$PKI/good.pem"
expect_rc "warm: good leaf" 0
# a day long, a fatal class (no-cdp), in the owner's name
printf '%s -14 0\nplanted' "$(($(date +%s) + 86400))" >"$CD/$hash.fail"
ossl_verify d-revoked "$WORK/d.cnf" "$PKI/victim.pem"
expect_rc "planted .fail, fresh cached CRL: victim revoked" 2
expect_grep "planted .fail, fresh CRL: error 23" "error 23 at 0 depth"
ossl_verify d-good "$WORK/d.cnf" "$PKI/good.pem"
expect_rc "planted .fail, fresh cached CRL: good leaf accepted" 0
# a CRL past nextUpdate within stale_grace, revoked: the .fail stops the
# fetch, never the ossl_verify of the cached CRL
revoke good inter
gen_crl inter "$WORK/crl3.der" -crlsec 2
cp "$WORK/crl3.der" "$CD/$hash.crl"
chgrp "$GROUP" "$CD/$hash.crl"
rm -f "$CD/$hash.idx" # the index of the fresh CRL would be read first
sleep 3
ossl_verify d-stale "$WORK/d.cnf" "$PKI/good.pem"
expect_rc "planted .fail, stale CRL within grace: revoked leaf rejected" 2
expect_grep "stale within grace: error 23" "error 23 at 0 depth"
expect_grep "stale within grace: stale_grace used" "stale_grace"

echo "-- (e) the lock file held by the other user"
CE=$(cache_dir cache-e)
write_cnf "$WORK/e.cnf" "cache_dir=$CE" fetch_timeout=2
as_other flock "$CE/$hash.lock" sleep 20 &
track_pid "$!"
# until the other user holds it
for _ in $(seq 50); do
    if [[ -f "$CE/$hash.lock" ]] && ! flock -n "$CE/$hash.lock" true; then
        break
    fi
    sleep 0.1
done
ossl_verify e-held "$WORK/e.cnf" "$PKI/victim.pem"
expect_rc "lock held elsewhere: victim revoked" 2
expect_max_ms "lock held elsewhere: bounded (fetch_timeout 2 s)" 6000
modes=""
for f in "$CE"/*.lock; do
    if [[ "$f" != "$CE/$hash.lock" ]]; then
        modes+=" $(stat -c %a "$f")"
    fi
done
expect_true "lock files created by domainsec are 0660 ($modes)" \
    test "$modes" = " 660"

echo "-- (f) a CRL file writable by others"
CF=$(cache_dir cache-f)
write_cnf "$WORK/f.cnf" "cache_dir=$CF" fetch_timeout=3
ossl_verify f-warm "$WORK/f.cnf" "$PKI/victim.pem"
chmod o+w "$CF/$hash.crl" "$CF/$hash.idx"
stop_nginx
ossl_verify f-ow "$WORK/f.cnf" "$PKI/victim.pem"
expect_rc "o+w CRL file, network down: not used, not accepted" 2
expect_grep "o+w: error 3 (no CRL)" "error 3 at 0 depth"
n=$(grep -c "ignoring cache file $hash.crl: writable by others" "$OUT" || true)
expect_true "o+w: logged once in the process ($n)" test "$n" -eq 1
run_cmd f-doctor env -u OPENSSL_CONF "$CLI" doctor --offline --config \
    "$WORK/f.cnf"
expect_rc "doctor fails" "!0"
expect_grep "doctor names the file" "FAIL.*$hash.crl.*writable by others"
chmod o-w "$CF/$hash.crl" "$CF/$hash.idx"
run_cmd f-doctor-ok env -u OPENSSL_CONF "$CLI" doctor --offline --config \
    "$WORK/f.cnf"
expect_grep "doctor: cache_dir OK once fixed" "OK.*cache_dir"

finish
