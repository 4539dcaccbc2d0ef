/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Declarations shared by several libdomainsec source files and used by no
 * one outside the library: the provider, the CLI and the tests see only the
 * public headers of include/domainsec/.
 */
#ifndef DOMAINSEC_SRC_INTERNAL_H
#define DOMAINSEC_SRC_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/anchors.h"
#include "domainsec/cache.h"
#include "domainsec/config.h"
#include "domainsec/crlindex.h"
#include "domainsec/report.h"
#include "domainsec/common.h"
#include "domainsec/decide.h"
#include "domainsec/fetch.h"

/* ---- common.c ---- */

/* SHA-256, fetched once for the process (EVP_sha256() would make OpenSSL 3
   fetch it again on every digest); NULL if unavailable. */
const EVP_MD *dsec_sha256(void);

/* The SHA-256 of len bytes of data into out; 0 on failure. */
int dsec_sha256_digest(const void *data, size_t len, unsigned char out[32]);

/* t as a time_t into *when; 0 (*when untouched) when t is NULL or
   unusable. */
int dsec_time_of(const ASN1_TIME *t, time_t *when);

/* ---- crl.c ---- */

/*
 * 1 when key (may be NULL) verifies crl's signature, else 0. The errors
 * OpenSSL queues while verifying are dropped.
 */
int dsec_crl_verify_key(X509_CRL *crl, EVP_PKEY *key);

/*
 * ---- the revocation decision: decide.c (the decision), decide_delta.c
 * (delta CRLs), decide_check.c (one complete CRL), decide_scope.c
 * (distribution points and scope); each file calls only those after it ----
 */

/* decide_delta.c */

/* The INTEGER extension nid (cRLNumber, deltaCRLIndicator) of crl, or
   NULL; free with ASN1_INTEGER_free. */
ASN1_INTEGER *dsec_decide_crl_number(X509_CRL *crl, int nid);

/* The newest delta of set that updates base (signed by signer), or NULL;
   *why (may be NULL), if still DSEC_OK, gets the first delta's failure. */
const dsec_crl_in *dsec_decide_best_delta(const dsec_link *link,
                                          const dsec_crl_set *set,
                                          const dsec_crl_in *base, X509 *signer,
                                          DSEC_ERR *why);

/* decide_check.c */

/* 1 when crl carries a deltaCRLIndicator. */
int dsec_decide_is_delta(X509_CRL *crl);

/* 1 when crl and its entries carry no critical extension we do not
   handle (RFC 5280 5.2, 5.3). */
int dsec_decide_critical_ok(X509_CRL *crl);

/* thisUpdate <= now + skew, now < nextUpdate (+ grace: *stale set). */
dsec_rv dsec_decide_check_time(X509_CRL *crl, time_t now, long grace,
                               int *stale, DSEC_ERR *err);

/*
 * c against one DP of link->cert, or against the implicit DP (dp NULL):
 * scope first (*interim gets the reasons covered), then the rest of
 * dsec_decide_check (*stale, *signer).
 */
dsec_rv dsec_decide_check_dp(const dsec_link *link, const dsec_crl_in *c,
                             const DIST_POINT *dp, unsigned int *interim,
                             int *stale, X509 **signer, DSEC_ERR *err);

/* decide_scope.c */

/* The link's DPs: its own, or decoded now (*owned set: free them). */
STACK_OF(DIST_POINT) * dsec_decide_link_dps(const dsec_link *link, int *owned);

/* crl's issuingDistributionPoint with a relative name completed, or NULL;
   free with ISSUING_DIST_POINT_free. */
ISSUING_DIST_POINT *dsec_decide_idp(X509_CRL *crl);

/*
 * RFC 5280 6.3.3 (b) and (d): is crl (with idp, its IDP or NULL) of the
 * right issuer and scope for cert through dp (NULL: the implicit DP of a
 * CRL issued by the certificate's issuer)? *interim gets the reasons it
 * covers there.
 */
