//! Compiles the small C helper that does INCRBYFLOAT in `long double`, as
//! Redis does (see `csrc/long_double.c` for why).

fn main() {
    println!("cargo:rerun-if-changed=csrc/long_double.c");
    cc::Build::new().file("csrc/long_double.c").warnings(true).compile("kv_long_double");
}
