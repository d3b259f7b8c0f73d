/* Leaderboard (Redis pattern): ZADD scores, ZINCRBY a player, show the top
 * ten with ZREVRANGE 0 9 WITHSCORES, and a player's position with
 * ZREVRANK / ZRANK. Usage: leaderboard [DB_DIR] */
#include <stdio.h>
#include <string.h>
#include <kv.h>

#define KEY (const uint8_t *)"leaderboard", 11

static int fail(kv_db *db, const char *what) {
    fprintf(stderr, "%s: %s\n", what, kv_last_error_message());
    kv_db_free(db);
    return 1;
}

int main(int argc, char **argv) {
    /* The structs of kv.h are allocated here and filled by the library:
     * refuse to run against a library built for another layout. */
    if (kv_abi_version() != KV_ABI_VERSION) {
        fprintf(stderr, "libkv ABI version %u, but built for %u\n", (unsigned)kv_abi_version(), (unsigned)KV_ABI_VERSION);
        return 1;
    }
    kv_db *db;
    if (kv_db_open(argc > 1 ? argv[1] : "/tmp/leaderboard-db", NULL, &db) != KV_OK) {
        fprintf(stderr, "open: %s\n", kv_last_error_message());
        return 1;
    }
    /* Twelve players, one ZADD (one atomic write). */
    static const char *names[] = {"ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo", "kim", "lu"};
    enum { N = sizeof names / sizeof names[0] };
    double scores[N];
    kv_slice members[N];
    for (int i = 0; i < N; i++) {
        scores[i] = 100.0 * ((i * 7) % N);
        members[i].data = (const uint8_t *)names[i];
        members[i].len = strlen(names[i]);
    }
    kv_zadd_reply added;
    if (kv_zset_add(db, KEY, 0, scores, members, N, &added) != KV_OK) return fail(db, "zadd");

    /* A game ends: bob gains 950 points. */
    double bob = 0;
    if (kv_zset_incrby(db, KEY, 950, (const uint8_t *)"bob", 3, &bob) != KV_OK) return fail(db, "zincrby");

    /* ZREVRANGE leaderboard 0 9 WITHSCORES */
    kv_zset_entries *top;
    if (kv_zset_range_by_rank(db, KEY, 0, 9, true, &top) != KV_OK) return fail(db, "zrevrange");
    printf("top %zu of %llu players:\n", kv_zset_entries_len(top), (unsigned long long)added.count);
    for (size_t i = 0; i < kv_zset_entries_len(top); i++) {
        kv_slice name;
        double score;
        kv_zset_entries_get(top, i, &name, &score);
        printf("  %2zu. %-4.*s %6.0f\n", i + 1, (int)name.len, (const char *)name.data, score);
    }
    kv_slice first;
    kv_zset_entries_get(top, 0, &first, NULL);
    int bob_first = first.len == 3 && memcmp(first.data, "bob", 3) == 0;
    size_t shown = kv_zset_entries_len(top);
    kv_zset_entries_free(top);

    /* ZREVRANK / ZRANK WITHSCORE */
    uint64_t from_top = 0, from_bottom = 0;
    double score = 0;
    if (kv_zset_rank(db, KEY, (const uint8_t *)"eve", 3, true, &from_top, &score) != KV_OK) return fail(db, "zrevrank");
    if (kv_zset_rank(db, KEY, (const uint8_t *)"eve", 3, false, &from_bottom, NULL) != KV_OK) return fail(db, "zrank");
    printf("eve: %.0f points, #%llu from the top, #%llu from the bottom\n", score,
           (unsigned long long)from_top + 1, (unsigned long long)from_bottom + 1);
    uint64_t zed_rank;
    kv_status missing = kv_zset_rank(db, KEY, (const uint8_t *)"zed", 3, true, &zed_rank, NULL);
    printf("zed: %s\n", missing == KV_NOT_FOUND ? "not ranked" : "?");

    kv_db_free(db);
    return (bob_first && bob == 1650 && shown == 10 && from_top + from_bottom + 1 == N && missing == KV_NOT_FOUND) ? 0 : 1;
}
