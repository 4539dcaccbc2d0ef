/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Address blocks: the deny_networks directive (CIDR blocks a CDP fetch
 * never connects to) and the address blocks of no_proxy. A list is kept as
 * the text the administrator wrote (comma- or blank-separated
 * "address[/bits]", IPv4 or IPv6, an IPv6 address possibly in brackets)
 * and read again at each check: a fetch connects to a handful of addresses.
 * An address is compared as what it reaches: an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) as its IPv4 address, and the unspecified address
 * (0.0.0.0, ::), which Linux connects to the local host, also as the
 * loopback address, so 127.0.0.0/8 cannot be bypassed by either spelling.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

/* One block: family, address bytes (4 or 16 used), prefix length. */
typedef struct {
    int family;
    unsigned char a[16];
    int bits;
} netblock;

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0,    0,
                                            0, 0, 0, 0, 0xff, 0xff };

/* An IPv4-mapped IPv6 address (and its prefix length) as IPv4. */
static void netblock_normalize(netblock *b)
{
    if (b->family == AF_INET6 && b->bits >= 96
        && memcmp(b->a, v4mapped, sizeof(v4mapped)) == 0) {
        memmove(b->a, b->a + 12, 4);
        memset(b->a + 4, 0, 12);
        b->family = AF_INET;
        b->bits -= 96;
    }
}

/* The address of n bytes at s (brackets allowed around IPv6) into b as a
   full-length block; 0 when it is not an address literal. */
static int parse_addr(const char *s, size_t n, netblock *b)
{
    char buf[INET6_ADDRSTRLEN];

    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(b, 0, sizeof(*b));
    if (inet_pton(AF_INET, buf, b->a) == 1) {
        b->family = AF_INET;
        b->bits = 32;
    } else if (inet_pton(AF_INET6, buf, b->a) == 1) {
        b->family = AF_INET6;
        b->bits = 128;
    } else {
        return 0;
    }
    return 1;
}

/* "address[/bits]" of n bytes at s into b; 0 when malformed. */
static int parse_block(const char *s, size_t n, netblock *b)
{
    const char *slash = memchr(s, '/', n);
    size_t i;
    int bits = 0;

    if (!parse_addr(s, slash != NULL ? (size_t)(slash - s) : n, b)) {
        return 0;
    }
    if (slash != NULL) {
        size_t digits = n - (size_t)(slash - s) - 1;

        if (digits == 0 || digits > 3) {
            return 0;
        }
        for (i = 1; i <= digits; i++) {
            if (slash[i] < '0' || slash[i] > '9') {
                return 0;
            }
            bits = bits * 10 + (slash[i] - '0');
        }
        if (bits > b->bits) {
            return 0;
        }
        b->bits = bits;
    }
    netblock_normalize(b);
    return 1;
}

/* Does address a (a full-length, normalised block) lie in block b? */
static int netblock_has(const netblock *b, const netblock *a)
{
    int whole = b->bits / 8;
    int rest = b->bits % 8;

    if (a->family != b->family || memcmp(a->a, b->a, (size_t)whole) != 0) {
        return 0;
    }
    if (rest != 0) {
        unsigned char mask = (unsigned char)(0xff << (8 - rest));

        return (a->a[whole] & mask) == (b->a[whole] & mask);
    }
    return 1;
}

/* The next entry of list from *p: its start and length; 0 at the end. */
static int next_entry(const char **p, const char **entry, size_t *n)
{
    while (**p == ',' || **p == ' ' || **p == '\t') {
        (*p)++;
    }
    if (**p == '\0') {
        return 0;
    }
    *entry = *p;
    *n = strcspn(*p, ", \t");
    *p += *n;
    return 1;
}

dsec_rv dsec_netdeny_check(const char *list, DSEC_ERR *err)
{
    const char *p = list != NULL ? list : "";
    const char *entry;
    size_t n;
    netblock b;

    while (next_entry(&p, &entry, &n)) {
        if (!parse_block(entry, n, &b)) {
            return dsec_err_set(err, DSEC_ERR_INVALID, 0,
                                "'%.*s' is not an IPv4 or IPv6 address with "
                                "an optional /bits",
                                n > 64 ? 64 : (int)n, entry);
        }
    }
    return DSEC_OK;
}

int dsec_netdeny_in_block(const char *addr, const char *block)
{
    netblock a;
    netblock b;

    if (!parse_addr(addr, strlen(addr), &a)
        || !parse_block(block, strlen(block), &b)) {
        return 0;
    }
    netblock_normalize(&a);
    return netblock_has(&b, &a);
}

/* Is a (normalised) denied by list? The entry that matched into rule. */
static int list_denies(const char *list, const netblock *a, char *rule,
                       size_t rlen)
{
    const char *p = list != NULL ? list : "";
    const char *entry;
    netblock alt = *a;
    netblock b;
    size_t n;
    int unspecified = 1;
    int i;

    /* the unspecified address reaches the loopback address */
    for (i = 0; i < (a->family == AF_INET ? 4 : 16); i++) {
        unspecified = unspecified && a->a[i] == 0;
    }
    if (unspecified && a->family == AF_INET) {
        alt.a[0] = 127;
        alt.a[3] = 1;
    } else if (unspecified) {
        alt.a[15] = 1;
    }
    while (next_entry(&p, &entry, &n)) {
        if (parse_block(entry, n, &b)
            && (netblock_has(&b, a) || netblock_has(&b, &alt))) {
            snprintf(rule, rlen, "%.*s", (int)n, entry);
            return 1;
        }
    }
    return 0;
}

int dsec_netdeny_match_text(const char *list, const char *addr, char *rule,
                            size_t rlen)
{
    netblock a;

    if (list == NULL || addr == NULL || !parse_addr(addr, strlen(addr), &a)) {
        return 0;
    }
    netblock_normalize(&a);
    return list_denies(list, &a, rule, rlen);
}

int dsec_netdeny_match_sockaddr(const char *list, const struct sockaddr *sa,
                                char *addr, size_t alen, char *rule,
                                size_t rlen)
{
    netblock a;
    char text[INET6_ADDRSTRLEN] = "?";

    if (list == NULL || sa == NULL) {
        return 0;
    }
    memset(&a, 0, sizeof(a));
    a.family = sa->sa_family;
    if (sa->sa_family == AF_INET) {
        memcpy(a.a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
               4);
        a.bits = 32;
    } else if (sa->sa_family == AF_INET6) {
        memcpy(a.a, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
               16);
        a.bits = 128;
    } else {
        return 0; /* not an internet address: nothing to compare */
    }
    (void)inet_ntop(a.family, a.a, text, sizeof(text));
    snprintf(addr, alen, "%s", text);
    netblock_normalize(&a);
    return list_denies(list, &a, rule, rlen);
}

size_t dsec_netdeny_filter(const char *list, char addrs[][INET6_ADDRSTRLEN],
                           size_t n, char *denied, size_t dlen, char *rule,
                           size_t rlen)
{
    size_t i;
    size_t kept = 0;
    char why[128];

    for (i = 0; i < n; i++) {
        if (dsec_netdeny_match_text(list, addrs[i], why, sizeof(why))) {
            if (denied[0] == '\0') {
                snprintf(denied, dlen, "%s", addrs[i]);
                snprintf(rule, rlen, "%s", why);
            }
            continue;
        }
        if (kept != i) {
            memcpy(addrs[kept], addrs[i], INET6_ADDRSTRLEN);
        }
        kept++;
    }
    return kept;
}
