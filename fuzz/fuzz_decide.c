/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the revocation decision (dsec_decide, dsec_decide_check,
 * dsec_decide_check_delta) on hostile certificates and CRLs. The input is
 * 7 option bytes, then [2-byte big-endian length][DER] blobs: the
 * certificate, its issuer (empty or unparsable: a fixed valid one, so the
 * CRL side is reached with any certificate), then up to 4 CRLs.
 *   byte 0: bits 0-1 delta mode (3: require), bits 2-3 signer (0 the
 *           direct signer, 1 a list of validated signers, 2 a callback
 *           accepting the issuer unchecked, 3 one answering OK without a
 *           signer), bit 4 every CRL's key marked as already verified with
 *           the issuer's key, bit 5 the fixed certificate is a CA, bit 6
 *           the link's DPs decoded once by the caller (dsec_decide_dps)
 *   byte 1: the verification time, hours from a fixed instant (signed)
 *   byte 2: stale_grace in minutes
 *   bytes 3-6: the DP index each CRL came from, (b % 5) - 1
 * Must never crash, leak, or accept a CRL whose signature does not verify
 * when the signer verifies signatures. FUZZ_DECIDE_SEEDS=<dir> writes a
 * seed corpus there (valid CRLs of the fixed issuer) and exits;
 * FUZZ_DECIDE_VERBOSE=1 prints each decision (to reproduce a finding).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/decide.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1767225600) /* fixed: reproducible runs */
#define NOPT 7
#define MAX_CRLS 4
#define SUBJECT_SERIAL 0x5ec0

/* Throwaway test keys, fixed so that the seed corpus' CRLs verify. */
static const char ca_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguWm/EAokINa4GnAX\n"
    "A4hjQOXe4kAkolEN1/voOOV7UDShRANCAAQGUrynk62ZY833nh1kRU30LLncew2G\n"
    "Zc9DSZSBRI7RfMNtYQpH5Uy9HMCyH03GmYMEEKNnkGno4z7l1tgKJ7C7\n"
    "-----END PRIVATE KEY-----\n";
static const char ind_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg3j3vRfMPcnXic0sH\n"
    "Vq3FansibDNyz6PWZm7pfkh5qEWhRANCAAR38K0vJB+91DHddsU1NllYuR2R13fn\n"
    "ekcPOc+v5hAG6h2EA8oEIY3XO1CPyNItWI37af3F2z9yLqLRbfdSBXB2\n"
    "-----END PRIVATE KEY-----\n";

static EVP_PKEY *ca_key, *ind_key;
static X509 *ca; /* CN=Fuzz Decide CA, self-signed */
static X509 *ind; /* CN=Fuzz CRL Issuer, issued by ca, cRLSign */
static X509 *leaf, *sub_ca; /* issued by ca, three DPs, freshestCRL */
static int verbose;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_decide: %s\n", what);
    abort();
}

static EVP_PKEY *key_of(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key =
        bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    if (key == NULL) {
        fail("test key");
    }
    return key;
}

static X509_NAME *name_of(const char *cn)
{
    X509_NAME *n = X509_NAME_new();

    if (n == NULL
        || !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                       (const unsigned char *)cn, -1, -1, 0)) {
        fail("name");
    }
    return n;
}

static GENERAL_NAMES *dirname_of(const char *cn)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();

    if (gens == NULL || gn == NULL) {
        fail("general name");
    }
    GENERAL_NAME_set0_value(gn, GEN_DIRNAME, name_of(cn));
    if (!sk_GENERAL_NAME_push(gens, gn)) {
        fail("general name");
    }
    return gens;
}

static GENERAL_NAMES *uri_of(const char *uri)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    if (gens == NULL || gn == NULL || s == NULL
        || !ASN1_STRING_set(s, uri, -1)) {
        fail("uri");
    }
    GENERAL_NAME_set0_value(gn, GEN_URI, s);
    if (!sk_GENERAL_NAME_push(gens, gn)) {
        fail("uri");
    }
    return gens;
}

