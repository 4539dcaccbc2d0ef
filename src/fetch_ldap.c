/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The LDAP CDP fetcher (OpenLDAP libldap): one LDAP handle per fetch, an
 * anonymous simple bind (LDAPv3) and one base-scope search of the URL's DN
 * for the URL's attribute, which must be one of the three revocation-list
 * attributes (certificateRevocationList by default, authorityRevocationList,
 * deltaRevocationList, each with or without ";binary"). The URL must name
 * its server: libldap's default server (ldap.conf URI) is never used for a
 * CDP. ldaps:// is spoken only when cdp_schemes allows it; the server's
 * certificate is checked with libldap's own TLS settings (ldap.conf
 * TLS_CACERT, TLS_REQCERT), the CRL itself being verified against its
 * issuer afterwards anyway. The URL's scope and filter are ignored (always
 * base scope, "(objectClass=*)"); a critical extension makes us refuse it
 * (RFC 4516 §2.1). Referrals are never chased.
 *
 * Limits: one deadline (fetch_timeout) covers DNS, connect, TLS, bind and
 * search: each step gets what remains of it. The host name is resolved
 * here, in a helper thread waited for until the deadline, so a slow resolver
 * cannot stretch the fetch; plain ldap:// then connects to the addresses
 * found (libldap resolving nothing). max_crl_size caps each LDAP message
 * libldap accepts (lber's max incoming) and the value taken. Of a hostile
 * answer we take the first entry and its first non-empty value of the
 * attribute; further entries are counted and dropped, never accumulated.
 *
 * LDAP never goes through http_proxy (an HTTP forward proxy does not carry
 * LDAP): the route is always "direct". SIGPIPE from writing to a server
 * that went away is blocked for this thread during the fetch and consumed,
 * so the host process is not killed by it.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <arpa/inet.h>

#include <lber.h>
#include <ldap.h>
#include <openssl/crypto.h>

#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/url.h"

/* A CRL is the only thing a message carries: room for DN and framing. */
#define LDAP_MSG_OVERHEAD (64u * 1024u)
/* Entries of a base search beyond the first are junk; stop after these. */
#define LDAP_MAX_ENTRIES 16
/* Addresses of a host name tried in turn (ldap:// only). */
#define LDAP_MAX_ADDRS 4
#define LDAP_DEFAULT_ATTR "certificateRevocationList;binary"

static const char *const ldap_allowed_attrs[] = {
    "certificateRevocationList",
    "authorityRevocationList",
    "deltaRevocationList",
};

static CRYPTO_ONCE ldap_once = CRYPTO_ONCE_STATIC_INIT;

static double ldap_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * libldap reads ldap.conf and the environment into its global options on
 * first use; do it once, before threads race into it.
 */
static void ldap_global_init_once(void)
{
    int version = 0;

    (void)ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &version);
}

void dsec_fetch_ldap_preinit(const dsec_config *cfg)
{
    int server = 0;

    if (cfg == NULL || (cfg->cdp_schemes & DSEC_SCHEME_LDAPS) == 0) {
        return;
    }
    (void)CRYPTO_THREAD_run_once(&ldap_once, ldap_global_init_once);
    /*
     * Build libldap's global TLS context now, while ldap.conf and its CA
     * files can still be read: a daemon may chroot after activation.
     */
    (void)ldap_set_option(NULL, LDAP_OPT_X_TLS_NEWCTX, &server);
}

/* Seconds left before deadline into tv; 0 when nothing is left. */
static int ldap_remaining(double deadline, struct timeval *tv)
{
    double left = deadline - ldap_now();

    if (left < 0.001) {
        return 0;
    }
    tv->tv_sec = (time_t)left;
    tv->tv_usec = (suseconds_t)((left - (double)tv->tv_sec) * 1e6);
    return 1;
}

