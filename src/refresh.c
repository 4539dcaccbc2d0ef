/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The refresh point of a cached CRL (refresh.h): the one place that says
 * when a CRL that is still current is fetched again, for the host
 * process's background refresh and for `domainsec cache refresh`.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include "domainsec/cache_meta.h"
#include "domainsec/crl.h"
#include "domainsec/fetch.h"
#include "domainsec/refresh.h"
#include "internal.h"

/* The Next CRL Publish time of crl into *when; 0 when absent or bad. */
static int next_publish(const X509_CRL *crl, time_t *when)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(DSEC_REFRESH_NEXT_PUBLISH_OID, 1);
    const ASN1_OCTET_STRING *val;
    const unsigned char *p;
    ASN1_TIME *t = NULL;
    int i, ok = 0;

    if (oid == NULL) {
        return 0;
    }
    i = X509_CRL_get_ext_by_OBJ(crl, oid, -1);
    ASN1_OBJECT_free(oid);
    if (i < 0) {
        return 0;
    }
    val = X509_EXTENSION_get_data(X509_CRL_get_ext(crl, i));
    if (val == NULL) {
        return 0;
    }
    p = ASN1_STRING_get0_data(val);
    t = d2i_ASN1_TIME(NULL, &p, ASN1_STRING_length(val));
    if (t != NULL && p == ASN1_STRING_get0_data(val) + ASN1_STRING_length(val)
        && ASN1_TIME_check(t)) {
        ok = dsec_time_of(t, when);
    }
    ASN1_TIME_free(t);
    return ok;
}

/*
 * The last answers of dsec_refresh_point: a host asks about the same
 * cached CRLs on every verification. An answer is found again by the CRL
 * object and the DER of its two times; a CRL freed and another decoded at
 * the same address with the same times could differ only in its Next CRL
 * Publish extension, which moves nothing but the background refresh.
 */
#define POINT_SLOTS 64
#define POINT_TIME_MAX 24

struct point_slot {
    const X509_CRL *crl;
    long max_age;
    unsigned char this_upd[POINT_TIME_MAX], next_upd[POINT_TIME_MAX];
    int this_len, next_len; /* -1: no such time */
    time_t point;
};

static struct point_slot points[POINT_SLOTS];
static pthread_mutex_t points_lock = PTHREAD_MUTEX_INITIALIZER;

/* The key of (crl, max_age) into *k; 0 when a time does not fit. */
static int point_key(const X509_CRL *crl, long max_age, struct point_slot *k)
{
    const ASN1_TIME *t[2] = { X509_CRL_get0_lastUpdate(crl),
                              X509_CRL_get0_nextUpdate(crl) };
    unsigned char *dst[2];
    int *len[2], i;

    memset(k, 0, sizeof(*k));
    dst[0] = k->this_upd;
    dst[1] = k->next_upd;
    len[0] = &k->this_len;
    len[1] = &k->next_len;
    for (i = 0; i < 2; i++) {
        *len[i] = t[i] != NULL ? ASN1_STRING_length(t[i]) : -1;
        if (*len[i] > POINT_TIME_MAX) {
            return 0;
        }
        if (*len[i] > 0) {
            memcpy(dst[i], ASN1_STRING_get0_data(t[i]), (size_t)*len[i]);
        }
    }
    k->crl = crl;
    k->max_age = max_age;
    return 1;
}

static struct point_slot *point_slot_of(const X509_CRL *crl)
{
    return &points[((uintptr_t)crl >> 4) % POINT_SLOTS];
}

static int point_known(const struct point_slot *k, time_t *point)
{
    struct point_slot *s = point_slot_of(k->crl);
    int hit;

    pthread_mutex_lock(&points_lock);
    hit = s->crl == k->crl && s->max_age == k->max_age
          && s->this_len == k->this_len && s->next_len == k->next_len
          && memcmp(s->this_upd, k->this_upd, sizeof(s->this_upd)) == 0
          && memcmp(s->next_upd, k->next_upd, sizeof(s->next_upd)) == 0;
    if (hit) {
        *point = s->point;
    }
    pthread_mutex_unlock(&points_lock);
    return hit;
}

