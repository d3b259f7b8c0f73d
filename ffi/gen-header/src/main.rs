//! `kv-ffi-header <ffi crate dir> <output header>`: writes the C header of
//! libkv with cbindgen, configured by `<ffi crate dir>/cbindgen.toml`.
//!
//! A library call instead of the cbindgen CLI so that a fresh machine needs
//! only cargo and crates.io, and the cbindgen version is pinned by Cargo.lock.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, crate_dir, out] = args.as_slice() else {
        eprintln!("usage: kv-ffi-header <ffi crate dir> <output header>");
        return ExitCode::from(2);
    };
    let crate_dir = PathBuf::from(crate_dir);
    let config = match cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kv-ffi-header: reading cbindgen.toml: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        Ok(bindings) => {
            bindings.write_to_file(out);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kv-ffi-header: {e}");
            ExitCode::FAILURE
        }
    }
}
