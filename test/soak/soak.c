/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The soak program (test/soak/run.sh drives it): N threads verify leaves in
 * a loop for S seconds the way libssl verifies a peer (an SSL_CTX's
 * X509_STORE, X509_STORE_CTX_init, the "ssl_server" defaults and the
 * SSL_CTX's parameters), with domainsec loaded by OPENSSL_CONF only, while
 * run.sh republishes the CRL and may take the CRL server down and up.
 * It counts every result by X509 error, remembers per leaf the last second
 * a verification that started then accepted it, and at the end compares
 * that with the publication log (the second each leaf was revoked): a
 * revoked leaf accepted more than deadline seconds after its revocation was
 * published is a failure. RSS and open descriptors are sampled after a
 * warm-up, halfway and at the end: neither RSS nor descriptors may grow
 * from the warm-up on (a CRL index as small as these is read into memory
 * and its file closed when it is opened). Prints one "soak:" line per
 * figure; exit 0 when
 * every assertion holds, 1 otherwise, 2 on usage or set-up errors.
 *
 * usage: soak ROOT.pem INTER.pem LEAFDIR NLEAVES PUBLOG ALLOWED
 *   leaves are LEAFDIR/leaf-<i>.pem, i in [0, NLEAVES); PUBLOG lines are
 *   "<epoch> <i> <i> ..."; ALLOWED lists the accepted X509 errors ("0,23").
 * environment: SOAK_THREADS (8), SOAK_SECONDS (60), SOAK_DEADLINE (seconds
 *   after publication by which a revocation must be seen, 10),
 *   SOAK_RSS_KB (allowed RSS growth, 16384), SOAK_FDS (allowed descriptor
 *   growth, 4).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#define MAX_ERR 128

typedef struct {
    SSL_CTX *ctx;
    STACK_OF(X509) * untrusted;
    X509 **leaves;
    int nleaves;
    time_t end;
    atomic_long results[MAX_ERR + 1]; /* [MAX_ERR]: any larger code */
    atomic_llong *ok_last; /* per leaf: last start second it was accepted */
    atomic_long total;
} soak;

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    char *end = NULL;
    long n;

    if (v == NULL || *v == '\0') {
        return def;
    }
    n = strtol(v, &end, 10);
    return end != NULL && *end == '\0' && n > 0 ? n : def;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = NULL;

    if (f != NULL) {
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (x == NULL) {
        fprintf(stderr, "soak: cannot read %s\n", path);
    }
    return x;
}

/* One verification as libssl makes it (ssl_verify_cert_chain). */
static int verify_one(soak *s, X509 *leaf)
{
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    int err = -1;

    if (vctx == NULL
        || !X509_STORE_CTX_init(vctx, SSL_CTX_get_cert_store(s->ctx), leaf,
                                s->untrusted)) {
        X509_STORE_CTX_free(vctx);
        return -1;
    }
    X509_STORE_CTX_set_default(vctx, "ssl_server");
    X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(vctx),
                           SSL_CTX_get0_param(s->ctx));
    if (X509_verify_cert(vctx) > 0) {
        err = X509_V_OK;
    } else {
        err = X509_STORE_CTX_get_error(vctx);
    }
    X509_STORE_CTX_free(vctx);
    ERR_clear_error();
    return err;
}

static void *worker(void *arg)
{
    soak *s = arg;
    unsigned int seed =
        (unsigned int)(uintptr_t)&seed ^ (unsigned int)time(NULL);

    for (;;) {
        time_t start = time(NULL);
        int i = (int)(rand_r(&seed) % (unsigned int)s->nleaves);
        int err;

        if (start >= s->end) {
            break;
        }
        err = verify_one(s, s->leaves[i]);
        atomic_fetch_add(&s->total, 1);
        atomic_fetch_add(&s->results[err >= 0 && err < MAX_ERR ? err : MAX_ERR],
                         1);
        if (err == X509_V_OK) {
            long long prev = atomic_load(&s->ok_last[i]);

            while (prev < (long long)start
                   && !atomic_compare_exchange_weak(&s->ok_last[i], &prev,
                                                    (long long)start)) {
            }
        }
    }
    return NULL;
}

/* VmRSS in kB, and the number of open descriptors. */
static void sample(long *rss_kb, int *fds)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    DIR *d;
    struct dirent *e;

    *rss_kb = -1;
    *fds = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            *rss_kb = strtol(line + 6, NULL, 10);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    if ((d = opendir("/proc/self/fd")) != NULL) {
        while ((e = readdir(d)) != NULL) {
            *fds += e->d_name[0] != '.';
        }
        closedir(d);
        (*fds)--; /* the one opendir holds */
    }
}

/* Revoked leaves accepted past publication + deadline; printed. */
static int late_accepts(soak *s, const char *publog, long deadline)
{
    FILE *f = fopen(publog, "r");
    char line[8192];
    int bad = 0, revoked = 0;

    if (f == NULL) {
        fprintf(stderr, "soak: cannot read %s\n", publog);
        return 1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *p = line, *end;
        long long when = strtoll(p, &end, 10);

        for (p = end;; p = end) {
            long i = strtol(p, &end, 10);
            long long last;

            if (end == p) {
                break;
            }
            if (i < 0 || i >= s->nleaves) {
                continue;
            }
            revoked++;
            last = atomic_load(&s->ok_last[i]);
            if (last > when + deadline) {
                printf("soak: FAIL leaf-%ld revoked at %lld accepted by a "
                       "verification started at %lld\n",
                       i, when, last);
                bad++;
            }
        }
    }
    fclose(f);
    printf("soak: revoked leaves %d, accepted past publication + %ld s: %d\n",
           revoked, deadline, bad);
    return bad;
}