/* A DistributionPointName: a URI, or (rel) a nameRelativeToCRLIssuer. */
static DIST_POINT_NAME *dpname_of(const char *uri, const char *rel)
{
    DIST_POINT_NAME *dpn = DIST_POINT_NAME_new();

    if (dpn == NULL) {
        fail("dp name");
    }
    if (rel != NULL) {
        X509_NAME_ENTRY *ne = X509_NAME_ENTRY_create_by_txt(
            NULL, "CN", MBSTRING_ASC, (const unsigned char *)rel, -1);

        dpn->type = 1;
        dpn->name.relativename = sk_X509_NAME_ENTRY_new_null();
        if (ne == NULL || dpn->name.relativename == NULL
            || !sk_X509_NAME_ENTRY_push(dpn->name.relativename, ne)) {
            fail("dp name");
        }
    } else {
        dpn->type = 0;
        dpn->name.fullname = uri_of(uri);
    }
    return dpn;
}

static ASN1_BIT_STRING *reasons_of(unsigned int bits)
{
    ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
    int i;

    for (i = 1; bs != NULL && i <= 8; i++) {
        if ((bits & (1u << i)) != 0 && !ASN1_BIT_STRING_set_bit(bs, i, 1)) {
            fail("reasons");
        }
    }
    if (bs == NULL) {
        fail("reasons");
    }
    return bs;
}

static ASN1_OCTET_STRING *skid_of(X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ASN1_OCTET_STRING *oct = ASN1_OCTET_STRING_new();

    if (oct == NULL || !X509_pubkey_digest(x, EVP_sha1(), md, &len)
        || !ASN1_OCTET_STRING_set(oct, md, (int)len)) {
        fail("skid");
    }
    return oct;
}

static AUTHORITY_KEYID *akid_of(const ASN1_OCTET_STRING *kid)
{
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();

    if (akid == NULL || kid == NULL
        || (akid->keyid = ASN1_OCTET_STRING_dup(kid)) == NULL) {
        fail("akid");
    }
    return akid;
}

/* kind 0: the CA, 1: the CRL issuer, 2: the leaf, 3: a sub-CA. */
static X509 *make_cert(int kind)
{
    X509 *x = X509_new();
    X509_NAME *subj = name_of(kind == 0   ? "Fuzz Decide CA"
                              : kind == 1 ? "Fuzz CRL Issuer"
                                          : "Fuzz Subject");
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
    ASN1_OCTET_STRING *skid;
    AUTHORITY_KEYID *akid;
    EVP_PKEY *key = kind == 0 ? ca_key : ind_key;

    if (x == NULL || bc == NULL || ku == NULL
        || !X509_set_version(x, X509_VERSION_3)
        || !ASN1_INTEGER_set(X509_get_serialNumber(x),
                             kind >= 2 ? SUBJECT_SERIAL : kind + 1)
        || !X509_set_subject_name(x, subj)
        || !X509_set_issuer_name(x,
                                 kind == 0 ? subj : X509_get_subject_name(ca))
        || ASN1_TIME_set(X509_getm_notBefore(x), NOW - 86400L * 365) == NULL
        || ASN1_TIME_set(X509_getm_notAfter(x), NOW + 86400L * 365) == NULL
        || !X509_set_pubkey(x, key)) {
        fail("certificate");
    }
    skid = skid_of(x);
    akid = akid_of(kind == 0 ? skid : X509_get0_subject_key_id(ca));
    bc->ca = kind == 0 || kind == 3 ? 0xFF : 0;
    /* bit 0 digitalSignature, 5 keyCertSign, 6 cRLSign */
    if (!ASN1_BIT_STRING_set_bit(ku, kind == 2 ? 0 : 6, 1)
        || (kind != 1 && kind != 2 && !ASN1_BIT_STRING_set_bit(ku, 5, 1))
        || X509_add1_ext_i2d(x, NID_subject_key_identifier, skid, 0, 0) != 1
        || X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0) != 1
        || X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, 0) != 1
        || X509_add1_ext_i2d(x, NID_key_usage, ku, 1, 0) != 1) {
        fail("certificate extensions");
    }
    if (kind >= 2) {
        CRL_DIST_POINTS *dps = CRL_DIST_POINTS_new();
        CRL_DIST_POINTS *fresh = CRL_DIST_POINTS_new();
        DIST_POINT *dp0 = DIST_POINT_new(), *dp1 = DIST_POINT_new();
        DIST_POINT *dp2 = DIST_POINT_new(), *fdp = DIST_POINT_new();

        if (dps == NULL || fresh == NULL || dp0 == NULL || dp1 == NULL
            || dp2 == NULL || fdp == NULL) {
            fail("distribution points");
        }
        dp0->distpoint = dpname_of("http://fuzz.example/0.crl", NULL);
        dp1->distpoint = dpname_of(NULL, "part1");
        dp1->reasons = reasons_of(0x06); /* keyCompromise, cACompromise */
        dp2->CRLissuer = dirname_of("Fuzz CRL Issuer");
        fdp->distpoint = dpname_of("http://fuzz.example/delta.crl", NULL);
        if (!sk_DIST_POINT_push(dps, dp0) || !sk_DIST_POINT_push(dps, dp1)
            || !sk_DIST_POINT_push(dps, dp2) || !sk_DIST_POINT_push(fresh, fdp)
            || X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0, 0) != 1
            || X509_add1_ext_i2d(x, NID_freshest_crl, fresh, 0, 0) != 1) {
            fail("distribution points");
        }
        CRL_DIST_POINTS_free(dps);
        CRL_DIST_POINTS_free(fresh);
    }
    if (X509_sign(x, ca_key, EVP_sha256()) <= 0) {
        fail("certificate signature");
    }
    X509_NAME_free(subj);
    BASIC_CONSTRAINTS_free(bc);
    ASN1_BIT_STRING_free(ku);
    ASN1_OCTET_STRING_free(skid);
    AUTHORITY_KEYID_free(akid);
    return x;
}

