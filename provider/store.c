/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The domainsec: OSSL_STORE loader. "domainsec:roots" (or the bare
 * "domainsec:") serves the certificates of trust_dirs, "domainsec:cross"
 * those of cross_dirs (served as certificates, never as anchors: only what
 * the host adds as trusted is trusted) and "domainsec:crls" the CRLs this
 * process holds in its cache. Each open takes the current snapshot of the
 * directory set (checked for changes at most once a second), so a lookup
 * reads no file and works after the host has chrooted, and an iteration
 * sees one consistent set. Searches: by subject name (what
 * X509_LOOKUP_store() asks to find an issuer; for CRLs, the CRL issuer), by
 * issuer and serial, and by certificate fingerprint (SHA-1 or SHA-256 of
 * the DER, like `openssl x509 -fingerprint`), each a binary search in the
 * snapshot's indices. OSSL_STORE_PARAM_EXPECT is honoured. Every object is
 * handed to the core as DER with its data type and, as description, the
 * file it came from.
 */
#include <limits.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include "ctx.h"
#include "debug.h"
#include "err.h"
#include "provider.h"
#include "domainsec/cache.h"
#include "domainsec/names.h"

static OSSL_FUNC_store_open_fn dsprov_store_open;
static OSSL_FUNC_store_settable_ctx_params_fn dsprov_store_settable_ctx_params;
static OSSL_FUNC_store_set_ctx_params_fn dsprov_store_set_ctx_params;
static OSSL_FUNC_store_load_fn dsprov_store_load;
static OSSL_FUNC_store_eof_fn dsprov_store_eof;
static OSSL_FUNC_store_close_fn dsprov_store_close;

typedef enum {
    DSPROV_STORE_ROOTS_KIND = 0,
    DSPROV_STORE_CROSS_KIND,
    DSPROV_STORE_CRLS_KIND
} dsprov_store_kind;

typedef enum {
    DSPROV_SEARCH_ALL = 0,
    DSPROV_SEARCH_SUBJECT,
    DSPROV_SEARCH_ISSUER_SERIAL,
    DSPROV_SEARCH_FINGERPRINT
} dsprov_store_search;

struct dsprov_store_ctx {
    DSPROV_CTX *provctx; /* borrowed */
    dsprov_store_kind kind;
    dsec_anchors *set; /* owned reference: roots and cross */
    STACK_OF(X509_CRL) * crls; /* owned: crls */
    dsprov_store_search search;
    X509_NAME *name; /* owned: subject, or issuer with serial */
    ASN1_INTEGER *serial; /* owned */
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t mdlen;
    int md_nid;
    int expect; /* OSSL_STORE_INFO_* or 0 for anything */
    size_t pos; /* next index to consider */
};

/* The object type this store serves, as OSSL_STORE_INFO_*. */
static int dsprov_store_info_type(const struct dsprov_store_ctx *ctx)
{
    return ctx->kind == DSPROV_STORE_CRLS_KIND ? OSSL_STORE_INFO_CRL
                                               : OSSL_STORE_INFO_CERT;
}

static int dsprov_store_peek_crl(const struct dsprov_store_ctx *ctx,
                                 size_t *index)
{
    size_t i;
    size_t n = (size_t)sk_X509_CRL_num(ctx->crls);
    X509_CRL *crl;

    for (i = ctx->pos; i < n; i++) {
        crl = sk_X509_CRL_value(ctx->crls, (int)i);
        if (ctx->search == DSPROV_SEARCH_ALL
            || X509_NAME_cmp(X509_CRL_get_issuer(crl), ctx->name) == 0) {
            *index = i;
            return 1;
        }
    }
    return 0;
}

/*
 * The next object to serve at or after ctx->pos, without consuming it.
 * Returns 1 and sets *index, or 0 when there is nothing more.
 */
