/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust anchors: load every certificate found in the trust_dirs directories
 * (PEM files, PEM bundles, DER files) once, drop duplicates, and index them
 * by subject name so that issuer lookups are a binary search. Directories
 * are opened as descriptors and files through openat, so a path that
 * resolved when the directory was opened is not resolved again. A missing
 * directory or an unusable file is logged and skipped; only running out of
 * memory fails. The OpenSSL error queue is left as it was found.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "domainsec/anchors.h"
#include "domainsec/log.h"

/* Larger files are not certificate files: skipped. */
#define DSEC_ANCHOR_MAX_FILE (1024L * 1024L)

typedef struct {
    X509 *cert; /* owned */
    char *source; /* owned: path of the file it came from */
} dsec_anchor;

/* One entry of the subject index; name is borrowed from cert. */
typedef struct {
    const X509_NAME *name;
    const X509 *cert;
    size_t idx; /* load order */
} dsec_anchor_key;

struct dsec_anchors {
    dsec_anchor *items; /* load order */
    size_t count;
    size_t cap;
    dsec_anchor_key *index; /* sorted by subject, then load order */
};

/* Outcome of reading one file; only NOMEM stops the whole load. */
typedef enum { DSEC_FILE_OK = 0, DSEC_FILE_SKIP, DSEC_FILE_NOMEM } dsec_file_rv;

