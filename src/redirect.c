/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which HTTP redirect a CDP fetch may follow (allow_redirects), decided
 * before any request goes to the redirect's target: never more than
 * DSEC_REDIRECT_MAX, never to another scheme (an http CDP stays http, an
 * https one https), never to a URL the fetcher would refuse itself, and,
 * with the default same-origin, only to the scheme, host and port of the
 * URL that redirected (as libcurl parses them, the default port made
 * explicit), so a CDP server cannot make the module send requests to
 * another service, on the loopback interface or elsewhere. A refused
 * redirect is the fetch's failure: DSEC_ERR_HTTP with the 3xx status.
 */
#include <stdio.h>
#include <string.h>

#include "domainsec/url.h"
#include "internal.h"

dsec_rv dsec_redirect_check(dsec_redirect_mode mode, long status,
                            const char *from, const char *to, int followed,
                            DSEC_ERR *err)
{
    char mfrom[256];
    char mto[256];
    char ofrom[320];
    char oto[320];
    DSEC_ERR why = { 0 };

    dsec_url_mask(from, mfrom, sizeof(mfrom));
    dsec_url_mask(to, mto, sizeof(mto));
    if (mode == DSEC_REDIRECTS_NONE) {
        return dsec_err_set(err, DSEC_ERR_HTTP, status,
                            "redirect refused (allow_redirects = none): "
                            "HTTP %ld from %.90s to %.90s",
                            status, mfrom, mto);
    }
    if (followed >= DSEC_REDIRECT_MAX) {
        return dsec_err_set(err, DSEC_ERR_HTTP, status,
                            "redirect refused: more than %d redirects "
                            "fetching %.90s",
                            DSEC_REDIRECT_MAX, mfrom);
    }
    if (dsec_url_check(to, &why) != DSEC_OK) {
        return dsec_err_set(err, DSEC_ERR_HTTP, status,
                            "redirect refused: %.90s redirected to an "
                            "unusable URL (%s)",
                            mfrom, why.msg);
    }
    if (dsec_url_scheme(to) == 0
        || dsec_url_scheme(to) != dsec_url_scheme(from)) {
        return dsec_err_set(err, DSEC_ERR_HTTP, status,
                            "redirect refused: %.90s redirected to another "
                            "scheme (%.90s)",
                            mfrom, mto);
    }
    if (mode == DSEC_REDIRECTS_ANY) {
        return DSEC_OK;
    }
    if (!dsec_url_origin(from, ofrom, sizeof(ofrom))
        || !dsec_url_origin(to, oto, sizeof(oto)) || strcmp(ofrom, oto) != 0) {
        return dsec_err_set(err, DSEC_ERR_HTTP, status,
                            "redirect refused (allow_redirects = "
                            "same-origin): %.90s redirected to another host "
                            "or port (%.90s)",
                            mfrom, mto);
    }
    return DSEC_OK;
}
