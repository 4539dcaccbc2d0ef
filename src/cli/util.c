/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the subcommands of the domainsec command: loading the
 * OpenSSL configuration the way a host does (so the provider hooks every
 * X509_STORE created afterwards), finding the provider's report index,
 * reading the provider's own section of the configuration (for the
 * commands that fetch by themselves), reading certificate files (PEM
 * bundles or DER), parsing --at times and formatting names, times and CRL
 * details for the output.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/core.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>
#include "domainsec/certfile.h"
#include "domainsec/report.h"
#include "cli.h"

/* Clock skew tolerated on thisUpdate, as the library's dsec_crl_check. */
#define DSEC_CLI_CRL_SKEW 300

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

struct dsec_cli_find {
    OSSL_PROVIDER *prov;
};

static int dsec_cli_find_provider(OSSL_PROVIDER *prov, void *cbdata)
{
    struct dsec_cli_find *find = cbdata;
    const char *name = OSSL_PROVIDER_get0_name(prov);

    if (name != NULL && strcmp(name, DSEC_CLI_PROVIDER) == 0) {
        find->prov = prov;
        return 0; /* found: stop */
    }
    return 1;
}

int dsec_cli_report_index(void)
{
    struct dsec_cli_find find = { NULL };
    int idx = -1;
    OSSL_PARAM params[2];

    OSSL_PROVIDER_do_all(NULL, dsec_cli_find_provider, &find);
    if (find.prov == NULL) {
        fprintf(stderr, "%s: warning: the domainsec provider is not loaded\n",
                DSEC_CLI_PROG);
        goto done;
    }
    params[0] = OSSL_PARAM_construct_int(DSEC_CLI_PARAM_REPORT_INDEX, &idx);
    params[1] = OSSL_PARAM_construct_end();
    if (!OSSL_PROVIDER_get_params(find.prov, params)
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

int dsec_cli_load_certs(const char *path, STACK_OF(X509) * *out, char *why,
                        size_t whylen)
{
    dsec_certfile_status st;

    if (dsec_certfile_load(path, DSEC_CERTFILE_STRICT, out, &st) == DSEC_OK) {
        return 1;
    }
    switch (st.fault) {
    case DSEC_CERTFILE_OPEN:
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(st.errnum));
        break;
    case DSEC_CERTFILE_STAT:
        snprintf(why, whylen, "cannot stat %s: %s", path, strerror(st.errnum));
        break;
    case DSEC_CERTFILE_NOT_REGULAR:
        snprintf(why, whylen, "%s is not a regular file", path);
        break;
    case DSEC_CERTFILE_TOO_LARGE:
        snprintf(why, whylen, "%s is too large (over %ld bytes)", path,
                 DSEC_CERTFILE_MAX_STRICT);
        break;
    case DSEC_CERTFILE_READ:
        snprintf(why, whylen, "cannot read %s: %s", path, strerror(st.errnum));
        break;
    case DSEC_CERTFILE_EMPTY:
        snprintf(why, whylen, "%s is empty", path);
        break;
    case DSEC_CERTFILE_BAD_CERT:
        snprintf(why, whylen,
                 "%s: certificate %zu of the PEM file cannot be parsed", path,
                 st.at);
        break;
    case DSEC_CERTFILE_NO_CERT:
        if (st.pem) {
            snprintf(why, whylen, "%s holds no PEM certificate", path);
        } else {
            snprintf(why, whylen,
                     "%s is neither a PEM nor a DER certificate file", path);
        }
        break;
    default: /* out of memory; CHANGED is not a fault of the strict mode */
        snprintf(why, whylen, "out of memory reading %s", path);
        break;
    }
    return 0;
}

static int dsec_cli_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static int dsec_cli_num(const char *s, size_t n)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int dsec_cli_parse_time(const char *s, time_t *out)
{
    struct tm tm, check;
    long long secs;
    char *end = NULL;
    time_t t;
    size_t n = strlen(s);

    if (n > 0 && n <= 19 && dsec_cli_digits(s, n)) {
        errno = 0;
        secs = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0' || (long long)(time_t)secs != secs) {
            return 0;
        }
        *out = (time_t)secs;
        return 1;
    }
    /* YYYY-MM-DDTHH:MM:SSZ, nothing else */
    if (n != 20 || !dsec_cli_digits(s, 4) || s[4] != '-'
        || !dsec_cli_digits(s + 5, 2) || s[7] != '-'
        || !dsec_cli_digits(s + 8, 2) || s[10] != 'T'
        || !dsec_cli_digits(s + 11, 2) || s[13] != ':'
        || !dsec_cli_digits(s + 14, 2) || s[16] != ':'
        || !dsec_cli_digits(s + 17, 2) || s[19] != 'Z') {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = dsec_cli_num(s, 4) - 1900;
    tm.tm_mon = dsec_cli_num(s + 5, 2) - 1;
    tm.tm_mday = dsec_cli_num(s + 8, 2);
    tm.tm_hour = dsec_cli_num(s + 11, 2);
    tm.tm_min = dsec_cli_num(s + 14, 2);
    tm.tm_sec = dsec_cli_num(s + 17, 2);
    check = tm;
    t = timegm(&tm);
    /*
     * timegm normalises 2024-02-30 and returns -1 on overflow: reject what
     * does not round-trip.
     */
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year != check.tm_year
        || tm.tm_mon != check.tm_mon || tm.tm_mday != check.tm_mday
        || tm.tm_hour != check.tm_hour || tm.tm_min != check.tm_min
        || tm.tm_sec != check.tm_sec) {
        return 0;
    }
    *out = t;
    return 1;
}

