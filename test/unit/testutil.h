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
#include "domainsec/cache.h"

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

/* ---- certificates and CRLs with every extension RFC 5280 6.3.3 reads ---- */

#include <time.h>
#include <openssl/x509v3.h>

/*
 * General names from a '|'-separated list: "DIR:<cn>[/<cn>...]" a
 * directoryName with one CN RDN per '/'-separated component, "URI:<uri>"
 * or any other text a URI. NULL on failure or an empty list.
 */
GENERAL_NAMES *tu_general_names(const char *spec);

/* The X509_NAME of "<cn>[/<cn>...]" (one CN RDN per component). */
X509_NAME *tu_name(const char *path);

/*
 * A DistributionPoint (cRLDistributionPoints, freshestCRL). name: a
 * tu_general_names list as fullName, or "REL:<cn>" for a
 * nameRelativeToCRLIssuer CN=<cn>, or NULL for no distributionPoint.
 * reasons: ReasonFlags as a bit set, bit i for reason i
 * (DSEC_REASONS_ALL's layout), 0 for no reasons field. crl_issuer: a
 * tu_general_names list, or NULL.
 */
typedef struct {
    const char *name;
    unsigned int reasons;
    const char *crl_issuer;
} tu_dp;

typedef struct {
    const char *subject; /* tu_name path */
    X509 *issuer; /* issuer name and AKID; NULL: self-issued */
    EVP_PKEY *issuer_key; /* signs; NULL: key (self-signed) */
    EVP_PKEY *key;
    long serial; /* > 0: this serial, else a random one */
    int is_ca; /* basicConstraints (critical) cA */
    /* keyUsage (critical) as KU_* flags; 0: CA keyCertSign|cRLSign, else
       digitalSignature; -1: no keyUsage extension */
    int key_usage;
    const tu_dp *dps; /* cRLDistributionPoints, ndps 0: none */
    size_t ndps;
    const tu_dp *freshest; /* freshestCRL, nfreshest 0: none */
    size_t nfreshest;
    time_t not_before, not_after;
} tu_cert_spec;

/* A certificate (SKID, AKID, DER round-tripped) as spec says. */
X509 *tu_cert_ex(const tu_cert_spec *spec);

typedef struct {
    long serial;
    int reason; /* CRLReason code; -1: no reasonCode extension */
    const char *cert_issuer; /* certificateIssuer (critical) names or NULL */
    int unknown_critical; /* a critical entry extension nobody handles */
} tu_crl_entry;

typedef struct {
    const char *issuer; /* tu_name path */
    EVP_PKEY *key; /* signs */
    X509 *akid; /* AKID keyIdentifier: this certificate's SKID; NULL: none */
    time_t this_update;
    time_t next_update; /* 0: no nextUpdate */
    long number; /* crlNumber; < 0: none */
    long delta_base; /* >= 0: deltaCRLIndicator (critical) */
    int idp; /* 1: issuingDistributionPoint (critical) with: */
    const char *idp_name; /* as tu_dp.name, NULL: no distributionPoint */
    int only_user, only_ca, only_attr, indirect;
    unsigned int idp_reasons; /* onlySomeReasons bit set, 0: none */
    const tu_dp *freshest; /* freshestCRL, nfreshest 0: none */
    size_t nfreshest;
    int unknown_critical; /* a critical CRL extension nobody handles */
    const tu_crl_entry *entries; /* in this order (never sorted) */
    size_t nentries;
} tu_crl_spec;

/*
 * A v2 CRL as spec says, signed with spec->key (SHA-256) and DER
 * round-tripped, so OpenSSL's cached fields (IDP flags, delta base,
 * per-entry certificate issuers, which follow the DER order) are those of
 * a parsed CRL.
 */
X509_CRL *tu_crl_ex(const tu_crl_spec *spec);

/*
 * Keep x in the cache for url as verified with issuer's key, disk copy
 * included (what the engine stores once it accepted a CRL).
 */
dsec_rv tu_cache_put(dsec_cache *c, const char *url, X509_CRL *x, X509 *issuer);

#endif /* DOMAINSEC_TEST_TESTUTIL_H */
