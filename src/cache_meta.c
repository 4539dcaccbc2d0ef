/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-URL records of the cache directory (<hash>.meta, cache_meta.h)
 * and the purge generation (purge.gen). A record is a few "key value"
 * lines after a "domainsec-meta 1" line, written atomically through the
 * disk layer; it is read like every file of the shared directory: without
 * following links or blocking, regular files only, bounded, every line
 * checked, and only when the URL it holds is the one its name is the hash
 * of. A record never decides a verdict: it says when to refresh and what
 * to show.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/x509.h>
#include "domainsec/cache_meta.h"
#include "internal.h"

#define META_FILE_MAX 8192
#define META_MAGIC "domainsec-meta 1"

/* The text of file name (at most META_FILE_MAX - 1 bytes) into buf. */
static int read_small(int dirfd, const char *name, char *buf, size_t len)
{
    struct stat st;
    ssize_t got;
    size_t off = 0;
    int fd;

    fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        return 0;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0
        || (size_t)st.st_size >= len) {
        close(fd);
        return 0;
    }
    while (off < (size_t)st.st_size) {
        got = read(fd, buf + off, len - 1 - off);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        off += (size_t)got;
    }
    close(fd);
    buf[off] = '\0';
    return off == (size_t)st.st_size && strlen(buf) == off;
}

/* A value of printable ASCII (spaces allowed when sp) copied into out. */
static int text_value(const char *v, int sp, char *out, size_t len)
{
    size_t n = strlen(v), i;

    if (n >= len) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (v[i] < (sp ? 0x20 : 0x21) || v[i] > 0x7e) {
            return 0;
        }
    }
    memcpy(out, v, n + 1);
    return 1;
}

