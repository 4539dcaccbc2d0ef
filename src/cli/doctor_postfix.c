/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checks of `domainsec doctor --postfix`, made on what postconf says
 * of a Postfix instance (doctor_postconf.c), one line each: postconf
 * answers; the OpenSSL configuration every smtpd and smtp service loads
 * activates domainsec; the smtpd services carry a check_policy_service
 * restriction, with smtpd_tls_fingerprint_digest = sha256 (the verdict
 * records are named by SHA-256 fingerprints) and client certificates
 * asked for; that restriction's spawn service runs `domainsec policyd` as
 * a user spawn(8) accepts; and the verdict records can pass from smtpd to
 * it (doctor_verdicts.c). Every failure is a configuration problem.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include "cli.h"
#include "doctor_postfix.h"

/* The restriction lists of smtpd that may carry check_policy_service. */
static const char *const cli_pf_restrictions[] = {
    "smtpd_client_restrictions",      "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",      "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",   "smtpd_data_restrictions",
    "smtpd_end_of_data_restrictions", NULL
};

#define CLI_PF_MAX_SERVICES 64

/* What the restrictions say of the policy service. */
struct cli_pf_policy {
    char server[CLI_PF_TEXT]; /* the first check_policy_service's server */
    char where[CLI_PF_TEXT]; /* the parameter and where it is set */
    const struct cli_pf_service *with[CLI_PF_MAX_SERVICES];
    size_t nwith; /* smtpd services that carry it */
    size_t nsmtpd; /* smtpd services in all */
    char without[CLI_DOCTOR_LINE]; /* those that do not */
};

/* What the policy service's command line says. */
struct cli_pf_spawn {
    struct cli_pf_user user;
    char argv[CLI_DOCTOR_LINE]; /* the command line */
    char config[CLI_DOCTOR_LINE]; /* the configuration policyd reads */
    char verdicts[CLI_DOCTOR_LINE]; /* its --verdicts, "" when absent */
};

/* snprintf into a line that may cut a long path: the line still says
   what failed. */
static void cli_pf_say(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cli_pf_say(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* Append ", item" (or "item") to buf. */
static void cli_pf_list_add(char *buf, size_t len, const char *item)
{
    size_t used = strlen(buf);

    if (used < len - 1) {
        cli_pf_say(buf + used, len - used, "%s%s", used > 0 ? ", " : "", item);
    }
}

/* postconf answers; the mail owner, as Postfix's daemons run. */
static int cli_pf_check_postconf(struct cli_doctor *doc,
                                 struct cli_pf_user *owner)
{
    const struct cli_doctor_postfix *pf = doc->pf;
    const char *name, *version;

    if (!pf->ok) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix: %s; fix: install Postfix, or name its "
                        "configuration directory with --postfix-config DIR",
                        pf->err);
        return 0;
    }
    name = cli_doctor_postfix_param(pf, "mail_owner");
    version = cli_doctor_postfix_param(pf, "mail_version");
    if (!cli_doctor_postfix_user(name, owner)) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix: mail_owner %s is no user of this host; "
                        "fix: correct mail_owner",
                        name);
        return 0;
    }
    cli_doctor_line(doc, CLI_DOCTOR_OK,
                    "postfix: Postfix %s (postconf%s%s), mail_owner %s (uid "
                    "%lu, group %s)",
                    version != NULL ? version : "?", pf->dir ? " -c " : "",
                    pf->dir ? pf->dir : "", owner->name,
                    (unsigned long)owner->uid, owner->group);
    return 1;
}

/*
 * Whether the file lists domainsec, activated, with a module that exists
 * (what into why, or why not).
 */
static int cli_pf_activates(const char *file, char *why, size_t len)
{
    dsec_cli_module *m = malloc(sizeof(*m));
    struct stat st;
    int ok = 0;

    if (m == NULL || !dsec_cli_module_resolve(file, m)) {
        snprintf(why, len, "it does not list the domainsec provider");
    } else if (!m->activate) {
        cli_pf_say(why, len, "its [%s] has no activate line", m->section);
    } else if (stat(m->path, &st) != 0) {
        cli_pf_say(why, len, "its module %s does not exist", m->path);
    } else {
        cli_pf_say(why, len, "module %s", m->path);
        ok = 1;
    }
    free(m);
    return ok;
}

