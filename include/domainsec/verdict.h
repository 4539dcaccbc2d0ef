/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verdict records (DESIGN.md section 8): the outcome of a verification of a
 * peer's leaf certificate, kept for verdict_ttl seconds in the verdicts/
 * subdirectory of cache_dir under the SHA-256 of the leaf's DER
 * (c-<hex>) and of its DER SubjectPublicKeyInfo (k-<hex>), so that a
 * process that never saw the certificate (the Postfix policy service) can
 * look it up by the fingerprints Postfix sends. A record is a text file,
 * one key=value a line: class (valid, transient, fatal), error (X509
 * error), depth, reason, subject, cn, dns (comma-separated DNS names),
 * time and expires (Unix seconds). The provider writes them (verdict.c),
 * `domainsec policyd` reads them; the names they match are in
 * verdict_name.c.
 */
#ifndef DOMAINSEC_VERDICT_H
#define DOMAINSEC_VERDICT_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include "domainsec/classify.h"
#include "domainsec/common.h"

/* The subdirectory of cache_dir holding the records. */
#define DSEC_VERDICT_DIR "verdicts"
/* The largest record file a reader accepts, in bytes. */
#define DSEC_VERDICT_MAX_FILE 4096
/* 64 lowercase hex digits of a SHA-256 fingerprint, and the NUL. */
#define DSEC_VERDICT_HEX_LEN 65

/* Which fingerprint names a record. */
typedef enum {
    DSEC_VERDICT_CERT = 'c', /* SHA-256 of the certificate's DER */
    DSEC_VERDICT_KEY = 'k' /* SHA-256 of its DER SubjectPublicKeyInfo */
} dsec_verdict_kind;

typedef struct {
    dsec_class cls;
    int error; /* the X509 error that decided the class, 0 when valid */
    int depth; /* its depth in the chain, -1 when none */
    char reason[256]; /* one line */
    char subject[512]; /* the leaf's subject, /-separated one-line form */
    char cn[256]; /* the leaf's last subject commonName, "" when none */
    char dns[2048]; /* its DNS subjectAltNames, comma-separated */
    time_t time; /* when it was recorded */
    time_t expires; /* when it stops counting */
} dsec_verdict;

/*
 * The verdicts directory under the open cache directory cache_fd, created
 * when missing: mode 0750, group write and set-group-ID as cache_dir has
 * them, and cache_dir's group (fchown when allowed); created by root, it
 * also gets cache_dir's owner (the user a daemon runs as once it has
 * dropped privileges). Never accessible to others. Returns an open descriptor (the caller closes it) or -1 with err
 * saying why.
 */
int dsec_verdict_open_dir(int cache_fd, DSEC_ERR *err);

/* An existing verdicts directory given by path, read only; -1 and err. */
int dsec_verdict_open_path(const char *path, DSEC_ERR *err);

/*
 * The leaf's names into v: subject, cn and dns (control characters and
 * commas of a name replaced by '?', the list cut at a whole name).
 */
void dsec_verdict_names_of(X509 *leaf, dsec_verdict *v);

/* The SHA-256 fingerprints of leaf as lowercase hex; 0 on failure. */
int dsec_verdict_fingerprints(X509 *leaf, char cert_hex[DSEC_VERDICT_HEX_LEN],
                              char key_hex[DSEC_VERDICT_HEX_LEN]);

/*
 * A fingerprint as Postfix sends it (pairs of hex digits separated by ':',
 * any case) or as 64 hex digits, into lowercase hex. Returns 1, or 0 (out
 * untouched) when it is not a SHA-256 fingerprint.
 */
int dsec_verdict_normalize(const char *text, char out[DSEC_VERDICT_HEX_LEN]);

/*
 * v as record text into buf (len bytes): every value on one line
 * (control characters replaced by '?'). Returns the length, or 0 when it
 * does not fit.
 */
size_t dsec_verdict_format(const dsec_verdict *v, char *buf, size_t len);

/*
 * Record text (len bytes, no NUL needed) into *out: every line key=value,
 * unknown keys ignored; class, error, depth, time and expires required.
 * DSEC_ERR_INVALID with err saying why otherwise.
 */
dsec_rv dsec_verdict_parse(const char *text, size_t len, dsec_verdict *out,
                           DSEC_ERR *err);

/*
 * Record v for leaf under both fingerprints in the directory dirfd, each
 * written to a temporary file (mode 0640) and renamed into place. DSEC_OK,
 * or DSEC_ERR_IO / DSEC_ERR_NOMEM / DSEC_ERR_INVALID with err.
 */
dsec_rv dsec_verdict_write(int dirfd, X509 *leaf, const dsec_verdict *v,
                           DSEC_ERR *err);

/*
 * The record of kind for the fingerprint hex (dsec_verdict_normalize's
 * form) at now. DSEC_OK fills *out; DSEC_ERR_NOT_FOUND when there is none
 * or it expired; DSEC_ERR_INVALID when the file is refused (not a regular
 * file, a link, writable by others, over DSEC_VERDICT_MAX_FILE bytes,
 * malformed): err says why.
 */
dsec_rv dsec_verdict_read(int dirfd, dsec_verdict_kind kind, const char *hex,
                          time_t now, dsec_verdict *out, DSEC_ERR *err);

/*
 * Remove the expired records of dirfd (and temporary files an hour old),
 * looking at max_entries entries at most. Returns the number removed.
 */
size_t dsec_verdict_sweep(int dirfd, time_t now, size_t max_entries);

/*
 * dsec_verdict_sweep at most once per interval seconds in this process, and
 * only when no process of the host did one in the last interval seconds
 * (the mark file .sweep in dirfd). Returns what it removed.
 */
size_t dsec_verdict_sweep_due(int dirfd, time_t now, long interval);

/*
 * RFC 6125 matching of a certificate's DNS name (pattern) against a host
 * name, case-insensitive, a trailing dot ignored: a wildcard only as the
 * whole left-most label of a pattern with at least three labels
 * ("*.example.com" matches "mx.example.com", not "example.com" nor
 * "a.b.example.com"). 1 on a match.
 */
int dsec_verdict_name_match(const char *pattern, const char *name);

/*
 * 1 when v's certificate is valid for the host name expected: one of its
 * DNS names matches, or, when it has none, its subject commonName.
 */
int dsec_verdict_names_match(const dsec_verdict *v, const char *expected);

#endif /* DOMAINSEC_VERDICT_H */
