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
#include <pthread.h>
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
#include "domainsec/classify.h"
#include "domainsec/crl.h"
#include "domainsec/log.h"
#include "domainsec/url.h"
#include "internal.h"

#define CACHE_FILE_MAX (256L * 1024 * 1024)

int dsec_cache_open_dir(const char *path)
{
    struct stat st;
    int fd;

    if (path == NULL || path[0] == '\0') {
        return -1;
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: cache_dir %s is not usable (%m); using the "
                 "memory cache only",
                 path);
        return -1;
    }
    /* anyone could plant or replace files there (the sticky bit does not
       stop new names): the disk layer is off */
    if (fstat(fd, &st) != 0 || (st.st_mode & S_IWOTH) != 0) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: cache_dir %s is writable by others (mode "
                 "%04o); using the memory cache only",
                 path, (unsigned)(st.st_mode & 07777));
        close(fd);
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

/*
 * Which files of the cache directory are trusted (rule 1 of the README's
 * "Files the cache trusts"): a regular file, not writable by others, owned
 * by this process's user, root, the directory's owner, or carrying the
 * directory's group. Only those who may write the directory (its owner and
 * group) can place a file there; a file owned by someone else with another
 * group came from elsewhere (a hard link, a copy kept with its owner) and
 * is not read. Per-user ownership is not required: the daemons sharing the
 * cache are distinct users of one group.
 */
const char *dsec_cache_disk_untrusted(const struct stat *st,
                                      const struct stat *dir, uid_t euid)
{
    if (!S_ISREG(st->st_mode)) {
        return "not a regular file";
    }
    if ((st->st_mode & S_IWOTH) != 0) {
        return "writable by others";
    }
    if (st->st_uid != euid && st->st_uid != 0 && st->st_uid != dir->st_uid
        && st->st_gid != dir->st_gid) {
        return "owned by a user and group foreign to the directory";
    }
    return NULL;
}

/* An ignored file of the cache directory: logged once per name and
   process, not once per verification. */
static void log_ignored_once(const char *name, const char *why)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char seen[64][80];
    static size_t nseen;
    size_t i;
    int again = 0;

    pthread_mutex_lock(&lock);
    for (i = 0; i < nseen && !again; i++) {
        again = strcmp(seen[i], name) == 0;
    }
    if (!again && nseen < sizeof(seen) / sizeof(seen[0])) {
        snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
    }
    pthread_mutex_unlock(&lock);
    if (!again) {
        dsec_log(DSEC_LOG_WARNING, "domainsec: ignoring cache file %s: %s",
                 name, why);
    }
}

/* Open name of the cache directory for reading, never blocking nor
   following a link, when it is a file the cache trusts: the descriptor
   (st filled), or -1. */
static int open_trusted(const dsec_cache_disk *d, const char *name,
                        struct stat *st)
{
    struct stat dir;
    const char *why;
    int fd;

    fd = openat(d->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ELOOP) {
            log_ignored_once(name, "a symbolic link");
        }
        return -1;
    }
    if (fstat(fd, st) != 0 || fstat(d->dirfd, &dir) != 0) {
        close(fd);
        return -1;
    }
    why = dsec_cache_disk_untrusted(st, &dir, geteuid());
    if (why != NULL) {
        log_ignored_once(name, why);
        close(fd);
        return -1;
    }
    return fd;
}

ssize_t dsec_cache_disk_read_file(const dsec_cache_disk *d, const char *name,
                                  char *buf, size_t cap)
{
    struct stat st;
    ssize_t got;
    int fd = open_trusted(d, name, &st);

    if (fd < 0 || cap == 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    do {
        got = read(fd, buf, cap - 1);
    } while (got < 0 && errno == EINTR);
    close(fd);
    if (got < 0) {
        return -1;
    }
    buf[got] = '\0';
    return got;
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

int dsec_cache_disk_write_file(dsec_cache_disk *d, const char *name,
                               const void *data, size_t len)
{
    if (!write_atomic(d, name, data, len)) {
        warn_unwritable(d);
        return 0;
    }
    return 1;
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

/*
 * A .fail record only delays a fetch (the README's "Files the cache
 * trusts"): its until is capped at now + fail_max (fail_cache), and its
 * class is transient whatever it says, so that a planted one can never
 * stand for a fatal outcome.
 */
dsec_rv dsec_cache_disk_read_failure(const dsec_cache_disk *d, const char *url,
                                     time_t now, DSEC_ERR *err,
                                     time_t *until_out)
{
    char name[80], buf[DSEC_ERR_MSG_LEN + 64];
    long long until;
    int rv, used = 0;
    long code;
    char *nl;

    file_name(url, ".fail", name);
    if (dsec_cache_disk_read_file(d, name, buf, sizeof(buf)) <= 0) {
        return DSEC_OK;
    }
    nl = strchr(buf, '\n');
    if (nl == NULL
        || sscanf(buf, "%lld %d %ld%n", &until, &rv, &code, &used) != 3
        || buf + used != nl || rv >= 0 || rv < DSEC_ERR_MIN
        || until <= (long long)now) {
        return DSEC_OK;
    }
    if (until > (long long)now + d->fail_max) {
        until = (long long)now + d->fail_max;
    }
    if (until <= (long long)now) {
        return DSEC_OK;
    }
    if (dsec_classify_rv((dsec_rv)rv) != DSEC_CLASS_TRANSIENT) {
        rv = DSEC_ERR_BACKOFF;
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
    fd = open_trusted(d, name, &st);
    if (fd < 0 || st.st_size <= 0 || st.st_size > CACHE_FILE_MAX) {
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

void dsec_cache_disk_drop_index(dsec_cache_disk *d, const char *url)
{
    char name[80];

    file_name(url, ".idx", name);
    unlinkat(d->dirfd, name, 0);
}

X509_CRL *dsec_cache_disk_read_index(const dsec_cache_disk *d, const char *url,
                                     unsigned char key_id[32])
{
    struct stat st;
    char name[80];
    int fd;

    file_name(url, ".idx", name);
    /* the rules of every cache file (owner, group, mode), then the
       index's own checks */
    fd = open_trusted(d, name, &st);
    if (fd < 0) {
        return NULL;
    }
    close(fd);
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
    struct stat st;
    int fd;

    file_name(url, ".lock", name);
    /* read-only is enough for flock, and works on a file another user of
       the cache group created; never blocks (a FIFO planted there) */
    fd = openat(d->dirfd, name,
                O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0660);
    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    /* 0660 whatever the umask: no one outside owner and group may hold it
       (a lock held by a member is waited for until the deadline only) */
    if (st.st_uid == geteuid() && (st.st_mode & 07777) != 0660) {
        (void)fchmod(fd, 0660);
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

void dsec_cache_disk_name(const char *url, const char *ext, char name[80])
{
    file_name(url, ext, name);
}

int dsec_cache_disk_put(const dsec_cache_disk *d, const char *name,
                        const void *data, size_t len)
{
    return write_atomic(d, name, data, len);
}
