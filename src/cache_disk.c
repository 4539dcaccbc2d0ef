/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The disk layer of the CRL cache: one directory shared by every process
 * of the host. Per URL, named by the URL's SHA-256: the CRL in DER
 * (<hash>.crl), a remembered failure (<hash>.fail) and a lock file
 * (<hash>.lock) for single flight across processes, and the compact index
 * of the CRL (<hash>.idx, crlindex.c), preferred when reading. Files are written to a
 * temporary name and renamed into place, so readers in other processes see
 * a whole file or none. Files are read without following links or
 * blocking, and only when regular: the directory is shared and is not
 * trusted more than the network (a CRL read back is only parsed here; the
 * engine checks it before use).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "domainsec/cache.h"
#include "domainsec/crl.h"
#include "domainsec/log.h"
#include "domainsec/url.h"
#include "internal.h"

#define CACHE_FILE_MAX (256L * 1024 * 1024)

int dsec_cache_open_dir(const char *path)
{
    int fd;

    if (path == NULL || path[0] == '\0') {
        return -1;
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: cache_dir %s is not usable (%m); using the "
                 "memory cache only",
                 path);
        return -1;
    }
    if (faccessat(fd, ".", W_OK, AT_EACCESS) != 0) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: cache_dir %s is not writable by this "
                 "process (%m); cached CRLs are read but new ones "
                 "stay in memory",
                 path);
    }
    return fd;
}

/* The file of url with extension ext: the URL's SHA-256 in hex, then ext. */
static void file_name(const char *url, const char *ext, char name[80])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    unsigned int i;

    EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL);
    for (i = 0; i < 32 && i < mdlen; i++) {
        snprintf(name + 2 * i, 3, "%02x", md[i]);
    }
    snprintf(name + 64, 16, "%s", ext);
}

/* Write data to name in the cache directory atomically; 0 on failure. */
static int write_atomic(const dsec_cache_disk *d, const char *name,
                        const void *data, size_t len)
{
    static unsigned long counter;
    char tmp[128];
    size_t off = 0;
    ssize_t w;
    int fd;

    snprintf(tmp, sizeof(tmp), ".tmp.%ld.%lu.%s", (long)getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED), name);
    fd = openat(d->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0664);
    if (fd < 0) {
        return 0;
    }
    while (off < len) {
        w = write(fd, (const char *)data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            close(fd);
            unlinkat(d->dirfd, tmp, 0);
            return 0;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 || renameat(d->dirfd, tmp, d->dirfd, name) != 0) {
        unlinkat(d->dirfd, tmp, 0);
        return 0;
    }
    return 1;
}

/* A write failed: said once per cache, the memory cache still works. */
static void warn_unwritable(dsec_cache_disk *d)
{
    if (!d->warned) {
        d->warned = 1;
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: cannot write the CRL cache directory (%s); "
                 "using the memory cache only",
                 strerror(errno));
    }
}

/*
 * A failed fetch is shared with the other processes too, so a dead CRL
 * server costs one timeout per fail_cache period, not one per process.
 * Format: "<until> <rv> <code>\n<message>".
 */
void dsec_cache_disk_write_failure(dsec_cache_disk *d, const char *url,
                                   const DSEC_ERR *err, time_t until)
{
    char name[80], buf[DSEC_ERR_MSG_LEN + 64];
    int n;

    file_name(url, ".fail", name);
    n = snprintf(buf, sizeof(buf), "%lld %d %ld\n%s", (long long)until,
                 (int)err->rv, err->code, err->msg);
    if (n < 0) {
        return;
    }
    if (!write_atomic(d, name, buf, strlen(buf))) {
        warn_unwritable(d);
    }
}

