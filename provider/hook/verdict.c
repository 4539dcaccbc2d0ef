/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verdict of each verification, recorded for `domainsec policyd`
 * (DESIGN.md section 8). The first time the hook sees a verification
 * (get_issuer or check_revocation, inside X509_verify_cert, where libssl
 * has already set its own callback) it keeps the leaf and wraps the
 * verification's callback, so that every error the verification reports,
 * OpenSSL's own included (untrusted, expired, host name), reaches the
 * report before the host's callback sees it. When the X509_STORE_CTX is
 * cleaned up (freed, or initialised again) the verdict (the report's
 * class, fatal over transient, else the context's error, else valid) is
 * written under the leaf's fingerprints in cache_dir/verdicts/. The
 * fetcher's own verifications (libcurl checking an https CDP) are not
 * recorded.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "debug.h"
#include "hook/internal.h"
#include "domainsec/fetch.h"
#include "domainsec/log.h"
#include "domainsec/verdict.h"

static int watch_index = -1;
static int write_failed; /* a failed write was logged (once a process) */

/* One watched verification: its host callback and its leaf. */
typedef struct {
    X509_STORE_CTX_verify_cb host_cb; /* never NULL */
    X509 *leaf; /* owned reference; NULL when there was none */
} watch;

/* The verdict of the verification ctx, from its report and its error. */
static void verdict_of(X509_STORE_CTX *ctx, const DSPROV_CTX *prov,
                       dsec_verdict *v)
{
    int ri = dsprov_state_report_index();
    const dsec_report *rep =
        ri >= 0 ? X509_STORE_CTX_get_ex_data(ctx, ri) : NULL;
    int err = X509_STORE_CTX_get_error(ctx);

    if (rep != NULL && rep->cls != DSEC_CLASS_VALID) {
        v->cls = rep->cls;
        v->error = rep->x509_err;
        v->depth = rep->err_depth;
        snprintf(v->reason, sizeof(v->reason), "%s", rep->reason);
    } else if (err != X509_V_OK) {
        v->cls = dsec_classify(err, DSEC_OK);
        v->error = err;
        v->depth = X509_STORE_CTX_get_error_depth(ctx);
        snprintf(v->reason, sizeof(v->reason), "%s",
                 X509_verify_cert_error_string(err));
    } else {
        v->cls = DSEC_CLASS_VALID;
        v->depth = -1;
        snprintf(v->reason, sizeof(v->reason), "%s",
                 prov->cfg->revocation == DSEC_REVOCATION_OFF
                     ? "verified (revocation = off: not checked)"
                     : "verified, not revoked");
    }
}

/*
 * The leaves whose verdict this process recorded (written, or found
 * already on disk by the record's own memo) less than RECENT_NS ago: the
 * same leaf with the same verdict again within that time is not recorded
 * again. A host verifies the same peers over and over; without this every
 * verification computed the fingerprints, the names and the record's text
 * and looked at the two files on disk. A leaf is known by the SHA-1
 * fingerprint OpenSSL keeps with every decoded certificate (no digest to
 * compute): two leaves that collide under SHA-1 and get the same verdict
 * within a second only delay the second one's record by that second (the
 * policy service finds no record and answers "try later").
 */
#define RECENT_SLOTS 256
#define RECENT_NS 1000000000LL

struct recent_slot {
    unsigned char sha1[20];
    dsec_class cls;
    int error;
    int depth;
    int fd;
    char reason[sizeof(((dsec_verdict *)0)->reason)];
    long long at; /* CLOCK_MONOTONIC, ns; 0: empty */
};

static struct recent_slot recent[RECENT_SLOTS];
static pthread_mutex_t recent_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot for (leaf, v, fd) filled in *key; 0 when the leaf has none. */
static int recent_key(X509 *leaf, const dsec_verdict *v, int fd,
                      struct recent_slot *key)
{
    unsigned int len = 0;

    memset(key, 0, sizeof(*key));
    if (X509_digest(leaf, EVP_sha1(), key->sha1, &len) != 1
        || len != sizeof(key->sha1)) {
        return 0;
    }
    key->cls = v->cls;
    key->error = v->error;
    key->depth = v->depth;
    key->fd = fd;
    memcpy(key->reason, v->reason, sizeof(key->reason));
    return 1;
}

static struct recent_slot *recent_slot_of(const struct recent_slot *key)
{
    unsigned int h = 0;

    memcpy(&h, key->sha1, sizeof(h));
    return &recent[h % RECENT_SLOTS];
}

static int recent_same(const struct recent_slot *key, long long now)
{
    struct recent_slot *s = recent_slot_of(key);
    int same;

    pthread_mutex_lock(&recent_lock);
    same = s->at != 0 && now >= s->at && now - s->at < RECENT_NS
           && memcmp(s->sha1, key->sha1, sizeof(s->sha1)) == 0
           && s->cls == key->cls && s->error == key->error
           && s->depth == key->depth && s->fd == key->fd
           && strcmp(s->reason, key->reason) == 0;
    pthread_mutex_unlock(&recent_lock);
    return same;
}

static void recent_note(const struct recent_slot *key, long long now)
{
    struct recent_slot *s = recent_slot_of(key);

    pthread_mutex_lock(&recent_lock);
    *s = *key;
    s->at = now;
    pthread_mutex_unlock(&recent_lock);
}

static void record(X509_STORE_CTX *ctx, const watch *w)
{
    DSPROV_CTX *prov = dsprov_state_active();
    struct recent_slot key;
    long long now;
    int known;
    DSEC_ERR err;
    dsec_verdict v;

    if (prov == NULL || prov->verdict_fd < 0 || w->leaf == NULL) {
        return;
    }
    memset(&v, 0, sizeof(v));
    memset(&err, 0, sizeof(err));
    verdict_of(ctx, prov, &v);
    known = recent_key(w->leaf, &v, prov->verdict_fd, &key);
    now = dsprov_state_mono_ns();
    if (known && now != 0 && recent_same(&key, now)) {
        return;
    }
    dsec_verdict_names_of(w->leaf, &v);
    v.time = time(NULL);
    v.expires = v.time + prov->cfg->verdict_ttl;
    if (dsec_verdict_write(prov->verdict_fd, w->leaf, &v, &err) != DSEC_OK) {
        if (!__atomic_exchange_n(&write_failed, 1, __ATOMIC_RELAXED)) {
            dsec_log(DSEC_LOG_WARNING,
                     "domainsec: cannot record verdicts in %s/%s (%s); the "
                     "policy service will find no record",
                     prov->cfg->cache_dir, DSEC_VERDICT_DIR, err.msg);
        }
        return;
    }
    if (known && now != 0) {
        recent_note(&key, now);
    }
    DSPROV_debug(2, "verdict recorded: %s, error %d: %s; subject=%s",
                 dsec_classify_name(v.cls), v.error, v.reason, v.subject);
    dsec_verdict_sweep_due(prov->verdict_fd, v.time, prov->cfg->verdict_ttl);
}

/*
 * Runs in X509_STORE_CTX_cleanup: the leaf and the error are still there,
 * the chain and the parameters no longer. Registered before the report's
 * index, and OpenSSL frees ex_data in index order, so the report is still
 * there too. Called with ptr NULL for a context never watched.
 */
static void watch_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                       long argl, void *argp)
{
    watch *w = ptr;

    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (w == NULL) {
        return;
    }
    if (parent != NULL) {
        record(parent, w);
    }
    X509_free(w->leaf);
    OPENSSL_free(w);
}

