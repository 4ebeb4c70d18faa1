//! What a contract 0.2.0 plugin returns, checked: one outcome per row,
//! every range and span in bounds, record trees well formed, decimals
//! exact. Records come back as trees of typed nodes; the checked trees are
//! the records (`conform_pack::TreeRecord`), validated and written where
//! they lie, without parsing any text.

use std::collections::HashSet;
use std::sync::Arc;

use conform_pack::{TreeNode, TreeParts, TreeRecord};

use crate::bindings_v0_2::conform::plugin::types::{
    BatchResult, Node, Outcome, OutputRecord as WitRecord, Problem as WitProblem, Span,
};

/// The deepest a record tree may nest.
pub(crate) const MAX_DEPTH: usize = 64;
/// The longest decimal text a record may hold.
pub(crate) const MAX_DECIMAL_CHARS: usize = 40;
/// Members of an object whose keys are compared pairwise; a larger
/// object's keys go through a set.
const PAIRWISE_KEYS: usize = 16;

/// A row's records while they are checked: most rows have one, which
/// then needs no list of its own.
pub(crate) type RowRecords<T> = smallvec::SmallVec<[T; 1]>;

/// One row's outcome as the plugin gave it, its records checked.
pub(crate) enum Checked {
    /// Records: (record type, record, bytes the record took).
    Converted(RowRecords<(Arc<str>, TreeRecord, usize)>),
    /// Problems, as given.
    Rejected(Vec<WitProblem>),
    /// The outcome broke the contract: why.
    Broken(String),
}

/// A row's outcome before the batch's trees are shared: records by root.
enum Pending {
    Converted(RowRecords<(Arc<str>, u32, usize)>),
    Rejected(Vec<WitProblem>),
    Broken(String),
}

/// What one row may return, from the plugin's limits: checked while the
/// records are built, so that no row costs the host more than its limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowLimits {
    /// Records one row may become.
    pub records: usize,
    /// Bytes one row's records may hold (text, names, 8 per node).
    pub bytes: usize,
}

/// The rows' outcomes, or why the whole result breaks the contract. Each
/// record and each problem is named by one outcome at most, and records'
/// nodes follow one another, so the work is linear in what the plugin sent.
pub(crate) fn check(
    result: BatchResult,
    rows: usize,
    limits: RowLimits,
) -> Result<Vec<Checked>, String> {
    if result.outcomes.len() != rows {
        return Err(format!(
            "it returned {} outcomes for {rows} records",
            result.outcomes.len()
        ));
    }
    let BatchResult {
        text,
        names,
        nodes: words,
        records,
        mut problems,
        outcomes,
    } = result;
    if words.len() % 3 != 0 {
        return Err(format!(
            "its nodes take {} words, not three each",
            words.len()
        ));
    }
    let count = words.len() / 3;
    let mut parts = Parts {
        text: &text,
        names: &names,
        first_names: TreeParts::first_of_each_name(&names),
        words: &words,
        tree: vec![TreeNode::Null; count],
        ends: vec![0; count],
        keys: Vec::new(),
        record_types: vec![None; names.len()],
    };
    let mut pending = Vec::with_capacity(rows);
    // Problems are moved out as their ranges are taken, each range once;
    // records are taken once too, their nodes in order.
    let mut problem_slots: Vec<Option<WitProblem>> = problems.drain(..).map(Some).collect();
    let mut record_used = vec![false; records.len()];
    let mut nodes_done = 0usize;
    for outcome in outcomes {
        pending.push(match outcome {
            Outcome::Converted(range) if range.len as usize > limits.records => {
                Pending::Broken(format!(
                    "it emitted {} records for one row, more than its limit of {}",
                    range.len, limits.records
                ))
            }
            Outcome::Converted(range) => {
                let start = range.start as usize;
                let end = start.saturating_add(range.len as usize);
                match record_used.get_mut(start..end) {
                    None => Pending::Broken(
                        "a converted row names records beyond those returned".into(),
                    ),
                    Some(used) if used.iter().any(|u| *u) => {
                        Pending::Broken("two rows name the same records".into())
                    }
                    Some(used) => {
                        used.iter_mut().for_each(|u| *u = true);
                        let mut budget = limits.bytes;
                        records[start..end]
                            .iter()
                            .map(|r| parts.record(r, &mut nodes_done, &mut budget))
                            .collect::<Result<RowRecords<_>, String>>()
                            .map_or_else(Pending::Broken, Pending::Converted)
                    }
                }
            }
            Outcome::Rejected(range) => {
                let start = range.start as usize;
                let end = start.saturating_add(range.len as usize);
                match problem_slots.get_mut(start..end) {
                    Some(slots) if slots.iter().all(Option::is_some) => {
                        Pending::Rejected(slots.iter_mut().filter_map(Option::take).collect())
                    }
                    Some(_) => Pending::Broken("two rows name the same problems".into()),
                    None => Pending::Broken(
                        "a rejected row names problems beyond those returned".into(),
                    ),
                }
            }
        });
    }
    let Parts { tree, ends, .. } = parts;
    let shared = Arc::new(TreeParts::new(text, names, tree, ends));
    Ok(pending
        .into_iter()
        .map(|row| match row {
            Pending::Converted(records) => Checked::Converted(
                records
                    .into_iter()
                    .map(|(record_type, root, bytes)| {
                        (record_type, TreeRecord::new(shared.clone(), root), bytes)
                    })
                    .collect(),
            ),
            Pending::Rejected(problems) => Checked::Rejected(problems),
            Pending::Broken(why) => Checked::Broken(why),
        })
        .collect())
}