static int dsprov_store_peek(const struct dsprov_store_ctx *ctx, size_t *index)
{
    size_t pos = ctx->pos;
    int found = 0;

    if (ctx->expect != 0 && ctx->expect != dsprov_store_info_type(ctx)) {
        goto done;
    }
    if (ctx->kind == DSPROV_STORE_CRLS_KIND) {
        found = dsprov_store_peek_crl(ctx, index);
        goto done;
    }
    switch (ctx->search) {
    case DSPROV_SEARCH_SUBJECT:
        found = dsec_anchors_find_subject(ctx->set, ctx->name, &pos, index);
        break;
    case DSPROV_SEARCH_ISSUER_SERIAL:
        found = dsec_anchors_find_issuer_serial(ctx->set, ctx->name,
                                                ctx->serial, &pos, index);
        break;
    case DSPROV_SEARCH_FINGERPRINT:
        found = dsec_anchors_find_fingerprint(ctx->set, ctx->md_nid, ctx->md,
                                              ctx->mdlen, &pos, index);
        break;
    case DSPROV_SEARCH_ALL:
        if (pos < dsec_anchors_count(ctx->set)) {
            *index = pos;
            found = 1;
        }
        break;
    }
done:
    return found;
}

/* The URIs, after the scheme and its colon; a bare "domainsec:" is roots. */
static const struct {
    const char *uri;
    dsprov_store_kind kind;
} dsprov_store_uris[] = {
    { DSEC_STORE_ROOTS, DSPROV_STORE_ROOTS_KIND },
    { DSEC_STORE_CROSS, DSPROV_STORE_CROSS_KIND },
    { DSEC_STORE_CRLS, DSPROV_STORE_CRLS_KIND },
};

/* The kind a URI names; 0 when it names none. */
static int dsprov_store_parse_uri(const char *uri, dsprov_store_kind *kind)
{
    size_t slen = strlen(DSEC_STORE_SCHEME), i;
    const char *rest;

    if (OPENSSL_strncasecmp(uri, DSEC_STORE_SCHEME, slen) != 0
        || uri[slen] != ':') {
        return 0;
    }
    rest = uri + slen + 1;
    if (rest[0] == '\0') {
        *kind = DSPROV_STORE_ROOTS_KIND;
        return 1;
    }
    for (i = 0; i < sizeof(dsprov_store_uris) / sizeof(dsprov_store_uris[0]);
         i++) {
        if (strcmp(rest, dsprov_store_uris[i].uri + slen + 1) == 0) {
            *kind = dsprov_store_uris[i].kind;
            return 1;
        }
    }
    return 0;
}

static void *dsprov_store_open(void *provctx, const char *uri)
{
    static const char expected[] = "expected " DSEC_STORE_ROOTS
                                   ", " DSEC_STORE_CROSS " or " DSEC_STORE_CRLS;
    DSPROV_CTX *pctx = provctx;
    struct dsprov_store_ctx *ctx = NULL;
    dsprov_store_kind kind;

    if (pctx == NULL || uri == NULL) {
        DSPROV_raise(pctx != NULL ? pctx->handle : NULL, DSPROV_R_STORE_URI,
                     "no provider context or URI for the domainsec store");
        goto done;
    }
    if (!dsprov_store_parse_uri(uri, &kind)) {
        DSPROV_raise(pctx->handle, DSPROV_R_STORE_URI,
                     "unknown domainsec store URI '%s' (%s)", uri, expected);
        goto done;
    }
    ctx = OPENSSL_zalloc(sizeof(*ctx));
    if (ctx == NULL) {
        DSPROV_raise(pctx->handle, DSPROV_R_NOMEM, "out of memory opening '%s'",
                     uri);
        goto done;
    }
    ctx->provctx = pctx;
    ctx->kind = kind;
    switch (kind) {
    case DSPROV_STORE_ROOTS_KIND:
        ctx->set = dsprov_ctx_get1_roots(pctx);
        break;
    case DSPROV_STORE_CROSS_KIND:
        ctx->set = dsprov_ctx_get1_cross(pctx);
        break;
    case DSPROV_STORE_CRLS_KIND:
        ctx->crls = dsec_cache_list(dsec_engine_cache(pctx->eng));
        break;
    }
    if (kind == DSPROV_STORE_CRLS_KIND ? ctx->crls == NULL : ctx->set == NULL) {
        DSPROV_raise(pctx->handle, DSPROV_R_NOMEM, "cannot open '%s'", uri);
        OPENSSL_free(ctx);
        ctx = NULL;
        goto done;
    }
    DSPROV_debug(2, "opened %s: %zu objects", uri,
                 kind == DSPROV_STORE_CRLS_KIND
                     ? (size_t)sk_X509_CRL_num(ctx->crls)
                     : dsec_anchors_count(ctx->set));
done:
    return ctx;
}

