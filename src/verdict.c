/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verdict records on disk (DESIGN.md section 8): the verdicts/ directory of
 * cache_dir, the record format, its atomic writing (temporary file, then
 * renameat on the directory descriptor, so a chrooted host keeps writing
 * and readers see a whole record or none), its guarded reading (the
 * directory is shared: non-blocking opens without following links,
 * regular files only, not writable by others, DSEC_VERDICT_MAX_FILE bytes
 * at most) and the removal of expired records, bounded per pass.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "domainsec/verdict.h"
#include "internal.h"

/* A record may not claim to live longer than this (verdict_ttl's maximum
   plus clock skew). */
#define VERDICT_MAX_LIFE (86400L + 300L)
/* Temporary files of a writer that died are removed after an hour. */
#define VERDICT_TMP_AGE 3600L

int dsec_verdict_open_dir(int cache_fd, DSEC_ERR *err)
{
    struct stat cst, st;
    mode_t mode = 0750;
    int fd, created;

    if (cache_fd < 0 || fstat(cache_fd, &cst) != 0) {
        dsec_err_set(err, DSEC_ERR_IO, 0, "no cache directory");
        return -1;
    }
    /* the daemons sharing cache_dir share the records: its group write
       and set-group-ID bits, never anything for others */
    mode |= cst.st_mode & (S_IWGRP | S_ISGID);
    created = mkdirat(cache_fd, DSEC_VERDICT_DIR, mode & 0777) == 0;
    if (!created && errno != EEXIST) {
        dsec_err_set(err, DSEC_ERR_IO, errno, "cannot create %s: %s",
                     DSEC_VERDICT_DIR, strerror(errno));
        return -1;
    }
    fd = openat(cache_fd, DSEC_VERDICT_DIR,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        dsec_err_set(err, DSEC_ERR_IO, errno, "cannot open %s: %s",
                     DSEC_VERDICT_DIR, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    if (created) {
        /* root (a daemon before it drops privileges) gives it to
           cache_dir's owner, who the daemon runs as; anyone else gives it
           cache_dir's group when a member of it */
        uid_t owner = geteuid() == 0 ? cst.st_uid : (uid_t)-1;

        if ((st.st_gid != cst.st_gid || owner != (uid_t)-1)
            && fchown(fd, owner, cst.st_gid) != 0) {
            /* not a member of cache_dir's group: the directory keeps ours */
        }
        /* the umask may have taken bits the group needs */
        (void)fchmod(fd, mode);
    } else if ((st.st_mode & S_IRWXO) != 0) {
        /* never for others (allowed to its owner only) */
        (void)fchmod(fd, st.st_mode & 07770);
    }
    return fd;
}

int dsec_verdict_open_path(const char *path, DSEC_ERR *err)
{
    int fd;

    if (path == NULL || *path == '\0') {
        dsec_err_set(err, DSEC_ERR_INVALID, 0, "no verdicts directory");
        return -1;
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        dsec_err_set(err, DSEC_ERR_IO, errno, "cannot open %s: %s", path,
                     strerror(errno));
    }
    return fd;
}

/* ------------------------------------------------------------- format */

static const char *const class_words[] = {
    [DSEC_CLASS_VALID] = "valid",
    [DSEC_CLASS_TRANSIENT] = "transient",
    [DSEC_CLASS_FATAL] = "fatal",
};

/* One "key=value\n" line, control characters of value replaced. */
static int put_line(char *buf, size_t len, size_t *used, const char *key,
                    const char *value)
{
    size_t start, i;
    int n;

    if (*used >= len) {
        return 0;
    }
    start = *used + strlen(key) + 1;
    n = snprintf(buf + *used, len - *used, "%s=%s\n", key, value);
    if (n < 0 || (size_t)n >= len - *used) {
        return 0;
    }
    *used += (size_t)n;
    for (i = start; i + 1 < *used; i++) {
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) {
            buf[i] = '?';
        }
    }
    return 1;
}

size_t dsec_verdict_format(const dsec_verdict *v, char *buf, size_t len)
{
    char num[4][32];
    size_t used = 0;
    unsigned int c = (unsigned int)v->cls;

    if (c >= sizeof(class_words) / sizeof(class_words[0])) {
        c = DSEC_CLASS_FATAL;
    }
    snprintf(num[0], sizeof(num[0]), "%d", v->error);
    snprintf(num[1], sizeof(num[1]), "%d", v->depth);
    snprintf(num[2], sizeof(num[2]), "%lld", (long long)v->time);
    snprintf(num[3], sizeof(num[3]), "%lld", (long long)v->expires);
    if (!put_line(buf, len, &used, "class", class_words[c])
        || !put_line(buf, len, &used, "error", num[0])
        || !put_line(buf, len, &used, "depth", num[1])
        || !put_line(buf, len, &used, "reason", v->reason)
        || !put_line(buf, len, &used, "subject", v->subject)
        || !put_line(buf, len, &used, "cn", v->cn)
        || !put_line(buf, len, &used, "dns", v->dns)
        || !put_line(buf, len, &used, "time", num[2])
        || !put_line(buf, len, &used, "expires", num[3])) {
        return 0;
    }
    return used;
}

/* A decimal integer from min to max. */
static int parse_num(const char *s, long long min, long long max,
                     long long *out)
{
    char *end = NULL;
    long long v;

    if (*s == '\0' || (*s != '-' && (*s < '0' || *s > '9'))) {
        return 0;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

/* The value of one known key into *out; 0 when it is bad. */
static int parse_field(const char *key, const char *val, dsec_verdict *out,
                       unsigned int *seen)
{
    long long n = 0;
    size_t i;

    if (strcmp(key, "class") == 0) {
        for (i = 0; i < sizeof(class_words) / sizeof(class_words[0]); i++) {
            if (strcmp(val, class_words[i]) == 0) {
                out->cls = (dsec_class)i;
                *seen |= 1u;
                return 1;
            }
        }
        return 0;
    }
    if (strcmp(key, "error") == 0 || strcmp(key, "depth") == 0) {
        if (!parse_num(val, -1, INT_MAX, &n)) {
            return 0;
        }
        *(key[0] == 'e' ? &out->error : &out->depth) = (int)n;
        *seen |= key[0] == 'e' ? 2u : 4u;
        return 1;
    }
    if (strcmp(key, "time") == 0 || strcmp(key, "expires") == 0) {
        if (!parse_num(val, 0, (long long)1 << 40, &n)) {
            return 0;
        }
        *(key[0] == 't' ? &out->time : &out->expires) = (time_t)n;
        *seen |= key[0] == 't' ? 8u : 16u;
        return 1;
    }
    if (strcmp(key, "reason") == 0) {
        snprintf(out->reason, sizeof(out->reason), "%s", val);
    } else if (strcmp(key, "subject") == 0) {
        snprintf(out->subject, sizeof(out->subject), "%s", val);
    } else if (strcmp(key, "cn") == 0) {
        snprintf(out->cn, sizeof(out->cn), "%s", val);
    } else if (strcmp(key, "dns") == 0) {
        snprintf(out->dns, sizeof(out->dns), "%s", val);
    }
    return 1;
}

dsec_rv dsec_verdict_parse(const char *text, size_t len, dsec_verdict *out,
                           DSEC_ERR *err)
{
    char line[DSEC_VERDICT_MAX_FILE + 1];
    dsec_verdict v;
    unsigned int seen = 0;
    size_t pos = 0, n, i;
    char *eq;

    memset(&v, 0, sizeof(v));
    if (len > DSEC_VERDICT_MAX_FILE || memchr(text, '\0', len) != NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "record too large or not text");
    }
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);

        n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + 1;
        for (i = 0; i < n; i++) {
            if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
                return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                                    "control character in a record line");
            }
        }
        if (n == 0) {
            continue;
        }
        if ((eq = strchr(line, '=')) == NULL || eq == line) {
            return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                                "record line without key=value");
        }
        *eq = '\0';
        if (!parse_field(line, eq + 1, &v, &seen)) {
            return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                                "bad value of '%.32s' in the record", line);
        }
    }
    if (seen != 31u) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "record without class, error, depth, time or "
                            "expires");
    }
    *out = v;
    return DSEC_OK;
}