/// The flat lists a result's records point into, and the trees checked
/// so far.
struct Parts<'a> {
    text: &'a str,
    names: &'a [String],
    /// For each name, the first name equal to it.
    first_names: Vec<u32>,
    /// The nodes, three words each.
    words: &'a [u32],
    /// The checked nodes, at the same indices.
    tree: Vec<TreeNode>,
    /// For each checked node, the index past its subtree.
    ends: Vec<u32>,
    /// The keys of the objects being checked (as first names), innermost last.
    keys: Vec<u32>,
    /// The names used as record types, shared by every record of the batch
    /// (a string each, not one per record).
    record_types: Vec<Option<Arc<str>>>,
}

impl<'a> Parts<'a> {
    fn text(&self, span: Span) -> Result<&'a str, String> {
        let start = span.start as usize;
        let end = start.saturating_add(span.len as usize);
        let text: &'a str = self.text;
        text.get(start..end)
            .ok_or_else(|| "a span lies outside the result's text or splits a character".into())
    }

    /// The node at `index`, from its three words.
    #[inline]
    fn node(&self, index: usize) -> Result<Node, String> {
        let words = &self.words[index * 3..index * 3 + 3];
        let (case, a, b) = (words[0], words[1], words[2]);
        let (node, well_formed) = match case {
            0 => (Node::Null, a == 0 && b == 0),
            1 => (Node::Boolean(a == 1), a <= 1 && b == 0),
            2 => (
                Node::Integer((u64::from(b) << 32 | u64::from(a)) as i64),
                true,
            ),
            3 => (Node::Decimal(Span { start: a, len: b }), true),
            4 => (Node::Text(Span { start: a, len: b }), true),
            5 => (Node::Array(a), b == 0),
            6 => (Node::Object(a), b == 0),
            7 => (Node::Key(a), b == 0),
            _ => return Err(format!("node {index} has no case {case}")),
        };
        if well_formed {
            Ok(node)
        } else {
            Err(format!(
                "node {index} of case {case} has words its case does not use ({a}, {b})"
            ))
        }
    }

    fn name(&self, index: u32) -> Result<&'a str, String> {
        self.names
            .get(index as usize)
            .map(|name: &'a String| name.as_str())
            .ok_or_else(|| format!("name {index} is not one of the result's names"))
    }

    /// The record type named `index`, made once a batch.
    fn record_type(&mut self, index: u32) -> Result<Arc<str>, String> {
        let name = self.name(index)?;
        let slot = &mut self.record_types[index as usize];
        Ok(slot.get_or_insert_with(|| Arc::from(name)).clone())
    }

    /// A record: its type, its root node, and its size (text and names it
    /// holds, and 8 bytes per node), within `budget` bytes. Its nodes must
    /// start at or after `nodes_done`, the end of the records built before.
    fn record(
        &mut self,
        record: &WitRecord,
        nodes_done: &mut usize,
        budget: &mut usize,
    ) -> Result<(Arc<str>, u32, usize), String> {
        let record_type = self.record_type(record.record_type)?;
        if (record.nodes.start as usize) < *nodes_done {
            return Err("a record's nodes overlap another record's".into());
        }
        let (first, len) = (record.nodes.start as usize, record.nodes.len as usize);
        if first.saturating_add(len) > self.tree.len() {
            return Err("a record's nodes lie beyond those returned".into());
        }
        *nodes_done = first + len;
        if let Some(bytes) = self.flat_record(first, len, *budget) {
            *budget -= bytes;
            return Ok((record_type, first as u32, bytes));
        }
        if len == 0 || !matches!(self.node(first)?, Node::Object(_)) {
            return Err("a record's first node must be an object".into());
        }
        let mut tree = Tree {
            parts: self,
            end: first + len,
            at: first,
            bytes: 0,
            budget: *budget,
        };
        tree.value(0)?;
        let (at, bytes) = (tree.at, tree.bytes);
        *budget = budget.saturating_sub(bytes);
        if at != first + len {
            return Err(format!(
                "a record's {len} nodes hold {} more than its tree uses",
                first + len - at
            ));
        }
        Ok((record_type, first as u32, bytes))
    }
}