dsec_rv dsec_cache_disk_read_failure(const dsec_cache_disk *d, const char *url,
                                     time_t now, DSEC_ERR *err,
                                     time_t *until_out)
{
    char name[80], buf[DSEC_ERR_MSG_LEN + 64];
    struct stat st;
    long long until;
    int rv, fd, used = 0;
    long code;
    ssize_t got;
    char *nl;

    file_name(url, ".fail", name);
    fd = openat(d->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        return DSEC_OK;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return DSEC_OK;
    }
    got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (got <= 0) {
        return DSEC_OK;
    }
    buf[got] = '\0';
    nl = strchr(buf, '\n');
    if (nl == NULL
        || sscanf(buf, "%lld %d %ld%n", &until, &rv, &code, &used) != 3
        || buf + used != nl || rv >= 0 || rv < DSEC_ERR_MIN
        || until <= (long long)now || until > (long long)now + 3600) {
        return DSEC_OK;
    }
    *until_out = (time_t)until;
    return dsec_err_set(err, (dsec_rv)rv, code, "%s", nl + 1);
}

X509_CRL *dsec_cache_disk_read_crl(const dsec_cache_disk *d, const char *url)
{
    char name[80];
    unsigned char *buf = NULL;
    X509_CRL *crl = NULL;
    struct stat st;
    ssize_t got;
    size_t len = 0;
    DSEC_ERR err;
    int fd = -1;

    file_name(url, ".crl", name);
    fd = openat(d->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        goto done;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0
        || st.st_size > CACHE_FILE_MAX) {
        goto done;
    }
    buf = malloc((size_t)st.st_size);
    if (buf == NULL) {
        goto done;
    }
    while (len < (size_t)st.st_size) {
        got = read(fd, buf + len, (size_t)st.st_size - len);
        if (got <= 0) {
            if (got < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        len += (size_t)got;
    }
    if (dsec_crl_parse(buf, len, &crl, &err) != DSEC_OK) {
        char masked[256];

        dsec_url_mask(url, masked, sizeof(masked));
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: ignoring unusable cache file %s for %s: %s", name,
                 masked, err.msg);
        crl = NULL;
    }
done:
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    return crl;
}

void dsec_cache_disk_write_crl(dsec_cache_disk *d, const char *url,
                               X509_CRL *crl)
{
    char name[80];
    unsigned char *der = NULL;
    int len;

    len = i2d_X509_CRL(crl, &der);
    if (len <= 0) {
        return;
    }
    file_name(url, ".crl", name);
    if (!write_atomic(d, name, der, (size_t)len)) {
        warn_unwritable(d);
    } else {
        file_name(url, ".fail", name);
        unlinkat(d->dirfd, name, 0);
    }
    OPENSSL_free(der);
}

void dsec_cache_disk_write_index(dsec_cache_disk *d, const char *url,
                                 X509_CRL *crl, const unsigned char key_id[32])
{
    char name[80];
    unsigned char *buf = NULL;
    size_t len = 0;

    file_name(url, ".idx", name);
    if (!dsec_crlindex_build(crl, key_id, &buf, &len)
        || !write_atomic(d, name, buf, len)) {
        /* never an index of an older CRL beside this one */
        unlinkat(d->dirfd, name, 0);
    }
    free(buf);
}

X509_CRL *dsec_cache_disk_read_index(const dsec_cache_disk *d, const char *url,
                                     unsigned char key_id[32])
{
    char name[80];

    file_name(url, ".idx", name);
    return dsec_crlindex_open(d->dirfd, name, key_id);
}

/*
 * Single flight across processes: an flock on <hash>.lock, waited for
 * until the deadline at most (then fetch anyway: a stuck peer must not
 * stall us past fetch_timeout).
 */
int dsec_cache_disk_lock(const dsec_cache_disk *d, const char *url,
                         const struct timespec *deadline)
{
    char name[80];
    struct timespec now;
    int fd;

    file_name(url, ".lock", name);
    /* read-only is enough for flock, and works on a file another user of
       the cache group created without group write */
    fd = openat(d->dirfd, name, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                0664);
    if (fd < 0) {
        return -1;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        clock_gettime(CLOCK_REALTIME, &now);
        if (errno != EWOULDBLOCK || now.tv_sec > deadline->tv_sec
            || (now.tv_sec == deadline->tv_sec
                && now.tv_nsec >= deadline->tv_nsec)) {
            close(fd);
            return -1;
        }
        nanosleep(&(struct timespec) { 0, 20 * 1000000L }, NULL);
    }
    return fd;
}

void dsec_cache_disk_unlock(int fd)
{
    if (fd >= 0) {
        close(fd); /* releases the flock */
    }
}
