# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Private Postfix instances for the integration tests (test_postfix.sh,
# test_postfix_pair.sh), sourced after lib.sh. An instance INST has its own
# config, queue and data directories under $WORK/INST/ (never /etc/postfix
# nor /var/spool/postfix), its own maillog (postlogd), and runs as Debian
# runs Postfix: started as root, the daemons chrooted into the queue
# directory as user postfix. domainsec reaches the daemons only through
# OPENSSL_CONF in import_environment. Several instances may run at once;
# the EXIT trap stops every one this script started.
#
#   pf_setup NAME                     checks, work dir in /tmp, dsec_setup
#   pf_main_cf INST MAILLOG CNF [name=value]...    main.cf
#   pf_master_cf INST LISTEN          master.cf: smtpd on LISTEN, daemons
#   pf_launch INST PORT MAILLOG       postfix check + start, smtpd ready
#   pf_stop INST                      stop it (postfix stop, else its master)
#   pf_postconf INST args...          postconf -c <INST's config>
#   pf_devlog INST FILE               the jail's dev/log, caught into FILE
#   pf_conf INST / pf_queue INST      its config / queue directory
# shellcheck disable=SC2034

# chroot column of master.cf: y, as Debian runs smtpd and smtp. domainsec
# opens its directories at activation (pre-jail TLS init), so it works in
# the jail, and its syslog lines go to the jail's dev/log (pf_devlog).
PF_CHROOT=y
# the instances started, for pf_stop_all
PF_STARTED=" "

# pf_setup NAME: exit 77 without postfix, root or the postfix user; then
# the work directory and dsec_setup NAME. Postfix's daemons drop to the
# postfix user and must reach their queue and data directories by path:
# the build tree may sit below a directory they cannot traverse (/root),
# so the instances live in a fresh directory of /tmp, linked from the
# build tree for the logs.
pf_setup() {
    local name=$1
    POSTFIX_BIN=$(command -v postfix || true)
    if [[ -z "$POSTFIX_BIN" && -x /usr/sbin/postfix ]]; then
        POSTFIX_BIN=/usr/sbin/postfix
    fi
    need_bin "$POSTFIX_BIN" postfix
    PF_SBIN=$(dirname "$POSTFIX_BIN")
    if [[ $(id -u) -ne 0 ]]; then
        echo "SKIP: a private Postfix instance needs root" >&2
        exit 77
    fi
    if ! id postfix >/dev/null 2>&1; then
        echo "SKIP: no postfix user" >&2
        exit 77
    fi
    if [[ -z "${DSEC_WORK:-}" ]]; then
        DSEC_WORK=$(mktemp -d "/tmp/domainsec-$name.XXXXXX")
        chmod 755 "$DSEC_WORK"
        mkdir -p "$DSEC_BUILD/test-work"
        rm -rf "${DSEC_BUILD:?}/test-work/$name"
        ln -sfn "$DSEC_WORK" "$DSEC_BUILD/test-work/$name"
    fi
    export DSEC_WORK
    dsec_setup "$name"
    trap pf_cleanup EXIT
    # import_environment and maillog_file_prefixes are lists split at
    # blanks and commas
    if [[ "$WORK" == *[[:space:],]* ]]; then
        echo "FATAL: work directory '$WORK' has a blank or comma" >&2
        exit 1
    fi
}

pf_conf() {
    echo "$WORK/$1/etc"
}

pf_queue() {
    echo "$WORK/$1/spool"
}

# pf_postconf INST args...: postconf on the instance's configuration.
pf_postconf() {
    local inst=$1
    shift
    "$PF_SBIN/postconf" -c "$(pf_conf "$inst")" "$@"
}

