/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/verdict.c and src/verdict_name.c: the verdicts
 * directory (mode, group bits, links refused), records written and read
 * back under both fingerprints (checked against fingerprints computed here
 * independently), atomic replacement, expiry and the sweep of expired
 * records, refusal of planted files (FIFO, link, directory, oversized,
 * writable by others, hard-linked, malformed), the record format,
 * fingerprint normalisation (Postfix's colon form, any case) and RFC 6125
 * name matching with wildcards.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include "domainsec/verdict.h"
#include "testutil.h"

static EVP_PKEY *ca_key, *leaf_key, *odd_key;
static X509 *ca, *leaf, *odd;
static char tmp[512];
static int cache_fd = -1, vfd = -1;

/* Add DNS names (each len bytes, raw) to x and re-sign it with key. */
static X509 *with_dns(X509 *x, EVP_PKEY *key, const char *const *names,
                      const int *lens, int n)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    int i, ok = gens != NULL;

    for (i = 0; ok && i < n; i++) {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();

        ok = gn != NULL && s != NULL && ASN1_STRING_set(s, names[i], lens[i]);
        if (ok) {
            GENERAL_NAME_set0_value(gn, GEN_DNS, s);
            ok = sk_GENERAL_NAME_push(gens, gn) > 0;
        } else {
            ASN1_IA5STRING_free(s);
            GENERAL_NAME_free(gn);
        }
    }
    ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) == 1
         && X509_sign(x, key, EVP_sha256()) > 0;
    GENERAL_NAMES_free(gens);
    return ok ? x : NULL;
}

static int suite_init(void)
{
    static const char *const names[] = { "mx.partner.example",
                                         "*.partner.example" };
    static const int lens[] = { 18, 17 };
    static const char odd_names[] = "a\0b.example" /* 11 */
                                    "c,d.example" /* 11 */
                                    "ok.example"; /* 10 */
    const char *const odd_v[] = { odd_names, odd_names + 11, odd_names + 22 };
    static const int odd_l[] = { 11, 11, 10 };

    ca_key = tu_key();
    leaf_key = tu_key();
    odd_key = tu_key();
    if (ca_key == NULL || leaf_key == NULL || odd_key == NULL) {
        return -1;
    }
    ca = tu_cert("Verdict CA", NULL, NULL, ca_key, 1, NULL, -3600, 86400);
    leaf = tu_cert("mx.partner.example", ca, ca_key, leaf_key, 0,
                   "http://crl.example/ca.crl", -3600, 86400);
    odd = tu_cert("odd.example", ca, ca_key, odd_key, 0, NULL, -3600, 86400);
    if (ca == NULL || with_dns(leaf, ca_key, names, lens, 2) == NULL
        || with_dns(odd, ca_key, odd_v, odd_l, 3) == NULL
        || tu_tmpdir(tmp, sizeof(tmp)) == NULL) {
        return -1;
    }
    chmod(tmp, 02770);
    cache_fd = open(tmp, O_RDONLY | O_DIRECTORY);
    vfd = dsec_verdict_open_dir(cache_fd, NULL);
    return cache_fd >= 0 && vfd >= 0 ? 0 : -1;
}

static int suite_cleanup(void)
{
    close(vfd);
    close(cache_fd);
    tu_rmtree(tmp);
    X509_free(ca);
    X509_free(leaf);
    X509_free(odd);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(odd_key);
    return 0;
}

/* A verdict of class cls recorded at now for ttl seconds. */
static dsec_verdict sample(dsec_class cls, time_t now, long ttl)
{
    dsec_verdict v;

    memset(&v, 0, sizeof(v));
    v.cls = cls;
    v.error = cls == DSEC_CLASS_VALID ? 0 : 23;
    v.depth = cls == DSEC_CLASS_VALID ? -1 : 0;
    snprintf(v.reason, sizeof(v.reason), "certificate revoked");
    dsec_verdict_names_of(leaf, &v);
    v.time = now;
    v.expires = now + ttl;
    return v;
}

