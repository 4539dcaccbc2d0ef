/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A command doctor asks (postconf), run as a child without a shell: its
 * standard output captured, its standard error kept for the message when
 * it fails, both read through pipes and bounded in size (1 MiB) and time
 * (10 s, then the child is killed).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "doctor.h"

#define CLI_CHILD_MAX_OUTPUT (1024 * 1024)
#define CLI_CHILD_TIMEOUT_MS 10000

/* Append what fd has to out (at most the limit); 0 at EOF or error. */
static int cli_child_drain(int fd, char **out, size_t *len)
{
    char chunk[4096], *p;
    ssize_t n = read(fd, chunk, sizeof(chunk));

    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return 1;
    }
    if (n <= 0) {
        return 0;
    }
    if (*len + (size_t)n > CLI_CHILD_MAX_OUTPUT) {
        return 1; /* keep reading, drop the rest */
    }
    p = realloc(*out, *len + (size_t)n + 1);
    if (p == NULL) {
        return 1;
    }
    memcpy(p + *len, chunk, (size_t)n);
    *len += (size_t)n;
    p[*len] = '\0';
    *out = p;
    return 1;
}

/* Read the child's stdout and stderr to EOF or the deadline: 1, or 0. */
static int cli_child_collect(int fds[2], char **out, char **errout)
{
    struct pollfd pfd[2];
    size_t lens[2] = { 0, 0 };
    char **bufs[2] = { out, errout };
    struct timespec t0, t1;
    int open_fds = 2, i, left, n;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (open_fds > 0) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        left = CLI_CHILD_TIMEOUT_MS
               - (int)((t1.tv_sec - t0.tv_sec) * 1000
                       + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        for (i = 0; i < 2; i++) {
            pfd[i].fd = fds[i];
            pfd[i].events = POLLIN;
        }
        if (left <= 0) {
            return 0;
        }
        n = poll(pfd, 2, left);
        if (n == 0 || (n < 0 && errno != EINTR)) {
            return 0;
        }
        if (n < 0) {
            continue;
        }
        for (i = 0; i < 2; i++) {
            if (fds[i] >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                && !cli_child_drain(fds[i], bufs[i], &lens[i])) {
                close(fds[i]);
                fds[i] = -1;
                open_fds--;
            }
        }
    }
    return 1;
}

/* The first line of text into buf. */
static void cli_child_first_line(const char *text, char *buf, size_t len)
{
    size_t n = text != NULL ? strcspn(text, "\n") : 0;

    snprintf(buf, len, "%.*s", (int)n, text != NULL ? text : "");
}

char *cli_doctor_command(const char *const *argv, char *why, size_t whylen)
{
    char *out = NULL, *errout = NULL, msg[CLI_DOCTOR_LINE];
    int o[2] = { -1, -1 }, e[2] = { -1, -1 }, fds[2], status = 0, n;
    pid_t pid;

    if (pipe(o) != 0 || pipe(e) != 0 || (pid = fork()) < 0) {
        snprintf(why, whylen, "cannot run: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        if (dup2(o[1], 1) < 0 || dup2(e[1], 2) < 0) {
            _exit(127);
        }
        close(o[0]);
        close(e[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(o[1]);
    close(e[1]);
    fds[0] = o[0];
    fds[1] = e[0];
    o[0] = o[1] = e[0] = e[1] = -1;
    if (!cli_child_collect(fds, &out, &errout)) {
        kill(pid, SIGKILL);
    }
    for (n = 0; n < 2; n++) {
        if (fds[n] >= 0) {
            close(fds[n]);
        }
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        cli_child_first_line(errout, msg, sizeof(msg));
        snprintf(why, whylen, "%s",
                 msg[0] != '\0'               ? msg
                 : WIFSIGNALED(status)        ? "killed (no answer in 10 s)"
                 : WEXITSTATUS(status) == 127 ? "cannot be run"
                                              : "failed without a message");
        free(out);
        out = NULL;
    } else if (out == NULL) {
        out = strdup("");
    }
    free(errout);
    return out;

fail:
    for (n = 0; n < 2; n++) {
        if (o[n] >= 0) {
            close(o[n]);
        }
        if (e[n] >= 0) {
            close(e[n]);
        }
    }
    return NULL;
}
