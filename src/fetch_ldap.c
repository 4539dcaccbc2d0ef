/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The LDAP CDP fetcher (OpenLDAP libldap): one LDAP handle per fetch, an
 * anonymous simple bind (LDAPv3) and one base-scope search of the URL's DN
 * for the URL's attribute. Which URLs are accepted, which attribute is asked
 * for and what the answer means is ldapcdp.c's decision. ldaps:// is spoken only when
 * cdp_schemes allows it; the server's certificate is checked with libldap's
 * own TLS settings (ldap.conf TLS_CACERT, TLS_REQCERT), the CRL itself
 * being verified against its issuer afterwards anyway. The URL's scope and
 * filter are ignored (always base scope, "(objectClass=*)"). Referrals are
 * never chased.
 *
 * Limits: one deadline (fetch_timeout) covers DNS, connect, TLS, bind and
 * search: each step gets what remains of it. The host name is resolved
 * here (resolve.c: a helper thread waited for until the deadline), so a
 * slow resolver cannot stretch the fetch; plain ldap:// then connects to
 * the addresses found (libldap resolving nothing). max_crl_size caps each
 * LDAP message libldap accepts (lber's max incoming) and the value taken.
 * Of a hostile answer we take the first entry and its first non-empty
 * value of the attribute; further entries are counted and dropped, never
 * accumulated.
 *
 * deny_networks: the addresses resolved here that it denies are dropped
 * (none left: refused before any connection), and every connection libldap
 * makes (ldaps:// resolves the name again) is checked by a connect
 * callback before a byte is sent on it.
 *
 * LDAP never goes through http_proxy (an HTTP forward proxy does not carry
 * LDAP): the route is always "direct". SIGPIPE from writing to a server
 * that went away is blocked for this thread during the fetch and consumed,
 * so the host process is not killed by it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lber.h>
#include <ldap.h>
#include <openssl/crypto.h>

#include "domainsec/url.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "internal.h"

/* A CRL is the only thing a message carries: room for DN and framing. */
#define DSEC_LDAP_MSG_OVERHEAD (64u * 1024u)
/* Entries of a base search beyond the first are junk; stop after these. */
#define DSEC_LDAP_MAX_ENTRIES 16
/* Addresses of a host name tried in turn (ldap:// only). */
#define DSEC_LDAP_MAX_ADDRS 4

static CRYPTO_ONCE lf_once = CRYPTO_ONCE_STATIC_INIT;

/* One LDAP fetch in progress: what its steps share. */
struct lf_fetch {
    const dsec_fetch_policy *pol;
    dsec_fetch_result *res;
    dsec_ldapcdp t;
    LDAP *ld;
    LDAPMessage *msg; /* the message being read, or the search result */
    LDAPMessage *entry; /* the first entry found */
    char masked[256];
    double deadline;
    size_t naddrs; /* servers handed to libldap */
    int tls;
    int msgid;
    int nentries;
    ldap_conncb conncb; /* deny_networks, on every connection */
    char denied_addr[INET6_ADDRSTRLEN]; /* the first address refused */
    char denied_rule[128];
};

/*
 * libldap reads ldap.conf and the environment into its global options on
 * first use; do it once, before threads race into it.
 */
static void lf_global_init_once(void)
{
    int version = 0;

    (void)ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &version);
}

void dsec_fetch_ldap_preinit(const dsec_fetch_policy *pol)
{
    int server = 0;

    if (pol == NULL || (pol->cdp_schemes & DSEC_SCHEME_LDAPS) == 0) {
        return;
    }
    (void)CRYPTO_THREAD_run_once(&lf_once, lf_global_init_once);
    /*
     * Build libldap's global TLS context now, while ldap.conf and its CA
     * files can still be read: a daemon may chroot after activation.
     */
    (void)ldap_set_option(NULL, LDAP_OPT_X_TLS_NEWCTX, &server);
}

/* Seconds left before deadline into tv; 0 when nothing is left. */
static int lf_remaining(double deadline, struct timeval *tv)
{
    double left = deadline - dsec_clock_now();

    if (left < 0.001) {
        return 0;
    }
    tv->tv_sec = (time_t)left;
    tv->tv_usec = (suseconds_t)((left - (double)tv->tv_sec) * 1e6);
    return 1;
}

/* Append "scheme://host:port" (IPv6 in brackets) to the server list. */
static int lf_add_server(char *buf, size_t len, const char *scheme,
                         const char *host, int port)
{
    size_t used = strlen(buf);
    int v6 = strchr(host, ':') != NULL;
    int n;

    n = snprintf(buf + used, len - used, "%s%s://%s%s%s:%d",
                 used > 0 ? " " : "", scheme, v6 ? "[" : "", host,
                 v6 ? "]" : "", port);
    return n > 0 && (size_t)n < len - used;
}

/* The libldap error of ld (ld_errno). */
static int lf_errno_of(LDAP *ld)
{
    int rc = LDAP_OTHER;

    if (ld == NULL
        || ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc) != LDAP_OPT_SUCCESS) {
        return LDAP_OTHER;
    }
    return rc;
}