/* Every error reaches the report, then the host's callback decides. */
static int watch_cb(int ok, X509_STORE_CTX *ctx)
{
    watch *w = X509_STORE_CTX_get_ex_data(ctx, watch_index);
    int err = X509_STORE_CTX_get_error(ctx);

    if (!ok && err != X509_V_OK) {
        int depth = X509_STORE_CTX_get_error_depth(ctx);
        dsec_report *rep = dsprov_state_report(ctx);
        char subject[256], reason[DSEC_ERR_MSG_LEN];
        const char *url = "";

        dsec_path_describe(X509_STORE_CTX_get_current_cert(ctx), subject,
                           sizeof(subject));
        dsec_report_note(rep, err, depth, subject, reason, sizeof(reason),
                         &url);
    }
    return w != NULL ? w->host_cb(ok, ctx) : ok;
}

int dsprov_verdict_setup(void)
{
    watch_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509_STORE_CTX, 0,
                                          NULL, NULL, NULL, watch_free);
    return watch_index >= 0;
}

int dsprov_verdict_index(void)
{
    return watch_index;
}

void dsprov_verdict_watch(X509_STORE_CTX *ctx)
{
    DSPROV_CTX *prov = dsprov_state_active();
    X509_STORE_CTX_verify_cb cb;
    watch *w;

    if (watch_index < 0 || prov == NULL || prov->verdict_fd < 0
        || dsec_fetch_active()
        || X509_STORE_CTX_get_ex_data(ctx, watch_index) != NULL) {
        return;
    }
    cb = X509_STORE_CTX_get_verify_cb(ctx);
    if (cb == NULL || (w = OPENSSL_zalloc(sizeof(*w))) == NULL) {
        return;
    }
    w->host_cb = cb;
    w->leaf = X509_STORE_CTX_get0_cert(ctx);
    if (w->leaf != NULL && !X509_up_ref(w->leaf)) {
        w->leaf = NULL;
    }
    if (!X509_STORE_CTX_set_ex_data(ctx, watch_index, w)) {
        X509_free(w->leaf);
        OPENSSL_free(w);
        return;
    }
    X509_STORE_CTX_set_verify_cb(ctx, watch_cb);
}
