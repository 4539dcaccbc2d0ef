/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verification throughput benchmark host. It links libcrypto only, never
 * libdomainsec: domainsec takes part exactly as in an unmodified host,
 * through the openssl.cnf named by OPENSSL_CONF. It builds one X509_STORE
 * (the CA file, plus local CRL files with CRL checking in plain-crl mode;
 * in the domainsec modes the CA file is optional, the anchors may come from
 * trust_dirs only), verifies the leaf once as a warm-up (in domainsec mode
 * that fetches the CRLs into the cache), then verifies it in a loop for a
 * fixed time on each of N threads, aborting on the first verification that
 * does not succeed, and prints one line with the count, the rate, the peak
 * RSS and the chain of the warm-up (its length and its top's subject).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#define BENCH_MAX_CRLS 16
#define BENCH_MAX_THREADS 64

/* MODE_DOMAINSEC_OFF: domainsec active with revocation = off */
enum bench_mode {
    MODE_PLAIN,
    MODE_PLAIN_CRL,
    MODE_DOMAINSEC,
    MODE_DOMAINSEC_OFF
};

struct bench_opts {
    enum bench_mode mode;
    const char *mode_name;
    const char *label;
    const char *cafile;
    const char *untrusted;
    const char *crls[BENCH_MAX_CRLS];
    int ncrls;
    double seconds;
    int threads;
    const char *leaf;
};

struct bench_shared {
    X509_STORE *store;
    X509 *leaf;
    STACK_OF(X509) * untrusted;
    struct timespec deadline;
};

struct bench_thread {
    pthread_t tid;
    struct bench_shared *shared;
    unsigned long count;
    int failed;
};

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_verify --mode plain|plain-crl|domainsec|"
            "domainsec-off\n"
            "       [--label NAME] --CAfile root.pem (optional in the "
            "domainsec modes)\n"
            "       --untrusted inter.pem [--crl file ...] [--seconds S] "
            "[--threads N] leaf.pem\n");
}

static void die(const char *msg)
{
    fprintf(stderr, "bench_verify: %s\n", msg);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static double parse_num(const char *s, const char *what, double lo, double hi)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "bench_verify: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static void parse_args(int argc, char **argv, struct bench_opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->seconds = 3.0;
    o->threads = 1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (a[0] != '-') {
            if (o->leaf != NULL) {
                usage();
                exit(2);
            }
            o->leaf = a;
            continue;
        }
        if (v == NULL) {
            usage();
            exit(2);
        }
        i++;
        if (strcmp(a, "--mode") == 0) {
            o->mode_name = v;
            if (strcmp(v, "plain") == 0) {
                o->mode = MODE_PLAIN;
            } else if (strcmp(v, "plain-crl") == 0) {
                o->mode = MODE_PLAIN_CRL;
            } else if (strcmp(v, "domainsec") == 0) {
                o->mode = MODE_DOMAINSEC;
            } else if (strcmp(v, "domainsec-off") == 0) {
                o->mode = MODE_DOMAINSEC_OFF;
            } else {
                fprintf(stderr, "bench_verify: bad mode '%s'\n", v);
                exit(2);
            }
        } else if (strcmp(a, "--label") == 0) {
            o->label = v;
        } else if (strcmp(a, "--CAfile") == 0) {
            o->cafile = v;
        } else if (strcmp(a, "--untrusted") == 0) {
            o->untrusted = v;
        } else if (strcmp(a, "--crl") == 0) {
            if (o->ncrls >= BENCH_MAX_CRLS) {
                die("too many --crl");
            }
            o->crls[o->ncrls++] = v;
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = parse_num(v, "--seconds", 0.01, 3600);
        } else if (strcmp(a, "--threads") == 0) {
            o->threads = (int)parse_num(v, "--threads", 1, BENCH_MAX_THREADS);
        } else {
            usage();
            exit(2);
        }
    }
    if (o->mode_name == NULL || o->leaf == NULL
        || (o->cafile == NULL
            && (o->mode == MODE_PLAIN || o->mode == MODE_PLAIN_CRL))) {
        usage();
        exit(2);
    }
    if (o->label == NULL) {
        o->label = o->mode_name;
    }
    if (o->mode == MODE_PLAIN_CRL && o->ncrls == 0) {
        die("plain-crl mode needs at least one --crl");
    }
    if (o->mode != MODE_PLAIN_CRL && o->ncrls > 0) {
        die("--crl is only for plain-crl mode");
    }
}

