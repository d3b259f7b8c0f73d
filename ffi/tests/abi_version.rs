//! Keeps `KV_ABI_VERSION` honest: the structs of `include/kv.h` (the ones
//! callers allocate) may only change together with a bump of the version.

use kv::abi::{kv_abi_version, KV_ABI_VERSION};

/// Fingerprint of the struct layouts of `kv.h` for each ABI version, from
/// [`struct_layouts`]. When `layouts_change_only_with_an_abi_version_bump`
/// fails, bump `KV_ABI_VERSION` (ffi/src/abi.rs) if it was not bumped
/// already, and append the new version with the fingerprint it prints.
const FINGERPRINTS: &[(u32, u64)] = &[(1, 0x173d_4585_cd39_adb5), (2, 0x3754_7586_cabd_adaa)];

/// The text of every struct definition of the header (comments dropped,
/// whitespace collapsed), followed by the `#define`s those structs use
/// (array lengths such as `KV_GROUP_COMMIT_BUCKETS`).
fn struct_layouts(header: &str) -> String {
    let code: Vec<&str> =
        header.lines().map(|l| l.split("//").next().unwrap_or("").trim()).filter(|l| !l.is_empty()).collect();
    let mut bodies = String::new();
    let mut inside = false;
    for line in &code {
        if line.starts_with("typedef struct") && line.ends_with('{') {
            inside = true;
        }
        if inside {
            bodies.push_str(line);
            bodies.push(' ');
            if line.starts_with('}') {
                inside = false;
                bodies.push('\n');
            }
        }
    }
    let mut defines = String::new();
    for line in &code {
        let mut words = line.split_whitespace();
        if let (Some("#define"), Some(name)) = (words.next(), words.next()) {
            if bodies.contains(name) {
                defines.push_str(line);
                defines.push('\n');
            }
        }
    }
    bodies + &defines
}

/// FNV-1a, 64 bits: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn header() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../include/kv.h");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

#[test]
fn library_reports_the_header_version() {
    assert_eq!(kv_abi_version(), KV_ABI_VERSION);
    assert_ne!(KV_ABI_VERSION, 0, "0 is what kv_abi_version returns after a panic");
    let define = format!("#define KV_ABI_VERSION {KV_ABI_VERSION}\n");
    assert!(header().contains(&define), "include/kv.h lacks {define:?}: run `make header`");
}

#[test]
fn layouts_change_only_with_an_abi_version_bump() {
    let layouts = struct_layouts(&header());
    assert!(layouts.contains("kv_compaction_summary;") && layouts.contains("kv_stats;"), "{layouts}");
    let got = fnv1a(&layouts);
    let recorded = FINGERPRINTS.iter().find(|(v, _)| *v == KV_ABI_VERSION).map(|(_, f)| *f);
    assert_eq!(
        recorded,
        Some(got),
        "the structs of include/kv.h do not match the layout recorded for KV_ABI_VERSION {KV_ABI_VERSION}: \
         a struct callers allocate changed, so callers built against the old header would be read or \
         written past their end. Bump KV_ABI_VERSION in ffi/src/abi.rs (unless this change already did), \
         run `make header`, and record the new version with fingerprint {got:#x} in FINGERPRINTS. \
         Layouts now:\n{layouts}"
    );
}

#[test]
fn layout_fingerprint_sees_an_added_field_and_ignores_comments() {
    let base = "// doc\n#define KV_N 3\ntypedef struct {\n  // a\n  uint64_t a;\n  uint64_t b[KV_N];\n} s;\n";
    let commented = base.replace("// a", "// a, reworded");
    let grown = base.replace("uint64_t a;", "uint64_t a;\n  uint64_t c;");
    let longer = base.replace("KV_N 3", "KV_N 4");
    assert_eq!(fnv1a(&struct_layouts(base)), fnv1a(&struct_layouts(&commented)));
    assert_ne!(fnv1a(&struct_layouts(base)), fnv1a(&struct_layouts(&grown)));
    assert_ne!(fnv1a(&struct_layouts(base)), fnv1a(&struct_layouts(&longer)));
}
