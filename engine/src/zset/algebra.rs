//! Set algebra over sorted sets for `ZUNION[STORE]`, `ZINTER[STORE]` and
//! `ZDIFF[STORE]`, following Redis `zunionInterDiffGenericCommand`:
//! weights multiply scores, a NaN product (`inf * 0`) or NaN sum
//! (`inf + -inf`) becomes 0, `MIN`/`MAX` keep the smaller/larger score, and
//! inputs are visited smallest first (union, intersection) like Redis does.
//! Results come back sorted by `(score, member)`, ready for a reply or to be
//! inserted into the destination set.

use super::ZSet;

/// How `ZUNIONSTORE`/`ZINTERSTORE` combine the scores of one member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Aggregate {
    /// Add the weighted scores (the default).
    #[default]
    Sum,
    /// Keep the smallest weighted score.
    Min,
    /// Keep the largest weighted score.
    Max,
}

/// Redis `zunionInterAggregate`.
#[inline]
fn aggregate(target: &mut f64, val: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// `weight * score`, with Redis's NaN → 0 rule.
#[inline]
fn weighted(score: f64, weight: f64) -> f64 {
    let v = score * weight;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

fn sorted(mut out: Vec<(Vec<u8>, f64)>) -> Vec<(Vec<u8>, f64)> {
    out.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    // total_cmp orders -0 before 0; the sorted set treats them as equal and
    // orders by member. Restore that order within runs of zeros.
    let zeros_start = out.partition_point(|e| e.1 < 0.0);
    let zeros_end = out.partition_point(|e| e.1 <= 0.0);
    out[zeros_start..zeros_end].sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Inputs ordered by cardinality, smallest first (stable).
fn by_cardinality<'a>(inputs: &[(&'a ZSet, f64)]) -> Vec<(&'a ZSet, f64)> {
    let mut v = inputs.to_vec();
    v.sort_by_key(|(z, _)| z.len());
    v
}

/// `ZUNIONSTORE`: every member of any input, with its weighted scores
/// combined by `agg`. A missing key is an empty set.
pub fn union(inputs: &[(&ZSet, f64)], agg: Aggregate) -> Vec<(Vec<u8>, f64)> {
    let src = by_cardinality(inputs);
    let cap = src.last().map_or(0, |(z, _)| z.len() as usize);
    let mut acc: hashbrown::HashMap<&[u8], f64> = hashbrown::HashMap::with_capacity(cap);
    for (z, w) in &src {
        for (member, score, _) in z.iter() {
            let s = weighted(score, *w);
            match acc.entry(member) {
                hashbrown::hash_map::Entry::Occupied(mut e) => aggregate(e.get_mut(), s, agg),
                hashbrown::hash_map::Entry::Vacant(e) => {
                    e.insert(s);
                }
            }
        }
    }
    sorted(acc.into_iter().map(|(m, s)| (m.to_vec(), s)).collect())
}

/// `ZINTERSTORE`: the members present in every input, with their weighted
/// scores combined by `agg`. Empty if there are no inputs or any input is
/// empty (a missing key).
pub fn inter(inputs: &[(&ZSet, f64)], agg: Aggregate) -> Vec<(Vec<u8>, f64)> {
    let src = by_cardinality(inputs);
    let Some(&(first, w0)) = src.first() else { return Vec::new() };
    let mut out = Vec::new();
    'members: for (member, score, _) in first.iter() {
        let mut acc = weighted(score, w0);
        for &(z, w) in &src[1..] {
            let other = if std::ptr::eq(z, first) {
                score
            } else {
                match z.score(member) {
                    Some(s) => s,
                    None => continue 'members,
                }
            };
            // Redis does not apply the NaN rule to the weighted value here,
            // only to the aggregate (so SUM with `inf * 0` gives 0).
            aggregate(&mut acc, other * w, agg);
        }
        out.push((member.to_vec(), acc));
    }
    sorted(out)
}