static int name_cmp(const X509_NAME *a, const X509_NAME *b)
{
    int c = X509_NAME_cmp(a, b);

    /* X509_NAME_cmp may return -2 on an encoding failure: keep the sign */
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

static int key_cmp_index(const void *pa, const void *pb)
{
    const dsec_anchor_key *a = pa;
    const dsec_anchor_key *b = pb;
    int c = name_cmp(a->name, b->name);

    if (c != 0) {
        return c;
    }
    if (a->idx != b->idx) {
        return a->idx < b->idx ? -1 : 1;
    }
    return 0;
}

/* Same subject, then same certificate, then load order: finds duplicates. */
static int key_cmp_dedup(const void *pa, const void *pb)
{
    const dsec_anchor_key *a = pa;
    const dsec_anchor_key *b = pb;
    int c = name_cmp(a->name, b->name);

    if (c != 0) {
        return c;
    }
    c = X509_cmp(a->cert, b->cert);
    if (c != 0) {
        return c < 0 ? -1 : 1;
    }
    if (a->idx != b->idx) {
        return a->idx < b->idx ? -1 : 1;
    }
    return 0;
}

static int anchors_push(dsec_anchors *set, X509 *cert, const char *source)
{
    dsec_anchor *items = NULL;
    char *src = NULL;
    size_t cap;
    int ok = 0;

    if (set->count == set->cap) {
        cap = set->cap == 0 ? 16 : set->cap * 2;
        items = realloc(set->items, cap * sizeof(*items));
        if (items == NULL) {
            goto done;
        }
        set->items = items;
        set->cap = cap;
    }
    src = strdup(source);
    if (src == NULL) {
        goto done;
    }
    set->items[set->count].cert = cert;
    set->items[set->count].source = src;
    set->count++;
    ok = 1;
done:
    return ok;
}

/* Decode one DER certificate that must span exactly len bytes. */
static X509 *decode_der(const unsigned char *der, long len, int trusted)
{
    const unsigned char *p = der;
    X509 *cert = NULL;

    if (trusted) {
        cert = d2i_X509_AUX(NULL, &p, len);
    } else {
        cert = d2i_X509(NULL, &p, len);
    }
    if (cert != NULL && p != der + len) {
        X509_free(cert);
        cert = NULL;
    }
    return cert;
}

static int is_cert_pem_name(const char *name, int *trusted)
{
    *trusted = 0;
    if (strcmp(name, PEM_STRING_X509) == 0
        || strcmp(name, PEM_STRING_X509_OLD) == 0) {
        return 1;
    }
    if (strcmp(name, PEM_STRING_X509_TRUSTED) == 0) {
        *trusted = 1;
        return 1;
    }
    return 0;
}

/*
 * Every certificate of a PEM file, other blocks ignored. A certificate
 * block that does not decode is counted in *bad and skipped; *found counts
 * what was added.
 */
static dsec_file_rv parse_pem(dsec_anchors *set, const unsigned char *buf,
                              size_t len, const char *path, size_t *found,
                              size_t *bad)
{
    BIO *bio = NULL;
    char *name = NULL;
    char *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    int trusted = 0;
    X509 *cert = NULL;
    dsec_file_rv rv = DSEC_FILE_OK;

    bio = BIO_new_mem_buf(buf, (int)len);
    if (bio == NULL) {
        rv = DSEC_FILE_NOMEM;
        goto done;
    }
    while (PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
        if (is_cert_pem_name(name, &trusted)) {
            cert = decode_der(data, dlen, trusted);
            if (cert == NULL) {
                (*bad)++;
            } else if (!anchors_push(set, cert, path)) {
                rv = DSEC_FILE_NOMEM;
                goto done;
            } else {
                cert = NULL;
                (*found)++;
            }
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        name = NULL;
        header = NULL;
        data = NULL;
    }
done:
    X509_free(cert);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(bio);
    return rv;
}

static int looks_like_pem(const unsigned char *buf, size_t len)
{
    static const char marker[] = "-----BEGIN ";
    size_t mlen = sizeof(marker) - 1;
    size_t i;

    for (i = 0; i + mlen <= len; i++) {
        if (buf[i] == '-' && memcmp(buf + i, marker, mlen) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Read the regular file name in dfd, at most DSEC_ANCHOR_MAX_FILE bytes.
 * Sets *why to a static reason when the file is skipped.
 */
static dsec_file_rv read_file_at(int dfd, const char *name, unsigned char **out,
                                 size_t *outlen, const char **why)
{
    int fd = -1;
    struct stat st;
    unsigned char *buf = NULL;
    size_t len = 0;
    size_t cap;
    ssize_t n;
    dsec_file_rv rv = DSEC_FILE_SKIP;

    /* O_NONBLOCK: a FIFO swapped in after fstatat must not block us */
    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        *why = strerror(errno);
        goto done;
    }
    if (fstat(fd, &st) != 0) {
        *why = strerror(errno);
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        *why = "not a regular file";
        goto done;
    }
    if (st.st_size < 0 || st.st_size > DSEC_ANCHOR_MAX_FILE) {
        *why = "larger than 1 MiB";
        goto done;
    }
    /* one byte more than fstat said, to notice a file that grew */
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        rv = DSEC_FILE_NOMEM;
        goto done;
    }
    while (len < cap) {
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            *why = strerror(errno);
            goto done;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    if (len == cap) {
        *why = "file changed while being read";
        goto done;
    }
    if (len == 0) {
        *why = "empty file";
        goto done;
    }
    *out = buf;
    *outlen = len;
    buf = NULL;
    rv = DSEC_FILE_OK;
done:
    free(buf);
    if (fd >= 0) {
        close(fd);
    }
    return rv;
}

static dsec_file_rv load_file(dsec_anchors *set, int dfd, const char *name,
                              const char *path)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    size_t found = 0;
    size_t bad = 0;
    const char *why = "no certificate in it";
    X509 *cert = NULL;
    dsec_file_rv rv;

    rv = read_file_at(dfd, name, &buf, &len, &why);
    if (rv != DSEC_FILE_OK) {
        goto done;
    }
    if (looks_like_pem(buf, len)) {
        rv = parse_pem(set, buf, len, path, &found, &bad);
        if (rv != DSEC_FILE_OK) {
            goto done;
        }
    } else {
        cert = decode_der(buf, (long)len, 0);
        if (cert != NULL) {
            if (!anchors_push(set, cert, path)) {
                rv = DSEC_FILE_NOMEM;
                goto done;
            }
            cert = NULL;
            found = 1;
        }
    }
    if (found == 0) {
        why = bad > 0 ? "no valid certificate in it" : "no certificate in it";
        rv = DSEC_FILE_SKIP;
    } else if (bad > 0) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: skipping %zu malformed certificate block(s) of "
                 "%s",
                 bad, path);
    }
done:
    if (rv == DSEC_FILE_SKIP) {
        dsec_log(DSEC_LOG_WARNING, "domainsec: skipping %s: %s", path, why);
    }
    X509_free(cert);
    free(buf);
    return rv;
}

static int name_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

/* Load one directory; returns 0 only when out of memory. */
static int load_dir(dsec_anchors *set, const char *dir)
{
    int dfd = -1;
    DIR *d = NULL;
    struct dirent *de;
    struct stat st;
    char **names = NULL;
    char **grown;
    size_t n = 0;
    size_t cap = 0;
    size_t i;
    char *path = NULL;
    size_t plen;
    int ok = 0;

    dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (dfd < 0) {
        /* the default directory may well not exist: not worth a warning */
        dsec_log(errno == ENOENT ? DSEC_LOG_DEBUG : DSEC_LOG_WARNING,
                 "domainsec: skipping %s: %s", dir, strerror(errno));
        ok = 1;
        goto done;
    }
    d = fdopendir(dfd);
    if (d == NULL) {
        if (errno == ENOMEM) {
            goto done;
        }
        dsec_log(DSEC_LOG_WARNING, "domainsec: skipping %s: %s", dir,
                 strerror(errno));
        ok = 1;
        goto done;
    }
    dfd = -1; /* owned by d now */
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            break;
        }
        if (de->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap == 0 ? 32 : cap * 2;
            grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                goto done;
            }
            names = grown;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            goto done;
        }
        n++;
    }
    if (errno != 0) {
        dsec_log(DSEC_LOG_WARNING, "domainsec: error reading %s: %s", dir,
                 strerror(errno));
    }
    if (n > 0) {
        qsort(names, n, sizeof(*names), name_strcmp);
    }
    for (i = 0; i < n; i++) {
        free(path);
        plen = strlen(dir) + strlen(names[i]) + 2;
        path = malloc(plen);
        if (path == NULL) {
            goto done;
        }
        snprintf(path, plen, "%s%s%s", dir,
                 dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
        if (fstatat(dirfd(d), names[i], &st, 0) != 0) {
            dsec_log(DSEC_LOG_WARNING, "domainsec: skipping %s: %s", path,
                     strerror(errno));
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            dsec_log(DSEC_LOG_DEBUG, "domainsec: skipping %s: %s", path,
                     "not a regular file");
            continue;
        }
        if (load_file(set, dirfd(d), names[i], path) == DSEC_FILE_NOMEM) {
            goto done;
        }
    }
    ok = 1;
done:
    free(path);
    free_names(names, n);
    if (d != NULL) {
        closedir(d);
    }
    if (dfd >= 0) {
        close(dfd);
    }
    return ok;
}