static void setup(void)
{
    if (ca != NULL) {
        return;
    }
    ca_key = key_of(ca_key_pem);
    ind_key = key_of(ind_key_pem);
    ca = make_cert(0);
    ind = make_cert(1);
    leaf = make_cert(2);
    sub_ca = make_cert(3);
}

/* ---- signers ---- */

typedef struct {
    dsec_link link;
    int mode; /* 0 direct, 1 list, 2 accept, 3 OK without a signer */
} fuzz_link;

static dsec_rv signer_cb(void *arg, const dsec_crl_in *c, X509 **signer,
                         DSEC_ERR *err)
{
    fuzz_link *f = arg;
    X509 *list[2];
    int i;

    switch (f->mode) {
    case 0:
        return dsec_decide_direct_signer(&f->link, c, signer, err);
    case 1:
        list[0] = f->link.issuer;
        list[1] = ind;
        for (i = 0; i < 2; i++) {
            if (dsec_decide_signed_by(list[i], c, err)) {
                *signer = list[i];
                return DSEC_OK;
            }
        }
        return err != NULL && err->rv != DSEC_OK
                   ? err->rv
                   : dsec_err_set(err, DSEC_ERR_CRL_SIGNER, 0, "none");
    case 2:
        *signer = f->link.issuer;
        return DSEC_OK;
    default:
        return DSEC_OK; /* a broken host: OK, but no signer */
    }
}

/* A signer that verifies signatures accepted c: it must verify. */
static void must_verify(const fuzz_link *f, const dsec_crl_in *c, X509 *signer)
{
    EVP_PKEY *key = signer != NULL ? X509_get0_pubkey(signer) : NULL;
    int ok;

    if (f->mode > 1 || c->key_known) {
        return;
    }
    if (key == NULL) {
        fail("accepted without a signer");
    }
    ERR_set_mark();
    ok = X509_CRL_verify(c->crl, key) == 1;
    ERR_pop_to_mark();
    if (!ok) {
        fail("accepted a CRL whose signature does not verify");
    }
}

static int in_set(const dsec_crl_set *set, const dsec_crl_in *c)
{
    return c >= set->v && c < set->v + set->n;
}

