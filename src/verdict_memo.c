/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What this process last wrote under each verdict record name, so that a
 * verification whose verdict is the one already on disk writes nothing:
 * a host verifies the same peers over and over, and a record rewritten on
 * every handshake (a temporary file, a write and a rename for each of the
 * two names) cost the handshake path more than the verification itself.
 * A record is skipped only when this process wrote the same content (every
 * field but the times) under that name less than half a verdict_ttl ago
 * and the file there is still the one it wrote (same device, inode and
 * modification time: another process that replaced it, with another
 * verdict or the same, makes the next verification write again). So a
 * record on disk is never older than half its life when a verification
 * that agrees with it passes, and never disagrees with this process's
 * latest verdict.
 */
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include "domainsec/verdict.h"
#include "internal.h"

#define MEMO_SLOTS 512
/* a name lives in one of PROBES consecutive slots: two names of one leaf
   (c- and k-) never push each other out */
#define PROBES 4

struct memo_slot {
    char name[80];
    unsigned char digest[32];
    time_t written;
    dev_t dev;
    ino_t ino;
    struct timespec mtim;
};

static struct memo_slot memo[MEMO_SLOTS];
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;

/* The first of the PROBES slots where name may be. */
static size_t first_slot(const char *name)
{
    unsigned long h = 5381;

    for (; *name != '\0'; name++) {
        h = h * 33 + (unsigned char)*name;
    }
    return (size_t)(h % MEMO_SLOTS);
}

/* Caller holds memo_lock: the slot holding name, else NULL. */
static struct memo_slot *slot_of(const char *name)
{
    size_t i, first = first_slot(name);

    for (i = 0; i < PROBES; i++) {
        struct memo_slot *s = &memo[(first + i) % MEMO_SLOTS];

        if (strcmp(s->name, name) == 0) {
            return s;
        }
    }
    return NULL;
}

/* Caller holds memo_lock: the slot for name, its own or the one written
   longest ago (an empty one first) among its PROBES. */
static struct memo_slot *slot_for(const char *name)
{
    struct memo_slot *s = slot_of(name), *best = NULL;
    size_t i, first = first_slot(name);

    for (i = 0; s == NULL && i < PROBES; i++) {
        struct memo_slot *c = &memo[(first + i) % MEMO_SLOTS];

        if (best == NULL || c->name[0] == '\0'
            || (best->name[0] != '\0' && c->written < best->written)) {
            best = c;
        }
    }
    return s != NULL ? s : best;
}

int dsec_verdict_memo_same(int dirfd, const char *name,
                           const unsigned char digest[32], time_t now, long ttl)
{
    struct memo_slot *s;
    struct stat st;
    int same;

    pthread_mutex_lock(&memo_lock);
    s = slot_of(name);
    same = s != NULL && memcmp(s->digest, digest, sizeof(s->digest)) == 0
           && now >= s->written && now - s->written < ttl / 2;
    pthread_mutex_unlock(&memo_lock);
    if (!same || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0
        || !S_ISREG(st.st_mode)) {
        return 0;
    }
    pthread_mutex_lock(&memo_lock);
    s = slot_of(name);
    same = s != NULL && s->dev == st.st_dev && s->ino == st.st_ino
           && s->mtim.tv_sec == st.st_mtim.tv_sec
           && s->mtim.tv_nsec == st.st_mtim.tv_nsec;
    pthread_mutex_unlock(&memo_lock);
    return same;
}

void dsec_verdict_memo_note(const char *name, const unsigned char digest[32],
                            time_t now, const struct stat *st)
{
    struct memo_slot *s;

    if (strlen(name) >= sizeof(s->name)) {
        return;
    }
    pthread_mutex_lock(&memo_lock);
    s = slot_for(name);
    strcpy(s->name, name);
    memcpy(s->digest, digest, sizeof(s->digest));
    s->written = now;
    s->dev = st->st_dev;
    s->ino = st->st_ino;
    s->mtim = st->st_mtim;
    pthread_mutex_unlock(&memo_lock);
}

void dsec_verdict_memo_forget(const char *name)
{
    struct memo_slot *s;

    pthread_mutex_lock(&memo_lock);
    if ((s = slot_of(name)) != NULL) {
        s->name[0] = '\0';
    }
    pthread_mutex_unlock(&memo_lock);
}
