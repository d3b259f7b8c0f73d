//! `kv-bench`: libkv's benchmark harness.
//!
//! Every libkv figure is printed beside the raw-disk limit measured in the
//! same run (a `write + fdatasync` loop and a plain `write` loop into a
//! preallocated file, with libkv's record size), and as a ratio to it.

mod alloc;
mod durability;
mod reads;

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
    /// Random-get throughput on a reopened database.
    Get(reads::GetArgs),
    /// Keydir memory per key, counted by the allocator.
    Memory(reads::MemoryArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Durability(a) => durability::run(&a),
        Cmd::Get(a) => reads::run_get(&a),
        Cmd::Memory(a) => reads::run_memory(&a),
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