dsec_rv dsec_decide_scope(X509 *cert, X509_CRL *crl,
                          const ISSUING_DIST_POINT *idp, const DIST_POINT *dp,
                          unsigned int *interim, DSEC_ERR *err);

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

/* fetch_cond.c: HTTP caching headers for fetch_http.c */

struct curl_slist; /* libcurl's */

/* 1 when pol makes the request conditional (a 304 is then an answer). */
int dsec_fetch_cond_sent(const dsec_fetch_policy *pol);

/* The caching headers of pol's request into *out (NULL: none; free with
   curl_slist_free_all); 0 when out of memory. */
int dsec_fetch_cond_headers(const dsec_fetch_policy *pol,
                            struct curl_slist **out);

/* The ETag and Last-Modified of curl's last response into res. */
void dsec_fetch_cond_validators(void *curl, dsec_fetch_result *res);

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

/* ---- anchors.c, certdir.c, certdir_scan.c, url.c ---- */

/*
 * Building a dsec_anchors (src/anchors.c), done by src/certdir_scan.c: a new
 * empty set holding one reference; certificates pushed in load order, each
 * with the path of its file (copied); the files and directories skipped,
 * with their reason (copied); then dsec_anchors_index once, after which the
 * set is read-only. dsec_anchors_push takes cert only when it returns 1.
 * Each returns 0 (NULL) only when out of memory; the set is then freed with
 * dsec_anchors_free.
 */
dsec_anchors *dsec_anchors_new(void);
int dsec_anchors_push(dsec_anchors *set, X509 *cert, const char *source);
int dsec_anchors_skip(dsec_anchors *set, const char *path, const char *why);
/*
 * Compute each certificate's keys (a certificate whose fingerprint cannot
 * be computed is dropped and listed as skipped), drop the certificates
 * whose DER was already pushed (the first one stays) and build every index.
 */
int dsec_anchors_index(dsec_anchors *set);

/* One directory of a certificate directory set (src/certdir.c). */
typedef struct {
    int fd; /* -1 when the directory could not be opened */
    char *path; /* owned */
    char *why; /* owned: why it could not be opened */
} dsec_certdir_dir;

/*
 * Scanning the directories of a set (src/certdir_scan.c). A new snapshot
 * of the ndirs directories: a directory that is not open is listed as
 * skipped with its why; *complete is cleared when an open directory could
 * not be listed. Only out of memory fails (NULL).
 */
dsec_anchors *dsec_certdir_scan(const dsec_certdir_dir *dirs, size_t ndirs,
                                int *complete);
/*
 * The sorted entry names of the open directory dfd, dot files left out,
 * read through a duplicate of dfd (dfd needs no path or permission:
 * chroot-safe). Returns DSEC_OK, DSEC_ERR_NOMEM, or DSEC_ERR_IO with errno
 * set. Free the names with dsec_certdir_list_free.
 */
dsec_rv dsec_certdir_list(int dfd, char ***out, size_t *outn);
void dsec_certdir_list_free(char **names, size_t n);

/*
 * The names of the schemes in bits, comma-separated in the order http,
 * https, ldap, ldaps ("" for none), as dsec_url_parse_schemes reads them
 * (src/url.c; for src/config.c).
 */
void dsec_url_schemes_text(unsigned int bits, char *buf, size_t len);

/*
 * More of src/url.c. dsec_url_check: a URL we are willing to hand to a
 * fetcher (at most 2048 characters, printable ASCII without spaces), else
 * DSEC_ERR_INVALID. dsec_url_host: the host of url as libcurl parses it,
 * lower case, without IPv6 brackets or a trailing dot; dsec_url_origin:
 * "scheme://host:port" of url, scheme and host in lower case, the scheme's
 * default port made explicit; both 0 when url cannot be parsed or buf is
 * too small. dsec_url_userinfo: the credentials part of a URL or of a
 * scheme-less "user:password@host:port", [*start, *at) with *at the last
 * '@' after the scheme (a password may hold an unencoded '@', '/', '?' or
 * '#'); 0 when there is no '@'.
 */