/*
 * A failure of the connection itself (connect, TLS, a result that did not
 * arrive): timeout when the deadline was what ended it, else unreachable.
 */
static dsec_rv lf_conn_fail(const struct lf_fetch *f, int rc, const char *step,
                            DSEC_ERR *err)
{
    if (rc == LDAP_TIMEOUT || dsec_clock_now() >= f->deadline - 0.01) {
        return dsec_err_set(err, DSEC_ERR_TIMEOUT, rc,
                            "ldap: timeout (%ld s) %s %s",
                            f->pol->fetch_timeout, step, f->t.server);
    }
    return dsec_err_set(err, DSEC_ERR_CONNECT, rc, "ldap: %s %s failed: %s",
                        step, f->t.server, ldap_err2string(rc));
}

/*
 * Wait for the next message of msgid until deadline. Returns the message
 * type (> 0), 0 on timeout, -1 on a connection error.
 */
static int lf_wait(LDAP *ld, int msgid, double deadline, LDAPMessage **msg)
{
    struct timeval tv;

    *msg = NULL;
    if (!lf_remaining(deadline, &tv)) {
        return 0;
    }
    return ldap_result(ld, msgid, LDAP_MSG_ONE, &tv, msg);
}

/* Block SIGPIPE for this thread; *pending says if one was already waiting. */
static int lf_sigpipe_block(sigset_t *old, int *pending)
{
    sigset_t pipe_set, now;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    *pending = 0;
    if (sigpending(&now) == 0 && sigismember(&now, SIGPIPE)) {
        *pending = 1;
    }
    return pthread_sigmask(SIG_BLOCK, &pipe_set, old) == 0;
}

/* Consume a SIGPIPE raised by our writes, then restore the mask. */
static void lf_sigpipe_restore(const sigset_t *old, int pending)
{
    sigset_t pipe_set, now;
    struct timespec zero = { 0, 0 };

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (!pending && sigismember(old, SIGPIPE) == 0 && sigpending(&now) == 0
        && sigismember(&now, SIGPIPE)) {
        while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE) {
        }
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* The fetch refused by deny_networks (denied_addr, denied_rule). */
static dsec_rv lf_denied(const struct lf_fetch *f, DSEC_ERR *err)
{
    return dsec_err_set(err, DSEC_ERR_CONNECT, 0,
                        "ldap: fetching %s refused: address %s is in "
                        "deny_networks (%s)",
                        f->masked, f->denied_addr, f->denied_rule);
}

/* libldap connected to addr: go on (0) unless deny_networks refuses it. */
static int lf_conn_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv,
                       struct sockaddr *addr, struct ldap_conncb *ctx)
{
    struct lf_fetch *f = ctx->lc_arg;
    char text[INET6_ADDRSTRLEN];
    char rule[sizeof(f->denied_rule)];

    (void)ld;
    (void)sb;
    (void)srv;
    if (!dsec_netdeny_match_sockaddr(f->pol->deny_networks, addr, text,
                                     sizeof(text), rule, sizeof(rule))) {
        return 0;
    }
    if (f->denied_addr[0] == '\0') {
        snprintf(f->denied_addr, sizeof(f->denied_addr), "%s", text);
        snprintf(f->denied_rule, sizeof(f->denied_rule), "%s", rule);
    }
    return -1;
}

static void lf_conn_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
    (void)ld;
    (void)sb;
    (void)ctx;
}

/*
 * The handle, on the servers to try: ldap:// connects to the addresses
 * resolved here; ldaps:// needs the name for the certificate check, so
 * libldap resolves it again (the answer is then fresh in the resolver's
 * cache).
 */
