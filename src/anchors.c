/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate directory sets: load every certificate found in a list of
 * directories (PEM files, PEM bundles, DER files) into an immutable,
 * reference-counted snapshot, drop duplicates (same DER), and index it by
 * subject, issuer and serial, SHA-1 and SHA-256 fingerprint and subject key
 * identifier, so that every lookup is a binary search. A dsec_certdir keeps
 * the directories open as descriptors (files are read through openat, so a
 * chroot after activation does not matter) and, at most once a second,
 * compares a signature of their entries with the last one, rebuilding the
 * snapshot when it changed; readers keep the snapshot they hold. A missing
 * directory or an unusable file is logged once per build and skipped; only
 * running out of memory fails. The OpenSSL error queue is left as found.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/anchors.h"
#include "domainsec/log.h"

/* Larger files are not certificate files: skipped. */
#define DSEC_ANCHOR_MAX_FILE (1024L * 1024L)
#define DSEC_SHA1_LEN 20
#define DSEC_SHA256_LEN 32

typedef struct {
    X509 *cert; /* owned */
    char *source; /* owned: path of the file it came from */
    /* borrowed from cert, computed once so lookups never write to it */
    const X509_NAME *subject;
    const X509_NAME *issuer;
    const ASN1_INTEGER *serial;
    const ASN1_OCTET_STRING *skid; /* NULL when absent */
    unsigned char sha1[DSEC_SHA1_LEN];
    unsigned char sha256[DSEC_SHA256_LEN];
} dsec_anchor;

typedef struct {
    char *path; /* owned */
    char *why; /* owned */
} dsec_skip;

struct dsec_anchors {
    atomic_int refs;
    dsec_anchor *items; /* load order */
    size_t count;
    size_t cap;
    /* indices: pointers into items, each sorted by its key then load order */
    const dsec_anchor **by_subject;
    const dsec_anchor **by_issuer_serial;
    const dsec_anchor **by_sha1;
    const dsec_anchor **by_sha256;
    const dsec_anchor **by_skid; /* only the certificates with an SKID */
    size_t nskid;
    dsec_skip *skipped;
    size_t nskipped;
    size_t skipcap;
};

typedef struct {
    int fd; /* -1 when the directory could not be opened */
    char *path; /* owned */
    char *why; /* owned: why it could not be opened */
} dsec_certdir_dir;

struct dsec_certdir {
    char *list; /* the ':'-separated list as given */
    dsec_certdir_dir *dirs;
    size_t ndirs;
    /* held only to take a reference to cur or to swap it */
    pthread_mutex_t snap_lock;
    dsec_anchors *cur;
    /* one checker at a time; the others do not wait for it (trylock) */
    pthread_mutex_t scan_lock;
    atomic_llong next_check_ms; /* CLOCK_MONOTONIC */
    unsigned char *sig; /* signature of cur's directories; scan_lock */
    size_t siglen;
};

/* Outcome of reading one file; only NOMEM stops the whole load. */
typedef enum { DSEC_FILE_OK = 0, DSEC_FILE_SKIP, DSEC_FILE_NOMEM } dsec_file_rv;

static int name_cmp(const X509_NAME *a, const X509_NAME *b)
{
    int c = X509_NAME_cmp(a, b);

    /* X509_NAME_cmp may return -2 on an encoding failure: keep the sign */
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
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
    memset(&set->items[set->count], 0, sizeof(set->items[set->count]));
    set->items[set->count].cert = cert;
    set->items[set->count].source = src;
    set->count++;
    ok = 1;
done:
    return ok;
}

/* Record a skipped file or directory; returns 0 only when out of memory. */
static int skip_add(dsec_anchors *set, const char *path, const char *why)
{
    dsec_skip *grown;
    size_t cap;

    if (set->nskipped == set->skipcap) {
        cap = set->skipcap == 0 ? 8 : set->skipcap * 2;
        grown = realloc(set->skipped, cap * sizeof(*grown));
        if (grown == NULL) {
            return 0;
        }
        set->skipped = grown;
        set->skipcap = cap;
    }
    set->skipped[set->nskipped].path = strdup(path);
    set->skipped[set->nskipped].why = strdup(why);
    if (set->skipped[set->nskipped].path == NULL
        || set->skipped[set->nskipped].why == NULL) {
        free(set->skipped[set->nskipped].path);
        free(set->skipped[set->nskipped].why);
        return 0;
    }
    set->nskipped++;
    return 1;
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
    char partial[64];
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
        snprintf(partial, sizeof(partial),
                 "%zu malformed certificate block(s) skipped", bad);
        if (!skip_add(set, path, partial)) {
            rv = DSEC_FILE_NOMEM;
        }
    }