static const OSSL_PARAM *dsprov_store_settable_ctx_params(void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_octet_string(OSSL_STORE_PARAM_SUBJECT, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_STORE_PARAM_ISSUER, NULL, 0),
        OSSL_PARAM_BN(OSSL_STORE_PARAM_SERIAL, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_STORE_PARAM_FINGERPRINT, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_STORE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
        OSSL_PARAM_END
    };

    (void)provctx;
    return settable;
}

/* A DER X509_NAME from an octet-string parameter, or NULL (raised). */
static X509_NAME *dsprov_store_param_name(struct dsprov_store_ctx *ctx,
                                          const OSSL_PARAM *p)
{
    const void *der = NULL;
    const unsigned char *q;
    size_t der_len = 0;
    X509_NAME *name = NULL;

    if (!OSSL_PARAM_get_octet_string_ptr(p, &der, &der_len) || der_len == 0
        || der_len > LONG_MAX) {
        DSPROV_raise(ctx->provctx->handle, DSPROV_R_STORE_PARAM,
                     "bad value of the store parameter '%s'", p->key);
        goto done;
    }
    q = der;
    name = d2i_X509_NAME(NULL, &q, (long)der_len);
    if (name == NULL || q != (const unsigned char *)der + der_len) {
        DSPROV_raise(ctx->provctx->handle, DSPROV_R_STORE_PARAM,
                     "the store parameter '%s' is not a DER name", p->key);
        X509_NAME_free(name);
        name = NULL;
    }
done:
    return name;
}

/* One search criterion, parsed but not yet applied. */
typedef struct {
    dsprov_store_search search;
    X509_NAME *name; /* owned: subject, or issuer with serial */
    ASN1_INTEGER *serial; /* owned */
    const void *md; /* borrowed from the parameters */
    size_t mdlen;
    int md_nid;
} dsprov_store_query;

static void dsprov_store_query_clear(dsprov_store_query *q)
{
    X509_NAME_free(q->name);
    ASN1_INTEGER_free(q->serial);
    q->name = NULL;
    q->serial = NULL;
}

