//! Gives the shared library its soname, so that programs linked against
//! `libkv.so` record `libkv.so.0` and keep working across compatible updates.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkv.so.0");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