dsec_rv dsec_url_check(const char *url, DSEC_ERR *err);
int dsec_url_host(const char *url, char *buf, size_t len);
int dsec_url_origin(const char *url, char *buf, size_t len);
int dsec_url_userinfo(const char *url, const char **start, const char **at);

/* ---- src/redirect.c: the redirects a fetch may follow ---- */

/* Redirects followed at most by one fetch. */
#define DSEC_REDIRECT_MAX 3

/*
 * May a fetch under mode, having followed `followed` redirects, follow the
 * redirect (HTTP status) of from to to (absolute)? DSEC_OK, or
 * DSEC_ERR_HTTP (err->code: status) with a message starting "redirect
 * refused", the URLs masked.
 */
dsec_rv dsec_redirect_check(dsec_redirect_mode mode, long status,
                            const char *from, const char *to, int followed,
                            DSEC_ERR *err);

/* ---- src/netdeny.c: address blocks (deny_networks, no_proxy) ---- */

struct sockaddr;

/*
 * A list is comma- or blank-separated "address[/bits]" entries, IPv4 or
 * IPv6 (brackets allowed). dsec_netdeny_check: DSEC_OK for a valid (or
 * empty) list, else DSEC_ERR_INVALID naming the first bad entry.
 * dsec_netdeny_in_block: 1 when the address literal addr lies in the one
 * block "address[/bits]" (0 for anything unparsable).
 */
dsec_rv dsec_netdeny_check(const char *list, DSEC_ERR *err);
int dsec_netdeny_in_block(const char *addr, const char *block);

/*
 * 1 when the address sa (or the address literal addr; a host name is
 * never denied here) is in a block of list (NULL: none), the entry that
 * matched copied into rule and, for sa, the address as text into addr. An
 * IPv4-mapped IPv6 address is compared as its IPv4 address, 0.0.0.0 and
 * :: also as the loopback address they reach.
 */
int dsec_netdeny_match_sockaddr(const char *list, const struct sockaddr *sa,
                                char *addr, size_t alen, char *rule,
                                size_t rlen);
int dsec_netdeny_match_text(const char *list, const char *addr, char *rule,
                            size_t rlen);

/*
 * Drop from addrs (n of them) those list denies, keeping the order;
 * returns how many are left. The first one dropped and its rule are
 * copied into denied and rule (denied must start empty).
 */
size_t dsec_netdeny_filter(const char *list, char addrs[][INET6_ADDRSTRLEN],
                           size_t n, char *denied, size_t dlen, char *rule,
                           size_t rlen);

#include "internal_cache.h"

/* ---- src/gather.c: one URL of a certificate's CDPs, for engine.c ---- */

/* The HTTP validators of one URL: sent (a conditional GET when not empty)
   and received (what the origin said of what it served). */
typedef struct {
    char etag[256];
    char last_modified[64];
    int not_modified; /* the answer was 304: nothing downloaded */
} dsec_gather_validators;

/* One gathering of a certificate's CRLs (dsec_engine_obtain): what it is
   after, and what it gathered so far. */
typedef struct {
    const dsec_config *cfg; /* the engine's */
    dsec_cache *cache; /* the engine's */
    const dsec_link *link; /* as the caller gave it (stale_grace included) */
    dsec_link fresh; /* the same, without grace: nothing past nextUpdate */
    int depth;
    dsec_crl_set *out;
    dsec_report *rep; /* may be NULL */
    int fetches; /* network fetches made for this certificate */
    int stop; /* no more fetches: the fetch time or fetch limit is spent */
    int refresh_ahead; /* queue background refreshes (refresher.c) */
    int meta_fd; /* the cache directory for the records, or -1 */
    dsec_gather_validators got; /* of the last network fetch */
    dsec_rv last; /* the error of the last attempt */
    const char *last_url;
} dsec_gather;

