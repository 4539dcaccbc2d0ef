/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The decisions of `domainsec policyd` (DESIGN.md section 8): the list of
 * domain-secured partner domains (Exchange's receive domain-secure list)
 * with the certificate name each must present, and the answer to one
 * policy request from the verdict recorded for the client's certificate:
 * REJECT 5.7.1 for a fatal verdict, DEFER_IF_PERMIT 4.7.5 for a transient
 * one, DUNNO for a valid one; a listed sender domain also needs TLS with a
 * valid certificate that names the partner.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "domainsec/policy.h"

#define PARTNERS_MAX_FILE (4L * 1024 * 1024)
#define HOST_MAX 253

typedef struct {
    char *domain; /* lowercase */
    char *name; /* the certificate name to expect */
} partner;

struct dsec_policy_partners {
    partner *v; /* sorted by domain */
    size_t n;
    size_t cap;
};

void dsec_policy_partners_free(dsec_policy_partners *p)
{
    size_t i;

    if (p == NULL) {
        return;
    }
    for (i = 0; i < p->n; i++) {
        free(p->v[i].domain);
        free(p->v[i].name);
    }
    free(p->v);
    free(p);
}

size_t dsec_policy_partners_count(const dsec_policy_partners *p)
{
    return p != NULL ? p->n : 0;
}

/* A host name: letters, digits, '-' and '.', no empty label, a letter or
   digit first and last. Lowercased. */
static int host_name_ok(char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > HOST_MAX || !isalnum((unsigned char)s[0])
        || !isalnum((unsigned char)s[n - 1]) || strstr(s, "..") != NULL) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.') {
            return 0;
        }
        s[i] = (char)tolower((unsigned char)s[i]);
    }
    return 1;
}

static int partner_cmp(const void *a, const void *b)
{
    return strcmp(((const partner *)a)->domain, ((const partner *)b)->domain);
}

/* One line of the domains file (modified in place) into p. */
static dsec_rv partners_line(dsec_policy_partners *p, char *line, int lineno,
                             DSEC_ERR *err)
{
    char *field[3] = { NULL, NULL, NULL }, *save = NULL, *tok;
    partner *v;
    int n = 0;

    if ((tok = strchr(line, '#')) != NULL) {
        *tok = '\0';
    }
    for (tok = strtok_r(line, " \t\r", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\r", &save)) {
        if (n == 3) {
            break;
        }
        field[n++] = tok;
    }
    if (n == 0) {
        return DSEC_OK;
    }
    if (n > 2 || !host_name_ok(field[0])
        || (field[1] != NULL && !host_name_ok(field[1]))) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "line %d: expected 'domain [certificate-name]' "
                            "with host names",
                            lineno);
    }
    v = dsec_grow(p->v, &p->cap, p->n + 1, sizeof(*v));
    if (v == NULL) {
        return dsec_err_set(err, DSEC_ERR_NOMEM, 0, "out of memory");
    }
    p->v = v;
    v[p->n].domain = strdup(field[0]);
    v[p->n].name = strdup(field[1] != NULL ? field[1] : field[0]);
    p->n++;
    if (v[p->n - 1].domain == NULL || v[p->n - 1].name == NULL) {
        return dsec_err_set(err, DSEC_ERR_NOMEM, 0, "out of memory");
    }
    return DSEC_OK;
}

/* The text of the file path into *out (NUL-terminated, at most max bytes,
   no NUL inside). */
static dsec_rv partners_read(const char *path, long max, char **out,
                             DSEC_ERR *err)
{
    FILE *fp = fopen(path, "re");
    char *buf = NULL;
    dsec_rv rv = DSEC_OK;
    size_t got;

    if (fp == NULL) {
        return dsec_err_set(err, DSEC_ERR_IO, errno, "%s: %s", path,
                            strerror(errno));
    }
    if ((buf = malloc((size_t)max + 1)) == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_NOMEM, 0, "out of memory");
    } else if ((got = fread(buf, 1, (size_t)max + 1, fp)) > (size_t)max
               || ferror(fp)) {
        rv = dsec_err_set(err, DSEC_ERR_INVALID, 0,
                          "%s: unreadable or over %ld bytes", path, max);
    } else if (memchr(buf, '\0', got) != NULL) {
        rv =
            dsec_err_set(err, DSEC_ERR_INVALID, 0, "%s: not a text file", path);
    } else {
        buf[got] = '\0';
        *out = buf;
        buf = NULL;
    }
    free(buf);
    fclose(fp);
    return rv;
}

