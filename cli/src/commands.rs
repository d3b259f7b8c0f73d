//! The command table shared by one-shot mode and the REPL, and the parse +
//! execute step that turns an argument vector into a [`Reply`].
//!
//! Names are matched case-insensitively. Errors found in the arguments
//! before the database is touched are [`Failure::Usage`] (exit code 2);
//! errors the database returns (`WRONGTYPE`, not an integer, ...) are
//! [`Reply::Error`] replies, exactly what Redis would reply.

use std::path::PathBuf;

use kv_engine::{Condition, Db, Error, ExpireCondition, Expiry, Fsync, GetExOption, Options, SetOptions};

use crate::failure::Failure;
use crate::reply::Reply;

/// Which help section a command is listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Keys of any type: DEL, EXISTS, TTL, KEYS, ...
    Keyspace,
    /// String commands.
    String,
    /// Sorted-set commands.
    SortedSet,
    /// Operations on the whole database: stats, verify, dump, ...
    Ops,
}

impl Group {
    /// Section title in `help`.
    pub fn title(self) -> &'static str {
        match self {
            Group::Keyspace => "Keys",
            Group::String => "Strings",
            Group::SortedSet => "Sorted sets",
            Group::Ops => "Operations",
        }
    }
}

/// One entry of the command table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Argument syntax after the name.
    pub syntax: &'static str,
    /// One line of description.
    pub summary: &'static str,
    /// Help section.
    pub group: Group,
    /// Fewest arguments after the name.
    pub min_args: usize,
    /// Most arguments after the name (`None`: unbounded).
    pub max_args: Option<usize>,
}

/// Builds a table entry.
pub(crate) const fn spec(
    name: &'static str,
    syntax: &'static str,
    summary: &'static str,
    group: Group,
    min_args: usize,
    max_args: Option<usize>,
) -> CommandSpec {
    CommandSpec { name, syntax, summary, group, min_args, max_args }
}

use Group::{Keyspace as K, Ops as O, String as S};