done:
    if (rv == DSEC_FILE_SKIP) {
        dsec_log(DSEC_LOG_WARNING, "domainsec: skipping %s: %s", path, why);
        if (!skip_add(set, path, why)) {
            rv = DSEC_FILE_NOMEM;
        }
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

/*
 * The sorted entry names of the open directory dfd, dot files left out.
 * Reads through a duplicate of dfd rewound to the start, so dfd itself
 * stays usable (and needs no permission or path: chroot-safe). Returns
 * DSEC_OK, DSEC_ERR_NOMEM, or DSEC_ERR_IO with errno set.
 */
static dsec_rv list_dir(int dfd, char ***out, size_t *outn)
{
    int fd = -1;
    DIR *d = NULL;
    struct dirent *de;
    char **names = NULL;
    char **grown;
    size_t n = 0;
    size_t cap = 0;
    int saved = 0;
    dsec_rv rv = DSEC_ERR_IO;

    fd = dup(dfd);
    if (fd < 0) {
        saved = errno;
        goto done;
    }
    d = fdopendir(fd);
    if (d == NULL) {
        saved = errno;
        goto done;
    }
    fd = -1; /* owned by d now */
    /* the duplicate shares the offset of dfd: start from the beginning */
    rewinddir(d);
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0) {
                saved = errno;
                goto done;
            }
            break;
        }
        if (de->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap == 0 ? 32 : cap * 2;
            grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                rv = DSEC_ERR_NOMEM;
                goto done;
            }
            names = grown;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            rv = DSEC_ERR_NOMEM;
            goto done;
        }
        n++;
    }
    if (n > 0) {
        qsort(names, n, sizeof(*names), name_strcmp);
    }
    *out = names;
    *outn = n;
    names = NULL;
    n = 0;
    rv = DSEC_OK;
done:
    free_names(names, n);
    if (d != NULL) {
        closedir(d);
    }
    if (fd >= 0) {
        close(fd);
    }
    errno = saved;
    return rv;
}

static char *join_path(const char *dir, const char *name)
{
    size_t dlen = strlen(dir);
    size_t plen = dlen + strlen(name) + 2;
    char *path = malloc(plen);

    if (path != NULL) {
        snprintf(path, plen, "%s%s%s", dir,
                 dlen > 0 && dir[dlen - 1] == '/' ? "" : "/", name);
    }
    return path;
}

/*
 * Load one open directory. DSEC_ERR_IO: it could not be listed (logged and
 * recorded); DSEC_ERR_NOMEM stops everything.
 */
static dsec_rv load_dir(dsec_anchors *set, const dsec_certdir_dir *dir)
{
    struct stat st;
    char **names = NULL;
    size_t n = 0;
    size_t i;
    char *path = NULL;
    dsec_rv rv;

    rv = list_dir(dir->fd, &names, &n);
    if (rv == DSEC_ERR_IO) {
        dsec_log(DSEC_LOG_WARNING, "domainsec: cannot read directory %s: %s",
                 dir->path, strerror(errno));
        if (!skip_add(set, dir->path, strerror(errno))) {
            rv = DSEC_ERR_NOMEM;
        }
        goto done;
    }
    if (rv != DSEC_OK) {
        goto done;
    }
    for (i = 0; i < n; i++) {
        free(path);
        path = join_path(dir->path, names[i]);
        if (path == NULL) {
            rv = DSEC_ERR_NOMEM;
            goto done;
        }
        if (fstatat(dir->fd, names[i], &st, 0) != 0) {
            dsec_log(DSEC_LOG_WARNING, "domainsec: skipping %s: %s", path,
                     strerror(errno));
            if (!skip_add(set, path, strerror(errno))) {
                rv = DSEC_ERR_NOMEM;
                goto done;
            }
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            dsec_log(DSEC_LOG_DEBUG, "domainsec: skipping %s: %s", path,
                     "not a regular file");
            continue;
        }
        if (load_file(set, dir->fd, names[i], path) == DSEC_FILE_NOMEM) {
            rv = DSEC_ERR_NOMEM;
            goto done;
        }
    }
    rv = DSEC_OK;
done:
    free(path);
    free_names(names, n);
    return rv;
}