/* "certificateRevocationList;binary" -> index of the allowed base name. */
static int ldap_attr_allowed(const char *attr)
{
    size_t n = strcspn(attr, ";");
    size_t i;

    if (attr[n] == ';' && strcasecmp(attr + n, ";binary") != 0) {
        return -1;
    }
    for (i = 0; i < sizeof(ldap_allowed_attrs) / sizeof(ldap_allowed_attrs[0]);
         i++) {
        if (strlen(ldap_allowed_attrs[i]) == n
            && strncasecmp(attr, ldap_allowed_attrs[i], n) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Same attribute type, options (";binary") ignored. */
static int ldap_attr_same_type(const char *a, const char *b)
{
    size_t na = strcspn(a, ";");
    size_t nb = strcspn(b, ";");

    return na == nb && strncasecmp(a, b, na) == 0;
}

/*
 * A host name or address literal, nothing else: the decoded host of a URL
 * may hold spaces (libldap would read a list of servers) or worse.
 */
static int ldap_host_ok(const char *host)
{
    size_t i, n = strlen(host);

    if (n == 0 || n > 253) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'
              || c == ':')) {
            return 0;
        }
    }
    return 1;
}

/*
 * Bounded name resolution: getaddrinfo has no timeout of its own, so it
 * runs in a detached thread; whoever of the two finishes last frees the
 * shared state.
 */
struct ldap_resolve {
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int done;
    int abandoned;
    int gai_rc;
    struct addrinfo *ai;
    char host[256];
};