/// Every command, in help order.
pub static COMMANDS: &[CommandSpec] = &[
    spec("del", "key [key ...]", "Delete keys; replies how many existed", K, 1, None),
    spec("exists", "key [key ...]", "How many of the keys exist (a repeated key counts again)", K, 1, None),
    spec("type", "key", "The type of a key: string, zset or none", K, 1, Some(1)),
    spec(
        "keys",
        "[prefix]",
        "Keys starting with PREFIX, sorted. A prefix, not a glob: a trailing '*' is ignored",
        K,
        0,
        Some(1),
    ),
    spec("dbsize", "", "Number of live keys", K, 0, Some(0)),
    spec("expire", "key seconds [NX|XX|GT|LT]", "Set a key's time to live in seconds", K, 2, Some(4)),
    spec("pexpire", "key milliseconds [NX|XX|GT|LT]", "Set a key's time to live in milliseconds", K, 2, Some(4)),
    spec("expireat", "key unix-seconds [NX|XX|GT|LT]", "Set a key's expiry as a Unix time", K, 2, Some(4)),
    spec("pexpireat", "key unix-ms [NX|XX|GT|LT]", "Set a key's expiry as a Unix time in ms", K, 2, Some(4)),
    spec("ttl", "key", "Seconds to live; -1 without expiry, -2 if missing", K, 1, Some(1)),
    spec("pttl", "key", "Milliseconds to live; -1 without expiry, -2 if missing", K, 1, Some(1)),
    spec("expiretime", "key", "Expiry as a Unix time in seconds", K, 1, Some(1)),
    spec("pexpiretime", "key", "Expiry as a Unix time in ms", K, 1, Some(1)),
    spec("persist", "key", "Remove a key's expiry", K, 1, Some(1)),
    spec("set", "key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]", "Set a string value", S, 2, None),
    spec("setnx", "key value", "Set only if the key does not exist", S, 2, Some(2)),
    spec("setex", "key seconds value", "Set with a time to live in seconds", S, 3, Some(3)),
    spec("psetex", "key milliseconds value", "Set with a time to live in ms", S, 3, Some(3)),
    spec("getset", "key value", "Set and return the old value", S, 2, Some(2)),
    spec("get", "key", "Get the value of a key", S, 1, Some(1)),
    spec("getex", "key [EX s|PX ms|EXAT t|PXAT t|PERSIST]", "Get the value and change its expiry", S, 1, Some(3)),
    spec("getdel", "key", "Get the value and delete the key", S, 1, Some(1)),
    spec("mget", "key [key ...]", "Get several values", S, 1, None),
    spec("mset", "key value [key value ...]", "Set several keys atomically", S, 2, None),
    spec("msetnx", "key value [key value ...]", "Set several keys atomically if none exists", S, 2, None),
    spec("append", "key value", "Append to a value; replies the new length", S, 2, Some(2)),
    spec("strlen", "key", "Length of a value", S, 1, Some(1)),
    spec("getrange", "key start end", "Substring (inclusive; negative counts from the end)", S, 3, Some(3)),
    spec("setrange", "key offset value", "Overwrite part of a value", S, 3, Some(3)),
    spec("incr", "key", "Add 1 to an integer value", S, 1, Some(1)),
    spec("decr", "key", "Subtract 1 from an integer value", S, 1, Some(1)),
    spec("incrby", "key increment", "Add to an integer value", S, 2, Some(2)),
    spec("decrby", "key decrement", "Subtract from an integer value", S, 2, Some(2)),
    spec("incrbyfloat", "key increment", "Add to a float value", S, 2, Some(2)),
    spec(
        "cas",
        "key expected new [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]",
        "Compare-and-swap: set to NEW only if the value is EXPECTED; 1 if it did",
        S,
        3,
        Some(5),
    ),
    spec(
        "cad",
        "key expected",
        "Compare-and-delete: delete only if the value is EXPECTED (safe lock release)",
        S,
        2,
        Some(2),
    ),
    spec("stats", "", "INFO-style report: keyspace, persistence, counters", O, 0, Some(0)),
    spec(
        "verify",
        "",
        "Check every record's checksum (read only); exit 4 naming file and offset on damage",
        O,
        0,
        Some(0),
    ),
    spec("repair", "src-dir dst-dir", "Copy every readable live key of SRC into a new database DST", O, 2, Some(2)),
    spec("compact", "", "Merge every sealed segment, keeping only live data; reports bytes reclaimed", O, 0, Some(0)),
    spec("dump", "file", "Write every live key to a portable dump file (docs/dump-format.md)", O, 1, Some(1)),
    spec("load", "file", "Load a dump file into the database", O, 1, Some(1)),
    spec("help", "[command]", "List commands, or describe one", O, 0, Some(1)),
];

/// Looks a command up by name, case-insensitively.
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    let lower = name.to_ascii_lowercase();
    COMMANDS.iter().chain(crate::zset_commands::COMMANDS.iter()).find(|c| c.name == lower)
}

/// Every command of the table (strings, sorted sets, operations).
pub fn all() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter().chain(crate::zset_commands::COMMANDS.iter())
}

/// How a session opens its database.
#[derive(Debug, Clone)]
pub struct OpenConfig {
    /// The database directory.
    pub dir: PathBuf,
    /// Durability policy.
    pub fsync: Fsync,
}

/// State of one invocation or REPL: the database, opened on first use.
pub struct Session {
    /// How to open the database.
    pub config: OpenConfig,
    /// Show progress bars for long operations.
    pub progress: bool,
    db: Option<Db>,
}

impl Session {
    /// A session that has not opened its database yet.
    pub fn new(config: OpenConfig, progress: bool) -> Session {
        Session { config, progress, db: None }
    }

    /// The database, opened now if needed.
    pub fn db(&mut self) -> Result<&Db, Failure> {
        if self.db.is_none() {
            let opts = Options { fsync: self.config.fsync, ..Options::default() };
            self.db = Some(Db::open(&self.config.dir, opts)?);
        }
        self.db.as_ref().ok_or_else(|| Failure::Other("database not open".into()))
    }

    /// Closes the database if open, reporting a failed final sync.
    pub fn close(&mut self) -> Result<(), Failure> {
        match self.db.take() {
            Some(db) => db.close().map_err(Failure::from),
            None => Ok(()),
        }
    }
}

