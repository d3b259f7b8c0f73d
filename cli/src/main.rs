//! `kv`: a `redis-cli` style command-line tool for libkv databases.
//!
//! `kv --dir DIR <command> [args]` runs one command; `kv --dir DIR` alone
//! starts a REPL (or reads commands line by line from a pipe).

mod commands;
mod dump;
mod failure;
mod ops;
mod repl;
mod reply;
mod zset_commands;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use clap::Parser;
use kv_engine::Fsync;

use commands::{OpenConfig, Session};
use failure::{Failure, EXIT_ERROR, EXIT_OK, EXIT_USAGE};
use reply::{Format, Reply};

const AFTER_HELP: &str = "\
Examples:
  kv --dir data set session:42 alice EX 60 NX
  kv --dir data incr hits
  kv --dir data zadd lb 10 alice 20 bob
  kv --dir data zrevrange lb 0 9 withscores
  kv --dir data keys user:        (a key PREFIX, not a glob pattern)
  kv --dir data                   (interactive; `help` lists every command)
  kv --dir data verify | stats | compact | dump FILE | load FILE
  kv repair DAMAGED-DIR NEW-DIR

Replies print as redis-cli prints them: OK, (nil), (integer) 1, \"value\",
numbered lists, (empty array), (error) ERR ...; --raw prints bare values,
--json one JSON value per reply.

Exit codes:
  0  success
  1  an error reply (WRONGTYPE, not an integer, ...) or another failure (I/O)
  2  bad arguments: unknown command, wrong number of arguments, syntax error
  3  the database directory is locked by another process
  4  a database file or dump is corrupt (verify names the file and offset)";

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(name = "kv", version, about = "A redis-cli style tool for libkv database directories", after_help = AFTER_HELP)]
struct Args {
    /// Database directory (created on first write). Also from $KV_DIR.
    #[arg(short = 'd', long, env = "KV_DIR", value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Print replies as JSON (one value per reply).
    #[arg(long, conflicts_with = "raw")]
    json: bool,
    /// Print bare values, like `redis-cli --raw`.
    #[arg(long)]
    raw: bool,
    /// Durability policy for writes: always, everysec or no.
    #[arg(long, default_value = "always", value_parser = ["always", "everysec", "no"])]
    fsync: String,
    /// Never draw progress bars.
    #[arg(long)]
    no_progress: bool,
    /// The command and its arguments; none starts the REPL.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

fn main() {
    let args = Args::parse();
    std::process::exit(run(args));
}

fn run(args: Args) -> i32 {
    let format = if args.json {
        Format::Json
    } else if args.raw {
        Format::Raw
    } else {
        Format::Tty
    };
    let fsync = match Fsync::parse(&args.fsync) {
        Ok(f) => f,
        Err(e) => return fail(&Failure::Usage(e.to_string()), format),
    };
    let argv: Vec<Vec<u8>> = args.command.into_iter().map(OsString::into_vec).collect();
    // Commands that need no database directory.
    let needs_dir = match argv.first() {
        None => true,
        Some(name) => !matches!(commands::text(name).to_ascii_lowercase().as_str(), "help" | "repair"),
    };
    let dir = match (args.dir, needs_dir) {
        (Some(d), _) => d,
        (None, false) => PathBuf::from("."),
        (None, true) => {
            return fail(&Failure::Usage("ERR no database directory: pass --dir DIR (or set KV_DIR)".into()), format)
        }
    };
    let progress = !args.no_progress && std::io::stderr().is_terminal();
    let mut session = Session::new(OpenConfig { dir, fsync }, progress);
    if argv.is_empty() {
        let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
        return match repl::run(&mut session, format, interactive) {
            Ok(code) => code,
            Err(f) => fail(&f, format),
        };
    }
    let result = commands::execute(&mut session, &argv);
    let closed = session.close();
    match result {
        Ok(reply) => {
            print!("{}", reply::format(&reply, format));
            if let Err(f) = closed {
                return fail(&f, format);
            }
            if reply.is_error() {
                EXIT_ERROR
            } else {
                EXIT_OK
            }
        }
        Err(f) => fail(&f, format),
    }
}

/// Reports a failure and returns its exit code. Argument errors print like
/// redis-cli (`(error) ERR ...` on stdout); the others go to stderr
/// prefixed with `kv:`.
fn fail(f: &Failure, format: Format) -> i32 {
    if f.exit_code() == EXIT_USAGE {
        print!("{}", reply::format(&Reply::Error(f.message().to_string()), format));
    } else if format == Format::Json {
        println!("{}", serde_json::json!({ "error": f.message(), "exit_code": f.exit_code() }));
    } else {
        eprintln!("kv: {}", f.message());
    }
    f.exit_code()
}