/* ---------------------------------------------------------------- indices */

static int ptr_order(const dsec_anchor *a, const dsec_anchor *b)
{
    return a < b ? -1 : (a > b ? 1 : 0);
}

static int skid_cmp(const ASN1_OCTET_STRING *a, const ASN1_OCTET_STRING *b)
{
    int la = ASN1_STRING_length(a);
    int lb = ASN1_STRING_length(b);

    if (la != lb) {
        return la < lb ? -1 : 1;
    }
    if (la == 0) {
        return 0;
    }
    return memcmp(ASN1_STRING_get0_data(a), ASN1_STRING_get0_data(b),
                  (size_t)la);
}

static int serial_cmp(const ASN1_INTEGER *a, const ASN1_INTEGER *b)
{
    int c = ASN1_INTEGER_cmp(a, b);

    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

static int md_cmp(const unsigned char *a, const unsigned char *b, size_t len)
{
    int c = memcmp(a, b, len);

    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

/* Key comparisons: item against a search key. */
typedef struct {
    const X509_NAME *name;
    const ASN1_INTEGER *serial;
    const unsigned char *md;
    const ASN1_OCTET_STRING *skid;
} dsec_key;

typedef int (*dsec_key_cmp_fn)(const dsec_anchor *a, const dsec_key *k);

static int key_subject(const dsec_anchor *a, const dsec_key *k)
{
    return name_cmp(a->subject, k->name);
}

static int key_issuer_serial(const dsec_anchor *a, const dsec_key *k)
{
    int c = name_cmp(a->issuer, k->name);

    return c != 0 ? c : serial_cmp(a->serial, k->serial);
}

static int key_sha1(const dsec_anchor *a, const dsec_key *k)
{
    return md_cmp(a->sha1, k->md, DSEC_SHA1_LEN);
}

static int key_sha256(const dsec_anchor *a, const dsec_key *k)
{
    return md_cmp(a->sha256, k->md, DSEC_SHA256_LEN);
}

static int key_skid(const dsec_anchor *a, const dsec_key *k)
{
    return skid_cmp(a->skid, k->skid);
}

/* qsort comparators over const dsec_anchor * elements: key, then order. */
#define DSEC_SORT_CMP(fn, expr) \
    static int fn(const void *pa, const void *pb) \
    { \
        const dsec_anchor *a = *(const dsec_anchor *const *)pa; \
        const dsec_anchor *b = *(const dsec_anchor *const *)pb; \
        int c = (expr); \
\
        return c != 0 ? c : ptr_order(a, b); \
    }

DSEC_SORT_CMP(sort_subject, name_cmp(a->subject, b->subject))
DSEC_SORT_CMP(sort_issuer_serial, name_cmp(a->issuer, b->issuer) != 0
                                      ? name_cmp(a->issuer, b->issuer)
                                      : serial_cmp(a->serial, b->serial))
DSEC_SORT_CMP(sort_sha1, md_cmp(a->sha1, b->sha1, DSEC_SHA1_LEN))
DSEC_SORT_CMP(sort_sha256, md_cmp(a->sha256, b->sha256, DSEC_SHA256_LEN))
DSEC_SORT_CMP(sort_skid, skid_cmp(a->skid, b->skid))

/*
 * First entry of idx (n entries, sorted by cmp then load order) whose key
 * equals k and whose load index is >= *pos.
 */
static int index_find(const dsec_anchors *set, const dsec_anchor *const *idx,
                      size_t n, dsec_key_cmp_fn cmp, const dsec_key *k,
                      size_t *pos, size_t *index)
{
    size_t lo = 0;
    size_t hi = n;
    size_t mid;
    size_t at;
    int c;

    if (idx == NULL || pos == NULL || index == NULL) {
        return 0;
    }
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = cmp(idx[mid], k);
        at = (size_t)(idx[mid] - set->items);
        if (c < 0 || (c == 0 && at < *pos)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < n && cmp(idx[lo], k) == 0) {
        *index = (size_t)(idx[lo] - set->items);
        *pos = *index + 1;
        return 1;
    }
    return 0;
}

static const dsec_anchor **make_index(const dsec_anchors *set, int only_skid,
                                      int (*sort)(const void *, const void *),
                                      size_t *n)
{
    const dsec_anchor **idx;
    size_t i;
    size_t j = 0;

    idx = calloc(set->count > 0 ? set->count : 1, sizeof(*idx));
    if (idx == NULL) {
        return NULL;
    }
    for (i = 0; i < set->count; i++) {
        if (!only_skid || set->items[i].skid != NULL) {
            idx[j++] = &set->items[i];
        }
    }
    if (j > 1) {
        qsort(idx, j, sizeof(*idx), sort);
    }
    *n = j;
    return idx;
}

/*
 * Compute each certificate's keys, drop the certificates whose DER was
 * already loaded (keep the first), and build every index.
 */
static int build_index(dsec_anchors *set)
{
    const dsec_anchor **tmp = NULL;
    unsigned char *dup = NULL;
    unsigned int mdlen;
    dsec_anchor *a;
    size_t n = 0;
    size_t i;
    size_t j;
    int ok = 0;

    for (i = 0, j = 0; i < set->count; i++) {
        a = &set->items[i];
        a->subject = X509_get_subject_name(a->cert);
        a->issuer = X509_get_issuer_name(a->cert);
        a->serial = X509_get0_serialNumber(a->cert);
        /* also caches the extensions: later reads do not write */
        a->skid = X509_get0_subject_key_id(a->cert);
        mdlen = 0;
        if (!X509_digest(a->cert, EVP_sha1(), a->sha1, &mdlen)
            || mdlen != DSEC_SHA1_LEN
            || !X509_digest(a->cert, EVP_sha256(), a->sha256, &mdlen)
            || mdlen != DSEC_SHA256_LEN) {
            dsec_log(DSEC_LOG_WARNING,
                     "domainsec: skipping a certificate of %s: cannot "
                     "compute its fingerprint",
                     a->source);
            if (!skip_add(set, a->source, "cannot compute a fingerprint")) {
                goto done;
            }
            X509_free(a->cert);
            free(a->source);
            continue;
        }
        set->items[j++] = *a;
    }
    set->count = j;
    dup = calloc(set->count > 0 ? set->count : 1, 1);
    tmp = make_index(set, 0, sort_sha256, &n);
    if (dup == NULL || tmp == NULL) {
        goto done;
    }
    /* same SHA-256 = same DER; the one loaded first sorts first */
    for (i = 1; i < n; i++) {
        if (md_cmp(tmp[i - 1]->sha256, tmp[i]->sha256, DSEC_SHA256_LEN) == 0
            && X509_cmp(tmp[i - 1]->cert, tmp[i]->cert) == 0) {
            dup[tmp[i] - set->items] = 1;
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
    set->by_subject = make_index(set, 0, sort_subject, &n);
    set->by_issuer_serial = make_index(set, 0, sort_issuer_serial, &n);
    set->by_sha1 = make_index(set, 0, sort_sha1, &n);
    set->by_sha256 = make_index(set, 0, sort_sha256, &n);
    set->by_skid = make_index(set, 1, sort_skid, &set->nskid);
    if (set->by_subject == NULL || set->by_issuer_serial == NULL
        || set->by_sha1 == NULL || set->by_sha256 == NULL
        || set->by_skid == NULL) {
        goto done;
    }
    ok = 1;
done:
    free(tmp);
    free(dup);
    return ok;
}

/* --------------------------------------------------------------- snapshot */

static dsec_anchors *anchors_new(void)
{
    dsec_anchors *set = calloc(1, sizeof(*set));

    if (set != NULL) {
        atomic_init(&set->refs, 1);
    }
    return set;
}

static void anchors_destroy(dsec_anchors *set)
{
    size_t i;

    for (i = 0; i < set->count; i++) {
        X509_free(set->items[i].cert);
        free(set->items[i].source);
    }
    for (i = 0; i < set->nskipped; i++) {
        free(set->skipped[i].path);
        free(set->skipped[i].why);
    }
    free(set->items);
    free(set->by_subject);
    free(set->by_issuer_serial);
    free(set->by_sha1);
    free(set->by_sha256);
    free(set->by_skid);
    free(set->skipped);
    free(set);
}

/*
 * A snapshot of the directories. *complete is cleared when an open
 * directory could not be listed. Only out of memory fails (NULL).
 */
static dsec_anchors *snapshot_build(const dsec_certdir *cd, int *complete)
{
    dsec_anchors *set = anchors_new();
    dsec_rv rv;
    size_t i;
    int ok = 0;

    *complete = 1;
    if (set == NULL) {
        goto done;
    }
    /* parsing leaves errors on the queue: the caller must not see them */
    ERR_set_mark();
    for (i = 0; i < cd->ndirs; i++) {
        if (cd->dirs[i].fd < 0) {
            if (!skip_add(set, cd->dirs[i].path, cd->dirs[i].why)) {
                goto pop;
            }
            continue;
        }
        rv = load_dir(set, &cd->dirs[i]);
        if (rv == DSEC_ERR_NOMEM) {
            goto pop;
        }
        if (rv != DSEC_OK) {
            *complete = 0;
        }
    }
    if (!build_index(set)) {
        goto pop;
    }
    ok = 1;
pop:
    ERR_pop_to_mark();
done:
    if (!ok && set != NULL) {
        anchors_destroy(set);
        set = NULL;
    }
    return set;
}

int dsec_anchors_up_ref(dsec_anchors *set)
{
    if (set == NULL) {
        return 0;
    }
    atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
    return 1;
}

void dsec_anchors_free(dsec_anchors *set)
{
    if (set == NULL) {
        return;
    }
    if (atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) > 1) {
        return;
    }
    anchors_destroy(set);
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

const unsigned char *dsec_anchors_get0_fingerprint(const dsec_anchors *set,
                                                   size_t i, int nid,
                                                   size_t *len)
{
    if (set == NULL || i >= set->count || len == NULL) {
        return NULL;
    }
    if (nid == NID_sha1) {
        *len = DSEC_SHA1_LEN;
        return set->items[i].sha1;
    }
    if (nid == NID_sha256) {
        *len = DSEC_SHA256_LEN;
        return set->items[i].sha256;
    }
    return NULL;
}

size_t dsec_anchors_skipped_count(const dsec_anchors *set)
{
    return set == NULL ? 0 : set->nskipped;
}

int dsec_anchors_skipped(const dsec_anchors *set, size_t i, const char **path,
                         const char **why)
{
    if (set == NULL || i >= set->nskipped) {
        return 0;
    }
    if (path != NULL) {
        *path = set->skipped[i].path;
    }
    if (why != NULL) {
        *why = set->skipped[i].why;
    }
    return 1;
}

int dsec_anchors_find_subject(const dsec_anchors *set, const X509_NAME *name,
                              size_t *pos, size_t *index)
{
    dsec_key k = { name, NULL, NULL, NULL };

    if (set == NULL || name == NULL) {
        return 0;
    }
    return index_find(set, set->by_subject, set->count, key_subject, &k, pos,
                      index);
}

int dsec_anchors_find_issuer_serial(const dsec_anchors *set,
                                    const X509_NAME *issuer,
                                    const ASN1_INTEGER *serial, size_t *pos,
                                    size_t *index)
{
    dsec_key k = { issuer, serial, NULL, NULL };

    if (set == NULL || issuer == NULL || serial == NULL) {
        return 0;
    }
    return index_find(set, set->by_issuer_serial, set->count, key_issuer_serial,
                      &k, pos, index);
}

int dsec_anchors_find_fingerprint(const dsec_anchors *set, int nid,
                                  const unsigned char *md, size_t mdlen,
                                  size_t *pos, size_t *index)
{
    dsec_key k = { NULL, NULL, md, NULL };

    if (set == NULL || md == NULL) {
        return 0;
    }
    if (nid == NID_sha1 && mdlen == DSEC_SHA1_LEN) {
        return index_find(set, set->by_sha1, set->count, key_sha1, &k, pos,
                          index);
    }
    if (nid == NID_sha256 && mdlen == DSEC_SHA256_LEN) {
        return index_find(set, set->by_sha256, set->count, key_sha256, &k, pos,
                          index);
    }
    return 0;
}

int dsec_anchors_find_skid(const dsec_anchors *set,
                           const ASN1_OCTET_STRING *skid, size_t *pos,
                           size_t *index)
{
    dsec_key k = { NULL, NULL, NULL, skid };

    if (set == NULL || skid == NULL) {
        return 0;
    }
    return index_find(set, set->by_skid, set->nskid, key_skid, &k, pos, index);
}

int dsec_anchors_fingerprint_nid(const char *name, size_t mdlen)
{
    static const struct {
        const char *name;
        int nid;
    } names[] = {
        { "SHA1", NID_sha1 },       { "SHA-1", NID_sha1 },
        { "SSL3-SHA1", NID_sha1 },  { "SHA256", NID_sha256 },
        { "SHA-256", NID_sha256 },  { "SHA2-256", NID_sha256 },
        { "SHA2_256", NID_sha256 },
    };
    size_t i;
    int nid = NID_undef;

    if (name == NULL || name[0] == '\0') {
        if (mdlen == DSEC_SHA1_LEN) {
            nid = NID_sha1;
        } else if (mdlen == DSEC_SHA256_LEN) {
            nid = NID_sha256;
        }
        return nid;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            nid = names[i].nid;
            break;
        }
    }
    if ((nid == NID_sha1 && mdlen != DSEC_SHA1_LEN)
        || (nid == NID_sha256 && mdlen != DSEC_SHA256_LEN)) {
        nid = NID_undef;
    }
    return nid;
}

/* ---------------------------------------------------------------- certdir */

static long long mono_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    unsigned char *buf;
    size_t len;
    size_t cap;
} dsec_sigbuf;

static int sig_put(dsec_sigbuf *s, const void *data, size_t len)
{
    unsigned char *grown;
    size_t cap;

    if (s->len + len > s->cap) {
        cap = s->cap == 0 ? 1024 : s->cap;
        while (cap < s->len + len) {
            cap *= 2;
        }
        grown = realloc(s->buf, cap);
        if (grown == NULL) {
            return 0;
        }
        s->buf = grown;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return 1;
}

/*
 * The signature of the directories: for every entry, its name and what
 * fstatat says about it (following symlinks, as the loader does): type,
 * size, mtime, ctime, inode and device. A rewrite in place changes mtime
 * and ctime even when the size stays. Returns DSEC_OK, DSEC_ERR_NOMEM or
 * DSEC_ERR_IO (a directory could not be listed; errno set, *bad its path).
 */
static dsec_rv signature(const dsec_certdir *cd, dsec_sigbuf *s,
                         const char **bad)
{
    struct stat st;
    char **names = NULL;
    size_t n = 0;
    size_t i;
    size_t d;
    int64_t rec[9];
    int saved;
    dsec_rv rv = DSEC_OK;

    for (d = 0; d < cd->ndirs && rv == DSEC_OK; d++) {
        if (cd->dirs[d].fd < 0) {
            continue;
        }
        rv = list_dir(cd->dirs[d].fd, &names, &n);
        if (rv != DSEC_OK) {
            saved = errno;
            *bad = cd->dirs[d].path;
            errno = saved;
            break;
        }
        rec[0] = (int64_t)d;
        rec[1] = (int64_t)n;
        if (!sig_put(s, rec, 2 * sizeof(rec[0]))) {
            rv = DSEC_ERR_NOMEM;
        }
        for (i = 0; i < n && rv == DSEC_OK; i++) {
            memset(rec, 0, sizeof(rec));
            if (fstatat(cd->dirs[d].fd, names[i], &st, 0) != 0) {
                rec[0] = -(int64_t)errno;
            } else {
                rec[0] = (int64_t)(st.st_mode & S_IFMT);
                rec[1] = (int64_t)st.st_size;
                rec[2] = (int64_t)st.st_mtim.tv_sec;
                rec[3] = (int64_t)st.st_mtim.tv_nsec;
                rec[4] = (int64_t)st.st_ctim.tv_sec;
                rec[5] = (int64_t)st.st_ctim.tv_nsec;
                rec[6] = (int64_t)st.st_ino;
                rec[7] = (int64_t)st.st_dev;
            }
            rec[8] = (int64_t)strlen(names[i]);
            if (!sig_put(s, rec, sizeof(rec))
                || !sig_put(s, names[i], strlen(names[i]))) {
                rv = DSEC_ERR_NOMEM;
            }
        }
        free_names(names, n);
        names = NULL;
        n = 0;
    }
    return rv;
}

static void certdir_close_dirs(dsec_certdir *cd)
{
    size_t i;

    for (i = 0; i < cd->ndirs; i++) {
        if (cd->dirs[i].fd >= 0) {
            close(cd->dirs[i].fd);
        }
        free(cd->dirs[i].path);
        free(cd->dirs[i].why);
    }
    free(cd->dirs);
    cd->dirs = NULL;
    cd->ndirs = 0;
}

/* Open the directories of the list; 0 only when out of memory. */
static int certdir_open_dirs(dsec_certdir *cd, const char *list)
{
    char *copy = NULL;
    char *dir;
    char *save = NULL;
    dsec_certdir_dir *grown;
    dsec_certdir_dir *e;
    size_t cap = 0;
    int ok = 0;

    if (list == NULL || list[0] == '\0') {
        ok = 1;
        goto done;
    }
    copy = strdup(list);
    if (copy == NULL) {
        goto done;
    }
    for (dir = strtok_r(copy, ":", &save); dir != NULL;
         dir = strtok_r(NULL, ":", &save)) {
        if (cd->ndirs == cap) {
            cap = cap == 0 ? 4 : cap * 2;
            grown = realloc(cd->dirs, cap * sizeof(*grown));
            if (grown == NULL) {
                goto done;
            }
            cd->dirs = grown;
        }
        e = &cd->dirs[cd->ndirs];
        memset(e, 0, sizeof(*e));
        e->fd = -1;
        e->path = strdup(dir);
        if (e->path == NULL) {
            goto done;
        }
        cd->ndirs++;
        e->fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (e->fd < 0) {
            /* the default directory may well not exist: not worth a warning */
            dsec_log(errno == ENOENT ? DSEC_LOG_DEBUG : DSEC_LOG_WARNING,
                     "domainsec: skipping %s: %s", dir, strerror(errno));
            e->why = strdup(strerror(errno));
            if (e->why == NULL) {
                goto done;
            }
        }
    }
    ok = 1;
done:
    free(copy);
    return ok;
}

dsec_rv dsec_certdir_open(const char *dirs, dsec_certdir **out, DSEC_ERR *err)
{
    dsec_certdir *cd = NULL;
    dsec_sigbuf sig = { NULL, 0, 0 };
    const char *bad = NULL;
    int locks = 0;
    int complete = 1;
    dsec_rv rv = DSEC_ERR_NOMEM;

    if (out == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_INVALID, 0,
                          "dsec_certdir_open: no output pointer");
        goto done;
    }
    cd = calloc(1, sizeof(*cd));
    if (cd == NULL) {
        goto done;
    }
    cd->list = strdup(dirs != NULL ? dirs : "");
    if (cd->list == NULL) {
        goto done;
    }
    if (pthread_mutex_init(&cd->snap_lock, NULL) != 0) {
        goto done;
    }
    if (pthread_mutex_init(&cd->scan_lock, NULL) != 0) {
        pthread_mutex_destroy(&cd->snap_lock);
        goto done;
    }
    locks = 1;
    if (!certdir_open_dirs(cd, dirs)) {
        goto done;
    }
    /* signature first: a change made while loading is seen next time */
    if (signature(cd, &sig, &bad) == DSEC_ERR_NOMEM) {
        goto done;
    }
    cd->cur = snapshot_build(cd, &complete);
    if (cd->cur == NULL) {
        goto done;
    }
    cd->sig = sig.buf;
    cd->siglen = sig.len;
    sig.buf = NULL;
    atomic_init(&cd->next_check_ms, mono_ms() + DSEC_CERTDIR_CHECK_INTERVAL_MS);
    *out = cd;
    cd = NULL;
    rv = DSEC_OK;
done:
    if (rv == DSEC_ERR_NOMEM) {
        dsec_err_set(err, rv, 0, "out of memory loading certificates");
    }
    free(sig.buf);
    if (cd != NULL) {
        if (locks) {
            pthread_mutex_destroy(&cd->snap_lock);
            pthread_mutex_destroy(&cd->scan_lock);
        }
        dsec_anchors_free(cd->cur);
        certdir_close_dirs(cd);
        free(cd->list);
        free(cd);
    }
    return rv;
}

/* Called with scan_lock held: rebuild when the signature changed. */
static void certdir_refresh(dsec_certdir *cd)
{
    dsec_sigbuf sig = { NULL, 0, 0 };
    dsec_anchors *set = NULL;
    dsec_anchors *old;
    const char *bad = "";
    int complete = 1;
    dsec_rv rv;

    rv = signature(cd, &sig, &bad);
    if (rv == DSEC_ERR_IO) {
        /* keep what we have rather than drop a whole directory */
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: cannot read directory %s: %s; keeping the "
                 "certificates loaded before",
                 bad, strerror(errno));
        goto done;
    }
    if (rv != DSEC_OK) {
        goto done;
    }
    if (sig.len == cd->siglen
        && (sig.len == 0 || memcmp(sig.buf, cd->sig, sig.len) == 0)) {
        goto done;
    }
    set = snapshot_build(cd, &complete);
    if (set == NULL) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: out of memory reloading %s; keeping the "
                 "certificates loaded before",
                 cd->list);
        goto done;
    }
    if (!complete) {
        /* logged by load_dir; the next check tries again */
        goto done;
    }
    dsec_log(DSEC_LOG_INFO, "domainsec: reloaded %s: %zu certificates",
             cd->list, set->count);
    pthread_mutex_lock(&cd->snap_lock);
    old = cd->cur;
    cd->cur = set;
    pthread_mutex_unlock(&cd->snap_lock);
    set = NULL;
    dsec_anchors_free(old);
    free(cd->sig);
    cd->sig = sig.buf;
    cd->siglen = sig.len;
    sig.buf = NULL;
