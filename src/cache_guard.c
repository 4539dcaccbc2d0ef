/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rollback protection of the CRL cache: per signer key and scope (the
 * CRL's issuingDistributionPoint, complete or delta) the highest CRL number
 * and thisUpdate ever accepted, in memory (a hash table under a mutex) and,
 * with a cache directory, in <keyhash>.num, so that neither a file copied
 * back into the cache nor an older CRL served by the network is taken for
 * news. An older CRL is refused (DSEC_ERR_ROLLBACK, transient); a newer one
 * raises the value. A .num file is read like every file of the cache
 * (trusted files only); an unreadable or corrupted one is logged and
 * ignored, never lowering what memory knows.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/log.h"
#include "internal.h"

#define GUARD_BUCKETS 256
#define GUARD_MAX 8192
#define NUM_BYTES 32 /* RFC 5280: a CRL number has 20 octets at most */

/* What was accepted: the highest CRL number (big-endian, when has_num) and
   the thisUpdate that goes with it. */
typedef struct {
    int has_num;
    unsigned char num[NUM_BYTES];
    time_t this_update;
} guard_val;

struct guard_rec {
    unsigned char key[32];
    guard_val val;
    struct guard_rec *next;
};

struct dsec_cache_guard {
    pthread_mutex_t lock;
    struct guard_rec *buckets[GUARD_BUCKETS];
    size_t count;
};

dsec_cache_guard *dsec_cache_guard_new(void)
{
    dsec_cache_guard *g = calloc(1, sizeof(*g));

    if (g != NULL && pthread_mutex_init(&g->lock, NULL) != 0) {
        free(g);
        g = NULL;
    }
    return g;
}

void dsec_cache_guard_free(dsec_cache_guard *g)
{
    size_t i;

    if (g == NULL) {
        return;
    }
    for (i = 0; i < GUARD_BUCKETS; i++) {
        struct guard_rec *r = g->buckets[i], *n;

        for (; r != NULL; r = n) {
            n = r->next;
            free(r);
        }
    }
    pthread_mutex_destroy(&g->lock);
    free(g);
}

/* The guard's key of crl: SHA-256(key_id || IDP DER or nothing || delta). */
static int key_of(const unsigned char key_id[32], X509_CRL *crl,
                  unsigned char key[32])
{
    int idx = X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1);
    unsigned char delta = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ASN1_OCTET_STRING *der = NULL;
    unsigned int n = 0;
    int ok;

    if (idx >= 0) {
        der = X509_EXTENSION_get_data(X509_CRL_get_ext(crl, idx));
    }
    ok = md != NULL && dsec_sha256() != NULL
         && EVP_DigestInit_ex(md, dsec_sha256(), NULL)
         && EVP_DigestUpdate(md, key_id, 32)
         && (der == NULL
             || EVP_DigestUpdate(md, ASN1_STRING_get0_data(der),
                                 (size_t)ASN1_STRING_length(der)))
         && EVP_DigestUpdate(md, &delta, 1) && EVP_DigestFinal_ex(md, key, &n)
         && n == 32;
    EVP_MD_CTX_free(md);
    return ok;
}

/* The number and thisUpdate of crl; 0 when unusable. */
static int val_of(X509_CRL *crl, guard_val *v)
{
    ASN1_INTEGER *n;
    BIGNUM *bn = NULL;
    int crit = 0, ok = 1;

    memset(v, 0, sizeof(*v));
    if (!dsec_time_of(X509_CRL_get0_lastUpdate(crl), &v->this_update)) {
        return 0;
    }
    n = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
    if (n != NULL) {
        bn = ASN1_INTEGER_to_BN(n, NULL);
        ok = bn != NULL && !BN_is_negative(bn)
             && BN_bn2binpad(bn, v->num, NUM_BYTES) == NUM_BYTES;
        v->has_num = ok;
    } else if (crit != -1) {
        ok = 0; /* present but not an INTEGER */
    }
    ASN1_INTEGER_free(n);
    BN_free(bn);
    return ok;
}

/* <0: a is older than b; 0 the same; >0 newer. Numbers when both have
   one (thisUpdate for equal numbers), else thisUpdate alone. */
static int val_cmp(const guard_val *a, const guard_val *b)
{
    int c = 0;

    if (a->has_num && b->has_num) {
        c = memcmp(a->num, b->num, NUM_BYTES);
    }
    if (c == 0) {
        c = a->this_update < b->this_update   ? -1
            : a->this_update > b->this_update ? 1
                                              : 0;
    }
    return c;
}

/* What is known after accepting v over known (v not older). */
static void val_raise(guard_val *known, const guard_val *v)
{
    if (v->has_num || !known->has_num) {
        *known = *v;
    } else if (v->this_update > known->this_update) {
        known->this_update = v->this_update;
    }
}

/* Caller holds the lock. */
static struct guard_rec *find(dsec_cache_guard *g, const unsigned char *key,
                              int add)
{
    struct guard_rec **pp = &g->buckets[key[0] % GUARD_BUCKETS];

    for (; *pp != NULL; pp = &(*pp)->next) {
        if (memcmp((*pp)->key, key, 32) == 0) {
            return *pp;
        }
    }
    if (!add || g->count >= GUARD_MAX
        || (*pp = calloc(1, sizeof(**pp))) == NULL) {
        return NULL;
    }
    memcpy((*pp)->key, key, 32);
    g->count++;
    return *pp;
}

