/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The links this process found good a moment ago (DESIGN.md section 7): a
 * host verifies the same peers over and over, and gathering and deciding
 * the same link again from the same cached CRLs cost a warm verification
 * as much as a fifth of its time. A remembered "good" stands in for a new
 * decision only for the very same link, from the very same CRLs, within
 * their validity and for at most MEMO_NS:
 * - the same certificate and the same issuer (X509_cmp: the SHA-1
 *   fingerprint, then the exact DER of the signed part), the same provider
 *   instance (its serial: an address can come back), host store and
 *   verification flags, the same place in the
 *   chain (the top link also checked the anchor against its CRL);
 * - the engine's memory cache has stored and dropped nothing since (its
 *   epoch, which also sees `domainsec cache purge`), so every CRL the
 *   decision was made from is still the one the cache holds;
 * - the verification's time not before the time the link was decided at
 *   and before the earliest nextUpdate of its CRLs (dsec_crl_fresh_at, the
 *   comparison used everywhere; a listed entry counts whatever its
 *   revocation date, so nothing else in the decision moves with time);
 * - the host supplies no CRL for the certificate's issuer now either.
 * Only a good decision of a level-0 link is remembered, when its CRLs are
 * the network's or the cache's (none from the host), signed by the link's
 * own issuer (no separate CRL issuer, whose own path could change) and
 * named by the certificate's issuer (no cRLIssuer). Revoked and unknown are
 * always decided again. MEMO_NS bounds what nothing above sees: a newer
 * CRL stored in cache_dir by another process, the background refresh's
 * next look at a CRL past its refresh point.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "debug.h"
#include "hook/internal.h"
#include "domainsec/crl.h"

#define MEMO_SLOTS 128
#define MEMO_NS 1000000000LL

typedef struct {
    X509 *cert, *issuer; /* held references; cert NULL: empty slot */
    unsigned long prov; /* the provider instance's serial */
    const void *store;
    unsigned long flags;
    int top;
    unsigned long epoch;
    time_t not_before, not_after;
    long long until; /* CLOCK_MONOTONIC, ns */
    char why[DSEC_ERR_MSG_LEN];
    char url[256];
} memo_slot;

static memo_slot memo[MEMO_SLOTS];
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot of cert (by the SHA-1 fingerprint OpenSSL keeps); NULL. */
static memo_slot *slot_of(X509 *cert)
{
    unsigned char sha1[20];
    unsigned int len = 0, h = 0;

    if (X509_digest(cert, EVP_sha1(), sha1, &len) != 1 || len != 20) {
        return NULL;
    }
    memcpy(&h, sha1, sizeof(h));
    return &memo[h % MEMO_SLOTS];
}

static unsigned long flags_of(const dsprov_chain *c)
{
    return X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(c->ctx));
}

/* Whether slot s holds link d of c, valid now (caller holds the lock). */
static int holds(const memo_slot *s, const dsprov_chain *c, int d,
                 long long now_ns)
{
    return s->cert != NULL && now_ns != 0 && now_ns < s->until
           && s->prov == c->prov->serial
           && s->store == X509_STORE_CTX_get0_store(c->ctx)
           && s->flags == flags_of(c) && s->top == (d == c->n - 2)
           && s->epoch == c->epoch && c->now >= s->not_before
           && dsec_crl_fresh_at(s->not_after, c->now)
           && X509_cmp(s->cert, c->chain[d]) == 0
           && X509_cmp(s->issuer, c->chain[d + 1]) == 0;
}

int dsprov_linkmemo_get(const dsprov_chain *c, int d, dsec_decision *out)
{
    memo_slot *s;
    char why[DSEC_ERR_MSG_LEN], url[256];
    int hit;

    if (c == NULL || !c->memo || c->level != 0 || d < 0 || d + 1 >= c->n
        || (s = slot_of(c->chain[d])) == NULL) {
        return 0;
    }
    pthread_mutex_lock(&memo_lock);
    hit = holds(s, c, d, dsprov_state_mono_ns());
    if (hit) {
        memcpy(why, s->why, sizeof(why));
        memcpy(url, s->url, sizeof(url));
    }
    pthread_mutex_unlock(&memo_lock);
    if (!hit
        || dsprov_link_host_has_crls(c->ctx,
                                     X509_get_issuer_name(c->chain[d]))) {
        return 0;
    }
    DSPROV_debug(2, "link %d: good a moment ago from the same CRLs (%s)", d,
                 url);
    dsec_decide(NULL, NULL, out); /* zeroed, then made good */
    out->status = DSEC_STATUS_GOOD;
    out->rv = DSEC_OK;
    out->x509_err = X509_V_OK;
    snprintf(out->why, sizeof(out->why), "%s", why);
    if (c->rep != NULL && d < DSEC_REPORT_MAX_DEPTH) {
        dsec_depth_status *st = &c->rep->depth[d];

        st->checked = 1;
        st->status = (int)DSEC_STATUS_GOOD;
        st->rv = DSEC_OK;
        snprintf(st->detail, sizeof(st->detail), "%s", why);
        snprintf(st->url, sizeof(st->url), "%s", url);
    }
    return 1;
}

/* *na narrowed to crl's nextUpdate; 0 when it has none. */
static int narrow(X509_CRL *crl, time_t *na)
{
    time_t next_upd = dsec_crl_next_update(crl);

    if (next_upd == 0) {
        return 0;
    }
    if (*na == 0 || next_upd < *na) {
        *na = next_upd;
    }
    return 1;
}

void dsprov_linkmemo_put(const dsprov_chain *c, int d, X509_CRL *by,
                         X509_CRL *delta, const dsec_decision *dec,
                         const char *url)
{
    memo_slot *s, fresh;
    long long now_ns = dsprov_state_mono_ns();

    memset(&fresh, 0, sizeof(fresh));
    if (c == NULL || !c->memo || c->level != 0 || d < 0 || d + 1 >= c->n
        || by == NULL || now_ns == 0 || !narrow(by, &fresh.not_after)
        || (delta != NULL && !narrow(delta, &fresh.not_after))
        || (s = slot_of(c->chain[d])) == NULL) {
        return;
    }
    if (!X509_up_ref(c->chain[d])) {
        return;
    }
    if (!X509_up_ref(c->chain[d + 1])) {
        X509_free(c->chain[d]);
        return;
    }
    fresh.cert = c->chain[d];
    fresh.issuer = c->chain[d + 1];
    fresh.prov = c->prov->serial;
    fresh.store = X509_STORE_CTX_get0_store(c->ctx);
    fresh.flags = flags_of(c);
    fresh.top = d == c->n - 2;
    fresh.epoch = c->epoch;
    fresh.not_before = c->now;
    fresh.until = now_ns + MEMO_NS;
    snprintf(fresh.why, sizeof(fresh.why), "%s", dec->why);
    snprintf(fresh.url, sizeof(fresh.url), "%s", url != NULL ? url : "");
    pthread_mutex_lock(&memo_lock);
    X509_free(s->cert);
    X509_free(s->issuer);
    *s = fresh;
    pthread_mutex_unlock(&memo_lock);
}