static void point_note(const struct point_slot *k, time_t point)
{
    struct point_slot *s = point_slot_of(k->crl);

    pthread_mutex_lock(&points_lock);
    *s = *k;
    s->point = point;
    pthread_mutex_unlock(&points_lock);
}

static time_t compute_point(const X509_CRL *crl, long max_age)
{
    time_t this_upd, next_upd = 0, pub, point;
    int has_next;

    if (crl == NULL || !dsec_time_of(X509_CRL_get0_lastUpdate(crl), &this_upd)
        || this_upd <= 0) {
        return 0;
    }
    if (max_age <= 0) {
        max_age = 1;
    }
    has_next = dsec_time_of(X509_CRL_get0_nextUpdate(crl), &next_upd)
               && next_upd > this_upd;
    if (!has_next) {
        return this_upd + max_age;
    }
    if (next_publish(crl, &pub) && pub >= this_upd && pub <= next_upd) {
        point = pub;
    } else {
        point = this_upd + (time_t)((next_upd - this_upd) * 4 / 5);
    }
    return point - this_upd > max_age ? this_upd + max_age : point;
}

time_t dsec_refresh_point(const X509_CRL *crl, long max_age)
{
    struct point_slot k;
    int keyed;
    time_t point;

    if (crl == NULL) {
        return 0;
    }
    keyed = point_key(crl, max_age, &k);
    if (keyed && point_known(&k, &point)) {
        return point;
    }
    point = compute_point(crl, max_age);
    if (keyed) {
        point_note(&k, point);
    }
    return point;
}

int dsec_refresh_newer(X509_CRL *a, X509_CRL *b)
{
    time_t ta, tb;

    return a != NULL
           && (b == NULL
               || (dsec_time_of(X509_CRL_get0_lastUpdate(a), &ta)
                   && dsec_time_of(X509_CRL_get0_lastUpdate(b), &tb)
                   && ta > tb));
}

int dsec_refresh_due(const X509_CRL *crl, long max_age, time_t fetched,
                     time_t now)
{
    time_t this_upd, next_upd, point;

    if (crl == NULL) {
        return 1;
    }
    point = dsec_refresh_point(crl, max_age);
    if (point == 0) {
        return 1;
    }
    if (fetched > point
        && dsec_time_of(X509_CRL_get0_lastUpdate(crl), &this_upd)) {
        /* the origin still served this CRL at fetched: next look later */
        point = fetched + (point > this_upd ? point - this_upd : 1);
        if (dsec_time_of(X509_CRL_get0_nextUpdate(crl), &next_upd)
            && point > next_upd) {
            point = next_upd;
        }
    }
    return now >= point;
}

/* The DER of crl's extension nid into *der (NULL when absent); 0 on error. */
static int ext_der(const X509_CRL *crl, int nid, unsigned char **der, int *len)
{
    int i = X509_CRL_get_ext_by_NID(crl, nid, -1);
    const ASN1_OCTET_STRING *v;

    *der = NULL;
    *len = 0;
    if (i < 0) {
        return 1;
    }
    v = X509_EXTENSION_get_data(X509_CRL_get_ext(crl, i));
    *len = v != NULL ? ASN1_STRING_length(v) : 0;
    *der = (unsigned char *)(v != NULL ? ASN1_STRING_get0_data(v) : NULL);
    return v != NULL;
}

