/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The domainsec: OSSL_STORE loader. "domainsec:roots" (or the bare
 * "domainsec:") serves the trust anchors the provider loaded from trust_dirs
 * at activation, from memory: no file is read again, so a lookup works after
 * the host has chrooted. A subject search (OSSL_STORE_find by name, which is
 * what X509_LOOKUP_store() uses to find an issuer) is a binary search in the
 * anchors' subject index. Each certificate is handed to the core as DER
 * through object_cb, which decodes it in the caller's library context.
 */
#include <limits.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include "provider.h"

static OSSL_FUNC_store_open_fn dsprov_store_open;
static OSSL_FUNC_store_settable_ctx_params_fn dsprov_store_settable_ctx_params;
static OSSL_FUNC_store_set_ctx_params_fn dsprov_store_set_ctx_params;
static OSSL_FUNC_store_load_fn dsprov_store_load;
static OSSL_FUNC_store_eof_fn dsprov_store_eof;
static OSSL_FUNC_store_close_fn dsprov_store_close;

struct dsprov_store_ctx {
    DSPROV_CTX *provctx; /* borrowed */
    X509_NAME *subject; /* owned; NULL: every anchor */
    int expect; /* OSSL_STORE_INFO_* or 0 for anything */
    size_t pos; /* next anchor index to consider */
};

/*
 * The next anchor to serve at or after ctx->pos, without consuming it.
 * Returns 1 and sets *index, or 0 when there is nothing more.
 */
static int dsprov_store_peek(const struct dsprov_store_ctx *ctx, size_t *index)
{
    const dsec_anchors *set = ctx->provctx->anchors;
    size_t pos = ctx->pos;
    int found = 0;

    if (ctx->expect != 0 && ctx->expect != OSSL_STORE_INFO_CERT) {
        goto done;
    }
    if (ctx->subject != NULL) {
        found = dsec_anchors_find_subject(set, ctx->subject, &pos, index);
        goto done;
    }
    if (pos < dsec_anchors_count(set)) {
        *index = pos;
        found = 1;
    }
done:
    return found;
}

static void *dsprov_store_open(void *provctx, const char *uri)
{
    DSPROV_CTX *pctx = provctx;
    struct dsprov_store_ctx *ctx = NULL;
    size_t slen = strlen(DSPROV_STORE_SCHEME);
    const char *rest;

    if (pctx == NULL || uri == NULL) {
        DSPROV_raise(pctx, DSPROV_R_STORE_URI,
                     "no provider context or URI for the domainsec store");
        goto done;
    }
    if (OPENSSL_strncasecmp(uri, DSPROV_STORE_SCHEME, slen) != 0
        || uri[slen] != ':') {
        DSPROV_raise(pctx, DSPROV_R_STORE_URI,
                     "unknown domainsec store URI '%s' (expected "
                     "domainsec:roots)",
                     uri);
        goto done;
    }
    rest = uri + slen + 1;
    if (rest[0] != '\0' && strcmp(rest, "roots") != 0) {
        DSPROV_raise(pctx, DSPROV_R_STORE_URI,
                     "unknown domainsec store URI '%s' (expected "
                     "domainsec:roots)",
                     uri);
        goto done;
    }
    ctx = OPENSSL_zalloc(sizeof(*ctx));
    if (ctx == NULL) {
        DSPROV_raise(pctx, DSPROV_R_NOMEM, "out of memory opening '%s'", uri);
        goto done;
    }
    ctx->provctx = pctx;
    DSPROV_debug(2, "opened %s: %zu anchors", uri,
                 dsec_anchors_count(pctx->anchors));
done:
    return ctx;
}

static const OSSL_PARAM *dsprov_store_settable_ctx_params(void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_octet_string(OSSL_STORE_PARAM_SUBJECT, NULL, 0),
        OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL), OSSL_PARAM_END
    };

    (void)provctx;
    return settable;
}

