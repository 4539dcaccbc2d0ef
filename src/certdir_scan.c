/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One pass over the open directories of a certificate directory set: list
 * each directory's entries through its descriptor, read every regular file
 * with domainsec/certfile.h and build the dsec_anchors snapshot. A
 * directory that cannot be listed or a file that cannot be used is logged
 * and listed as skipped; only running out of memory fails. Used by
 * src/certdir.c, which also lists the directories to notice changes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include "domainsec/certfile.h"
#include "domainsec/log.h"
#include "internal.h"

/* Why a file is skipped, in the skipped list and the log. */
static const char *skip_reason(const dsec_certfile_status *st)
{
    switch (st->fault) {
    case DSEC_CERTFILE_OPEN:
    case DSEC_CERTFILE_STAT:
    case DSEC_CERTFILE_READ:
        return strerror(st->errnum);
    case DSEC_CERTFILE_NOT_REGULAR:
        return "not a regular file";
    case DSEC_CERTFILE_TOO_LARGE:
        return "larger than 1 MiB";
    case DSEC_CERTFILE_CHANGED:
        return "file changed while being read";
    case DSEC_CERTFILE_EMPTY:
        return "empty file";
    case DSEC_CERTFILE_BAD_CERT:
        return "no valid certificate in it";
    default:
        return "no certificate in it";
    }
}

/*
 * Add the certificates of the file name in dfd to set, or list the file
 * as skipped; returns 0 only when out of memory.
 */
static int load_file(dsec_anchors *set, int dfd, const char *name,
                     const char *path)
{
    STACK_OF(X509) *certs = NULL;
    dsec_certfile_status st;
    const char *why;
    char partial[64];
    X509 *cert;
    dsec_rv rv;
    int ok = 0;

    rv = dsec_certfile_load_at(dfd, name, 0, &certs, &st);
    if (rv == DSEC_ERR_NOMEM) {
        goto done;
    }
    if (rv != DSEC_OK) {
        why = skip_reason(&st);
        dsec_log(DSEC_LOG_WARNING, "domainsec: skipping %s: %s", path, why);
        ok = dsec_anchors_skip(set, path, why);
        goto done;
    }
    while ((cert = sk_X509_shift(certs)) != NULL) {
        if (!dsec_anchors_push(set, cert, path)) {
            X509_free(cert);
            goto done;
        }
    }
    if (st.bad > 0) {
        dsec_log(DSEC_LOG_WARNING,
                 "domainsec: skipping %zu malformed certificate block(s) of "
                 "%s",
                 st.bad, path);
        snprintf(partial, sizeof(partial),
                 "%zu malformed certificate block(s) skipped", st.bad);
        if (!dsec_anchors_skip(set, path, partial)) {
            goto done;
        }
    }
    ok = 1;
done:
    sk_X509_pop_free(certs, X509_free);
    return ok;
}

static int name_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void dsec_certdir_list_free(char **names, size_t n)
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
dsec_rv dsec_certdir_list(int dfd, char ***out, size_t *outn)
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
    dsec_certdir_list_free(names, n);
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

    rv = dsec_certdir_list(dir->fd, &names, &n);
    if (rv == DSEC_ERR_IO) {
        dsec_log(DSEC_LOG_WARNING, "domainsec: cannot read directory %s: %s",
                 dir->path, strerror(errno));
        if (!dsec_anchors_skip(set, dir->path, strerror(errno))) {
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
            if (!dsec_anchors_skip(set, path, strerror(errno))) {
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
        if (!load_file(set, dir->fd, names[i], path)) {
            rv = DSEC_ERR_NOMEM;
            goto done;
        }
    }
    rv = DSEC_OK;
done:
    free(path);
    dsec_certdir_list_free(names, n);
    return rv;
}

/*
 * A snapshot of the directories. *complete is cleared when an open
 * directory could not be listed. Only out of memory fails (NULL).
 */
dsec_anchors *dsec_certdir_scan(const dsec_certdir_dir *dirs, size_t ndirs,
                                int *complete)
{
    dsec_anchors *set = dsec_anchors_new();
    dsec_rv rv;
    size_t i;
    int ok = 0;

    *complete = 1;
    if (set == NULL) {
        goto done;
    }
    /* parsing leaves errors on the queue: the caller must not see them */
    ERR_set_mark();
    for (i = 0; i < ndirs; i++) {
        if (dirs[i].fd < 0) {
            if (!dsec_anchors_skip(set, dirs[i].path, dirs[i].why)) {
                goto pop;
            }
            continue;
        }
        rv = load_dir(set, &dirs[i]);
        if (rv == DSEC_ERR_NOMEM) {
            goto pop;
        }
        if (rv != DSEC_OK) {
            *complete = 0;
        }
    }
    if (!dsec_anchors_index(set)) {
        goto pop;
    }
    ok = 1;
pop:
    ERR_pop_to_mark();
done:
    if (!ok && set != NULL) {
        dsec_anchors_free(set);
        set = NULL;
    }
    return set;
}
