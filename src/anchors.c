/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The anchor set: an immutable, reference-counted snapshot of certificates
 * (dsec_anchors) with the file each came from and the files skipped while
 * building it. Built by pushing certificates in load order, then sealed:
 * each certificate's keys are computed once, certificates whose DER was
 * already pushed are dropped, and sorted indexes by subject, issuer and
 * serial, SHA-1 and SHA-256 fingerprint and subject key identifier make
 * every lookup a binary search. Reading a sealed set never writes to it:
 * threads share it freely.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/anchors.h"
#include "domainsec/log.h"
#include "internal.h"

#define DSEC_SHA1_LEN 20
#define DSEC_SHA256_LEN 32

typedef struct {
    X509 *cert; /* owned */
    char *source; /* owned: path of the file it came from */
    /* borrowed from cert, computed once so lookups never write to it */
    const X509_NAME *subject;
    const X509_NAME *issuer;
    const ASN1_INTEGER *serial;
    const ASN1_OCTET_STRING *skid; /* NULL when absent */
    unsigned char sha1[DSEC_SHA1_LEN];
    unsigned char sha256[DSEC_SHA256_LEN];
} dsec_anchor;

typedef struct {
    char *path; /* owned */
    char *why; /* owned */
} dsec_skip;

struct dsec_anchors {
    atomic_int refs;
    dsec_anchor *items; /* load order */
    size_t count;
    size_t cap;
    /* indices: pointers into items, each sorted by its key then load order */
    const dsec_anchor **by_subject;
    const dsec_anchor **by_issuer_serial;
    const dsec_anchor **by_sha1;
    const dsec_anchor **by_sha256;
    const dsec_anchor **by_skid; /* only the certificates with an SKID */
    size_t nskid;
    dsec_skip *skipped;
    size_t nskipped;
    size_t skipcap;
};

/* --------------------------------------------------------------- building */

dsec_anchors *dsec_anchors_new(void)
{
    dsec_anchors *set = calloc(1, sizeof(*set));

    if (set != NULL) {
        atomic_init(&set->refs, 1);
    }
    return set;
}

static void anchors_destroy(dsec_anchors *set)
{
    size_t i;

    for (i = 0; i < set->count; i++) {
        X509_free(set->items[i].cert);
        free(set->items[i].source);
    }
    for (i = 0; i < set->nskipped; i++) {
        free(set->skipped[i].path);
        free(set->skipped[i].why);
    }
    free(set->items);
    free(set->by_subject);
    free(set->by_issuer_serial);
    free(set->by_sha1);
    free(set->by_sha256);
    free(set->by_skid);
    free(set->skipped);
    free(set);
}

int dsec_anchors_push(dsec_anchors *set, X509 *cert, const char *source)
{
    dsec_anchor *items = NULL;
    char *src = NULL;
    size_t cap;
    int ok = 0;

    if (set->count == set->cap) {
        cap = set->cap == 0 ? 16 : set->cap * 2;
        items = realloc(set->items, cap * sizeof(*items));
        if (items == NULL) {
            goto done;
        }
        set->items = items;
        set->cap = cap;
    }
    src = strdup(source);
    if (src == NULL) {
        goto done;
    }
    memset(&set->items[set->count], 0, sizeof(set->items[set->count]));
    set->items[set->count].cert = cert;
    set->items[set->count].source = src;
    set->count++;
    ok = 1;
done:
    return ok;
}

int dsec_anchors_skip(dsec_anchors *set, const char *path, const char *why)
{
    dsec_skip *grown;
    size_t cap;

    if (set->nskipped == set->skipcap) {
        cap = set->skipcap == 0 ? 8 : set->skipcap * 2;
        grown = realloc(set->skipped, cap * sizeof(*grown));
        if (grown == NULL) {
            return 0;
        }
        set->skipped = grown;
        set->skipcap = cap;
    }
    set->skipped[set->nskipped].path = strdup(path);
    set->skipped[set->nskipped].why = strdup(why);
    if (set->skipped[set->nskipped].path == NULL
        || set->skipped[set->nskipped].why == NULL) {
        free(set->skipped[set->nskipped].path);
        free(set->skipped[set->nskipped].why);
        return 0;
    }
    set->nskipped++;
    return 1;
}

/* ---------------------------------------------------------------- indices */

