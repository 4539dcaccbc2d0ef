/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The path builder: depth-first search with backtracking from a certificate
 * to a trust anchor. A strict pass skips every candidate that fails a check
 * and checks the revocation of the CA certificates of each complete path; a
 * relaxed pass, only when the strict one found nothing, follows signatures
 * alone so that OpenSSL's own checks can name what is wrong with the best
 * path there is. Every candidate costs one signature check against a shared
 * budget, and the depth is bounded: the search always ends.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/common.h"
#include "domainsec/gate.h"
#include "domainsec/path.h"

#define PATH_MAX_LEN 64 /* hard cap, above any configurable depth */
#define LINE_LEN 1024

const char *dsec_path_result_name(dsec_path_result r)
{
    static const char *const names[] = {
        [DSEC_PATH_FOUND] = "found",
        [DSEC_PATH_DOUBTFUL] = "revocation status unknown",
        [DSEC_PATH_REVOKED_ONLY] = "every path has a revoked CA",
        [DSEC_PATH_FALLBACK] = "no valid path",
        [DSEC_PATH_NONE] = "no path to a trust anchor",
        [DSEC_PATH_BOUND_SIGS] = "max_signature_checks reached",
        [DSEC_PATH_BOUND_DEPTH] = "max_path_depth reached",
    };

    if ((unsigned int)r >= sizeof(names) / sizeof(names[0])) {
        return "error";
    }
    return names[r];
}

void dsec_path_describe(X509 *cert, char *buf, size_t len)
{
    if (len == 0) {
        return;
    }
    buf[0] = '\0';
    if (cert == NULL
        || X509_NAME_oneline(X509_get_subject_name(cert), buf, (int)len)
               == NULL) {
        snprintf(buf, len, "(unknown)");
    }
}

typedef struct {
    const dsec_path_params *p;
    int strict;
    int len; /* entries of path[] in use */
    X509 *path[PATH_MAX_LEN];
    const dsec_cand *how[PATH_MAX_LEN]; /* NULL for the start */
    STACK_OF(X509) * revoked; /* CA certificates found revoked */
    STACK_OF(X509) * doubtful; /* first complete path of unknown status */
    STACK_OF(X509) * revoked_path; /* first complete path with a revoked CA */
    STACK_OF(X509) * found; /* the result */
    int bound_depth, bound_sigs;
    int nomem;
    int branches; /* levels with more than one matching candidate */
} builder;

static const char *src_name(dsec_src s)
{
    switch (s) {
    case DSEC_SRC_ANCHOR:
        return "anchor";
    case DSEC_SRC_STORE:
        return "store";
    case DSEC_SRC_PEER:
        return "peer";
    case DSEC_SRC_CROSS:
    default:
        return "cross";
    }
}

/* "CN=a <- CN=b [cross f.pem] <- ..." for path[0..len-1] plus cand. */
static void describe_path(const builder *b, const dsec_cand *cand, char *buf,
                          size_t len)
{
    size_t used = 0;
    int i;

    buf[0] = '\0';
    for (i = 0; i <= b->len && used + 1 < len; i++) {
        const dsec_cand *c = i < b->len ? b->how[i] : cand;
        X509 *cert = i < b->len ? b->path[i] : (cand ? cand->cert : NULL);
        char subject[256];
        int w;

        if (cert == NULL) {
            break;
        }
        dsec_path_describe(cert, subject, sizeof(subject));
        if (c == NULL) {
            w = snprintf(buf + used, len - used, "%s", subject);
        } else {
            w = snprintf(buf + used, len - used, " <- %s [%s%s%s]", subject,
                         src_name(c->src), c->origin[0] ? " " : "", c->origin);
        }
        if (w < 0 || (size_t)w >= len - used) {
            used = len - 1;
            break;
        }
        used += (size_t)w;
    }
}

static void note(builder *b, const dsec_cand *cand, const char *verdict)
{
    char line[LINE_LEN], chain[LINE_LEN - 128];

    if (b->p->log == NULL) {
        return;
    }
    describe_path(b, cand, chain, sizeof(chain));
    snprintf(line, sizeof(line), "%s%s: %s", b->strict ? "" : "(relaxed) ",
             chain, verdict);
    b->p->log(b->p->arg, line);
}

