//! Sorted-set commands in one-shot mode, printed as redis-cli prints RESP2.

mod common;

use common::{expect, expect_ttl, ok, test_dir};

#[test]
fn leaderboard_commands() {
    let t = test_dir();
    let d = &t.db;
    expect(d, &["zadd", "lb", "10", "alice", "20", "bob", "15", "carol"], "(integer) 3\n", 0);
    expect(d, &["zadd", "lb", "CH", "12", "alice", "1", "dave"], "(integer) 2\n", 0);
    expect(d, &["zadd", "lb", "NX", "99", "alice"], "(integer) 0\n", 0);
    expect(d, &["zadd", "lb", "XX", "INCR", "1", "nobody"], "(nil)\n", 0);
    expect(d, &["zadd", "lb", "GT", "INCR", "3", "alice"], "\"15\"\n", 0);
    expect(d, &["zcard", "lb"], "(integer) 4\n", 0);
    expect(
        d,
        &["zrange", "lb", "0", "-1", "withscores"],
        "1) \"dave\"\n2) \"1\"\n3) \"alice\"\n4) \"15\"\n5) \"carol\"\n6) \"15\"\n7) \"bob\"\n8) \"20\"\n",
        0,
    );
    expect(d, &["zrevrange", "lb", "0", "1", "WITHSCORES"], "1) \"bob\"\n2) \"20\"\n3) \"carol\"\n4) \"15\"\n", 0);
    expect(d, &["zrevrange", "lb", "0", "1"], "1) \"bob\"\n2) \"carol\"\n", 0);
    expect(d, &["zrank", "lb", "bob"], "(integer) 3\n", 0);
    expect(d, &["zrevrank", "lb", "bob"], "(integer) 0\n", 0);
    expect(d, &["zrank", "lb", "bob", "withscore"], "1) (integer) 3\n2) \"20\"\n", 0);
    expect(d, &["zrank", "lb", "nobody"], "(nil)\n", 0);
    expect(d, &["zscore", "lb", "alice"], "\"15\"\n", 0);
    expect(d, &["zscore", "lb", "nobody"], "(nil)\n", 0);
    expect(d, &["zmscore", "lb", "alice", "nobody"], "1) \"15\"\n2) (nil)\n", 0);
    expect(d, &["zincrby", "lb", "0.5", "dave"], "\"1.5\"\n", 0);
    expect(d, &["zcount", "lb", "(1.5", "+inf"], "(integer) 3\n", 0);
    expect(d, &["zrange", "lb", "(1.5", "20", "BYSCORE", "LIMIT", "1", "5"], "1) \"carol\"\n2) \"bob\"\n", 0);
    expect(
        d,
        &["zrange", "lb", "+inf", "-inf", "byscore", "rev", "limit", "0", "1", "withscores"],
        "1) \"bob\"\n2) \"20\"\n",
        0,
    );
    expect(d, &["zrangebyscore", "lb", "-inf", "(15", "WITHSCORES"], "1) \"dave\"\n2) \"1.5\"\n", 0);
    expect(d, &["zrevrangebyscore", "lb", "+inf", "15", "LIMIT", "0", "2"], "1) \"bob\"\n2) \"carol\"\n", 0);
    expect(d, &["zrem", "lb", "dave", "nobody"], "(integer) 1\n", 0);
    expect(d, &["zpopmin", "lb"], "1) \"alice\"\n2) \"15\"\n", 0);
    expect(d, &["zpopmax", "lb", "5"], "1) \"bob\"\n2) \"20\"\n3) \"carol\"\n4) \"15\"\n", 0);
    expect(d, &["zpopmin", "lb"], "(empty array)\n", 0);
    expect(d, &["zrange", "lb", "0", "-1"], "(empty array)\n", 0);
    expect(d, &["exists", "lb"], "(integer) 0\n", 0);
}

#[test]
fn lex_ranges_store_and_removal() {
    let t = test_dir();
    let d = &t.db;
    ok(d, &["zadd", "l", "0", "a", "0", "b", "0", "c", "0", "d"]);
    expect(d, &["zrange", "l", "[b", "(d", "BYLEX"], "1) \"b\"\n2) \"c\"\n", 0);
    expect(d, &["zrangebylex", "l", "-", "+", "LIMIT", "1", "2"], "1) \"b\"\n2) \"c\"\n", 0);
    expect(d, &["zrevrangebylex", "l", "+", "[c"], "1) \"d\"\n2) \"c\"\n", 0);
    expect(d, &["zlexcount", "l", "-", "+"], "(integer) 4\n", 0);
    expect(
        d,
        &["zrange", "l", "-", "+", "BYLEX", "WITHSCORES"],
        "(error) ERR syntax error, WITHSCORES not supported in combination with BYLEX\n",
        2,
    );
    expect(
        d,
        &["zrange", "l", "0", "1", "LIMIT", "0", "1"],
        "(error) ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\n",
        2,
    );
    expect(d, &["zremrangebylex", "l", "[a", "[b"], "(integer) 2\n", 0);
    ok(d, &["zadd", "m", "1", "c", "5", "x"]);
    expect(d, &["zunionstore", "u", "2", "l", "m", "WEIGHTS", "1", "2"], "(integer) 3\n", 0);
    expect(
        d,
        &["zrange", "u", "0", "-1", "WITHSCORES"],
        "1) \"d\"\n2) \"0\"\n3) \"c\"\n4) \"2\"\n5) \"x\"\n6) \"10\"\n",
        0,
    );
    expect(d, &["zinterstore", "i", "2", "l", "m", "AGGREGATE", "MAX"], "(integer) 1\n", 0);
    expect(d, &["zdiffstore", "df", "2", "m", "l"], "(integer) 1\n", 0);
    expect(d, &["zremrangebyscore", "u", "(0", "2"], "(integer) 1\n", 0);
    expect(d, &["zremrangebyrank", "u", "0", "0"], "(integer) 1\n", 0);
    expect(d, &["zrandmember", "df"], "\"x\"\n", 0);
    expect(d, &["zrandmember", "df", "1", "WITHSCORES"], "1) \"x\"\n2) \"5\"\n", 0);
    expect(d, &["zadd", "m", "x"], "(error) ERR wrong number of arguments for 'zadd' command\n", 2);
    expect(d, &["zadd", "m", "1", "x", "2"], "(error) ERR syntax error\n", 2);
    expect(d, &["zadd", "m", "one", "x"], "(error) ERR value is not a valid float\n", 2);
    expect(
        d,
        &["zadd", "m", "NX", "XX", "1", "x"],
        "(error) ERR XX and NX options at the same time are not compatible\n",
        2,
    );
    ok(d, &["set", "s", "v"]);
    expect(
        d,
        &["zadd", "s", "1", "x"],
        "(error) WRONGTYPE Operation against a key holding the wrong kind of value\n",
        1,
    );
}

#[test]
fn sorted_set_ttl_and_persistence_across_invocations() {
    let t = test_dir();
    let d = &t.db;
    ok(d, &["zadd", "z", "1", "a"]);
    let set_at = std::time::Instant::now();
    expect(d, &["expire", "z", "100"], "(integer) 1\n", 0);
    expect_ttl(d, "z", 100, set_at);
    expect(d, &["persist", "z"], "(integer) 1\n", 0);
    expect(d, &["pexpire", "z", "1"], "(integer) 1\n", 0);
    std::thread::sleep(std::time::Duration::from_millis(20));
    expect(d, &["zcard", "z"], "(integer) 0\n", 0);
}