static void check_decision(const fuzz_link *f, const dsec_crl_set *set,
                           const dsec_decision *d)
{
    if (strnlen(d->why, sizeof(d->why)) == sizeof(d->why)) {
        fail("why not terminated");
    }
    if ((d->decided_by != NULL && !in_set(set, d->decided_by))
        || (d->delta != NULL && !in_set(set, d->delta))
        || (d->reasons & ~DSEC_REASONS_ALL) != 0) {
        fail("decision points outside the set");
    }
    switch (d->status) {
    case DSEC_STATUS_GOOD:
        if (d->rv != DSEC_OK || d->x509_err != X509_V_OK || d->reason != -1
            || d->reasons != DSEC_REASONS_ALL || d->decided_by == NULL) {
            fail("inconsistent good");
        }
        break;
    case DSEC_STATUS_REVOKED:
        if (d->rv != DSEC_OK || d->x509_err != X509_V_ERR_CERT_REVOKED
            || d->reason < 0 || d->decided_by == NULL) {
            fail("inconsistent revoked");
        }
        break;
    case DSEC_STATUS_UNKNOWN:
        /* decide.h: 12, 8 or 3 (DESIGN.md section 5) */
        if (d->rv == DSEC_OK || d->reason != -1
            || (d->x509_err != X509_V_ERR_CRL_HAS_EXPIRED
                && d->x509_err != X509_V_ERR_CRL_SIGNATURE_FAILURE
                && d->x509_err != X509_V_ERR_UNABLE_TO_GET_CRL)) {
            fail("inconsistent unknown");
        }
        return;
    default:
        fail("status");
    }
    /* good or revoked: the complete CRL used verified with its signer */
    if (d->delta == NULL || d->decided_by != d->delta) {
        must_verify(f, d->decided_by, d->signer);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *opt = data;
    dsec_crl_set set = { 0 };
    X509 *blob_cert = NULL, *blob_issuer = NULL;
    fuzz_link f;
    dsec_decision d;
    size_t off = NOPT, i, j;
    int nblob = 0;

    setup();
    if (size < NOPT) {
        return 0;
    }
    while (off + 2 <= size && nblob < 2 + MAX_CRLS) {
        size_t len = ((size_t)data[off] << 8) | data[off + 1];
        const unsigned char *p = data + off + 2;

        off += 2;
        if (len > size - off) {
            len = size - off;
        }
        off += len;
        if (nblob == 0) {
            blob_cert = len > 0 ? d2i_X509(NULL, &p, (long)len) : NULL;
        } else if (nblob == 1) {
            blob_issuer = len > 0 ? d2i_X509(NULL, &p, (long)len) : NULL;
        } else {
            X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
            unsigned char id[32];
            int dp = (int)(opt[3 + nblob - 2] % 5) - 1;

            if (crl != NULL) {
                int known = (opt[0] & 0x10) != 0
                            && dsec_decide_key_id(
                                blob_issuer != NULL ? blob_issuer : ca, id);

                if (!dsec_crl_set_add(&set, crl, dp, known ? id : NULL,
                                      dp < 0 ? NULL : "fuzz")) {
                    fail("set add");
                }
                X509_CRL_free(crl);
            }
        }
        nblob++;
    }

    memset(&f, 0, sizeof(f));
    f.link.cert = blob_cert != NULL      ? blob_cert
                  : (opt[0] & 0x20) != 0 ? sub_ca
                                         : leaf;
    f.link.issuer = blob_issuer != NULL ? blob_issuer : ca;
    f.link.now = NOW + (time_t)(int8_t)opt[1] * 3600;
    f.link.grace = (long)opt[2] * 60;
    f.link.delta =
        (opt[0] & 3) == 3 ? DSEC_DELTA_REQUIRE : (dsec_delta_mode)(opt[0] & 3);
    f.link.signer = signer_cb;
    f.link.arg = &f;
    f.mode = (opt[0] >> 2) & 3;
    if ((opt[0] & 0x40) != 0) {
        f.link.dps = dsec_decide_dps(f.link.cert);
    }

    dsec_decide(&f.link, &set, &d);
    if (verbose) {
        fprintf(stderr, "%zu CRLs: %s, rv %s, reason %d, reasons 0x%03x: %s\n",
                set.n, dsec_decide_status_name(d.status), dsec_rv_name(d.rv),
                d.reason, d.reasons, d.why);
    }
    check_decision(&f, &set, &d);
    (void)dsec_decide_needs_delta(&f.link, set.n > 0 ? set.v[0].crl : NULL);

    for (i = 0; i < set.n; i++) {
        unsigned int reasons = 0;
        X509 *signer = NULL;
        DSEC_ERR err = { 0 };

        if (dsec_decide_check(&f.link, &set.v[i], &reasons, &signer, &err)
            != DSEC_OK) {
            continue;
        }
        if (reasons == 0 || (reasons & ~DSEC_REASONS_ALL) != 0) {
            fail("check: reasons");
        }
        must_verify(&f, &set.v[i], signer);
        for (j = 0; j < set.n; j++) {
            if (j != i && signer != NULL) {
                (void)dsec_decide_check_delta(&f.link, &set.v[i], signer,
                                              &set.v[j], &err);
            }
        }
    }
    dsec_crl_set_clear(&set);
    sk_DIST_POINT_pop_free(f.link.dps, DIST_POINT_free);
    X509_free(blob_cert);
    X509_free(blob_issuer);
    ERR_clear_error();
    return 0;
}

/* ---- the seed corpus ---- */

typedef struct {
    long serial;
    int reason; /* -1: none */
    int ca_issuer; /* certificateIssuer: 1 the CA, 0 none */
    int crit; /* an unknown critical entry extension */
} seed_entry;

typedef struct {
    int by_ind; /* issued by the CRL issuer */
    long this_off, next_off; /* next_off 0: no nextUpdate */
    long number, delta_base; /* delta_base < 0: complete */
    int idp; /* 0 none, 1 DP 0's URI, 2 relative part1, 3 the CRL issuer's
                DN, 4 no name */
    int only_user, only_ca, indirect;
    unsigned int reasons;
    int freshest, crit;
    const seed_entry *ent;
    int nent;
} seed_crl;

/* A critical extension nobody handles (value DER NULL). */
static X509_EXTENSION *unknown_critical(void)
{
    static const unsigned char der_null[] = { 0x05, 0x00 };
    ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.55555.7.2", 1);
    ASN1_OCTET_STRING *oct = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;

    if (obj == NULL || oct == NULL
        || !ASN1_OCTET_STRING_set(oct, der_null, sizeof(der_null))
        || (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, oct)) == NULL) {
        fail("critical extension");
    }
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(oct);
    return ext;
}