/* Drop certificates loaded more than once (keep the first), build index. */
static int build_index(dsec_anchors *set)
{
    dsec_anchor_key *keys = NULL;
    unsigned char *dup = NULL;
    size_t i;
    size_t j;
    int ok = 0;

    if (set->count == 0) {
        ok = 1;
        goto done;
    }
    keys = calloc(set->count, sizeof(*keys));
    dup = calloc(set->count, 1);
    if (keys == NULL || dup == NULL) {
        goto done;
    }
    for (i = 0; i < set->count; i++) {
        keys[i].name = X509_get_subject_name(set->items[i].cert);
        keys[i].cert = set->items[i].cert;
        keys[i].idx = i;
    }
    qsort(keys, set->count, sizeof(*keys), key_cmp_dedup);
    for (i = 1; i < set->count; i++) {
        if (name_cmp(keys[i - 1].name, keys[i].name) == 0
            && X509_cmp(keys[i - 1].cert, keys[i].cert) == 0) {
            dup[keys[i].idx] = 1;
        }
    }
    for (i = 0, j = 0; i < set->count; i++) {
        if (dup[i]) {
            dsec_log(DSEC_LOG_DEBUG,
                     "domainsec: %s: certificate already loaded",
                     set->items[i].source);
            X509_free(set->items[i].cert);
            free(set->items[i].source);
            continue;
        }
        set->items[j++] = set->items[i];
    }
    set->count = j;
    for (i = 0; i < set->count; i++) {
        keys[i].name = X509_get_subject_name(set->items[i].cert);
        keys[i].cert = set->items[i].cert;
        keys[i].idx = i;
    }
    qsort(keys, set->count, sizeof(*keys), key_cmp_index);
    set->index = keys;
    keys = NULL;
    ok = 1;
done:
    free(keys);
    free(dup);
    return ok;
}