static int number_value(const char *v, long long min, long long *out)
{
    char *end;
    long long x;

    errno = 0;
    x = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0 || x < min) {
        return 0;
    }
    *out = x;
    return 1;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int hex_value(const char *v, unsigned char *out, size_t max,
                     size_t *outlen)
{
    size_t n = strlen(v), i;
    int hi, lo;

    if (n % 2 != 0 || n / 2 > max) {
        return 0;
    }
    for (i = 0; i < n / 2; i++) {
        hi = hex_digit(v[2 * i]);
        lo = hex_digit(v[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return 0;
        }
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    *outlen = n / 2;
    return 1;
}

/* One "key value" line into m. */
static int parse_line(char *line, dsec_cache_meta *m)
{
    char *v = strchr(line, ' ');
    long long x = 0;

    if (v == NULL) {
        return 0;
    }
    *v++ = '\0';
    if (strcmp(line, "url") == 0) {
        return text_value(v, 0, m->url, sizeof(m->url));
    } else if (strcmp(line, "etag") == 0) {
        return text_value(v, 1, m->etag, sizeof(m->etag));
    } else if (strcmp(line, "last_modified") == 0) {
        return text_value(v, 1, m->last_modified, sizeof(m->last_modified));
    } else if (strcmp(line, "spki") == 0) {
        return hex_value(v, m->spki, sizeof(m->spki), &m->spki_len);
    } else if (strcmp(line, "result") == 0) {
        if (!number_value(v, DSEC_ERR_MIN, &x) || x > 0) {
            return 0;
        }
        m->result = (int)x;
        return 1;
    }
    if (!number_value(v, 0, &x)) {
        return 0;
    }
    if (strcmp(line, "fetched_at") == 0) {
        m->fetched_at = x;
    } else if (strcmp(line, "result_at") == 0) {
        m->result_at = x;
    } else if (strcmp(line, "bytes") == 0) {
        m->bytes = x;
    } else {
        return 0;
    }
    return 1;
}

/* The record in file name, which must be the file of its own URL. */
static dsec_rv read_named(int dirfd, const char *name, dsec_cache_meta *m)
{
    char *buf = malloc(META_FILE_MAX), *line, *nl, own[80];
    dsec_rv rv = DSEC_ERR_NOT_FOUND;

    memset(m, 0, sizeof(*m));
    if (buf == NULL || !read_small(dirfd, name, buf, META_FILE_MAX)
        || strncmp(buf, META_MAGIC "\n", sizeof(META_MAGIC)) != 0) {
        goto done;
    }
    for (line = buf + sizeof(META_MAGIC); *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl == NULL) {
            goto done;
        }
        *nl = '\0';
        if (!parse_line(line, m)) {
            goto done;
        }
    }
    if (m->url[0] == '\0') {
        goto done;
    }
    dsec_cache_disk_name(m->url, ".meta", own);
    rv = strcmp(own, name) == 0 ? DSEC_OK : DSEC_ERR_NOT_FOUND;
done:
    free(buf);
    if (rv != DSEC_OK) {
        memset(m, 0, sizeof(*m));
    }
    return rv;
}

dsec_rv dsec_cache_meta_read(int dirfd, const char *url, dsec_cache_meta *m)
{
    char name[80];

    if (dirfd < 0 || url == NULL || m == NULL) {
        return DSEC_ERR_INVALID;
    }
    dsec_cache_disk_name(url, ".meta", name);
    if (read_named(dirfd, name, m) != DSEC_OK || strcmp(m->url, url) != 0) {
        memset(m, 0, sizeof(*m));
        return DSEC_ERR_NOT_FOUND;
    }
    return DSEC_OK;
}

int dsec_cache_meta_write(int dirfd, const dsec_cache_meta *m)
{
    dsec_cache_disk d = { dirfd, 0, 0 };
    char *buf, name[80];
    size_t len = 0, i;
    int ok;

    if (dirfd < 0 || m == NULL || m->url[0] == '\0'
        || (buf = malloc(META_FILE_MAX)) == NULL) {
        return 0;
    }
    len = (size_t)snprintf(
        buf, META_FILE_MAX,
        META_MAGIC "\nurl %s\nfetched_at %lld\nresult %d\nresult_at "
                   "%lld\nbytes %lld\n",
        m->url, m->fetched_at, m->result, m->result_at, m->bytes);
    if (m->etag[0] != '\0' && len < META_FILE_MAX) {
        len += (size_t)snprintf(buf + len, META_FILE_MAX - len, "etag %s\n",
                                m->etag);
    }
    if (m->last_modified[0] != '\0' && len < META_FILE_MAX) {
        len += (size_t)snprintf(buf + len, META_FILE_MAX - len,
                                "last_modified %s\n", m->last_modified);
    }
    if (m->spki_len > 0 && len + 2 * m->spki_len + 8 < META_FILE_MAX) {
        len += (size_t)snprintf(buf + len, META_FILE_MAX - len, "spki ");
        for (i = 0; i < m->spki_len; i++) {
            len += (size_t)snprintf(buf + len, META_FILE_MAX - len, "%02x",
                                    m->spki[i]);
        }
        len += (size_t)snprintf(buf + len, META_FILE_MAX - len, "\n");
    }
    dsec_cache_disk_name(m->url, ".meta", name);
    ok = len < META_FILE_MAX && dsec_cache_disk_put(&d, name, buf, len);
    free(buf);
    return ok;
}

/* 1 when name is "<64 hex>ext". */
static int cache_file(const char *name, const char *ext)
{
    size_t i;

    for (i = 0; i < 64; i++) {
        if (!((name[i] >= '0' && name[i] <= '9')
              || (name[i] >= 'a' && name[i] <= 'f'))) {
            return 0;
        }
    }
    return strcmp(name + 64, ext) == 0;
}

size_t dsec_cache_meta_list(int dirfd, dsec_cache_meta **out)
{
    dsec_cache_meta *v = NULL;
    char **names = NULL;
    size_t n = 0, i, count = 0;

    *out = NULL;
    if (dirfd < 0 || dsec_certdir_list(dirfd, &names, &n) != DSEC_OK) {
        return 0;
    }
    v = calloc(n > 0 ? n : 1, sizeof(*v));
    for (i = 0; v != NULL && i < n; i++) {
        if (cache_file(names[i], ".meta")
            && read_named(dirfd, names[i], &v[count]) == DSEC_OK) {
            count++;
        }
    }
    dsec_certdir_list_free(names, n);
    *out = v;
    return v != NULL ? count : 0;
}

X509_CRL *dsec_cache_meta_crl(int dirfd, const char *url)
{
    dsec_cache_disk d = { dirfd, 0, 0 };

    return dirfd >= 0 && url != NULL ? dsec_cache_disk_read_crl(&d, url) : NULL;
}

void dsec_cache_meta_note(int dirfd, const char *url, dsec_rv rv, X509_CRL *crl,
                          X509 *signer, const char *etag,
                          const char *last_modified)
{
    dsec_cache_meta m;
    unsigned char *p;
    int len;

    if (dirfd < 0 || url == NULL || strlen(url) > DSEC_CACHE_META_URL_MAX) {
        return;
    }
    if (dsec_cache_meta_read(dirfd, url, &m) != DSEC_OK) {
        memset(&m, 0, sizeof(m));
        snprintf(m.url, sizeof(m.url), "%s", url);
    }
    m.result = rv;
    m.result_at = (long long)time(NULL);
    if (etag != NULL) {
        snprintf(m.etag, sizeof(m.etag), "%s", etag);
    }
    if (last_modified != NULL) {
        snprintf(m.last_modified, sizeof(m.last_modified), "%s", last_modified);
    }
    if (rv == DSEC_OK && crl == NULL) {
        m.fetched_at = m.result_at; /* confirmed unchanged (304) */
    }
    if (rv == DSEC_OK && crl != NULL) {
        m.fetched_at = m.result_at;
        m.bytes = i2d_X509_CRL(crl, NULL);
        len = signer != NULL
                  ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(signer), NULL)
                  : -1;
        m.spki_len = 0;
        if (len > 0 && (size_t)len <= sizeof(m.spki)) {
            p = m.spki;
            m.spki_len =
                (size_t)i2d_X509_PUBKEY(X509_get_X509_PUBKEY(signer), &p);
        }
    }
    dsec_cache_meta_write(dirfd, &m);
}

