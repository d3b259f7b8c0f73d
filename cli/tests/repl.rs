//! The REPL driven through a pipe: one command per line, the same command
//! table and output as one-shot mode.

mod common;

use common::{kv, test_dir};
use predicates::prelude::*;

#[test]
fn piped_commands_run_in_order_and_print_like_redis_cli() {
    let t = test_dir();
    let input = "set greeting \"hello world\"\n\
                 GET greeting\n\
                 \n\
                 incr hits\n\
                 incr hits\n\
                 zadd lb 10 alice 20 bob\n\
                 zrevrange lb 0 9 withscores\n\
                 get\n\
                 set k \"unbalanced\n\
                 nosuchcommand\n\
                 set 'it''s' x\n\
                 get nothing\n\
                 quit\n\
                 get greeting\n";
    kv(&t.db, &[]).write_stdin(input).assert().success().stdout(
        "OK\n\
         \"hello world\"\n\
         (integer) 1\n\
         (integer) 2\n\
         (integer) 2\n\
         1) \"bob\"\n2) \"20\"\n3) \"alice\"\n4) \"10\"\n\
         (error) ERR wrong number of arguments for 'get' command\n\
         Invalid argument(s)\n\
         (error) ERR unknown command 'nosuchcommand', with args beginning with: \n\
         Invalid argument(s)\n\
         (nil)\n",
    );
    // The writes are durable and visible to the next process.
    kv(&t.db, &["get", "hits"]).assert().success().stdout("\"2\"\n");
}

#[test]
fn help_works_in_the_repl_and_end_of_input_quits() {
    let t = test_dir();
    kv(&t.db, &[])
        .write_stdin("help set\nhelp\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("SET key value [NX|XX]").and(predicate::str::contains("Sorted sets:")));
}

#[test]
fn repl_on_a_locked_directory_exits_3() {
    let t = test_dir();
    let _held = kv_engine::Db::open(&t.db, kv_engine::Options::default()).unwrap();
    kv(&t.db, &[]).write_stdin("get k\n").assert().code(3).stderr(predicate::str::contains("is locked"));
}

#[test]
fn repl_json_mode() {
    let t = test_dir();
    kv(&t.db, &["--json"]).write_stdin("set a 1\nmget a b\n").assert().success().stdout("\"OK\"\n[\"1\",null]\n");
}