done:
    dsec_anchors_free(set);
    free(sig.buf);
}

dsec_anchors *dsec_certdir_get(dsec_certdir *cd)
{
    dsec_anchors *set;
    long long now;

    if (cd == NULL) {
        return NULL;
    }
    now = mono_ms();
    if (now >= atomic_load(&cd->next_check_ms)
        && pthread_mutex_trylock(&cd->scan_lock) == 0) {
        /* another thread may have checked between the load and the lock */
        if (now >= atomic_load(&cd->next_check_ms)) {
            certdir_refresh(cd);
            atomic_store(&cd->next_check_ms,
                         mono_ms() + DSEC_CERTDIR_CHECK_INTERVAL_MS);
        }
        pthread_mutex_unlock(&cd->scan_lock);
    }
    pthread_mutex_lock(&cd->snap_lock);
    set = cd->cur;
    dsec_anchors_up_ref(set);
    pthread_mutex_unlock(&cd->snap_lock);
    return set;
}

const char *dsec_certdir_dirs(const dsec_certdir *cd)
{
    return cd == NULL ? NULL : cd->list;
}

size_t dsec_certdir_ndirs_open(const dsec_certdir *cd)
{
    size_t i;
    size_t n = 0;

    for (i = 0; cd != NULL && i < cd->ndirs; i++) {
        if (cd->dirs[i].fd >= 0) {
            n++;
        }
    }
    return n;
}

void dsec_certdir_free(dsec_certdir *cd)
{
    if (cd == NULL) {
        return;
    }
    dsec_anchors_free(cd->cur);
    certdir_close_dirs(cd);
    pthread_mutex_destroy(&cd->snap_lock);
    pthread_mutex_destroy(&cd->scan_lock);
    free(cd->sig);
    free(cd->list);
    free(cd);
}

dsec_rv dsec_anchors_load(const char *dirs, dsec_anchors **out, DSEC_ERR *err)
{
    dsec_certdir *cd = NULL;
    dsec_rv rv;

    if (out == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "dsec_anchors_load: no output pointer");
    }
    rv = dsec_certdir_open(dirs, &cd, err);
    if (rv == DSEC_OK) {
        *out = dsec_certdir_get(cd);
        dsec_certdir_free(cd);
    }
    return rv;
}