static void ldap_resolve_free(struct ldap_resolve *r)
{
    if (r->ai != NULL) {
        freeaddrinfo(r->ai);
    }
    pthread_cond_destroy(&r->done_cv);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static void *ldap_resolve_thread(void *arg)
{
    struct ldap_resolve *r = arg;
    struct addrinfo hints;
    struct addrinfo *ai = NULL;
    int rc, abandoned;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    rc = getaddrinfo(r->host, NULL, &hints, &ai);
    pthread_mutex_lock(&r->lock);
    r->gai_rc = rc;
    r->ai = rc == 0 ? ai : NULL;
    r->done = 1;
    abandoned = r->abandoned;
    pthread_cond_signal(&r->done_cv);
    pthread_mutex_unlock(&r->lock);
    if (abandoned) {
        ldap_resolve_free(r);
    }
    return NULL;
}

/*
 * Resolve host before deadline into at most max numeric addresses (text).
 * Returns DSEC_OK, DSEC_ERR_TIMEOUT or DSEC_ERR_CONNECT (err filled).
 */
static dsec_rv ldap_resolve_host(const char *host, double deadline,
                                 char addrs[][INET6_ADDRSTRLEN], size_t max,
                                 size_t *naddrs, DSEC_ERR *err)
{
    struct ldap_resolve *r = NULL;
    struct in_addr bin4;
    struct in6_addr bin6;
    struct addrinfo *a;
    pthread_attr_t attr;
    pthread_t tid;
    struct timespec until;
    double left;
    dsec_rv rv = DSEC_ERR_INTERNAL;
    int started = 0, finished = 0;
    size_t n = 0;

    *naddrs = 0;
    if (max > 0
        && (inet_pton(AF_INET, host, &bin4) == 1
            || inet_pton(AF_INET6, host, &bin6) == 1)) {
        /* an address literal needs no resolver */
        snprintf(addrs[0], INET6_ADDRSTRLEN, "%s", host);
        *naddrs = 1;
        return DSEC_OK;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return dsec_err_set(err, DSEC_ERR_NOMEM, 0, "out of memory");
    }
    snprintf(r->host, sizeof(r->host), "%s", host);
    pthread_mutex_init(&r->lock, NULL);
    {
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&r->done_cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&tid, &attr, ldap_resolve_thread, r) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        ldap_resolve_free(r);
        return dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                            "ldap: cannot start the resolver thread");
    }
    clock_gettime(CLOCK_MONOTONIC, &until);
    left = deadline - ldap_now();
    if (left < 0) {
        left = 0;
    }
    until.tv_sec += (time_t)left;
    until.tv_nsec += (long)((left - (double)(time_t)left) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->lock);
    while (!r->done) {
        if (pthread_cond_timedwait(&r->done_cv, &r->lock, &until)
            == ETIMEDOUT) {
            break;
        }
    }
    finished = r->done;
    if (!finished) {
        r->abandoned = 1;
    }
    pthread_mutex_unlock(&r->lock);
    if (!finished) {
        /* the thread frees r when getaddrinfo returns */
        return dsec_err_set(err, DSEC_ERR_TIMEOUT, 0,
                            "ldap: timeout resolving %s", host);
    }
    if (r->gai_rc != 0) {
        rv = dsec_err_set(err, DSEC_ERR_CONNECT, r->gai_rc,
                          "ldap: cannot resolve %s: %s", host,
                          gai_strerror(r->gai_rc));
        goto done;
    }
    for (a = r->ai; a != NULL && n < max; a = a->ai_next) {
        const void *bin = NULL;

        if (a->ai_family == AF_INET) {
            bin = &((const struct sockaddr_in *)(void *)a->ai_addr)->sin_addr;
        } else if (a->ai_family == AF_INET6) {
            bin = &((const struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr;
        }
        if (bin != NULL
            && inet_ntop(a->ai_family, bin, addrs[n], INET6_ADDRSTRLEN)
                   != NULL) {
            size_t j;
            int dup = 0;

            for (j = 0; j < n; j++) {
                dup = dup || strcmp(addrs[j], addrs[n]) == 0;
            }
            if (!dup) {
                n++;
            }
        }
    }
    if (n == 0) {
        rv = dsec_err_set(err, DSEC_ERR_CONNECT, 0,
                          "ldap: no usable address for %s", host);
        goto done;
    }
    *naddrs = n;
    rv = DSEC_OK;

done:
    ldap_resolve_free(r);
    return rv;
}

/* Append "scheme://host:port" (IPv6 in brackets) to the server list. */
static int ldap_add_server(char *buf, size_t len, const char *scheme,
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
static int ldap_errno_of(LDAP *ld)
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
static dsec_rv ldap_conn_fail(int rc, const char *step, const char *server,
                              double deadline, long timeout, DSEC_ERR *err)
{
    if (rc == LDAP_TIMEOUT || ldap_now() >= deadline - 0.01) {
        return dsec_err_set(err, DSEC_ERR_TIMEOUT, rc,
                            "ldap: timeout (%ld s) %s %s", timeout, step,
                            server);
    }
    return dsec_err_set(err, DSEC_ERR_CONNECT, rc, "ldap: %s %s failed: %s",
                        step, server, ldap_err2string(rc));
}

/*
 * Wait for the next message of msgid until deadline. Returns the message
 * type (> 0), 0 on timeout, -1 on a connection error.
 */
static int ldap_wait(LDAP *ld, int msgid, double deadline, LDAPMessage **msg)
{
    struct timeval tv;

    *msg = NULL;
    if (!ldap_remaining(deadline, &tv)) {
        return 0;
    }
    return ldap_result(ld, msgid, LDAP_MSG_ONE, &tv, msg);
}

/* Block SIGPIPE for this thread; *pending says if one was already waiting. */
static int ldap_sigpipe_block(sigset_t *old, int *pending)
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
static void ldap_sigpipe_restore(const sigset_t *old, int pending)
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

/* The URL's parts we act on, checked. */
struct ldap_target {
    LDAPURLDesc *lud;
    const char *scheme; /* "ldap" or "ldaps" */
    const char *attr;
    int port;
    char server[300]; /* "host:port" for messages */
};

static dsec_rv ldap_parse_target(const dsec_config *cfg, const char *url,
                                 const char *masked, struct ldap_target *t,
                                 DSEC_ERR *err)
{
    unsigned int scheme = dsec_url_scheme(url);
    int rc, i;

    memset(t, 0, sizeof(*t));
    if ((scheme != DSEC_SCHEME_LDAP && scheme != DSEC_SCHEME_LDAPS)
        || (scheme & cfg->cdp_schemes) == 0) {
        return dsec_err_set(err, DSEC_ERR_SCHEME, 0,
                            "scheme of %s is not allowed for LDAP fetching",
                            masked);
    }
    rc = ldap_url_parse(url, &t->lud);
    if (rc != LDAP_URL_SUCCESS || t->lud == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, rc,
                            "ldap: malformed LDAP URL %s (ldap_url_parse "
                            "error %d)",
                            masked, rc);
    }
    t->scheme = scheme == DSEC_SCHEME_LDAPS ? "ldaps" : "ldap";
    if (t->lud->lud_scheme == NULL
        || strcasecmp(t->lud->lud_scheme, t->scheme) != 0) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: unexpected scheme in %s", masked);
    }
    if (t->lud->lud_host == NULL || t->lud->lud_host[0] == '\0') {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: URL %s names no server; refused (no "
                            "default LDAP server is used for a CDP)",
                            masked);
    }
    if (!ldap_host_ok(t->lud->lud_host)) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: invalid host name in %s", masked);
    }
    t->port = t->lud->lud_port;
    if (t->port == 0) {
        t->port = scheme == DSEC_SCHEME_LDAPS ? LDAPS_PORT : LDAP_PORT;
    }
    if (t->port < 1 || t->port > 65535) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: invalid port in %s", masked);
    }
    snprintf(t->server, sizeof(t->server), "%s%s%s:%d",
             strchr(t->lud->lud_host, ':') != NULL ? "[" : "", t->lud->lud_host,
             strchr(t->lud->lud_host, ':') != NULL ? "]" : "", t->port);
    if (t->lud->lud_dn == NULL || t->lud->lud_dn[0] == '\0') {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: URL %s names no entry (empty DN)", masked);
    }
    if (t->lud->lud_crit_exts > 0) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: URL %s has a critical extension; refused",
                            masked);
    }
    t->attr = LDAP_DEFAULT_ATTR;
    if (t->lud->lud_attrs != NULL && t->lud->lud_attrs[0] != NULL) {
        for (i = 0; t->lud->lud_attrs[i] != NULL; i++) {
        }
        if (i > 1) {
            return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                                "ldap: URL %s names %d attributes; exactly "
                                "one revocation list attribute is expected",
                                masked, i);
        }
        if (ldap_attr_allowed(t->lud->lud_attrs[0]) < 0) {
            return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                                "ldap: attribute '%.64s' of %s refused (only "
                                "certificateRevocationList, "
                                "authorityRevocationList, "
                                "deltaRevocationList)",
                                t->lud->lud_attrs[0], masked);
        }
        t->attr = t->lud->lud_attrs[0];
    }
    return DSEC_OK;
}

