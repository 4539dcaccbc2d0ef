/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local checks of `domainsec doctor`, which need no network: the
 * configuration parses and activates the provider the way it does in a
 * host (a provider OpenSSL did not load is named with the file OpenSSL
 * tried, since OpenSSL 3.0 itself skips it without a word); every directory
 * of trust_dirs and cross_dirs is readable and holds certificates (kept for
 * the CDP check); cache_dir takes a new file. A failure here is a
 * configuration problem.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include "domainsec/anchors.h"
#include "domainsec/cache.h"
#include "domainsec/certdir.h"
#include "domainsec/config.h"
#include "cli.h"
#include "doctor.h"

/* What a directory holds, as the provider reads it. */
struct cli_doctor_tally {
    int nfiles, ncerts, nbad;
    char bad[CLI_DOCTOR_LINE]; /* the skipped files and why */
    size_t badlen;
};
/* The OpenSSL error queue on one line (reasons and their data), emptied. */
static void cli_doctor_errors(char *buf, size_t len)
{
    const char *data = NULL, *reason;
    unsigned long e;
    size_t used = 0;
    int flags = 0, n;

    buf[0] = '\0';
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        reason = ERR_reason_error_string(e);
        n = snprintf(buf + used, len - used, "%s%s%s%s", used > 0 ? "; " : "",
                     reason != NULL ? reason : "error",
                     (flags & ERR_TXT_STRING) && data != NULL && *data ? ": "
                                                                       : "",
                     (flags & ERR_TXT_STRING) && data != NULL ? data : "");
        if (n < 0 || (size_t)n >= len - used) {
            ERR_clear_error();
            break;
        }
        used += (size_t)n;
    }
}

/* The configuration parses (NCONF, then the directives strictly). */
static void cli_doctor_settings(struct cli_doctor *doc)
{
    char *sect = NULL;
    char why[CLI_DOCTOR_LINE];

    if (!dsec_cli_read_settings(doc->path, &doc->cfg, &sect, why,
                                sizeof(why))) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "configuration: %s; fix: correct the file (the "
                        "directives are listed in README.md)",
                        why);
    } else {
        cli_doctor_line(doc, CLI_DOCTOR_OK,
                        "configuration: %s parses; domainsec section [%s]",
                        doc->path, sect);
    }
    ERR_clear_error();
    OPENSSL_free(sect);
}

/* Loading the configuration activates the provider, as in a host. */
static void cli_doctor_provider(struct cli_doctor *doc)
{
    const char *path = doc->path;
    dsec_cli_module *mod = NULL;
    char why[CLI_DOCTOR_LINE], errs[CLI_DOCTOR_LINE], fix[CLI_DOCTOR_LINE];

    if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL)
        || !OSSL_LIB_CTX_load_config(NULL, path)) {
        cli_doctor_errors(errs, sizeof(errs));
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "provider: OpenSSL cannot load %s: %s; fix: correct "
                        "the file",
                        path, errs[0] != '\0' ? errs : "unknown error");
    } else if (!OSSL_PROVIDER_available(NULL, DSEC_CLI_PROVIDER)
               && dsec_cli_module_diagnose(path, why, sizeof(why), fix,
                                           sizeof(fix))) {
        /*
         * OpenSSL 3.0 skips a provider it cannot load, silently (even with
         * config_diagnostics): name the file it tried.
         */
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG, "provider: %s; fix: %s",
                        why, fix);
    } else if (!OSSL_PROVIDER_available(NULL, DSEC_CLI_PROVIDER)) {
        /* OpenSSL 3.0 does not fail the load when activation fails */
        cli_doctor_errors(errs, sizeof(errs));
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "provider: %s is not activated by %s%s%s; fix: %s",
                        DSEC_CLI_PROG, path, errs[0] != '\0' ? ": " : "", errs,
                        doc->cfg == NULL
                            ? "correct the directive named above"
                            : "list it in the providers section with "
                              "activate = 1 and a module path that exists "
                              "(openssl list -providers must show it)");
    } else {
        mod = malloc(sizeof(*mod));
        if (mod != NULL && dsec_cli_module_resolve(path, mod)) {
            cli_doctor_line(doc, CLI_DOCTOR_OK,
                            "provider: %s activated by %s, as in a host "
                            "(module %s)",
                            DSEC_CLI_PROVIDER, path, mod->path);
        } else {
            cli_doctor_line(doc, CLI_DOCTOR_OK,
                            "provider: %s activated by %s, as in a host",
                            DSEC_CLI_PROVIDER, path);
        }
    }
    ERR_clear_error();
    free(mod);
}

void cli_doctor_check_config(struct cli_doctor *doc)
{
    cli_doctor_settings(doc);
    cli_doctor_provider(doc);
}

/* A user or group: its name, else its number, into buf. */
static const char *cli_doctor_id(const char *name, unsigned long id, char *buf,
                                 size_t len)
{
    if (name != NULL) {
        snprintf(buf, len, "%s", name);
    } else {
        snprintf(buf, len, "%lu", id);
    }
    return buf;
}

