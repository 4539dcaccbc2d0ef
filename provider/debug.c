/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Developer debug log of the provider, off unless the environment says
 * DOMAINSEC_DEBUG=file:<path>,level:<n> (file:stderr writes to stderr).
 * Lines carry a timestamp and [file:line] func(). The variable is read with
 * secure_getenv (a set-user-ID host ignores it), and the file is opened
 * without following a symbolic link, created 0600, only if it is a regular
 * file (a FIFO cannot block the host): a host running as root must not be
 * made to append to a file another user's link points at.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "debug.h"

static FILE *debug_fp;
static int debug_level;
static pthread_once_t debug_once = PTHREAD_ONCE_INIT;

/* path opened for appending, or NULL: not a regular file, a link, ... */
static FILE *debug_open(const char *path)
{
    struct stat st;
    FILE *fp = NULL;
    int fd = open(path,
                  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC
                      | O_NONBLOCK,
                  0600);

    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
        && fcntl(fd, F_SETFL, O_APPEND) == 0) {
        fp = fdopen(fd, "a");
    }
    if (fp == NULL) {
        int e = errno;

        close(fd);
        errno = e;
    }
    return fp;
}

static void debug_setup(void)
{
    const char *env = secure_getenv("DOMAINSEC_DEBUG");
    char path[512] = "stderr";
    const char *p;

    if (env == NULL || *env == '\0') {
        return;
    }
    debug_level = 1;
    p = strstr(env, "file:");
    if (p != NULL) {
        size_t n = strcspn(p + 5, ",");

        if (n >= sizeof(path)) {
            n = sizeof(path) - 1;
        }
        memcpy(path, p + 5, n);
        path[n] = '\0';
    }
    p = strstr(env, "level:");
    if (p != NULL) {
        debug_level = atoi(p + 6);
    }
    if (strcmp(path, "stderr") == 0) {
        debug_fp = stderr;
    } else {
        debug_fp = debug_open(path);
    }
    if (debug_fp == NULL) {
        debug_level = 0;
    }
}

void dsprov_debug_init(void)
{
    pthread_once(&debug_once, debug_setup);
}

void dsprov_debug_at(int level, const char *file, int line, const char *func,
                     const char *fmt, ...)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    va_list ap;

    if (debug_fp == NULL || level > debug_level) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    flockfile(debug_fp);
    fprintf(debug_fp, "%s.%03ldZ [%s:%d] %s(): ", stamp, ts.tv_nsec / 1000000,
            file, line, func);
    va_start(ap, fmt);
    vfprintf(debug_fp, fmt, ap);
    va_end(ap);
    fputc('\n', debug_fp);
    fflush(debug_fp);
    funlockfile(debug_fp);
}