/// Turns an engine result into a reply: Redis-style errors become error
/// replies, the rest (lock, corruption, I/O) fail the command.
pub fn reply_of(r: kv_engine::Result<Reply>) -> Result<Reply, Failure> {
    match r {
        Ok(reply) => Ok(reply),
        Err(e) => match e {
            Error::WrongType | Error::NotInteger | Error::NotFloat | Error::Overflow | Error::InvalidArgument(_) => {
                Ok(Reply::Error(e.to_string()))
            }
            Error::KeyTooLarge { .. } | Error::ValueTooLarge { .. } | Error::BatchTooLarge { .. } => {
                Ok(Reply::Error(format!("ERR {e}")))
            }
            other => Err(Failure::from(other)),
        },
    }
}

/// Argument as text (commands and options are ASCII).
pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// Parses an integer argument with Redis's rules.
pub fn int(arg: &[u8]) -> Result<i64, Failure> {
    kv_engine::strings::parse_redis_i64(arg)
        .ok_or_else(|| Failure::Usage("ERR value is not an integer or out of range".into()))
}

fn bool_reply(b: bool) -> Reply {
    Reply::Integer(i64::from(b))
}

fn int_reply(v: u64) -> Reply {
    Reply::Integer(i64::try_from(v).unwrap_or(i64::MAX))
}

/// Parses `EX s | PX ms | EXAT t | PXAT t | KEEPTTL` at `args[*i]`,
/// advancing `i`. `None` if the word is not an expiry option.
fn parse_expiry(args: &[Vec<u8>], i: &mut usize, allow_keepttl: bool) -> Result<Option<Expiry>, Failure> {
    let word = args[*i].to_ascii_uppercase();
    let with_number = |i: &mut usize| -> Result<i64, Failure> {
        let n = args.get(*i + 1).ok_or_else(Failure::syntax)?;
        *i += 1;
        int(n)
    };
    Ok(Some(match word.as_slice() {
        b"EX" => Expiry::Ex(with_number(i)?),
        b"PX" => Expiry::Px(with_number(i)?),
        b"EXAT" => Expiry::ExAt(with_number(i)?),
        b"PXAT" => Expiry::PxAt(with_number(i)?),
        b"KEEPTTL" if allow_keepttl => Expiry::KeepTtl,
        _ => return Ok(None),
    }))
}

/// `SET` options after key and value.
fn parse_set_options(args: &[Vec<u8>]) -> Result<SetOptions, Failure> {
    let mut opts = SetOptions::new();
    let mut i = 0;
    while i < args.len() {
        let word = args[i].to_ascii_uppercase();
        match word.as_slice() {
            b"NX" if opts.condition.is_none() => opts.condition = Some(Condition::Nx),
            b"XX" if opts.condition.is_none() => opts.condition = Some(Condition::Xx),
            b"GET" => opts.get = true,
            _ => {
                if opts.expiry.is_some() {
                    return Err(Failure::syntax());
                }
                match parse_expiry(args, &mut i, true)? {
                    Some(e) => opts.expiry = Some(e),
                    None => return Err(Failure::syntax()),
                }
            }
        }
        i += 1;
    }
    Ok(opts)
}

/// The EXPIRE-family flags.
fn parse_expire_flags(args: &[Vec<u8>]) -> Result<ExpireCondition, Failure> {
    let flags: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    ExpireCondition::parse(&flags).map_err(Failure::from)
}

/// Parses and runs one command. `argv[0]` is the command name.
pub fn execute(session: &mut Session, argv: &[Vec<u8>]) -> Result<Reply, Failure> {
    let Some(first) = argv.first() else { return Err(Failure::Usage("ERR empty command".into())) };
    let name = text(first).to_ascii_lowercase();
    let Some(spec) = find(&name) else {
        let args: Vec<String> = argv[1..].iter().map(|a| format!("'{}'", text(a))).collect();
        return Err(Failure::Usage(format!(
            "ERR unknown command '{}', with args beginning with: {}",
            text(first),
            args.join(" ")
        )));
    };
    let args = &argv[1..];
    if args.len() < spec.min_args || spec.max_args.is_some_and(|m| args.len() > m) {
        return Err(Failure::arity(spec.name));
    }
    match spec.group {
        Group::Ops => crate::ops::execute(session, spec.name, args),
        Group::SortedSet => crate::zset_commands::execute(session.db()?, spec.name, args),
        Group::Keyspace | Group::String => execute_data(session.db()?, spec.name, args),
    }
}