static int dsprov_store_set_ctx_params(void *loaderctx,
                                       const OSSL_PARAM params[])
{
    struct dsprov_store_ctx *ctx = loaderctx;
    const OSSL_PARAM *p;
    const void *der = NULL;
    const unsigned char *q;
    size_t der_len = 0;
    X509_NAME *name = NULL;
    int expect = 0;
    int ret = DSPROV_ERR;

    if (ctx == NULL) {
        goto done;
    }
    if (params == NULL) {
        ret = DSPROV_OK;
        goto done;
    }
    /* fail closed: a search we cannot apply must not return everything */
    if (OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_ISSUER) != NULL
        || OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_SERIAL) != NULL
        || OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_FINGERPRINT) != NULL
        || OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_ALIAS) != NULL) {
        DSPROV_raise(ctx->provctx, DSPROV_R_STORE_PARAM,
                     "the domainsec store only searches by subject name");
        goto done;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
    if (p != NULL) {
        if (!OSSL_PARAM_get_int(p, &expect) || expect < 0) {
            DSPROV_raise(ctx->provctx, DSPROV_R_STORE_PARAM,
                         "bad value of the store parameter '%s'",
                         OSSL_STORE_PARAM_EXPECT);
            goto done;
        }
    }
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_SUBJECT);
    if (p != NULL) {
        if (!OSSL_PARAM_get_octet_string_ptr(p, &der, &der_len) || der_len == 0
            || der_len > LONG_MAX) {
            DSPROV_raise(ctx->provctx, DSPROV_R_STORE_PARAM,
                         "bad value of the store parameter '%s'",
                         OSSL_STORE_PARAM_SUBJECT);
            goto done;
        }
        q = der;
        name = d2i_X509_NAME(NULL, &q, (long)der_len);
        if (name == NULL || q != (const unsigned char *)der + der_len) {
            DSPROV_raise(ctx->provctx, DSPROV_R_STORE_PARAM,
                         "the store parameter '%s' is not a DER name",
                         OSSL_STORE_PARAM_SUBJECT);
            goto done;
        }
    }
    /* all parameters are valid: apply them */
    if (OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT) != NULL) {
        ctx->expect = expect;
    }
    if (name != NULL) {
        X509_NAME_free(ctx->subject);
        ctx->subject = name;
        name = NULL;
        ctx->pos = 0;
    }
    ret = DSPROV_OK;
done:
    X509_NAME_free(name);
    return ret;
}

static int dsprov_store_load(void *loaderctx, OSSL_CALLBACK *object_cb,
                             void *object_cbarg,
                             OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    struct dsprov_store_ctx *ctx = loaderctx;
    OSSL_PARAM params[4];
    int object_type = OSSL_OBJECT_CERT;
    unsigned char *der = NULL;
    int der_len;
    size_t index = 0;
    X509 *cert;
    int ret = DSPROV_ERR;

    (void)pw_cb;
    (void)pw_cbarg;
    if (ctx == NULL || object_cb == NULL) {
        goto done;
    }
    if (!dsprov_store_peek(ctx, &index)) {
        /* nothing (more) to serve: eof() now says so */
        ret = DSPROV_OK;
        goto done;
    }
    ctx->pos = index + 1;
    cert = dsec_anchors_get0(ctx->provctx->anchors, index);
    /* _AUX keeps the trust settings of a TRUSTED CERTIFICATE */
    der_len = i2d_X509_AUX(cert, &der);
    if (der_len <= 0) {
        DSPROV_raise(ctx->provctx, DSPROV_R_NOMEM,
                     "cannot encode the trust anchor from %s",
                     dsec_anchors_source(ctx->provctx->anchors, index));
        goto done;
    }
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                                 (char *)"CERTIFICATE", 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der,
                                                  (size_t)der_len);
    params[3] = OSSL_PARAM_construct_end();
    DSPROV_debug(3, "serving the trust anchor from %s",
                 dsec_anchors_source(ctx->provctx->anchors, index));
    ret = object_cb(params, object_cbarg) ? DSPROV_OK : DSPROV_ERR;
done:
    OPENSSL_free(der);
    return ret;
}

static int dsprov_store_eof(void *loaderctx)
{
    struct dsprov_store_ctx *ctx = loaderctx;
    size_t index = 0;

    if (ctx == NULL) {
        return 1;
    }
    return !dsprov_store_peek(ctx, &index);
}

static int dsprov_store_close(void *loaderctx)
{
    struct dsprov_store_ctx *ctx = loaderctx;

    if (ctx != NULL) {
        X509_NAME_free(ctx->subject);
        OPENSSL_free(ctx);
    }
    return DSPROV_OK;
}

const OSSL_DISPATCH dsprov_store_functions[] = {
    { OSSL_FUNC_STORE_OPEN, (void (*)(void))dsprov_store_open },
    { OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS,
      (void (*)(void))dsprov_store_settable_ctx_params },
    { OSSL_FUNC_STORE_SET_CTX_PARAMS,
      (void (*)(void))dsprov_store_set_ctx_params },
    { OSSL_FUNC_STORE_LOAD, (void (*)(void))dsprov_store_load },
    { OSSL_FUNC_STORE_EOF, (void (*)(void))dsprov_store_eof },
    { OSSL_FUNC_STORE_CLOSE, (void (*)(void))dsprov_store_close },
    { 0, NULL }
};