impl Parts<'_> {
    /// The most common record checked in one loop: an object of at most
    /// 64 members whose keys are among the batch's first 64 names and
    /// whose values are null, booleans, numbers or text, within `budget`
    /// bytes. Its nodes are noted as [`Tree`] notes them and its size in
    /// bytes returned; `None` for any other record (even a broken one),
    /// left to [`Tree`], which says what is wrong.
    fn flat_record(&mut self, first: usize, len: usize, budget: usize) -> Option<usize> {
        let words = self.words.get(first * 3..(first + len) * 3)?;
        let [6, members, 0, ..] = *words else {
            return None;
        };
        if members > 64 || len != 1 + 2 * members as usize {
            return None;
        }
        let mut bytes = 8 * len;
        let mut seen = 0u64;
        for (i, member) in words[3..].chunks_exact(6).enumerate() {
            let &[7, name, 0, case, a, b] = member else {
                return None;
            };
            let key = self.names.get(name as usize)?;
            let bit = 1u64.checked_shl(self.first_names[name as usize])?;
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            bytes += key.len();
            let node = match case {
                0 if a == 0 && b == 0 => TreeNode::Null,
                1 if a <= 1 && b == 0 => TreeNode::Boolean(a == 1),
                2 => TreeNode::Integer((u64::from(b) << 32 | u64::from(a)) as i64),
                3 | 4 => {
                    let text = self.text(Span { start: a, len: b }).ok()?;
                    bytes += text.len();
                    if case == 4 {
                        TreeNode::Text(a, a + b)
                    } else {
                        let (value, shown) = checked_decimal(text).ok()?;
                        TreeNode::Decimal {
                            value,
                            shown: shown.then_some((a, a + b)),
                        }
                    }
                }
                _ => return None,
            };
            let key_at = first + 1 + 2 * i;
            self.tree[key_at] = TreeNode::Key(name);
            self.ends[key_at] = key_at as u32 + 1;
            self.tree[key_at + 1] = node;
            self.ends[key_at + 1] = key_at as u32 + 2;
        }
        if bytes > budget {
            return None;
        }
        self.tree[first] = TreeNode::Object(members);
        self.ends[first] = (first + len) as u32;
        Some(bytes)
    }
}

/// A record's nodes checked in pre-order, within a budget of bytes.
struct Tree<'p, 'a> {
    parts: &'p mut Parts<'a>,
    end: usize,
    at: usize,
    bytes: usize,
    budget: usize,
}