void dsec_cli_name(const X509_NAME *name, char *buf, size_t len)
{
    BIO *bio = NULL;
    int n;

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
    n = BIO_read(bio, buf, (int)(len > INT_MAX ? INT_MAX : len - 1));
    if (n < 0) {
        n = 0;
    }
    buf[n] = '\0';

done:
    BIO_free(bio);
}

void dsec_cli_asn1_time(const ASN1_TIME *t, char *buf, size_t len)
{
    BIO *bio = NULL;
    int n;

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
    n = BIO_read(bio, buf, (int)(len > INT_MAX ? INT_MAX : len - 1));
    if (n < 0) {
        n = 0;
    }
    buf[n] = '\0';

done:
    BIO_free(bio);
}

char *dsec_cli_config_path(const char *file)
{
    const char *env;

    if (file != NULL) {
        return OPENSSL_strdup(file);
    }
    env = getenv("OPENSSL_CONF");
    if (env != NULL && env[0] != '\0') {
        return OPENSSL_strdup(env);
    }
    return CONF_get1_default_config_file();
}

/* The section of the provider entry named DSEC_CLI_PROVIDER, or NULL. */
static const char *dsec_cli_provider_section(CONF *conf, const char *provs)
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

/*
 * Load the configuration file (file, or OPENSSL_CONF / the default) and
 * find the domainsec provider's section: openssl_conf -> providers -> the
 * entry named (or with identity) domainsec. On success *conf is the loaded
 * file (the caller frees it) and *sect points into it; on failure writes
 * why and returns 0. The OpenSSL error queue is left as it was.
 */
static int dsec_cli_conf_section(const char *file, CONF **conf,
                                 const char **sect, char *why, size_t whylen)
{
    CONF *c = NULL;
    const char *init, *provs, *s;
    char *path = NULL;
    unsigned long e;
    long eline = -1;
    int ret = 0;

    ERR_set_mark();
    path = dsec_cli_config_path(file);
    c = NCONF_new(NULL);
    if (path == NULL || c == NULL) {
        snprintf(why, whylen, "out of memory");
        goto done;
    }
    if (NCONF_load(c, path, &eline) <= 0) {
        e = ERR_peek_last_error();
        if (eline > 0) {
            snprintf(why, whylen, "%s, line %ld: %s", path, eline,
                     ERR_reason_error_string(e) != NULL
                         ? ERR_reason_error_string(e)
                         : "syntax error");
        } else {
            snprintf(why, whylen, "cannot read %s: %s", path,
                     ERR_reason_error_string(e) != NULL
                         ? ERR_reason_error_string(e)
                         : "unknown error");
        }
        goto done;
    }
    init = NCONF_get_string(c, NULL, "openssl_conf");
    if (init == NULL) {
        snprintf(why, whylen, "%s has no openssl_conf line", path);
        goto done;
    }
    provs = NCONF_get_string(c, init, "providers");
    if (provs == NULL) {
        snprintf(why, whylen, "%s: section [%s] has no providers line", path,
                 init);
        goto done;
    }
    s = dsec_cli_provider_section(c, provs);
    if (s == NULL) {
        snprintf(why, whylen,
                 "%s: section [%s] lists no %s provider with a section", path,
                 provs, DSEC_CLI_PROVIDER);
        goto done;
    }
    *conf = c;
    *sect = s;
    c = NULL;
    ret = 1;

done:
    ERR_pop_to_mark();
    NCONF_free(c);
    OPENSSL_free(path);
    return ret;
}

