//! `kv-bench`: libkv's benchmark harness.
//!
//! Every libkv write figure is printed beside the raw-disk limit measured in
//! the same run (a `write + fdatasync` loop and a plain `write` loop into a
//! preallocated file, with libkv's record size), and as a ratio to it; peers
//! (redis-server always, the embedded engines with `--features peers`) run
//! the same loop on the same data.

mod alloc;
mod charts;
mod compaction;
mod crash;
mod durability;
mod engines;
mod expiry;
mod open;
mod reads;
mod zset;

use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

#[derive(Parser)]
#[command(about = "libkv benchmarks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Fsync policy × writer threads × value size, beside the raw disk.
    Durability(durability::Args),
    /// Acknowledged writes lost after kill -9 and after a simulated power cut.
    Crash(crash::Args),
    /// The writer process `crash` kills (internal).
    #[command(hide = true)]
    CrashChild(crash::ChildArgs),
    /// Random-get throughput on a reopened database.
    Get(reads::GetArgs),
    /// Keydir memory per key, counted by the allocator.
    Memory(reads::MemoryArgs),
    /// Open time with and without hint files.
    Open(open::Args),
    /// Merge throughput vs raw write; put latency during a merge.
    Compaction(compaction::Args),
    /// Sorted-set operations vs redis-server.
    Zset(zset::Args),
    /// GET latency while a million keys expire at once.
    Ttl(expiry::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Durability(a) => durability::run(&a),
        Cmd::Crash(a) => crash::run(&a),
        Cmd::CrashChild(a) => crash::run_child(&a),
        Cmd::Get(a) => reads::run_get(&a),
        Cmd::Memory(a) => reads::run_memory(&a),
        Cmd::Open(a) => open::run(&a),
        Cmd::Compaction(a) => compaction::run(&a),
        Cmd::Zset(a) => zset::run(&a),
        Cmd::Ttl(a) => expiry::run(&a),
    };
    if let Err(e) = result {
        eprintln!("kv-bench: {e}");
        std::process::exit(1);
    }
}

/// Parses "1,4,16" into numbers.
pub(crate) fn parse_list(s: &str) -> Result<Vec<usize>, String> {
    s.split(',').map(|p| p.trim().parse::<usize>().map_err(|e| format!("{p:?}: {e}"))).collect()
}

/// Median and (min, max) of samples.
pub(crate) fn summarize(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// A tiny deterministic PRNG (xorshift64*) for key choice.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
}
