/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process-wide logging of libdomainsec: one line per event to syslog (the
 * host's ident and facility), stderr, or nowhere, filtered by level.
 * Credentials in URLs are masked by the callers (domainsec/url.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include "domainsec/log.h"

static volatile int log_target = DSEC_LOG_SYSLOG;
static volatile int log_level = DSEC_LOG_INFO;

void dsec_log_configure(dsec_log_target target, dsec_log_level level)
{
    log_target = target;
    log_level = level;
}

int dsec_log_enabled(dsec_log_level level)
{
    return log_target != DSEC_LOG_NONE && (int)level <= log_level;
}

void dsec_log(dsec_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    size_t i;

    if (!dsec_log_enabled(level)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* one event, one line: a URL or subject must not forge extra lines */
    for (i = 0; line[i] != '\0'; i++) {
        if ((unsigned char)line[i] < 0x20) {
            line[i] = '?';
        }
    }
    if (log_target == DSEC_LOG_STDERR) {
        fprintf(stderr, "%s\n", line);
    } else {
        syslog(level, "%s", line);
    }
}