static int dsprov_store_parse_issuer_serial(struct dsprov_store_ctx *ctx,
                                            const OSSL_PARAM *p_issuer,
                                            const OSSL_PARAM *p_serial,
                                            dsprov_store_query *q)
{
    const OSSL_CORE_HANDLE *handle = ctx->provctx->handle;
    BIGNUM *bn = NULL;
    int ret = DSPROV_ERR;

    if (p_issuer == NULL || p_serial == NULL) {
        DSPROV_raise(handle, DSPROV_R_STORE_PARAM,
                     "a search by issuer needs the serial number too, "
                     "and the reverse");
        goto done;
    }
    q->name = dsprov_store_param_name(ctx, p_issuer);
    if (q->name == NULL) {
        goto done;
    }
    if (!OSSL_PARAM_get_BN(p_serial, &bn)
        || (q->serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
        DSPROV_raise(handle, DSPROV_R_STORE_PARAM,
                     "bad value of the store parameter '%s'",
                     OSSL_STORE_PARAM_SERIAL);
        goto done;
    }
    q->search = DSPROV_SEARCH_ISSUER_SERIAL;
    ret = DSPROV_OK;
done:
    BN_free(bn);
    return ret;
}

static int dsprov_store_parse_fingerprint(struct dsprov_store_ctx *ctx,
                                          const OSSL_PARAM *p_fp,
                                          const OSSL_PARAM *p_digest,
                                          dsprov_store_query *q)
{
    const OSSL_CORE_HANDLE *handle = ctx->provctx->handle;
    const char *digest = NULL;

    if (!OSSL_PARAM_get_octet_string_ptr(p_fp, &q->md, &q->mdlen)
        || q->mdlen == 0 || q->mdlen > EVP_MAX_MD_SIZE) {
        DSPROV_raise(handle, DSPROV_R_STORE_PARAM,
                     "bad value of the store parameter '%s'",
                     OSSL_STORE_PARAM_FINGERPRINT);
        return DSPROV_ERR;
    }
    if (p_digest != NULL
        && !OSSL_PARAM_get_utf8_string_ptr(p_digest, &digest)) {
        DSPROV_raise(handle, DSPROV_R_STORE_PARAM,
                     "bad value of the store parameter '%s'",
                     OSSL_STORE_PARAM_DIGEST);
        return DSPROV_ERR;
    }
    q->md_nid = dsec_anchors_fingerprint_nid(digest, q->mdlen);
    if (q->md_nid == NID_undef) {
        DSPROV_raise(handle, DSPROV_R_STORE_PARAM,
                     "unsupported fingerprint: digest '%s', %zu bytes "
                     "(the domainsec store has SHA-1 and SHA-256 "
                     "certificate fingerprints)",
                     digest != NULL ? digest : "(none)", q->mdlen);
        return DSPROV_ERR;
    }
    q->search = DSPROV_SEARCH_FINGERPRINT;
    return DSPROV_OK;
}

/* The search criterion of params, at most one (none: q stays ALL). */
static int dsprov_store_parse_query(struct dsprov_store_ctx *ctx,
                                    const OSSL_PARAM params[],
                                    dsprov_store_query *q)
{
    const OSSL_PARAM *p_subject, *p_issuer, *p_serial, *p_fp, *p_digest;

    p_subject = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_SUBJECT);
    p_issuer = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_ISSUER);
    p_serial = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_SERIAL);
    p_fp = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_FINGERPRINT);
    p_digest = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_DIGEST);
    if ((p_subject != NULL) + (p_issuer != NULL || p_serial != NULL)
            + (p_fp != NULL)
        > 1) {
        DSPROV_raise(ctx->provctx->handle, DSPROV_R_STORE_PARAM,
                     "the domainsec store takes one search criterion at a "
                     "time");
        return DSPROV_ERR;
    }
    if (p_subject != NULL) {
        q->name = dsprov_store_param_name(ctx, p_subject);
        if (q->name == NULL) {
            return DSPROV_ERR;
        }
        q->search = DSPROV_SEARCH_SUBJECT;
    } else if (p_issuer != NULL || p_serial != NULL) {
        return dsprov_store_parse_issuer_serial(ctx, p_issuer, p_serial, q);
    } else if (p_fp != NULL) {
        return dsprov_store_parse_fingerprint(ctx, p_fp, p_digest, q);
    }
    return DSPROV_OK;
}

/* Make q (a search) the store's, restarting the iteration. */
static void dsprov_store_apply(struct dsprov_store_ctx *ctx,
                               dsprov_store_query *q)
{
    X509_NAME_free(ctx->name);
    ASN1_INTEGER_free(ctx->serial);
    ctx->name = q->name;
    ctx->serial = q->serial;
    q->name = NULL;
    q->serial = NULL;
    if (q->search == DSPROV_SEARCH_FINGERPRINT) {
        memcpy(ctx->md, q->md, q->mdlen);
        ctx->mdlen = q->mdlen;
        ctx->md_nid = q->md_nid;
    }
    ctx->search = q->search;
    ctx->pos = 0;
}