/*
 * The file every smtpd and smtp service loads, and that it activates
 * domainsec.
 */
static void cli_pf_check_openssl(struct cli_doctor *doc)
{
    const struct cli_doctor_postfix *pf = doc->pf;
    const char *file = pf->openssl_conf, *cmd, *name;
    char other[CLI_PF_TEXT], how[CLI_PF_TEXT], item[CLI_DOCTOR_LINE];
    char differ[CLI_DOCTOR_LINE] = "", why[CLI_DOCTOR_LINE];
    size_t i, n = 0;

    if (file == NULL) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix OpenSSL configuration: %s, so domainsec "
                        "never reaches smtpd or smtp; fix: tls_config_file = "
                        "default and OPENSSL_CONF=/etc/postfix/domainsec.cnf "
                        "in import_environment",
                        pf->how);
        return;
    }
    for (i = 0; i < pf->nservices; i++) {
        cmd = cli_doctor_postfix_command(&pf->services[i]);
        if (strcmp(cmd, "smtpd") != 0 && strcmp(cmd, "smtp") != 0) {
            continue;
        }
        n++;
        cli_doctor_postfix_tls_file(
            pf,
            cli_doctor_postfix_value(pf, &pf->services[i], "tls_config_file",
                                     NULL),
            cli_doctor_postfix_value(pf, &pf->services[i], "import_environment",
                                     NULL),
            other, sizeof(other), how, sizeof(how));
        if (strcmp(other, file) != 0) {
            snprintf(item, sizeof(item), "%s/%s (%s)", pf->services[i].name,
                     pf->services[i].type, other[0] ? other : how);
            cli_pf_list_add(differ, sizeof(differ), item);
        }
    }
    if (differ[0] != '\0') {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix OpenSSL configuration: main.cf gives %s (%s) "
                        "but these services load another: %s; fix: remove "
                        "their -o import_environment / tls_config_file",
                        file, pf->how, differ);
    } else if (strcmp(file, doc->path) == 0) {
        /* the provider check above loaded it as a host does */
        cli_doctor_line(doc,
                        OSSL_PROVIDER_available(NULL, DSEC_CLI_PROVIDER)
                            ? CLI_DOCTOR_OK
                            : CLI_DOCTOR_FAIL_CONFIG,
                        "postfix OpenSSL configuration: its %zu smtpd and "
                        "smtp services load %s (%s), the configuration "
                        "checked above",
                        n, file, pf->how);
    } else if (!cli_pf_activates(file, why, sizeof(why))) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix OpenSSL configuration: smtpd and smtp load "
                        "%s (%s), but %s; fix: activate domainsec there (run "
                        "doctor --postfix without --config to check it whole)",
                        file, pf->how, why);
    } else {
        cli_doctor_line(doc, CLI_DOCTOR_OK,
                        "postfix OpenSSL configuration: its %zu smtpd and "
                        "smtp services load %s (%s), which activates "
                        "domainsec (%s)",
                        n, file, pf->how, why);
    }
    name = cli_doctor_postfix_param(pf, "tls_config_name");
    if (name != NULL && name[0] != '\0') {
        cli_doctor_line(doc, CLI_DOCTOR_INFO,
                        "postfix OpenSSL configuration: tls_config_name = %s: "
                        "Postfix uses the section that name selects in %s, "
                        "when there is one, instead of openssl_conf",
                        name, file);
    }
}

/* The server of the first check_policy_service of a restriction list. */
static int cli_pf_policy_in(const char *list, char *buf, size_t len)
{
    const char *p = list;
    size_t n;
    int next = 0;

    while (p != NULL && *p != '\0') {
        p += strspn(p, " \t,{}");
        n = strcspn(p, " \t,{}");
        if (n == 0) {
            break;
        }
        if (next) {
            snprintf(buf, len, "%.*s", (int)n, p);
            return 1;
        }
        next = n == 20 && strncmp(p, "check_policy_service", 20) == 0;
        p += n;
    }
    return 0;
}