dsec_rv dsec_policy_partners_load(const char *path, dsec_policy_partners **out,
                                  DSEC_ERR *err)
{
    dsec_policy_partners *p = calloc(1, sizeof(*p));
    char *text = NULL, *line, *next;
    dsec_rv rv = DSEC_OK;
    int lineno = 0;
    size_t i;

    if (p == NULL) {
        return dsec_err_set(err, DSEC_ERR_NOMEM, 0, "out of memory");
    }
    if ((rv = partners_read(path, PARTNERS_MAX_FILE, &text, err)) != DSEC_OK) {
        goto done;
    }
    for (line = text; rv == DSEC_OK && line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        lineno++;
        rv = partners_line(p, line, lineno, err);
    }
    if (rv == DSEC_OK && p->n > 0) {
        qsort(p->v, p->n, sizeof(*p->v), partner_cmp);
    }
    for (i = 1; rv == DSEC_OK && i < p->n; i++) {
        if (strcmp(p->v[i - 1].domain, p->v[i].domain) == 0) {
            rv = dsec_err_set(err, DSEC_ERR_INVALID, 0,
                              "domain %s listed twice", p->v[i].domain);
        }
    }
done:
    free(text);
    if (rv != DSEC_OK) {
        dsec_policy_partners_free(p);
        return rv;
    }
    *out = p;
    return DSEC_OK;
}

const char *dsec_policy_partners_find(const dsec_policy_partners *p,
                                      const char *domain)
{
    char key[HOST_MAX + 2];
    partner k, *hit;

    if (p == NULL || p->n == 0 || domain == NULL || strlen(domain) > HOST_MAX) {
        return NULL;
    }
    snprintf(key, sizeof(key), "%s", domain);
    if (!host_name_ok(key)) {
        return NULL;
    }
    k.domain = key;
    hit = bsearch(&k, p->v, p->n, sizeof(*p->v), partner_cmp);
    return hit != NULL ? hit->name : NULL;
}

/* --------------------------------------------------------- the decision */

/* printf into one of the answer's fields. */
#define ANS_SET(field, ...) snprintf(field, sizeof(field), __VA_ARGS__)

/* What was found for the client's certificate. */
typedef struct {
    int presented; /* a fingerprint was sent */
    int found; /* v holds its live record */
    dsec_verdict v;
} lookup;

/* The record of kind for the attribute a of r; 1 when found. */
static int lookup_one(const dsec_policy *pol, const dsec_policy_reader *r,
                      dsec_policy_attr a, dsec_verdict_kind kind, time_t now,
                      lookup *l, dsec_policy_answer *ans)
{
    const char *fp = r->value[a];
    char hex[DSEC_VERDICT_HEX_LEN];
    DSEC_ERR err;

    if (fp[0] == '\0') {
        return 0;
    }
    l->presented = 1;
    if (!dsec_verdict_normalize(fp, hex)) {
        ANS_SET(ans->reason,
                "%s is not a SHA-256 fingerprint (smtpd_tls_fingerprint_"
                "digest = sha256?)",
                dsec_policy_attrs[a]);
        return 0;
    }
    if (strcmp(ans->fingerprint, "-") == 0) {
        ANS_SET(ans->fingerprint, "%s", hex);
    }
    memset(&err, 0, sizeof(err));
    if (dsec_verdict_read(pol->verdict_fd, kind, hex, now, &l->v, &err)
        != DSEC_OK) {
        ANS_SET(ans->reason, "%s: %s", dsec_policy_attrs[a], err.msg);
        return 0;
    }
    ANS_SET(ans->fingerprint, "%s", hex);
    ANS_SET(ans->verdict, "%s", dsec_classify_name(l->v.cls));
    ANS_SET(ans->reason, "%s", l->v.reason);
    l->found = 1;
    return 1;
}

/* The sender's domain (after the last '@'), "" for none. */
static const char *sender_domain(const dsec_policy_reader *r)
{
    const char *at = strrchr(r->value[DSEC_POLICY_A_SENDER], '@');

    return at != NULL ? at + 1 : "";
}

