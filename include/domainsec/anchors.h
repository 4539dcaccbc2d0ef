/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust anchors from the trust_dirs directories: every PEM (single or
 * bundle) and DER file, loaded once, indexed by subject name. The
 * directories are opened as descriptors so later reads survive a chroot.
 */
#ifndef DOMAINSEC_ANCHORS_H
#define DOMAINSEC_ANCHORS_H

#include <openssl/x509.h>
#include "domainsec/common.h"

typedef struct dsec_anchors dsec_anchors;

/*
 * Load every certificate of the ':'-separated directory list. A missing
 * directory or an unreadable or malformed file is skipped and logged; only
 * running out of memory fails. NULL or "" gives an empty set.
 */
dsec_rv dsec_anchors_load(const char *dirs, dsec_anchors **out, DSEC_ERR *err);
void dsec_anchors_free(dsec_anchors *set);

size_t dsec_anchors_count(const dsec_anchors *set);
/* Borrowed certificate i (0 <= i < count), and the file it came from. */
X509 *dsec_anchors_get0(const dsec_anchors *set, size_t i);
const char *dsec_anchors_source(const dsec_anchors *set, size_t i);

/*
 * Indices of the certificates whose subject equals name, in load order:
 * first match at or after *pos; returns 1 and advances *pos past it, 0 when
 * no more. Lookups do not scan the set (sorted index, binary search).
 */
int dsec_anchors_find_subject(const dsec_anchors *set, const X509_NAME *name,
                              size_t *pos, size_t *index);

#endif /* DOMAINSEC_ANCHORS_H */
