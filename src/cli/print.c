/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the subcommands print about certificates, CRLs and the provider's
 * report: names on one line, times in ISO 8601, a CRL's details (issuer,
 * thisUpdate, nextUpdate, CRL number, entries, delta or not) as "label:
 * value" lines or as a one-line summary, and the report of a verification
 * (paths tried, CRL fetches, revocation per depth).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "domainsec/url.h"
#include "domainsec/decide.h"
#include "domainsec/log.h"
#include "domainsec/report.h"
#include "cli.h"

/* What was printed into the memory BIO, into buf (NUL-terminated). */
static void cli_bio_text(BIO *bio, char *buf, size_t len)
{
    int n;

    n = BIO_read(bio, buf, (int)(len > INT_MAX ? INT_MAX : len - 1));
    if (n < 0) {
        n = 0;
    }
    buf[n] = '\0';
}

void dsec_cli_name(const X509_NAME *name, char *buf, size_t len)
{
    BIO *bio = NULL;

    if (len == 0) {
        return;
    }
    buf[0] = '\0';
    if (name == NULL) {
        snprintf(buf, len, "(none)");
        goto done;
    }
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        goto done;
    }
    if (X509_NAME_print_ex(bio, name, 0,
                           XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB)
        < 0) {
        goto done;
    }
    cli_bio_text(bio, buf, len);

done:
    BIO_free(bio);
}

void dsec_cli_asn1_time(const ASN1_TIME *t, char *buf, size_t len)
{
    BIO *bio = NULL;

    if (len == 0) {
        return;
    }
    snprintf(buf, len, "(unknown)");
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || t == NULL) {
        goto done;
    }
    if (!ASN1_TIME_print_ex(bio, t, ASN1_DTFLGS_ISO8601)) {
        goto done;
    }
    cli_bio_text(bio, buf, len);

done:
    BIO_free(bio);
}

/* CRL number as "4096 (0x1000)"; "(none)" without the extension. */
static void cli_crl_number(X509_CRL *crl, char *buf, size_t len)
{
    ASN1_INTEGER *num = NULL;
    BIGNUM *bn = NULL;
    char *dec = NULL, *hex = NULL;

    snprintf(buf, len, "(none)");
    num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    if (num == NULL) {
        goto done;
    }
    bn = ASN1_INTEGER_to_BN(num, NULL);
    if (bn == NULL || (dec = BN_bn2dec(bn)) == NULL
        || (hex = BN_bn2hex(bn)) == NULL) {
        snprintf(buf, len, "(unreadable)");
        goto done;
    }
    snprintf(buf, len, "%s (0x%s)", dec, hex);

done:
    OPENSSL_free(dec);
    OPENSSL_free(hex);
    BN_free(bn);
    ASN1_INTEGER_free(num);
}

static int cli_crl_entries(X509_CRL *crl)
{
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);

    return revoked != NULL ? sk_X509_REVOKED_num(revoked) : 0;
}

void dsec_cli_print_crl(X509_CRL *crl, const char *indent)
{
    ASN1_INTEGER *base = NULL;
    BIGNUM *bn = NULL;
    char *dec = NULL;
    char buf[512];

    ERR_set_mark();
    dsec_cli_name(X509_CRL_get_issuer(crl), buf, sizeof(buf));
    printf("%sissuer:     %s\n", indent, buf);
    dsec_cli_asn1_time(X509_CRL_get0_lastUpdate(crl), buf, sizeof(buf));
    printf("%sthisUpdate: %s\n", indent, buf);
    if (X509_CRL_get0_nextUpdate(crl) != NULL) {
        dsec_cli_asn1_time(X509_CRL_get0_nextUpdate(crl), buf, sizeof(buf));
    } else {
        snprintf(buf, sizeof(buf), "(none)");
    }
    printf("%snextUpdate: %s\n", indent, buf);
    cli_crl_number(crl, buf, sizeof(buf));
    printf("%sCRL number: %s\n", indent, buf);
    printf("%sentries:    %d\n", indent, cli_crl_entries(crl));
    base = X509_CRL_get_ext_d2i(crl, NID_delta_crl, NULL, NULL);
    if (base != NULL) {
        bn = ASN1_INTEGER_to_BN(base, NULL);
        dec = bn != NULL ? BN_bn2dec(bn) : NULL;
        printf("%sdelta CRL:  yes (base CRL number %s)\n", indent,
               dec != NULL ? dec : "unreadable");
    } else if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
        printf("%sdelta CRL:  yes (unreadable base CRL number)\n", indent);
    } else {
        printf("%sdelta CRL:  no\n", indent);
    }
    OPENSSL_free(dec);
    BN_free(bn);
    ASN1_INTEGER_free(base);
    ERR_pop_to_mark();
}

