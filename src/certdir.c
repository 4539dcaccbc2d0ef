/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate directory sets (domainsec/certdir.h): the directories of the
 * list are opened once as descriptors (files are then read through openat,
 * so a chroot after activation does not matter); the current snapshot is
 * built by src/certdir_scan.c. At most once a second a reader compares a
 * signature of the directories' entries with the last one and has the
 * snapshot rebuilt when it changed; readers keep the snapshot they hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "domainsec/certdir.h"
#include "domainsec/log.h"
#include "internal.h"

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

/* ---------------------------------------------------------- change check */

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
        rv = dsec_certdir_list(cd->dirs[d].fd, &names, &n);
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
        dsec_certdir_list_free(names, n);
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
    cd->cur = dsec_certdir_scan(cd->dirs, cd->ndirs, &complete);
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
    set = dsec_certdir_scan(cd->dirs, cd->ndirs, &complete);
    if (set == NULL) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: out of memory reloading %s; keeping the "
                 "certificates loaded before",
                 cd->list);
        goto done;
    }
    if (!complete) {
        /* logged by the scan; the next check tries again */
        goto done;
    }
    dsec_log(DSEC_LOG_INFO, "domainsec: reloaded %s: %zu certificates",
             cd->list, dsec_anchors_count(set));
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

dsec_rv dsec_certdir_load(const char *dirs, dsec_anchors **out, DSEC_ERR *err)
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
