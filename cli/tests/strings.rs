//! One-shot mode: every keyspace and string command, output exactly as
//! redis-cli prints it, and the exit codes.

mod common;

use common::{expect, expect_ttl, kv, ok, test_dir};
use predicates::prelude::*;

#[test]
fn set_get_del_exists_print_like_redis_cli() {
    let t = test_dir();
    let d = &t.db;
    expect(d, &["set", "k", "hello world"], "OK\n", 0);
    expect(d, &["get", "k"], "\"hello world\"\n", 0);
    expect(d, &["GET", "missing"], "(nil)\n", 0);
    expect(d, &["set", "k", "v2", "NX"], "(nil)\n", 0);
    expect(d, &["set", "k", "v2", "xx", "GET"], "\"hello world\"\n", 0);
    expect(d, &["exists", "k", "k", "nope"], "(integer) 2\n", 0);
    expect(d, &["del", "k", "nope"], "(integer) 1\n", 0);
    expect(d, &["exists", "k"], "(integer) 0\n", 0);
    expect(d, &["set", "bin", "a\"b\\c\n"], "OK\n", 0);
    expect(d, &["get", "bin"], "\"a\\\"b\\\\c\\n\"\n", 0);
    expect(d, &["setnx", "n", "1"], "(integer) 1\n", 0);
    expect(d, &["setnx", "n", "2"], "(integer) 0\n", 0);
    expect(d, &["getset", "n", "3"], "\"1\"\n", 0);
    expect(d, &["getdel", "n"], "\"3\"\n", 0);
    expect(d, &["getdel", "n"], "(nil)\n", 0);
    expect(d, &["type", "bin"], "string\n", 0);
    expect(d, &["type", "nothing"], "none\n", 0);
}

#[test]
fn ttl_family() {
    let t = test_dir();
    let d = &t.db;
    let set_at = std::time::Instant::now();
    expect(d, &["set", "s", "v", "EX", "60", "NX"], "OK\n", 0);
    expect_ttl(d, "s", 60, set_at);
    let pttl = ok(d, &["pttl", "s"]);
    let ms: i64 = pttl.trim().strip_prefix("(integer) ").unwrap().parse().unwrap();
    let elapsed_ms = set_at.elapsed().as_millis() as i64 + 1;
    assert!((60_000 - elapsed_ms..=60_000).contains(&ms), "{pttl} after {elapsed_ms} ms");
    expect(d, &["expire", "s", "100", "NX"], "(integer) 0\n", 0);
    let set_at = std::time::Instant::now();
    expect(d, &["expire", "s", "100", "GT"], "(integer) 1\n", 0);
    expect_ttl(d, "s", 100, set_at);
    expect(d, &["persist", "s"], "(integer) 1\n", 0);
    expect(d, &["ttl", "s"], "(integer) -1\n", 0);
    expect(d, &["ttl", "missing"], "(integer) -2\n", 0);
    expect(d, &["pexpire", "s", "50000"], "(integer) 1\n", 0);
    expect(d, &["expireat", "s", "4102444800"], "(integer) 1\n", 0);
    expect(d, &["expiretime", "s"], "(integer) 4102444800\n", 0);
    expect(d, &["pexpiretime", "s"], "(integer) 4102444800000\n", 0);
    expect(d, &["getex", "s", "PERSIST"], "\"v\"\n", 0);
    expect(d, &["ttl", "s"], "(integer) -1\n", 0);
    let set_at = std::time::Instant::now();
    expect(d, &["getex", "s", "EX", "30"], "\"v\"\n", 0);
    expect_ttl(d, "s", 30, set_at);
    let set_at = std::time::Instant::now();
    expect(d, &["setex", "e", "40", "x"], "OK\n", 0);
    expect_ttl(d, "e", 40, set_at);
    expect(d, &["psetex", "p", "1", "x"], "OK\n", 0);
    std::thread::sleep(std::time::Duration::from_millis(20));
    expect(d, &["get", "p"], "(nil)\n", 0);
    expect(d, &["set", "k", "v", "EX", "0"], "(error) ERR invalid expire time in 'set' command\n", 1);
    expect(
        d,
        &["expire", "s", "10", "NX", "XX"],
        "(error) ERR NX and XX, GT or LT options at the same time are not compatible\n",
        2,
    );
}

#[test]
fn counters_and_string_ops() {
    let t = test_dir();
    let d = &t.db;
    expect(d, &["incr", "c"], "(integer) 1\n", 0);
    expect(d, &["incrby", "c", "41"], "(integer) 42\n", 0);
    expect(d, &["decr", "c"], "(integer) 41\n", 0);
    expect(d, &["decrby", "c", "-9"], "(integer) 50\n", 0);
    expect(d, &["incrbyfloat", "f", "10.5"], "\"10.5\"\n", 0);
    expect(d, &["incrbyfloat", "f", "0.1"], "\"10.6\"\n", 0);
    expect(d, &["set", "s", "abc"], "OK\n", 0);
    expect(d, &["incr", "s"], "(error) ERR value is not an integer or out of range\n", 1);
    expect(d, &["incrby", "c", "x"], "(error) ERR value is not an integer or out of range\n", 2);
    expect(d, &["append", "s", "def"], "(integer) 6\n", 0);
    expect(d, &["strlen", "s"], "(integer) 6\n", 0);
    expect(d, &["getrange", "s", "1", "-2"], "\"bcde\"\n", 0);
    expect(d, &["setrange", "s", "1", "XY"], "(integer) 6\n", 0);
    expect(d, &["get", "s"], "\"aXYdef\"\n", 0);
    expect(d, &["mset", "a", "1", "b", "2"], "OK\n", 0);
    expect(d, &["mget", "a", "nope", "b"], "1) \"1\"\n2) (nil)\n3) \"2\"\n", 0);
    expect(d, &["msetnx", "a", "9", "z", "9"], "(integer) 0\n", 0);
    expect(d, &["mset", "a"], "(error) ERR wrong number of arguments for 'mset' command\n", 2);
    expect(d, &["mset", "a", "1", "b"], "(error) ERR wrong number of arguments for 'mset' command\n", 2);
}