/*
 * What is wanted from a URL: a complete CRL for DP dp (base NULL), or a
 * delta CRL of base (signed by base_signer). Once one is accepted: the
 * reasons it covers, its signer and the SHA-256 of the signer's key.
 */
typedef struct {
    int dp;
    const dsec_crl_in *base;
    X509 *base_signer;
    unsigned int reasons;
    X509 *signer;
    int key_known;
    unsigned char key_id[32];
} dsec_gather_want;

/*
 * The CRL w wants from url, added to g->out once accepted (DSEC_OK), with
 * the attempt recorded; else DSEC_ERR_NOT_FOUND when another step may help,
 * or the error of this one. from_cache: what the cache holds, fresh (a
 * remembered failure of url is its error). from_network: fetched (single
 * flight; DSEC_ERR_BACKOFF past DSEC_MAX_FETCHES_PER_CERT, DSEC_ERR_TIMEOUT
 * once the verification's fetch time is spent), any failure remembered
 * fail_cache seconds. from_grace: what the cache holds, past nextUpdate
 * within link->grace.
 */
dsec_rv dsec_gather_from_cache(dsec_gather *g, const char *url,
                               dsec_gather_want *w);
dsec_rv dsec_gather_from_network(dsec_gather *g, const char *url,
                                 dsec_gather_want *w);
dsec_rv dsec_gather_from_grace(dsec_gather *g, const char *url,
                               dsec_gather_want *w);

/*
 * crl of url (key_id: the key that verified it, or NULL) checked for link
 * and w the one way gather.c accepts a CRL (the decision's checks, then
 * the rollback guard), without recording anything: for a background
 * refresh that finds a newer CRL another process stored.
 */
dsec_rv dsec_gather_accept(const dsec_config *cfg, dsec_cache *cache,
                           const dsec_link *link, const char *url,
                           dsec_gather_want *w, X509_CRL *crl,
                           const unsigned char *key_id, DSEC_ERR *err);
/*
 * Fetch url (fetch_timeout) and check the CRL for w with link, the way
 * from_network accepts one (dsec_decide_check through link's signer
 * resolver), without recording anything: for a background refresh. DSEC_OK:
 * *out is the accepted CRL, w's signer and key_id filled.
 */
dsec_rv dsec_gather_refetch(const dsec_config *cfg, dsec_cache *cache,
                            const dsec_link *link, const char *url,
                            dsec_gather_want *w, dsec_gather_validators *v,
                            X509_CRL **out, DSEC_ERR *err);

/* The outcome for g's depth in the report: rv, url (may be NULL), detail. */
void dsec_gather_depth(dsec_gather *g, dsec_rv rv, const char *url,
                       const char *detail);

/* Record an attempt on url that was not made: rv, and why. */
void dsec_gather_skip(dsec_gather *g, const char *url, dsec_rv rv,
                      const char *why);

/* ---------------------------------------------------- verdict_memo.c */

struct stat;
/*
 * 1 when this process wrote the record of digest (its content but the
 * times) as name in dirfd less than ttl / 2 seconds before now and the file
 * there is still the one it wrote: writing it again would change nothing.
 */
int dsec_verdict_memo_same(int dirfd, const char *name,
                           const unsigned char digest[32], time_t now,
                           long ttl);
/* name was written with digest at now; st: the file written. */
void dsec_verdict_memo_note(const char *name, const unsigned char digest[32],
                            time_t now, const struct stat *st);
/* name's write failed: the next one writes whatever it holds. */
void dsec_verdict_memo_forget(const char *name);

/* Write the index of crl (accepted, verified by the key whose SHA-256 is
   key_id) beside the disk copy of url; without one when crl cannot be
   indexed (crlindex.c). */
/* No index of url any more (its CRL was replaced by one that has none). */
void dsec_cache_disk_drop_index(dsec_cache_disk *d, const char *url);
void dsec_cache_disk_write_index(dsec_cache_disk *d, const char *url,
                                 X509_CRL *crl, const unsigned char key_id[32]);

