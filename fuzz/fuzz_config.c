/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: hostile directive values (the first byte picks the
 * directive) through dsec_config_set and dsec_config_describe, and hostile
 * URLs through the scheme and masking helpers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "domainsec/config.h"
#include "domainsec/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dsec_config *cfg;
    char *value, desc[2048], masked[256];
    DSEC_ERR err;

    if (size < 1) {
        return 0;
    }
    value = malloc(size);
    if (value == NULL) {
        return 0;
    }
    memcpy(value, data + 1, size - 1);
    value[size - 1] = '\0';
    cfg = dsec_config_new();
    if (cfg != NULL) {
        dsec_config_set(cfg, dsec_config_directives[data[0] % DSEC_D_COUNT],
                        value, &err);
        dsec_config_describe(cfg, desc, sizeof(desc));
        dsec_config_free(cfg);
    }
    (void)dsec_url_scheme(value);
    dsec_url_mask(value, masked, sizeof(masked));
    free(value);
    return 0;
}
