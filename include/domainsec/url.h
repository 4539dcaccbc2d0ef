/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRL distribution point URLs: the schemes domainsec knows (the bits of
 * the cdp_schemes directive), the scheme of a URL, and the masking of
 * credentials in a URL so no secret reaches a log or a message.
 */
#ifndef DOMAINSEC_URL_H
#define DOMAINSEC_URL_H

#include <stddef.h>
#include "domainsec/common.h"

/* Bit set of allowed CDP schemes. */
#define DSEC_SCHEME_HTTP 0x1u
#define DSEC_SCHEME_HTTPS 0x2u
#define DSEC_SCHEME_LDAP 0x4u
#define DSEC_SCHEME_LDAPS 0x8u

/* The scheme bit of a URL ("http://..." -> DSEC_SCHEME_HTTP), 0 if none. */
unsigned int dsec_url_scheme(const char *url);

/*
 * Parse a comma-separated list of scheme names (http, https, ldap, ldaps;
 * any case, blanks around a name, one trailing comma allowed) into a bit
 * set; writes *out only on success. DSEC_ERR_INVALID for an unknown or
 * empty name, or no name at all.
 */
dsec_rv dsec_url_parse_schemes(const char *text, unsigned int *out);

/* Copy url into buf with any user:password@ replaced by [****]@. */
void dsec_url_mask(const char *url, char *buf, size_t len);

#endif /* DOMAINSEC_URL_H */