/* REJECT 5.7.1 with the record's reason, printable ASCII only. */
static void reject_with_reason(const lookup *l, dsec_policy_answer *ans)
{
    char text[200];
    size_t i;

    ANS_SET(text, "%.199s",
            l->v.reason[0] != '\0' ? l->v.reason : "certificate rejected");
    for (i = 0; text[i] != '\0'; i++) {
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e) {
            text[i] = '?';
        }
    }
    ANS_SET(ans->action, "REJECT 5.7.1 %s", text);
}

/* A domain-secured partner: TLS, a valid certificate, the right name. */
static void decide_listed(const lookup *l, const char *domain,
                          const char *expected, dsec_policy_answer *ans)
{
    if (!l->presented || !l->found) {
        ANS_SET(ans->action, "%s", DSEC_POLICY_ACTION_NO_CERT);
        if (!l->presented) {
            ANS_SET(ans->reason, "no client certificate");
        }
    } else if (l->v.cls == DSEC_CLASS_FATAL) {
        reject_with_reason(l, ans);
    } else if (!dsec_verdict_names_match(&l->v, expected)) {
        ANS_SET(ans->action,
                "REJECT 5.7.1 certificate does not match domain-secured "
                "partner %s",
                domain);
        if (l->v.dns[0] != '\0') {
            ANS_SET(ans->reason, "certificate DNS names %.200s do not match %s",
                    l->v.dns, expected);
        } else {
            ANS_SET(ans->reason, "certificate CN %.200s does not match %s",
                    l->v.cn[0] != '\0' ? l->v.cn : "(none)", expected);
        }
    } else if (l->v.cls == DSEC_CLASS_TRANSIENT) {
        ANS_SET(ans->action, "%s", DSEC_POLICY_ACTION_TRANSIENT);
    } else {
        ANS_SET(ans->action, "DUNNO");
    }
}

/* Any other sender: the verdict of a presented certificate, if enforced. */
static void decide_unlisted(const dsec_policy *pol, const lookup *l,
                            dsec_policy_answer *ans)
{
    if (!l->presented && ans->reason[0] == '\0') {
        ANS_SET(ans->reason, "no client certificate");
    }
    if (pol->unlisted == DSEC_POLICY_UNLISTED_PASS || !l->found
        || l->v.cls == DSEC_CLASS_VALID) {
        ANS_SET(ans->action, "DUNNO");
    } else if (l->v.cls == DSEC_CLASS_TRANSIENT) {
        ANS_SET(ans->action, "%s", DSEC_POLICY_ACTION_TRANSIENT);
    } else {
        reject_with_reason(l, ans);
    }
}

void dsec_policy_decide(const dsec_policy *pol, const dsec_policy_reader *r,
                        time_t now, dsec_policy_answer *ans)
{
    const char *expected;
    lookup l;

    memset(ans, 0, sizeof(*ans));
    memset(&l, 0, sizeof(l));
    ANS_SET(ans->fingerprint, "-");
    ANS_SET(ans->verdict, "none");
    if (r->error[0] != '\0'
        || strcmp(r->value[DSEC_POLICY_A_REQUEST], "smtpd_access_policy")
               != 0) {
        ANS_SET(ans->action, "%s", DSEC_POLICY_ACTION_ERROR);
        ANS_SET(ans->verdict, "error");
        ANS_SET(ans->reason, "%s",
                r->error[0] != '\0' ? r->error
                                    : "not a request=smtpd_access_policy");
        return;
    }
    if (!lookup_one(pol, r, DSEC_POLICY_A_CCERT_FINGERPRINT, DSEC_VERDICT_CERT,
                    now, &l, ans)) {
        lookup_one(pol, r, DSEC_POLICY_A_CCERT_PUBKEY_FINGERPRINT,
                   DSEC_VERDICT_KEY, now, &l, ans);
    }
    expected = dsec_policy_partners_find(pol->partners, sender_domain(r));
    if (expected != NULL) {
        size_t i;

        ANS_SET(ans->partner, "%s", sender_domain(r));
        for (i = 0; ans->partner[i] != '\0'; i++) {
            ans->partner[i] = (char)tolower((unsigned char)ans->partner[i]);
        }
        decide_listed(&l, ans->partner, expected, ans);
    } else {
        decide_unlisted(pol, &l, ans);
    }
}