const char *cli_doctor_user(uid_t uid, char *buf, size_t len)
{
    struct passwd *pw = getpwuid(uid);

    return cli_doctor_id(pw != NULL ? pw->pw_name : NULL, (unsigned long)uid,
                         buf, len);
}

const char *cli_doctor_group(gid_t gid, char *buf, size_t len)
{
    struct group *gr = getgrgid(gid);

    return cli_doctor_id(gr != NULL ? gr->gr_name : NULL, (unsigned long)gid,
                         buf, len);
}

/* dir exists and can be read: 1, else 0 once the FAIL is printed. */
static int cli_doctor_dir_readable(struct cli_doctor *doc, const char *kind,
                                   const char *dir)
{
    DIR *d = NULL;
    struct stat st;
    char user[64];

    if (stat(dir, &st) != 0) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "%s %s: %s; fix: create it (install -d -m 0755 %s) "
                        "and put the %s there, or remove it from %s",
                        kind, dir,
                        errno == ENOENT ? "does not exist" : strerror(errno),
                        dir,
                        strcmp(kind, "trust_dirs") == 0
                            ? "trusted root certificates"
                            : "cross-certificates and intermediates",
                        kind);
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "%s %s: not a directory; fix: name a directory in "
                        "%s",
                        kind, dir, kind);
        return 0;
    }
    d = opendir(dir);
    if (d == NULL) {
        cli_doctor_line(
            doc, CLI_DOCTOR_FAIL_CONFIG,
            "%s %s: cannot be read by %s: %s; fix: make it readable by every "
            "daemon using domainsec (chmod 0755 %s)",
            kind, dir, cli_doctor_user(geteuid(), user, sizeof(user)),
            strerror(errno), dir);
        return 0;
    }
    closedir(d);
    return 1;
}

/* Keep the certificates of snap for the CDP check, and count them. */
static void cli_doctor_dir_certs(struct cli_doctor *doc, const char *kind,
                                 const dsec_anchors *snap,
                                 struct cli_doctor_tally *t)
{
    const char *src;
    size_t i;

    for (i = 0; i < dsec_anchors_count(snap); i++) {
        src = dsec_anchors_source(snap, i);
        if (!cli_doctor_add_cert(doc, dsec_anchors_get0(snap, i), src, kind)) {
            fprintf(stderr, "%s doctor: out of memory\n", DSEC_CLI_PROG);
            break;
        }
        t->ncerts++;
        if (i == 0 || strcmp(src, dsec_anchors_source(snap, i - 1)) != 0) {
            t->nfiles++;
        }
    }
}

/* The files the provider skipped as malformed, named with why. */
static void cli_doctor_dir_skipped(const dsec_anchors *snap,
                                   struct cli_doctor_tally *t)
{
    const char *bad_path, *bad_why, *base;
    size_t i;
    int n;

    for (i = 0; i < dsec_anchors_skipped_count(snap); i++) {
        bad_path = NULL;
        bad_why = NULL;
        if (!dsec_anchors_skipped(snap, i, &bad_path, &bad_why)) {
            continue;
        }
        base = strrchr(bad_path, '/') != NULL ? strrchr(bad_path, '/') + 1
                                              : bad_path;
        t->nbad++;
        t->nfiles++;
        if (t->badlen < sizeof(t->bad) - 1) {
            n = snprintf(t->bad + t->badlen, sizeof(t->bad) - t->badlen,
                         "%s%s (%s)", t->badlen > 0 ? ", " : "", base, bad_why);
            t->badlen = n < 0 ? t->badlen : t->badlen + (size_t)n;
        }
    }
}

/* One directory of trust_dirs or cross_dirs. */
static void cli_doctor_dir(struct cli_doctor *doc, const char *kind,
                           const char *dir)
{
    struct cli_doctor_tally t;
    dsec_certdir *cd = NULL;
    dsec_anchors *snap = NULL;
    DSEC_ERR derr = { 0 };

    memset(&t, 0, sizeof(t));
    if (!cli_doctor_dir_readable(doc, kind, dir)) {
        goto done;
    }
    /* read the directory exactly as the provider does */
    if (dsec_certdir_open(dir, &cd, &derr) != DSEC_OK
        || (snap = dsec_certdir_get(cd)) == NULL) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG, "%s %s: %s", kind, dir,
                        derr.msg[0] != '\0' ? derr.msg : "cannot be loaded");
        goto done;
    }
    cli_doctor_dir_certs(doc, kind, snap, &t);
    cli_doctor_dir_skipped(snap, &t);
    if (t.nbad > 0) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "%s %s: %d certificate(s) in %d file(s); skipped as "
                        "malformed: %s; fix: remove these files or replace "
                        "them with PEM or DER certificates",
                        kind, dir, t.ncerts, t.nfiles - t.nbad, t.bad);
    } else if (t.ncerts == 0 && strcmp(kind, "trust_dirs") == 0) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "%s %s: holds no certificate; fix: put the trusted "
                        "root certificates there (PEM or DER)",
                        kind, dir);
    } else {
        cli_doctor_line(doc, CLI_DOCTOR_OK,
                        "%s %s: %d certificate(s) in %d file(s)", kind, dir,
                        t.ncerts, t.nfiles);
    }

