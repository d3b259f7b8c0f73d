//! Sorted-set entries of the command table and their parse + execute step,
//! with RESP2 replies as `redis-cli` shows them (scores as bulk strings,
//! `WITHSCORES` as a flat member/score list).

use kv_engine::zset::{format_score, parse_score, Aggregate, ZAddFlags, ZAddReply, ZRangeArgs, ZRangeKind};
use kv_engine::Db;

use crate::commands::{int, reply_of, spec, CommandSpec, Group};
use crate::failure::Failure;
use crate::reply::Reply;

use Group::SortedSet as Z;

/// The sorted-set entries of the command table.
pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "zadd",
        "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]",
        "Add members or update their scores",
        Z,
        3,
        None,
    ),
    spec("zincrby", "key increment member", "Add to a member's score", Z, 3, Some(3)),
    spec("zrem", "key member [member ...]", "Remove members", Z, 2, None),
    spec("zscore", "key member", "A member's score", Z, 2, Some(2)),
    spec("zmscore", "key member [member ...]", "Several members' scores", Z, 2, None),
    spec("zcard", "key", "Number of members", Z, 1, Some(1)),
    spec("zcount", "key min max", "Members with a score in [min, max] ('(' excludes, -inf/+inf)", Z, 3, Some(3)),
    spec("zlexcount", "key min max", "Members in a lexicographic range ([a (a - +)", Z, 3, Some(3)),
    spec("zrank", "key member [WITHSCORE]", "Rank by ascending score (0-based)", Z, 2, Some(3)),
    spec("zrevrank", "key member [WITHSCORE]", "Rank by descending score (0-based)", Z, 2, Some(3)),
    spec(
        "zrange",
        "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]",
        "Members by rank, score or lexicographic range",
        Z,
        3,
        None,
    ),
    spec("zrevrange", "key start stop [WITHSCORES]", "Members by rank, highest score first", Z, 3, Some(4)),
    spec("zrangebyscore", "key min max [WITHSCORES] [LIMIT offset count]", "Members by score", Z, 3, Some(7)),
    spec(
        "zrevrangebyscore",
        "key max min [WITHSCORES] [LIMIT offset count]",
        "Members by score, highest first",
        Z,
        3,
        Some(7),
    ),
    spec("zrangebylex", "key min max [LIMIT offset count]", "Members by lexicographic range", Z, 3, Some(6)),
    spec(
        "zrevrangebylex",
        "key max min [LIMIT offset count]",
        "Members by lexicographic range, reversed",
        Z,
        3,
        Some(6),
    ),
    spec("zpopmin", "key [count]", "Remove and return the lowest-scored members", Z, 1, Some(2)),
    spec("zpopmax", "key [count]", "Remove and return the highest-scored members", Z, 1, Some(2)),
    spec("zremrangebyrank", "key start stop", "Remove members by rank", Z, 3, Some(3)),
    spec("zremrangebyscore", "key min max", "Remove members by score", Z, 3, Some(3)),
    spec("zremrangebylex", "key min max", "Remove members by lexicographic range", Z, 3, Some(3)),
    spec("zrandmember", "key [count [WITHSCORES]]", "Random members", Z, 1, Some(3)),
    spec(
        "zunionstore",
        "dest numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]",
        "Store a union",
        Z,
        3,
        None,
    ),
    spec(
        "zinterstore",
        "dest numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]",
        "Store an intersection",
        Z,
        3,
        None,
    ),
    spec("zdiffstore", "dest numkeys key [key ...]", "Store a difference", Z, 3, None),
];

fn score_arg(arg: &[u8]) -> Result<f64, Failure> {
    parse_score(arg).map_err(Failure::from)
}

fn score_reply(s: f64) -> Reply {
    Reply::bulk(format_score(s))
}

/// Members (and scores if `withscores`) as RESP2's flat list.
fn members_reply(items: Vec<(Vec<u8>, f64)>, withscores: bool) -> Reply {
    let mut out = Vec::with_capacity(items.len() * if withscores { 2 } else { 1 });
    for (m, s) in items {
        out.push(Reply::Bulk(m));
        if withscores {
            out.push(score_reply(s));
        }
    }
    Reply::Array(out)
}