int dsec_cli_read_settings(const char *file, dsec_config **out, char **section,
                           char *why, size_t whylen)
{
    CONF *conf = NULL;
    STACK_OF(CONF_VALUE) * values;
    const CONF_VALUE *v;
    const char *sect = NULL;
    char *path = NULL;
    dsec_config *cfg = NULL;
    DSEC_ERR err = { 0 };
    int i, d;
    int ret = 0;

    ERR_set_mark();
    if (!dsec_cli_conf_section(file, &conf, &sect, why, whylen)) {
        goto done;
    }
    path = dsec_cli_config_path(file);
    cfg = dsec_config_new();
    values = NCONF_get_section(conf, sect);
    if (path == NULL || cfg == NULL || values == NULL) {
        snprintf(why, whylen, "out of memory");
        goto done;
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
            snprintf(why, whylen, "%s [%s]: %s", path, sect, err.msg);
            goto done;
        }
    }
    if (section != NULL) {
        *section = OPENSSL_strdup(sect);
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
    NCONF_free(conf);
    OPENSSL_free(path);
    return ret;
}

/* A provider command's name without its "prefix.", as provider_conf.c. */
static const char *dsec_cli_skip_dot(const char *name)
{
    const char *p = strchr(name, '.');

    return p != NULL ? p + 1 : name;
}

int dsec_cli_module_resolve(const char *file, dsec_cli_module *m)
{
    CONF *conf = NULL;
    STACK_OF(CONF_VALUE) * values;
    const CONF_VALUE *v;
    const char *sect = NULL, *name, *env;
    char why[DSEC_CLI_MODULE_TEXT], file_name[DSEC_CLI_MODULE_TEXT + 4];
    size_t dirlen;
    int i, ret = 0;

    memset(m, 0, sizeof(*m));
    if (!dsec_cli_conf_section(file, &conf, &sect, why, sizeof(why))) {
        goto done;
    }
    snprintf(m->section, sizeof(m->section), "%s", sect);
    values = NCONF_get_section(conf, sect);
    /* as provider_conf_load: the last module line counts */
    for (i = 0; i < sk_CONF_VALUE_num(values); i++) {
        v = sk_CONF_VALUE_value(values, i);
        name = dsec_cli_skip_dot(v->name);
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
    NCONF_free(conf);
    return ret;
}

/* Whether s ends with suffix. */
static int dsec_cli_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int dsec_cli_module_diagnose(const char *file, char *why, size_t whylen,
                             char *fix, size_t fixlen)
{
    dsec_cli_module *m = NULL;
    char origin[2 * DSEC_CLI_MODULE_TEXT + 64];
    char alt[sizeof(m->path) + 8];
    struct stat st;
    const char *err, *where;
    void *h = NULL;
    int e, ret = 0;

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
    where = m->from_env ? "OPENSSL_MODULES=" : "OpenSSL's modules directory ";
    if (m->has_module && m->module[0] == '/') {
        snprintf(origin, sizeof(origin), "module = %s", m->module);
    } else if (m->has_module) {
        snprintf(origin, sizeof(origin), "module = %s, looked up in %s%s",
                 m->module, where, m->dir);
    } else {
        snprintf(origin, sizeof(origin),
                 "no module line: %s.so, looked up in %s%s", DSEC_CLI_PROVIDER,
                 where, m->dir);
    }
    if (stat(m->path, &st) != 0) {
        e = errno;
        snprintf(why, whylen, "OpenSSL could not load %s: %s (%s)", m->path,
                 strerror(e), origin);
        snprintf(alt, sizeof(alt), "%s.so", m->path);
        if (m->has_module && m->module[0] != '/'
            && !dsec_cli_ends_with(m->module, ".so")) {
            /* the trap: OpenSSL adds no .so to a module value */
            snprintf(fix, fixlen,
                     "write module = %s.so (OpenSSL takes a module value as "
                     "written, it adds no .so) or an absolute path%s",
                     m->module,
                     stat(alt, &st) == 0
                         ? ""
                         : "; that file is missing too: install domainsec "
                           "there (cmake --install)");
        } else if ((e == ENOENT || e == ENOTDIR) && m->has_module
                   && m->module[0] == '/') {
            snprintf(fix, fixlen,
                     "correct module: the absolute path of domainsec.so, or "
                     "domainsec.so for %s/domainsec.so",
                     m->dir);
        } else if (e == ENOENT || e == ENOTDIR) {
            snprintf(fix, fixlen,
                     "install domainsec there (cmake --install), or write "
                     "module = the absolute path of domainsec.so");
        } else {
            snprintf(fix, fixlen,
                     "make %s readable by every daemon using domainsec",
                     m->path);
        }
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "OpenSSL could not load %s: a directory (%s)",
                 m->path, origin);
        snprintf(fix, fixlen, "write module = the path of domainsec.so");
        goto done;
    }
    /* the same dlopen as OpenSSL's dlfcn_load, for its message */
    dlerror();
    h = dlopen(m->path, RTLD_NOW);
    if (h == NULL) {
        err = dlerror();
        snprintf(why, whylen, "OpenSSL could not load %s: %s (%s)", m->path,
                 err != NULL ? err : "dlopen failed", origin);
        snprintf(fix, fixlen,
                 "install a domainsec.so built for this system and OpenSSL "
                 "(cmake --install)");
        goto done;
    }
    if (dlsym(h, "OSSL_provider_init") == NULL) {
        snprintf(why, whylen,
                 "%s loads but is not an OpenSSL provider, it has no "
                 "OSSL_provider_init (%s)",
                 m->path, origin);
        snprintf(fix, fixlen, "write module = the path of domainsec.so");
        goto done;
    }
    /* the module is fine: the cause is elsewhere */
    ret = 0;

done:
    if (h != NULL) {
        dlclose(h);
    }
    free(m);
    return ret;
}