/*
 * First non-empty value of attr (options ignored) in entry, copied into
 * res. DSEC_ERR_NO_CRL when there is none.
 */
static dsec_rv ldap_take_value(LDAP *ld, LDAPMessage *entry,
                               const struct ldap_target *t, size_t max,
                               const char *masked, dsec_fetch_result *res,
                               DSEC_ERR *err)
{
    BerElement *ber = NULL;
    char *name;
    struct berval **vals = NULL;
    struct berval *found = NULL;
    dsec_rv rv = DSEC_ERR_NO_CRL;
    int i;

    for (name = ldap_first_attribute(ld, entry, &ber); name != NULL;
         name = ldap_next_attribute(ld, entry, ber)) {
        if (found == NULL && ldap_attr_same_type(name, t->attr)) {
            vals = ldap_get_values_len(ld, entry, name);
            for (i = 0; vals != NULL && vals[i] != NULL; i++) {
                if (vals[i]->bv_len > 0 && vals[i]->bv_val != NULL) {
                    found = vals[i];
                    break;
                }
            }
            if (found == NULL) {
                ldap_value_free_len(vals);
                vals = NULL;
            }
        }
        ldap_memfree(name);
    }
    ber_free(ber, 0);
    if (found == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_NO_CRL, 0,
                          "ldap: entry '%.100s' has no %.40s value",
                          t->lud->lud_dn, t->attr);
        goto done;
    }
    if (found->bv_len > max) {
        rv = dsec_err_set(err, DSEC_ERR_TOO_BIG, 0,
                          "CRL at %s is larger than max_crl_size (%zu bytes)",
                          masked, max);
        goto done;
    }
    res->data = malloc(found->bv_len);
    if (res->data == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_NOMEM, 0, "out of memory fetching %s",
                          masked);
        goto done;
    }
    memcpy(res->data, found->bv_val, found->bv_len);
    res->len = found->bv_len;
    rv = DSEC_OK;

done:
    ldap_value_free_len(vals);
    return rv;
}

