/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registration of the X509_STORE hook (DESIGN.md section 1). An ex_data
 * "new" callback puts domainsec on every X509_STORE the process creates:
 * CRL flags, the issuer search (issuer.c) and the check_revocation hook
 * (revocation.c). OpenSSL's built-in CRL machinery is not used for hooked
 * stores, so no nested verification of OpenSSL's can come back into this
 * hook. A provider whose configuration is bad registers in fail-closed
 * mode instead: every hooked store refuses every verification.
 */
#include <stdio.h>
#include <syslog.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "debug.h"
#include "hook/hook.h"
#include "hook/internal.h"
#include "provider.h"

static CRYPTO_ONCE hook_once = CRYPTO_ONCE_STATIC_INIT;
static int hook_ready;
static int store_index = -1;

/*
 * Runs inside X509_STORE_new(), before the store's lock exists: plain
 * setters only, no locking, no I/O.
 */
static void store_new_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                         long argl, void *argp)
{
    X509_STORE *store = parent;
    DSPROV_CTX *prov = dsprov_state_active();
    const dsec_config *cfg;

    (void)ptr;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (store == NULL) {
        return;
    }
    if (dsprov_state_is_broken()) {
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
        X509_STORE_set_check_revocation(store, dsprov_revocation_check);
        return;
    }
    if (prov == NULL || prov->eng == NULL) {
        return;
    }
    cfg = prov->cfg;
    /*
     * trust_dirs and cross_dirs reach the chain through the path builder,
     * which reads the in-memory index directly (no X509_LOOKUP: a lookup
     * would copy anchors into the store, where a removed file would stay
     * trusted)
     */
    X509_STORE_set_get_issuer(store, dsprov_issuer_get);
    if (cfg->revocation == DSEC_REVOCATION_OFF) {
        return;
    }
    /* libssl adds store flags to its own, so these reach TLS too */
    X509_STORE_set_flags(store,
                         X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    X509_STORE_set_check_revocation(store, dsprov_revocation_check);
}

static void hook_setup(void)
{
    /* the verdict's index first: its free callback reads the report */
    if (!dsprov_verdict_setup() || !dsprov_state_setup()
        || dsprov_verdict_index() >= dsprov_state_report_index()) {
        return;
    }
    /* never freed: OpenSSL calls store_new_cb for the process's lifetime */
    store_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509_STORE, 0, NULL,
                                          store_new_cb, NULL, NULL);
    hook_ready = store_index >= 0;
}

int dsprov_hook_register(DSPROV_CTX *ctx)
{
    if (!CRYPTO_THREAD_run_once(&hook_once, hook_setup) || !hook_ready) {
        return DSPROV_ERR;
    }
    dsprov_state_set_active(ctx);
    DSPROV_debug(1, "X509_STORE hook registered (report index %d)",
                 dsprov_state_report_index());
    return DSPROV_OK;
}

int dsprov_hook_register_broken(const char *reason)
{
    const char *why;

    dsprov_state_set_broken_reason(reason);
    if (!CRYPTO_THREAD_run_once(&hook_once, hook_setup) || !hook_ready) {
        return DSPROV_ERR;
    }
    dsprov_state_enter_broken();
    why = dsprov_state_broken_reason();
    /* the log directives may be the bad ones: say it on both channels */
    syslog(LOG_ERR,
           "domainsec: configuration error: %s; every certificate "
           "verification will fail (fatal) until it is fixed",
           why);
    fprintf(stderr,
            "domainsec: configuration error: %s; every certificate "
            "verification will fail (fatal) until it is fixed\n",
            why);
    return DSPROV_OK;
}

void dsprov_hook_unregister(DSPROV_CTX *ctx)
{
    dsprov_state_unset_active(ctx);
}

int dsprov_hook_report_index(void)
{
    return dsprov_state_report_index();
}