void dsec_cli_crl_summary(X509_CRL *crl, char *buf, size_t len)
{
    char issuer[256], number[128], next[64];

    ERR_set_mark();
    dsec_cli_name(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
    cli_crl_number(crl, number, sizeof(number));
    if (X509_CRL_get0_nextUpdate(crl) != NULL) {
        dsec_cli_asn1_time(X509_CRL_get0_nextUpdate(crl), next, sizeof(next));
    } else {
        snprintf(next, sizeof(next), "(none)");
    }
    snprintf(buf, len, "CRL of %s, number %s, %d entr%s, nextUpdate %s%s",
             issuer, number, cli_crl_entries(crl),
             cli_crl_entries(crl) == 1 ? "y" : "ies", next,
             X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0
                 ? ", delta CRL"
                 : "");
    ERR_pop_to_mark();
}

static const char *cli_source(int from_cache)
{
    switch (from_cache) {
    case 0:
        return "network";
    case 1:
        return "memory cache";
    case 2:
        return "disk cache";
    default:
        return "unknown";
    }
}

/* The path builder's log: every path tried, and why each was rejected. */
static void cli_print_paths(const dsec_report *rep)
{
    size_t i;

    if (rep == NULL || rep->npaths == 0) {
        return;
    }
    printf("paths tried:\n");
    for (i = 0; i < rep->npaths; i++) {
        printf("  %s\n", rep->paths[i]);
    }
    if (rep->paths_dropped > 0) {
        printf("  (%zu more lines)\n", rep->paths_dropped);
    }
}

static void cli_print_attempts(const dsec_report *rep)
{
    const dsec_attempt *a;
    char url[512];
    size_t i;

    printf("CRL fetches:\n");
    if (rep == NULL) {
        printf("  (no revocation report: revocation was not checked)\n");
        return;
    }
    if (rep->nattempts == 0) {
        printf("  (none)\n");
        return;
    }
    for (i = 0; i < rep->nattempts; i++) {
        a = &rep->attempts[i];
        dsec_url_mask(a->url != NULL ? a->url : "(no URL)", url, sizeof(url));
        printf("  depth %d: %s\n", a->depth, url);
        if (a->rv == DSEC_OK) {
            printf("      result: ok\n");
        } else {
            printf("      result: %s%s%s\n", dsec_rv_name(a->rv),
                   a->detail[0] != '\0' ? ": " : "", a->detail);
        }
        if (a->rv != DSEC_OK && strstr(a->detail, "not fetched") != NULL) {
            continue; /* never went anywhere: no source line */
        }
        printf("      source: %s", cli_source(a->from_cache));
        if (a->status != 0) {
            printf(", HTTP %ld", a->status);
        }
        printf(", %zu bytes, %.3f s", a->bytes, a->seconds);
        if (a->route[0] != '\0') {
            printf(", route: %s", a->route);
        }
        printf("\n");
        if (a->rv == DSEC_OK && a->crl != NULL) {
            printf("      CRL:\n");
            dsec_cli_print_crl(a->crl, "        ");
        }
    }
}

/* The decision per depth: good / revoked / unknown, and on what. */
static void cli_print_revocation(const dsec_report *rep)
{
    int d;

    if (rep == NULL) {
        return;
    }
    printf("revocation:\n");
    for (d = 0; d < rep->nchain && d < DSEC_REPORT_MAX_DEPTH; d++) {
        const dsec_depth_status *st = &rep->depth[d];

        if (!st->checked) {
            continue;
        }
        printf("  depth %d: %s%s%s\n", d,
               st->rv == DSEC_OK
                   ? dsec_decide_status_name((dsec_status)st->status)
                   : "unknown",
               st->detail[0] != '\0' ? ": " : "", st->detail);
    }
}

void dsec_cli_print_report(const struct dsec_report *rep)
{
    cli_print_paths(rep);
    cli_print_attempts(rep);
    cli_print_revocation(rep);
}