#[test]
fn keys_is_a_sorted_prefix_listing_and_dbsize_counts() {
    let t = test_dir();
    let d = &t.db;
    expect(d, &["keys", "x"], "(empty array)\n", 0);
    ok(d, &["mset", "user:2", "b", "user:1", "a", "order:1", "c"]);
    expect(d, &["keys", "user:"], "1) \"user:1\"\n2) \"user:2\"\n", 0);
    expect(d, &["keys", "user:*"], "1) \"user:1\"\n2) \"user:2\"\n", 0);
    expect(d, &["keys"], "1) \"order:1\"\n2) \"user:1\"\n3) \"user:2\"\n", 0);
    expect(d, &["dbsize"], "(integer) 3\n", 0);
    // Ten or more elements: indexes are right-aligned.
    for i in 0..10 {
        ok(d, &["set", &format!("n{i:02}"), "x"]);
    }
    let out = ok(d, &["keys", "n"]);
    assert!(out.starts_with(" 1) \"n00\"\n"), "{out}");
    assert!(out.ends_with("10) \"n09\"\n"), "{out}");
}

#[test]
fn compare_and_swap_and_delete_release_only_the_owners_lock() {
    let t = test_dir();
    let d = &t.db;
    expect(d, &["set", "lock:job", "owner-a", "NX", "PX", "30000"], "OK\n", 0);
    expect(d, &["set", "lock:job", "owner-b", "NX", "PX", "30000"], "(nil)\n", 0);
    expect(d, &["cad", "lock:job", "owner-b"], "(integer) 0\n", 0);
    expect(d, &["get", "lock:job"], "\"owner-a\"\n", 0);
    expect(d, &["cas", "lock:job", "owner-a", "owner-a", "KEEPTTL"], "(integer) 1\n", 0);
    let ttl = ok(d, &["pttl", "lock:job"]);
    assert_ne!(ttl, "(integer) -1\n", "KEEPTTL kept the expiry");
    expect(d, &["cas", "lock:job", "nope", "x"], "(integer) 0\n", 0);
    expect(d, &["cad", "lock:job", "owner-a"], "(integer) 1\n", 0);
    expect(d, &["exists", "lock:job"], "(integer) 0\n", 0);
    expect(d, &["cas", "k", "a", "b", "EX"], "(error) ERR syntax error\n", 2);
}

#[test]
fn bad_arguments_exit_2_with_redis_messages() {
    let t = test_dir();
    let d = &t.db;
    expect(d, &["get"], "(error) ERR wrong number of arguments for 'get' command\n", 2);
    expect(d, &["frobnicate", "a"], "(error) ERR unknown command 'frobnicate', with args beginning with: 'a'\n", 2);
    expect(d, &["set", "k", "v", "NX", "XX"], "(error) ERR syntax error\n", 2);
    expect(d, &["set", "k", "v", "EX", "ten"], "(error) ERR value is not an integer or out of range\n", 2);
    kv(d, &["--fsync", "sometimes", "get", "k"]).assert().code(2);
    // No directory at all.
    let mut c = assert_cmd::Command::cargo_bin("kv").unwrap();
    c.env_remove("KV_DIR").args(["get", "k"]).assert().code(2).stdout(predicate::str::contains("--dir"));
}

#[test]
fn wrongtype_is_an_error_reply_with_exit_1() {
    let t = test_dir();
    let d = &t.db;
    ok(d, &["zadd", "z", "1", "a"]);
    expect(d, &["get", "z"], "(error) WRONGTYPE Operation against a key holding the wrong kind of value\n", 1);
    expect(d, &["type", "z"], "zset\n", 0);
}

#[test]
fn json_and_raw_output() {
    let t = test_dir();
    let d = &t.db;
    ok(d, &["mset", "a", "1", "b", "two"]);
    expect(d, &["--json", "mget", "a", "b", "c"], "[\"1\",\"two\",null]\n", 0);
    expect(d, &["--json", "incr", "a"], "2\n", 0);
    expect(d, &["--json", "set", "a", "x"], "\"OK\"\n", 0);
    expect(d, &["--raw", "mget", "a", "b"], "x\ntwo\n", 0);
    expect(d, &["--json", "incr", "b"], "{\"error\":\"ERR value is not an integer or out of range\"}\n", 1);
    let stats = ok(d, &["--json", "stats"]);
    let v: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(v["keyspace"]["keys"], 2, "{stats}");
}

#[test]
fn help_lists_commands_and_exit_codes() {
    let mut c = assert_cmd::Command::cargo_bin("kv").unwrap();
    c.arg("--help").assert().success().stdout(
        predicate::str::contains("Exit codes:")
            .and(predicate::str::contains("3  the database directory is locked"))
            .and(predicate::str::contains("not a glob")),
    );
    let t = test_dir();
    kv(&t.db, &["help"]).assert().success().stdout(
        predicate::str::contains("ZREVRANGE")
            .and(predicate::str::contains("CAD"))
            .and(predicate::str::contains("VERIFY")),
    );
    kv(&t.db, &["help", "KEYS"]).assert().success().stdout(predicate::str::contains("not a glob"));
}
