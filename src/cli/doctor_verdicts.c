/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verdict records between Postfix and `domainsec policyd`, for
 * `domainsec doctor --postfix`: smtpd (as the mail owner) writes them in
 * <cache_dir>/verdicts/ of the OpenSSL configuration it loads, the policy
 * service reads them from the directory its own command line names, and
 * spawn(8) runs it as a user with that user's primary group only (Postfix's
 * set_ugid drops supplementary groups), so a record, written 0640 by the
 * mail owner, is readable by the policy service only through a group it
 * takes from a set-group-ID verdicts/. Access is worked out from owners and
 * mode bits (no ACLs), for each directory on the way.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include "cli.h"
#include "doctor_postfix.h"

/* At most this many records are looked at. */
#define CLI_PF_MAX_RECORDS 1000

int cli_doctor_postfix_user(const char *name, struct cli_pf_user *u)
{
    struct passwd *pw = getpwnam(name);

    if (pw == NULL) {
        return 0;
    }
    snprintf(u->name, sizeof(u->name), "%s", name);
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    cli_doctor_group(u->gid, u->group, sizeof(u->group));
    return 1;
}

/* The permission bits (4 read, 2 write, 1 search) u has on st. */
static int cli_pf_bits(const struct stat *st, const struct cli_pf_user *u)
{
    if (u->uid == 0) {
        return 7;
    }
    if (st->st_uid == u->uid) {
        return (int)(st->st_mode >> 6) & 7;
    }
    if (st->st_gid == u->gid) {
        return (int)(st->st_mode >> 3) & 7;
    }
    return (int)st->st_mode & 7;
}

/* "owner postfix, group nogroup, mode 2750" of st into buf. */
static const char *cli_pf_owner(const struct stat *st, char *buf, size_t len)
{
    char user[64], group[64];

    snprintf(buf, len, "owner %s, group %s, mode %04o",
             cli_doctor_user(st->st_uid, user, sizeof(user)),
             cli_doctor_group(st->st_gid, group, sizeof(group)),
             (unsigned)(st->st_mode & 07777));
    return buf;
}

int cli_doctor_postfix_may(const char *path, const struct cli_pf_user *u,
                           int want, char *why, size_t whylen)
{
    char buf[4096], own[128], *slash;
    struct stat st;

    if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf)) {
        snprintf(why, whylen, "path too long");
        return 0;
    }
    for (slash = buf[0] == '/' ? buf : strchr(buf, '/'); slash != NULL;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (stat(buf[0] != '\0' ? buf : "/", &st) != 0) {
            snprintf(why, whylen, "%s: %s", buf[0] ? buf : "/",
                     strerror(errno));
            return 0;
        }
        if (!(cli_pf_bits(&st, u) & 1)) {
            snprintf(why, whylen, "%s cannot enter %s (%s)", u->name,
                     buf[0] ? buf : "/", cli_pf_owner(&st, own, sizeof(own)));
            return 0;
        }
        *slash = '/';
    }
    if (stat(path, &st) != 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return 0;
    }
    if ((cli_pf_bits(&st, u) & want) != want) {
        snprintf(why, whylen, "%s cannot %s %s (%s)", u->name,
                 (want & 2) ? "write in" : "read", path,
                 cli_pf_owner(&st, own, sizeof(own)));
        return 0;
    }
    return 1;
}

/*
 * The verdicts directory of the configuration file (its cache_dir plus
 * /verdicts) into buf: 1, or 0 with why.
 */
static int cli_pf_verdicts_of(struct cli_doctor *doc, const char *file,
                              char *buf, size_t len, char *why, size_t whylen)
{
    dsec_config *cfg = NULL;
    const char *cache;
    int ok = 0;

    if (doc->cfg != NULL && strcmp(file, doc->path) == 0) {
        cache = doc->cfg->cache_dir;
    } else if (!dsec_cli_read_settings(file, &cfg, NULL, why, whylen)) {
        return 0;
    } else {
        cache = cfg->cache_dir;
    }
    if (cache == NULL || cache[0] == '\0') {
        snprintf(why, whylen, "%s sets no cache_dir", file);
    } else {
        snprintf(buf, len, "%s%sverdicts", cache,
                 cache[strlen(cache) - 1] == '/' ? "" : "/");
        ok = 1;
    }
    dsec_config_free(cfg);
    return ok;
}

/* Same directory: same inode, or the same path when either is missing. */
static int cli_pf_same_dir(const char *a, const char *b)
{
    struct stat sa, sb;

    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) {
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    }
    return strcmp(a, b) == 0;
}

