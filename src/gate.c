/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The signature gate and the verified-link cache: a chain's links are
 * verified from the anchor down before any CDP of it is fetched, and a
 * link verified once is not verified again (direct-mapped, overwritten on
 * collision: a miss only costs a signature check), the most recent ones
 * also as the certificates themselves (recent_link).
 */
#include <pthread.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "domainsec/common.h"
#include "domainsec/gate.h"
#include "internal.h"

#define GATE_SLOTS 2048
#define RECENT_SLOTS 64

struct gate_link {
    unsigned char cert[32];
    unsigned char key[32];
    int used;
};

static struct gate_link gate_cache[GATE_SLOTS];
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The links verified most recently, held as the certificates themselves
 * and found again with X509_cmp (the SHA-1 fingerprint OpenSSL keeps, then
 * the exact DER of the signed part): no digest to compute for the links a
 * host sees over and over. Whatever a match could differ in (the signature
 * bytes alone) moves neither a CDP nor a key.
 */
struct recent_link {
    X509 *cert, *issuer; /* held references; NULL: empty */
};

static struct recent_link recent[RECENT_SLOTS];

static struct recent_link *recent_slot(X509 *cert)
{
    unsigned char sha1[20];
    unsigned int len = 0, h = 0;

    if (X509_digest(cert, EVP_sha1(), sha1, &len) != 1 || len != 20) {
        return NULL;
    }
    memcpy(&h, sha1, sizeof(h));
    return &recent[h % RECENT_SLOTS];
}

static int recent_known(X509 *cert, X509 *issuer)
{
    struct recent_link *r = recent_slot(cert);
    int known;

    if (r == NULL) {
        return 0;
    }
    pthread_mutex_lock(&gate_lock);
    known = r->cert != NULL && X509_cmp(r->cert, cert) == 0
            && X509_cmp(r->issuer, issuer) == 0;
    pthread_mutex_unlock(&gate_lock);
    return known;
}

static void recent_remember(X509 *cert, X509 *issuer)
{
    struct recent_link *r = recent_slot(cert);

    if (r == NULL || !X509_up_ref(cert)) {
        return;
    }
    if (!X509_up_ref(issuer)) {
        X509_free(cert);
        return;
    }
    pthread_mutex_lock(&gate_lock);
    X509_free(r->cert);
    X509_free(r->issuer);
    r->cert = cert;
    r->issuer = issuer;
    pthread_mutex_unlock(&gate_lock);
}

static int link_id(X509 *cert, X509 *issuer, struct gate_link *id)
{
    const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(issuer);
    const EVP_MD *md = dsec_sha256();
    unsigned int len = 0;

    memset(id, 0, sizeof(*id));
    if (md == NULL || key == NULL || !X509_digest(cert, md, id->cert, &len)
        || len != 32
        || !dsec_sha256_digest(key->data, (size_t)key->length, id->key)) {
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

int dsec_gate_verify_link(X509 *cert, X509 *issuer)
{
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    struct gate_link id;
    int ok, have_id;

    ERR_set_mark();
    if (recent_known(cert, issuer)) {
        ERR_pop_to_mark();
        return 1;
    }
    have_id = link_id(cert, issuer, &id);
    ok = have_id && link_known(&id);
    if (!ok) {
        ok = key != NULL && X509_verify(cert, key) > 0;
        if (ok && have_id) {
            link_remember(&id);
        }
    }
    if (ok) {
        recent_remember(cert, issuer);
    }
    ERR_pop_to_mark();
    return ok;
}

int dsec_gate_chain(STACK_OF(X509) * chain, int top_trusted, int *bad_depth,
                    int (*known)(void *arg, X509 *cert, X509 *issuer),
                    void *arg)
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
            && !dsec_gate_verify_link(cert, issuer)) {
            if (bad_depth != NULL) {
                *bad_depth = i;
            }
            return i + 1;
        }
    }
    return 0;
}