static X509 *read_cert(const char *path)
{
    BIO *bio = BIO_new_file(path, "r");
    X509 *x = NULL;

    if (bio == NULL) {
        goto done;
    }
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
done:
    BIO_free(bio);
    return x;
}

static STACK_OF(X509) * read_certs(const char *path)
{
    BIO *bio = BIO_new_file(path, "r");
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;

    if (bio == NULL || sk == NULL) {
        goto err;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            goto err;
        }
    }
    ERR_clear_error();
    if (sk_X509_num(sk) == 0) {
        goto err;
    }
    goto done;
err:
    sk_X509_pop_free(sk, X509_free);
    sk = NULL;
done:
    BIO_free(bio);
    return sk;
}

/* A CRL file in PEM or DER. */
static X509_CRL *read_crl(const char *path)
{
    BIO *bio = BIO_new_file(path, "rb");
    X509_CRL *crl = NULL;

    if (bio == NULL) {
        goto done;
    }
    crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
    if (crl == NULL) {
        ERR_clear_error();
        if (BIO_reset(bio) < 0) {
            goto done;
        }
        crl = d2i_X509_CRL_bio(bio, NULL);
    }
done:
    BIO_free(bio);
    return crl;
}

/*
 * One verification: 1 on success, else the X509 error code (negated). With
 * top non-NULL, a success also writes the chain's length to *len and the
 * subject of its top (the anchor) to top.
 */
static int verify_once(struct bench_shared *sh, int *len, char *top,
                       size_t toplen)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) * chain;
    int ret = 0;

    if (ctx == NULL) {
        ret = -X509_V_ERR_OUT_OF_MEM;
        goto done;
    }
    if (!X509_STORE_CTX_init(ctx, sh->store, sh->leaf, sh->untrusted)) {
        ret = -X509_V_ERR_UNSPECIFIED;
        goto done;
    }
    if (X509_verify_cert(ctx) == 1) {
        ret = 1;
        if (top != NULL) {
            chain = X509_STORE_CTX_get0_chain(ctx);
            *len = sk_X509_num(chain);
            X509_NAME_oneline(
                X509_get_subject_name(sk_X509_value(chain, *len - 1)), top,
                (int)toplen);
        }
    } else {
        ret = -X509_STORE_CTX_get_error(ctx);
        if (ret == 0) {
            ret = -X509_V_ERR_UNSPECIFIED;
        }
    }
done:
    X509_STORE_CTX_free(ctx);
    return ret;
}

static int time_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec
           || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *bench_thread_main(void *arg)
{
    struct bench_thread *t = arg;
    struct timespec now;
    int r;

    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!time_before(&now, &t->shared->deadline)) {
            break;
        }
        r = verify_once(t->shared, NULL, NULL, 0);
        if (r != 1) {
            fprintf(stderr,
                    "bench_verify: verification %lu failed: error %d (%s)\n",
                    t->count + 1, -r, X509_verify_cert_error_string(-r));
            t->failed = 1;
            break;
        }
        t->count++;
    }
    return NULL;
}