int dsec_cache_meta_bump(int dirfd)
{
    dsec_cache_disk d = { dirfd, 0, 0 };
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%lld %ld\n", (long long)time(NULL),
                     (long)getpid());

    return dirfd >= 0 && n > 0
           && dsec_cache_disk_put(&d, DSEC_CACHE_META_PURGE_FILE, buf,
                                  (size_t)n);
}

/* Remove the CRL, index, record and failure of url; 1 when something was
   there. */
static int purge_url(int dirfd, const char *url)
{
    static const char *const exts[] = { ".crl", ".idx", ".meta", ".fail" };
    char name[80];
    int found = 0;
    size_t i;

    for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        dsec_cache_disk_name(url, exts[i], name);
        found |= unlinkat(dirfd, name, 0) == 0;
    }
    return found;
}

int dsec_cache_meta_purge(int dirfd, const char *url)
{
    char **names = NULL;
    size_t n = 0, i;
    int count = 0;

    if (dirfd < 0) {
        return -1;
    }
    if (url != NULL) {
        count = purge_url(dirfd, url);
    } else if (dsec_certdir_list(dirfd, &names, &n) == DSEC_OK) {
        for (i = 0; i < n; i++) {
            if (cache_file(names[i], ".crl") || cache_file(names[i], ".idx")
                || cache_file(names[i], ".meta")
                || cache_file(names[i], ".fail")) {
                count += cache_file(names[i], ".crl");
                unlinkat(dirfd, names[i], 0);
            }
        }
        dsec_certdir_list_free(names, n);
    }
    return dsec_cache_meta_bump(dirfd) ? count : -1;
}

int dsec_cache_meta_purged(int dirfd, dsec_cache_meta_gen *g, time_t now)
{
    struct stat st;
    long long mtime;
    int changed = 0;

    if (dirfd < 0 || g == NULL) {
        return 0;
    }
    pthread_mutex_lock(&g->lock);
    if (g->checked == now) {
        pthread_mutex_unlock(&g->lock);
        return 0;
    }
    g->checked = now;
    if (fstatat(dirfd, DSEC_CACHE_META_PURGE_FILE, &st, AT_SYMLINK_NOFOLLOW)
        != 0) {
        memset(&st, 0, sizeof(st));
    }
    mtime = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    changed =
        g->known
        && (st.st_ino != g->ino || st.st_dev != g->dev || mtime != g->mtime);
    g->known = 1;
    g->ino = st.st_ino;
    g->dev = st.st_dev;
    g->mtime = mtime;
    pthread_mutex_unlock(&g->lock);
    return changed;
}
