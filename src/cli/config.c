/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OpenSSL configuration as the CLI reads it: loaded the way a host
 * loads it (so the provider hooks every X509_STORE created afterwards), the
 * loaded provider and its report index, the configuration file OpenSSL
 * picks, the provider's own section read strictly into a dsec_config (for
 * the commands that fetch by themselves), and the module file OpenSSL
 * resolves for the provider, with why it does not load.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/conf.h>
#include <openssl/core.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include "cli.h"

/* Where dsec_cli_module_diagnose writes its verdict. */
struct cli_module_verdict {
    char *why;
    size_t whylen;
    char *fix;
    size_t fixlen;
};

int dsec_cli_load_config(const char *file)
{
    char why[2 * DSEC_CLI_MODULE_TEXT], fix[2 * DSEC_CLI_MODULE_TEXT];
    int ret = DSEC_EXIT_CONFIG;

    if (file != NULL) {
        /*
         * Keep OpenSSL from loading the default configuration later on top
         * of the one asked for (any OPENSSL_init_* with LOAD_CONFIG would).
         */
        if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL)) {
            fprintf(stderr, "%s: cannot initialise OpenSSL\n", DSEC_CLI_PROG);
            ERR_print_errors_fp(stderr);
            goto done;
        }
        if (!OSSL_LIB_CTX_load_config(NULL, file)) {
            fprintf(stderr, "%s: cannot load the configuration %s\n",
                    DSEC_CLI_PROG, file);
            ERR_print_errors_fp(stderr);
            goto done;
        }
    } else if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL)) {
        fprintf(stderr, "%s: cannot load the OpenSSL configuration\n",
                DSEC_CLI_PROG);
        ERR_print_errors_fp(stderr);
        goto done;
    }
    if (!OSSL_PROVIDER_available(NULL, DSEC_CLI_PROVIDER)) {
        fprintf(stderr,
                "%s: the configuration does not activate the domainsec "
                "provider\n",
                DSEC_CLI_PROG);
        /*
         * OpenSSL 3.0 does not fail the load when activation fails, and
         * says nothing when the module file does not load: say which file
         * it tried.
         */
        if (dsec_cli_module_diagnose(file, why, sizeof(why), fix,
                                     sizeof(fix))) {
            fprintf(stderr, "%s: %s; fix: %s\n", DSEC_CLI_PROG, why, fix);
        } else {
            fprintf(stderr,
                    "%s: (if it does, its activation failed: see the "
                    "messages above, e.g. a bad directive value)\n",
                    DSEC_CLI_PROG);
        }
        ERR_print_errors_fp(stderr);
        goto done;
    }
    ret = 0;

done:
    return ret;
}

static int cli_find_provider(OSSL_PROVIDER *prov, void *cbdata)
{
    OSSL_PROVIDER **found = cbdata;
    const char *name = OSSL_PROVIDER_get0_name(prov);

    if (name != NULL && strcmp(name, DSEC_CLI_PROVIDER) == 0) {
        *found = prov;
        return 0; /* found: stop */
    }
    return 1;
}

OSSL_PROVIDER *dsec_cli_provider(void)
{
    OSSL_PROVIDER *prov = NULL;

    OSSL_PROVIDER_do_all(NULL, cli_find_provider, &prov);
    return prov;
}

int dsec_cli_report_index(void)
{
    OSSL_PROVIDER *prov = dsec_cli_provider();
    int idx = -1;
    OSSL_PARAM params[2];

    if (prov == NULL) {
        fprintf(stderr, "%s: warning: the domainsec provider is not loaded\n",
                DSEC_CLI_PROG);
        goto done;
    }
    params[0] = OSSL_PARAM_construct_int(DSEC_PARAM_REPORT_INDEX, &idx);
    params[1] = OSSL_PARAM_construct_end();
    if (!OSSL_PROVIDER_get_params(prov, params)
        || !OSSL_PARAM_modified(&params[0]) || idx < 0) {
        fprintf(stderr,
                "%s: warning: the domainsec provider does not publish its "
                "report; CDP attempts are not shown\n",
                DSEC_CLI_PROG);
        ERR_clear_error();
        idx = -1;
        goto done;
    }

done:
    return idx;
}

char *dsec_cli_config_path(const char *file)
{
    const char *env;

    if (file != NULL) {
        return OPENSSL_strdup(file);
    }
    /* as OpenSSL reads it (ossl_safe_getenv): the same file is loaded */
    env = secure_getenv("OPENSSL_CONF");
    if (env != NULL && env[0] != '\0') {
        return OPENSSL_strdup(env);
    }
    return CONF_get1_default_config_file();
}