static int on_path(const builder *b, X509 *cert)
{
    const X509_NAME *subject = X509_get_subject_name(cert);
    EVP_PKEY *key = X509_get0_pubkey(cert);
    int i;

    for (i = 0; i < b->len; i++) {
        if (X509_cmp(b->path[i], cert) == 0) {
            return 1;
        }
        /* the same CA reached again through another certificate */
        if (i > 0 && key != NULL
            && X509_NAME_cmp(X509_get_subject_name(b->path[i]), subject) == 0
            && EVP_PKEY_eq(X509_get0_pubkey(b->path[i]), key) == 1) {
            return 1;
        }
    }
    return 0;
}

static int self_issued(X509 *cert)
{
    return (X509_get_extension_flags(cert) & EXFLAG_SI) != 0;
}

static int has_dns_san(X509 *cert)
{
    GENERAL_NAMES *gens =
        X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int i, found = 0;

    for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        if (sk_GENERAL_NAME_value(gens, i)->type == GEN_DNS) {
            found = 1;
            break;
        }
    }
    GENERAL_NAMES_free(gens);
    return found;
}

/* Name constraints of cand against every certificate below it. */
static const char *check_nc(const builder *b, X509 *cand)
{
    NAME_CONSTRAINTS *nc =
        X509_get_ext_d2i(cand, NID_name_constraints, NULL, NULL);
    const char *why = NULL;
    int i;

    if (nc == NULL) {
        return NULL;
    }
    for (i = 0; i < b->len && why == NULL; i++) {
        X509 *x = b->path[i];
        int rv;

        if (i > 0 && self_issued(x)) {
            continue;
        }
        rv = NAME_CONSTRAINTS_check(x, nc);
        if (rv == X509_V_OK && i == 0 && !has_dns_san(x)) {
            rv = NAME_CONSTRAINTS_check_CN(x, nc);
        }
        if (rv != X509_V_OK) {
            why = "name constraints violated by a certificate below it";
        }
    }
    NAME_CONSTRAINTS_free(nc);
    return why;
}

/*
 * OpenSSL 3.0 has no getter for the verification's purpose, but a CA whose
 * extendedKeyUsage allows none of the leaf's usages cannot serve it.
 */
static int eku_compatible(X509 *ca, X509 *leaf)
{
    uint32_t ca_xku = X509_get_extended_key_usage(ca);
    uint32_t leaf_xku = X509_get_extended_key_usage(leaf);

    /* absent, any, or only usages OpenSSL does not know: no opinion */
    if (ca_xku == UINT32_MAX || leaf_xku == UINT32_MAX || ca_xku == 0
        || leaf_xku == 0 || (ca_xku & XKU_ANYEKU) != 0
        || (leaf_xku & XKU_ANYEKU) != 0) {
        return 1;
    }
    return (ca_xku & leaf_xku) != 0;
}

/* The checks of the strict pass; NULL when cand passes them all. */
static const char *soft_checks(const builder *b, const dsec_cand *cand)
{
    X509 *x = cand->cert;
    const dsec_path_params *p = b->p;
    long pathlen;
    int i, rc, plen = 0;

    if (p->check_time) {
        time_t now = p->now;

        if (dsec_time_cmp(X509_get0_notBefore(x), now) >= 0) {
            return "not yet valid";
        }
        if (dsec_time_cmp(X509_get0_notAfter(x), now) <= 0) {
            return "expired";
        }
    }
    /* as OpenSSL: an intermediate needs basicConstraints CA:TRUE, an
       anchor may also be a v1 root or a CA by keyUsage only */
    rc = X509_check_ca(x);
    if (cand->anchor ? rc == 0 : rc != 1) {
        return "not a CA (basicConstraints)";
    }
    if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) != 0
        && (X509_get_key_usage(x) & KU_KEY_CERT_SIGN) == 0) {
        return "keyUsage lacks keyCertSign";
    }
    pathlen = X509_get_pathlen(x);
    for (i = 1; i < b->len; i++) {
        if (!self_issued(b->path[i])) {
            plen++;
        }
    }
    if (b->len > 1 && pathlen >= 0 && plen > pathlen) {
        return "pathLenConstraint exceeded";
    }
    if (!eku_compatible(x, b->path[0])) {
        return "extendedKeyUsage shares no purpose with the leaf's";
    }
    if (p->auth_level > 0) {
        static const int minbits[] = { 80, 112, 128, 192, 256 };
        int level = p->auth_level > 5 ? 5 : p->auth_level;
        int secbits = -1;
        X509 *child = b->path[b->len - 1];

        if (EVP_PKEY_get_security_bits(X509_get0_pubkey(x))
            < minbits[level - 1]) {
            return "key too weak for the security level";
        }
        if (!X509_get_signature_info(child, NULL, NULL, &secbits, NULL)
            || secbits < minbits[level - 1]) {
            return "signature on the certificate below too weak for the "
                   "security level";
        }
    }
    if (sk_X509_find(b->revoked, x) >= 0) {
        return "revoked by its issuer's CRL";
    }
    return check_nc(b, x);
}