static int dsprov_store_set_ctx_params(void *loaderctx,
                                       const OSSL_PARAM params[])
{
    struct dsprov_store_ctx *ctx = loaderctx;
    const OSSL_PARAM *p;
    dsprov_store_query q;
    int expect = 0;
    int ret = DSPROV_ERR;

    memset(&q, 0, sizeof(q));
    q.search = DSPROV_SEARCH_ALL;
    q.md_nid = NID_undef;
    if (ctx == NULL) {
        goto done;
    }
    if (params == NULL) {
        ret = DSPROV_OK;
        goto done;
    }
    /* fail closed: a search we cannot apply must not return everything */
    if (OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_ALIAS) != NULL) {
        DSPROV_raise(ctx->provctx->handle, DSPROV_R_STORE_PARAM,
                     "the domainsec store has no aliases: search by subject, "
                     "issuer and serial, or fingerprint");
        goto done;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
    if (p != NULL) {
        if (!OSSL_PARAM_get_int(p, &expect) || expect < 0) {
            DSPROV_raise(ctx->provctx->handle, DSPROV_R_STORE_PARAM,
                         "bad value of the store parameter '%s'",
                         OSSL_STORE_PARAM_EXPECT);
            goto done;
        }
    }
    if (!dsprov_store_parse_query(ctx, params, &q)) {
        goto done;
    }
    if (ctx->kind == DSPROV_STORE_CRLS_KIND && q.search != DSPROV_SEARCH_ALL
        && q.search != DSPROV_SEARCH_SUBJECT) {
        DSPROV_raise(ctx->provctx->handle, DSPROV_R_STORE_PARAM,
                     DSEC_STORE_CRLS " is searched by issuer name only");
        goto done;
    }
    /* all parameters are valid: apply them */
    if (p != NULL) {
        ctx->expect = expect;
    }
    if (q.search != DSPROV_SEARCH_ALL) {
        dsprov_store_apply(ctx, &q);
    }
    ret = DSPROV_OK;
done:
    dsprov_store_query_clear(&q);
    return ret;
}

static int dsprov_store_load(void *loaderctx, OSSL_CALLBACK *object_cb,
                             void *object_cbarg,
                             OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    struct dsprov_store_ctx *ctx = loaderctx;
    OSSL_PARAM params[5];
    int object_type;
    unsigned char *der = NULL;
    int der_len;
    size_t index = 0;
    const char *desc;
    X509_CRL *crl;
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
    if (ctx->kind == DSPROV_STORE_CRLS_KIND) {
        crl = sk_X509_CRL_value(ctx->crls, (int)index);
        object_type = OSSL_OBJECT_CRL;
        desc = "domainsec CRL cache";
        der_len = i2d_X509_CRL(crl, &der);
    } else {
        object_type = OSSL_OBJECT_CERT;
        desc = dsec_anchors_source(ctx->set, index);
        /* _AUX keeps the trust settings of a TRUSTED CERTIFICATE */
        der_len = i2d_X509_AUX(dsec_anchors_get0(ctx->set, index), &der);
    }
    if (der_len <= 0) {
        DSPROV_raise(ctx->provctx->handle, DSPROV_R_NOMEM,
                     "cannot encode the object "
                     "from %s",
                     desc);
        goto done;
    }
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type);
    params[1] = OSSL_PARAM_construct_utf8_string(
        OSSL_OBJECT_PARAM_DATA_TYPE,
        (char *)(object_type == OSSL_OBJECT_CRL ? "CRL" : "CERTIFICATE"), 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der,
                                                  (size_t)der_len);
    params[3] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DESC,
                                                 (char *)desc, 0);
    params[4] = OSSL_PARAM_construct_end();
    DSPROV_debug(3, "serving an object from %s", desc);
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
        dsec_anchors_free(ctx->set);
        sk_X509_CRL_pop_free(ctx->crls, X509_CRL_free);
        X509_NAME_free(ctx->name);
        ASN1_INTEGER_free(ctx->serial);
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
