/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an LDAP CDP is to the LDAP fetcher, apart from the protocol exchange
 * (fetch_ldap.c): which LDAP URLs it accepts (RFC 4516, parsed by libldap)
 * and what it takes from them: the scheme (within cdp_schemes),
 * a server named in the URL (libldap's default server, the ldap.conf URI,
 * is never used for a CDP), a host that is a host name or an address
 * literal and nothing else, a port, a non-empty DN, and at most one
 * attribute, which must be one of the three revocation-list attributes
 * (certificateRevocationList by default, authorityRevocationList,
 * deltaRevocationList, each with or without ";binary"). A critical
 * extension makes us refuse the URL (RFC 4516 §2.1); scope and filter are
 * not taken from it. And what the answer of the search means: the first
 * non-empty value of that attribute in the entry, or the result code
 * saying why there is no entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lber.h>
#include <ldap.h>

#include "domainsec/config.h"
#include "internal.h"

#define DEFAULT_ATTR "certificateRevocationList;binary"

static const char *const allowed_attrs[] = {
    "certificateRevocationList",
    "authorityRevocationList",
    "deltaRevocationList",
};

/* "certificateRevocationList;binary" -> index of the allowed base name. */
static int attr_allowed(const char *attr)
{
    size_t n = strcspn(attr, ";");
    size_t i;

    if (attr[n] == ';' && strcasecmp(attr + n, ";binary") != 0) {
        return -1;
    }
    for (i = 0; i < sizeof(allowed_attrs) / sizeof(allowed_attrs[0]); i++) {
        if (strlen(allowed_attrs[i]) == n
            && strncasecmp(attr, allowed_attrs[i], n) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Same attribute type, options (";binary") ignored. */
static int same_attr(const char *a, const char *b)
{
    size_t na = strcspn(a, ";");
    size_t nb = strcspn(b, ";");

    return na == nb && strncasecmp(a, b, na) == 0;
}

/*
 * A host name or address literal, nothing else: the decoded host of a URL
 * may hold spaces (libldap would read a list of servers) or worse.
 */
static int host_ok(const char *host)
{
    size_t i, n = strlen(host);

    if (n == 0 || n > 253) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'
              || c == ':')) {
            return 0;
        }
    }
    return 1;
}
/* The attribute of t's URL: none (the default) or one allowed. */
static dsec_rv parse_attr(const char *masked, dsec_ldapcdp *t, DSEC_ERR *err)
{
    int i;

    t->attr = DEFAULT_ATTR;
    if (t->lud->lud_attrs == NULL || t->lud->lud_attrs[0] == NULL) {
        return DSEC_OK;
    }
    for (i = 0; t->lud->lud_attrs[i] != NULL; i++) {
    }
    if (i > 1) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: URL %s names %d attributes; exactly "
                            "one revocation list attribute is expected",
                            masked, i);
    }
    if (attr_allowed(t->lud->lud_attrs[0]) < 0) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: attribute '%.64s' of %s refused (only "
                            "certificateRevocationList, "
                            "authorityRevocationList, "
                            "deltaRevocationList)",
                            t->lud->lud_attrs[0], masked);
    }
    t->attr = t->lud->lud_attrs[0];
    return DSEC_OK;
}

dsec_rv dsec_ldapcdp_parse(unsigned int schemes, const char *url,
                           const char *masked, dsec_ldapcdp *t, DSEC_ERR *err)
{
    unsigned int scheme = dsec_url_scheme(url);
    int rc;

    memset(t, 0, sizeof(*t));
    if ((scheme != DSEC_SCHEME_LDAP && scheme != DSEC_SCHEME_LDAPS)
        || (scheme & schemes) == 0) {
        return dsec_err_set(err, DSEC_ERR_SCHEME, 0,
                            "scheme of %s is not allowed for LDAP fetching",
                            masked);
    }
    rc = ldap_url_parse(url, &t->lud);
    if (rc != LDAP_URL_SUCCESS || t->lud == NULL) {
        return dsec_err_set(err, DSEC_ERR_INVALID, rc,
                            "ldap: malformed LDAP URL %s (ldap_url_parse "
                            "error %d)",
                            masked, rc);
    }
    t->scheme = scheme == DSEC_SCHEME_LDAPS ? "ldaps" : "ldap";
    if (t->lud->lud_scheme == NULL
        || strcasecmp(t->lud->lud_scheme, t->scheme) != 0) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: unexpected scheme in %s", masked);
    }
    if (t->lud->lud_host == NULL || t->lud->lud_host[0] == '\0') {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: URL %s names no server; refused (no "
                            "default LDAP server is used for a CDP)",
                            masked);
    }
    if (!host_ok(t->lud->lud_host)) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: invalid host name in %s", masked);
    }
    t->port = t->lud->lud_port;
    if (t->port == 0) {
        t->port = scheme == DSEC_SCHEME_LDAPS ? LDAPS_PORT : LDAP_PORT;
    }
    if (t->port < 1 || t->port > 65535) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: invalid port in %s", masked);
    }
    snprintf(t->server, sizeof(t->server), "%s%s%s:%d",
             strchr(t->lud->lud_host, ':') != NULL ? "[" : "", t->lud->lud_host,
             strchr(t->lud->lud_host, ':') != NULL ? "]" : "", t->port);
    if (t->lud->lud_dn == NULL || t->lud->lud_dn[0] == '\0') {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: URL %s names no entry (empty DN)", masked);
    }
    if (t->lud->lud_crit_exts > 0) {
        return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                            "ldap: URL %s has a critical extension; refused",
                            masked);
    }
    return parse_attr(masked, t, err);
}

