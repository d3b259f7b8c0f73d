//! redis-server, started by the benchmark on a free loopback port with its own
//! temp directory, driven over raw RESP (one `TcpStream` per client thread,
//! one request in flight per connection, as `redis-benchmark -P 1`).
//!
//! Mode: `appendonly yes`, `appendfsync <policy>`, RDB snapshots off
//! (`save ""`), so the AOF is the only persistence, as libkv's log is.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Engine, Policy};

/// One client connection.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn connect(port: u16) -> std::io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        Ok(Conn { reader: BufReader::new(s.try_clone()?), writer: s, buf: Vec::with_capacity(8192) })
    }

    fn encode(buf: &mut Vec<u8>, args: &[&[u8]]) {
        buf.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a);
            buf.extend_from_slice(b"\r\n");
        }
    }

    /// Sends one command and reads its reply.
    fn call(&mut self, args: &[&[u8]]) -> Result<Reply, String> {
        self.buf.clear();
        Self::encode(&mut self.buf, args);
        self.writer.write_all(&self.buf).map_err(|e| e.to_string())?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> Result<Reply, String> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).map_err(|e| e.to_string())?;
        if line.len() < 3 {
            return Err("redis: connection closed".into());
        }
        let body = &line[1..line.len() - 2];
        match line[0] {
            b'+' | b':' => Ok(Reply::Simple),
            b'-' => Err(format!("redis: {}", String::from_utf8_lossy(body))),
            b'$' => {
                let n: i64 = std::str::from_utf8(body).ok().and_then(|s| s.parse().ok()).ok_or("redis: bad length")?;
                if n < 0 {
                    return Ok(Reply::Nil);
                }
                let mut data = vec![0u8; n as usize + 2];
                self.reader.read_exact(&mut data).map_err(|e| e.to_string())?;
                data.truncate(n as usize);
                Ok(Reply::Bulk(data))
            }
            b'*' => {
                let n: i64 = std::str::from_utf8(body).ok().and_then(|s| s.parse().ok()).ok_or("redis: bad length")?;
                let mut items = Vec::new();
                for _ in 0..n.max(0) {
                    items.push(self.read_reply()?);
                }
                Ok(Reply::Array(items))
            }
            _ => Err(format!("redis: unexpected reply {:?}", String::from_utf8_lossy(&line))),
        }
    }
}

/// One RESP2 reply.
pub enum Reply {
    /// `+` or `:` line (its text is not needed by any benchmark).
    Simple,
    /// `$` bulk string.
    Bulk(Vec<u8>),
    /// `*` array.
    Array(Vec<Reply>),
    /// Null bulk string or array.
    Nil,
}

/// A redis-server child process and one connection per client thread.
pub struct Redis {
    child: Child,
    conns: Vec<Mutex<Conn>>,
    policy: Policy,
}

/// A free loopback port (bound then released; the server binds it next).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

impl Redis {
    /// Starts redis-server in `dir` and connects `threads` clients.
    pub fn open(dir: &Path, policy: Policy, threads: usize) -> Result<Option<Redis>, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let port = free_port().map_err(|e| e.to_string())?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--protected-mode", "no"])
            .args(["--dir", &dir.to_string_lossy(), "--appendonly", "yes", "--appendfsync", policy.name()])
            .args(["--save", "", "--daemonize", "no", "--logfile", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("redis-server not runnable ({e}); install it with `apt-get install -y redis-server`")
            })?;
        let mut r = Redis { child, conns: Vec::new(), policy };
        let deadline = Instant::now() + Duration::from_secs(10);
        let first = loop {
            if let Ok(mut c) = Conn::connect(port) {
                if c.call(&[b"PING"]).is_ok() {
                    break c;
                }
            }
            if Instant::now() >= deadline {
                return Err("redis-server did not start within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        r.conns.push(Mutex::new(first));
        for _ in 1..threads.max(1) {
            r.conns.push(Mutex::new(Conn::connect(port).map_err(|e| e.to_string())?));
        }
        Ok(Some(r))
    }

    fn conn(&self, thread: usize) -> std::sync::MutexGuard<'_, Conn> {
        // One connection per thread: the lock is never contended.
        self.conns[thread % self.conns.len()].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one command on `thread`'s connection.
    pub fn command(&self, thread: usize, args: &[&[u8]]) -> Result<Reply, String> {
        self.conn(thread).call(args)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Engine for Redis {
    fn mode(&self) -> String {
        format!("redis-server appendonly yes, appendfsync {}, save \"\"", self.policy.name())
    }
    fn put(&self, thread: usize, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.conn(thread).call(&[b"SET", key, value]).map(|_| ())
    }
    fn get(&self, thread: usize, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        match self.conn(thread).call(&[b"GET", key])? {
            Reply::Bulk(b) => Ok(Some(b)),
            Reply::Nil => Ok(None),
            _ => Err("redis: unexpected reply to GET".into()),
        }
    }
    fn load(&self, items: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        // Pipelined in chunks of 1000: loading is not what is measured.
        let mut c = self.conn(0);
        loop {
            c.buf.clear();
            let mut n = 0;
            for (k, v) in (&mut *items).take(1000) {
                Conn::encode(&mut c.buf, &[b"SET", &k, &v]);
                n += 1;
            }
            if n == 0 {
                return Ok(());
            }
            let buf = std::mem::take(&mut c.buf);
            c.writer.write_all(&buf).map_err(|e| e.to_string())?;
            c.buf = buf;
            for _ in 0..n {
                c.read_reply()?;
            }
        }
    }
}
