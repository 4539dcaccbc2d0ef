/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP caching for the HTTP fetcher (fetch_http.c): the request headers of
 * a conditional GET (If-None-Match, If-Modified-Since) and of a request
 * that a caching proxy must pass to the origin (Cache-Control: no-cache),
 * and the validators (ETag, Last-Modified) of a response, kept for the
 * next conditional GET. Without these fields a request carries no caching
 * header at all, so that a shared caching proxy may serve it.
 */
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>
#include "domainsec/fetch.h"
#include "internal.h"

/* A header value we send or keep: printable ASCII, fitting in len. */
static int header_value_ok(const char *v, size_t len)
{
    size_t n;

    if (v == NULL || v[0] == '\0' || (n = strlen(v)) >= len) {
        return 0;
    }
    for (; *v != '\0'; v++) {
        if (*v < 0x20 || *v > 0x7e) {
            return 0;
        }
    }
    return n > 0;
}

int dsec_fetch_cond_sent(const dsec_fetch_policy *pol)
{
    return header_value_ok(pol->if_none_match, 256)
           || header_value_ok(pol->if_modified_since, 64);
}

/* Append "name: value" to *list; 0 when out of memory. */
static int add_header(struct curl_slist **list, const char *name,
                      const char *value)
{
    char line[400];
    struct curl_slist *l;

    snprintf(line, sizeof(line), "%s: %s", name, value);
    l = curl_slist_append(*list, line);
    if (l == NULL) {
        return 0;
    }
    *list = l;
    return 1;
}

int dsec_fetch_cond_headers(const dsec_fetch_policy *pol,
                            struct curl_slist **out)
{
    struct curl_slist *list = NULL;
    int ok = 1;

    *out = NULL;
    if (pol->no_cache) {
        ok = add_header(&list, "Cache-Control", "no-cache")
             && add_header(&list, "Pragma", "no-cache");
    } else {
        if (header_value_ok(pol->if_none_match, 256)) {
            ok = add_header(&list, "If-None-Match", pol->if_none_match);
        }
        if (ok && header_value_ok(pol->if_modified_since, 64)) {
            ok = add_header(&list, "If-Modified-Since", pol->if_modified_since);
        }
    }
    if (!ok) {
        curl_slist_free_all(list);
        return 0;
    }
    *out = list;
    return 1;
}

/* The value of header name of the last response into buf, or "". */
static void take_header(CURL *curl, const char *name, char *buf, size_t len)
{
    struct curl_header *h = NULL;

    buf[0] = '\0';
    if (curl_easy_header(curl, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK
        && h != NULL && header_value_ok(h->value, len)) {
        snprintf(buf, len, "%s", h->value);
    }
}

void dsec_fetch_cond_validators(void *curl, dsec_fetch_result *res)
{
    take_header(curl, "ETag", res->etag, sizeof(res->etag));
    take_header(curl, "Last-Modified", res->last_modified,
                sizeof(res->last_modified));
}