/* The section of the provider entry named DSEC_CLI_PROVIDER, or NULL. */
static const char *cli_provider_section(CONF *conf, const char *provs)
{
    STACK_OF(CONF_VALUE) *entries = NCONF_get_section(conf, provs);
    STACK_OF(CONF_VALUE) * sect;
    const CONF_VALUE *v, *w;
    const char *name;
    int i, j;

    for (i = 0; i < sk_CONF_VALUE_num(entries); i++) {
        v = sk_CONF_VALUE_value(entries, i);
        name = v->name;
        sect = NCONF_get_section(conf, v->value);
        /* "identity" renames the provider, as OpenSSL's provider_conf.c */
        for (j = 0; j < sk_CONF_VALUE_num(sect); j++) {
            w = sk_CONF_VALUE_value(sect, j);
            if (strcmp(w->name, "identity") == 0) {
                name = w->value;
            }
        }
        if (sect != NULL && strcmp(name, DSEC_CLI_PROVIDER) == 0) {
            return v->value;
        }
    }
    return NULL;
}

/* The configuration file loaded, and the domainsec provider's section. */
struct cli_conf {
    char *path; /* the file, as dsec_cli_config_path picks it */
    CONF *conf;
    const char *sect; /* the provider's section, in conf */
};

static void cli_conf_close(struct cli_conf *cc)
{
    NCONF_free(cc->conf);
    OPENSSL_free(cc->path);
    memset(cc, 0, sizeof(*cc));
}

/* Why NCONF_load failed on path (eline: the line of a syntax error). */
static void cli_conf_load_error(const char *path, long eline, char *why,
                                size_t whylen)
{
    const char *reason = ERR_reason_error_string(ERR_peek_last_error());

    if (eline > 0) {
        snprintf(why, whylen, "%s, line %ld: %s", path, eline,
                 reason != NULL ? reason : "syntax error");
    } else {
        snprintf(why, whylen, "cannot read %s: %s", path,
                 reason != NULL ? reason : "unknown error");
    }
}

/*
 * Load the configuration file (file, or OPENSSL_CONF / the default) into
 * *cc and find the domainsec provider's section: openssl_conf -> providers
 * -> the entry named (or with identity) domainsec. On success the caller
 * closes *cc; on failure writes why and returns 0. The OpenSSL error queue
 * is left as it was.
 */
static int cli_conf_open(const char *file, struct cli_conf *cc, char *why,
                         size_t whylen)
{
    const char *init, *provs;
    long eline = -1;
    int ret = 0;

    ERR_set_mark();
    cc->path = dsec_cli_config_path(file);
    cc->conf = NCONF_new(NULL);
    if (cc->path == NULL || cc->conf == NULL) {
        snprintf(why, whylen, "out of memory");
        goto done;
    }
    if (NCONF_load(cc->conf, cc->path, &eline) <= 0) {
        cli_conf_load_error(cc->path, eline, why, whylen);
        goto done;
    }
    init = NCONF_get_string(cc->conf, NULL, "openssl_conf");
    if (init == NULL) {
        snprintf(why, whylen, "%s has no openssl_conf line", cc->path);
        goto done;
    }
    provs = NCONF_get_string(cc->conf, init, "providers");
    if (provs == NULL) {
        snprintf(why, whylen, "%s: section [%s] has no providers line",
                 cc->path, init);
        goto done;
    }
    cc->sect = cli_provider_section(cc->conf, provs);
    if (cc->sect == NULL) {
        snprintf(why, whylen,
                 "%s: section [%s] lists no %s provider with a section",
                 cc->path, provs, DSEC_CLI_PROVIDER);
        goto done;
    }
    ret = 1;

done:
    ERR_pop_to_mark();
    if (!ret) {
        cli_conf_close(cc);
    }
    return ret;
}

/* Set the directives of the provider's section into cfg, strictly. */
static int cli_conf_directives(const struct cli_conf *cc, dsec_config *cfg,
                               char *why, size_t whylen)
{
    STACK_OF(CONF_VALUE) *values = NCONF_get_section(cc->conf, cc->sect);
    const CONF_VALUE *v;
    DSEC_ERR err = { 0 };
    int i, d;

    if (values == NULL) {
        snprintf(why, whylen, "out of memory");
        return 0;
    }
    /* in file order: a repeated directive ends with its last value */
    for (i = 0; i < sk_CONF_VALUE_num(values); i++) {
        v = sk_CONF_VALUE_value(values, i);
        for (d = 0; d < DSEC_D_COUNT; d++) {
            if (strcmp(v->name, dsec_config_directives[d]) == 0) {
                break;
            }
        }
        if (d == DSEC_D_COUNT) {
            continue; /* module, activate, identity: OpenSSL's */
        }
        if (dsec_config_set(cfg, v->name, v->value, &err) != DSEC_OK) {
            snprintf(why, whylen, "%s [%s]: %s", cc->path, cc->sect, err.msg);
            return 0;
        }
    }
    return 1;
}

