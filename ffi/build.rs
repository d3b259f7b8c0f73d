//! Gives the shared library its soname, `libkv.so.<ABI version>`: the major
//! number is `KV_ABI_VERSION` (read from `src/abi.rs`, its one definition),
//! so the dynamic loader never pairs a program with a library whose structs
//! differ from the ones it was compiled against. Programs built before
//! `kv_abi_version` existed cannot check the version themselves; the soname
//! checks it for them.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/abi.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let abi = std::fs::read_to_string("src/abi.rs").expect("ffi/src/abi.rs is readable");
    let version: u32 = abi
        .lines()
        .find_map(|l| l.trim().strip_prefix("pub const KV_ABI_VERSION: u32 = ")?.strip_suffix(';')?.parse().ok())
        .expect("ffi/src/abi.rs defines `pub const KV_ABI_VERSION: u32 = N;`");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkv.so.{version}");
}