/* Whether one smtpd service carries the restriction (pol updated). */
static int cli_pf_service_policy(const struct cli_doctor_postfix *pf,
                                 const struct cli_pf_service *svc,
                                 struct cli_pf_policy *pol)
{
    const char *value, *how;
    char server[CLI_PF_TEXT];
    size_t i;

    for (i = 0; cli_pf_restrictions[i] != NULL; i++) {
        value = cli_doctor_postfix_value(pf, svc, cli_pf_restrictions[i], &how);
        if (cli_pf_policy_in(value, server, sizeof(server))) {
            if (pol->server[0] == '\0') {
                snprintf(pol->server, sizeof(pol->server), "%s", server);
                snprintf(pol->where, sizeof(pol->where), "%s (%s)",
                         cli_pf_restrictions[i], how);
            }
            return 1;
        }
    }
    return 0;
}

/* A check_policy_service restriction on the smtpd services. */
static void cli_pf_check_restriction(struct cli_doctor *doc,
                                     struct cli_pf_policy *pol)
{
    const struct cli_doctor_postfix *pf = doc->pf;
    const struct cli_pf_service *svc;
    char item[CLI_PF_TEXT];
    size_t i;

    for (i = 0; i < pf->nservices; i++) {
        svc = &pf->services[i];
        if (strcmp(cli_doctor_postfix_command(svc), "smtpd") != 0) {
            continue;
        }
        pol->nsmtpd++;
        if (cli_pf_service_policy(pf, svc, pol)) {
            if (pol->nwith < CLI_PF_MAX_SERVICES) {
                pol->with[pol->nwith++] = svc;
            }
        } else {
            snprintf(item, sizeof(item), "%s/%s", svc->name, svc->type);
            cli_pf_list_add(pol->without, sizeof(pol->without), item);
        }
    }
    if (pol->nwith == 0) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix restriction: no check_policy_service in the "
                        "smtpd_*_restrictions of its %zu smtpd service(s), so "
                        "no verdict is ever asked for; fix: "
                        "smtpd_recipient_restrictions = ..., "
                        "check_policy_service unix:private/policy",
                        pol->nsmtpd);
        return;
    }
    cli_doctor_line(doc, CLI_DOCTOR_OK,
                    "postfix restriction: check_policy_service %s in %s, on "
                    "%zu of %zu smtpd service(s)",
                    pol->server, pol->where, pol->nwith, pol->nsmtpd);
    if (pol->without[0] != '\0') {
        cli_doctor_line(doc, CLI_DOCTOR_INFO,
                        "postfix restriction: not on %s: mail received there "
                        "is not checked",
                        pol->without);
    }
}

/*
 * The value of name on every service with the restriction (main.cf's when
 * there is none) is one of the accepted values ("a|b"); the first that is
 * not into bad.
 */
static int cli_pf_all(const struct cli_doctor_postfix *pf,
                      const struct cli_pf_policy *pol, const char *name,
                      const char *accepted, char *bad, size_t len)
{
    const char *v, *how = "main.cf", *p;
    size_t i, n;

    for (i = 0; i < (pol->nwith > 0 ? pol->nwith : 1); i++) {
        v = pol->nwith > 0
                ? cli_doctor_postfix_value(pf, pol->with[i], name, &how)
                : cli_doctor_postfix_param(pf, name);
        v = v != NULL ? v : "";
        for (p = accepted; *p != '\0'; p += n + (p[n] == '|')) {
            n = strcspn(p, "|");
            if (strlen(v) == n && strncasecmp(v, p, n) == 0) {
                break;
            }
        }
        if (*p == '\0') {
            snprintf(bad, len, "%s = %s (%s%s%s)", name, v, how,
                     pol->nwith > 0 ? ", service " : "",
                     pol->nwith > 0 ? pol->with[i]->name : "");
            return 0;
        }
    }
    return 1;
}