impl Tree<'_, '_> {
    /// Counts `bytes` more, or refuses once the row's budget is spent.
    #[inline]
    fn spend(&mut self, bytes: usize) -> Result<(), String> {
        self.bytes += bytes;
        if self.bytes > self.budget {
            return Err(format!(
                "it returned more than the bytes of records one row may hold ({})",
                self.budget
            ));
        }
        Ok(())
    }

    #[inline]
    fn next(&mut self) -> Result<Node, String> {
        if self.at >= self.end {
            return Err("a record's tree ends before its counts are consumed".into());
        }
        let node = self.parts.node(self.at)?;
        self.at += 1;
        self.spend(8)?;
        Ok(node)
    }

    /// Checks the value starting at the next node, noting it in the tree.
    fn value(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("a record nests deeper than {MAX_DEPTH} levels"));
        }
        let here = self.at;
        let node = match self.next()? {
            Node::Array(n) => {
                for _ in 0..n {
                    self.value(depth + 1)?;
                }
                TreeNode::Array(n)
            }
            Node::Object(n) => self.object(n, depth)?,
            Node::Key(_) => return Err("a key stands where a value belongs".into()),
            scalar => self.scalar(scalar)?,
        };
        self.parts.tree[here] = node;
        self.parts.ends[here] = self.at as u32;
        Ok(())
    }

    /// A value that holds no other: null, boolean, number or text.
    #[inline]
    fn scalar(&mut self, node: Node) -> Result<TreeNode, String> {
        Ok(match node {
            Node::Boolean(b) => TreeNode::Boolean(b),
            Node::Integer(i) => TreeNode::Integer(i),
            Node::Decimal(span) => {
                let text = self.parts.text(span)?;
                self.spend(text.len())?;
                let (value, shown) = checked_decimal(text)?;
                let shown = shown.then_some((span.start, span.start + span.len));
                TreeNode::Decimal { value, shown }
            }
            Node::Text(span) => {
                let text = self.parts.text(span)?;
                self.spend(text.len())?;
                TreeNode::Text(span.start, span.start + span.len)
            }
            _ => TreeNode::Null,
        })
    }

    /// The `n` members of an object whose node was just read: a key each
    /// (no key twice), then its value.
    fn object(&mut self, n: u32, depth: usize) -> Result<TreeNode, String> {
        let from = self.parts.keys.len();
        // Keys among the batch's first 64 names are told apart by a bit
        // each; others by a list, or a set once it grows long.
        let mut seen = 0u64;
        let mut set: Option<HashSet<u32>> = None;
        for _ in 0..n {
            let key_at = self.at;
            let Node::Key(index) = self.next()? else {
                return Err("an object's member does not start with a key".into());
            };
            let key = self.parts.name(index)?;
            self.spend(key.len())?;
            let first = self.parts.first_names[index as usize];
            let twice = if first < 64 {
                let bit = 1u64 << first;
                let twice = seen & bit != 0;
                seen |= bit;
                twice
            } else {
                let keys = &mut self.parts.keys;
                match &mut set {
                    Some(set) => !set.insert(first),
                    None if keys[from..].contains(&first) => true,
                    None => {
                        keys.push(first);
                        if keys.len() - from > PAIRWISE_KEYS {
                            set = Some(keys.drain(from..).collect());
                        }
                        false
                    }
                }
            };
            if twice {
                return Err(format!(
                    "an object holds the key `{}` twice",
                    conform_model::truncate(key, 64)
                ));
            }
            self.parts.tree[key_at] = TreeNode::Key(index);
            self.parts.ends[key_at] = key_at as u32 + 1;
            // Most members hold a scalar: checked here, without a call
            // (at the depth `value` would be called with, within its limit).
            let here = self.at;
            if depth < MAX_DEPTH && here < self.end && matches!(self.parts.words[here * 3], 0..=4) {
                let node = self.next()?;
                self.parts.tree[here] = self.scalar(node)?;
                self.parts.ends[here] = self.at as u32;
            } else {
                self.value(depth + 1)?;
            }
        }
        self.parts.keys.truncate(from);
        Ok(TreeNode::Object(n))
    }
}

