/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the path builder on hostile certificates. The input is
 * a sequence of [2-byte big-endian length][DER certificate]; the first one
 * that parses is the start, the others are the candidate pool, and every
 * self-signed one of them is an anchor. Revocation is not consulted.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include "domainsec/path.h"

#define POOL_MAX 64

typedef struct {
    X509 *cert[POOL_MAX];
    int n;
} pool;

static int cands(void *arg, X509 *child, dsec_cands *out)
{
    pool *p = arg;
    int i;

    for (i = 0; i < p->n; i++) {
        int anchor = X509_self_signed(p->cert[i], 0) == 1;

        if (X509_NAME_cmp(X509_get_subject_name(p->cert[i]),
                          X509_get_issuer_name(child))
                == 0
            && !dsec_cands_add(out, p->cert[i],
                               anchor ? DSEC_SRC_ANCHOR : DSEC_SRC_CROSS,
                               anchor, "fuzz")) {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pool p = { { NULL }, 0 };
    X509 *start = NULL;
    STACK_OF(X509) *path = NULL;
    dsec_path_params prm;
    size_t off = 0;
    int i, sigs = 0;

    while (off + 2 <= size && p.n < POOL_MAX) {
        size_t len = ((size_t)data[off] << 8) | data[off + 1];
        const unsigned char *q = data + off + 2;
        X509 *x;

        off += 2;
        if (len > size - off) {
            len = size - off;
        }
        x = d2i_X509(NULL, &q, (long)len);
        off += len;
        if (x == NULL) {
            continue;
        }
        if (start == NULL) {
            start = x;
        } else {
            p.cert[p.n++] = x;
        }
    }
    if (start != NULL) {
        memset(&prm, 0, sizeof(prm));
        prm.now = (time_t)1795882739; /* fixed: reproducible runs */
        prm.check_time = 1;
        prm.max_depth = 10;
        prm.max_sigs = 100;
        prm.auth_level = 1;
        prm.sigs_used = &sigs;
        prm.candidates = cands;
        prm.arg = &p;
        (void)dsec_path_build(&prm, start, &path);
        sk_X509_pop_free(path, X509_free);
        X509_free(start);
    }
    for (i = 0; i < p.n; i++) {
        X509_free(p.cert[i]);
    }
    ERR_clear_error();
    return 0;
}