/* The fingerprint digest and the client certificate request. */
static void cli_pf_check_tls(struct cli_doctor *doc,
                             const struct cli_pf_policy *pol)
{
    char bad[CLI_DOCTOR_LINE];

    if (!cli_pf_all(doc->pf, pol, "smtpd_tls_fingerprint_digest", "sha256", bad,
                    sizeof(bad))) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix %s: the policy service gets fingerprints no "
                        "verdict record is named by (records use SHA-256), "
                        "so every certificate counts as 'no record'; fix: "
                        "smtpd_tls_fingerprint_digest = sha256",
                        bad);
    } else {
        cli_doctor_line(doc, CLI_DOCTOR_OK,
                        "postfix smtpd_tls_fingerprint_digest = sha256: "
                        "ccert_fingerprint names the verdict records");
    }
    if (!cli_pf_all(doc->pf, pol, "smtpd_tls_ask_ccert", "yes", bad,
                    sizeof(bad))
        || !cli_pf_all(doc->pf, pol, "smtpd_tls_security_level", "may|encrypt",
                       bad, sizeof(bad))) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix %s: smtpd does not ask clients for a "
                        "certificate over TLS, so partners never present one; "
                        "fix: smtpd_tls_security_level = may and "
                        "smtpd_tls_ask_ccert = yes",
                        bad);
    } else {
        cli_doctor_line(doc, CLI_DOCTOR_OK,
                        "postfix client certificates: smtpd_tls_ask_ccert = "
                        "yes over STARTTLS");
    }
}

/* An option of policyd's command line: "--name VALUE" or "--name=VALUE". */
static void cli_pf_option(const char *prev, const char *w, const char *name,
                          char *buf, size_t len)
{
    size_t n = strlen(name);

    if (strcmp(prev, name) == 0) {
        snprintf(buf, len, "%s", w);
    } else if (strncmp(w, name, n) == 0 && w[n] == '=') {
        snprintf(buf, len, "%s", w + n + 1);
    }
}

/*
 * The spawn service's user= (into user) and argv= words (the command line,
 * its --config and --verdicts, into sp). 1 when it runs domainsec policyd.
 */
static int cli_pf_spawn_parse(const struct cli_pf_service *svc, char *user,
                              size_t ulen, struct cli_pf_spawn *sp)
{
    const char *w, *prev = "", *base;
    size_t i, a = 0;
    int policyd = 0, domainsec = 0;

    for (i = 1; i < svc->nwords; i++) {
        w = svc->words[i];
        if (a == 0 && strncmp(w, "user=", 5) == 0) {
            snprintf(user, ulen, "%s", w + 5);
            continue;
        }
        if (a == 0 && strncmp(w, "argv=", 5) != 0) {
            continue; /* another attribute, or -o */
        }
        if (a == 0) {
            w += 5;
            base = strrchr(w, '/');
            domainsec = strcmp(base != NULL ? base + 1 : w, "domainsec") == 0;
        } else if (a == 1) {
            policyd = strcmp(w, "policyd") == 0;
        }
        cli_pf_option(prev, w, "--config", sp->config, sizeof(sp->config));
        cli_pf_option(prev, w, "--verdicts", sp->verdicts,
                      sizeof(sp->verdicts));
        if (strlen(sp->argv) + strlen(w) + 2 < sizeof(sp->argv)) {
            strcat(sp->argv, a > 0 ? " " : "");
            strcat(sp->argv, w);
        }
        prev = w;
        a++;
    }
    return domainsec && policyd;
}

/*
 * The user spawn runs the service as, refused where spawn refuses it: 1,
 * or 0 once FAIL is printed.
 */
static int cli_pf_spawn_user(struct cli_doctor *doc, const char *svc,
                             const char *user, const struct cli_pf_user *owner,
                             struct cli_pf_user *u)
{
    char name[64];
    const char *why = NULL;

    snprintf(name, sizeof(name), "%.*s", (int)strcspn(user, ":"), user);
    if (name[0] == '\0' || !cli_doctor_postfix_user(name, u)) {
        why = name[0] == '\0' ? "has no user= attribute" : "names no user";
    } else if (u->uid == 0 || u->gid == 0) {
        why = "runs as root or group 0, which spawn refuses";
    } else if (u->uid == owner->uid || u->gid == owner->gid) {
        why = "runs as the mail owner or its group, which spawn refuses";
    }
    if (why != NULL) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix policy service %s: user=%s %s; fix: a user "
                        "of its own, e.g. useradd --system --user-group "
                        "domainsec, and user=domainsec",
                        svc, user, why);
        return 0;
    }
    return 1;
}