/* The new CRL of url stands in for cached (see dsec_refresh_url). */
static dsec_rv accept_new(X509_CRL *crl, X509_CRL *cached,
                          const dsec_cache_meta *m, time_t now, DSEC_ERR *err)
{
    const unsigned char *p = m->spki;
    unsigned char *a, *b;
    EVP_PKEY *key;
    int la, lb, ok, stale = 0;
    dsec_rv rv;

    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_CRL_get_issuer(cached))
        != 0) {
        return dsec_err_set(err, DSEC_ERR_CRL_ISSUER, 0,
                            "the new CRL has another issuer than the cached");
    }
    if (!ext_der(crl, NID_issuing_distribution_point, &a, &la)
        || !ext_der(cached, NID_issuing_distribution_point, &b, &lb) || la != lb
        || (la > 0 && memcmp(a, b, (size_t)la) != 0)) {
        return dsec_err_set(err, DSEC_ERR_CRL_SCOPE, 0,
                            "the new CRL has another scope than the cached");
    }
    if (dsec_decide_is_delta(crl) || !dsec_decide_critical_ok(crl)) {
        return dsec_err_set(err, DSEC_ERR_CRL_CRITICAL, 0,
                            "the new CRL is a delta or has an unhandled "
                            "critical extension");
    }
    rv = dsec_decide_check_time(crl, now, 0, &stale, err);
    if (rv != DSEC_OK) {
        return rv;
    }
    key = d2i_PUBKEY(NULL, &p, (long)m->spki_len);
    ok = key != NULL && dsec_crl_verify_key(crl, key);
    EVP_PKEY_free(key);
    if (!ok) {
        return dsec_err_set(err, DSEC_ERR_CRL_SIG, 0,
                            "the new CRL does not verify with the key that "
                            "verified the cached one");
    }
    return DSEC_OK;
}

/* What a fetch of the refresh told besides the CRL. */
typedef struct {
    char etag[256];
    char last_modified[64];
    int not_modified; /* a 304: the origin (or proxy) still has the same */
    int via_proxy;
} answer;

/*
 * Fetch url and parse it: conditional on m's validators, or with no_cache
 * (Cache-Control: no-cache) for a proxy to ask the origin. *crl stays NULL
 * on a 304.
 */
static dsec_rv fetch_parse(const dsec_config *cfg, const char *url,
                           const dsec_cache_meta *m, int no_cache,
                           X509_CRL **crl, answer *a, DSEC_ERR *err)
{
    dsec_fetch_policy pol;
    dsec_fetch_result res;
    dsec_rv rv;

    *crl = NULL;
    dsec_fetch_policy_from_config(cfg, &pol);
    pol.no_cache = no_cache;
    pol.if_none_match = m->etag[0] != '\0' ? m->etag : NULL;
    pol.if_modified_since =
        m->last_modified[0] != '\0' ? m->last_modified : NULL;
    rv = dsec_fetch_url(&pol, url, &res, err);
    memcpy(a->etag, res.etag, sizeof(a->etag));
    memcpy(a->last_modified, res.last_modified, sizeof(a->last_modified));
    a->not_modified = res.not_modified;
    a->via_proxy = res.via_proxy;
    if (rv == DSEC_OK && !res.not_modified) {
        rv = dsec_crl_parse(res.data, res.len, crl, err);
    }
    dsec_fetch_result_clear(&res);
    return rv;
}

/*
 * An answer through a caching proxy that is no better than what is cached
 * while that is due (or the refresh is forced), or is past its nextUpdate:
 * the proxy may serve an old copy, and is asked once more with no-cache.
 */
static int ask_origin(const dsec_config *cfg, X509_CRL *got, X509_CRL *cached,
                      const answer *a, int force, time_t now)
{
    X509_CRL *c = got != NULL ? got : cached;
    time_t next = dsec_crl_next_update(c);

    return a->via_proxy
           && ((!dsec_refresh_newer(c, cached)
                && (force
                    || dsec_refresh_due(cached, cfg->max_crl_age, 0, now)))
               || (next != 0 && next <= now));
}

