/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names the host's X509_STORE had nothing for, remembered a few seconds.
 * The path builder asks the host's trusted store for the certificates of
 * each name it meets, and the revocation side asks it for the CRLs of each
 * link's issuer; a name the store has nothing for in memory goes to its
 * lookups every time, and OpenSSL 3.0's default verify paths make that a
 * directory listing (the "store" lookup lists the whole certs directory)
 * plus a stat per hash file, on every handshake. Peers' intermediates and
 * the issuers of links whose CRLs come from their CDPs are exactly such
 * names. So an empty answer is remembered DSPROV_HOSTMISS_SECONDS per
 * store, kind and name (the name's DER compared whole, never a hash), and
 * the same question in that time gets the same empty answer without a
 * lookup. What the store holds in memory is looked at every time (a
 * search under the store's lock, no lookup): a certificate or CRL added
 * with X509_STORE_add_cert/_crl, or loaded into a new store allocated at
 * a freed one's address, counts at once. Only a file added to the host's
 * directories is seen at most that much later; the host's own lookups
 * (OpenSSL's path building) are untouched.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <openssl/x509.h>
#include "hook/internal.h"

#define HOSTMISS_SLOTS 256
#define HOSTMISS_NAME_MAX 512

struct hostmiss_slot {
    const X509_STORE *store;
    int kind;
    time_t until;
    size_t len;
    unsigned char der[HOSTMISS_NAME_MAX];
};

static struct hostmiss_slot slots[HOSTMISS_SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot of (store, kind, der), and der's length; NULL: not memorable. */
static struct hostmiss_slot *slot_of(const X509_STORE *store, int kind,
                                     const X509_NAME *name,
                                     const unsigned char **der, size_t *len)
{
    unsigned long h = 5381 + (unsigned long)kind;
    size_t i;

    if (store == NULL || name == NULL || !X509_NAME_get0_der(name, der, len)
        || *len == 0 || *len > HOSTMISS_NAME_MAX) {
        return NULL;
    }
    for (i = 0; i < *len; i++) {
        h = h * 33 + (*der)[i];
    }
    h ^= (unsigned long)(uintptr_t)store >> 4;
    return &slots[h % HOSTMISS_SLOTS];
}

/* Whether store holds an object of kind and name in memory (what
   X509_STORE_add_cert/_crl and loaded files put there): 1 also when the
   store cannot be looked at. */
static int in_memory(X509_STORE *store, int kind, const X509_NAME *name)
{
    int idx;

    if (!X509_STORE_lock(store)) {
        return 1;
    }
    idx = X509_OBJECT_idx_by_subject(X509_STORE_get0_objects(store),
                                     (X509_LOOKUP_TYPE)kind, name);
    X509_STORE_unlock(store);
    return idx >= 0;
}

int dsprov_hostmiss_known(X509_STORE_CTX *ctx, int kind, const X509_NAME *name)
{
    X509_STORE *store = X509_STORE_CTX_get0_store(ctx);
    const unsigned char *der;
    struct hostmiss_slot *s;
    size_t len;
    int known;

    s = slot_of(store, kind, name, &der, &len);
    if (s == NULL) {
        return 0;
    }
    pthread_mutex_lock(&slots_lock);
    known = s->store == store && s->kind == kind && s->len == len
            && memcmp(s->der, der, len) == 0 && time(NULL) < s->until;
    pthread_mutex_unlock(&slots_lock);
    /* what the store holds in memory now always counts: one added since
       (X509_STORE_add_crl), or a new store at a freed one's address */
    return known && !in_memory(store, kind, name);
}

void dsprov_hostmiss_note(X509_STORE_CTX *ctx, int kind, const X509_NAME *name)
{
    const X509_STORE *store = X509_STORE_CTX_get0_store(ctx);
    const unsigned char *der;
    struct hostmiss_slot *s;
    size_t len;

    s = slot_of(store, kind, name, &der, &len);
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&slots_lock);
    s->store = store;
    s->kind = kind;
    s->len = len;
    memcpy(s->der, der, len);
    s->until = time(NULL) + DSPROV_HOSTMISS_SECONDS;
    pthread_mutex_unlock(&slots_lock);
}
