//! libFuzzer entry point; the body is [`kv_fuzz::zset_model::run`], which the stable
//! replay test (`engine/tests/fuzz_replay.rs`) also runs over the corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kv_fuzz::zset_model::run(data));
