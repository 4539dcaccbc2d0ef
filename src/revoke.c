/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The revocation engine: configuration and cache, the signature gate, and
 * obtaining a usable CRL for one certificate of a chain, from the cache or
 * the certificate's CDPs, with every attempt recorded for the report. The
 * decision on the CRL contents stays with OpenSSL's built-in checks.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "domainsec/cdp.h"
#include "domainsec/crl.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/revoke.h"

#define CACHE_MAX_ENTRIES 4096

struct dsec_engine {
    dsec_config *cfg;
    dsec_cache *cache;
    int cache_fd;
};

dsec_engine *dsec_engine_new(dsec_config *cfg, DSEC_ERR *err)
{
    dsec_engine *eng = NULL;

    if (cfg == NULL) {
        dsec_err_set(err, DSEC_ERR_INVALID, 0, "no configuration");
        return NULL;
    }
    eng = calloc(1, sizeof(*eng));
    if (eng == NULL
        || (eng->cache = dsec_cache_new(CACHE_MAX_ENTRIES)) == NULL) {
        free(eng);
        dsec_config_free(cfg);
        dsec_err_set(err, DSEC_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    eng->cfg = cfg;
    eng->cache_fd = -1;
    dsec_log_configure(cfg->log, cfg->log_level);
    if (cfg->cache_dir != NULL && cfg->cache_dir[0] != '\0') {
        /* a descriptor keeps working after the host chroots */
        eng->cache_fd =
            open(cfg->cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (eng->cache_fd < 0) {
            dsec_log(DSEC_LOG_WARNING,
                     "domainsec: cache_dir %s is not usable (%m); using the "
                     "memory cache only",
                     cfg->cache_dir);
        } else {
            if (faccessat(eng->cache_fd, ".", W_OK, AT_EACCESS) != 0) {
                dsec_log(DSEC_LOG_WARNING,
                         "domainsec: cache_dir %s is not writable by this "
                         "process (%m); cached CRLs are read but new ones "
                         "stay in memory",
                         cfg->cache_dir);
            }
            dsec_cache_set_dir(eng->cache, eng->cache_fd);
        }
    }
    return eng;
}

void dsec_engine_free(dsec_engine *eng)
{
    if (eng == NULL) {
        return;
    }
    dsec_cache_free(eng->cache);
    if (eng->cache_fd >= 0) {
        close(eng->cache_fd);
    }
    dsec_config_free(eng->cfg);
    free(eng);
}

const dsec_config *dsec_engine_config(const dsec_engine *eng)
{
    return eng != NULL ? eng->cfg : NULL;
}

dsec_cache *dsec_engine_cache(dsec_engine *eng)
{
    return eng != NULL ? eng->cache : NULL;
}

/*
 * Links already verified, so a steady stream of handshakes with the same
 * chains does not pay for every signature twice (once here, once in
 * OpenSSL's own verification). A link is the SHA-256 of the whole
 * certificate (TBS and signature) with the SHA-256 of the issuer's public
 * key; only successes are remembered. Direct-mapped, overwritten on
 * collision: a miss only costs a signature check.
 */
#define GATE_SLOTS 2048

struct gate_link {
    unsigned char cert[32];
    unsigned char key[32];
    int used;
};

static struct gate_link gate_cache[GATE_SLOTS];
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * SHA-256 fetched once: EVP_sha256() would make OpenSSL 3 fetch the
 * implementation again on every digest, a measurable share of a cached
 * verification. Kept for the process's lifetime.
 */
static EVP_MD *link_md;
static pthread_once_t link_md_once = PTHREAD_ONCE_INIT;

static void link_md_init(void)
{
    link_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static int link_id(X509 *cert, X509 *issuer, struct gate_link *id)
{
    const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(issuer);
    unsigned int len = 0;

    memset(id, 0, sizeof(*id));
    pthread_once(&link_md_once, link_md_init);
    if (link_md == NULL || key == NULL
        || !X509_digest(cert, link_md, id->cert, &len) || len != 32
        || !EVP_Digest(key->data, (size_t)key->length, id->key, &len, link_md,
                       NULL)
        || len != 32) {
        return 0;
    }
    id->used = 1;
    return 1;
}

static size_t link_slot(const struct gate_link *id)
{
    return ((size_t)id->cert[0] | ((size_t)id->cert[1] << 8)
            | ((size_t)id->key[0] << 16))
           % GATE_SLOTS;
}

static int link_known(const struct gate_link *id)
{
    int known;

    pthread_mutex_lock(&gate_lock);
    known = memcmp(&gate_cache[link_slot(id)], id, sizeof(*id)) == 0;
    pthread_mutex_unlock(&gate_lock);
    return known;
}

static void link_remember(const struct gate_link *id)
{
    pthread_mutex_lock(&gate_lock);
    gate_cache[link_slot(id)] = *id;
    pthread_mutex_unlock(&gate_lock);
}

int dsec_link_verify(X509 *cert, X509 *issuer)
{
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    struct gate_link id;
    int ok, have_id;

    ERR_set_mark();
    have_id = link_id(cert, issuer, &id);
    ok = have_id && link_known(&id);
    if (!ok) {
        ok = key != NULL && X509_verify(cert, key) > 0;
        if (ok && have_id) {
            link_remember(&id);
        }
    }
    ERR_pop_to_mark();
    return ok;
}

int dsec_gate(STACK_OF(X509) * chain, int top_trusted, int *bad_depth)
{
    return dsec_gate_ex(chain, top_trusted, bad_depth, NULL, NULL);
}

int dsec_gate_ex(STACK_OF(X509) * chain, int top_trusted, int *bad_depth,
                 int (*known)(void *arg, X509 *cert, X509 *issuer), void *arg)
{
    int n = sk_X509_num(chain);
    int i;

    if (bad_depth != NULL) {
        *bad_depth = -1;
    }
    if (n <= 0) {
        return 0;
    }
    if (!top_trusted) {
        return n;
    }
    for (i = n - 2; i >= 0; i--) {
        X509 *cert = sk_X509_value(chain, i);
        X509 *issuer = sk_X509_value(chain, i + 1);

        if ((known == NULL || !known(arg, cert, issuer))
            && !dsec_link_verify(cert, issuer)) {
            if (bad_depth != NULL) {
                *bad_depth = i;
            }
            return i + 1;
        }
    }
    return 0;
}

static double elapsed(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec)
           + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One fetch with at most timeout seconds (the verification's budget). */
static dsec_rv fetch_one_within(dsec_engine *eng, const char *url, X509 *issuer,
                                time_t now, long timeout, X509_CRL **out,
                                dsec_attempt *att)
{
    dsec_config cfg = *eng->cfg; /* shallow: only fetch_timeout differs */
    dsec_fetch_result res;
    X509_CRL *crl = NULL;
    DSEC_ERR err = { 0 };
    struct timespec t0;
    dsec_rv rv;

    if (timeout > 0 && timeout < cfg.fetch_timeout) {
        cfg.fetch_timeout = timeout;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rv = dsec_fetch_url(&cfg, url, &res, &err);
    if (att != NULL) {
        att->bytes = res.len;
        att->status = res.status;
        snprintf(att->route, sizeof(att->route), "%s", res.route);
    }
    if (rv == DSEC_OK) {
        rv = dsec_crl_parse(res.data, res.len, &crl, &err);
    }
    if (rv == DSEC_OK && issuer != NULL) {
        rv = dsec_crl_check(crl, issuer, now, eng->cfg->stale_grace, &err);
    }
    dsec_fetch_result_clear(&res);
    if (att != NULL) {
        att->rv = rv;
        att->seconds = elapsed(&t0);
        snprintf(att->detail, sizeof(att->detail), "%s",
                 rv == DSEC_OK ? "complete CRL of the issuer" : err.msg);
    }
    if (rv != DSEC_OK) {
        X509_CRL_free(crl);
        return rv;
    }
    *out = crl;
    return DSEC_OK;
}

dsec_rv dsec_engine_fetch_one(dsec_engine *eng, const char *url, X509 *issuer,
                              time_t now, X509_CRL **out, dsec_attempt *att)
{
    return fetch_one_within(eng, url, issuer, now, 0, out, att);
}

static void set_depth(dsec_report *rep, int depth, dsec_rv rv, const char *url,
                      const char *detail)
{
    dsec_depth_status *st;

    if (rep == NULL || depth < 0 || depth >= DSEC_REPORT_MAX_DEPTH) {
        return;
    }
    st = &rep->depth[depth];
    st->rv = rv;
    st->checked = 1;
    snprintf(st->url, sizeof(st->url), "%s", url != NULL ? url : "");
    snprintf(st->detail, sizeof(st->detail), "%s", detail);
}

static int use_crl(dsec_report *rep, X509_CRL *crl, X509 *issuer, time_t now)
{
    if (rep == NULL || !sk_X509_CRL_push(rep->crls, crl)) {
        X509_CRL_free(crl);
        return 0;
    }
    /* the key that verified it, so the hook need not verify it again */
    if (!X509_add_cert(rep->crl_issuers, issuer, X509_ADD_FLAG_UP_REF)) {
        sk_X509_CRL_pop(rep->crls);
        X509_CRL_free(crl);
        return 0;
    }
    /* admitted under stale_grace: the hook waives OpenSSL's expiry error */
    if (dsec_crl_next_update(crl) < now) {
        sk_X509_CRL_push(rep->stale, crl);
    }
    return 1;
}

#define DSEC_XSTR(x) #x
#define DSEC_STR(x) DSEC_XSTR(x)

/* Record a URL that was not fetched, and why. */
static void not_fetched(dsec_report *rep, int depth, const char *url,
                        dsec_rv rv, const char *why)
{
    dsec_attempt *att = dsec_report_add_attempt(rep, depth, url);

    if (att != NULL) {
        att->rv = rv;
        snprintf(att->detail, sizeof(att->detail), "%s", why);
    }
}

/* The verification's fetch time is spent: url is not fetched. */
static dsec_rv budget_spent(dsec_report *rep, int depth, const char *url)
{
    not_fetched(rep, depth, url, DSEC_ERR_TIMEOUT,
                "not fetched: this verification spent its fetch time "
                "(" DSEC_STR(DSEC_FETCH_BUDGET_FACTOR) " x fetch_timeout)");
    set_depth(rep, depth, DSEC_ERR_TIMEOUT, url,
              "fetch time of the verification spent");
    return DSEC_ERR_TIMEOUT;
}

/* A cached CRL or remembered failure for url; DSEC_ERR_NOT_FOUND if none. */
static dsec_rv from_cache(dsec_engine *eng, const char *url, X509 *issuer,
                          time_t now, int only_hits, int depth,
                          dsec_report *rep)
{
    X509_CRL *crl = NULL;
    DSEC_ERR err = { 0 };
    dsec_attempt *att;
    dsec_rv rv;
    int source = 1;

    rv = dsec_cache_get_src(eng->cache, url, issuer, now, 0, &crl, &err,
                            &source);
    if (rv == DSEC_ERR_NOT_FOUND || (only_hits && rv != DSEC_OK)) {
        return rv;
    }
    att = dsec_report_add_attempt(rep, depth, url);
    if (att != NULL) {
        att->from_cache = source;
        att->rv = rv;
        snprintf(att->detail, sizeof(att->detail), "%s%.200s",
                 rv == DSEC_OK ? "cached complete CRL of the issuer"
                               : "failed recently, not retried yet: ",
                 rv == DSEC_OK ? "" : err.msg);
    }
    if (rv == DSEC_OK) {
        if (!use_crl(rep, crl, issuer, now)) {
            return DSEC_ERR_NOMEM;
        }
        set_depth(rep, depth, DSEC_OK, url, "cached CRL");
    } else {
        set_depth(rep, depth, rv, url, err.msg);
    }
    return rv;
}

dsec_rv dsec_engine_obtain_crl(dsec_engine *eng, X509 *cert, X509 *issuer,
                               int depth, time_t now, dsec_report *rep)
{
    const dsec_config *cfg;
    dsec_cdp_list cdps;
    dsec_rv rv, last = DSEC_ERR_NO_CDP;
    size_t i, usable = 0;
    int fetches = 0, mine;
    double budget;
    struct timespec t0;

    if (eng == NULL || cert == NULL || issuer == NULL) {
        return DSEC_ERR_INVALID;
    }
    cfg = eng->cfg;
    rv = dsec_cdp_extract(cert, &cdps);
    if (rv != DSEC_OK) {
        set_depth(rep, depth, rv, NULL,
                  "cannot read the CRL distribution "
                  "points");
        return rv;
    }
    /* memory and disk first: a hit costs no network at all */
    for (i = 0; i < cdps.n; i++) {
        if ((dsec_url_scheme(cdps.v[i].url) & cfg->cdp_schemes) == 0) {
            continue;
        }
        usable++;
        rv = from_cache(eng, cdps.v[i].url, issuer, now, 1, depth, rep);
        if (rv == DSEC_OK) {
            goto done;
        }
    }
    for (i = 0; i < cdps.n; i++) {
        const char *url = cdps.v[i].url;
        X509_CRL *crl = NULL;
        dsec_attempt *att;

        if ((dsec_url_scheme(url) & cfg->cdp_schemes) == 0) {
            not_fetched(rep, depth, url, DSEC_ERR_SCHEME,
                        "scheme not in cdp_schemes; not fetched");
            if (last == DSEC_ERR_NO_CDP && usable == 0) {
                set_depth(rep, depth, DSEC_ERR_SCHEME, url,
                          "no CDP with an allowed scheme");
                last = DSEC_ERR_SCHEME;
            }
            continue;
        }
        rv = from_cache(eng, url, issuer, now, 0, depth, rep);
        if (rv == DSEC_OK) {
            goto done;
        }
        if (rv != DSEC_ERR_NOT_FOUND) {
            last = rv;
            continue;
        }
        if (fetches >= DSEC_MAX_FETCHES_PER_CERT) {
            not_fetched(
                rep, depth, url, DSEC_ERR_BACKOFF,
                "not fetched: " DSEC_STR(
                    DSEC_MAX_FETCHES_PER_CERT) " URLs of this certificate "
                                               "already failed");
            break;
        }
        /* the verification's fetch time, waiting for another fetcher
           included, is bounded: checked before taking the fetch lock */
        budget = (double)(DSEC_FETCH_BUDGET_FACTOR * cfg->fetch_timeout)
                 - (rep != NULL ? rep->net_seconds : 0.0);
        if (budget < 0.5) {
            last = budget_spent(rep, depth, url);
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        mine = dsec_cache_begin_fetch(
            eng->cache, url,
            (long)(budget < (double)cfg->fetch_timeout + 1.0
                       ? budget * 1000.0
                       : (double)cfg->fetch_timeout * 1000.0 + 1000.0));
        if (rep != NULL) {
            rep->net_seconds += elapsed(&t0);
            budget = (double)(DSEC_FETCH_BUDGET_FACTOR * cfg->fetch_timeout)
                     - rep->net_seconds;
        }
        /* another thread or process may have fetched it meanwhile */
        rv = from_cache(eng, url, issuer, now, 0, depth, rep);
        if (rv != DSEC_ERR_NOT_FOUND || !mine) {
            if (mine) {
                dsec_cache_end_fetch(eng->cache, url);
            }
            if (rv == DSEC_OK) {
                goto done;
            }
            /* a concurrent fetch that left nothing behind counts as failed */
            last = rv != DSEC_ERR_NOT_FOUND ? rv : DSEC_ERR_BACKOFF;
            continue;
        }
        if (budget < 0.5) {
            /* spent waiting for the other fetcher */
            dsec_cache_end_fetch(eng->cache, url);
            last = budget_spent(rep, depth, url);
            break;
        }
        fetches++;
        att = dsec_report_add_attempt(rep, depth, url);
        {
            dsec_attempt scratch = { 0 };
            dsec_attempt *a = att != NULL ? att : &scratch;

            rv = fetch_one_within(eng, url, issuer, now, (long)(budget + 0.999),
                                  &crl, a);
            if (rep != NULL) {
                rep->net_seconds += a->seconds;
            }
            if (rv == DSEC_OK) {
                dsec_cache_put(eng->cache, url, crl, issuer);
            } else if (cfg->fail_cache > 0) {
                DSEC_ERR e = { 0 };

                dsec_err_set(&e, rv, 0, "%s",
                             att != NULL ? att->detail : scratch.detail);
                dsec_cache_put_failure(eng->cache, url, &e,
                                       time(NULL) + cfg->fail_cache);
            }
            dsec_cache_end_fetch(eng->cache, url);
            set_depth(rep, depth, rv, url,
                      att != NULL ? att->detail : scratch.detail);
        }
        if (rv == DSEC_OK) {
            if (!use_crl(rep, crl, issuer, now)) {
                rv = DSEC_ERR_NOMEM;
            }
            goto done;
        }
        last = rv;
    }
    /* nothing fresh: a CRL past nextUpdate may serve within stale_grace */
    if (cfg->stale_grace > 0) {
        for (i = 0; i < cdps.n; i++) {
            X509_CRL *crl = NULL;

            if ((dsec_url_scheme(cdps.v[i].url) & cfg->cdp_schemes) == 0) {
                continue;
            }
            if (dsec_cache_get(eng->cache, cdps.v[i].url, issuer, now,
                               cfg->stale_grace, &crl, NULL)
                == DSEC_OK) {
                dsec_log(DSEC_LOG_WARNING,
                         "domainsec: using a CRL past its nextUpdate "
                         "(stale_grace) for %s",
                         cdps.v[i].url);
                rv = use_crl(rep, crl, issuer, now) ? DSEC_OK : DSEC_ERR_NOMEM;
                set_depth(rep, depth, rv, cdps.v[i].url,
                          "stale CRL within stale_grace");
                goto done;
            }
        }
    }
    rv = last;
    if (rv == DSEC_ERR_NO_CDP) {
        set_depth(rep, depth, rv, NULL,
                  cdps.skipped > 0
                      ? "no CRL distribution point with a usable URI"
                      : "certificate has no CRL distribution point");
    } else if (rep != NULL && depth >= 0 && depth < DSEC_REPORT_MAX_DEPTH
               && rep->depth[depth].rv == DSEC_OK) {
        set_depth(rep, depth, rv, NULL,
                  "a concurrent fetch of the CDP produced no CRL");
    }
done:
    dsec_cdp_list_clear(&cdps);
    return rv;
}
