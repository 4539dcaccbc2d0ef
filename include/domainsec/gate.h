/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The signature gate (DESIGN.md section 1): no CDP of a certificate is
 * fetched before every link from it up to a trusted anchor has been
 * verified with the issuer's key. Verified links are remembered
 * process-wide, so the path builder, the gate and OpenSSL's own chain
 * check do not pay for the same signature again.
 */
#ifndef DOMAINSEC_GATE_H
#define DOMAINSEC_GATE_H

#include <openssl/x509.h>

/*
 * 1 when cert's signature verifies with issuer's key. A verified link (the
 * SHA-256 of the whole certificate with the SHA-256 of the issuer's key) is
 * remembered, so it is not verified twice.
 */
int dsec_gate_verify_link(X509 *cert, X509 *issuer);

/*
 * chain[0] is the leaf; top_trusted says whether the last element is a
 * trust anchor. Returns the lowest depth d such that every link from d up
 * to the anchor verifies with the issuer's key (so CDPs of depths >= d may
 * be fetched); the chain's length when none may. *bad_depth (may be NULL)
 * is set to the depth whose signature failed, -1 if none failed. Links for
 * which known() (may be NULL) says 1 were verified by the caller during
 * this very verification (same objects) and are not checked again.
 */
int dsec_gate_chain(STACK_OF(X509) * chain, int top_trusted, int *bad_depth,
                    int (*known)(void *arg, X509 *cert, X509 *issuer),
                    void *arg);

#endif /* DOMAINSEC_GATE_H */