static X509_CRL *seed_crl_of(const seed_crl *s)
{
    X509 *issuer = s->by_ind ? ind : ca;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_set(NULL, NOW + s->this_off);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    AUTHORITY_KEYID *akid = akid_of(X509_get0_subject_key_id(issuer));
    int i;

    if (crl == NULL || t == NULL || num == NULL
        || !X509_CRL_set_version(crl, X509_CRL_VERSION_2)
        || !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer))
        || !X509_CRL_set1_lastUpdate(crl, t)) {
        fail("crl");
    }
    if (s->next_off != 0) {
        ASN1_TIME_free(t);
        if ((t = ASN1_TIME_set(NULL, NOW + s->next_off)) == NULL
            || !X509_CRL_set1_nextUpdate(crl, t)) {
            fail("crl");
        }
    }
    for (i = 0; i < s->nent; i++) {
        X509_REVOKED *rev = X509_REVOKED_new();
        ASN1_INTEGER *serial = ASN1_INTEGER_new();
        ASN1_ENUMERATED *code = ASN1_ENUMERATED_new();

        if (rev == NULL || serial == NULL || code == NULL
            || !ASN1_INTEGER_set(serial, s->ent[i].serial)
            || !X509_REVOKED_set_serialNumber(rev, serial)
            || !X509_REVOKED_set_revocationDate(rev, t)) {
            fail("entry");
        }
        if (s->ent[i].reason >= 0
            && (!ASN1_ENUMERATED_set(code, s->ent[i].reason)
                || X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, code, 0, 0)
                       != 1)) {
            fail("entry reason");
        }
        if (s->ent[i].ca_issuer) {
            GENERAL_NAMES *gens = dirname_of("Fuzz Decide CA");

            if (X509_REVOKED_add1_ext_i2d(rev, NID_certificate_issuer, gens, 1,
                                          0)
                != 1) {
                fail("entry issuer");
            }
            GENERAL_NAMES_free(gens);
        }
        if (s->ent[i].crit) {
            X509_EXTENSION *ext = unknown_critical();

            if (!X509_REVOKED_add_ext(rev, ext, -1)) {
                fail("entry extension");
            }
            X509_EXTENSION_free(ext);
        }
        if (!X509_CRL_add0_revoked(crl, rev)) {
            fail("entry");
        }
        ASN1_INTEGER_free(serial);
        ASN1_ENUMERATED_free(code);
    }
    if (!ASN1_INTEGER_set(num, s->number)
        || X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1
        || X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0)
               != 1) {
        fail("crl extensions");
    }
    if (s->delta_base >= 0
        && (!ASN1_INTEGER_set(num, s->delta_base)
            || X509_CRL_add1_ext_i2d(crl, NID_delta_crl, num, 1, 0) != 1)) {
        fail("delta indicator");
    }
    if (s->idp > 0) {
        ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();

        if (idp == NULL) {
            fail("idp");
        }
        if (s->idp == 1) {
            idp->distpoint = dpname_of("http://fuzz.example/0.crl", NULL);
        } else if (s->idp == 2) {
            idp->distpoint = dpname_of(NULL, "part1");
        } else if (s->idp == 3) {
            idp->distpoint = DIST_POINT_NAME_new();
            idp->distpoint->type = 0;
            idp->distpoint->name.fullname = dirname_of("Fuzz CRL Issuer");
        }
        idp->onlyuser = s->only_user ? 0xFF : 0;
        idp->onlyCA = s->only_ca ? 0xFF : 0;
        idp->indirectCRL = s->indirect ? 0xFF : 0;
        if (s->reasons != 0) {
            idp->onlysomereasons = reasons_of(s->reasons);
        }
        if (X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1,
                                  0)
            != 1) {
            fail("idp");
        }
        ISSUING_DIST_POINT_free(idp);
    }
    if (s->freshest) {
        CRL_DIST_POINTS *fresh = CRL_DIST_POINTS_new();
        DIST_POINT *fdp = DIST_POINT_new();

        fdp->distpoint = dpname_of("http://fuzz.example/delta.crl", NULL);
        if (!sk_DIST_POINT_push(fresh, fdp)
            || X509_CRL_add1_ext_i2d(crl, NID_freshest_crl, fresh, 0, 0) != 1) {
            fail("freshest");
        }
        CRL_DIST_POINTS_free(fresh);
    }
    if (s->crit) {
        X509_EXTENSION *ext = unknown_critical();

        if (!X509_CRL_add_ext(crl, ext, -1)) {
            fail("crl extension");
        }
        X509_EXTENSION_free(ext);
    }
    if (X509_CRL_sign(crl, s->by_ind ? ind_key : ca_key, EVP_sha256()) <= 0) {
        fail("crl signature");
    }
    ASN1_TIME_free(t);
    ASN1_INTEGER_free(num);
    AUTHORITY_KEYID_free(akid);
    return crl;
}