int dsec_cli_read_settings(const char *file, dsec_config **out, char **section,
                           char *why, size_t whylen)
{
    struct cli_conf cc = { NULL, NULL, NULL };
    dsec_config *cfg = NULL;
    int ret = 0;

    ERR_set_mark();
    if (!cli_conf_open(file, &cc, why, whylen)) {
        goto done;
    }
    cfg = dsec_config_new();
    if (cfg == NULL) {
        snprintf(why, whylen, "out of memory");
        goto done;
    }
    if (!cli_conf_directives(&cc, cfg, why, whylen)) {
        goto done;
    }
    if (section != NULL) {
        *section = OPENSSL_strdup(cc.sect);
        if (*section == NULL) {
            snprintf(why, whylen, "out of memory");
            goto done;
        }
    }
    *out = cfg;
    cfg = NULL;
    ret = 1;

done:
    ERR_pop_to_mark();
    dsec_config_free(cfg);
    cli_conf_close(&cc);
    return ret;
}

/* A provider command's name without its "prefix.", as provider_conf.c. */
static const char *cli_skip_dot(const char *name)
{
    const char *p = strchr(name, '.');

    return p != NULL ? p + 1 : name;
}

int dsec_cli_module_resolve(const char *file, dsec_cli_module *m)
{
    struct cli_conf cc = { NULL, NULL, NULL };
    STACK_OF(CONF_VALUE) * values;
    const CONF_VALUE *v;
    const char *name, *env;
    char why[DSEC_CLI_MODULE_TEXT], file_name[DSEC_CLI_MODULE_TEXT + 4];
    size_t dirlen;
    int i, ret = 0;

    memset(m, 0, sizeof(*m));
    if (!cli_conf_open(file, &cc, why, sizeof(why))) {
        goto done;
    }
    snprintf(m->section, sizeof(m->section), "%s", cc.sect);
    values = NCONF_get_section(cc.conf, cc.sect);
    /* as provider_conf_load: the last module line counts */
    for (i = 0; i < sk_CONF_VALUE_num(values); i++) {
        v = sk_CONF_VALUE_value(values, i);
        name = cli_skip_dot(v->name);
        if (strcmp(name, "module") == 0) {
            snprintf(m->module, sizeof(m->module), "%s", v->value);
            m->has_module = 1;
        } else if (strcmp(name, "activate") == 0) {
            m->activate = 1;
        }
    }
    /* provider_core.c: OPENSSL_MODULES (not when setuid), else MODULESDIR */
    env = secure_getenv("OPENSSL_MODULES");
    m->from_env = env != NULL;
    snprintf(m->dir, sizeof(m->dir), "%s",
             env != NULL ? env : OPENSSL_info(OPENSSL_INFO_MODULES_DIR));
    /*
     * The module value as written; without one DSO_convert_filename (with
     * DSO_FLAG_NAME_TRANSLATION_EXT_ONLY) turns the name into name.so.
     */
    snprintf(file_name, sizeof(file_name), "%s%s",
             m->has_module ? m->module : DSEC_CLI_PROVIDER,
             m->has_module ? "" : ".so");
    if (file_name[0] == '/') {
        snprintf(m->path, sizeof(m->path), "%s", file_name);
    } else {
        /* DSO_merge (dlfcn_merger): the directory, one slash, the name */
        dirlen = strlen(m->dir);
        if (dirlen > 0 && m->dir[dirlen - 1] == '/') {
            dirlen--;
        }
        snprintf(m->path, sizeof(m->path), "%.*s/%s", (int)dirlen, m->dir,
                 file_name);
    }
    ret = 1;

done:
    cli_conf_close(&cc);
    return ret;
}

/* Whether s ends with suffix. */
static int cli_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Where OpenSSL looked for the module file, for the messages. */
static void cli_module_origin(const dsec_cli_module *m, char *origin,
                              size_t len)
{
    const char *where;

    where = m->from_env ? "OPENSSL_MODULES=" : "OpenSSL's modules directory ";
    if (m->has_module && m->module[0] == '/') {
        snprintf(origin, len, "module = %s", m->module);
    } else if (m->has_module) {
        snprintf(origin, len, "module = %s, looked up in %s%s", m->module,
                 where, m->dir);
    } else {
        snprintf(origin, len, "no module line: %s.so, looked up in %s%s",
                 DSEC_CLI_PROVIDER, where, m->dir);
    }
}