static int check_mode(const struct bench_opts *o, X509_STORE *store)
{
    int have = OSSL_PROVIDER_available(NULL, "domainsec");
    unsigned long flags =
        X509_VERIFY_PARAM_get_flags(X509_STORE_get0_param(store));

    if (o->mode == MODE_DOMAINSEC) {
        if (!have || (flags & X509_V_FLAG_CRL_CHECK) == 0) {
            fprintf(stderr, "bench_verify: domainsec is not active (is "
                            "OPENSSL_CONF a domainsec config?)\n");
            return 0;
        }
    } else if (o->mode == MODE_DOMAINSEC_OFF) {
        if (!have || (flags & X509_V_FLAG_CRL_CHECK) != 0) {
            fprintf(stderr, "bench_verify: domainsec with revocation = off "
                            "is not what OPENSSL_CONF activates\n");
            return 0;
        }
    } else if (have) {
        fprintf(stderr, "bench_verify: domainsec is loaded in a plain mode "
                        "(OPENSSL_CONF must not activate it)\n");
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    struct bench_shared sh;
    struct bench_thread th[BENCH_MAX_THREADS];
    struct timespec start, end;
    struct rusage ru;
    unsigned long total = 0;
    double elapsed;
    char top[256] = "";
    int i, r, chain_len = 0, failed = 0, rc = 1;

    parse_args(argc, argv, &o);
    memset(&sh, 0, sizeof(sh));
    memset(th, 0, sizeof(th));
    /* the default init: honours OPENSSL_CONF like any host */
    if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL)) {
        die("cannot load the OpenSSL configuration");
    }
    sh.store = X509_STORE_new();
    if (sh.store == NULL) {
        die("X509_STORE_new failed");
    }
    if (!check_mode(&o, sh.store)) {
        goto done;
    }
    if (o.cafile != NULL && !X509_STORE_load_file(sh.store, o.cafile)) {
        die("cannot load --CAfile");
    }
    if (o.mode == MODE_PLAIN_CRL) {
        for (i = 0; i < o.ncrls; i++) {
            X509_CRL *crl = read_crl(o.crls[i]);

            if (crl == NULL) {
                fprintf(stderr, "bench_verify: cannot read CRL %s\n",
                        o.crls[i]);
                die("bad --crl");
            }
            if (!X509_STORE_add_crl(sh.store, crl)) {
                X509_CRL_free(crl);
                die("X509_STORE_add_crl failed");
            }
            X509_CRL_free(crl);
        }
        X509_STORE_set_flags(sh.store,
                             X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    }
    sh.leaf = read_cert(o.leaf);
    if (sh.leaf == NULL) {
        die("cannot read the leaf certificate");
    }
    if (o.untrusted != NULL) {
        sh.untrusted = read_certs(o.untrusted);
        if (sh.untrusted == NULL) {
            die("cannot read --untrusted");
        }
    }
    /* warm-up: domainsec fetches the CRLs into its cache here */
    r = verify_once(&sh, &chain_len, top, sizeof(top));
    if (r != 1) {
        fprintf(stderr,
                "bench_verify: warm-up verification failed: error %d "
                "(%s)\n",
                -r, X509_verify_cert_error_string(-r));
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    sh.deadline = start;
    sh.deadline.tv_sec += (time_t)o.seconds;
    sh.deadline.tv_nsec +=
        (long)((o.seconds - (double)(time_t)o.seconds) * 1e9);
    if (sh.deadline.tv_nsec >= 1000000000L) {
        sh.deadline.tv_sec++;
        sh.deadline.tv_nsec -= 1000000000L;
    }
    for (i = 0; i < o.threads; i++) {
        th[i].shared = &sh;
        if (pthread_create(&th[i].tid, NULL, bench_thread_main, &th[i]) != 0) {
            die("pthread_create failed");
        }
    }
    for (i = 0; i < o.threads; i++) {
        pthread_join(th[i].tid, NULL);
        total += th[i].count;
        failed |= th[i].failed;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    if (failed) {
        goto done;
    }
    if (total == 0) {
        fprintf(stderr, "bench_verify: no verification completed\n");
        goto done;
    }
    elapsed = (double)(end.tv_sec - start.tv_sec)
              + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        die("getrusage failed");
    }
    /* the subject is last: it may contain spaces */
    printf("mode=%s threads=%d verifications=%lu seconds=%.3f "
           "per_second=%.1f maxrss_kb=%ld chain=%d top=%s\n",
           o.label, o.threads, total, elapsed, (double)total / elapsed,
           ru.ru_maxrss, chain_len, top);
    fflush(stdout);
    rc = 0;
done:
    sk_X509_pop_free(sh.untrusted, X509_free);
    X509_free(sh.leaf);
    X509_STORE_free(sh.store);
    return rc;
}
