/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Full TLS handshakes per second of one server, in process over a memory
 * BIO pair, so the client's cost does not hide the server's: only the time
 * spent in the server's SSL_do_handshake calls is counted. The server asks
 * for a client certificate (SSL_VERIFY_PEER | FAIL_IF_NO_PEER_CERT), loads
 * the host's default verify paths and a CA file, and resumes nothing (no
 * session cache, no tickets), so every handshake verifies the client's
 * chain. The program links libssl only: domainsec takes part through
 * OPENSSL_CONF exactly as in an unmodified host (run by bench/run.sh, never
 * by ctest).
 *
 * usage: bench_handshake --mode plain|domainsec --CAfile ROOT
 *        --cert SERVER.pem --key SERVER.key --client-cert LEAF.pem
 *        --client-key LEAF.key --chain INTER.pem [--seconds S]
 * prints: mode=M handshakes=N server_seconds=X per_second=Y maxrss_kb=K
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct hs_opts {
    const char *mode, *cafile, *cert, *key, *ccert, *ckey, *chain;
    double seconds;
};

static void die(const char *what)
{
    fprintf(stderr, "bench_handshake: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void parse_args(int argc, char **argv, struct hs_opts *o)
{
    const char **slot;
    int i;

    memset(o, 0, sizeof(*o));
    o->seconds = 3.0;
    for (i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];

        slot = strcmp(a, "--mode") == 0          ? &o->mode
               : strcmp(a, "--CAfile") == 0      ? &o->cafile
               : strcmp(a, "--cert") == 0        ? &o->cert
               : strcmp(a, "--key") == 0         ? &o->key
               : strcmp(a, "--client-cert") == 0 ? &o->ccert
               : strcmp(a, "--client-key") == 0  ? &o->ckey
               : strcmp(a, "--chain") == 0       ? &o->chain
                                                 : NULL;
        if (slot != NULL) {
            *slot = v;
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = atof(v);
        } else {
            die("unknown option (see the usage in bench_handshake.c)");
        }
    }
    if (i != argc || o->mode == NULL || o->cafile == NULL || o->cert == NULL
        || o->key == NULL || o->ccert == NULL || o->ckey == NULL
        || o->chain == NULL || o->seconds <= 0) {
        die("missing or bad options (see the usage in bench_handshake.c)");
    }
}

static void check_mode(const char *mode)
{
    int have = OSSL_PROVIDER_available(NULL, "domainsec");

    if (strcmp(mode, "domainsec") == 0 && !have) {
        die("domainsec is not active (is OPENSSL_CONF a domainsec config?)");
    }
    if (strcmp(mode, "plain") == 0 && have) {
        die("domainsec is loaded in plain mode");
    }
}

static SSL_CTX *server_ctx(const struct hs_opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1
        || SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_set_default_verify_paths(ctx) != 1
        || SSL_CTX_load_verify_locations(ctx, o->cafile, NULL) != 1) {
        die("server context");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    return ctx;
}

static SSL_CTX *client_ctx(const struct hs_opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    X509 *inter = NULL;
    FILE *f = fopen(o->chain, "r");

    if (f != NULL) {
        inter = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (ctx == NULL || inter == NULL
        || SSL_CTX_use_certificate_file(ctx, o->ccert, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_use_PrivateKey_file(ctx, o->ckey, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_add0_chain_cert(ctx, inter) != 1) {
        X509_free(inter);
        die("client context");
    }
    /* the client's verification is not what is measured */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
}

/* One full handshake; adds the server's time to *server_s. 1 on success. */
static int handshake(SSL_CTX *sctx, SSL_CTX *cctx, double *server_s)
{
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    BIO *sb = NULL, *cb = NULL;
    int sdone = 0, cdone = 0, rounds, ok = 0, r;
    double t0;

    if (s == NULL || c == NULL || BIO_new_bio_pair(&sb, 0, &cb, 0) != 1) {
        die("SSL objects");
    }
    SSL_set_bio(s, sb, sb);
    SSL_set_bio(c, cb, cb);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    for (rounds = 0; rounds < 64 && !(sdone && cdone); rounds++) {
        if (!cdone) {
            r = SSL_do_handshake(c);
            if (r == 1) {
                cdone = 1;
            } else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ) {
                break;
            }
        }
        if (!sdone) {
            t0 = now_s();
            r = SSL_do_handshake(s);
            *server_s += now_s() - t0;
            if (r == 1) {
                sdone = 1;
            } else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ) {
                break;
            }
        }
    }
    ok = sdone && cdone && SSL_get_verify_result(s) == X509_V_OK
         && SSL_get0_peer_certificate(s) != NULL;
    SSL_free(s);
    SSL_free(c);
    return ok;
}

int main(int argc, char **argv)
{
    struct hs_opts o;
    struct rusage ru;
    SSL_CTX *sctx, *cctx;
    double server_s = 0.0, start;
    long n = 0;

    parse_args(argc, argv, &o);
    check_mode(o.mode);
    sctx = server_ctx(&o);
    cctx = client_ctx(&o);
    /* warm-up: domainsec fetches the CRLs into its cache here */
    if (!handshake(sctx, cctx, &server_s)) {
        die("the warm-up handshake failed (client chain not verified)");
    }
    server_s = 0.0;
    start = now_s();
    while (now_s() - start < o.seconds) {
        if (!handshake(sctx, cctx, &server_s)) {
            die("a handshake failed (client chain not verified)");
        }
        n++;
    }
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        die("getrusage failed");
    }
    printf("mode=%s handshakes=%ld server_seconds=%.3f per_second=%.1f "
           "maxrss_kb=%ld\n",
           o.mode, n, server_s, server_s > 0 ? (double)n / server_s : 0.0,
           ru.ru_maxrss);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return 0;
}