/* CRL number as "4096 (0x1000)"; "(none)" without the extension. */
static void dsec_cli_crl_number(X509_CRL *crl, char *buf, size_t len)
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

static int dsec_cli_crl_entries(X509_CRL *crl)
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
    dsec_cli_crl_number(crl, buf, sizeof(buf));
    printf("%sCRL number: %s\n", indent, buf);
    printf("%sentries:    %d\n", indent, dsec_cli_crl_entries(crl));
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
    dsec_cli_crl_number(crl, number, sizeof(number));
    if (X509_CRL_get0_nextUpdate(crl) != NULL) {
        dsec_cli_asn1_time(X509_CRL_get0_nextUpdate(crl), next, sizeof(next));
    } else {
        snprintf(next, sizeof(next), "(none)");
    }
    snprintf(buf, len, "CRL of %s, number %s, %d entr%s, nextUpdate %s%s",
             issuer, number, dsec_cli_crl_entries(crl),
             dsec_cli_crl_entries(crl) == 1 ? "y" : "ies", next,
             X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0
                 ? ", delta CRL"
                 : "");
    ERR_pop_to_mark();
}

int dsec_cli_crl_signed_by(X509_CRL *crl, X509 *cert)
{
    EVP_PKEY *key;
    int ok;

    ERR_set_mark();
    key = X509_get0_pubkey(cert);
    ok = key != NULL && X509_CRL_verify(crl, key) > 0;
    ERR_pop_to_mark();
    return ok;
}

/*
 * The time and completeness checks of dsec_crl_check, which also needs the
 * issuer: a CDP must serve a complete CRL current at now.
 */
dsec_rv dsec_cli_crl_time(X509_CRL *crl, time_t now, long grace, char *why,
                          size_t whylen)
{
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
    const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl);
    time_t limit;

    if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
        snprintf(why, whylen,
                 "delta CRL: a CDP must serve a complete CRL (unusable)");
        return DSEC_ERR_CRL_DELTA;
    }
    limit = now + DSEC_CLI_CRL_SKEW;
    if (last == NULL || X509_cmp_time(last, &limit) >= 0) {
        snprintf(why, whylen, "thisUpdate is in the future (unusable)");
        return DSEC_ERR_CRL_FUTURE;
    }
    if (next == NULL) {
        snprintf(why, whylen, "no nextUpdate (unusable)");
        return DSEC_ERR_CRL_STALE;
    }
    limit = now - grace;
    if (X509_cmp_time(next, &limit) <= 0) {
        snprintf(why, whylen, "past its nextUpdate%s (stale)",
                 grace > 0 ? " and stale_grace" : "");
        return DSEC_ERR_CRL_STALE;
    }
    if (X509_cmp_time(next, &now) <= 0) {
        snprintf(why, whylen, "past its nextUpdate, within stale_grace");
        return DSEC_OK;
    }
    snprintf(why, whylen, "current");
    return DSEC_OK;
}
