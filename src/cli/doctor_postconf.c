/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What postconf(1) says of a Postfix instance, for `domainsec doctor
 * --postfix`: main.cf values (postconf -x, with $name expanded), the
 * master.cf services (postconf -M) and their -o overrides (postconf -P),
 * and from these the OpenSSL configuration file the instance's smtpd and
 * smtp load (tls_config_file, OPENSSL_CONF in import_environment, or from
 * the running master's environment). postconf runs as a child
 * (doctor_child.c): doctor never parses main.cf or master.cf itself.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "cli.h"
#include "doctor_postfix.h"

/* The main.cf parameters the checks read, in one postconf call. */
static const char *const cli_pf_names[] = { "mail_version",
                                            "mail_owner",
                                            "queue_directory",
                                            "import_environment",
                                            "export_environment",
                                            "tls_config_file",
                                            "tls_config_name",
                                            "smtpd_tls_fingerprint_digest",
                                            "smtpd_tls_ask_ccert",
                                            "smtpd_tls_security_level",
                                            "smtpd_client_restrictions",
                                            "smtpd_helo_restrictions",
                                            "smtpd_sender_restrictions",
                                            "smtpd_relay_restrictions",
                                            "smtpd_recipient_restrictions",
                                            "smtpd_data_restrictions",
                                            "smtpd_end_of_data_restrictions",
                                            NULL };

/* The postconf command: on PATH, else where Debian installs it. */
static int cli_pf_postconf_path(char *buf, size_t len)
{
    const char *path = getenv("PATH"), *p, *end;
    static const char *const fallback[] = { "/usr/sbin", "/sbin",
                                            "/usr/local/sbin", NULL };
    size_t i;

    for (p = path; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
        end = strchr(p, ':');
        if (end == NULL) {
            end = p + strlen(p);
        }
        if (end > p
            && (size_t)snprintf(buf, len, "%.*s/postconf", (int)(end - p), p)
                   < len
            && access(buf, X_OK) == 0) {
            return 1;
        }
    }
    for (i = 0; fallback[i] != NULL; i++) {
        snprintf(buf, len, "%s/postconf", fallback[i]);
        if (access(buf, X_OK) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Run postconf [-c dir] args...; its stdout (a new string) or NULL with
 * why in pf->err.
 */
static char *cli_pf_run(struct cli_doctor_postfix *pf, const char *const *args)
{
    char bin[1024], why[CLI_PF_TEXT], *out;
    const char *argv[40];
    int n = 0;

    if (!cli_pf_postconf_path(bin, sizeof(bin))) {
        snprintf(pf->err, sizeof(pf->err),
                 "postconf not found (PATH, /usr/sbin): is Postfix "
                 "installed?");
        return NULL;
    }
    argv[n++] = bin;
    if (pf->dir != NULL) {
        argv[n++] = "-c";
        argv[n++] = pf->dir;
    }
    while (*args != NULL && n < 39) {
        argv[n++] = *args++;
    }
    argv[n] = NULL;
    out = cli_doctor_command(argv, why, sizeof(why));
    if (out == NULL) {
        snprintf(pf->err, sizeof(pf->err), "postconf%s%s: %s",
                 pf->dir != NULL ? " -c " : "", pf->dir != NULL ? pf->dir : "",
                 why);
    }
    return out;
}

/* Add name = value to *v (n elements); 0 when out of memory. */
static int cli_pf_add(struct cli_pf_param **v, size_t *n, size_t *cap,
                      const char *name, size_t namelen, const char *value)
{
    struct cli_pf_param *p = cli_doctor_grow(*v, cap, *n, sizeof(**v));

    if (p == NULL) {
        return 0;
    }
    *v = p;
    p[*n].name = strndup(name, namelen);
    p[*n].value = strdup(value);
    if (p[*n].name == NULL || p[*n].value == NULL) {
        free(p[*n].name);
        free(p[*n].value);
        return 0;
    }
    (*n)++;
    return 1;
}

/* "name = value" lines into *v; 0 when out of memory. */
static int cli_pf_parse_params(char *text, struct cli_pf_param **v, size_t *n,
                               size_t *cap)
{
    char *line, *save = NULL, *eq, *end;

    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        eq = strstr(line, " =");
        if (eq == NULL) {
            continue;
        }
        end = eq + 2;
        end += strspn(end, " \t");
        if (!cli_pf_add(v, n, cap, line, (size_t)(eq - line), end)) {
            return 0;
        }
    }
    return 1;
}

/* One postconf -M line into *svc; 0 when malformed or out of memory. */
static int cli_pf_parse_service(char *line, struct cli_pf_service *svc)
{
    char *w, *save = NULL, **words;
    int field = 0;

    memset(svc, 0, sizeof(*svc));
    for (w = strtok_r(line, " \t", &save); w != NULL;
         w = strtok_r(NULL, " \t", &save), field++) {
        if (field == 0) {
            svc->name = strdup(w);
        } else if (field == 1) {
            svc->type = strdup(w);
        } else if (field == 4) {
            svc->chroot = strdup(w);
        } else if (field >= 7) {
            words = cli_doctor_grow(svc->words, &svc->capwords, svc->nwords,
                                    sizeof(*words));
            if (words == NULL) {
                return 0;
            }
            svc->words = words;
            if ((words[svc->nwords] = strdup(w)) == NULL) {
                return 0;
            }
            svc->nwords++;
        }
    }
    return svc->name != NULL && svc->type != NULL && svc->chroot != NULL
           && svc->nwords > 0;
}

static void cli_pf_service_free(struct cli_pf_service *svc)
{
    size_t i;

    for (i = 0; i < svc->nwords; i++) {
        free(svc->words[i]);
    }
    free(svc->words);
    free(svc->name);
    free(svc->type);
    free(svc->chroot);
}

/* postconf -M into pf->services; 0 when out of memory. */
static int cli_pf_parse_services(char *text, struct cli_doctor_postfix *pf)
{
    char *line, *save = NULL;
    struct cli_pf_service svc, *v;

    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (!cli_pf_parse_service(line, &svc)) {
            cli_pf_service_free(&svc);
            continue;
        }
        v = cli_doctor_grow(pf->services, &pf->capservices, pf->nservices,
                            sizeof(*v));
        if (v == NULL) {
            cli_pf_service_free(&svc);
            return 0;
        }
        pf->services = v;
        v[pf->nservices++] = svc;
    }
    return 1;
}

/* main.cf values, master.cf services, -o overrides: 1, or 0 (pf->err). */
static int cli_pf_ask(struct cli_doctor_postfix *pf)
{
    const char *args[32];
    char *text = NULL;
    size_t i, n = 0;
    int ok = 0;

    args[n++] = "-x";
    for (i = 0; cli_pf_names[i] != NULL && n < 31; i++) {
        args[n++] = cli_pf_names[i];
    }
    args[n] = NULL;
    if ((text = cli_pf_run(pf, args)) == NULL
        || !cli_pf_parse_params(text, &pf->params, &pf->nparams,
                                &pf->capparams)) {
        goto done;
    }
    free(text);
    args[0] = "-M";
    args[1] = NULL;
    if ((text = cli_pf_run(pf, args)) == NULL
        || !cli_pf_parse_services(text, pf)) {
        goto done;
    }
    free(text);
    args[0] = "-P";
    if ((text = cli_pf_run(pf, args)) == NULL
        || !cli_pf_parse_params(text, &pf->overrides, &pf->noverrides,
                                &pf->capoverrides)) {
        goto done;
    }
    ok = cli_doctor_postfix_param(pf, "mail_owner") != NULL;
    if (!ok) {
        snprintf(pf->err, sizeof(pf->err), "postconf answered no mail_owner");
    }

done:
    if (!ok && pf->err[0] == '\0') {
        snprintf(pf->err, sizeof(pf->err), "out of memory");
    }
    free(text);
    return ok;
}

/*
 * At most len - 1 bytes of a regular file into buf, NUL-terminated: the
 * count, or -1. Opened without following a link or blocking (a FIFO
 * planted there must not hang doctor).
 */
static ssize_t cli_pf_read_file(const char *path, char *buf, size_t len)
{
    struct stat st;
    ssize_t r;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0) {
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

/*
 * The value of variable name in the environment of the instance's running
 * master (its pid file in queue_directory), into buf; 0 when not found.
 */
static int cli_pf_master_env(const struct cli_doctor_postfix *pf,
                             const char *name, char *buf, size_t len)
{
    const char *queue = cli_doctor_postfix_param(pf, "queue_directory");
    char path[1024], env[65536];
    size_t off, nl = strlen(name);
    ssize_t n;
    long pid;

    snprintf(path, sizeof(path), "%s/pid/master.pid", queue ? queue : "");
    if (queue == NULL || cli_pf_read_file(path, env, 64) <= 0
        || (pid = strtol(env, NULL, 10)) <= 0) {
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
    n = cli_pf_read_file(path, env, sizeof(env));
    for (off = 0; n > 0 && off < (size_t)n; off += strlen(env + off) + 1) {
        if (strncmp(env + off, name, nl) == 0 && env[off + nl] == '=') {
            snprintf(buf, len, "%s", env + off + nl + 1);
            return 1;
        }
    }
    return 0;
}

/*
 * OPENSSL_CONF in an import_environment list: 1 with its value, 2 when
 * listed without one (taken from the master's environment), else 0.
 */
static int cli_pf_import(const char *imports, char *buf, size_t len)
{
    const char *p = imports;
    size_t n;

    while (p != NULL && *p != '\0') {
        p += strspn(p, " \t,");
        n = strcspn(p, " \t,");
        if (n >= 12 && strncmp(p, "OPENSSL_CONF", 12) == 0) {
            if (n == 12) {
                return 2;
            }
            if (p[12] == '=') {
                snprintf(buf, len, "%.*s", (int)(n - 13), p + 13);
                return 1;
            }
        }
        p += n;
    }
    return 0;
}

void cli_doctor_postfix_tls_file(const struct cli_doctor_postfix *pf,
                                 const char *tls_config_file,
                                 const char *imports, char *buf, size_t buflen,
                                 char *how, size_t howlen)
{
    const char *tcf = tls_config_file != NULL ? tls_config_file : "default";
    int imp;

    buf[0] = '\0';
    if (strcmp(tcf, "none") == 0) {
        snprintf(how, howlen,
                 "tls_config_file = none: no OpenSSL "
                 "configuration is loaded at all");
    } else if (tcf[0] == '/') {
        snprintf(buf, buflen, "%s", tcf);
        snprintf(how, howlen, "tls_config_file = %s", tcf);
    } else if ((imp = cli_pf_import(imports, buf, buflen)) == 1) {
        snprintf(how, howlen, "OPENSSL_CONF=%s in import_environment", buf);
    } else if (imp == 2 && cli_pf_master_env(pf, "OPENSSL_CONF", buf, buflen)) {
        snprintf(how, howlen,
                 "OPENSSL_CONF in import_environment, %s in the running "
                 "master's environment",
                 buf);
    } else if (imp == 2) {
        snprintf(how, howlen,
                 "OPENSSL_CONF is in import_environment without a value, and "
                 "no running master of this instance has one");
    } else {
        snprintf(buf, buflen, "%s/openssl.cnf",
                 OPENSSL_info(OPENSSL_INFO_CONFIG_DIR));
        snprintf(how, howlen,
                 "no OPENSSL_CONF in import_environment: OpenSSL's default "
                 "configuration");
    }
}

struct cli_doctor_postfix *cli_doctor_postfix_read(const char *dir)
{
    struct cli_doctor_postfix *pf = calloc(1, sizeof(*pf));
    char file[CLI_DOCTOR_LINE];

    if (pf == NULL || (dir != NULL && (pf->dir = strdup(dir)) == NULL)) {
        free(pf);
        return NULL;
    }
    pf->ok = cli_pf_ask(pf);
    if (pf->ok) {
        cli_doctor_postfix_tls_file(
            pf, cli_doctor_postfix_param(pf, "tls_config_file"),
            cli_doctor_postfix_param(pf, "import_environment"), file,
            sizeof(file), pf->how, sizeof(pf->how));
        if (file[0] != '\0' && (pf->openssl_conf = strdup(file)) == NULL) {
            cli_doctor_postfix_free(pf);
            return NULL;
        }
    }
    return pf;
}

static void cli_pf_params_free(struct cli_pf_param *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

void cli_doctor_postfix_free(struct cli_doctor_postfix *pf)
{
    size_t i;

    if (pf == NULL) {
        return;
    }
    cli_pf_params_free(pf->params, pf->nparams);
    cli_pf_params_free(pf->overrides, pf->noverrides);
    for (i = 0; i < pf->nservices; i++) {
        cli_pf_service_free(&pf->services[i]);
    }
    free(pf->services);
    free(pf->openssl_conf);
    free(pf->dir);
    free(pf);
}

const char *cli_doctor_postfix_param(const struct cli_doctor_postfix *pf,
                                     const char *name)
{
    size_t i;

    for (i = 0; i < pf->nparams; i++) {
        if (strcmp(pf->params[i].name, name) == 0) {
            return pf->params[i].value;
        }
    }
    return NULL;
}

const char *cli_doctor_postfix_value(const struct cli_doctor_postfix *pf,
                                     const struct cli_pf_service *svc,
                                     const char *name, const char **how)
{
    char key[CLI_PF_TEXT];
    size_t i;

    snprintf(key, sizeof(key), "%s/%s/%s", svc->name, svc->type, name);
    for (i = 0; i < pf->noverrides; i++) {
        if (strcmp(pf->overrides[i].name, key) == 0) {
            if (how != NULL) {
                *how = "-o in master.cf";
            }
            return pf->overrides[i].value;
        }
    }
    if (how != NULL) {
        *how = "main.cf";
    }
    return cli_doctor_postfix_param(pf, name);
}

const struct cli_pf_service *
cli_doctor_postfix_service(const struct cli_doctor_postfix *pf,
                           const char *name, const char *type)
{
    size_t i;

    for (i = 0; i < pf->nservices; i++) {
        if (strcmp(pf->services[i].name, name) == 0
            && strcmp(pf->services[i].type, type) == 0) {
            return &pf->services[i];
        }
    }
    return NULL;
}

const char *cli_doctor_postfix_command(const struct cli_pf_service *svc)
{
    return svc->words[0];
}
