/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared helpers of the CUnit suites: an in-memory PKI (EC P-256 keys,
 * CA and leaf certificates with CRL Distribution Points, complete and delta
 * CRLs) built with OpenSSL APIs only, plus temporary directories. Nothing
 * here touches the network or $HOME. Every function returns NULL (or -1)
 * on failure; the suites assert on that.
 */
#ifndef DOMAINSEC_TEST_TESTUTIL_H
#define DOMAINSEC_TEST_TESTUTIL_H

#include <limits.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <CUnit/CUnit.h>

/* A fresh EC P-256 key. */
EVP_PKEY *tu_key(void);

/*
 * A v3 certificate for cn (subject "CN=<cn>"), issued by issuer/issuer_key;
 * issuer NULL makes it self-signed with key (issuer_key may then be NULL).
 * The issuer certificate gives the issuer name and the AKID; the signature
 * is made with issuer_key, so passing a key that is not the issuer's gives a
 * certificate that claims that issuer but does not verify with it.
 * Serial random, SKID, AKID, basicConstraints (critical), keyUsage
 * (critical; CA: keyCertSign+cRLSign, leaf: digitalSignature).
 * cdp_url: NULL for no CRL Distribution Points extension, else one
 * DistributionPoint whose fullName holds the '|'-separated URIs.
 * Validity is [now + not_before_off, now + not_after_off].
 */
X509 *tu_cert(const char *cn, X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key,
              int is_ca, const char *cdp_url, long not_before_off,
              long not_after_off);

/*
 * As tu_cert, with ndps DistributionPoints (ndps 0: no extension). Each
 * dps[i] is a '|'-separated list of fullName general names:
 *   "http://..."      a URI (any text without a known prefix)
 *   "DIR:<cn>"        a directoryName CN=<cn>
 *   "NUL:<uri>"       a URI with an embedded NUL byte (<uri> NUL "x")
 * or the whole entry "REL:<cn>": a DP with a nameRelativeToCRLIssuer CN=<cn>.
 */
X509 *tu_cert_dps(const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                  EVP_PKEY *key, int is_ca, const char *const *dps, size_t ndps,
                  long not_before_off, long not_after_off);

/* A leaf valid for a day with two DPs: dp0 and dp1 ('|' lists). */
X509 *tu_cert_multi_dp(const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       EVP_PKEY *key, const char *dp0, const char *dp1);

/*
 * A leaf valid for a day whose only DP has no URI: relative 0 gives a
 * fullName with one directoryName, relative 1 a nameRelativeToCRLIssuer.
 */
X509 *tu_cert_nonuri_dp(const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                        EVP_PKEY *key, int relative);

/* next_off == TU_NO_NEXT_UPDATE: the CRL has no nextUpdate. */
#define TU_NO_NEXT_UPDATE LONG_MIN

/*
 * A v2 CRL named after issuer (issuer name, AKID from its SKID), signed with
 * issuer_key, thisUpdate now + last_off, nextUpdate now + next_off, listing
 * the serials of revoked[0..nrevoked-1], with a crlNumber; delta 1 adds a
 * critical Delta CRL Indicator. The CRL is DER round-tripped, so its cached
 * fields (delta base, IDP flags) are those a parsed CRL would have.
 */
X509_CRL *tu_crl(X509 *issuer, EVP_PKEY *issuer_key, long last_off,
                 long next_off, X509 **revoked, int nrevoked, int delta);

/* DER / PEM ("X509 CRL", NUL-terminated) encodings, malloc'ed. */
unsigned char *tu_crl_der(X509_CRL *crl, size_t *len);
char *tu_crl_pem(X509_CRL *crl, size_t *len);

/* DER / PEM of a certificate, malloc'ed. */
unsigned char *tu_cert_der(X509 *cert, size_t *len);
char *tu_cert_pem(X509 *cert, size_t *len);

/* A new stack of the NULL-terminated certificates (each up-ref'd). */
STACK_OF(X509) * tu_chain(X509 *first, ...);

/*
 * mkdtemp under $TMPDIR (or /tmp) into buf; returns buf or NULL.
 * tu_rmtree removes a directory made that way, with its plain files.
 */
char *tu_tmpdir(char *buf, size_t len);
int tu_rmtree(const char *path);

/* Write len bytes to path (created 0600 or truncated); 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);

/*
 * The main of every suite: registers tests (ended by CU_TEST_INFO_NULL)
 * under name, runs them verbosely, and returns non-zero when a test or the
 * suite's init/cleanup failed.
 */
int tu_run_suite(const char *name, CU_InitializeFunc init,
                 CU_CleanupFunc cleanup, CU_TestInfo *tests);

#endif /* DOMAINSEC_TEST_TESTUTIL_H */
