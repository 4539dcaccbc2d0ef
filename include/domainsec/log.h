/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging for libdomainsec: syslog, stderr or nothing, filtered by level.
 * Process-wide; configured once from the dsec_config.
 */
#ifndef DOMAINSEC_LOG_H
#define DOMAINSEC_LOG_H

#include "domainsec/config.h"

void dsec_log_configure(dsec_log_target target, dsec_log_level level);
int dsec_log_enabled(dsec_log_level level);
void dsec_log(dsec_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Copy url into buf with any user:password@ replaced by [****]@. */
void dsec_log_mask_url(const char *url, char *buf, size_t len);

#endif /* DOMAINSEC_LOG_H */