/* The fetch of the refresh, once more past a caching proxy when needed. */
static dsec_rv fetch_fresh(const dsec_config *cfg, const char *url,
                           const dsec_cache_meta *m, X509_CRL *cached,
                           int force, time_t now, X509_CRL **crl, answer *a,
                           DSEC_ERR *err)
{
    dsec_rv rv = fetch_parse(cfg, url, m, 0, crl, a, err);

    if (rv == DSEC_OK && ask_origin(cfg, *crl, cached, a, force, now)) {
        X509_CRL_free(*crl);
        rv = fetch_parse(cfg, url, m, 1, crl, a, err);
    }
    return rv;
}

/* Keep what the answer tells of the URL in its record. */
static void note_answer(dsec_cache_meta *m, const answer *a)
{
    if (a->etag[0] != '\0' || !a->not_modified) {
        memcpy(m->etag, a->etag, sizeof(m->etag));
    }
    if (a->last_modified[0] != '\0' || !a->not_modified) {
        memcpy(m->last_modified, a->last_modified, sizeof(m->last_modified));
    }
}

/* The key id (SHA-256 of the public key, as dsec_decide_key_id) of the
   SubjectPublicKeyInfo spki; 0 when it cannot be read. */
static int spki_key_id(const unsigned char *spki, size_t len,
                       unsigned char id[32])
{
    const unsigned char *p = spki, *bits = NULL;
    X509_PUBKEY *pk = d2i_X509_PUBKEY(NULL, &p, (long)len);
    int blen = 0, ok;

    ok = pk != NULL && X509_PUBKEY_get0_param(NULL, &bits, &blen, NULL, pk)
         && bits != NULL && blen > 0
         && dsec_sha256_digest(bits, (size_t)blen, id);
    X509_PUBKEY_free(pk);
    return ok;
}

dsec_rv dsec_refresh_url(const dsec_config *cfg, int dirfd, const char *url,
                         int force, time_t now, dsec_refresh_outcome *what,
                         DSEC_ERR *err)
{
    dsec_cache_disk d = { dirfd, 0, cfg != NULL ? cfg->fail_cache : 0 };
    dsec_cache_meta m;
    X509_CRL *cached = NULL, *crl = NULL;
    unsigned char kid[32];
    answer a;
    dsec_rv rv;

    *what = DSEC_REFRESH_NOT_DUE;
    if (cfg == NULL || dirfd < 0 || url == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "no cache directory");
    }
    if (dsec_cache_meta_read(dirfd, url, &m) != DSEC_OK || m.spki_len == 0
        || (cached = dsec_cache_meta_crl(dirfd, url)) == NULL) {
        return dsec_err_set(err, DSEC_ERR_NOT_FOUND, 0,
                            "no verified CRL of this URL in the cache");
    }
    if (!force
        && !dsec_refresh_due(cached, cfg->max_crl_age, (time_t)m.fetched_at,
                             now)) {
        X509_CRL_free(cached);
        return DSEC_OK;
    }
    memset(&a, 0, sizeof(a));
    rv = fetch_fresh(cfg, url, &m, cached, force, now, &crl, &a, err);
    if (rv == DSEC_OK && crl != NULL) {
        rv = accept_new(crl, cached, &m, now, err);
    }
    m.result = rv;
    m.result_at = (long long)now;
    if (rv == DSEC_OK) {
        m.fetched_at = (long long)now;
        note_answer(&m, &a);
        *what = DSEC_REFRESH_SAME;
        if (dsec_refresh_newer(crl, cached)) {
            dsec_cache_disk_write_crl(&d, url, crl);
            /* its index too: readers prefer an index to the CRL */
            if (spki_key_id(m.spki, m.spki_len, kid)) {
                dsec_cache_disk_write_index(&d, url, crl, kid);
            } else {
                dsec_cache_disk_drop_index(&d, url);
            }
            m.bytes = i2d_X509_CRL(crl, NULL);
            *what = DSEC_REFRESH_NEWER;
        }
    }
    dsec_cache_meta_write(dirfd, &m);
    X509_CRL_free(cached);
    X509_CRL_free(crl);
    return rv;
}
