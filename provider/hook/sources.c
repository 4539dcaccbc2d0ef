/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the path builder gets from one verification: its candidate sources
 * (trust_dirs and cross_dirs snapshots, the host's trusted store, the
 * peer's certificates, the partial-chain flag; the builder decides their
 * order and the anchor rules, see domainsec/cands.h) and its bounds (time,
 * depth, signature budget, security level).
 */
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "hook/internal.h"

/* The host's trusted certificates named name (arg: the X509_STORE_CTX);
   a name it had none for a moment ago is not asked again (hostmiss.c). */
static STACK_OF(X509) * host_certs(void *arg, const X509_NAME *name)
{
    STACK_OF(X509) * sk;

    if (dsprov_hostmiss_known(arg, X509_LU_X509, name)) {
        return NULL;
    }
    ERR_set_mark();
    sk = X509_STORE_CTX_get1_certs(arg, (X509_NAME *)name);
    ERR_pop_to_mark();
    if (sk_X509_num(sk) <= 0) {
        dsprov_hostmiss_note(arg, X509_LU_X509, name);
    }
    return sk;
}

void dsprov_sources_init(dsprov_sources *s, X509_STORE_CTX *ctx,
                         DSPROV_CTX *prov)
{
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);

    memset(s, 0, sizeof(*s));
    s->src.partial_chain =
        (X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_PARTIAL_CHAIN) != 0;
    s->roots = dsprov_ctx_get1_roots(prov);
    /* with partial chains only the trusted sources are considered */
    if (!s->src.partial_chain) {
        s->cross = dsprov_ctx_get1_cross(prov);
    }
    s->src.roots = s->roots;
    s->src.cross = s->cross;
    s->src.host_certs = host_certs;
    s->src.host_arg = ctx;
    s->src.peer = X509_STORE_CTX_get0_untrusted(ctx);
}

void dsprov_sources_clear(dsprov_sources *s)
{
    dsec_anchors_free(s->roots);
    dsec_anchors_free(s->cross);
    memset(s, 0, sizeof(*s));
}

void dsprov_sources_params(const dsprov_sources *s, X509_STORE_CTX *ctx,
                           const DSPROV_CTX *prov, dsec_path_params *p,
                           int *sigs_used)
{
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    const dsec_config *cfg = prov->cfg;
    int depth;

    memset(p, 0, sizeof(*p));
    p->now = dsprov_state_time(ctx);
    p->check_time =
        (X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_NO_CHECK_TIME) == 0;
    p->max_depth = cfg->max_path_depth;
    depth = X509_VERIFY_PARAM_get_depth(vp);
    if (depth >= 0 && depth < p->max_depth) {
        p->max_depth = depth;
    }
    p->max_sigs = cfg->max_signature_checks;
    p->auth_level = X509_VERIFY_PARAM_get_auth_level(vp);
    p->sigs_used = sigs_used;
    p->sources = &s->src;
}
