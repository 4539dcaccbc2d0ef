/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider's developer debug log (debug.c): off unless the environment
 * says DOMAINSEC_DEBUG=file:<path>,level:<n>.
 */
#ifndef DOMAINSEC_PROVIDER_DEBUG_H
#define DOMAINSEC_PROVIDER_DEBUG_H

/* Read DOMAINSEC_DEBUG, once per process. */
void dsprov_debug_init(void);
void dsprov_debug_at(int level, const char *file, int line, const char *func,
                     const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
#define DSPROV_debug(level, ...) \
    dsprov_debug_at((level), __FILE__, __LINE__, __func__, __VA_ARGS__)

#endif /* DOMAINSEC_PROVIDER_DEBUG_H */