/// A decimal node's float ([`exact_decimal`]) and whether its text is
/// what serde_json writes for that float
/// ([`conform_pack::written_as_its_float`]).
fn checked_decimal(text: &str) -> Result<(f64, bool), String> {
    if let Some(short) = short_decimal(text) {
        return Ok(short);
    }
    Ok((
        exact_decimal(text)?,
        conform_pack::written_as_its_float(text),
    ))
}

/// [`checked_decimal`] of plain decimal text of at most 15 digits (most
/// decimals), read in one pass; `None` for any other text. Its float is
/// its digits as a whole number, exact in a float, divided by an exact
/// power of ten: one correct rounding, the float `str::parse` gives.
fn short_decimal(text: &str) -> Option<(f64, bool)> {
    let (negative, body) = match text.as_bytes() {
        [b'-', body @ ..] => (true, body),
        body => (false, body),
    };
    if body.len() > 16 {
        return None;
    }
    let (mut whole, mut point) = (0u64, None);
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'0'..=b'9' => whole = whole * 10 + u64::from(b - b'0'),
            b'.' if point.is_none() => point = Some(i),
            _ => return None,
        }
    }
    let (int, frac) = match point {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, &b""[..]),
    };
    if int.is_empty() || (point.is_some() && frac.is_empty()) || int.len() + frac.len() > 15 {
        return None;
    }
    let value = whole as f64 / POWERS_OF_TEN[frac.len()];
    // As serde_json writes a float of at most 15 significant digits: a
    // point, no leading zero but the units' one, no trailing zero but a
    // lone `.0`, and below 1 no more than four zeros after the point.
    let shown = point.is_some()
        && !(int.len() > 1 && int[0] == b'0')
        && !(frac.len() > 1 && frac[frac.len() - 1] == b'0')
        && (int != b"0" || frac == b"0" || frac.iter().take_while(|&&b| b == b'0').count() <= 4);
    Some((if negative { -value } else { value }, shown))
}

/// 10⁰ to 10¹⁵, each exact in a float.
const POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// A decimal node's number: plain decimal text (`-`? digits (`.` digits)?)
/// of at most [`MAX_DECIMAL_CHARS`], which the float the record holds
/// prints back as the same value, so nothing is rounded unseen.
fn exact_decimal(text: &str) -> Result<f64, String> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if text.len() > MAX_DECIMAL_CHARS || !digits(int) || !digits(frac) {
        return Err(format!(
            "`{}` is not plain decimal text",
            conform_model::truncate(text, 48)
        ));
    }
    let float: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    // The float's shortest decimal form against the text, both without
    // sign, leading zeros or trailing zeros: equal digits, equal value.
    // Up to 15 significant digits (and 40 characters) every decimal is
    // held exactly, so the common case needs no printing.
    if significant_digits(text) > f64::DIGITS as usize
        && canonical_digits(text) != canonical_digits(&float.abs().to_string())
    {
        return Err(format!(
            "the decimal `{text}` cannot be held exactly as a number of the record; round it to fewer digits"
        ));
    }
    if float.is_finite() {
        Ok(float)
    } else {
        Err(format!("`{text}` is not a finite number"))
    }
}

/// How many significant digits plain decimal text has.
fn significant_digits(text: &str) -> usize {
    match canonical_digits(text) {
        ("", frac) => frac.trim_start_matches('0').len(),
        (int, frac) => int.len() + frac.len(),
    }
}