done:
    dsec_anchors_free(snap);
    dsec_certdir_free(cd);
}

/* Every directory of a colon-separated list. */
static void cli_doctor_dirs(struct cli_doctor *doc, const char *kind,
                            const char *list)
{
    char *copy = NULL, *p, *save = NULL;

    if (list == NULL || list[0] == '\0') {
        cli_doctor_line(doc, CLI_DOCTOR_INFO, "%s: none configured", kind);
        return;
    }
    copy = strdup(list);
    if (copy == NULL) {
        fprintf(stderr, "%s doctor: out of memory\n", DSEC_CLI_PROG);
        return;
    }
    for (p = strtok_r(copy, ":", &save); p != NULL;
         p = strtok_r(NULL, ":", &save)) {
        cli_doctor_dir(doc, kind, p);
    }
    free(copy);
}

void cli_doctor_check_trust_dirs(struct cli_doctor *doc)
{
    cli_doctor_dirs(doc, "trust_dirs", doc->cfg->trust_dirs);
}

void cli_doctor_check_cross_dirs(struct cli_doctor *doc)
{
    cli_doctor_dirs(doc, "cross_dirs", doc->cfg->cross_dirs);
}

/*
 * The files the cache trusts (dsec_cache_disk_untrusted): the directory
 * not writable by others, and every file in it as the provider reads it.
 * 1 when all pass; else each one named in a failure line.
 */
static int cli_doctor_cache_files(struct cli_doctor *doc, const char *dir,
                                  const struct stat *dst)
{
    struct dirent *de;
    struct stat st;
    const char *why;
    DIR *d;
    int ok = 1;

    if ((dst->st_mode & S_IWOTH) != 0) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "cache_dir %s: writable by others (mode %04o): the "
                        "provider does not use it; fix: chmod o-w %s",
                        dir, (unsigned)(dst->st_mode & 07777), dir);
        return 0;
    }
    d = opendir(dir);
    if (d == NULL) {
        return 1; /* the write check below says why */
    }
    while ((de = readdir(d)) != NULL) {
        /* subdirectories (Postfix's verdicts/) are not cache files */
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0
            || S_ISDIR(st.st_mode)) {
            continue;
        }
        why = dsec_cache_disk_untrusted(&st, dst, geteuid());
        if (why != NULL) {
            cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                            "cache_dir %s: file %s is %s (owner uid %u, "
                            "mode %04o): the provider ignores it; fix: "
                            "remove it",
                            dir, de->d_name, why, (unsigned)st.st_uid,
                            (unsigned)(st.st_mode & 07777));
            ok = 0;
        }
    }
    closedir(d);
    return ok;
}

void cli_doctor_check_cache(struct cli_doctor *doc)
{
    const char *dir = doc->cfg->cache_dir;
    struct stat st;
    char tmpl[4096];
    char owner[64], group[64], user[64];
    int fd, e;

    if (dir == NULL || dir[0] == '\0') {
        cli_doctor_line(doc, CLI_DOCTOR_INFO,
                        "cache_dir: none (memory cache only: every process "
                        "fetches the CRLs itself)");
        return;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "cache_dir %s: %s; fix: install -d -m 2775 -g GROUP "
                        "%s, GROUP being the group of the daemons using "
                        "domainsec",
                        dir,
                        errno == ENOENT       ? "does not exist"
                        : S_ISDIR(st.st_mode) ? strerror(errno)
                                              : "not a directory",
                        dir);
        return;
    }
    if (!cli_doctor_cache_files(doc, dir, &st)) {
        return;
    }
    cli_doctor_user(st.st_uid, owner, sizeof(owner));
    cli_doctor_group(st.st_gid, group, sizeof(group));
    cli_doctor_user(geteuid(), user, sizeof(user));
    snprintf(tmpl, sizeof(tmpl), "%s/.doctor.XXXXXX", dir);
    fd = mkstemp(tmpl);
    if (fd < 0 || write(fd, "x", 1) != 1) {
        e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(tmpl);
        }
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "cache_dir %s: %s cannot create a file there: %s "
                        "(owner %s, group %s, mode %04o); fix: the user or "
                        "group of every daemon using domainsec needs write "
                        "access, e.g. chgrp GROUP %s && chmod 2775 %s",
                        dir, user, strerror(e), owner, group,
                        (unsigned)(st.st_mode & 07777), dir, dir);
        return;
    }
    close(fd);
    if (unlink(tmpl) != 0) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "cache_dir %s: a file was created but cannot be "
                        "removed: %s; fix: remove %s and check the "
                        "directory's permissions",
                        dir, strerror(errno), tmpl);
        return;
    }
    cli_doctor_line(doc, CLI_DOCTOR_OK,
                    "cache_dir %s: writable by %s (owner %s, group %s, mode "
                    "%04o; every daemon using domainsec needs write access "
                    "as owner or group)",
                    dir, user, owner, group, (unsigned)(st.st_mode & 07777));
}
