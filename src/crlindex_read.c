/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reading side of the CRL index (crlindex.c writes it): open the file,
 * check its header and every bound (a corrupted file is ignored and
 * logged, never trusted further than its bounds), decode the skeleton and
 * attach the open file to it (meth_data, below), so the pipeline keeps
 * passing an X509_CRL*; then lookups by binary search over the records,
 * without decoding the CRL. The reader does not hash the CRL the header
 * names (that would cost what the index saves): an index is trusted as
 * much as the cache directory that holds it (see README, cache_dir).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/log.h"
#include "internal.h"

/* 2.25: an OID from a UUID (ITU-T X.667), registered to no one else */
#define MARKER_OID "2.25.223411301285667279950670543802463883683"
#define FILE_MAX (1L << 30)
/* records up to this size are read once into memory, the file closed */
#define MEM_MAX (256L * 1024)

/*
 * One open index. The records are read with pread, a few per lookup, from
 * the page cache every process shares, not mapped: a file truncated in
 * place would kill a process mapping it (SIGBUS), while pread only comes
 * short and the lookup fails closed. OpenSSL 3.0 has no ex_data on
 * X509_CRL and calls no hook when one is freed, so the open file cannot
 * live and die with its skeleton: open indexes are kept in a registry (one
 * per file version, shared by every lookup of the process), the skeleton
 * points to its entry through X509_CRL_set_meth_data, and an index
 * superseded by a newer file of the same name and not looked in for
 * IDLE_TTL seconds is closed, so
 * descriptors stay bounded however often the CRL changes (its entry kept,
 * marked dead: a skeleton still held then cannot answer, and the CRL is
 * unusable: a transient failure, never a verdict). The records of a small
 * index (up to MEM_MAX bytes) are read once, when it is opened, and its
 * file closed at once: a lookup is then a binary search in memory, with no
 * system call, and no later change to the file can reach it.
 */
typedef struct mapping {
    int fd;
    size_t len;
    unsigned char head[DSEC_CRLINDEX_HDR_SIZE];
    off_t recs; /* where the records start */
    size_t count;
    unsigned char *mem; /* the records, read once (small indexes); NULL */
    char name[96];
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    X509_CRL *skel; /* the registry's reference */
    time_t superseded; /* 0: current */
    time_t used; /* the last lookup's second (atomic) */
    int dead;
    pthread_rwlock_t lock; /* write-held while closing */
    struct mapping *next;
} mapping;

#define IDLE_TTL 10

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static mapping *registry;
static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;
static ASN1_OBJECT *marker;

static void init_once(void)
{
    marker = OBJ_txt2obj(MARKER_OID, 1);
}

const ASN1_OBJECT *dsec_crlindex_marker(void)
{
    return CRYPTO_THREAD_run_once(&once, init_once) ? marker : NULL;
}

/* crl's mapping: only a pointer of the registry counts. */
static mapping *mapping_of(const X509_CRL *crl)
{
    void *dat = crl != NULL ? X509_CRL_get_meth_data((X509_CRL *)crl) : NULL;
    mapping *m;

    if (dat == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&reg_lock);
    for (m = registry; m != NULL && (void *)m != dat; m = m->next) {
    }
    pthread_mutex_unlock(&reg_lock);
    return m != NULL && m->skel == crl ? m : NULL;
}

int dsec_crlindex_attached(const X509_CRL *crl)
{
    return mapping_of(crl) != NULL;
}

int dsec_crlindex_marker_ok(X509_CRL *crl, X509_EXTENSION *ext)
{
    const ASN1_OBJECT *mk = dsec_crlindex_marker();

    return mk != NULL && OBJ_cmp(X509_EXTENSION_get_object(ext), mk) == 0
           && dsec_crlindex_attached(crl);
}

size_t dsec_crlindex_count(X509_CRL *crl)
{
    const mapping *m = mapping_of(crl);

    return m != NULL ? m->count : 0;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8
           | p[3];
}

