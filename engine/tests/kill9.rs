//! Process-crash test: a child process writes with `Fsync::Always` from
//! several threads and reports each acknowledged write on stdout; the parent
//! kills it with SIGKILL at a random moment, reopens the directory and checks
//! every acknowledged write. Repeated over the same directory.
//!
//! The child is this test binary re-run with `KV_KILL9_CHILD_DIR` set.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kv_engine::{Db, Fsync, Options};

const THREADS: usize = 4;

fn value_for(key: &str) -> Vec<u8> {
    format!("{key}:{}", "p".repeat(key.len() * 3)).into_bytes()
}

/// The child's body; a no-op when run as a normal test.
#[test]
fn kill9_child_writer() {
    let Ok(dir) = std::env::var("KV_KILL9_CHILD_DIR") else { return };
    let cycle: u32 = std::env::var("KV_KILL9_CYCLE").unwrap().parse().unwrap();
    let opts = Options { fsync: Fsync::Always, max_segment_size_bytes: 64 * 1024, ..Options::default() };
    let db = Db::open(&dir, opts).unwrap();
    let out = std::sync::Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (db, out) = (&db, &out);
            s.spawn(move || {
                for i in 0u64.. {
                    let key = format!("c{cycle}-t{t}-{i}");
                    if i % 10 == 9 {
                        // Deletes too: the previous key of this thread.
                        let prev = format!("c{cycle}-t{t}-{}", i - 1);
                        use std::io::Write;
                        // Announce the intent: a delete killed in flight may or may not land.
                        writeln!(out.lock().unwrap(), "I {prev}").unwrap();
                        db.delete(prev.as_bytes()).unwrap();
                        let mut o = out.lock().unwrap();
                        writeln!(o, "D {prev}").unwrap();
                        o.flush().unwrap();
                        continue;
                    }
                    db.put(key.as_bytes(), &value_for(&key)).unwrap();
                    use std::io::Write;
                    let mut o = out.lock().unwrap();
                    writeln!(o, "P {key}").unwrap();
                    o.flush().unwrap();
                }
            });
        }
    });
}

#[test]
fn kill9_at_random_points_loses_no_acknowledged_write() {
    let cycles: u32 = std::env::var("KV_KILL9_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(12);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut puts: Vec<String> = Vec::new();
    let mut deletes: Vec<String> = Vec::new();
    let mut intents: Vec<String> = Vec::new();
    let mut seed: u64 = 0x9E3779B97F4A7C15;
    for cycle in 0..cycles {
        let mut child = Command::new(&exe)
            .args(["kill9_child_writer", "--exact", "--nocapture", "--test-threads=1"])
            .env("KV_KILL9_CHILD_DIR", dir.path())
            .env("KV_KILL9_CYCLE", cycle.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                lines.push(line);
            }
            lines
        });
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = Duration::from_millis(30 + seed % 300);
        let start = Instant::now();
        while start.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for line in reader.join().unwrap() {
            match line.split_once(' ') {
                Some(("P", k)) => puts.push(k.to_string()),
                Some(("D", k)) => deletes.push(k.to_string()),
                Some(("I", k)) => intents.push(k.to_string()),
                _ => {}
            }
        }
        let db = Db::open(dir.path(), Options::default()).unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
        let deleted: std::collections::HashSet<&String> = deletes.iter().collect();
        let maybe_deleted: std::collections::HashSet<&String> = intents.iter().collect();
        for k in &puts {
            let got = db.get(k.as_bytes()).unwrap();
            if !deleted.contains(k) && maybe_deleted.contains(k) {
                assert!(got.is_none() || got == Some(value_for(k)), "cycle {cycle}: wrong value for {k}");
            } else if deleted.contains(k) {
                assert_eq!(got, None, "cycle {cycle}: acknowledged delete of {k} lost");
            } else {
                assert_eq!(got, Some(value_for(k)), "cycle {cycle}: acknowledged put of {k} lost");
            }
        }
    }
    assert!(puts.len() > 100, "the child acknowledged only {} writes", puts.len());
}
