/* The README example: open, put, get, free. Usage: hello [DB_DIR] */
#include <stdio.h>
#include <kv.h>

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp/demo-db";
    if (kv_abi_version() != KV_ABI_VERSION) { fprintf(stderr, "libkv ABI mismatch\n"); return 1; }
    kv_db *db;
    if (kv_db_open(dir, NULL, &db) != KV_OK) { fprintf(stderr, "%s\n", kv_last_error_message()); return 1; }
    kv_db_put(db, (const uint8_t *)"greeting", 8, (const uint8_t *)"hello", 5);
    kv_buf v;
    if (kv_db_get(db, (const uint8_t *)"greeting", 8, &v) == KV_OK) { printf("%.*s\n", (int)v.len, (const char *)v.data); kv_buf_free(&v); }
    kv_db_free(db);  /* closes and frees */
    return 0;
}