/* -------------------------------------------------------------- write */

/* data (len bytes) as name in dirfd, through a temporary file. */
static dsec_rv write_atomic(int dirfd, const char *name, const char *data,
                            size_t len, struct stat *st, DSEC_ERR *err)
{
    static unsigned long counter;
    char tmp[128];
    size_t off = 0;
    ssize_t w;
    int fd, e;

    snprintf(tmp, sizeof(tmp), ".tmp.%ld.%lu.%s", (long)getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED), name);
    fd = openat(dirfd, tmp,
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0) {
        return dsec_err_set(err, DSEC_ERR_IO, errno, "cannot create %s: %s",
                            tmp, strerror(errno));
    }
    /* readable by the group whatever the host's umask */
    (void)fchmod(fd, 0640);
    while (off < len) {
        w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
    e = errno;
    if (off == len && fstat(fd, st) != 0) {
        e = errno;
        off = 0;
    }
    if (close(fd) != 0 || off < len || renameat(dirfd, tmp, dirfd, name) != 0) {
        e = off < len ? e : errno;
        unlinkat(dirfd, tmp, 0);
        return dsec_err_set(err, DSEC_ERR_IO, e, "cannot write %s: %s", name,
                            strerror(e));
    }
    return DSEC_OK;
}

/*
 * The SHA-256 of v's record without its times: two verdicts with the same
 * digest differ only in when they were made.
 */
