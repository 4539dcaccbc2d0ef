/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Declarations shared between libdomainsec's own source files and used by
 * neither the provider nor the CLI: the fetch back ends behind
 * dsec_fetch_url and the helpers they are built from. Grouped by the file
 * that defines them.
 */
#ifndef DOMAINSEC_SRC_INTERNAL_H
#define DOMAINSEC_SRC_INTERNAL_H

#include <stddef.h>
#include <netinet/in.h>

#include "domainsec/common.h"
#include "domainsec/fetch.h"

/* clock.c */

/* Seconds on the monotonic clock: for durations and deadlines only. */
double dsec_clock_now(void);

/* fetch_http.c and fetch_ldap.c: the scheme back ends of dsec_fetch_url */

/*
 * Called by dsec_fetch_url only, after its checks: pol, url and res are
 * not NULL, res is zeroed, url's scheme is allowed, pol->fetch_timeout is
 * between 1 and 86400 seconds and, for HTTP, libcurl is initialised. Each back end checks again that url is of its own family
 * of schemes (DSEC_ERR_SCHEME otherwise), fills res (data only on success)
 * and the route, and logs one debug line per fetch.
 */
dsec_rv dsec_fetch_http(const dsec_fetch_policy *pol, const char *url,
                        dsec_fetch_result *res, DSEC_ERR *err);
dsec_rv dsec_fetch_ldap(const dsec_fetch_policy *pol, const char *url,
                        dsec_fetch_result *res, DSEC_ERR *err);

/* proxy.c */

/*
 * The route of url under pol, decided by us and told to libcurl as is:
 * returns the proxy to use (pol->http_proxy, or with http_proxy = env the
 * environment's, borrowed) or NULL for a direct connection unless no_proxy
 * matches the host. route receives "direct" or "proxy <proxy>" with
 * everything between the scheme and the last "@" masked.
 */
const char *dsec_proxy_route(const dsec_fetch_policy *pol, const char *url,
                             char *route, size_t rlen);

/*
 * Replace libcurl's error message in errbuf by a neutral one when it quotes
 * proxy's credentials (or the whole proxy). proxy may be NULL.
 */
void dsec_proxy_scrub_error(char *errbuf, size_t len, const char *proxy);

/* resolve.c */

/*
 * Resolve host before deadline (dsec_clock_now() time) into at most max
 * distinct numeric addresses, as text; an address literal is taken as is.
 * getaddrinfo has no timeout of its own: it runs in a detached thread that
 * is abandoned at the deadline. Returns DSEC_OK, DSEC_ERR_TIMEOUT,
 * DSEC_ERR_CONNECT (err->code: the getaddrinfo error) or DSEC_ERR_NOMEM /
 * DSEC_ERR_INTERNAL; messages start with "who: ".
 */
dsec_rv dsec_resolve_host(const char *who, const char *host, double deadline,
                          char addrs[][INET6_ADDRSTRLEN], size_t max,
                          size_t *naddrs, DSEC_ERR *err);

/* ldapcdp.c */

struct ldap; /* OpenLDAP's LDAP */
struct ldapmsg; /* OpenLDAP's LDAPMessage */
struct ldap_url_desc; /* OpenLDAP's LDAPURLDesc */

/* The parts of an LDAP CDP URL that the LDAP fetcher acts on, checked. */
typedef struct {
    struct ldap_url_desc *lud;
    const char *scheme; /* "ldap" or "ldaps" */
    const char *attr; /* the revocation list attribute asked for */
    int port;
    char server[300]; /* "host:port" for messages */
} dsec_ldapcdp;

/*
 * Parse url (masked: its masked form, for messages) into t: scheme in
 * schemes, a host name or address, a port, a non-empty DN, no critical
 * extension, at most one attribute, a revocation list one
 * (certificateRevocationList;binary when none). DSEC_ERR_SCHEME or
 * DSEC_ERR_INVALID otherwise. t always needs dsec_ldapcdp_clear.
 */
dsec_rv dsec_ldapcdp_parse(unsigned int schemes, const char *url,
                           const char *masked, dsec_ldapcdp *t, DSEC_ERR *err);
void dsec_ldapcdp_clear(dsec_ldapcdp *t);

/*
 * The first non-empty value of t's attribute (options ignored) in entry,
 * copied into res->data and res->len; DSEC_ERR_NO_CRL when there is none,
 * DSEC_ERR_TOO_BIG when it is over max bytes.
 */
dsec_rv dsec_ldapcdp_take_value(const dsec_ldapcdp *t, struct ldap *ld,
                                struct ldapmsg *entry, size_t max,
                                const char *masked, dsec_fetch_result *res,
                                DSEC_ERR *err);

/* Why a search that ended with result, no entry having come, gave no CRL. */
dsec_rv dsec_ldapcdp_no_entry(const dsec_ldapcdp *t, struct ldap *ld,
                              struct ldapmsg *result, DSEC_ERR *err);

#endif /* DOMAINSEC_SRC_INTERNAL_H */