static dsec_rv lf_open(struct lf_fetch *f, DSEC_ERR *err)
{
    char servers[DSEC_LDAP_MAX_ADDRS * (INET6_ADDRSTRLEN + 24)] = "";
    char addrs[DSEC_LDAP_MAX_ADDRS][INET6_ADDRSTRLEN];
    size_t i;
    dsec_rv rv;
    int rc;

    rv = dsec_resolve_host("ldap", f->t.lud->lud_host, f->deadline, addrs,
                           DSEC_LDAP_MAX_ADDRS, &f->naddrs, err);
    if (rv != DSEC_OK) {
        return rv;
    }
    f->naddrs = dsec_netdeny_filter(f->pol->deny_networks, addrs, f->naddrs,
                                    f->denied_addr, sizeof(f->denied_addr),
                                    f->denied_rule, sizeof(f->denied_rule));
    if (f->naddrs == 0) {
        return lf_denied(f, err);
    }
    /* from now on: an address refused by lf_conn_add */
    f->denied_addr[0] = '\0';
    f->tls = strcmp(f->t.scheme, "ldaps") == 0;
    if (f->tls) {
        f->naddrs = 1;
        snprintf(addrs[0], sizeof(addrs[0]), "%s", f->t.lud->lud_host);
    }
    for (i = 0; i < f->naddrs; i++) {
        if (!lf_add_server(servers, sizeof(servers), f->t.scheme, addrs[i],
                           f->t.port)) {
            break;
        }
    }
    rc = ldap_initialize(&f->ld, servers);
    if (rc == LDAP_SUCCESS && f->ld != NULL && f->pol->deny_networks != NULL) {
        f->conncb.lc_add = lf_conn_add;
        f->conncb.lc_del = lf_conn_del;
        f->conncb.lc_arg = f;
        rc = ldap_set_option(f->ld, LDAP_OPT_CONNECT_CB, &f->conncb);
    }
    if (rc != LDAP_SUCCESS || f->ld == NULL) {
        return dsec_err_set(err, DSEC_ERR_INTERNAL, rc,
                            "ldap: cannot create a handle for %s: %s",
                            f->masked, ldap_err2string(rc));
    }
    return DSEC_OK;
}

/* The handle's options: LDAPv3, no referrals, limits and timeouts. */
static dsec_rv lf_options(struct lf_fetch *f, DSEC_ERR *err)
{
    LDAP *ld = f->ld;
    Sockbuf *sb = NULL;
    struct timeval tv;
    ber_len_t max_in;
    int rc, opt;

    opt = LDAP_VERSION3;
    rc = ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &opt);
    if (rc == LDAP_OPT_SUCCESS) {
        rc = ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    }
    if (rc == LDAP_OPT_SUCCESS) {
        rc = ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON);
    }
    if (rc == LDAP_OPT_SUCCESS) {
        opt = LDAP_DEREF_NEVER;
        rc = ldap_set_option(ld, LDAP_OPT_DEREF, &opt);
    }
    if (rc == LDAP_OPT_SUCCESS) {
        opt = 1;
        rc = ldap_set_option(ld, LDAP_OPT_SIZELIMIT, &opt);
    }
    if (rc == LDAP_OPT_SUCCESS) {
        opt = (int)f->pol->fetch_timeout;
        rc = ldap_set_option(ld, LDAP_OPT_TIMELIMIT, &opt);
    }
    if (rc == LDAP_OPT_SUCCESS && lf_remaining(f->deadline, &tv)) {
        /*
         * Each connect attempt (one per address) and the TLS handshake
         * get the network timeout anew: share what remains between them.
         * Bind and search wait below with what is left then.
         */
        rc = ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
        if (rc == LDAP_OPT_SUCCESS) {
            double now = dsec_clock_now();

            (void)lf_remaining(
                now
                    + (f->deadline - now)
                          / (double)(f->naddrs + (f->tls ? 1 : 0)),
                &tv);
            rc = ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
        }
    }
    if (rc == LDAP_OPT_SUCCESS) {
        rc = ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb);
    }
    if (rc != LDAP_OPT_SUCCESS || sb == NULL) {
        return dsec_err_set(err, DSEC_ERR_INTERNAL, rc,
                            "ldap: libldap rejected an option fetching %s",
                            f->masked);
    }
    /* a message larger than any acceptable CRL is refused while read */
    max_in = f->pol->max_crl_size > (size_t)-1 - DSEC_LDAP_MSG_OVERHEAD
                 ? (ber_len_t)-1
                 : (ber_len_t)(f->pol->max_crl_size + DSEC_LDAP_MSG_OVERHEAD);
    if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_MAX_INCOMING, &max_in) != 1) {
        return dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                            "ldap: cannot cap the message size fetching %s",
                            f->masked);
    }
    return DSEC_OK;
}