static int content_digest(const dsec_verdict *v, unsigned char out[32])
{
    char text[DSEC_VERDICT_MAX_FILE];
    dsec_verdict timeless = *v;
    size_t len;

    timeless.time = 0;
    timeless.expires = 0;
    len = dsec_verdict_format(&timeless, text, sizeof(text));
    return len > 0 && dsec_sha256_digest(text, len, out);
}

/* text as name, unless this process's last write there said the same. */
static dsec_rv write_name(int dirfd, const char *name, const char *text,
                          size_t len, const dsec_verdict *v,
                          const unsigned char *digest, DSEC_ERR *err)
{
    long ttl = (long)(v->expires - v->time);
    struct stat st;
    dsec_rv rv;

    if (digest != NULL
        && dsec_verdict_memo_same(dirfd, name, digest, v->time, ttl)) {
        return DSEC_OK;
    }
    rv = write_atomic(dirfd, name, text, len, &st, err);
    if (rv == DSEC_OK && digest != NULL) {
        dsec_verdict_memo_note(name, digest, v->time, &st);
    } else if (rv != DSEC_OK) {
        dsec_verdict_memo_forget(name);
    }
    return rv;
}

dsec_rv dsec_verdict_write(int dirfd, X509 *leaf, const dsec_verdict *v,
                           DSEC_ERR *err)
{
    char cert_hex[DSEC_VERDICT_HEX_LEN], key_hex[DSEC_VERDICT_HEX_LEN];
    char text[DSEC_VERDICT_MAX_FILE], name[80];
    unsigned char digest[32];
    const unsigned char *dg;
    size_t len;
    dsec_rv rv;

    if (dirfd < 0 || leaf == NULL || v == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "no record to write");
    }
    if (!dsec_verdict_fingerprints(leaf, cert_hex, key_hex)) {
        return dsec_err_set(err, DSEC_ERR_NOMEM, 0,
                            "cannot compute the fingerprints");
    }
    len = dsec_verdict_format(v, text, sizeof(text));
    if (len == 0) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "record too large");
    }
    /* no digest: written every time, as without the memo */
    dg = content_digest(v, digest) ? digest : NULL;
    snprintf(name, sizeof(name), "%c-%s", DSEC_VERDICT_CERT, cert_hex);
    rv = write_name(dirfd, name, text, len, v, dg, err);
    if (rv == DSEC_OK) {
        snprintf(name, sizeof(name), "%c-%s", DSEC_VERDICT_KEY, key_hex);
        rv = write_name(dirfd, name, text, len, v, dg, err);
    }
    return rv;
}

/* --------------------------------------------------------------- read */

/* The guarded contents of name in dirfd (at most max bytes) into buf. */
static dsec_rv read_guarded(int dirfd, const char *name, char *buf, size_t max,
                            size_t *len, DSEC_ERR *err)
{
    struct stat st;
    ssize_t got;
    int fd;

    fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return dsec_err_set(err, DSEC_ERR_NOT_FOUND, 0, "no record");
        }
        return dsec_err_set(
            err, DSEC_ERR_INVALID, errno, "record %s refused: %s", name,
            errno == ELOOP ? "a symbolic link" : strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1
        || (st.st_mode & S_IWOTH) != 0 || st.st_size > (off_t)max) {
        close(fd);
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "record %s refused: not a regular file with one "
                            "link, writable by others or over %zu bytes",
                            name, max);
    }
    do {
        got = read(fd, buf, max + 1);
    } while (got < 0 && errno == EINTR);
    close(fd);
    if (got < 0 || (size_t)got > max) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "record %s refused: unreadable or grown", name);
    }
    *len = (size_t)got;
    return DSEC_OK;
}

