/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading Postfix policy requests (SMTPD_POLICY_README): name=value lines
 * ended by an empty line, pushed in as they arrive, in bounded memory
 * whatever comes: a line over DSEC_POLICY_MAX_LINE bytes is skipped to its
 * end, not stored; a request over its limits, or with a line that is not
 * name=value text, is read to its empty line and marked as an error, so
 * the conversation goes on with the next request.
 */
#include <stdio.h>
#include <string.h>
#include "domainsec/policy.h"

const char *const dsec_policy_attrs[DSEC_POLICY_A_COUNT] = {
    [DSEC_POLICY_A_REQUEST] = "request",
    [DSEC_POLICY_A_PROTOCOL_STATE] = "protocol_state",
    [DSEC_POLICY_A_SENDER] = "sender",
    [DSEC_POLICY_A_CCERT_FINGERPRINT] = "ccert_fingerprint",
    [DSEC_POLICY_A_CCERT_PUBKEY_FINGERPRINT] = "ccert_pubkey_fingerprint",
    [DSEC_POLICY_A_CCERT_SUBJECT] = "ccert_subject",
    [DSEC_POLICY_A_ENCRYPTION_PROTOCOL] = "encryption_protocol",
    [DSEC_POLICY_A_CLIENT_ADDRESS] = "client_address",
};

void dsec_policy_reader_reset(dsec_policy_reader *r)
{
    memset(r, 0, sizeof(*r));
}

int dsec_policy_reader_pending(const dsec_policy_reader *r)
{
    return r->bytes > 0;
}

/* The request's first problem is the one reported. */
static void req_error(dsec_policy_reader *r, const char *msg)
{
    if (r->error[0] == '\0') {
        snprintf(r->error, sizeof(r->error), "%s", msg);
    }
}

/* One complete name=value line (NUL-terminated, n bytes, no newline). */
static void req_line(dsec_policy_reader *r, char *line, size_t n)
{
    char *eq;
    size_t i;
    int a;

    if (n > 0 && line[n - 1] == '\r') {
        line[--n] = '\0';
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
            req_error(r, "control character in a request line");
            return;
        }
    }
    if (++r->nattrs > DSEC_POLICY_MAX_ATTRS) {
        req_error(r, "more than 100 attributes");
        return;
    }
    if ((eq = strchr(line, '=')) == NULL || eq == line) {
        req_error(r, "request line without name=value");
        return;
    }
    *eq = '\0';
    for (a = 0; a < DSEC_POLICY_A_COUNT; a++) {
        if (strcmp(line, dsec_policy_attrs[a]) == 0) {
            break;
        }
    }
    if (a == DSEC_POLICY_A_COUNT) {
        return; /* an attribute the decision does not read */
    }
    if ((r->present & (1u << a)) != 0) {
        req_error(r, "attribute given twice");
    } else if (strlen(eq + 1) >= DSEC_POLICY_MAX_VALUE) {
        req_error(r, "attribute value too long");
    } else {
        r->present |= 1u << a;
        snprintf(r->value[a], sizeof(r->value[a]), "%s", eq + 1);
    }
}

/* The line in r->line ended: 1 when it was the request's empty line. */
static int req_end_line(dsec_policy_reader *r)
{
    size_t n = r->linelen;
    int was_long = r->discard;

    r->linelen = 0;
    r->discard = 0;
    if (was_long) {
        return 0;
    }
    if (n == 0 || (n == 1 && r->line[0] == '\r')) {
        if (r->nattrs == 0 && r->error[0] == '\0') {
            req_error(r, "empty request");
        }
        return 1;
    }
    if (r->bytes > DSEC_POLICY_MAX_REQUEST) {
        return 0; /* over the limit: no longer looked at */
    }
    r->line[n] = '\0';
    req_line(r, r->line, n);
    return 0;
}

size_t dsec_policy_reader_feed(dsec_policy_reader *r, const char *data,
                               size_t len, int *complete)
{
    size_t pos = 0;

    *complete = 0;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t seg = nl != NULL ? (size_t)(nl - (data + pos)) : len - pos;

        if (!r->discard && r->linelen + seg > DSEC_POLICY_MAX_LINE) {
            req_error(r, "request line over 4096 bytes");
            r->discard = 1;
        }
        r->bytes += seg + (nl != NULL);
        if (r->bytes > DSEC_POLICY_MAX_REQUEST) {
            req_error(r, "request over 65536 bytes");
        }
        if (!r->discard) {
            memcpy(r->line + r->linelen, data + pos, seg);
            r->linelen += seg;
        }
        pos += seg;
        if (nl == NULL) {
            break;
        }
        pos++;
        /* a NUL inside a line is a control character too */
        if (!r->discard && memchr(r->line, '\0', r->linelen) != NULL) {
            req_error(r, "control character in a request line");
            r->linelen = 0;
            r->nattrs++;
            continue;
        }
        if (req_end_line(r)) {
            *complete = 1;
            break;
        }
    }
    return pos;
}