/* TCP connection (and TLS handshake for ldaps) within the deadline. */
static dsec_rv lf_connect(struct lf_fetch *f, DSEC_ERR *err)
{
    struct timeval tv;

    if (!lf_remaining(f->deadline, &tv)) {
        return lf_conn_fail(f, LDAP_TIMEOUT, "connecting to", err);
    }
    if (ldap_connect(f->ld) != LDAP_SUCCESS) {
        if (f->denied_addr[0] != '\0') {
            return lf_denied(f, err);
        }
        /* libldap says only "Can't contact LDAP server" when the server
           was reached but its certificate was refused */
        return lf_conn_fail(f, lf_errno_of(f->ld),
                            f->tls ? "connecting (TCP and TLS handshake; the "
                                     "server certificate is checked against "
                                     "ldap.conf TLS_CACERT or LDAPTLS_CACERT) "
                                     "to"
                                   : "connecting to",
                            err);
    }
    return DSEC_OK;
}

/* The anonymous simple bind, its answer awaited until the deadline. */
static dsec_rv lf_bind(struct lf_fetch *f, DSEC_ERR *err)
{
    struct berval cred = { 0, NULL };
    int rc, type;

    rc = ldap_sasl_bind(f->ld, "", LDAP_SASL_SIMPLE, &cred, NULL, NULL,
                        &f->msgid);
    if (rc != LDAP_SUCCESS) {
        return lf_conn_fail(f, rc, "binding to", err);
    }
    type = lf_wait(f->ld, f->msgid, f->deadline, &f->msg);
    if (type <= 0) {
        return lf_conn_fail(f, type == 0 ? LDAP_TIMEOUT : lf_errno_of(f->ld),
                            "binding to", err);
    }
    if (type != LDAP_RES_BIND
        || ldap_parse_result(f->ld, f->msg, &rc, NULL, NULL, NULL, NULL, 0)
               != LDAP_SUCCESS) {
        return dsec_err_set(err, DSEC_ERR_CONNECT, LDAP_PROTOCOL_ERROR,
                            "ldap: unexpected answer to the bind from %s",
                            f->t.server);
    }
    if (rc != LDAP_SUCCESS) {
        return dsec_err_set(err, DSEC_ERR_CONNECT, rc,
                            "ldap: anonymous bind to %s refused: %s",
                            f->t.server, ldap_err2string(rc));
    }
    ldap_msgfree(f->msg);
    f->msg = NULL;
    return DSEC_OK;
}

/* The base-scope search for the attribute, sent. */
static dsec_rv lf_search(struct lf_fetch *f, DSEC_ERR *err)
{
    struct timeval tv;
    char *attrs[2];
    int rc;

    attrs[0] = (char *)f->t.attr;
    attrs[1] = NULL;
    if (!lf_remaining(f->deadline, &tv)) {
        return lf_conn_fail(f, LDAP_TIMEOUT, "searching", err);
    }
    /* the server's time limit is whole seconds, 0 meaning none */
    if (tv.tv_usec > 0 || tv.tv_sec == 0) {
        tv.tv_sec++;
        tv.tv_usec = 0;
    }
    rc = ldap_search_ext(f->ld, f->t.lud->lud_dn, LDAP_SCOPE_BASE,
                         "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1,
                         &f->msgid);
    if (rc != LDAP_SUCCESS) {
        return lf_conn_fail(f, rc, "searching", err);
    }
    return DSEC_OK;
}

/*
 * The search's messages until its result: the first entry kept, further
 * ones counted and dropped, references dropped (referrals not chased).
 */