# pf_main_cf INST MAILLOG CNF [name=value]...: the instance's main.cf, its
# log in MAILLOG, OPENSSL_CONF=CNF imported into every daemon ("-": no
# OPENSSL_CONF at all), then each name=value set (postconf -e).
pf_main_cf() {
    local inst=$1 maillog=$2 cnf=$3 conf queue data imports kv
    shift 3
    conf=$(pf_conf "$inst")
    queue=$(pf_queue "$inst")
    data="$WORK/$inst/data"
    imports="MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C"
    imports+=" POSTLOG_SERVICE POSTLOG_HOSTNAME"
    if [[ "$cnf" != "-" ]]; then
        imports+=" OPENSSL_CONF=$cnf"
        # sanitizer runtime of an ASan build for the uninstrumented daemons
        for kv in "${HOST_ENV[@]:1}"; do
            imports+=" $kv"
        done
    fi
    mkdir -p "$conf" "$queue" "$data"
    chmod 755 "$WORK/$inst" "$conf" "$queue"
    chown postfix "$data"
    chmod 700 "$data"
    cat >"$conf/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $conf
queue_directory = $queue
data_directory = $data
mail_owner = postfix
setgid_group = postdrop
multi_instance_name = dsec-$inst-$$
syslog_name = dsec-$inst-$$
maillog_file = $maillog
maillog_file_prefixes = $WORK
import_environment = $imports
myhostname = $inst.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
biff = no
tls_random_source = dev:/dev/urandom
EOF
    if [[ $# -gt 0 ]]; then
        pf_postconf "$inst" -e "$@"
    fi
}

# pf_master_cf INST LISTEN: the instance's master.cf, smtpd on LISTEN
# (host:port) and the daemons every instance needs; append services to it.
pf_master_cf() {
    local inst=$1 listen=$2 c=$PF_CHROOT
    cat >"$(pf_conf "$inst")/master.cf" <<EOF
$listen inet n - $c - - smtpd
pickup    unix  n       -       $c       60      1       pickup
cleanup   unix  n       -       $c       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       $c       1000?   1       tlsmgr
rewrite   unix  -       -       $c       -       -       trivial-rewrite
bounce    unix  -       -       $c       -       0       bounce
defer     unix  -       -       $c       -       0       bounce
trace     unix  -       -       $c       -       0       bounce
verify    unix  -       -       $c       -       1       verify
flush     unix  n       -       $c       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       $c       -       -       showq
error     unix  -       -       $c       -       -       error
retry     unix  -       -       $c       -       -       error
discard   unix  -       -       $c       -       -       discard
anvil     unix  -       -       $c       -       1       anvil
scache    unix  -       -       $c       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

pf_master_pid() {
    local pidfile
    pidfile="$(pf_queue "$1")/pid/master.pid"
    if [[ -f "$pidfile" ]]; then
        awk '{ print $1; exit }' "$pidfile"
    fi
}

# pf_launch INST PORT MAILLOG: `postfix check` and `postfix start` the
# instance, then wait until its smtpd on PORT answers (the probe
# connection of wait_port is logged before any client's).
pf_launch() {
    local inst=$1 port=$2 maillog=$3 conf cmdlog="$WORK/postfix-cmd.log"
    conf=$(pf_conf "$inst")
    if ! timeout 30 "$POSTFIX_BIN" -c "$conf" check >>"$cmdlog" 2>&1; then
        echo "FATAL: postfix check failed ($inst)" >&2
        cat "$cmdlog" >&2
        exit 1
    fi
    PF_STARTED+="$inst "
    if ! timeout 30 "$POSTFIX_BIN" -c "$conf" start >>"$cmdlog" 2>&1; then
        echo "FATAL: postfix start failed ($inst)" >&2
        cat "$cmdlog" "$maillog" >&2 || true
        exit 1
    fi
    if ! wait_port "$port" 15 ||
        ! wait_file_grep "disconnect from" "$maillog" 10; then
        cat "$cmdlog" "$maillog" >&2 || true
        exit 1
    fi
}

# pf_stop INST: stop the instance; if `postfix stop` fails, kill only its
# master (whose process group holds the daemons it started).
pf_stop() {
    local inst=$1 pid i
    if [[ "$PF_STARTED" != *" $inst "* ]]; then
        return 0
    fi
    PF_STARTED=${PF_STARTED/ $inst / }
    pid=$(pf_master_pid "$inst")
    if ! timeout 20 "$POSTFIX_BIN" -c "$(pf_conf "$inst")" stop \
        >>"$WORK/postfix-cmd.log" 2>&1; then
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
    fi
}

# shellcheck disable=SC2317 # called by the EXIT trap
pf_cleanup() {
    local inst
    for inst in $PF_STARTED; do
        pf_stop "$inst" || true
    done
    dsec_cleanup
}

# pf_devlog INST FILE: a syslog sink on the instance's <queue>/dev/log,
# which is /dev/log for its chrooted daemons (as Debian's rsyslog provides
# /var/spool/postfix/dev/log): domainsec's `log = syslog` lines of smtpd
# and smtp reach FILE. Postfix itself logs through postlogd to its maillog.
pf_devlog() {
    local inst=$1 file=$2 queue sock i pid
    queue=$(pf_queue "$inst")
    sock="$queue/dev/log"
    mkdir -p "$queue/dev"
    chmod 755 "$WORK/$inst" "$queue" "$queue/dev"
    rm -f "$sock"
    : >"$file"
    python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
' "$sock" "$file" >"$file.stderr" 2>&1 &
    pid=$!
    track_pid "$pid"
    for ((i = 0; i < 100; i++)); do
        if [[ -S "$sock" ]]; then
            return 0
        fi
        sleep 0.1
    done
    echo "pf_devlog: no socket $sock" >&2
    cat "$file.stderr" >&2 || true
    return 1
}