typedef struct {
    unsigned char opt[NOPT];
    int cert; /* 0 empty blob, 1 the leaf, 2 the sub-CA */
    int issuer; /* 0 empty blob, 1 the CA */
    const seed_crl *crls[MAX_CRLS];
    int ncrls;
} seed;

static void put_blob(FILE *f, const unsigned char *der, int len)
{
    fputc((len >> 8) & 0xff, f);
    fputc(len & 0xff, f);
    if (len > 0) {
        fwrite(der, 1, (size_t)len, f);
    }
}

static void write_seed(const char *dir, int n, const seed *s)
{
    char path[4096];
    unsigned char *der = NULL;
    FILE *f;
    int i, len;

    snprintf(path, sizeof(path), "%s/seed-%02d", dir, n);
    if ((f = fopen(path, "wb")) == NULL) {
        fail(path);
    }
    fwrite(s->opt, 1, NOPT, f);
    len = s->cert == 0 ? 0 : i2d_X509(s->cert == 1 ? leaf : sub_ca, &der);
    put_blob(f, der, len);
    OPENSSL_free(der);
    der = NULL;
    len = s->issuer == 0 ? 0 : i2d_X509(ca, &der);
    put_blob(f, der, len);
    OPENSSL_free(der);
    for (i = 0; i < s->ncrls; i++) {
        X509_CRL *crl = seed_crl_of(s->crls[i]);

        der = NULL;
        len = i2d_X509_CRL(crl, &der);
        put_blob(f, der, len);
        OPENSSL_free(der);
        X509_CRL_free(crl);
    }
    if (fclose(f) != 0) {
        fail(path);
    }
}