void dsec_ldapcdp_clear(dsec_ldapcdp *t)
{
    if (t->lud != NULL) {
        ldap_free_urldesc(t->lud);
    }
    memset(t, 0, sizeof(*t));
}

/* The value is copied: the entry is freed with the search's messages. */
dsec_rv dsec_ldapcdp_take_value(const dsec_ldapcdp *t, LDAP *ld,
                                LDAPMessage *entry, size_t max,
                                const char *masked, dsec_fetch_result *res,
                                DSEC_ERR *err)
{
    BerElement *ber = NULL;
    char *name;
    struct berval **vals = NULL;
    struct berval *found = NULL;
    dsec_rv rv = DSEC_ERR_NO_CRL;
    int i;

    for (name = ldap_first_attribute(ld, entry, &ber); name != NULL;
         name = ldap_next_attribute(ld, entry, ber)) {
        if (found == NULL && same_attr(name, t->attr)) {
            vals = ldap_get_values_len(ld, entry, name);
            for (i = 0; vals != NULL && vals[i] != NULL; i++) {
                if (vals[i]->bv_len > 0 && vals[i]->bv_val != NULL) {
                    found = vals[i];
                    break;
                }
            }
            if (found == NULL) {
                ldap_value_free_len(vals);
                vals = NULL;
            }
        }
        ldap_memfree(name);
    }
    ber_free(ber, 0);
    if (found == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_NO_CRL, 0,
                          "ldap: entry '%.100s' has no %.40s value",
                          t->lud->lud_dn, t->attr);
        goto done;
    }
    if (found->bv_len > max) {
        rv = dsec_err_set(err, DSEC_ERR_TOO_BIG, 0,
                          "CRL at %s is larger than max_crl_size (%zu bytes)",
                          masked, max);
        goto done;
    }
    res->data = malloc(found->bv_len);
    if (res->data == NULL) {
        rv = dsec_err_set(err, DSEC_ERR_NOMEM, 0, "out of memory fetching %s",
                          masked);
        goto done;
    }
    memcpy(res->data, found->bv_val, found->bv_len);
    res->len = found->bv_len;
    rv = DSEC_OK;

done:
    ldap_value_free_len(vals);
    return rv;
}

/* The server's diagnostic text is read and dropped, never shown. */
dsec_rv dsec_ldapcdp_no_entry(const dsec_ldapcdp *t, LDAP *ld,
                              LDAPMessage *result, DSEC_ERR *err)
{
    int code = LDAP_OTHER;
    char *diag = NULL;
    dsec_rv rv;

    if (ldap_parse_result(ld, result, &code, NULL, &diag, NULL, NULL, 0)
        != LDAP_SUCCESS) {
        code = LDAP_OTHER;
    }
    switch (code) {
    case LDAP_SUCCESS:
    case LDAP_SIZELIMIT_EXCEEDED:
        rv = dsec_err_set(err, DSEC_ERR_NO_CRL, code,
                          "ldap: no entry '%.100s' visible on %s",
                          t->lud->lud_dn, t->server);
        break;
    case LDAP_NO_SUCH_OBJECT:
        rv = dsec_err_set(err, DSEC_ERR_NO_CRL, code,
                          "ldap: no entry '%.100s' on %s (no such object)",
                          t->lud->lud_dn, t->server);
        break;
    case LDAP_REFERRAL:
        rv = dsec_err_set(err, DSEC_ERR_NO_CRL, code,
                          "ldap: %s answered with a referral for '%.100s'; "
                          "referrals are not followed",
                          t->server, t->lud->lud_dn);
        break;
    case LDAP_TIMELIMIT_EXCEEDED:
        rv = dsec_err_set(err, DSEC_ERR_TIMEOUT, code,
                          "ldap: %s hit the time limit searching '%.100s'",
                          t->server, t->lud->lud_dn);
        break;
    case LDAP_BUSY:
    case LDAP_UNAVAILABLE:
    case LDAP_UNWILLING_TO_PERFORM:
    case LDAP_ADMINLIMIT_EXCEEDED:
        rv = dsec_err_set(err, DSEC_ERR_CONNECT, code,
                          "ldap: %s refused the search of '%.100s': %s",
                          t->server, t->lud->lud_dn, ldap_err2string(code));
        break;
    default:
        rv = dsec_err_set(err, DSEC_ERR_NO_CRL, code,
                          "ldap: search of '%.100s' on %s failed: %s",
                          t->lud->lud_dn, t->server, ldap_err2string(code));
        break;
    }
    ldap_memfree(diag);
    return rv;
}