static int name_cmp(const X509_NAME *a, const X509_NAME *b)
{
    int c = X509_NAME_cmp(a, b);

    /* X509_NAME_cmp may return -2 on an encoding failure: keep the sign */
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

static int ptr_order(const dsec_anchor *a, const dsec_anchor *b)
{
    return a < b ? -1 : (a > b ? 1 : 0);
}

static int skid_cmp(const ASN1_OCTET_STRING *a, const ASN1_OCTET_STRING *b)
{
    int la = ASN1_STRING_length(a);
    int lb = ASN1_STRING_length(b);

    if (la != lb) {
        return la < lb ? -1 : 1;
    }
    if (la == 0) {
        return 0;
    }
    return memcmp(ASN1_STRING_get0_data(a), ASN1_STRING_get0_data(b),
                  (size_t)la);
}

static int serial_cmp(const ASN1_INTEGER *a, const ASN1_INTEGER *b)
{
    int c = ASN1_INTEGER_cmp(a, b);

    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

static int md_cmp(const unsigned char *a, const unsigned char *b, size_t len)
{
    int c = memcmp(a, b, len);

    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

/* Key comparisons: item against a search key. */
typedef struct {
    const X509_NAME *name;
    const ASN1_INTEGER *serial;
    const unsigned char *md;
    const ASN1_OCTET_STRING *skid;
} dsec_key;

typedef int (*dsec_key_cmp_fn)(const dsec_anchor *a, const dsec_key *k);

static int key_subject(const dsec_anchor *a, const dsec_key *k)
{
    return name_cmp(a->subject, k->name);
}

static int key_issuer_serial(const dsec_anchor *a, const dsec_key *k)
{
    int c = name_cmp(a->issuer, k->name);

    return c != 0 ? c : serial_cmp(a->serial, k->serial);
}

static int key_sha1(const dsec_anchor *a, const dsec_key *k)
{
    return md_cmp(a->sha1, k->md, DSEC_SHA1_LEN);
}

static int key_sha256(const dsec_anchor *a, const dsec_key *k)
{
    return md_cmp(a->sha256, k->md, DSEC_SHA256_LEN);
}

static int key_skid(const dsec_anchor *a, const dsec_key *k)
{
    return skid_cmp(a->skid, k->skid);
}

/* qsort comparators over const dsec_anchor * elements: key, then order. */
#define DSEC_SORT_CMP(fn, expr) \
    static int fn(const void *pa, const void *pb) \
    { \
        const dsec_anchor *a = *(const dsec_anchor *const *)pa; \
        const dsec_anchor *b = *(const dsec_anchor *const *)pb; \
        int c = (expr); \
\
        return c != 0 ? c : ptr_order(a, b); \
    }

DSEC_SORT_CMP(sort_subject, name_cmp(a->subject, b->subject))
DSEC_SORT_CMP(sort_issuer_serial, name_cmp(a->issuer, b->issuer) != 0
                                      ? name_cmp(a->issuer, b->issuer)
                                      : serial_cmp(a->serial, b->serial))
DSEC_SORT_CMP(sort_sha1, md_cmp(a->sha1, b->sha1, DSEC_SHA1_LEN))
DSEC_SORT_CMP(sort_sha256, md_cmp(a->sha256, b->sha256, DSEC_SHA256_LEN))
DSEC_SORT_CMP(sort_skid, skid_cmp(a->skid, b->skid))

/*
 * First entry of idx (n entries, sorted by cmp then load order) whose key
 * equals k and whose load index is >= *pos.
 */
static int index_find(const dsec_anchors *set, const dsec_anchor *const *idx,
                      size_t n, dsec_key_cmp_fn cmp, const dsec_key *k,
                      size_t *pos, size_t *index)
{
    size_t lo = 0;
    size_t hi = n;
    size_t mid;
    size_t at;
    int c;

    if (idx == NULL || pos == NULL || index == NULL) {
        return 0;
    }
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = cmp(idx[mid], k);
        at = (size_t)(idx[mid] - set->items);
        if (c < 0 || (c == 0 && at < *pos)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < n && cmp(idx[lo], k) == 0) {
        *index = (size_t)(idx[lo] - set->items);
        *pos = *index + 1;
        return 1;
    }
    return 0;
}

static const dsec_anchor **make_index(const dsec_anchors *set, int only_skid,
                                      int (*sort)(const void *, const void *),
                                      size_t *n)
{
    const dsec_anchor **idx;
    size_t i;
    size_t j = 0;

    idx = calloc(set->count > 0 ? set->count : 1, sizeof(*idx));
    if (idx == NULL) {
        return NULL;
    }
    for (i = 0; i < set->count; i++) {
        if (!only_skid || set->items[i].skid != NULL) {
            idx[j++] = &set->items[i];
        }
    }
    if (j > 1) {
        qsort(idx, j, sizeof(*idx), sort);
    }
    *n = j;
    return idx;
}

/*
 * Compute each certificate's keys, drop the certificates whose DER was
 * already loaded (keep the first), and build every index.
 */
int dsec_anchors_index(dsec_anchors *set)
{
    const dsec_anchor **tmp = NULL;
    unsigned char *dup = NULL;
    unsigned int mdlen;
    dsec_anchor *a;
    size_t n = 0;
    size_t i;
    size_t j;
    int ok = 0;

    for (i = 0, j = 0; i < set->count; i++) {
        a = &set->items[i];
        a->subject = X509_get_subject_name(a->cert);
        a->issuer = X509_get_issuer_name(a->cert);
        a->serial = X509_get0_serialNumber(a->cert);
        /* also caches the extensions: later reads do not write */
        a->skid = X509_get0_subject_key_id(a->cert);
        mdlen = 0;
        if (!X509_digest(a->cert, EVP_sha1(), a->sha1, &mdlen)
            || mdlen != DSEC_SHA1_LEN
            || !X509_digest(a->cert, EVP_sha256(), a->sha256, &mdlen)
            || mdlen != DSEC_SHA256_LEN) {
            dsec_log(DSEC_LOG_WARNING,
                     "domainsec: skipping a certificate of %s: cannot "
                     "compute its fingerprint",
                     a->source);
            if (!dsec_anchors_skip(set, a->source,
                                   "cannot compute a fingerprint")) {
                goto done;
            }
            X509_free(a->cert);
            free(a->source);
            continue;
        }
        set->items[j++] = *a;
    }
    set->count = j;
    dup = calloc(set->count > 0 ? set->count : 1, 1);
    tmp = make_index(set, 0, sort_sha256, &n);
    if (dup == NULL || tmp == NULL) {
        goto done;
    }
    /* same SHA-256 = same DER; the one loaded first sorts first */
    for (i = 1; i < n; i++) {
        if (md_cmp(tmp[i - 1]->sha256, tmp[i]->sha256, DSEC_SHA256_LEN) == 0
            && X509_cmp(tmp[i - 1]->cert, tmp[i]->cert) == 0) {
            dup[tmp[i] - set->items] = 1;
        }
    }
    for (i = 0, j = 0; i < set->count; i++) {
        if (dup[i]) {
            dsec_log(DSEC_LOG_DEBUG,
                     "domainsec: %s: certificate already loaded",
                     set->items[i].source);
            X509_free(set->items[i].cert);
            free(set->items[i].source);
            continue;
        }
        set->items[j++] = set->items[i];
    }
    set->count = j;
    set->by_subject = make_index(set, 0, sort_subject, &n);
    set->by_issuer_serial = make_index(set, 0, sort_issuer_serial, &n);
    set->by_sha1 = make_index(set, 0, sort_sha1, &n);
    set->by_sha256 = make_index(set, 0, sort_sha256, &n);
    set->by_skid = make_index(set, 1, sort_skid, &set->nskid);
    if (set->by_subject == NULL || set->by_issuer_serial == NULL
        || set->by_sha1 == NULL || set->by_sha256 == NULL
        || set->by_skid == NULL) {
        goto done;
    }
    ok = 1;
done:
    free(tmp);
    free(dup);
    return ok;
}

int dsec_anchors_up_ref(dsec_anchors *set)
{
    if (set == NULL) {
        return 0;
    }
    atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
    return 1;
}

void dsec_anchors_free(dsec_anchors *set)
{
    if (set == NULL) {
        return;
    }
    if (atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) > 1) {
        return;
    }
    anchors_destroy(set);
}

size_t dsec_anchors_count(const dsec_anchors *set)
{
    return set == NULL ? 0 : set->count;
}

X509 *dsec_anchors_get0(const dsec_anchors *set, size_t i)
{
    if (set == NULL || i >= set->count) {
        return NULL;
    }
    return set->items[i].cert;
}

const char *dsec_anchors_source(const dsec_anchors *set, size_t i)
{
    if (set == NULL || i >= set->count) {
        return NULL;
    }
    return set->items[i].source;
}

const unsigned char *dsec_anchors_get0_fingerprint(const dsec_anchors *set,
                                                   size_t i, int nid,
                                                   size_t *len)
{
    if (set == NULL || i >= set->count || len == NULL) {
        return NULL;
    }
    if (nid == NID_sha1) {
        *len = DSEC_SHA1_LEN;
        return set->items[i].sha1;
    }
    if (nid == NID_sha256) {
        *len = DSEC_SHA256_LEN;
        return set->items[i].sha256;
    }
    return NULL;
}

size_t dsec_anchors_skipped_count(const dsec_anchors *set)
{
    return set == NULL ? 0 : set->nskipped;
}

int dsec_anchors_skipped(const dsec_anchors *set, size_t i, const char **path,
                         const char **why)
{
    if (set == NULL || i >= set->nskipped) {
        return 0;
    }
    if (path != NULL) {
        *path = set->skipped[i].path;
    }
    if (why != NULL) {
        *why = set->skipped[i].why;
    }
    return 1;
}

int dsec_anchors_find_subject(const dsec_anchors *set, const X509_NAME *name,
                              size_t *pos, size_t *index)
{
    dsec_key k = { name, NULL, NULL, NULL };

    if (set == NULL || name == NULL) {
        return 0;
    }
    return index_find(set, set->by_subject, set->count, key_subject, &k, pos,
                      index);
}

int dsec_anchors_find_issuer_serial(const dsec_anchors *set,
                                    const X509_NAME *issuer,
                                    const ASN1_INTEGER *serial, size_t *pos,
                                    size_t *index)
{
    dsec_key k = { issuer, serial, NULL, NULL };

    if (set == NULL || issuer == NULL || serial == NULL) {
        return 0;
    }
    return index_find(set, set->by_issuer_serial, set->count, key_issuer_serial,
                      &k, pos, index);
}

int dsec_anchors_find_fingerprint(const dsec_anchors *set, int nid,
                                  const unsigned char *md, size_t mdlen,
                                  size_t *pos, size_t *index)
{
    dsec_key k = { NULL, NULL, md, NULL };

    if (set == NULL || md == NULL) {
        return 0;
    }
    if (nid == NID_sha1 && mdlen == DSEC_SHA1_LEN) {
        return index_find(set, set->by_sha1, set->count, key_sha1, &k, pos,
                          index);
    }
    if (nid == NID_sha256 && mdlen == DSEC_SHA256_LEN) {
        return index_find(set, set->by_sha256, set->count, key_sha256, &k, pos,
                          index);
    }
    return 0;
}

int dsec_anchors_find_skid(const dsec_anchors *set,
                           const ASN1_OCTET_STRING *skid, size_t *pos,
                           size_t *index)
{
    dsec_key k = { NULL, NULL, NULL, skid };

    if (set == NULL || skid == NULL) {
        return 0;
    }
    return index_find(set, set->by_skid, set->nskid, key_skid, &k, pos, index);
}

int dsec_anchors_fingerprint_nid(const char *name, size_t mdlen)
{
    static const struct {
        const char *name;
        int nid;
    } names[] = {
        { "SHA1", NID_sha1 },       { "SHA-1", NID_sha1 },
        { "SSL3-SHA1", NID_sha1 },  { "SHA256", NID_sha256 },
        { "SHA-256", NID_sha256 },  { "SHA2-256", NID_sha256 },
        { "SHA2_256", NID_sha256 },
    };
    size_t i;
    int nid = NID_undef;

    if (name == NULL || name[0] == '\0') {
        if (mdlen == DSEC_SHA1_LEN) {
            nid = NID_sha1;
        } else if (mdlen == DSEC_SHA256_LEN) {
            nid = NID_sha256;
        }
        return nid;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            nid = names[i].nid;
            break;
        }
    }
    if ((nid == NID_sha1 && mdlen != DSEC_SHA1_LEN)
        || (nid == NID_sha256 && mdlen != DSEC_SHA256_LEN)) {
        nid = NID_undef;
    }
    return nid;
}