static STACK_OF(X509) * copy_path(const builder *b)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    int i;

    if (sk == NULL) {
        return NULL;
    }
    for (i = 0; i < b->len; i++) {
        if (!X509_add_cert(sk, b->path[i], X509_ADD_FLAG_UP_REF)) {
            sk_X509_pop_free(sk, X509_free);
            return NULL;
        }
    }
    return sk;
}

/*
 * A complete strict path: check its CA certificates' revocation from the
 * top down (each one's path to the anchor is verified by now, so its CDP
 * may be fetched). Returns 1 when the path is good.
 */
static int path_status(builder *b)
{
    const dsec_path_params *p = b->p;
    char why[256], verdict[320];
    int i, unknown = 0;

    /*
     * With no choice anywhere in the search, backtracking cannot help: the
     * revocation of this only path is OpenSSL's check to make (no CRL work
     * twice per verification).
     */
    if (p->status == NULL || b->branches == 0) {
        return 1;
    }
    for (i = b->len - 2; i >= 1; i--) {
        dsec_path_status st;

        why[0] = '\0';
        st = p->status(p->arg, b->path, b->len, i, why, sizeof(why));
        if (st == DSEC_PATH_REVOKED) {
            char subject[256];

            if (!X509_add_cert(b->revoked, b->path[i], X509_ADD_FLAG_UP_REF)) {
                b->nomem = 1;
            }
            if (b->revoked_path == NULL) {
                b->revoked_path = copy_path(b);
            }
            dsec_path_describe(b->path[i], subject, sizeof(subject));
            /* a long subject or reason is cut: this is a log line */
            if (snprintf(verdict, sizeof(verdict),
                         "rejected: %s is revoked%s%s", subject,
                         why[0] ? ": " : "", why)
                < 0) {
                verdict[0] = '\0';
            }
            note(b, NULL, verdict);
            return 0;
        }
        if (st == DSEC_PATH_UNKNOWN) {
            unknown = 1;
        }
    }
    if (unknown) {
        if (b->doubtful == NULL) {
            b->doubtful = copy_path(b);
        }
        snprintf(verdict, sizeof(verdict),
                 "set aside: revocation status unknown%s%s", why[0] ? ": " : "",
                 why);
        note(b, NULL, verdict);
        return 0;
    }
    return 1;
}

/* The candidate issuers of child, from the caller or from the sources. */
static int candidates_of(const builder *b, X509 *child, dsec_cands *out)
{
    const dsec_path_params *p = b->p;

    if (p->candidates != NULL) {
        return p->candidates(p->arg, child, out);
    }
    return p->sources == NULL
           || dsec_cands_gather(p->sources, X509_get_issuer_name(child), out);
}

/*
 * The name, key identifier and loop filter, before any signature check:
 * rules out another CA's certificates and loops, and returns how many
 * candidates are left (more than one: there is a choice).
 */
static int rule_out(const builder *b, X509 *child, dsec_cands *cands)
{
    size_t i;
    int viable = 0;

    for (i = 0; i < cands->n; i++) {
        int rc = X509_check_issued(cands->v[i].cert, child);

        if (on_path(b, cands->v[i].cert)
            || (rc != X509_V_OK && rc != X509_V_ERR_KEYUSAGE_NO_CERTSIGN)) {
            cands->v[i].src = DSEC_SRC_NONE; /* another CA, or a loop */
        } else {
            viable++;
        }
    }
    return viable;
}