/* Results outside allowed ("0,23,3"); printed. */
static long unexpected_results(soak *s, const char *allowed)
{
    long bad = 0;
    int e;

    for (e = 0; e <= MAX_ERR; e++) {
        long n = atomic_load(&s->results[e]);
        char key[16];
        const char *hit;
        size_t kl;
        int ok = 0;

        if (n == 0) {
            continue;
        }
        kl = (size_t)snprintf(key, sizeof(key), "%d", e);
        for (hit = strstr(allowed, key); hit != NULL && !ok;
             hit = strstr(hit + 1, key)) {
            ok = (hit == allowed || hit[-1] == ',')
                 && (hit[kl] == '\0' || hit[kl] == ',');
        }
        printf("soak: result %d (%s): %ld%s\n", e,
               e < MAX_ERR ? X509_verify_cert_error_string(e) : "other", n,
               ok ? "" : "  UNEXPECTED");
        if (!ok) {
            bad += n;
        }
    }
    return bad;
}

static int load(soak *s, char **argv)
{
    X509 *inter = read_cert(argv[2]);
    char path[4096];
    int i;

    s->nleaves = atoi(argv[4]);
    s->ctx = SSL_CTX_new(TLS_method());
    s->untrusted = sk_X509_new_null();
    if (inter == NULL || s->ctx == NULL || s->untrusted == NULL
        || s->nleaves <= 0 || !sk_X509_push(s->untrusted, inter)
        || !SSL_CTX_load_verify_locations(s->ctx, argv[1], NULL)) {
        X509_free(inter);
        return 0;
    }
    s->leaves = calloc((size_t)s->nleaves, sizeof(*s->leaves));
    s->ok_last = calloc((size_t)s->nleaves, sizeof(*s->ok_last));
    if (s->leaves == NULL || s->ok_last == NULL) {
        return 0;
    }
    for (i = 0; i < s->nleaves; i++) {
        snprintf(path, sizeof(path), "%s/leaf-%d.pem", argv[3], i);
        if ((s->leaves[i] = read_cert(path)) == NULL) {
            return 0;
        }
    }
    return 1;
}

static void unload(soak *s)
{
    int i;

    for (i = 0; s->leaves != NULL && i < s->nleaves; i++) {
        X509_free(s->leaves[i]);
    }
    free(s->leaves);
    free((void *)s->ok_last);
    sk_X509_pop_free(s->untrusted, X509_free);
    SSL_CTX_free(s->ctx);
}

/* Run the threads; rss/fds sampled after warm seconds, halfway and at the
   end. */
static int run(soak *s, long threads, long seconds, long rss[3], int fds[3])
{
    pthread_t *t = calloc((size_t)threads, sizeof(*t));
    long i, started = 0;
    long warm = seconds > 10 ? 5 : seconds / 3;

    if (t == NULL) {
        return 0;
    }
    s->end = time(NULL) + seconds;
    for (i = 0; i < threads; i++) {
        if (pthread_create(&t[i], NULL, worker, s) == 0) {
            started++;
        }
    }
    sleep((unsigned int)warm);
    sample(&rss[0], &fds[0]);
    sleep((unsigned int)(seconds / 2 > warm ? seconds / 2 - warm : 0));
    sample(&rss[1], &fds[1]);
    for (i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
    }
    sample(&rss[2], &fds[2]);
    free(t);
    return started == threads;
}

int main(int argc, char **argv)
{
    static soak s;
    long threads = env_long("SOAK_THREADS", 8);
    long seconds = env_long("SOAK_SECONDS", 60);
    long deadline = env_long("SOAK_DEADLINE", 10);
    long rss[3], bad = 0;
    int fds[3], rc = 2;

    if (argc != 7) {
        fprintf(stderr, "usage: soak ROOT.pem INTER.pem LEAFDIR NLEAVES "
                        "PUBLOG ALLOWED\n");
        return 2;
    }
    if (load(&s, argv) && run(&s, threads, seconds, rss, fds)) {
        printf("soak: %ld threads, %ld s, %ld verifications\n", threads,
               seconds, atomic_load(&s.total));
        bad += unexpected_results(&s, argv[6]);
        bad += late_accepts(&s, argv[5], deadline);
        printf("soak: RSS %ld kB -> %ld kB -> %ld kB, descriptors %d -> %d "
               "-> %d (warm-up, halfway, end)\n",
               rss[0], rss[1], rss[2], fds[0], fds[1], fds[2]);
        if (rss[2] - rss[0] > env_long("SOAK_RSS_KB", 16384)
            || fds[1] - fds[0] > env_long("SOAK_FDS", 4)
            || fds[2] - fds[0] > env_long("SOAK_FDS", 4)) {
            printf("soak: FAIL RSS or descriptors grew\n");
            bad++;
        }
        bad += atomic_load(&s.total) == 0;
        rc = bad == 0 ? 0 : 1;
    }
    unload(&s);
    return rc;
}