/* The skeleton skel agrees with the header h: 1, else 0. */
static int skeleton_matches(X509_CRL *skel, const unsigned char *h)
{
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(skel);
    uint32_t flags = get_u32(h + DSEC_CRLINDEX_HDR_FLAGS);
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(skel, NID_crl_number, NULL, NULL);
    int idp = X509_CRL_get_ext_by_NID(skel, NID_issuing_distribution_point, -1);
    unsigned char md[32];
    time_t this_update = 0, next_update = 0;
    int ok, nlen = h[DSEC_CRLINDEX_HDR_NUM];

    ok = sk_X509_REVOKED_num(revoked) <= 0
         && X509_CRL_get_ext_by_OBJ(skel, dsec_crlindex_marker(), -1) >= 0
         && dsec_time_of(X509_CRL_get0_lastUpdate(skel), &this_update)
         && (int64_t)get_u64(h + DSEC_CRLINDEX_HDR_THIS) == this_update
         && ((flags & DSEC_CRLINDEX_DELTA) != 0)
                == (X509_CRL_get_ext_by_NID(skel, NID_delta_crl, -1) >= 0)
         && ((flags & DSEC_CRLINDEX_HAS_IDP) != 0) == (idp >= 0)
         && (num == NULL
                 ? nlen == 0
                 : nlen == num->length + 1
                       && memcmp(num->data, h + DSEC_CRLINDEX_HDR_NUM + 1,
                                 (size_t)num->length)
                              == 0);
    (void)dsec_time_of(X509_CRL_get0_nextUpdate(skel), &next_update);
    ok = ok && (int64_t)get_u64(h + DSEC_CRLINDEX_HDR_NEXT) == next_update;
    if (ok && idp >= 0) {
        ASN1_OCTET_STRING *v =
            X509_EXTENSION_get_data(X509_CRL_get_ext(skel, idp));

        ok = dsec_sha256_digest(v->data, (size_t)v->length, md)
             && memcmp(md, h + DSEC_CRLINDEX_HDR_IDP, 32) == 0;
    }
    ASN1_INTEGER_free(num);
    return ok;
}

/* len bytes at off of m's file into buf: 1, or 0 when short. */
static int read_at(const mapping *m, void *buf, size_t len, off_t off)
{
    size_t got = 0;
    ssize_t n;

    while (got < len) {
        n = pread(m->fd, (unsigned char *)buf + got, len - got,
                  off + (off_t)got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return 0;
        }
        got += (size_t)n;
    }
    return 1;
}

/* The bounds the header h gives a file of len bytes: 1, else 0. */
static int bounds_ok(const unsigned char *h, size_t len, size_t *recs)
{
    uint32_t skel_len = get_u32(h + DSEC_CRLINDEX_HDR_SKEL);
    uint64_t count = get_u64(h + DSEC_CRLINDEX_HDR_COUNT);
    size_t off;

    if (skel_len == 0 || skel_len > DSEC_CRLINDEX_SKEL_MAX
        || skel_len > len - DSEC_CRLINDEX_HDR_SIZE) {
        return 0;
    }
    off = (DSEC_CRLINDEX_HDR_SIZE + (size_t)skel_len + 7) & ~(size_t)7;
    if (off > len || count != (len - off) / DSEC_CRLINDEX_REC
        || (len - off) % DSEC_CRLINDEX_REC != 0) {
        return 0;
    }
    *recs = off;
    return 1;
}

/* The header and bounds of m's file (m->len bytes): its skeleton. */
static X509_CRL *check_file(mapping *m, const char **why)
{
    const unsigned char *h = m->head, *p = NULL;
    unsigned char *der = NULL;
    uint32_t skel_len;
    X509_CRL *skel = NULL;
    size_t off = 0;

    *why = "bad header";
    if (m->len < DSEC_CRLINDEX_HDR_SIZE
        || !read_at(m, m->head, DSEC_CRLINDEX_HDR_SIZE, 0)
        || memcmp(h, DSEC_CRLINDEX_MAGIC, 8) != 0
        || get_u32(h + DSEC_CRLINDEX_HDR_VERSION) != DSEC_CRLINDEX_VERSION
        || get_u32(h + DSEC_CRLINDEX_HDR_RECSIZE) != DSEC_CRLINDEX_REC
        || h[DSEC_CRLINDEX_HDR_NUM] > 33) {
        return NULL;
    }
    *why = "bad bounds";
    if (!bounds_ok(h, m->len, &off)) {
        return NULL;
    }
    *why = "bad skeleton";
    skel_len = get_u32(h + DSEC_CRLINDEX_HDR_SKEL);
    der = OPENSSL_malloc(skel_len);
    if (der != NULL && read_at(m, der, skel_len, DSEC_CRLINDEX_HDR_SIZE)) {
        p = der;
        skel = d2i_X509_CRL(NULL, &p, (long)skel_len);
    }
    if (skel != NULL && (p != der + skel_len || !skeleton_matches(skel, h))) {
        X509_CRL_free(skel);
        skel = NULL;
    }
    OPENSSL_free(der);
    m->recs = (off_t)off;
    m->count = (size_t)get_u64(h + DSEC_CRLINDEX_HDR_COUNT);
    return skel;
}