/* Extend path[0..len-1]; 1 when a path was completed, -1 to stop. */
static int extend(builder *b)
{
    const dsec_path_params *p = b->p;
    X509 *child = b->path[b->len - 1];
    dsec_cands cands = { 0 };
    size_t i;
    int ret = 0;

    if (b->len > p->max_depth || b->len >= PATH_MAX_LEN) {
        b->bound_depth = 1;
        note(b, NULL, "cut: max_path_depth reached");
        return 0;
    }
    if (!candidates_of(b, child, &cands)) {
        b->nomem = 1;
        dsec_cands_clear(&cands);
        return -1;
    }
    if (rule_out(b, child, &cands) > 1) {
        b->branches++;
    }
    for (i = 0; i < cands.n && ret == 0; i++) {
        const dsec_cand *cand = &cands.v[i];
        const char *why = NULL;

        if (cand->src == DSEC_SRC_NONE) {
            continue;
        }
        if (b->strict && (why = soft_checks(b, cand)) != NULL) {
            char verdict[160];

            snprintf(verdict, sizeof(verdict), "rejected: %s", why);
            note(b, cand, verdict);
            continue;
        }
        if (*p->sigs_used >= p->max_sigs) {
            b->bound_sigs = 1;
            note(b, cand, "stopped: max_signature_checks reached");
            ret = -1;
            break;
        }
        (*p->sigs_used)++;
        if (!dsec_gate_verify_link(child, cand->cert)) {
            note(b, cand, "rejected: signature does not verify");
            continue;
        }
        b->path[b->len] = cand->cert;
        b->how[b->len] = cand;
        b->len++;
        if (cand->anchor) {
            if (!b->strict || path_status(b)) {
                /* copy now: the path points into the candidate lists */
                if ((b->found = copy_path(b)) == NULL) {
                    b->nomem = 1;
                    ret = -1;
                } else {
                    ret = 1;
                }
                break;
            }
        } else {
            ret = extend(b);
            if (ret != 0) {
                break;
            }
        }
        b->len--;
    }
    dsec_cands_clear(&cands);
    return ret;
}

static dsec_path_result run(builder *b, X509 *start, int strict,
                            STACK_OF(X509) * *path)
{
    int rc;

    b->strict = strict;
    b->len = 1;
    b->path[0] = start;
    b->how[0] = NULL;
    rc = extend(b);
    if (b->nomem) {
        return DSEC_PATH_ERROR;
    }
    if (rc == 1) {
        char verdict[64];

        *path = b->found;
        b->found = NULL;
        snprintf(verdict, sizeof(verdict), "%s",
                 strict ? "accepted" : "the best path there is");
        if (b->p->log != NULL) {
            /* describe the result from the copy */
            char line[LINE_LEN];
            size_t used = 0;
            int i;

            line[0] = '\0';
            for (i = 0; i < sk_X509_num(*path) && used + 1 < sizeof(line);
                 i++) {
                char subject[256];
                int w;

                dsec_path_describe(sk_X509_value(*path, i), subject,
                                   sizeof(subject));
                w = snprintf(line + used, sizeof(line) - used, "%s%s",
                             i > 0 ? " <- " : "", subject);
                if (w < 0 || (size_t)w >= sizeof(line) - used) {
                    used = sizeof(line) - 1;
                    break;
                }
                used += (size_t)w;
            }
            if (used + 1 < sizeof(line)) {
                snprintf(line + used, sizeof(line) - used, ": %s", verdict);
            }
            b->p->log(b->p->arg, line);
        }
        return strict ? DSEC_PATH_FOUND : DSEC_PATH_FALLBACK;
    }
    return DSEC_PATH_NONE;
}

dsec_path_result dsec_path_build(const dsec_path_params *p, X509 *start,
                                 STACK_OF(X509) * *path)
{
    builder b;
    dsec_path_result r;

    *path = NULL;
    memset(&b, 0, sizeof(b));
    b.p = p;
    if ((b.revoked = sk_X509_new_null()) == NULL) {
        return DSEC_PATH_ERROR;
    }
    r = run(&b, start, 1, path);
    if (r == DSEC_PATH_NONE) {
        if (b.doubtful != NULL) {
            *path = b.doubtful;
            b.doubtful = NULL;
            r = DSEC_PATH_DOUBTFUL;
        } else if (b.revoked_path != NULL) {
            *path = b.revoked_path;
            b.revoked_path = NULL;
            r = DSEC_PATH_REVOKED_ONLY;
        } else if (b.bound_sigs) {
            r = DSEC_PATH_BOUND_SIGS;
        } else {
            r = run(&b, start, 0, path);
            if (r == DSEC_PATH_NONE && b.bound_sigs) {
                r = DSEC_PATH_BOUND_SIGS;
            } else if (r == DSEC_PATH_NONE && b.bound_depth) {
                r = DSEC_PATH_BOUND_DEPTH;
            }
        }
    }
    sk_X509_pop_free(b.found, X509_free);
    sk_X509_pop_free(b.doubtful, X509_free);
    sk_X509_pop_free(b.revoked_path, X509_free);
    sk_X509_pop_free(b.revoked, X509_free);
    return r;
}