/// Keyspace and string commands.
fn execute_data(db: &Db, name: &str, a: &[Vec<u8>]) -> Result<Reply, Failure> {
    let key = a.first().map(Vec::as_slice).unwrap_or_default();
    let r: kv_engine::Result<Reply> = match name {
        "del" => {
            let mut n = 0;
            for k in a {
                match db.delete(k) {
                    Ok(existed) => n += i64::from(existed),
                    Err(e) => return reply_of(Err(e)),
                }
            }
            Ok(Reply::Integer(n))
        }
        "exists" => {
            let mut n = 0;
            for k in a {
                match db.exists(k) {
                    Ok(found) => n += i64::from(found),
                    Err(e) => return reply_of(Err(e)),
                }
            }
            Ok(Reply::Integer(n))
        }
        "type" => Ok(Reply::Status(key_type(db, key)?.into())),
        "keys" => {
            let prefix = a.first().map(|p| p.strip_suffix(b"*").unwrap_or(p)).unwrap_or_default();
            db.keys_with_prefix(prefix).map(|ks| Reply::Array(ks.into_iter().map(Reply::Bulk).collect()))
        }
        "dbsize" => db.len().map(int_reply),
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            let t = int(&a[1])?;
            let cond = parse_expire_flags(&a[2..])?;
            match name {
                "expire" => db.expire(key, t, cond),
                "pexpire" => db.pexpire(key, t, cond),
                "expireat" => db.expireat(key, t, cond),
                _ => db.pexpireat(key, t, cond),
            }
            .map(bool_reply)
        }
        "ttl" => db.ttl(key).map(Reply::Integer),
        "pttl" => db.pttl(key).map(Reply::Integer),
        "expiretime" => db.expiretime(key).map(Reply::Integer),
        "pexpiretime" => db.pexpiretime(key).map(Reply::Integer),
        "persist" => db.persist(key).map(bool_reply),
        "set" => {
            let opts = parse_set_options(&a[2..])?;
            db.set(key, &a[1], &opts).map(|r| {
                if opts.get {
                    Reply::opt_bulk(r.old_value)
                } else if r.written {
                    Reply::ok()
                } else {
                    Reply::Nil
                }
            })
        }
        "setnx" => db.setnx(key, &a[1]).map(bool_reply),
        "setex" => {
            let s = int(&a[1])?;
            db.set(key, &a[2], &SetOptions::new().ex(s)).map(|_| Reply::ok())
        }
        "psetex" => {
            let ms = int(&a[1])?;
            db.set(key, &a[2], &SetOptions::new().px(ms)).map(|_| Reply::ok())
        }
        "getset" => db.set(key, &a[1], &SetOptions::new().get()).map(|r| Reply::opt_bulk(r.old_value)),
        "get" => db.get(key).map(Reply::opt_bulk),
        "getex" => {
            let opt = match a.get(1) {
                None => None,
                Some(w) if w.eq_ignore_ascii_case(b"PERSIST") && a.len() == 2 => Some(GetExOption::Persist),
                Some(_) if a.len() == 3 => {
                    let mut i = 1;
                    match parse_expiry(a, &mut i, false)? {
                        Some(Expiry::Ex(v)) => Some(GetExOption::Ex(v)),
                        Some(Expiry::Px(v)) => Some(GetExOption::Px(v)),
                        Some(Expiry::ExAt(v)) => Some(GetExOption::ExAt(v)),
                        Some(Expiry::PxAt(v)) => Some(GetExOption::PxAt(v)),
                        _ => return Err(Failure::syntax()),
                    }
                }
                Some(_) => return Err(Failure::syntax()),
            };
            db.getex(key, opt).map(Reply::opt_bulk)
        }
        "getdel" => db.getdel(key).map(Reply::opt_bulk),
        "mget" => {
            let keys: Vec<&[u8]> = a.iter().map(Vec::as_slice).collect();
            db.mget(&keys).map(|vs| Reply::Array(vs.into_iter().map(Reply::opt_bulk).collect()))
        }
        "mset" | "msetnx" => {
            if !a.len().is_multiple_of(2) {
                return Err(Failure::arity(name));
            }
            let pairs: Vec<(&[u8], &[u8])> = a.chunks_exact(2).map(|p| (p[0].as_slice(), p[1].as_slice())).collect();
            if name == "mset" {
                db.mset(&pairs).map(|()| Reply::ok())
            } else {
                db.msetnx(&pairs).map(bool_reply)
            }
        }
        "append" => db.append(key, &a[1]).map(int_reply),
        "strlen" => db.strlen(key).map(int_reply),
        "getrange" => {
            let (start, end) = (int(&a[1])?, int(&a[2])?);
            db.getrange(key, start, end).map(Reply::Bulk)
        }
        "setrange" => {
            let offset = int(&a[1])?;
            db.setrange(key, offset, &a[2]).map(int_reply)
        }
        "incr" => db.incr(key).map(Reply::Integer),
        "decr" => db.decr(key).map(Reply::Integer),
        "incrby" => {
            let d = int(&a[1])?;
            db.incrby(key, d).map(Reply::Integer)
        }
        "decrby" => {
            let d = int(&a[1])?;
            db.decrby(key, d).map(Reply::Integer)
        }
        "incrbyfloat" => db.incrbyfloat(key, &a[1]).map(Reply::bulk),
        "cas" => {
            let mut expiry = None;
            let mut i = 3;
            while i < a.len() {
                if expiry.is_some() {
                    return Err(Failure::syntax());
                }
                expiry = Some(parse_expiry(a, &mut i, true)?.ok_or_else(Failure::syntax)?);
                i += 1;
            }
            db.compare_and_swap(key, &a[1], &a[2], expiry).map(bool_reply)
        }
        "cad" => db.compare_and_delete(key, &a[1]).map(bool_reply),
        other => return Err(Failure::Other(format!("command '{other}' is in the table but not implemented"))),
    };
    reply_of(r)
}