dsec_rv dsec_verdict_read(int dirfd, dsec_verdict_kind kind, const char *hex,
                          time_t now, dsec_verdict *out, DSEC_ERR *err)
{
    char buf[DSEC_VERDICT_MAX_FILE + 1], name[80];
    char norm[DSEC_VERDICT_HEX_LEN];
    DSEC_ERR perr;
    dsec_verdict v;
    size_t len = 0;
    dsec_rv rv;

    if (dirfd < 0 || !dsec_verdict_normalize(hex, norm)
        || (kind != DSEC_VERDICT_CERT && kind != DSEC_VERDICT_KEY)) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "not a SHA-256 fingerprint");
    }
    snprintf(name, sizeof(name), "%c-%s", (char)kind, norm);
    rv = read_guarded(dirfd, name, buf, DSEC_VERDICT_MAX_FILE, &len, err);
    if (rv != DSEC_OK) {
        return rv;
    }
    if (dsec_verdict_parse(buf, len, &v, &perr) != DSEC_OK) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0, "record %s refused: %s",
                            name, perr.msg);
    }
    if (v.expires <= now) {
        return dsec_err_set(err, DSEC_ERR_NOT_FOUND, 0,
                            "record expired %lld s ago",
                            (long long)(now - v.expires));
    }
    if (v.expires > now + VERDICT_MAX_LIFE || v.time > v.expires) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "record %s refused: its lifetime is implausible",
                            name);
    }
    *out = v;
    return DSEC_OK;
}

/* -------------------------------------------------------------- sweep */

/* 1 when name in dirfd is a record past its expiry or an old temp file. */
static int sweep_due_file(int dirfd, const char *name, time_t now)
{
    char buf[DSEC_VERDICT_MAX_FILE + 1];
    struct stat st;
    dsec_verdict v;
    size_t len = 0;

    if (strncmp(name, ".tmp.", 5) == 0) {
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
               && S_ISREG(st.st_mode) && st.st_mtime + VERDICT_TMP_AGE < now;
    }
    if ((name[0] != DSEC_VERDICT_CERT && name[0] != DSEC_VERDICT_KEY)
        || name[1] != '-' || strlen(name) != 66) {
        return 0;
    }
    if (read_guarded(dirfd, name, buf, DSEC_VERDICT_MAX_FILE, &len, NULL)
            != DSEC_OK
        || dsec_verdict_parse(buf, len, &v, NULL) != DSEC_OK) {
        return 0;
    }
    return v.expires <= now;
}

size_t dsec_verdict_sweep(int dirfd, time_t now, size_t max_entries)
{
    struct dirent *de;
    size_t seen = 0, removed = 0;
    DIR *dir;
    int fd;

    if (dirfd < 0 || (fd = dup(dirfd)) < 0) {
        return 0;
    }
    if ((dir = fdopendir(fd)) == NULL) {
        close(fd);
        return 0;
    }
    rewinddir(dir);
    while (seen < max_entries && (de = readdir(dir)) != NULL) {
        seen++;
        if (sweep_due_file(dirfd, de->d_name, now)
            && unlinkat(dirfd, de->d_name, 0) == 0) {
            removed++;
        }
    }
    closedir(dir);
    return removed;
}

/*
 * 1 when a pass is due: none in this process for interval seconds, and the
 * mark file .sweep (shared by every process) older than interval, which
 * this caller then renews.
 */
static int sweep_claim(int dirfd, time_t now, long interval)
{
    static long long last;
    long long prev = __atomic_load_n(&last, __ATOMIC_RELAXED);
    struct stat st;
    int fd;

    if (prev != 0 && now - prev < interval) {
        return 0;
    }
    if (!__atomic_compare_exchange_n(&last, &prev, (long long)now, 0,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        return 0;
    }
    if (fstatat(dirfd, ".sweep", &st, AT_SYMLINK_NOFOLLOW) == 0
        && st.st_mtime <= now && now - st.st_mtime < interval) {
        __atomic_store_n(&last, (long long)st.st_mtime, __ATOMIC_RELAXED);
        return 0;
    }
    fd = openat(dirfd, ".sweep",
                O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0660);
    if (fd >= 0) {
        (void)futimens(fd, NULL);
        close(fd);
    }
    return 1;
}

size_t dsec_verdict_sweep_due(int dirfd, time_t now, long interval)
{
    if (dirfd < 0 || !sweep_claim(dirfd, now, interval)) {
        return 0;
    }
    return dsec_verdict_sweep(dirfd, now, 4096);
}