static void write_seeds(const char *dir)
{
    static const seed_entry hold[] = { { SUBJECT_SERIAL, 6, 0, 0 },
                                       { 7, 1, 0, 0 } };
    static const seed_entry remove[] = { { SUBJECT_SERIAL, 8, 0, 0 } };
    static const seed_entry key[] = { { SUBJECT_SERIAL, 1, 0, 0 } };
    static const seed_entry indirect[] = { { SUBJECT_SERIAL, 1, 0, 0 },
                                           { 7, 1, 1, 0 },
                                           { SUBJECT_SERIAL, 4, 0, 0 } };
    static const seed_entry crit[] = { { 9, 1, 0, 1 } };
    /* DP 0's CRL listing the subject on hold, and a delta releasing it */
    static const seed_crl dp0 = { .this_off = -3600,
                                  .next_off = 86400,
                                  .number = 10,
                                  .delta_base = -1,
                                  .idp = 1,
                                  .freshest = 1,
                                  .ent = hold,
                                  .nent = 2 };
    static const seed_crl delta = { .this_off = -600,
                                    .next_off = 86400,
                                    .number = 11,
                                    .delta_base = 10,
                                    .idp = 1,
                                    .ent = remove,
                                    .nent = 1 };
    /* DP 1: a partition (relative name, onlySomeReasons) */
    static const seed_crl dp1 = { .this_off = -3600,
                                  .next_off = 86400,
                                  .number = 20,
                                  .delta_base = -1,
                                  .idp = 2,
                                  .reasons = 0x06,
                                  .ent = key,
                                  .nent = 1 };
    /* DP 2: the CRL issuer's indirect CRL, with certificateIssuer */
    static const seed_crl dp2 = { .by_ind = 1,
                                  .this_off = -3600,
                                  .next_off = 86400,
                                  .number = 30,
                                  .delta_base = -1,
                                  .idp = 3,
                                  .indirect = 1,
                                  .ent = indirect,
                                  .nent = 3 };
    /* a host CRL: no IDP, freshestCRL */
    static const seed_crl host = { .this_off = -7200,
                                   .next_off = 86400,
                                   .number = 12,
                                   .delta_base = -1,
                                   .freshest = 1 };
    static const seed_crl stale = { .this_off = -86400,
                                    .next_off = -60,
                                    .number = 13,
                                    .delta_base = -1,
                                    .ent = key,
                                    .nent = 1 };
    static const seed_crl future = {
        .this_off = 3600, .next_off = 86400, .number = 14, .delta_base = -1
    };
    static const seed_crl critical = { .this_off = -3600,
                                       .next_off = 86400,
                                       .number = 15,
                                       .delta_base = -1,
                                       .idp = 4,
                                       .only_user = 1,
                                       .crit = 1,
                                       .ent = crit,
                                       .nent = 1 };
    static const seed_crl only_ca = { .this_off = -3600,
                                      .next_off = 86400,
                                      .number = 16,
                                      .delta_base = -1,
                                      .idp = 4,
                                      .only_ca = 1,
                                      .ent = key,
                                      .nent = 1 };
    static const seed_crl bad_delta = { .this_off = -600,
                                        .number = 9,
                                        .delta_base = 11,
                                        .idp = 1,
                                        .ent = key,
                                        .nent = 1 };
    const seed seeds[] = {
        { { 0x00, 0, 0, 1, 0, 0, 0 }, 0, 0, { &dp0, &delta }, 2 },
        { { 0x05, 0, 0, 1, 2, 3, 0 }, 1, 1, { &dp0, &dp1, &dp2 }, 3 },
        { { 0x01, 0, 0, 0, 2, 0, 0 }, 0, 0, { &host, &delta }, 2 },
        { { 0x18, 1, 30, 1, 1, 0, 0 },
          0,
          0,
          { &stale, &future, &bad_delta },
          3 },
        { { 0x02, 0, 0, 0, 1, 2, 0 }, 2, 1, { &critical, &only_ca, &dp1 }, 3 },
        { { 0x64, 0, 0, 3, 0, 0, 0 }, 0, 0, { &dp2, &host, &delta, &dp0 }, 4 },
        { { 0x08, 0, 0, 2, 0, 0, 0 }, 0, 0, { &only_ca, &delta }, 2 },
    };
    size_t i;

    for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        write_seed(dir, (int)i, &seeds[i]);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_DECIDE_SEEDS");

    (void)argc;
    (void)argv;
    setup();
    verbose = getenv("FUZZ_DECIDE_VERBOSE") != NULL;
    if (dir != NULL && dir[0] != '\0') {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}
