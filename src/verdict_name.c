/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The names of a verdict record: a leaf certificate's fingerprints as
 * Postfix computes them (SHA-256 of the DER certificate and of the DER
 * SubjectPublicKeyInfo) and the forms Postfix sends them in, the leaf's
 * subject, commonName and DNS names as a record keeps them, and RFC 6125
 * matching of those names against the host name a partner must present.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/verdict.h"
#include "internal.h"

#define NAME_MAX_LEN 255

/* Control characters (and with no_comma, commas) replaced by '?'. */
static void verdict_clean(char *s, int no_comma)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f || (no_comma && *s == ',')) {
            *s = '?';
        }
    }
}

static void hex_of(const unsigned char *md, char out[DSEC_VERDICT_HEX_LEN])
{
    static const char digits[] = "0123456789abcdef";
    int i;

    for (i = 0; i < 32; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 0x0f];
    }
    out[64] = '\0';
}

int dsec_verdict_fingerprints(X509 *leaf, char cert_hex[DSEC_VERDICT_HEX_LEN],
                              char key_hex[DSEC_VERDICT_HEX_LEN])
{
    unsigned char md[32];
    unsigned char *der = NULL;
    int len, ok;

    if (leaf == NULL) {
        return 0;
    }
    len = i2d_X509(leaf, &der);
    ok = len > 0 && dsec_sha256_digest(der, (size_t)len, md);
    OPENSSL_free(der);
    if (!ok) {
        return 0;
    }
    hex_of(md, cert_hex);
    der = NULL;
    /* what Postfix digests for ccert_pubkey_fingerprint */
    len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der);
    ok = len > 0 && dsec_sha256_digest(der, (size_t)len, md);
    OPENSSL_free(der);
    if (!ok) {
        return 0;
    }
    hex_of(md, key_hex);
    return 1;
}

int dsec_verdict_normalize(const char *text, char out[DSEC_VERDICT_HEX_LEN])
{
    char hex[DSEC_VERDICT_HEX_LEN];
    size_t n = 0, i, len;
    int colons;

    if (text == NULL) {
        return 0;
    }
    len = strlen(text);
    /* "AB:CD:...": 32 pairs and 31 colons; or 64 digits in a row */
    colons = len == 95;
    if (len != 95 && len != 64) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (colons && i % 3 == 2) {
            if (text[i] != ':') {
                return 0;
            }
            continue;
        }
        if (!isxdigit((unsigned char)text[i])) {
            return 0;
        }
        hex[n++] = (char)tolower((unsigned char)text[i]);
    }
    hex[n] = '\0';
    memcpy(out, hex, sizeof(hex));
    return 1;
}

/* The last commonName of name as UTF-8 into buf, "" when none. */
static void verdict_cn(const X509_NAME *name, char *buf, size_t len)
{
    int i = -1, last = -1;
    unsigned char *utf8 = NULL;
    int n;

    buf[0] = '\0';
    while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0) {
        last = i;
    }
    if (last < 0) {
        return;
    }
    n = ASN1_STRING_to_UTF8(
        &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
    /* an embedded NUL would cut the name: keep none rather than a part */
    if (n > 0 && (size_t)n < len && memchr(utf8, '\0', (size_t)n) == NULL) {
        memcpy(buf, utf8, (size_t)n);
        buf[n] = '\0';
        verdict_clean(buf, 0);
    }
    OPENSSL_free(utf8);
}

/* The DNS subjectAltNames of leaf, comma-separated, whole names only. */
static void verdict_dns(X509 *leaf, char *buf, size_t len)
{
    GENERAL_NAMES *gens =
        X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    size_t used = 0, j;
    int i;

    buf[0] = '\0';
    for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
        const ASN1_IA5STRING *s;
        int n;

        if (gn->type != GEN_DNS) {
            continue;
        }
        s = gn->d.dNSName;
        n = ASN1_STRING_length(s);
        if (n <= 0 || n > NAME_MAX_LEN
            || used + (size_t)n + (used > 0) + 1 > len) {
            continue;
        }
        if (used > 0) {
            buf[used++] = ',';
        }
        memcpy(buf + used, ASN1_STRING_get0_data(s), (size_t)n);
        /* a NUL, control character or comma inside the name becomes '?':
           such a name never matches */
        for (j = used; j < used + (size_t)n; j++) {
            unsigned char c = (unsigned char)buf[j];

            if (c < 0x20 || c == 0x7f || c == ',') {
                buf[j] = '?';
            }
        }
        used += (size_t)n;
        buf[used] = '\0';
    }
    GENERAL_NAMES_free(gens);
}

void dsec_verdict_names_of(X509 *leaf, dsec_verdict *v)
{
    v->subject[0] = '\0';
    v->cn[0] = '\0';
    v->dns[0] = '\0';
    if (leaf == NULL) {
        return;
    }
    if (X509_NAME_oneline(X509_get_subject_name(leaf), v->subject,
                          (int)sizeof(v->subject))
        == NULL) {
        v->subject[0] = '\0';
    }
    verdict_clean(v->subject, 0);
    verdict_cn(X509_get_subject_name(leaf), v->cn, sizeof(v->cn));
    verdict_dns(leaf, v->dns, sizeof(v->dns));
}

/* s (n bytes) without one trailing dot into buf; 0 when too long/empty. */
static int verdict_trim(const char *s, size_t n, char *buf, size_t len)
{
    if (n > 0 && s[n - 1] == '.') {
        n--;
    }
    if (n == 0 || n >= len) {
        return 0;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 1;
}

/* pattern (n bytes) against name, both without their trailing dot. */
static int verdict_match_n(const char *pattern, size_t n, const char *name)
{
    char pat[NAME_MAX_LEN + 2], host[NAME_MAX_LEN + 2];
    const char *rest, *dot;

    if (!verdict_trim(pattern, n, pat, sizeof(pat))
        || !verdict_trim(name, strlen(name), host, sizeof(host))
        || strchr(host, '*') != NULL) {
        return 0;
    }
    if (strchr(pat, '*') == NULL) {
        return strcasecmp(pat, host) == 0;
    }
    /* "*." then at least two labels, and no other '*' */
    rest = pat + 2;
    if (pat[0] != '*' || pat[1] != '.' || strchr(rest, '*') != NULL
        || strchr(rest, '.') == NULL || rest[0] == '.') {
        return 0;
    }
    dot = strchr(host, '.');
    return dot != NULL && dot != host && strcasecmp(dot + 1, rest) == 0;
}

int dsec_verdict_name_match(const char *pattern, const char *name)
{
    if (pattern == NULL || name == NULL) {
        return 0;
    }
    return verdict_match_n(pattern, strlen(pattern), name);
}

int dsec_verdict_names_match(const dsec_verdict *v, const char *expected)
{
    const char *p, *comma;

    if (v == NULL || expected == NULL || *expected == '\0') {
        return 0;
    }
    if (v->dns[0] == '\0') {
        return v->cn[0] != '\0' && dsec_verdict_name_match(v->cn, expected);
    }
    for (p = v->dns; *p != '\0'; p = *comma != '\0' ? comma + 1 : comma) {
        comma = strchr(p, ',');
        if (comma == NULL) {
            comma = p + strlen(p);
        }
        if (verdict_match_n(p, (size_t)(comma - p), expected)) {
            return 1;
        }
    }
    return 0;
}
