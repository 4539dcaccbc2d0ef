/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate pool generator of the trust benchmark (bench/run.sh): N
 * self-signed anchors (EC P-256, "CN=Bench Anchor 0042"), one PEM file each
 * in a trust directory and all of them in one PEM bundle (the CAfile of
 * plain OpenSSL), and M cross-certificates (CA certificates with distinct
 * subjects "CN=Bench Cross 0042" and keys of their own, each issued by an
 * anchor picked at random, with a CRL Distribution Point that is never
 * fetched), one PEM file each in a cross directory. It links libcrypto only:
 * two thousand certificates through the openssl command line take minutes,
 * here well under a second. Nothing is cached; keys are never written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define POOL_MAX 100000
#define POOL_DAYS 365

struct pool_opts {
    long anchors;
    long cross;
    const char *trust_dir;
    const char *cross_dir;
    const char *bundle;
    const char *cdp;
    unsigned long seed;
};

static void usage(void)
{
    fprintf(stderr,
            "usage: gen_pool --anchors N --trust-dir DIR --bundle FILE\n"
            "       [--cross M --cross-dir DIR --cdp URL] [--seed S]\n");
}

static void die(const char *msg)
{
    fprintf(stderr, "gen_pool: %s\n", msg);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static long parse_count(const char *s, const char *what)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > POOL_MAX) {
        fprintf(stderr, "gen_pool: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static void parse_args(int argc, char **argv, struct pool_opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->seed = 42;
    for (i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];

        if (strcmp(a, "--anchors") == 0) {
            o->anchors = parse_count(v, "--anchors");
        } else if (strcmp(a, "--cross") == 0) {
            o->cross = parse_count(v, "--cross");
        } else if (strcmp(a, "--trust-dir") == 0) {
            o->trust_dir = v;
        } else if (strcmp(a, "--cross-dir") == 0) {
            o->cross_dir = v;
        } else if (strcmp(a, "--bundle") == 0) {
            o->bundle = v;
        } else if (strcmp(a, "--cdp") == 0) {
            o->cdp = v;
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = (unsigned long)parse_count(v, "--seed");
        } else {
            usage();
            exit(2);
        }
    }
    if (i != argc || o->anchors < 1 || o->trust_dir == NULL || o->bundle == NULL
        || (o->cross > 0 && (o->cross_dir == NULL || o->cdp == NULL))) {
        usage();
        exit(2);
    }
}

/* xorshift64*: a reproducible choice of issuers, not key material. */
static unsigned long long rng_next(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");

    if (pk == NULL) {
        die("EC P-256 key generation failed");
    }
    return pk;
}

static void add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

    if (ext == NULL || !X509_add_ext(cert, ext, -1)) {
        fprintf(stderr, "gen_pool: extension %s = %s\n", OBJ_nid2sn(nid),
                value);
        die("cannot add the extension");
    }
    X509_EXTENSION_free(ext);
}

/*
 * A CA certificate for key with subject "O=domainsec bench, CN=<cn>",
 * signed by issuer_key (issuer NULL: self-signed). cdp NULL: no CDP.
 */
static X509 *make_ca(const char *cn, EVP_PKEY *key, X509 *issuer,
                     EVP_PKEY *issuer_key, const char *cdp)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    BIGNUM *bn = BN_new();
    X509V3_CTX ctx;
    char uri[1024];

    if (cert == NULL || name == NULL || bn == NULL
        || !X509_set_version(cert, X509_VERSION_3)
        || !BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY)
        || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL
        || !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                       (const unsigned char *)"domainsec bench",
                                       -1, -1, 0)
        || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       (const unsigned char *)cn, -1, -1, 0)
        || !X509_set_subject_name(cert, name)
        || !X509_set_issuer_name(
            cert, issuer != NULL ? X509_get_subject_name(issuer) : name)
        || X509_gmtime_adj(X509_getm_notBefore(cert), -86400L) == NULL
        || X509_time_adj_ex(X509_getm_notAfter(cert), POOL_DAYS, 0, NULL)
               == NULL
        || !X509_set_pubkey(cert, key)) {
        die("cannot fill in a certificate");
    }
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : cert, cert, NULL, NULL, 0);
    add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
    if (issuer != NULL) {
        add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
    }
    if (cdp != NULL) {
        snprintf(uri, sizeof(uri), "URI:%s", cdp);
        add_ext(cert, &ctx, NID_crl_distribution_points, uri);
    }
    if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) {
        die("cannot sign a certificate");
    }
    BN_free(bn);
    X509_NAME_free(name);
    return cert;
}

static void write_pem(const char *path, const char *mode, X509 *cert)
{
    BIO *bio = BIO_new_file(path, mode);

    if (bio == NULL || !PEM_write_bio_X509(bio, cert)) {
        fprintf(stderr, "gen_pool: cannot write %s\n", path);
        die("write failed");
    }
    BIO_free(bio);
}

int main(int argc, char **argv)
{
    struct pool_opts o;
    X509 **anchor = NULL;
    EVP_PKEY **anchor_key = NULL;
    BIO *bundle = NULL;
    unsigned long long rng;
    char cn[64], path[4096];
    long i;

    parse_args(argc, argv, &o);
    anchor = calloc((size_t)o.anchors, sizeof(*anchor));
    anchor_key = calloc((size_t)o.anchors, sizeof(*anchor_key));
    if (anchor == NULL || anchor_key == NULL) {
        die("out of memory");
    }
    bundle = BIO_new_file(o.bundle, "w");
    if (bundle == NULL) {
        die("cannot create the --bundle file");
    }
    for (i = 0; i < o.anchors; i++) {
        snprintf(cn, sizeof(cn), "Bench Anchor %04ld", i);
        anchor_key[i] = new_key();
        anchor[i] = make_ca(cn, anchor_key[i], NULL, anchor_key[i], NULL);
        snprintf(path, sizeof(path), "%s/anchor-%04ld.pem", o.trust_dir, i);
        write_pem(path, "w", anchor[i]);
        if (!PEM_write_bio_X509(bundle, anchor[i])) {
            die("cannot write the --bundle file");
        }
    }
    if (BIO_flush(bundle) <= 0) {
        die("cannot write the --bundle file");
    }
    rng = 0x9E3779B97F4A7C15ULL ^ o.seed;
    for (i = 0; i < o.cross; i++) {
        long by = (long)(rng_next(&rng) % (unsigned long long)o.anchors);
        EVP_PKEY *key = new_key();
        X509 *cert;

        snprintf(cn, sizeof(cn), "Bench Cross %04ld", i);
        cert = make_ca(cn, key, anchor[by], anchor_key[by], o.cdp);
        snprintf(path, sizeof(path), "%s/cross-%04ld.pem", o.cross_dir, i);
        write_pem(path, "w", cert);
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    printf("gen_pool: %ld anchors in %s (bundle %s), %ld cross-certificates"
           " in %s\n",
           o.anchors, o.trust_dir, o.bundle, o.cross,
           o.cross > 0 ? o.cross_dir : "-");
    for (i = 0; i < o.anchors; i++) {
        X509_free(anchor[i]);
        EVP_PKEY_free(anchor_key[i]);
    }
    free(anchor);
    free(anchor_key);
    BIO_free(bundle);
    return 0;
}