/* The search's final result code mapped; entry is the first entry or NULL. */
static dsec_rv ldap_search_outcome(LDAP *ld, LDAPMessage *result,
                                   const struct ldap_target *t, DSEC_ERR *err)
{
    int code = LDAP_OTHER;
    char *diag = NULL;
    dsec_rv rv;

    if (ldap_parse_result(ld, result, &code, NULL, &diag, NULL, NULL, 0)
        != LDAP_SUCCESS) {
        code = LDAP_OTHER;
    }
    switch (code) {
    case LDAP_SUCCESS:
    case LDAP_SIZELIMIT_EXCEEDED:
        rv = dsec_err_set(err, DSEC_ERR_NO_CRL, code,
                          "ldap: no entry '%.100s' visible on %s",
                          t->lud->lud_dn, t->server);
        break;
    case LDAP_NO_SUCH_OBJECT:
        rv = dsec_err_set(err, DSEC_ERR_NO_CRL, code,
                          "ldap: no entry '%.100s' on %s (no such object)",
                          t->lud->lud_dn, t->server);
        break;
    case LDAP_REFERRAL:
        rv = dsec_err_set(err, DSEC_ERR_NO_CRL, code,
                          "ldap: %s answered with a referral for '%.100s'; "
                          "referrals are not followed",
                          t->server, t->lud->lud_dn);
        break;
    case LDAP_TIMELIMIT_EXCEEDED:
        rv = dsec_err_set(err, DSEC_ERR_TIMEOUT, code,
                          "ldap: %s hit the time limit searching '%.100s'",
                          t->server, t->lud->lud_dn);
        break;
    case LDAP_BUSY:
    case LDAP_UNAVAILABLE:
    case LDAP_UNWILLING_TO_PERFORM:
    case LDAP_ADMINLIMIT_EXCEEDED:
        rv = dsec_err_set(err, DSEC_ERR_CONNECT, code,
                          "ldap: %s refused the search of '%.100s': %s",
                          t->server, t->lud->lud_dn, ldap_err2string(code));
        break;
    default:
        rv = dsec_err_set(err, DSEC_ERR_NO_CRL, code,
                          "ldap: search of '%.100s' on %s failed: %s",
                          t->lud->lud_dn, t->server, ldap_err2string(code));
        break;
    }
    ldap_memfree(diag);
    return rv;
}