/// Plain decimal text as (integer digits, fraction digits), without sign,
/// leading zeros of the integer or trailing zeros of the fraction.
fn canonical_digits(text: &str) -> (&str, &str) {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    (int.trim_start_matches('0'), frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings_v0_2::conform::plugin::types::Range;

    fn result(text: &str, names: &[&str], nodes: Vec<Node>, outcomes: Vec<Outcome>) -> BatchResult {
        BatchResult {
            text: text.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
            records: vec![WitRecord {
                record_type: 0,
                nodes: Range {
                    start: 0,
                    len: nodes.len() as u32,
                },
            }],
            nodes: words(&nodes),
            problems: vec![],
            outcomes,
        }
    }

    /// Nodes as the contract carries them (as the SDK's `encode_node`).
    fn words(nodes: &[Node]) -> Vec<u32> {
        nodes
            .iter()
            .flat_map(|node| match *node {
                Node::Null => [0, 0, 0],
                Node::Boolean(b) => [1, u32::from(b), 0],
                Node::Integer(i) => [2, i as u32, (i >> 32) as u32],
                Node::Decimal(s) => [3, s.start, s.len],
                Node::Text(s) => [4, s.start, s.len],
                Node::Array(n) => [5, n, 0],
                Node::Object(n) => [6, n, 0],
                Node::Key(k) => [7, k, 0],
            })
            .collect()
    }

    #[test]
    fn nodes_cross_as_three_words_each_checked() {
        let record = |words: Vec<u32>| BatchResult {
            records: vec![WitRecord {
                record_type: 0,
                nodes: Range {
                    start: 0,
                    len: (words.len() / 3) as u32,
                },
            }],
            nodes: words,
            ..result("", &["part", "a"], vec![], converted())
        };
        let integer = |i: i64| {
            let mut w = words(&[Node::Object(1), Node::Key(1)]);
            w.extend(words(&[Node::Integer(i)]));
            match check(record(w), 1, LIMITS).unwrap().pop().unwrap() {
                Checked::Converted(mut r) => r.pop().unwrap().1.to_value()["a"].clone(),
                _ => panic!("an integer is a record's value"),
            }
        };
        for i in [0, -1, 1 << 40, i64::MIN, i64::MAX] {
            assert_eq!(integer(i), serde_json::json!(i));
        }
        let head = words(&[Node::Object(1), Node::Key(1)]);
        for (tail, why) in [
            (vec![9, 0, 0], "no case 9"),
            (vec![0, 1, 0], "does not use"),
            (vec![1, 2, 0], "does not use"),
            (vec![5, 0, 7], "does not use"),
        ] {
            let w: Vec<u32> = head.iter().copied().chain(tail).collect();
            match check(record(w), 1, LIMITS).unwrap().pop().unwrap() {
                Checked::Broken(message) => assert!(message.contains(why), "{why}: {message}"),
                _ => panic!("{why} passed"),
            }
        }
        let ragged = BatchResult {
            nodes: vec![6, 0],
            ..result("", &["part"], vec![], converted())
        };
        assert!(check(ragged, 1, LIMITS)
            .err()
            .unwrap()
            .contains("not three each"));
    }

    const LIMITS: RowLimits = RowLimits {
        records: 4,
        bytes: 4096,
    };

    fn span(start: u32, len: u32) -> Span {
        Span { start, len }
    }

    fn converted() -> Vec<Outcome> {
        vec![Outcome::Converted(Range { start: 0, len: 1 })]
    }

    fn one(r: BatchResult) -> Result<serde_json::Value, String> {
        match check(r, 1, LIMITS)?.pop().unwrap() {
            Checked::Converted(mut records) => Ok(records.pop().unwrap().1.to_value()),
            Checked::Broken(why) => Err(why),
            Checked::Rejected(_) => Err("rejected".into()),
        }
    }

    #[test]
    fn a_tree_becomes_the_record_it_describes() {
        let nodes = vec![
            Node::Object(3),
            Node::Key(1),
            Node::Decimal(span(0, 4)),
            Node::Key(2),
            Node::Array(2),
            Node::Integer(7),
            Node::Text(span(4, 6)),
            Node::Key(3),
            Node::Null,
        ];
        let value = one(result(
            "3.18纸箱",
            &["part", "length_mm", "tags", "note"],
            nodes,
            converted(),
        ))
        .unwrap();
        assert_eq!(
            value,
            serde_json::json!({"length_mm": 3.18, "tags": [7, "纸箱"], "note": null})
        );
    }

    proptest::proptest! {
        /// A flat record (the common case, checked in one loop) becomes
        /// the value its members describe, and a key given twice is refused.
        #[test]
        fn flat_records_become_what_their_members_say(
            members in proptest::collection::vec((0u8..5, proptest::num::i64::ANY, 0u32..9000), 0..12),
            twice in proptest::bool::weighted(0.2),
        ) {
            let text = "纸箱12.5-0.0700";
            let names: Vec<String> =
                std::iter::once("part".to_string()).chain((0..12).map(|i| format!("k{i}"))).collect();
            let mut nodes = vec![Node::Object(members.len() as u32 + u32::from(twice))];
            let mut expected = serde_json::Map::new();
            for (i, &(kind, integer, fraction)) in members.iter().enumerate() {
                nodes.push(Node::Key(i as u32 + 1));
                let (node, value) = match kind {
                    0 => (Node::Null, serde_json::Value::Null),
                    1 => (Node::Boolean(integer % 2 == 0), serde_json::json!(integer % 2 == 0)),
                    2 => (Node::Integer(integer), serde_json::json!(integer)),
                    3 => (Node::Text(span(0, 6)), serde_json::json!("纸箱")),
                    _ if fraction % 2 == 0 => (Node::Decimal(span(6, 4)), serde_json::json!(12.5)),
                    _ => (Node::Decimal(span(10, 7)), serde_json::json!(-0.07)),
                };
                nodes.push(node);
                expected.insert(names[i + 1].clone(), value);
            }
            if twice {
                nodes.push(Node::Key(1));
                nodes.push(Node::Null);
            }
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let checked = one(result(text, &names, nodes, converted()));
            if twice && !members.is_empty() {
                proptest::prop_assert!(checked.unwrap_err().contains("twice"));
            } else if !twice {
                proptest::prop_assert_eq!(checked.unwrap(), serde_json::Value::Object(expected));
            }
        }
    }

    #[test]
    fn broken_trees_are_refused_with_a_reason() {
        let cases: Vec<(Vec<Node>, &str)> = vec![
            (vec![Node::Array(0)], "first node must be an object"),
            (
                vec![Node::Object(2), Node::Key(1), Node::Null],
                "ends before",
            ),
            (
                vec![Node::Object(1), Node::Key(1), Node::Null, Node::Null],
                "more than its tree uses",
            ),
            (
                vec![
                    Node::Object(2),
                    Node::Key(1),
                    Node::Null,
                    Node::Key(1),
                    Node::Null,
                ],
                "twice",
            ),
            (vec![Node::Object(1), Node::Key(9), Node::Null], "name 9"),
            (
                vec![Node::Object(1), Node::Key(1), Node::Text(span(4, 2))],
                "splits a character",
            ),
            (
                vec![Node::Object(1), Node::Null],
                "does not start with a key",
            ),
            (
                vec![Node::Object(1), Node::Key(1), Node::Decimal(span(0, 3))],
                "not plain decimal",
            ),
        ];
        for (nodes, why) in cases {
            let err = one(result("1e5纸", &["part", "a"], nodes, converted())).unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
        let deep: Vec<Node> = std::iter::once(Node::Object(1))
            .chain((0..100).flat_map(|_| [Node::Key(1), Node::Object(1)]))
            .collect();
        assert!(one(result("", &["part", "a"], deep, converted()))
            .unwrap_err()
            .contains("deeper"));
        // Objects nested to the limit hold a scalar; one level more, not.
        let nested = |levels: usize| -> Vec<Node> {
            std::iter::once(Node::Object(1))
                .chain((0..levels).flat_map(|_| [Node::Key(1), Node::Object(1)]))
                .chain([Node::Key(1), Node::Null])
                .collect()
        };
        assert!(one(result(
            "",
            &["part", "a"],
            nested(MAX_DEPTH - 1),
            converted()
        ))
        .is_ok());
        assert!(
            one(result("", &["part", "a"], nested(MAX_DEPTH), converted()))
                .unwrap_err()
                .contains("deeper")
        );
        let err = check(
            result("", &["part"], vec![Node::Object(0)], vec![]),
            1,
            LIMITS,
        )
        .err()
        .unwrap();
        assert!(err.contains("0 outcomes for 1"), "{err}");
    }

    #[test]
    fn records_and_nodes_are_used_once_and_rows_keep_to_their_limits() {
        let record = |start: u32, len: u32| WitRecord {
            record_type: 0,
            nodes: Range { start, len },
        };
        let nodes = vec![Node::Object(1), Node::Key(1), Node::Text(span(0, 4))];
        let shared = BatchResult {
            text: "abcd".into(),
            names: vec!["part".into(), "a".into()],
            nodes: words(&nodes),
            records: vec![record(0, 3), record(0, 3)],
            problems: vec![],
            outcomes: vec![
                Outcome::Converted(Range { start: 0, len: 1 }),
                Outcome::Converted(Range { start: 0, len: 1 }),
                Outcome::Converted(Range { start: 1, len: 1 }),
            ],
        };
        let why: Vec<String> = check(shared, 3, LIMITS)
            .unwrap()
            .into_iter()
            .map(|c| match c {
                Checked::Converted(_) => "converted".into(),
                Checked::Broken(why) => why,
                Checked::Rejected(_) => "rejected".into(),
            })
            .collect();
        assert_eq!(why[0], "converted");
        assert!(why[1].contains("same records"), "{why:?}");
        assert!(why[2].contains("overlap"), "{why:?}");

        // Past the row's bytes: refused while building, not after.
        let big = "x".repeat(5000);
        let over = result(
            &big,
            &["part", "a"],
            vec![Node::Object(1), Node::Key(1), Node::Text(span(0, 5000))],
            converted(),
        );
        assert!(one(over).unwrap_err().contains("bytes"));
        // Past the row's records: refused before building any.
        let many = BatchResult {
            outcomes: vec![Outcome::Converted(Range { start: 0, len: 5 })],
            ..result("", &["part"], vec![Node::Object(0)], vec![])
        };
        match check(many, 1, LIMITS).unwrap().pop().unwrap() {
            Checked::Broken(why) => assert!(why.contains("limit of 4"), "{why}"),
            _ => panic!("five records for one row pass a limit of four"),
        }
    }

    #[test]
    fn decimals_must_be_held_exactly() {
        let shown = |text| {
            serde_json::Number::from_f64(exact_decimal(text).unwrap())
                .unwrap()
                .to_string()
        };
        assert_eq!(shown("3.18"), "3.18");
        assert_eq!(shown("1134.0"), "1134.0");
        assert_eq!(shown("-0.5"), "-0.5");
        assert!(exact_decimal("0.1000000000000000055511151231257827").is_err());
        // Past 28 fractional digits a decimal type would round; digits do not.
        assert!(exact_decimal("0.10000000000000000000000000001").is_err());
        assert_eq!(shown("007.50"), "7.5");
        assert!(exact_decimal("12345678901234567890").is_err());
        for bad in ["1.", ".5", "+1", "1e3", "NaN", ""] {
            assert!(exact_decimal(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// The one-pass reading of a short decimal answers as the general one.
        #[test]
        fn short_decimals_are_read_as_the_general_path_reads_them(
            text in r"-?[0-9]{0,9}(\.[0-9]{0,8})?|-?0\.0{0,7}[1-9][0-9]{0,3}|.{0,6}",
        ) {
            if let Some(short) = short_decimal(&text) {
                let general = exact_decimal(&text).map(|value| {
                    (value.to_bits(), conform_pack::written_as_its_float(&text))
                });
                proptest::prop_assert_eq!(Ok((short.0.to_bits(), short.1)), general);
            }
        }
    }

    proptest::proptest! {
        /// The shortcut for up to 15 significant digits takes nothing the
        /// float could not print back.
        #[test]
        fn fifteen_significant_digits_are_held_exactly(
            digits in "[1-9][0-9]{0,14}",
            point in 0usize..=15,
            zeros in 0usize..=20,
            negative in proptest::bool::ANY,
        ) {
            let point = point.min(digits.len());
            let (int, frac) = digits.split_at(digits.len() - point);
            let text = match (int, frac) {
                ("", frac) => format!("0.{}{frac}", "0".repeat(zeros)),
                (int, "") => format!("{int}{}", "0".repeat(zeros.min(5))),
                (int, frac) => format!("{int}.{frac}"),
            };
            let text = if negative { format!("-{text}") } else { text };
            if text.len() <= MAX_DECIMAL_CHARS {
                let number = exact_decimal(&text).unwrap();
                let printed = number.abs().to_string();
                proptest::prop_assert_eq!(canonical_digits(&text), canonical_digits(&printed));
            }
        }
    }
}
