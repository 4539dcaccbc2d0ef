/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging for libdomainsec: syslog, stderr or nothing, filtered by level.
 * Process-wide; configured once from the dsec_config (log, log_level).
 */
#ifndef DOMAINSEC_LOG_H
#define DOMAINSEC_LOG_H

typedef enum {
    DSEC_LOG_SYSLOG = 0,
    DSEC_LOG_STDERR,
    DSEC_LOG_NONE
} dsec_log_target;

/* syslog priorities, so the values can be handed to syslog(3) directly */
typedef enum {
    DSEC_LOG_ERR = 3,
    DSEC_LOG_WARNING = 4,
    DSEC_LOG_NOTICE = 5,
    DSEC_LOG_INFO = 6,
    DSEC_LOG_DEBUG = 7
} dsec_log_level;

void dsec_log_configure(dsec_log_target target, dsec_log_level level);
int dsec_log_enabled(dsec_log_level level);
void dsec_log(dsec_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* DOMAINSEC_LOG_H */
