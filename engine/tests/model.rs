//! Model-based test: random sequences of put / delete / batch / reopen /
//! power cut against a `BTreeMap`.

mod common;

use std::collections::BTreeMap;

use common::{open_sim, small_opts};
use kv_engine::{Db, Fsync, SimStorage, WriteBatch};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u16),
    Delete(u8),
    Batch(Vec<(u8, Option<u16>)>),
    Reopen,
    PowerCut,
    Get(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u8>(), any::<u16>()).prop_map(|(k, v)| Op::Put(k % 40, v)),
        2 => any::<u8>().prop_map(|k| Op::Delete(k % 40)),
        1 => proptest::collection::vec((any::<u8>().prop_map(|k| k % 40), proptest::option::of(any::<u16>())), 1..6)
            .prop_map(Op::Batch),
        1 => Just(Op::Reopen),
        1 => Just(Op::PowerCut),
        3 => any::<u8>().prop_map(|k| Op::Get(k % 40)),
    ]
}

fn key(k: u8) -> Vec<u8> {
    format!("key{k}").into_bytes()
}

/// Values of varied length; long ones exercise compression and rotation.
fn value(v: u16) -> Vec<u8> {
    let len = (v as usize * 7) % 6000;
    (0..len).map(|i| b"abcdefgh"[(i + v as usize) % 8]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn model_matches_btreemap_across_reopen_and_power_cut(ops in proptest::collection::vec(op(), 1..120)) {
        let mut sim = SimStorage::new();
        let opts = || kv_engine::Options { compression_threshold_bytes: 1000, ..small_opts(Fsync::Always) };
        let mut db: Option<Db> = Some(open_sim(&sim, opts()).unwrap());
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for op in ops {
            let d = db.as_ref().unwrap();
            match op {
                Op::Put(k, v) => {
                    d.put(&key(k), &value(v)).unwrap();
                    model.insert(key(k), value(v));
                }
                Op::Delete(k) => {
                    prop_assert_eq!(d.delete(&key(k)).unwrap(), model.remove(&key(k)).is_some());
                }
                Op::Batch(items) => {
                    let mut b = WriteBatch::new();
                    for (k, v) in items {
                        match v {
                            Some(v) => { b.put(&key(k), &value(v)); model.insert(key(k), value(v)); }
                            None => { b.delete(&key(k)); model.remove(&key(k)); }
                        }
                    }
                    d.write_batch(&b).unwrap();
                }
                Op::Reopen => {
                    drop(db.take());
                    db = Some(open_sim(&sim, opts()).unwrap());
                }
                Op::PowerCut => {
                    // Everything was acknowledged under Always: nothing may be lost.
                    drop(db.take());
                    sim = sim.power_cut(Some(7));
                    db = Some(open_sim(&sim, opts()).unwrap());
                }
                Op::Get(k) => {
                    prop_assert_eq!(d.get(&key(k)).unwrap(), model.get(&key(k)).cloned());
                }
            }
        }
        let d = db.as_ref().unwrap();
        prop_assert_eq!(d.len().unwrap(), model.len() as u64);
        let all: BTreeMap<Vec<u8>, Vec<u8>> = d.scan_prefix(b"").unwrap().into_iter().collect();
        prop_assert_eq!(all, model);
    }
}