/// `TYPE`: `string`, `zset` or `none`.
pub fn key_type(db: &Db, key: &[u8]) -> kv_engine::Result<&'static str> {
    if !db.exists(key)? {
        return Ok("none");
    }
    match db.get(key) {
        Ok(Some(_)) => Ok("string"),
        // Expired between the two lookups.
        Ok(None) => Ok("none"),
        Err(Error::WrongType) => Ok("zset"),
        Err(e) => Err(e),
    }
}

/// `help` / `help <command>`.
pub fn help(topic: Option<&[u8]>) -> Result<Reply, Failure> {
    if let Some(t) = topic {
        let name = text(t);
        let spec = find(&name).ok_or_else(|| Failure::Usage(format!("ERR unknown command '{name}'")))?;
        return Ok(Reply::Text(format!(
            "\n  {} {}\n  summary: {}\n  group: {}\n",
            spec.name.to_uppercase(),
            spec.syntax,
            spec.summary,
            spec.group.title().to_lowercase()
        )));
    }
    let mut out = String::from(
        "kv: a redis-cli style client for a libkv database directory.\n\
         Commands are case-insensitive; quote arguments with \"...\" or '...'.\n\
         Type `help <command>` for one command, `quit` to leave.\n",
    );
    for group in [Group::Keyspace, Group::String, Group::SortedSet, Group::Ops] {
        let cmds: Vec<&CommandSpec> = all().filter(|c| c.group == group).collect();
        if cmds.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{}:\n", group.title()));
        for c in cmds {
            out.push_str(&format!("  {:<12} {}\n", c.name.to_uppercase(), c.syntax));
        }
    }
    Ok(Reply::Text(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_unique_and_lower_case() {
        let mut names: Vec<&str> = all().map(|c| c.name).collect();
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase())));
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate command name");
    }

    #[test]
    fn set_options_follow_redis_syntax_rules() {
        let v = |s: &[&str]| s.iter().map(|w| w.as_bytes().to_vec()).collect::<Vec<_>>();
        let o = parse_set_options(&v(&["nx", "px", "100", "get"])).unwrap();
        assert_eq!((o.condition, o.expiry, o.get), (Some(Condition::Nx), Some(Expiry::Px(100)), true));
        assert_eq!(parse_set_options(&v(&["NX", "XX"])), Err(Failure::syntax()));
        assert_eq!(parse_set_options(&v(&["EX", "1", "PX", "2"])), Err(Failure::syntax()));
        assert_eq!(parse_set_options(&v(&["EX"])), Err(Failure::syntax()));
        assert!(matches!(parse_set_options(&v(&["EX", "x"])), Err(Failure::Usage(_))));
    }
}