static dsec_rv lf_collect(struct lf_fetch *f, DSEC_ERR *err)
{
    int rc, type;

    for (;;) {
        errno = 0;
        type = lf_wait(f->ld, f->msgid, f->deadline, &f->msg);
        if (type <= 0) {
            rc = type == 0 ? LDAP_TIMEOUT : lf_errno_of(f->ld);
            if (type < 0 && errno == ERANGE) {
                return dsec_err_set(err, DSEC_ERR_TOO_BIG, rc,
                                    "CRL at %s is larger than max_crl_size "
                                    "(%zu bytes)",
                                    f->masked, f->pol->max_crl_size);
            }
            return lf_conn_fail(f, rc, "searching", err);
        }
        if (type == LDAP_RES_SEARCH_ENTRY) {
            f->nentries++;
            if (f->entry == NULL) {
                f->entry = f->msg;
                f->msg = NULL;
                continue;
            }
            ldap_msgfree(f->msg);
            f->msg = NULL;
            if (f->nentries > DSEC_LDAP_MAX_ENTRIES) {
                /* a base search has one entry: this server is broken */
                ldap_abandon_ext(f->ld, f->msgid, NULL, NULL);
                return DSEC_OK;
            }
            continue;
        }
        if (type == LDAP_RES_SEARCH_RESULT) {
            return DSEC_OK;
        }
        /* references and anything else: dropped, referrals not chased */
        ldap_msgfree(f->msg);
        f->msg = NULL;
    }
}

/* What the search gave: the value of its first entry, or why none. */
static dsec_rv lf_answer(struct lf_fetch *f, DSEC_ERR *err)
{
    if (f->entry != NULL) {
        return dsec_ldapcdp_take_value(&f->t, f->ld, f->entry,
                                       f->pol->max_crl_size, f->masked, f->res,
                                       err);
    }
    if (f->msg != NULL) {
        return dsec_ldapcdp_no_entry(&f->t, f->ld, f->msg, err);
    }
    return dsec_err_set(err, DSEC_ERR_NO_CRL, 0,
                        "ldap: no entry '%.100s' on %s", f->t.lud->lud_dn,
                        f->t.server);
}

/* Connect, bind, search, read: each step within what remains. */
static dsec_rv lf_exchange(struct lf_fetch *f, DSEC_ERR *err)
{
    dsec_rv rv;

    rv = lf_connect(f, err);
    if (rv == DSEC_OK) {
        rv = lf_bind(f, err);
    }
    if (rv == DSEC_OK) {
        rv = lf_search(f, err);
    }
    if (rv == DSEC_OK) {
        rv = lf_collect(f, err);
    }
    if (rv == DSEC_OK) {
        rv = lf_answer(f, err);
    }
    return rv;
}

dsec_rv dsec_fetch_ldap(const dsec_fetch_policy *pol, const char *url,
                        dsec_fetch_result *res, DSEC_ERR *err)
{
    struct lf_fetch f;
    sigset_t oldmask;
    double start = dsec_clock_now();
    int sig_pending = 0, sig_blocked = 0;
    dsec_rv rv;

    memset(&f, 0, sizeof(f));
    f.pol = pol;
    f.res = res;
    f.msgid = -1;
    f.deadline = start + (double)pol->fetch_timeout;
    snprintf(res->route, sizeof(res->route), "direct");
    dsec_url_mask(url, f.masked, sizeof(f.masked));
    rv = dsec_ldapcdp_parse(pol->cdp_schemes, url, f.masked, &f.t, err);
    if (rv != DSEC_OK) {
        goto done;
    }
    if (!CRYPTO_THREAD_run_once(&lf_once, lf_global_init_once)) {
        rv = dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                          "libldap initialisation failed");
        goto done;
    }
    rv = lf_open(&f, err);
    if (rv == DSEC_OK) {
        rv = lf_options(&f, err);
    }
    if (rv != DSEC_OK) {
        goto done;
    }
    sig_blocked = lf_sigpipe_block(&oldmask, &sig_pending);
    rv = lf_exchange(&f, err);

done:
    ldap_msgfree(f.msg);
    ldap_msgfree(f.entry);
    if (f.ld != NULL) {
        /* SIGPIPE still blocked: the unbind writes too */
        ldap_unbind_ext(f.ld, NULL, NULL);
    }
    if (sig_blocked) {
        lf_sigpipe_restore(&oldmask, sig_pending);
    }
    dsec_ldapcdp_clear(&f.t);
    res->seconds = dsec_clock_now() - start;
    if (dsec_log_enabled(DSEC_LOG_DEBUG)) {
        dsec_log(DSEC_LOG_DEBUG,
                 "fetch %s (%s): %s, %zu bytes, %d entries, %.3f s", f.masked,
                 res->route, dsec_rv_name(rv), res->len, f.nentries,
                 res->seconds);
    }
    return rv;
}
