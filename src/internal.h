/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Declarations shared by several files of libdomainsec and used by no one
 * outside it (the provider, the CLI and the tests use include/domainsec/).
 */
#ifndef DOMAINSEC_SRC_INTERNAL_H
#define DOMAINSEC_SRC_INTERNAL_H

#include <stddef.h>
#include <openssl/x509.h>
#include "domainsec/anchors.h"

/*
 * Building a dsec_anchors (src/anchors.c), done by src/certdir_scan.c: a new
 * empty set holding one reference; certificates pushed in load order, each
 * with the path of its file (copied); the files and directories skipped,
 * with their reason (copied); then dsec_anchors_index once, after which the
 * set is read-only. dsec_anchors_push takes cert only when it returns 1.
 * Each returns 0 (NULL) only when out of memory; the set is then freed with
 * dsec_anchors_free.
 */
dsec_anchors *dsec_anchors_new(void);
int dsec_anchors_push(dsec_anchors *set, X509 *cert, const char *source);
int dsec_anchors_skip(dsec_anchors *set, const char *path, const char *why);
/*
 * Compute each certificate's keys (a certificate whose fingerprint cannot
 * be computed is dropped and listed as skipped), drop the certificates
 * whose DER was already pushed (the first one stays) and build every index.
 */
int dsec_anchors_index(dsec_anchors *set);

/* One directory of a certificate directory set (src/certdir.c). */
typedef struct {
    int fd; /* -1 when the directory could not be opened */
    char *path; /* owned */
    char *why; /* owned: why it could not be opened */
} dsec_certdir_dir;

/*
 * Scanning the directories of a set (src/certdir_scan.c). A new snapshot
 * of the ndirs directories: a directory that is not open is listed as
 * skipped with its why; *complete is cleared when an open directory could
 * not be listed. Only out of memory fails (NULL).
 */
dsec_anchors *dsec_certdir_scan(const dsec_certdir_dir *dirs, size_t ndirs,
                                int *complete);
/*
 * The sorted entry names of the open directory dfd, dot files left out,
 * read through a duplicate of dfd (dfd needs no path or permission:
 * chroot-safe). Returns DSEC_OK, DSEC_ERR_NOMEM, or DSEC_ERR_IO with errno
 * set. Free the names with dsec_certdir_list_free.
 */
dsec_rv dsec_certdir_list(int dfd, char ***out, size_t *outn);
void dsec_certdir_list_free(char **names, size_t n);

/*
 * The names of the schemes in bits, comma-separated in the order http,
 * https, ldap, ldaps ("" for none), as dsec_url_parse_schemes reads them
 * (src/url.c; for src/config.c).
 */
void dsec_url_schemes_text(unsigned int bits, char *buf, size_t len);

#endif /* DOMAINSEC_SRC_INTERNAL_H */