dsec_rv dsec_anchors_load(const char *dirs, dsec_anchors **out, DSEC_ERR *err)
{
    dsec_anchors *set = NULL;
    char *copy = NULL;
    char *dir;
    char *save = NULL;
    dsec_rv rv = DSEC_ERR_NOMEM;

    /* parsing leaves errors on the queue: the caller must not see them */
    ERR_set_mark();
    if (out == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_INVALID, 0,
                          "dsec_anchors_load: no output pointer");
        goto done;
    }
    set = calloc(1, sizeof(*set));
    if (set == NULL) {
        goto done;
    }
    if (dirs != NULL && dirs[0] != '\0') {
        copy = strdup(dirs);
        if (copy == NULL) {
            goto done;
        }
        for (dir = strtok_r(copy, ":", &save); dir != NULL;
             dir = strtok_r(NULL, ":", &save)) {
            if (!load_dir(set, dir)) {
                goto done;
            }
        }
    }
    if (!build_index(set)) {
        goto done;
    }
    *out = set;
    set = NULL;
    rv = DSEC_OK;
done:
    if (rv == DSEC_ERR_NOMEM) {
        dsec_err_set(err, rv, 0, "out of memory loading trust anchors");
    }
    ERR_pop_to_mark();
    free(copy);
    dsec_anchors_free(set);
    return rv;
}

void dsec_anchors_free(dsec_anchors *set)
{
    size_t i;

    if (set == NULL) {
        return;
    }
    for (i = 0; i < set->count; i++) {
        X509_free(set->items[i].cert);
        free(set->items[i].source);
    }
    free(set->items);
    free(set->index);
    free(set);
}

size_t dsec_anchors_count(const dsec_anchors *set)
{
    return set == NULL ? 0 : set->count;
}

X509 *dsec_anchors_get0(const dsec_anchors *set, size_t i)
{
    if (set == NULL || i >= set->count) {
        return NULL;
    }
    return set->items[i].cert;
}

const char *dsec_anchors_source(const dsec_anchors *set, size_t i)
{
    if (set == NULL || i >= set->count) {
        return NULL;
    }
    return set->items[i].source;
}

int dsec_anchors_find_subject(const dsec_anchors *set, const X509_NAME *name,
                              size_t *pos, size_t *index)
{
    size_t lo = 0;
    size_t hi;
    size_t mid;
    int c;
    int found = 0;

    if (set == NULL || name == NULL || pos == NULL || index == NULL
        || set->index == NULL) {
        goto done;
    }
    /* first key >= (name, *pos) */
    hi = set->count;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = name_cmp(set->index[mid].name, name);
        if (c < 0 || (c == 0 && set->index[mid].idx < *pos)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < set->count && name_cmp(set->index[lo].name, name) == 0) {
        *index = set->index[lo].idx;
        *pos = *index + 1;
        found = 1;
    }
done:
    return found;
}