fn count_reply(n: u64) -> Reply {
    Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Parses `[WITHSCORES] [LIMIT offset count]` (any order) of the old
/// range commands.
fn parse_range_tail(a: &[Vec<u8>], allow_withscores: bool) -> Result<(bool, Option<(i64, i64)>), Failure> {
    let (mut withscores, mut limit) = (false, None);
    let mut i = 0;
    while i < a.len() {
        if allow_withscores && a[i].eq_ignore_ascii_case(b"WITHSCORES") {
            withscores = true;
        } else if a[i].eq_ignore_ascii_case(b"LIMIT") && i + 2 < a.len() {
            limit = Some((int(&a[i + 1])?, int(&a[i + 2])?));
            i += 2;
        } else {
            return Err(Failure::syntax());
        }
        i += 1;
    }
    Ok((withscores, limit))
}

/// `ZRANGE`'s options: selection kind, `REV`, `LIMIT`, `WITHSCORES`.
type ZRangeOptions = (ZRangeKind, bool, Option<(i64, i64)>, bool);

/// The inputs of a store command: keys, `WEIGHTS`, `AGGREGATE`.
type StoreArgs = (Vec<Vec<u8>>, Option<Vec<f64>>, Aggregate);

/// `ZRANGE`'s options after `key start stop`.
fn parse_zrange(a: &[Vec<u8>]) -> Result<ZRangeOptions, Failure> {
    let (mut kind, mut rev, mut limit, mut withscores) = (ZRangeKind::Rank, false, None, false);
    let mut i = 0;
    while i < a.len() {
        let w = a[i].to_ascii_uppercase();
        match w.as_slice() {
            b"BYSCORE" => kind = ZRangeKind::Score,
            b"BYLEX" => kind = ZRangeKind::Lex,
            b"REV" => rev = true,
            b"WITHSCORES" => withscores = true,
            b"LIMIT" if i + 2 < a.len() => {
                limit = Some((int(&a[i + 1])?, int(&a[i + 2])?));
                i += 2;
            }
            _ => return Err(Failure::syntax()),
        }
        i += 1;
    }
    if withscores && kind == ZRangeKind::Lex {
        return Err(Failure::Usage("ERR syntax error, WITHSCORES not supported in combination with BYLEX".into()));
    }
    Ok((kind, rev, limit, withscores))
}

/// `numkeys key ... [WEIGHTS ...] [AGGREGATE ...]` of the store commands.
fn parse_store(name: &str, a: &[Vec<u8>]) -> Result<StoreArgs, Failure> {
    let n = int(&a[0])?;
    if n <= 0 {
        return Err(Failure::Usage(format!("ERR at least 1 input key is needed for '{name}' command")));
    }
    let n = n as usize;
    let keys = a.get(1..=n).ok_or_else(Failure::syntax)?.to_vec();
    let (mut weights, mut agg) = (None, Aggregate::Sum);
    let mut i = n + 1;
    while i < a.len() {
        let w = a[i].to_ascii_uppercase();
        match w.as_slice() {
            b"WEIGHTS" if name != "zdiffstore" => {
                let ws = a.get(i + 1..i + 1 + n).ok_or_else(Failure::syntax)?;
                let parsed = ws
                    .iter()
                    .map(|w| parse_score(w).map_err(|_| Failure::Usage("ERR weight value is not a float".into())))
                    .collect::<Result<Vec<f64>, Failure>>()?;
                weights = Some(parsed);
                i += n;
            }
            b"AGGREGATE" if name != "zdiffstore" => {
                let v = a.get(i + 1).ok_or_else(Failure::syntax)?.to_ascii_uppercase();
                agg = match v.as_slice() {
                    b"SUM" => Aggregate::Sum,
                    b"MIN" => Aggregate::Min,
                    b"MAX" => Aggregate::Max,
                    _ => return Err(Failure::syntax()),
                };
                i += 1;
            }
            _ => return Err(Failure::syntax()),
        }
        i += 1;
    }
    Ok((keys, weights, agg))
}

/// Runs a sorted-set command (arity already checked).
pub fn execute(db: &Db, name: &str, a: &[Vec<u8>]) -> Result<Reply, Failure> {
    let key = a[0].as_slice();
    let r: kv_engine::Result<Reply> = match name {
        "zadd" => {
            let mut flags = ZAddFlags::default();
            let mut i = 1;
            while i < a.len() {
                let w = a[i].to_ascii_uppercase();
                match w.as_slice() {
                    b"NX" => flags.nx = true,
                    b"XX" => flags.xx = true,
                    b"GT" => flags.gt = true,
                    b"LT" => flags.lt = true,
                    b"CH" => flags.ch = true,
                    b"INCR" => flags.incr = true,
                    _ => break,
                }
                i += 1;
            }
            let rest = &a[i..];
            if rest.is_empty() || !rest.len().is_multiple_of(2) {
                return Err(Failure::syntax());
            }
            flags.validate(rest.len() / 2)?;
            let pairs = rest
                .chunks_exact(2)
                .map(|p| Ok((score_arg(&p[0])?, p[1].as_slice())))
                .collect::<Result<Vec<(f64, &[u8])>, Failure>>()?;
            db.zadd_with(key, flags, &pairs).map(|r| match r {
                ZAddReply::Count(n) => count_reply(n),
                ZAddReply::Score(s) => s.map_or(Reply::Nil, score_reply),
            })
        }
        "zincrby" => {
            let inc = score_arg(&a[1])?;
            db.zincrby(key, inc, &a[2]).map(score_reply)
        }
        "zrem" => {
            let members: Vec<&[u8]> = a[1..].iter().map(Vec::as_slice).collect();
            db.zrem(key, &members).map(count_reply)
        }
        "zscore" => db.zscore(key, &a[1]).map(|s| s.map_or(Reply::Nil, score_reply)),
        "zmscore" => {
            let members: Vec<&[u8]> = a[1..].iter().map(Vec::as_slice).collect();
            db.zmscore(key, &members)
                .map(|v| Reply::Array(v.into_iter().map(|s| s.map_or(Reply::Nil, score_reply)).collect()))
        }
        "zcard" => db.zcard(key).map(count_reply),
        "zcount" => db.zcount(key, &a[1], &a[2]).map(count_reply),
        "zlexcount" => db.zlexcount(key, &a[1], &a[2]).map(count_reply),
        "zrank" | "zrevrank" => {
            let withscore = match a.get(2) {
                None => false,
                Some(w) if w.eq_ignore_ascii_case(b"WITHSCORE") => true,
                Some(_) => return Err(Failure::syntax()),
            };
            db.zrank_with_score(key, &a[1], name == "zrevrank").map(|r| match r {
                None => Reply::Nil,
                Some((rank, s)) if withscore => Reply::Array(vec![count_reply(rank), score_reply(s)]),
                Some((rank, _)) => count_reply(rank),
            })
        }
        "zrange" => {
            let (kind, rev, limit, withscores) = parse_zrange(&a[3..])?;
            let args = ZRangeArgs::parse(kind, &a[1], &a[2], rev, limit)?;
            db.zrange(key, &args).map(|v| members_reply(v, withscores))
        }
        "zrevrange" => {
            let withscores = match a.get(3) {
                None => false,
                Some(w) if w.eq_ignore_ascii_case(b"WITHSCORES") => true,
                Some(_) => return Err(Failure::syntax()),
            };
            let args = ZRangeArgs::parse(ZRangeKind::Rank, &a[1], &a[2], true, None)?;
            db.zrange(key, &args).map(|v| members_reply(v, withscores))
        }
        "zrangebyscore" | "zrevrangebyscore" => {
            let (withscores, limit) = parse_range_tail(&a[3..], true)?;
            let args = ZRangeArgs::parse(ZRangeKind::Score, &a[1], &a[2], name == "zrevrangebyscore", limit)?;
            db.zrange(key, &args).map(|v| members_reply(v, withscores))
        }
        "zrangebylex" | "zrevrangebylex" => {
            let (_, limit) = parse_range_tail(&a[3..], false)?;
            let args = ZRangeArgs::parse(ZRangeKind::Lex, &a[1], &a[2], name == "zrevrangebylex", limit)?;
            db.zrange(key, &args).map(|v| members_reply(v, false))
        }
        "zpopmin" | "zpopmax" => {
            let count = match a.get(1) {
                None => 1,
                Some(c) => u64::try_from(int(c)?)
                    .map_err(|_| Failure::Usage("ERR value is out of range, must be positive".into()))?,
            };
            let r = if name == "zpopmin" { db.zpopmin(key, count) } else { db.zpopmax(key, count) };
            r.map(|v| members_reply(v, true))
        }
        "zremrangebyrank" => {
            let (start, stop) = (int(&a[1])?, int(&a[2])?);
            db.zremrangebyrank(key, start, stop).map(count_reply)
        }
        "zremrangebyscore" => db.zremrangebyscore(key, &a[1], &a[2]).map(count_reply),
        "zremrangebylex" => db.zremrangebylex(key, &a[1], &a[2]).map(count_reply),
        "zrandmember" => match a.get(1) {
            None => db.zrandmember(key).map(Reply::opt_bulk),
            Some(c) => {
                let count = int(c)?;
                let withscores = match a.get(2) {
                    None => false,
                    Some(w) if w.eq_ignore_ascii_case(b"WITHSCORES") => true,
                    Some(_) => return Err(Failure::syntax()),
                };
                db.zrandmember_count(key, count, withscores).map(|v| members_reply(v, withscores))
            }
        },
        "zunionstore" | "zinterstore" | "zdiffstore" => {
            let (keys, weights, agg) = parse_store(name, &a[1..])?;
            let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            match name {
                "zunionstore" => db.zunionstore(key, &keys, weights.as_deref(), agg),
                "zinterstore" => db.zinterstore(key, &keys, weights.as_deref(), agg),
                _ => db.zdiffstore(key, &keys),
            }
            .map(count_reply)
        }
        other => return Err(Failure::Other(format!("command '{other}' is in the table but not implemented"))),
    };
    reply_of(r)
}