/* The current entry of the file st of name, up-ref'd skeleton; NULL. */
static X509_CRL *find_current(const char *name, const struct stat *st,
                              unsigned char key_id[32])
{
    X509_CRL *skel = NULL;
    mapping *m;

    pthread_mutex_lock(&reg_lock);
    for (m = registry; m != NULL; m = m->next) {
        if (!m->dead && m->superseded == 0 && strcmp(m->name, name) == 0
            && m->dev == st->st_dev && m->ino == st->st_ino
            && m->len == (size_t)st->st_size
            && m->mtime.tv_sec == st->st_mtim.tv_sec
            && m->mtime.tv_nsec == st->st_mtim.tv_nsec
            && X509_CRL_up_ref(m->skel)) {
            skel = m->skel;
            memcpy(key_id, m->head + DSEC_CRLINDEX_HDR_KEY, 32);
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return skel;
}

/* Add m (open, checked) as the current entry of its name; caller holds
   reg_lock. Entries superseded long enough are closed. */
static void register_mapping(mapping *m)
{
    time_t now = time(NULL);
    mapping *o;

    for (o = registry; o != NULL; o = o->next) {
        if (o->superseded == 0 && strcmp(o->name, m->name) == 0) {
            o->superseded = now;
        }
        if (!o->dead && o->superseded != 0 && now - o->superseded > IDLE_TTL
            && now - __atomic_load_n(&o->used, __ATOMIC_RELAXED) > IDLE_TTL) {
            pthread_rwlock_wrlock(&o->lock);
            if (o->fd >= 0) {
                close(o->fd);
            }
            o->fd = -1;
            OPENSSL_free(o->mem);
            o->mem = NULL;
            o->dead = 1;
            pthread_rwlock_unlock(&o->lock);
        }
    }
    m->next = registry;
    registry = m;
}

/* The records of a small index into m->mem and its file closed: 1; 1
   also for a large one (left to pread); 0 when they cannot be read. */
static int load_small(mapping *m)
{
    size_t bytes = m->count * DSEC_CRLINDEX_REC;

    if (m->count == 0 || bytes > (size_t)MEM_MAX) {
        return 1;
    }
    if ((m->mem = OPENSSL_malloc(bytes)) == NULL
        || !read_at(m, m->mem, bytes, m->recs)) {
        OPENSSL_free(m->mem);
        m->mem = NULL;
        return 0;
    }
    close(m->fd);
    m->fd = -1;
    return 1;
}

/* fd (the file st of name, handed over) checked: its entry; NULL when
   unusable (fd closed). */
static mapping *open_new(int fd, const struct stat *st, const char *name)
{
    mapping *m = OPENSSL_zalloc(sizeof(*m));
    const char *why = "out of memory";

    if (m == NULL || pthread_rwlock_init(&m->lock, NULL) != 0) {
        OPENSSL_free(m);
        close(fd);
        return NULL;
    }
    m->fd = fd;
    m->len = (size_t)st->st_size;
    m->skel = check_file(m, &why);
    if (m->skel != NULL && !load_small(m)) {
        why = "records unreadable";
        X509_CRL_free(m->skel);
        m->skel = NULL;
    }
    if (m->skel == NULL) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: ignoring unusable CRL index %s: %s", name, why);
        close(fd);
        pthread_rwlock_destroy(&m->lock);
        OPENSSL_free(m);
        return NULL;
    }
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->dev = st->st_dev;
    m->ino = st->st_ino;
    m->mtime = st->st_mtim;
    X509_CRL_set_meth_data(m->skel, m);
    return m;
}

X509_CRL *dsec_crlindex_open(int dirfd, const char *name,
                             unsigned char key_id[32])
{
    X509_CRL *skel = NULL;
    mapping *m = NULL;
    struct stat st;
    int fd;

    if (dirfd < 0 || name == NULL || dsec_crlindex_marker() == NULL) {
        return NULL;
    }
    fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0
        && st.st_size <= FILE_MAX) {
        skel = find_current(name, &st, key_id);
        if (skel == NULL) {
            m = open_new(fd, &st, name);
            fd = -1; /* the entry's, or closed */
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    if (m != NULL && X509_CRL_up_ref(m->skel)) {
        pthread_mutex_lock(&reg_lock);
        register_mapping(m);
        pthread_mutex_unlock(&reg_lock);
        skel = m->skel;
        memcpy(key_id, m->head + DSEC_CRLINDEX_HDR_KEY, 32);
        dsec_log(DSEC_LOG_DEBUG, "domainsec: CRL index %s opened (%zu entries)",
                 name, m->count);
    }
    return skel;
}

/* key among m's records: 1 listed, 2 removeFromCRL, 0 not, -2 when the
   file came short. */
static int search(const mapping *m, const unsigned char *key, int *reason,
                  time_t *when)
{
    unsigned char r[DSEC_CRLINDEX_REC];
    size_t lo = 0, hi;

    for (hi = m->count; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        int c;

        if (m->mem != NULL) {
            memcpy(r, m->mem + mid * DSEC_CRLINDEX_REC, sizeof(r));
        } else if (!read_at(m, r, sizeof(r),
                            m->recs + (off_t)(mid * DSEC_CRLINDEX_REC))) {
            return -2;
        }
        c = memcmp(key, r, DSEC_CRLINDEX_KEY);
        if (c == 0) {
            int code = (signed char)r[23];

            if (reason != NULL) {
                *reason = code;
            }
            if (when != NULL) {
                *when = (time_t)(int64_t)get_u64(r + 24);
            }
            return code == CRL_REASON_REMOVE_FROM_CRL ? 2 : 1;
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return 0;
}

int dsec_crlindex_lookup_serial(X509_CRL *crl, const ASN1_INTEGER *serial,
                                int *reason, time_t *when)
{
    mapping *m = mapping_of(crl);
    unsigned char key[DSEC_CRLINDEX_KEY];
    int r;

    if (m == NULL) {
        return -1;
    }
    if (serial == NULL || serial->length < 0
        || serial->length > DSEC_CRLINDEX_SERIAL_MAX) {
        return 0; /* no entry has such a serial: none was indexed */
    }
    memset(key, 0, sizeof(key));
    key[0] = serial->type == V_ASN1_NEG_INTEGER;
    key[1] = (unsigned char)serial->length;
    if (serial->length > 0) {
        memcpy(key + 2, serial->data, (size_t)serial->length);
    }
    __atomic_store_n(&m->used, time(NULL), __ATOMIC_RELAXED);
    pthread_rwlock_rdlock(&m->lock);
    r = m->dead ? -2 : search(m, key, reason, when);
    pthread_rwlock_unlock(&m->lock);
    if (r == -2) {
        /* closed (idle past IDLE_TTL after a newer index came), or
           truncated in place: the CRL cannot answer (the decision makes it
           an unusable CRL: transient) */
        dsec_log(DSEC_LOG_ERR,
                 "domainsec: CRL index %s is closed or damaged; its CRL is "
                 "not used",
                 m->name);
    }
    return r;
}

int dsec_crlindex_lookup(X509_CRL *crl, X509 *cert, int *reason)
{
    X509_REVOKED *rev = NULL;
    ASN1_ENUMERATED *code;
    int r, rc = 0;

    if (dsec_crlindex_attached(crl)) {
        /* no entry names another issuer (certificateIssuer): the CRL's */
        if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_CRL_get_issuer(crl))
            != 0) {
            return 0;
        }
        r = dsec_crlindex_lookup_serial(crl, X509_get0_serialNumber(cert), &rc,
                                        NULL);
        if (r == 1 && reason != NULL) {
            *reason = rc > 0 ? rc : 0;
        }
        return r;
    }
    r = X509_CRL_get0_by_cert(crl, &rev, cert);
    if (r == 1 && rev != NULL && reason != NULL) {
        code = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
        *reason = code != NULL ? (int)ASN1_ENUMERATED_get(code) : 0;
        ASN1_ENUMERATED_free(code);
    }
    return r == 1 || r == 2 ? r : 0;
}