/* The skeleton CRL of url's index, its key into key_id; NULL: none. */
X509_CRL *dsec_cache_disk_read_index(const dsec_cache_disk *d, const char *url,
                                     unsigned char key_id[32]);

/* ---- src/crlindex.c, crlindex_read.c: the compact index of a CRL ---- */

#define DSEC_CRLINDEX_MAGIC "DSECIDX1"
#define DSEC_CRLINDEX_VERSION 1
#define DSEC_CRLINDEX_REC 32 /* bytes of a record */
#define DSEC_CRLINDEX_KEY 23 /* sign, length, 21 bytes of magnitude */
#define DSEC_CRLINDEX_SERIAL_MAX 21
#define DSEC_CRLINDEX_SKEL_MAX (1L << 20)
#define DSEC_CRLINDEX_HDR_SIZE 256
#define DSEC_CRLINDEX_HDR_VERSION 8 /* u32 */
#define DSEC_CRLINDEX_HDR_RECSIZE 12 /* u32 */
#define DSEC_CRLINDEX_HDR_COUNT 16 /* u64 */
#define DSEC_CRLINDEX_HDR_SHA 24 /* SHA-256 of the CRL's DER */
#define DSEC_CRLINDEX_HDR_KEY 56 /* SHA-256 of the key that verified it */
#define DSEC_CRLINDEX_HDR_IDP 88 /* SHA-256 of its IDP extension value */
#define DSEC_CRLINDEX_HDR_FLAGS 120 /* u32: DSEC_CRLINDEX_DELTA, _HAS_IDP */
#define DSEC_CRLINDEX_HDR_SKEL 124 /* u32: bytes of the skeleton's DER */
#define DSEC_CRLINDEX_HDR_THIS 128 /* int64 thisUpdate */
#define DSEC_CRLINDEX_HDR_NEXT 136 /* int64 nextUpdate, 0: none */
#define DSEC_CRLINDEX_HDR_NUM \
    144 /* 1 + length of cRLNumber (0: none),
                                     then its bytes (32 at most) */
#define DSEC_CRLINDEX_DELTA 1u
#define DSEC_CRLINDEX_HAS_IDP 2u

/*
 * The index file of crl, verified by the key whose SHA-256 is key_id, into
 * *out (malloc'd, *outlen bytes): 1, or 0 when crl cannot be indexed.
 */
int dsec_crlindex_build(X509_CRL *crl, const unsigned char key_id[32],
                        unsigned char **out, size_t *outlen);

/*
 * The index file name in dirfd, opened: its skeleton CRL (the open file
 * attached, shared by the process), the key id of its header into key_id; NULL
 * when absent, or unusable (logged). The CRL's hash is not recomputed:
 * the index is trusted as the cache directory is.
 */
X509_CRL *dsec_crlindex_open(int dirfd, const char *name,
                             unsigned char key_id[32]);

/* Our critical extension of every skeleton. */
const ASN1_OBJECT *dsec_crlindex_marker(void);

/* 1 when ext is the marker of a skeleton that has its index attached. */
int dsec_crlindex_marker_ok(X509_CRL *crl, X509_EXTENSION *ext);

/*
 * serial on crl's index: 1 listed, 2 listed as removeFromCRL, 0 not
 * listed, -1 when crl carries no index, -2 when the index cannot answer
 * (closed, or truncated in place); *reason (the reason code, -1 for
 * none) and *when (revocationDate) when listed (may be NULL).
 */
int dsec_crlindex_lookup_serial(X509_CRL *crl, const ASN1_INTEGER *serial,
                                int *reason, time_t *when);

/* The number of entries of crl's index, 0 without one. */
size_t dsec_crlindex_count(X509_CRL *crl);

#endif /* DOMAINSEC_SRC_INTERNAL_H */