/*
 * The spawn service the restriction names: 1 when it runs domainsec
 * policyd as a valid user (sp filled), 0 when the server is not a spawn
 * service of this master.cf, -1 once a FAIL is printed.
 */
static int cli_pf_check_spawn(struct cli_doctor *doc,
                              const struct cli_pf_policy *pol,
                              const struct cli_pf_user *owner,
                              struct cli_pf_spawn *sp)
{
    const struct cli_pf_service *svc = NULL;
    const char *name = pol->server, *how = "";
    char user[128] = "", why[CLI_DOCTOR_LINE], scratch[CLI_DOCTOR_LINE];

    if (strncmp(name, "unix:", 5) == 0) {
        name += 5;
    }
    if (strncmp(name, "private/", 8) != 0) {
        cli_doctor_line(doc, CLI_DOCTOR_INFO,
                        "postfix policy service %s: not a service of this "
                        "master.cf (a `domainsec policyd --listen` daemon?): "
                        "its user's access to the verdicts is not checked",
                        pol->server);
        return 0;
    }
    name += 8;
    svc = cli_doctor_postfix_service(doc->pf, name, "unix");
    if (svc == NULL || strcmp(cli_doctor_postfix_command(svc), "spawn") != 0
        || !cli_pf_spawn_parse(svc, user, sizeof(user), sp)) {
        cli_doctor_line(
            doc, CLI_DOCTOR_FAIL_CONFIG,
            "postfix policy service %s: %s%s%s; fix: in "
            "master.cf, %s unix - n n - 0 spawn user=domainsec "
            "argv=/usr/local/bin/domainsec policyd --config "
            "/etc/postfix/domainsec.cnf",
            pol->server,
            svc == NULL ? "no such service in master.cf" : "the service runs ",
            svc == NULL ? "" : cli_doctor_postfix_command(svc),
            svc == NULL || sp->argv[0] == '\0' ? "" : ", not domainsec policyd",
            name);
        return -1;
    }
    if (!cli_pf_spawn_user(doc, pol->server, user, owner, &sp->user)) {
        return -1;
    }
    snprintf(scratch, sizeof(scratch), "%.*s", (int)strcspn(sp->argv, " "),
             sp->argv);
    if (!cli_doctor_postfix_may(scratch, &sp->user, 1, why, sizeof(why))) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix policy service %s: %s; fix: install "
                        "domainsec where %s can run it",
                        pol->server, why, sp->user.name);
        return -1;
    }
    if (sp->config[0] == '\0') {
        /* spawn passes export_environment, not import_environment */
        cli_doctor_postfix_tls_file(
            doc->pf, "default",
            cli_doctor_postfix_param(doc->pf, "export_environment"), sp->config,
            sizeof(sp->config), scratch, sizeof(scratch));
        how = " (no --config: the OPENSSL_CONF of export_environment, else "
              "OpenSSL's default)";
    }
    cli_doctor_line(doc, CLI_DOCTOR_OK,
                    "postfix policy service %s: spawn runs %s as %s (group "
                    "%s), reading %s%s",
                    pol->server, sp->argv, sp->user.name, sp->user.group,
                    sp->verdicts[0] ? sp->verdicts : sp->config, how);
    return 1;
}

void cli_doctor_check_postfix(struct cli_doctor *doc)
{
    struct cli_pf_user owner;
    struct cli_pf_policy pol;
    struct cli_pf_spawn sp;
    int spawn;

    memset(&pol, 0, sizeof(pol));
    memset(&sp, 0, sizeof(sp));
    if (!cli_pf_check_postconf(doc, &owner)) {
        return;
    }
    cli_pf_check_openssl(doc);
    cli_pf_check_restriction(doc, &pol);
    cli_pf_check_tls(doc, &pol);
    if (pol.nwith == 0) {
        return;
    }
    spawn = cli_pf_check_spawn(doc, &pol, &owner, &sp);
    if (spawn >= 0) {
        cli_doctor_check_verdicts(doc, &owner, spawn ? &sp.user : NULL,
                                  spawn ? sp.config : NULL,
                                  spawn && sp.verdicts[0] ? sp.verdicts : NULL);
    }
}