/* Independent hex SHA-256 of len bytes. */
static void sha256_hex(const unsigned char *der, int len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    int i;

    EVP_Digest(der, (size_t)len, md, &n, EVP_sha256(), NULL);
    for (i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

static void test_verdict_fingerprints(void)
{
    char c[65], k[65], want_c[65], want_k[65];
    unsigned char *der = NULL;
    int len;

    CU_ASSERT_FATAL(dsec_verdict_fingerprints(leaf, c, k));
    len = i2d_X509(leaf, &der);
    sha256_hex(der, len, want_c);
    OPENSSL_free(der);
    der = NULL;
    len = i2d_PUBKEY(leaf_key, &der);
    sha256_hex(der, len, want_k);
    OPENSSL_free(der);
    CU_ASSERT_STRING_EQUAL(c, want_c);
    CU_ASSERT_STRING_EQUAL(k, want_k);
    CU_ASSERT_STRING_NOT_EQUAL(c, k);
    CU_ASSERT_FALSE(dsec_verdict_fingerprints(NULL, c, k));
}

static void test_verdict_dir_mode(void)
{
    struct stat st;
    char path[600];
    int fd, lfd;

    CU_ASSERT_EQUAL_FATAL(fstat(vfd, &st), 0);
    /* 0750, plus group write and set-group-ID from cache_dir (02770) */
    CU_ASSERT_EQUAL(st.st_mode & 07777, 02770);
    CU_ASSERT_EQUAL(st.st_mode & S_IRWXO, 0);
    /* opened again: the existing directory */
    fd = dsec_verdict_open_dir(cache_fd, NULL);
    CU_ASSERT(fd >= 0);
    close(fd);
    /* a symbolic link in its place is refused */
    snprintf(path, sizeof(path), "%s/other", tmp);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
    lfd = open(path, O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof(path), "%s/other/verdicts", tmp);
    CU_ASSERT_EQUAL(symlink("/tmp", path), 0);
    CU_ASSERT_EQUAL(dsec_verdict_open_dir(lfd, NULL), -1);
    unlink(path);
    /* an existing directory accessible to others is closed to them */
    CU_ASSERT_EQUAL(mkdir(path, 0757), 0);
    chmod(path, 0757);
    fd = dsec_verdict_open_dir(lfd, NULL);
    CU_ASSERT(fd >= 0);
    CU_ASSERT(fstat(fd, &st) == 0 && (st.st_mode & S_IRWXO) == 0);
    close(fd);
    close(lfd);
    CU_ASSERT_EQUAL(dsec_verdict_open_dir(-1, NULL), -1);
    CU_ASSERT_EQUAL(dsec_verdict_open_path("", NULL), -1);
}

static void test_verdict_round_trip(void)
{
    char c[65], k[65], colon[96], upper[65];
    time_t now = time(NULL);
    dsec_verdict v = sample(DSEC_CLASS_FATAL, now, 300), got;
    struct stat st;
    char name[80];
    DSEC_ERR err;
    int i;

    CU_ASSERT_EQUAL_FATAL(dsec_verdict_write(vfd, leaf, &v, &err), DSEC_OK);
    CU_ASSERT_FATAL(dsec_verdict_fingerprints(leaf, c, k));
    snprintf(name, sizeof(name), "c-%s", c);
    CU_ASSERT_EQUAL(fstatat(vfd, name, &st, 0), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0640);
    memset(&got, 0, sizeof(got));
    CU_ASSERT_EQUAL(
        dsec_verdict_read(vfd, DSEC_VERDICT_CERT, c, now, &got, &err), DSEC_OK);
    CU_ASSERT_EQUAL(got.cls, DSEC_CLASS_FATAL);
    CU_ASSERT_EQUAL(got.error, 23);
    CU_ASSERT_EQUAL(got.depth, 0);
    CU_ASSERT_STRING_EQUAL(got.reason, "certificate revoked");
    CU_ASSERT_STRING_EQUAL(got.subject, "/CN=mx.partner.example");
    CU_ASSERT_STRING_EQUAL(got.cn, "mx.partner.example");
    CU_ASSERT_STRING_EQUAL(got.dns, "mx.partner.example,*.partner.example");
    CU_ASSERT_EQUAL(got.time, now);
    CU_ASSERT_EQUAL(got.expires, now + 300);
    /* the public key's record, found from Postfix's colon form */
    for (i = 0; i < 32; i++) {
        snprintf(colon + 3 * i, 4, "%c%c%s", k[2 * i], k[2 * i + 1],
                 i < 31 ? ":" : "");
    }
    for (i = 0; colon[i] != '\0'; i++) {
        colon[i] = (char)(colon[i] >= 'a' && colon[i] <= 'f' ? colon[i] - 32
                                                             : colon[i]);
    }
    memset(&got, 0, sizeof(got));
    CU_ASSERT_EQUAL(
        dsec_verdict_read(vfd, DSEC_VERDICT_KEY, colon, now, &got, &err),
        DSEC_OK);
    CU_ASSERT_EQUAL(got.cls, DSEC_CLASS_FATAL);
    CU_ASSERT_TRUE(dsec_verdict_normalize(colon, upper));
    CU_ASSERT_STRING_EQUAL(upper, k);
    /* the fingerprint of one kind is no record of the other */
    CU_ASSERT_EQUAL(
        dsec_verdict_read(vfd, DSEC_VERDICT_KEY, c, now, &got, &err),
        DSEC_ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(
        dsec_verdict_read(vfd, DSEC_VERDICT_CERT, "abc", now, &got, &err),
        DSEC_ERR_INVALID);
}

/* The number of entries of the verdicts directory starting with prefix. */
static int count_prefix(const char *prefix)
{
    char cmd[700];
    FILE *p;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "ls -A '%s/verdicts' | grep -c '^%s' || true",
             tmp, prefix);
    if ((p = popen(cmd, "r")) != NULL) {
        if (fscanf(p, "%d", &n) != 1) {
            n = -1;
        }
        pclose(p);
    }
    return n;
}

static void test_verdict_atomic_replace(void)
{
    char c[65], k[65], name[80], buf[DSEC_VERDICT_MAX_FILE];
    time_t now = time(NULL);
    dsec_verdict v = sample(DSEC_CLASS_TRANSIENT, now, 300), got;
    struct stat before, after;
    ssize_t n;
    int old;

    CU_ASSERT_FATAL(dsec_verdict_fingerprints(leaf, c, k));
    CU_ASSERT_EQUAL_FATAL(dsec_verdict_write(vfd, leaf, &v, NULL), DSEC_OK);
    snprintf(name, sizeof(name), "c-%s", c);
    old = openat(vfd, name, O_RDONLY);
    CU_ASSERT_FATAL(old >= 0);
    CU_ASSERT_EQUAL(fstat(old, &before), 0);
    /* the new record replaces the old by rename: a reader of the old
       file still reads it whole, a new reader gets the new one */
    v = sample(DSEC_CLASS_VALID, now, 300);
    CU_ASSERT_EQUAL(dsec_verdict_write(vfd, leaf, &v, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(fstatat(vfd, name, &after, 0), 0);
    CU_ASSERT_NOT_EQUAL(before.st_ino, after.st_ino);
    n = pread(old, buf, sizeof(buf) - 1, 0);
    CU_ASSERT_FATAL(n > 0);
    buf[n] = '\0';
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "class=transient\n"));
    close(old);
    CU_ASSERT_EQUAL(
        dsec_verdict_read(vfd, DSEC_VERDICT_CERT, c, now, &got, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(got.cls, DSEC_CLASS_VALID);
    CU_ASSERT_EQUAL(count_prefix(".tmp."), 0);
    CU_ASSERT_EQUAL(dsec_verdict_write(-1, leaf, &v, NULL), DSEC_ERR_INVALID);
    CU_ASSERT_EQUAL(dsec_verdict_write(vfd, NULL, &v, NULL), DSEC_ERR_INVALID);
}

/* inode of the record name in the verdict directory, 0 when absent */
static ino_t record_ino(const char *prefix, const char *hex)
{
    char name[80];
    struct stat st;

    snprintf(name, sizeof(name), "%s-%s", prefix, hex);
    return fstatat(vfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_ino : 0;
}

/* A verdict already on disk (written by this process, still there, less
   than half its life old) is not written again; anything else is. */
static void test_verdict_unchanged_not_rewritten(void)
{
    char c[65], k[65], name[80];
    time_t now = time(NULL);
    dsec_verdict v = sample(DSEC_CLASS_VALID, now, 300);
    ino_t first, again;
    int fd;

    CU_ASSERT_FATAL(dsec_verdict_fingerprints(leaf, c, k));
    CU_ASSERT_EQUAL_FATAL(dsec_verdict_write(vfd, leaf, &v, NULL), DSEC_OK);
    first = record_ino("c", c);
    CU_ASSERT_FATAL(first != 0);
    /* same content a second later: the file stays (no rename) */
    v = sample(DSEC_CLASS_VALID, now + 1, 300);
    CU_ASSERT_EQUAL(dsec_verdict_write(vfd, leaf, &v, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(record_ino("c", c), first);
    CU_ASSERT_NOT_EQUAL(record_ino("k", k), 0);
    /* half the life passed: written again */
    v = sample(DSEC_CLASS_VALID, now + 150, 300);
    CU_ASSERT_EQUAL(dsec_verdict_write(vfd, leaf, &v, NULL), DSEC_OK);
    again = record_ino("c", c);
    CU_ASSERT_NOT_EQUAL(again, first);
    /* another verdict: written at once */
    v = sample(DSEC_CLASS_FATAL, now + 151, 300);
    CU_ASSERT_EQUAL(dsec_verdict_write(vfd, leaf, &v, NULL), DSEC_OK);
    first = record_ino("c", c);
    CU_ASSERT_NOT_EQUAL(first, again);
    /* another process replaced the file (renamed its own over it): the
       same verdict is written again, not trusted to be there */
    snprintf(name, sizeof(name), "c-%s", c);
    fd = openat(vfd, ".other", O_WRONLY | O_CREAT | O_EXCL, 0640);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, "class=valid\n", 12), 12);
    close(fd);
    CU_ASSERT_EQUAL(renameat(vfd, ".other", vfd, name), 0);
    v = sample(DSEC_CLASS_FATAL, now + 152, 300);
    CU_ASSERT_EQUAL(dsec_verdict_write(vfd, leaf, &v, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(
        dsec_verdict_read(vfd, DSEC_VERDICT_CERT, c, now + 152, &v, NULL),
        DSEC_OK);
    CU_ASSERT_EQUAL(v.cls, DSEC_CLASS_FATAL);
}

static void test_verdict_expiry_and_sweep(void)
{
    char c[65], k[65], oc[65], ok[65], name[80];
    time_t now = time(NULL);
    dsec_verdict v = sample(DSEC_CLASS_FATAL, now, 10), got;
    DSEC_ERR err;

    CU_ASSERT_FATAL(dsec_verdict_fingerprints(leaf, c, k));
    CU_ASSERT_FATAL(dsec_verdict_fingerprints(odd, oc, ok));
    CU_ASSERT_EQUAL_FATAL(dsec_verdict_write(vfd, leaf, &v, NULL), DSEC_OK);
    v = sample(DSEC_CLASS_VALID, now, 100);
    CU_ASSERT_EQUAL_FATAL(dsec_verdict_write(vfd, odd, &v, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(
        dsec_verdict_read(vfd, DSEC_VERDICT_CERT, c, now + 9, &got, NULL),
        DSEC_OK);
    CU_ASSERT_EQUAL(
        dsec_verdict_read(vfd, DSEC_VERDICT_CERT, c, now + 10, &got, &err),
        DSEC_ERR_NOT_FOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "expired"));
    /* a stale temporary file of a writer that died goes too */
    CU_ASSERT_EQUAL(mkdirat(vfd, "sub", 0700), 0);
    close(openat(vfd, ".tmp.1.1.c-x", O_WRONLY | O_CREAT, 0640));
    /* nothing is due before the expiry; then only what expired */
    CU_ASSERT_EQUAL(dsec_verdict_sweep(vfd, now + 5, 1000), 0);
    CU_ASSERT_EQUAL(dsec_verdict_sweep(vfd, now + 50, 1000), 2);
    snprintf(name, sizeof(name), "c-%s", c);
    CU_ASSERT_NOT_EQUAL(faccessat(vfd, name, F_OK, 0), 0);
    snprintf(name, sizeof(name), "k-%s", k);
    CU_ASSERT_NOT_EQUAL(faccessat(vfd, name, F_OK, 0), 0);
    snprintf(name, sizeof(name), "c-%s", oc);
    CU_ASSERT_EQUAL(faccessat(vfd, name, F_OK, 0), 0);
    CU_ASSERT_EQUAL(count_prefix(".tmp."), 1);
    /* a pass looks at max_entries entries at most */
    CU_ASSERT_EQUAL(dsec_verdict_sweep(vfd, now + 3700, 0), 0);
    /* the temporary file an hour old goes with the rest; a directory
       stays */
    CU_ASSERT_EQUAL(dsec_verdict_sweep(vfd, now + 3700, 1000), 3);
    CU_ASSERT_EQUAL(count_prefix(".tmp."), 0);
    CU_ASSERT_EQUAL(faccessat(vfd, "sub", F_OK, 0), 0);
    /* due once per interval, here and for every process (.sweep) */
    v = sample(DSEC_CLASS_VALID, now, 1);
    CU_ASSERT_EQUAL_FATAL(dsec_verdict_write(vfd, leaf, &v, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_verdict_sweep_due(vfd, now + 5, 60), 2);
    CU_ASSERT_EQUAL(faccessat(vfd, ".sweep", F_OK, 0), 0);
    CU_ASSERT_EQUAL_FATAL(dsec_verdict_write(vfd, leaf, &v, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(dsec_verdict_sweep_due(vfd, now + 6, 60), 0);
    CU_ASSERT_EQUAL(dsec_verdict_sweep_due(vfd, now + 100, 60), 2);
    /* implausible lifetimes are refused */
    v = sample(DSEC_CLASS_VALID, now, 86400L * 3);
    CU_ASSERT_EQUAL_FATAL(dsec_verdict_write(vfd, leaf, &v, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(
        dsec_verdict_read(vfd, DSEC_VERDICT_CERT, c, now, &got, NULL),
        DSEC_ERR_INVALID);
}

/* Plant name in the verdicts directory as what kind says; 0 on success. */
static int plant(const char *name, const char *kind)
{
    char path[700], big[DSEC_VERDICT_MAX_FILE + 10], rec[128];

    snprintf(rec, sizeof(rec),
             "class=valid\nerror=0\ndepth=-1\ntime=1\nexpires=%lld\n",
             (long long)time(NULL) + 100);

    snprintf(path, sizeof(path), "%s/verdicts/%s", tmp, name);
    unlink(path);
    if (strcmp(kind, "fifo") == 0) {
        return mkfifo(path, 0640);
    }
    if (strcmp(kind, "link") == 0) {
        return symlink("/etc/passwd", path);
    }
    if (strcmp(kind, "dir") == 0) {
        return mkdir(path, 0750);
    }
    if (strcmp(kind, "big") == 0) {
        memset(big, 'x', sizeof(big));
        return tu_write_file(path, big, sizeof(big));
    }
    if (tu_write_file(path, rec, strlen(rec)) != 0) {
        return -1;
    }
    if (strcmp(kind, "others") == 0) {
        return chmod(path, 0646);
    }
    if (strcmp(kind, "hardlink") == 0) {
        char other[710];

        snprintf(other, sizeof(other), "%s.2", path);
        unlink(other);
        return link(path, other);
    }
    return 0;
}

static void test_verdict_refusals(void)
{
    static const char *const kinds[] = { "fifo", "link",   "dir",
                                         "big",  "others", "hardlink" };
    char hex[65], name[80];
    time_t now = time(NULL);
    dsec_verdict got;
    DSEC_ERR err;
    size_t i;

    memset(hex, 'a', 64);
    hex[64] = '\0';
    snprintf(name, sizeof(name), "c-%s", hex);
    /* a plain record planted this way is read: the control case */
    CU_ASSERT_EQUAL_FATAL(plant(name, "plain"), 0);
    CU_ASSERT_EQUAL(
        dsec_verdict_read(vfd, DSEC_VERDICT_CERT, hex, now, &got, &err),
        DSEC_OK);
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(plant(name, kinds[i]), 0);
        memset(&err, 0, sizeof(err));
        CU_ASSERT_EQUAL(
            dsec_verdict_read(vfd, DSEC_VERDICT_CERT, hex, now, &got, &err),
            DSEC_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "refused"));
        if (strcmp(kinds[i], "dir") == 0) {
            unlinkat(vfd, name, AT_REMOVEDIR);
        }
    }
    /* nor removed by a sweep (it is not read either: no hang) */
    CU_ASSERT_EQUAL(plant(name, "fifo"), 0);
    dsec_verdict_sweep(vfd, now + 86400, 1000);
    CU_ASSERT_EQUAL(faccessat(vfd, name, F_OK, AT_SYMLINK_NOFOLLOW), 0);
}

static void test_verdict_format_parse(void)
{
    char buf[DSEC_VERDICT_MAX_FILE];
    dsec_verdict v = sample(DSEC_CLASS_TRANSIENT, 1000, 300), got;
    static const char *const bad[] = {
        "error=0\ndepth=-1\ntime=1\nexpires=2\n", /* no class */
        "class=maybe\nerror=0\ndepth=-1\ntime=1\nexpires=2\n",
        "class=valid\nerror=x\ndepth=-1\ntime=1\nexpires=2\n",
        "class=valid\nerror=0\ndepth=-1\ntime=1\nexpires=2\nno equals\n",
        "class=valid\nerror=0\ndepth=-1\ntime=1\nexpires=2\nreason=a\rb\n",
        "class=valid\nerror=0\ndepth=-1\ntime=-5\nexpires=2\n",
    };
    size_t len, i;

    snprintf(v.reason, sizeof(v.reason), "two\nlines\x01");
    len = dsec_verdict_format(&v, buf, sizeof(buf));
    CU_ASSERT_FATAL(len > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "reason=two?lines?\n"));
    CU_ASSERT_EQUAL(dsec_verdict_parse(buf, len, &got, NULL), DSEC_OK);
    CU_ASSERT_EQUAL(got.cls, DSEC_CLASS_TRANSIENT);
    CU_ASSERT_STRING_EQUAL(got.reason, "two?lines?");
    CU_ASSERT_EQUAL(dsec_verdict_format(&v, buf, 20), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(dsec_verdict_parse(bad[i], strlen(bad[i]), &got, NULL),
                        DSEC_ERR_INVALID);
    }
    /* unknown keys are ignored; a NUL is not text */
    {
        const char *text = "class=fatal\nfuture=1\nerror=2\ndepth=0\n"
                           "time=1\nexpires=2";

        CU_ASSERT_EQUAL(dsec_verdict_parse(text, strlen(text), &got, NULL),
                        DSEC_OK);
        CU_ASSERT_EQUAL(got.error, 2);
    }
    CU_ASSERT_EQUAL(dsec_verdict_parse("class=fatal\0", 12, &got, NULL),
                    DSEC_ERR_INVALID);
}

static void test_verdict_normalize(void)
{
    const char *lower =
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char out[65];

    CU_ASSERT_TRUE(dsec_verdict_normalize(
        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
        "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
        out));
    CU_ASSERT_STRING_EQUAL(out, lower);
    CU_ASSERT_TRUE(dsec_verdict_normalize(
        "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
        out));
    CU_ASSERT_STRING_EQUAL(out, lower);
    memcpy(out, "unchanged", 10);
    /* SHA-1 (Postfix's md5/sha1 digests), misplaced colons, not hex */
    CU_ASSERT_FALSE(dsec_verdict_normalize(
        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33", out));
    CU_ASSERT_FALSE(dsec_verdict_normalize(
        "0:011:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
        "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
        out));
    CU_ASSERT_FALSE(dsec_verdict_normalize(
        "g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        out));
    CU_ASSERT_FALSE(dsec_verdict_normalize("", out));
    CU_ASSERT_FALSE(dsec_verdict_normalize(NULL, out));
    CU_ASSERT_STRING_EQUAL(out, "unchanged");
}

static void test_verdict_name_match(void)
{
    CU_ASSERT_TRUE(dsec_verdict_name_match("mx.example.com", "mx.example.com"));
    CU_ASSERT_TRUE(dsec_verdict_name_match("MX.Example.COM", "mx.example.com"));
    CU_ASSERT_TRUE(
        dsec_verdict_name_match("mx.example.com.", "mx.example.com"));
    CU_ASSERT_TRUE(dsec_verdict_name_match("*.example.com", "mx.example.com"));
    CU_ASSERT_TRUE(dsec_verdict_name_match("*.example.com", "MX.EXAMPLE.COM."));
    CU_ASSERT_FALSE(dsec_verdict_name_match("*.example.com", "example.com"));
    CU_ASSERT_FALSE(
        dsec_verdict_name_match("*.example.com", "a.b.example.com"));
    CU_ASSERT_FALSE(dsec_verdict_name_match("*.example.com", ".example.com"));
    CU_ASSERT_FALSE(dsec_verdict_name_match("*.com", "example.com"));
    CU_ASSERT_FALSE(
        dsec_verdict_name_match("mx*.example.com", "mx1.example.com"));
    CU_ASSERT_FALSE(
        dsec_verdict_name_match("*x.example.com", "mx.example.com"));
    CU_ASSERT_FALSE(
        dsec_verdict_name_match("mx.*.example.com", "mx.a.example.com"));
    CU_ASSERT_FALSE(
        dsec_verdict_name_match("*.*.example.com", "a.b.example.com"));
    CU_ASSERT_FALSE(dsec_verdict_name_match("*.example.com", "*.example.com"));
    CU_ASSERT_FALSE(
        dsec_verdict_name_match("mx.example.com", "mx.example.org"));
    CU_ASSERT_FALSE(dsec_verdict_name_match("", ""));
    CU_ASSERT_FALSE(dsec_verdict_name_match(NULL, "a.example"));
}

static void test_verdict_names_match(void)
{
    dsec_verdict v;

    memset(&v, 0, sizeof(v));
    dsec_verdict_names_of(leaf, &v);
    CU_ASSERT_TRUE(dsec_verdict_names_match(&v, "mx.partner.example"));
    CU_ASSERT_TRUE(dsec_verdict_names_match(&v, "smtp.partner.example"));
    CU_ASSERT_FALSE(dsec_verdict_names_match(&v, "partner.example"));
    CU_ASSERT_FALSE(dsec_verdict_names_match(&v, ""));
    /* the CN only counts without DNS names */
    snprintf(v.cn, sizeof(v.cn), "cn.other.example");
    CU_ASSERT_FALSE(dsec_verdict_names_match(&v, "cn.other.example"));
    v.dns[0] = '\0';
    CU_ASSERT_TRUE(dsec_verdict_names_match(&v, "cn.other.example"));
    CU_ASSERT_FALSE(dsec_verdict_names_match(&v, "mx.partner.example"));
    v.cn[0] = '\0';
    CU_ASSERT_FALSE(dsec_verdict_names_match(&v, "cn.other.example"));
    /* a NUL or a comma inside a DNS name never matches */
    dsec_verdict_names_of(odd, &v);
    CU_ASSERT_STRING_EQUAL(v.dns, "a?b.example,c?d.example,ok.example");
    CU_ASSERT_STRING_EQUAL(v.cn, "odd.example");
    CU_ASSERT_FALSE(dsec_verdict_names_match(&v, "a"));
    CU_ASSERT_FALSE(dsec_verdict_names_match(&v, "d.example"));
    CU_ASSERT_FALSE(dsec_verdict_names_match(&v, "odd.example"));
    CU_ASSERT_TRUE(dsec_verdict_names_match(&v, "ok.example"));
    dsec_verdict_names_of(NULL, &v);
    CU_ASSERT_STRING_EQUAL(v.subject, "");
}

static CU_TestInfo tests[] = {
    { "test_verdict_fingerprints", test_verdict_fingerprints },
    { "test_verdict_dir_mode", test_verdict_dir_mode },
    { "test_verdict_round_trip", test_verdict_round_trip },
    { "test_verdict_atomic_replace", test_verdict_atomic_replace },
    { "test_verdict_unchanged_not_rewritten",
      test_verdict_unchanged_not_rewritten },
    { "test_verdict_expiry_and_sweep", test_verdict_expiry_and_sweep },
    { "test_verdict_refusals", test_verdict_refusals },
    { "test_verdict_format_parse", test_verdict_format_parse },
    { "test_verdict_normalize", test_verdict_normalize },
    { "test_verdict_name_match", test_verdict_name_match },
    { "test_verdict_names_match", test_verdict_names_match },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return tu_run_suite("verdict", suite_init, suite_cleanup, tests);
}