static void file_name(const unsigned char key[32], char name[80])
{
    size_t i;

    for (i = 0; i < 32; i++) {
        snprintf(name + 2 * i, 3, "%02x", key[i]);
    }
    snprintf(name + 64, 16, ".num");
}

/* The value of <key>.num: 1 when read, 0 when absent or ignored. Format:
   "v1 <number in hex, or -> <thisUpdate>\n". */
static int disk_read(dsec_cache_disk *d, const char *name, guard_val *v)
{
    char buf[160], hex[2 * NUM_BYTES + 2];
    long long tu;
    int used = 0;
    BIGNUM *bn = NULL;
    int ok;

    if (dsec_cache_disk_read_file(d, name, buf, sizeof(buf)) < 0) {
        return 0;
    }
    memset(v, 0, sizeof(*v));
    ok = sscanf(buf, "v1 %65s %lld\n%n", hex, &tu, &used) == 2
         && buf[used] == '\0' && tu > 0;
    if (ok && strcmp(hex, "-") != 0) {
        ok = strlen(hex) <= 2 * 20 && BN_hex2bn(&bn, hex) == (int)strlen(hex)
             && BN_bn2binpad(bn, v->num, NUM_BYTES) == NUM_BYTES;
        v->has_num = 1;
    }
    BN_free(bn);
    if (!ok) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: ignoring corrupted cache file %s (rollback "
                 "record)",
                 name);
        return 0;
    }
    v->this_update = (time_t)tu;
    return 1;
}

static void disk_write(dsec_cache_disk *d, const char *name, const guard_val *v)
{
    char buf[160], *hex = NULL;
    BIGNUM *bn = NULL;

    if (v->has_num) {
        bn = BN_bin2bn(v->num, NUM_BYTES, NULL);
        hex = bn != NULL ? BN_bn2hex(bn) : NULL;
        if (hex == NULL) {
            BN_free(bn);
            return;
        }
    }
    snprintf(buf, sizeof(buf), "v1 %s %lld\n", hex != NULL ? hex : "-",
             (long long)v->this_update);
    (void)dsec_cache_disk_write_file(d, name, buf, strlen(buf));
    OPENSSL_free(hex);
    BN_free(bn);
}

static dsec_rv refuse(X509_CRL *crl, const guard_val *v, const guard_val *known,
                      DSEC_ERR *err)
{
    char issuer[160];

    X509_NAME_oneline(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
    dsec_log(DSEC_LOG_WARNING,
             "domainsec: rollback: refusing a CRL of %s older than one "
             "accepted before (%s; thisUpdate %lld, accepted %lld)",
             issuer,
             v->has_num && known->has_num
                 ? "CRL number lower, or equal with an older thisUpdate"
                 : "thisUpdate older",
             (long long)v->this_update, (long long)known->this_update);
    return dsec_err_set(err, DSEC_ERR_ROLLBACK, 0,
                        "rollback: CRL of %s is older than one accepted "
                        "before (CRL number / thisUpdate)",
                        issuer);
}

/* Keep val as the highest known of key in memory (unless a higher one
   came meanwhile). */
static void remember(dsec_cache_guard *g, const unsigned char *key,
                     const guard_val *val)
{
    struct guard_rec *r;

    pthread_mutex_lock(&g->lock);
    r = find(g, key, 1);
    if (r != NULL && val_cmp(val, &r->val) >= 0) {
        r->val = *val;
    }
    pthread_mutex_unlock(&g->lock);
}

/* What memory knows of key: 1 and *known, or 0. */
static int known_in_memory(dsec_cache_guard *g, const unsigned char *key,
                           guard_val *known)
{
    struct guard_rec *r;

    pthread_mutex_lock(&g->lock);
    r = find(g, key, 0);
    if (r != NULL) {
        *known = r->val;
    }
    pthread_mutex_unlock(&g->lock);
    return r != NULL;
}

dsec_rv dsec_cache_guard_check(dsec_cache_guard *g, dsec_cache_disk *disk,
                               const unsigned char key_id[32], X509_CRL *crl,
                               DSEC_ERR *err)
{
    unsigned char key[32];
    char name[80];
    guard_val v, known, ondisk;
    int have, have_disk = 0;

    if (g == NULL || !key_of(key_id, crl, key) || !val_of(crl, &v)) {
        return dsec_err_set(err, DSEC_ERR_PARSE, 0,
                            "CRL number or thisUpdate unreadable");
    }
    have = known_in_memory(g, key, &known);
    if (have && val_cmp(&v, &known) < 0) {
        return refuse(crl, &v, &known, err);
    }
    if (have && val_cmp(&v, &known) == 0 && v.has_num == known.has_num) {
        return DSEC_OK; /* the one accepted last: nothing new */
    }
    /* a CRL new to this process: what the other processes accepted */
    file_name(key, name);
    if (disk != NULL && disk->dirfd >= 0) {
        have_disk = disk_read(disk, name, &ondisk);
    }
    if (have_disk && (!have || val_cmp(&ondisk, &known) > 0)) {
        known = ondisk;
        have = 1;
    }
    if (have && val_cmp(&v, &known) < 0) {
        remember(g, key, &known);
        return refuse(crl, &v, &known, err);
    }
    if (have) {
        val_raise(&known, &v);
    } else {
        known = v;
    }
    remember(g, key, &known);
    if (disk != NULL && disk->dirfd >= 0
        && (!have_disk || val_cmp(&known, &ondisk) != 0
            || known.has_num != ondisk.has_num)) {
        disk_write(disk, name, &known);
    }
    return DSEC_OK;
}