dsec_rv dsec_fetch_ldap(const dsec_config *cfg, const char *url,
                        dsec_fetch_result *res, DSEC_ERR *err)
{
    dsec_rv rv = DSEC_ERR_INTERNAL;
    struct ldap_target t;
    LDAP *ld = NULL;
    LDAPMessage *msg = NULL;
    LDAPMessage *entry = NULL;
    Sockbuf *sb = NULL;
    struct berval cred = { 0, NULL };
    struct timeval tv;
    char masked[256] = "";
    char servers[LDAP_MAX_ADDRS * (INET6_ADDRSTRLEN + 24)] = "";
    char addrs[LDAP_MAX_ADDRS][INET6_ADDRSTRLEN];
    char *attrs[2];
    sigset_t oldmask;
    size_t naddrs = 0, i;
    ber_len_t max_in;
    double start = ldap_now();
    double deadline;
    long timeout;
    int sig_pending = 0, sig_blocked = 0, tls = 0;
    int rc, msgid = -1, type, nentries = 0, opt;

    memset(&t, 0, sizeof(t));
    if (res != NULL) {
        memset(res, 0, sizeof(*res));
    }
    if (cfg == NULL || url == NULL || res == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_INVALID, 0,
                          "fetch: missing configuration, URL or result");
        goto done;
    }
    snprintf(res->route, sizeof(res->route), "direct");
    dsec_url_mask(url, masked, sizeof(masked));
    timeout = cfg->fetch_timeout > 0 ? cfg->fetch_timeout
                                     : DSEC_DEFAULT_FETCH_TIMEOUT;
    if (timeout > 86400) {
        timeout = 86400;
    }
    deadline = start + (double)timeout;
    rv = ldap_parse_target(cfg, url, masked, &t, err);
    if (rv != DSEC_OK) {
        goto done;
    }
    if (!CRYPTO_THREAD_run_once(&ldap_once, ldap_global_init_once)) {
        rv = dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                          "libldap initialisation failed");
        goto done;
    }

    /*
     * ldap:// connects to the addresses resolved here; ldaps:// needs the
     * name for the certificate check, so libldap resolves it again (the
     * answer is then fresh in the resolver's cache).
     */
    rv = ldap_resolve_host(t.lud->lud_host, deadline, addrs, LDAP_MAX_ADDRS,
                           &naddrs, err);
    if (rv != DSEC_OK) {
        goto done;
    }
    tls = strcmp(t.scheme, "ldaps") == 0;
    if (tls) {
        naddrs = 1;
        snprintf(addrs[0], sizeof(addrs[0]), "%s", t.lud->lud_host);
    }
    for (i = 0; i < naddrs; i++) {
        if (!ldap_add_server(servers, sizeof(servers), t.scheme, addrs[i],
                             t.port)) {
            break;
        }
    }
    rc = ldap_initialize(&ld, servers);
    if (rc != LDAP_SUCCESS || ld == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_INTERNAL, rc,
                          "ldap: cannot create a handle for %s: %s", masked,
                          ldap_err2string(rc));
        goto done;
    }
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
        opt = (int)timeout;
        rc = ldap_set_option(ld, LDAP_OPT_TIMELIMIT, &opt);
    }
    if (rc == LDAP_OPT_SUCCESS && ldap_remaining(deadline, &tv)) {
        /*
         * Each connect attempt (one per address) and the TLS handshake
         * get the network timeout anew: share what remains between them.
         * Bind and search wait below with what is left then.
         */
        rc = ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
        if (rc == LDAP_OPT_SUCCESS) {
            double now = ldap_now();

            (void)ldap_remaining(
                now + (deadline - now) / (double)(naddrs + (tls ? 1 : 0)), &tv);
            rc = ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
        }
    }
    if (rc == LDAP_OPT_SUCCESS) {
        rc = ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb);
    }
    if (rc != LDAP_OPT_SUCCESS || sb == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_INTERNAL, rc,
                          "ldap: libldap rejected an option fetching %s",
                          masked);
        goto done;
    }
    /* a message larger than any acceptable CRL is refused while read */
    max_in = cfg->max_crl_size > (size_t)-1 - LDAP_MSG_OVERHEAD
                 ? (ber_len_t)-1
                 : (ber_len_t)(cfg->max_crl_size + LDAP_MSG_OVERHEAD);
    if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_MAX_INCOMING, &max_in) != 1) {
        rv = dsec_err_set(err, DSEC_ERR_INTERNAL, 0,
                          "ldap: cannot cap the message size fetching %s",
                          masked);
        goto done;
    }

    sig_blocked = ldap_sigpipe_block(&oldmask, &sig_pending);
    if (!ldap_remaining(deadline, &tv)) {
        rv = ldap_conn_fail(LDAP_TIMEOUT, "connecting to", t.server, deadline,
                            timeout, err);
        goto done;
    }
    rc = ldap_connect(ld);
    if (rc != LDAP_SUCCESS) {
        /* libldap says only "Can't contact LDAP server" when the server
           was reached but its certificate was refused */
        rv = ldap_conn_fail(ldap_errno_of(ld),
                            tls ? "connecting (TCP and TLS handshake; the "
                                  "server certificate is checked against "
                                  "ldap.conf TLS_CACERT or LDAPTLS_CACERT) "
                                  "to"
                                : "connecting to",
                            t.server, deadline, timeout, err);
        goto done;
    }

    rc = ldap_sasl_bind(ld, "", LDAP_SASL_SIMPLE, &cred, NULL, NULL, &msgid);
    if (rc != LDAP_SUCCESS) {
        rv = ldap_conn_fail(rc, "binding to", t.server, deadline, timeout, err);
        goto done;
    }
    type = ldap_wait(ld, msgid, deadline, &msg);
    if (type <= 0) {
        rv = ldap_conn_fail(type == 0 ? LDAP_TIMEOUT : ldap_errno_of(ld),
                            "binding to", t.server, deadline, timeout, err);
        goto done;
    }
    if (type != LDAP_RES_BIND
        || ldap_parse_result(ld, msg, &rc, NULL, NULL, NULL, NULL, 0)
               != LDAP_SUCCESS) {
        rv = dsec_err_set(err, DSEC_ERR_CONNECT, LDAP_PROTOCOL_ERROR,
                          "ldap: unexpected answer to the bind from %s",
                          t.server);
        goto done;
    }
    if (rc != LDAP_SUCCESS) {
        rv = dsec_err_set(err, DSEC_ERR_CONNECT, rc,
                          "ldap: anonymous bind to %s refused: %s", t.server,
                          ldap_err2string(rc));
        goto done;
    }
    ldap_msgfree(msg);
    msg = NULL;

    attrs[0] = (char *)t.attr;
    attrs[1] = NULL;
    if (!ldap_remaining(deadline, &tv)) {
        rv = ldap_conn_fail(LDAP_TIMEOUT, "searching", t.server, deadline,
                            timeout, err);
        goto done;
    }
    /* the server's time limit is whole seconds, 0 meaning none */
    if (tv.tv_usec > 0 || tv.tv_sec == 0) {
        tv.tv_sec++;
        tv.tv_usec = 0;
    }
    rc = ldap_search_ext(ld, t.lud->lud_dn, LDAP_SCOPE_BASE, "(objectClass=*)",
                         attrs, 0, NULL, NULL, &tv, 1, &msgid);
    if (rc != LDAP_SUCCESS) {
        rv = ldap_conn_fail(rc, "searching", t.server, deadline, timeout, err);
        goto done;
    }
    for (;;) {
        errno = 0;
        type = ldap_wait(ld, msgid, deadline, &msg);
        if (type <= 0) {
            rc = type == 0 ? LDAP_TIMEOUT : ldap_errno_of(ld);
            if (type < 0 && errno == ERANGE) {
                rv = dsec_err_set(err, DSEC_ERR_TOO_BIG, rc,
                                  "CRL at %s is larger than max_crl_size "
                                  "(%zu bytes)",
                                  masked, cfg->max_crl_size);
            } else {
                rv = ldap_conn_fail(rc, "searching", t.server, deadline,
                                    timeout, err);
            }
            goto done;
        }
        if (type == LDAP_RES_SEARCH_ENTRY) {
            nentries++;
            if (entry == NULL) {
                entry = msg;
                msg = NULL;
                continue;
            }
            ldap_msgfree(msg);
            msg = NULL;
            if (nentries > LDAP_MAX_ENTRIES) {
                /* a base search has one entry: this server is broken */
                ldap_abandon_ext(ld, msgid, NULL, NULL);
                break;
            }
            continue;
        }
        if (type == LDAP_RES_SEARCH_RESULT) {
            break;
        }
        /* references and anything else: dropped, referrals not chased */
        ldap_msgfree(msg);
        msg = NULL;
    }
    if (entry != NULL) {
        rv =
            ldap_take_value(ld, entry, &t, cfg->max_crl_size, masked, res, err);
    } else if (msg != NULL) {
        rv = ldap_search_outcome(ld, msg, &t, err);
    } else {
        rv = dsec_err_set(err, DSEC_ERR_NO_CRL, 0,
                          "ldap: no entry '%.100s' on %s", t.lud->lud_dn,
                          t.server);
    }

done:
    ldap_msgfree(msg);
    ldap_msgfree(entry);
    if (ld != NULL) {
        ldap_unbind_ext(ld, NULL, NULL);
    }
    if (sig_blocked) {
        ldap_sigpipe_restore(&oldmask, sig_pending);
    }
    if (t.lud != NULL) {
        ldap_free_urldesc(t.lud);
    }
    if (rv != DSEC_OK && res != NULL) {
        free(res->data);
        res->data = NULL;
        res->len = 0;
    }
    if (res != NULL) {
        res->seconds = ldap_now() - start;
    }
    if (dsec_log_enabled(DSEC_LOG_DEBUG) && res != NULL && url != NULL) {
        dsec_log(DSEC_LOG_DEBUG,
                 "fetch %s (%s): %s, %zu bytes, %d entries, %.3f s", masked,
                 res->route, dsec_rv_name(rv), res->len, nentries,
                 res->seconds);
    }
    return rv;
}