/* The module file cannot be reached (stat failed with e): why, and the fix. */
static void cli_module_missing(const dsec_cli_module *m, int e,
                               const char *origin,
                               const struct cli_module_verdict *v)
{
    char alt[sizeof(m->path) + 8];
    struct stat st;

    snprintf(v->why, v->whylen, "OpenSSL could not load %s: %s (%s)", m->path,
             strerror(e), origin);
    snprintf(alt, sizeof(alt), "%s.so", m->path);
    if (m->has_module && m->module[0] != '/'
        && !cli_ends_with(m->module, ".so")) {
        /* the trap: OpenSSL adds no .so to a module value */
        snprintf(v->fix, v->fixlen,
                 "write module = %s.so (OpenSSL takes a module value as "
                 "written, it adds no .so) or an absolute path%s",
                 m->module,
                 stat(alt, &st) == 0
                     ? ""
                     : "; that file is missing too: install domainsec "
                       "there (cmake --install)");
    } else if ((e == ENOENT || e == ENOTDIR) && m->has_module
               && m->module[0] == '/') {
        snprintf(v->fix, v->fixlen,
                 "correct module: the absolute path of domainsec.so, or "
                 "domainsec.so for %s/domainsec.so",
                 m->dir);
    } else if (e == ENOENT || e == ENOTDIR) {
        snprintf(v->fix, v->fixlen,
                 "install domainsec there (cmake --install), or write "
                 "module = the absolute path of domainsec.so");
    } else {
        snprintf(v->fix, v->fixlen,
                 "make %s readable by every daemon using domainsec", m->path);
    }
}

/*
 * The module file exists (st): 1 with why and the fix when it is not a
 * provider OpenSSL can load, 0 when it loads.
 */
static int cli_module_load(const dsec_cli_module *m, const struct stat *st,
                           const char *origin,
                           const struct cli_module_verdict *v)
{
    const char *err;
    void *h = NULL;
    int ret = 1;

    if (S_ISDIR(st->st_mode)) {
        snprintf(v->why, v->whylen,
                 "OpenSSL could not load %s: a directory (%s)", m->path,
                 origin);
        snprintf(v->fix, v->fixlen, "write module = the path of domainsec.so");
        goto done;
    }
    /* the same dlopen as OpenSSL's dlfcn_load, for its message */
    dlerror();
    h = dlopen(m->path, RTLD_NOW);
    if (h == NULL) {
        err = dlerror();
        snprintf(v->why, v->whylen, "OpenSSL could not load %s: %s (%s)",
                 m->path, err != NULL ? err : "dlopen failed", origin);
        snprintf(v->fix, v->fixlen,
                 "install a domainsec.so built for this system and OpenSSL "
                 "(cmake --install)");
        goto done;
    }
    if (dlsym(h, "OSSL_provider_init") == NULL) {
        snprintf(v->why, v->whylen,
                 "%s loads but is not an OpenSSL provider, it has no "
                 "OSSL_provider_init (%s)",
                 m->path, origin);
        snprintf(v->fix, v->fixlen, "write module = the path of domainsec.so");
        goto done;
    }
    /* the module is fine: the cause is elsewhere */
    ret = 0;

done:
    if (h != NULL) {
        dlclose(h);
    }
    return ret;
}

int dsec_cli_module_diagnose(const char *file, char *why, size_t whylen,
                             char *fix, size_t fixlen)
{
    const struct cli_module_verdict v = { why, whylen, fix, fixlen };
    dsec_cli_module *m = NULL;
    char origin[2 * DSEC_CLI_MODULE_TEXT + 64];
    struct stat st;
    int ret = 0;

    m = malloc(sizeof(*m));
    if (m == NULL || !dsec_cli_module_resolve(file, m)) {
        goto done;
    }
    ret = 1;
    if (!m->activate) {
        snprintf(why, whylen,
                 "section [%s] has no activate line: OpenSSL does not load "
                 "%s",
                 m->section, DSEC_CLI_PROVIDER);
        snprintf(fix, fixlen, "add activate = 1 to [%s]", m->section);
        goto done;
    }
    cli_module_origin(m, origin, sizeof(origin));
    if (stat(m->path, &st) != 0) {
        cli_module_missing(m, errno, origin, &v);
        goto done;
    }
    ret = cli_module_load(m, &st, origin, &v);

done:
    free(m);
    return ret;
}