/* A record reader cannot read, named into why: 1 when there is one. */
static int cli_pf_unreadable_record(const char *dir,
                                    const struct cli_pf_user *reader, char *why,
                                    size_t whylen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat st;
    char path[4096], own[128];
    int n = 0, found = 0;

    while (d != NULL && !found && n++ < CLI_PF_MAX_RECORDS
           && (de = readdir(d)) != NULL) {
        if ((strncmp(de->d_name, "c-", 2) != 0
             && strncmp(de->d_name, "k-", 2) != 0)
            || (size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name)
                   >= sizeof(path)
            || lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (!(cli_pf_bits(&st, reader) & 4)) {
            snprintf(why, whylen, "record %s is not readable by %s (%s)",
                     de->d_name, reader->name,
                     cli_pf_owner(&st, own, sizeof(own)));
            found = 1;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return found;
}

/* The reader's side: records reachable and readable. 1, or 0 once FAIL. */
static int cli_pf_reader_ok(struct cli_doctor *doc, const char *dir,
                            const struct stat *st,
                            const struct cli_pf_user *reader)
{
    char why[CLI_DOCTOR_LINE];

    if (!cli_doctor_postfix_may(dir, reader, 1, why, sizeof(why))) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix verdicts %s: the policy service cannot "
                        "reach it: %s; fix: chgrp %s %s && chmod 2750 %s, "
                        "and let group %s enter the directories above",
                        dir, why, reader->group, dir, dir, reader->group);
        return 0;
    }
    if (!(st->st_mode & S_ISGID) || st->st_gid != reader->gid) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix verdicts %s: records are written 0640 by "
                        "the mail owner and the policy service (%s, group "
                        "%s: spawn drops other groups) reads them through "
                        "their group, which they take from the directory "
                        "only when it is set-group-ID with group %s; fix: "
                        "chgrp %s %s && chmod 2750 %s",
                        dir, reader->name, reader->group, reader->group,
                        reader->group, dir, dir);
        return 0;
    }
    if (cli_pf_unreadable_record(dir, reader, why, sizeof(why))) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix verdicts %s: %s; fix: chgrp -R %s %s", dir,
                        why, reader->group, dir);
        return 0;
    }
    return 1;
}

/* Where smtpd writes (into dir) and policyd reads: 1, or 0 once FAIL. */
static int cli_pf_verdict_dirs(struct cli_doctor *doc,
                               const char *policyd_config,
                               const char *verdicts_dir, char *dir, size_t len)
{
    const char *smtpd_conf = doc->pf->openssl_conf;
    char why[CLI_DOCTOR_LINE], theirs[CLI_DOCTOR_LINE];

    if (smtpd_conf == NULL) {
        cli_doctor_line(doc, CLI_DOCTOR_INFO,
                        "postfix verdicts: not checked (smtpd loads no "
                        "OpenSSL configuration)");
        return 0;
    }
    if (!cli_pf_verdicts_of(doc, smtpd_conf, dir, len, why, sizeof(why))) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix verdicts: smtpd writes no verdict records: "
                        "%s, so the policy service finds no record for any "
                        "certificate (a listed partner is rejected); fix: "
                        "set cache_dir in %s",
                        why, smtpd_conf);
        return 0;
    }
    if (verdicts_dir != NULL) {
        snprintf(theirs, sizeof(theirs), "%s", verdicts_dir);
    } else if (policyd_config != NULL
               && !cli_pf_verdicts_of(doc, policyd_config, theirs,
                                      sizeof(theirs), why, sizeof(why))) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix verdicts: the policy service reads no "
                        "verdicts directory: %s; fix: give it --config %s",
                        why, smtpd_conf);
        return 0;
    }
    if ((verdicts_dir != NULL || policyd_config != NULL)
        && !cli_pf_same_dir(dir, theirs)) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix verdicts: smtpd writes %s but the policy "
                        "service reads %s; fix: give it --config %s",
                        dir, theirs, smtpd_conf);
        return 0;
    }
    return 1;
}

void cli_doctor_check_verdicts(struct cli_doctor *doc,
                               const struct cli_pf_user *owner,
                               const struct cli_pf_user *reader,
                               const char *policyd_config,
                               const char *verdicts_dir)
{
    char dir[CLI_DOCTOR_LINE], why[CLI_DOCTOR_LINE], own[128], *slash;
    const char *yet = "";
    struct stat st;
    int e;

    if (!cli_pf_verdict_dirs(doc, policyd_config, verdicts_dir, dir,
                             sizeof(dir))) {
        return;
    }
    slash = strrchr(dir, '/');
    if (stat(dir, &st) != 0 && errno == ENOENT && slash != NULL
        && slash > dir) {
        /* made at activation like cache_dir: judge cache_dir */
        *slash = '\0';
        yet = "; verdicts/ is not there yet: smtpd makes it at activation "
              "with cache_dir's owner, group and set-group-ID bit, judged "
              "here";
    }
    e = stat(dir, &st) == 0 ? 0 : errno;
    if (e != 0 || !S_ISDIR(st.st_mode)) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix verdicts %s: %s; fix: install -d -m 2750 "
                        "-o %s -g %s %s",
                        dir, e != 0 ? strerror(e) : "not a directory",
                        owner->name, reader != NULL ? reader->group : "GROUP",
                        dir);
        return;
    }
    if (!cli_doctor_postfix_may(dir, owner, 3, why, sizeof(why))) {
        cli_doctor_line(doc, CLI_DOCTOR_FAIL_CONFIG,
                        "postfix verdicts %s: smtpd (as %s) cannot write "
                        "records: %s; fix: chown %s %s",
                        dir, owner->name, why, owner->name, dir);
        return;
    }
    if (reader != NULL && !cli_pf_reader_ok(doc, dir, &st, reader)) {
        return;
    }
    cli_pf_owner(&st, own, sizeof(own));
    if (reader == NULL) {
        cli_doctor_line(doc, CLI_DOCTOR_OK,
                        "postfix verdicts %s: written by %s (%s)%s; the "
                        "policy service's user is not known here",
                        dir, owner->name, own, yet);
        return;
    }
    cli_doctor_line(doc, CLI_DOCTOR_OK,
                    "postfix verdicts %s: written by %s, read by the policy "
                    "service as %s through group %s (%s)%s",
                    dir, owner->name, reader->name, reader->group, own, yet);
}
