/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Candidate issuers for the path builder: the list (one entry per
 * certificate, the trusted source winning) and the gathering of one
 * verification's sources in the builder's order, with the anchor rules
 * (self-signed, partial chains).
 */
#include <stdio.h>
#include <stdlib.h>
#include <openssl/x509.h>
#include "domainsec/cands.h"

int dsec_cands_add(dsec_cands *c, X509 *cert, dsec_src src, int anchor,
                   const char *origin)
{
    dsec_cand *v;
    size_t i;

    if (cert == NULL) {
        return 1;
    }
    for (i = 0; i < c->n; i++) {
        if (X509_cmp(c->v[i].cert, cert) == 0) {
            /* the same certificate from a trusted source makes it one */
            if (anchor && !c->v[i].anchor) {
                c->v[i].anchor = 1;
                c->v[i].src = src;
            }
            return 1;
        }
    }
    if ((v = dsec_grow(c->v, &c->cap, c->n + 1, sizeof(*v))) == NULL) {
        return 0;
    }
    c->v = v;
    if (!X509_up_ref(cert)) {
        return 0;
    }
    c->v[c->n].cert = cert;
    c->v[c->n].src = src;
    c->v[c->n].anchor = anchor;
    snprintf(c->v[c->n].origin, sizeof(c->v[c->n].origin), "%s",
             origin != NULL ? origin : "");
    c->n++;
    return 1;
}

void dsec_cands_clear(dsec_cands *c)
{
    size_t i;

    for (i = 0; i < c->n; i++) {
        X509_free(c->v[i].cert);
    }
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

static int is_self_signed(X509 *cert)
{
    return X509_self_signed(cert, 0) == 1;
}

static int add_set(dsec_cands *out, const dsec_anchors *set,
                   const X509_NAME *name, int roots, int partial)
{
    size_t pos = 0, idx;

    while (dsec_anchors_find_subject(set, name, &pos, &idx)) {
        X509 *cert = dsec_anchors_get0(set, idx);
        /* a root of trust_dirs is an anchor; a non-self-signed
           certificate there is only a candidate on the way to one */
        int anchor = roots && (partial || is_self_signed(cert));

        if (!dsec_cands_add(out, cert,
                            anchor ? DSEC_SRC_ANCHOR : DSEC_SRC_CROSS, anchor,
                            dsec_anchors_source(set, idx))) {
            return 0;
        }
    }
    return 1;
}

static int add_host(dsec_cands *out, const dsec_cands_sources *src,
                    const X509_NAME *name)
{
    STACK_OF(X509) *sk = NULL;
    int i, ok = 1;

    if (src->host_certs != NULL) {
        sk = src->host_certs(src->host_arg, name);
    }
    for (i = 0; ok && i < sk_X509_num(sk); i++) {
        X509 *cert = sk_X509_value(sk, i);

        ok = dsec_cands_add(out, cert, DSEC_SRC_STORE,
                            src->partial_chain || is_self_signed(cert), "");
    }
    sk_X509_pop_free(sk, X509_free);
    return ok;
}

static int add_peer(dsec_cands *out, STACK_OF(X509) * peer,
                    const X509_NAME *name)
{
    int i, ok = 1;

    for (i = 0; ok && i < sk_X509_num(peer); i++) {
        X509 *cert = sk_X509_value(peer, i);

        if (X509_NAME_cmp(X509_get_subject_name(cert), name) == 0) {
            ok = dsec_cands_add(out, cert, DSEC_SRC_PEER, 0, "");
        }
    }
    return ok;
}

int dsec_cands_gather(const dsec_cands_sources *src, const X509_NAME *name,
                      dsec_cands *out)
{
    int partial = src->partial_chain;

    if (!add_set(out, src->roots, name, 1, partial)
        || !add_host(out, src, name)) {
        return 0;
    }
    /* with partial chains every candidate handed over is an anchor */
    if (partial) {
        return 1;
    }
    return add_peer(out, src->peer, name)
           && add_set(out, src->cross, name, 0, 0);
}