/// `ZDIFFSTORE`: the members of the first input found in no other input,
/// with their scores from the first input. Empty if there are no inputs.
pub fn diff(inputs: &[&ZSet]) -> Vec<(Vec<u8>, f64)> {
    let Some((first, rest)) = inputs.split_first() else { return Vec::new() };
    if rest.iter().any(|z| std::ptr::eq(*z, *first)) {
        return Vec::new();
    }
    first
        .iter()
        .filter(|(m, _, _)| rest.iter().all(|z| z.score(m).is_none()))
        .map(|(m, s, _)| (m.to_vec(), s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zs(pairs: &[(&str, f64)]) -> ZSet {
        let mut z = ZSet::new();
        for &(m, s) in pairs {
            z.insert(m.as_bytes(), s, 0);
        }
        z
    }

    fn pairs(v: Vec<(Vec<u8>, f64)>) -> Vec<(String, f64)> {
        v.into_iter().map(|(m, s)| (String::from_utf8(m).unwrap(), s)).collect()
    }

    fn p(v: &[(&str, f64)]) -> Vec<(String, f64)> {
        v.iter().map(|&(m, s)| (m.to_owned(), s)).collect()
    }

    #[test]
    fn zset_union_weights_aggregate() {
        let a = zs(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
        let b = zs(&[("b", 1.0), ("c", 2.0), ("d", 3.0)]);
        assert_eq!(
            pairs(union(&[(&a, 1.0), (&b, 1.0)], Aggregate::Sum)),
            p(&[("a", 1.0), ("b", 3.0), ("d", 3.0), ("c", 5.0)])
        );
        assert_eq!(
            pairs(union(&[(&a, 2.0), (&b, 3.0)], Aggregate::Sum)),
            p(&[("a", 2.0), ("b", 7.0), ("d", 9.0), ("c", 12.0)])
        );
        assert_eq!(
            pairs(union(&[(&a, 1.0), (&b, 1.0)], Aggregate::Min)),
            p(&[("a", 1.0), ("b", 1.0), ("c", 2.0), ("d", 3.0)])
        );
        assert_eq!(
            pairs(union(&[(&a, 1.0), (&b, 1.0)], Aggregate::Max)),
            p(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 3.0)])
        );
        let empty = ZSet::new();
        assert_eq!(pairs(union(&[(&empty, 1.0), (&a, 1.0)], Aggregate::Sum)).len(), 3);
        assert!(union(&[], Aggregate::Sum).is_empty());
    }

    #[test]
    fn zset_union_inter_inf_nan_rules() {
        // From the Redis test suite: ZUNIONSTORE with +inf/-inf.
        let a = zs(&[("a", f64::INFINITY)]);
        let b = zs(&[("a", f64::NEG_INFINITY)]);
        assert_eq!(pairs(union(&[(&a, 1.0), (&b, 1.0)], Aggregate::Sum)), p(&[("a", 0.0)]));
        assert_eq!(pairs(inter(&[(&a, 1.0), (&b, 1.0)], Aggregate::Sum)), p(&[("a", 0.0)]));
        // inf * 0 is 0.
        assert_eq!(pairs(union(&[(&a, 0.0)], Aggregate::Sum)), p(&[("a", 0.0)]));
        assert_eq!(pairs(union(&[(&a, 0.0), (&b, 0.0)], Aggregate::Max)), p(&[("a", 0.0)]));
        let c = zs(&[("a", 1.0)]);
        assert_eq!(pairs(inter(&[(&c, 1.0), (&a, 0.0)], Aggregate::Sum)), p(&[("a", 0.0)]));
        assert_eq!(pairs(inter(&[(&c, 1.0), (&a, 1.0)], Aggregate::Sum)), p(&[("a", f64::INFINITY)]));
        assert_eq!(pairs(inter(&[(&c, 1.0), (&b, 1.0)], Aggregate::Min)), p(&[("a", f64::NEG_INFINITY)]));
        // Negative weights flip infinities.
        assert_eq!(pairs(union(&[(&a, -1.0)], Aggregate::Sum)), p(&[("a", f64::NEG_INFINITY)]));
    }

    #[test]
    fn zset_inter_and_diff() {
        let a = zs(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
        let b = zs(&[("b", 1.0), ("c", 2.0), ("d", 3.0)]);
        assert_eq!(pairs(inter(&[(&a, 1.0), (&b, 1.0)], Aggregate::Sum)), p(&[("b", 3.0), ("c", 5.0)]));
        assert_eq!(pairs(inter(&[(&a, 2.0), (&b, 3.0)], Aggregate::Max)), p(&[("b", 4.0), ("c", 6.0)]));
        assert_eq!(pairs(inter(&[(&a, 1.0), (&a, 1.0)], Aggregate::Sum)), p(&[("a", 2.0), ("b", 4.0), ("c", 6.0)]));
        let empty = ZSet::new();
        assert!(inter(&[(&a, 1.0), (&empty, 1.0)], Aggregate::Sum).is_empty());
        assert!(inter(&[], Aggregate::Sum).is_empty());
        assert_eq!(pairs(inter(&[(&a, 1.0)], Aggregate::Min)), p(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]));

        assert_eq!(pairs(diff(&[&a, &b])), p(&[("a", 1.0)]));
        assert_eq!(pairs(diff(&[&b, &a])), p(&[("d", 3.0)]));
        assert_eq!(pairs(diff(&[&a])), p(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]));
        assert_eq!(pairs(diff(&[&a, &empty])), p(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]));
        assert!(diff(&[&empty, &a]).is_empty());
        assert!(diff(&[&a, &a]).is_empty());
        assert!(diff(&[]).is_empty());
    }

    #[test]
    fn zset_union_result_order_with_signed_zero() {
        let a = zs(&[("b", -0.0), ("a", 0.0), ("c", -1.0)]);
        let out = pairs(union(&[(&a, 1.0)], Aggregate::Sum));
        let members: Vec<_> = out.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(members, ["c", "a", "b"]);
    }
}
