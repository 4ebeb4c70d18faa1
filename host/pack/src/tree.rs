//! Records as trees of typed nodes, as contract 0.2.0 returns them,
//! validated against their schema and written as JSON where they lie: no
//! `serde_json::Value` is built for a valid record (the pipeline builds one
//! only for a record that fails, for the validator's messages, for a type
//! with record rules, or for a schema that wants integers in more places
//! than [`crate::RecordValidator::writes_trees`] allows).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use jsonschema::json::{Array, Json, Node, NodeIdentity, Object};
use jsonschema::types::JsonType;
use serde_json::{Map, Number, Value};
use smallvec::SmallVec;

use crate::validate::exact_integer;

/// A node of a record tree, in pre-order: a container counts its children,
/// an object's member is a key node followed by its value's nodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TreeNode {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean(bool),
    /// A whole number.
    Integer(i64),
    /// A decimal, which the float holds exactly (checked by whoever built
    /// the tree); `shown`: bytes `start..end` of the batch's text when they
    /// are exactly what serde_json writes for the float
    /// ([`written_as_its_float`]), so that the writer copies them.
    Decimal {
        /// The number.
        value: f64,
        /// Its text, when written as is.
        shown: Option<(u32, u32)>,
    },
    /// Text: bytes `start..end` of the batch's text.
    Text(u32, u32),
    /// A list of this many items.
    Array(u32),
    /// An object of this many members.
    Object(u32),
    /// A member's key: an index into the batch's names.
    Key(u32),
}

/// Whether serde_json writes the float that plain decimal `text` parses
/// to as `text` itself: no leading zero but the units' one, no trailing
/// zero but a lone `.0`, at most 15 significant digits (so the float's
/// shortest form has the same digits) and a size serde_json writes without
/// an exponent (from 10⁻⁵ to below 10¹⁶).
pub fn written_as_its_float(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    let Some((int, frac)) = body.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || (int.len() > 1 && int.starts_with('0')) {
        return false;
    }
    if frac.len() > 1 && frac.ends_with('0') {
        return false;
    }
    let significant = match (int, frac) {
        (_, "0") => int.len(),
        ("0", _) => {
            let leading = frac.len() - frac.trim_start_matches('0').len();
            if leading > 4 {
                return false;
            }
            frac.len() - leading
        }
        _ => int.len() + frac.len(),
    };
    significant <= 15
}

/// The records of one batch: the text and names their nodes point into,
/// shared by every record of the batch.
#[derive(Debug)]
pub struct TreeParts {
    text: String,
    names: Vec<String>,
    nodes: Vec<TreeNode>,
    /// For each node, the index just past its subtree.
    ends: Vec<u32>,
    /// For each name used as a key, its place among those names in byte
    /// order (equal names share it): the order a record's members are
    /// written in.
    ranks: Vec<u32>,
    /// For each name used as a key, the name as JSON text and a colon
    /// (quoted and escaped once a batch, not once a record); empty for the
    /// others.
    quoted: Vec<Box<[u8]>>,
    /// This batch's number, unique in the process: what is learnt about
    /// its names is kept under it.
    id: u64,
}

/// Numbers of batches' parts and of compiled schemas, never reused.
static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A number never given before (of [`IDS`]).
pub(crate) fn unique_id() -> u64 {
    IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl TreeParts {
    /// The parts of a batch's records. The caller has checked every tree
    /// it will make records of: spans inside `text` on character
    /// boundaries, keys inside `names`, counts matching the nodes, no key
    /// twice in an object, and `ends[i]` the index past node `i`'s subtree.
    pub fn new(text: String, names: Vec<String>, nodes: Vec<TreeNode>, ends: Vec<u32>) -> Self {
        // Only the names a checked tree uses as keys are ranked: what a
        // plugin sends and no record uses costs no sorting.
        let mut used = vec![false; names.len()];
        for node in &nodes {
            if let TreeNode::Key(name) = *node {
                used[name as usize] = true;
            }
        }
        let mut order: Vec<u32> = (0..names.len() as u32)
            .filter(|&name| used[name as usize])
            .collect();
        order.sort_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
        let mut ranks = vec![0; names.len()];
        let mut quoted: Vec<Box<[u8]>> = vec![Box::default(); names.len()];
        let mut rank = 0;
        for (i, &name) in order.iter().enumerate() {
            if i > 0 && names[order[i - 1] as usize] != names[name as usize] {
                rank += 1;
            }
            ranks[name as usize] = rank;
            let mut key = serde_json::to_vec(&names[name as usize]).expect(WRITTEN);
            key.push(b':');
            quoted[name as usize] = key.into_boxed_slice();
        }
        TreeParts {
            text,
            names,
            nodes,
            ends,
            ranks,
            quoted,
            id: unique_id(),
        }
    }

    /// This batch's number, unique in the process.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Each name's index, and the index of the first name equal to it:
    /// checkers compare keys by these.
    pub fn first_of_each_name(names: &[String]) -> Vec<u32> {
        let mut first: HashMap<&str, u32> = HashMap::with_capacity(names.len());
        names
            .iter()
            .enumerate()
            .map(|(i, name)| *first.entry(name.as_str()).or_insert(i as u32))
            .collect()
    }

    pub(crate) fn text(&self, start: u32, end: u32) -> &str {
        &self.text[start as usize..end as usize]
    }

    pub(crate) fn name(&self, index: u32) -> &str {
        &self.names[index as usize]
    }
}

/// One record: its batch's parts and the index of its root node.
#[derive(Debug, Clone)]
pub struct TreeRecord {
    parts: Arc<TreeParts>,
    root: u32,
}

/// Where a value lies in its record, a step at a time from the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'a> {
    /// The member of that name.
    Member(&'a str),
    /// An item of a list.
    Item,
}

impl PartialEq for TreeRecord {
    /// Records are equal when their values are.
    fn eq(&self, other: &TreeRecord) -> bool {
        self.to_value() == other.to_value()
    }
}

impl TreeRecord {
    /// The record whose root node is `root` in `parts`.
    pub fn new(parts: Arc<TreeParts>, root: u32) -> TreeRecord {
        TreeRecord { parts, root }
    }

    /// The record as a JSON value.
    pub fn to_value(&self) -> Value {
        self.node().to_value().into_owned()
    }

    /// The record's root, for the validator.
    pub(crate) fn node(&self) -> TreeValue<'_> {
        TreeValue::At(&self.parts, self.root)
    }

    /// The batch's parts the record lies in.
    pub(crate) fn parts(&self) -> &TreeParts {
        &self.parts
    }

    /// Writes the record as JSON text, members in key order, numbers and
    /// strings exactly as `serde_json` writes the same value, so the text
    /// equals the record's value serialized. A decimal that is a whole
    /// number where `is_integer` says the standard wants one is written as
    /// an integer.
    pub fn write_json(&self, out: &mut Vec<u8>, is_integer: &dyn Fn(&[Place<'_>]) -> bool) {
        let mut writer = Writer {
            parts: &self.parts,
            out,
            path: SmallVec::new(),
            members: SmallVec::new(),
            is_integer,
        };
        writer.value(self.root, None);
    }
}

/// Writes a record's nodes as JSON.
struct Writer<'p, 'o> {
    parts: &'p TreeParts,
    out: &'o mut Vec<u8>,
    /// Where the value being written lies (on the stack for most records).
    path: SmallVec<[Place<'p>; 8]>,
    /// Scratch for ordering an object's members: (rank, key node).
    members: SmallVec<[(u32, u32); 32]>,
    is_integer: &'o dyn Fn(&[Place<'_>]) -> bool,
}

const WRITTEN: &str = "writing JSON to a Vec cannot fail";

impl Writer<'_, '_> {
    /// Writes node `at`; `member` is the key (a name) it is the value of,
    /// which the path gets only when a value needs it: a nested one, or a
    /// whole number that may be written as an integer.
    fn value(&mut self, at: u32, member: Option<u32>) {
        let parts = self.parts;
        match parts.nodes[at as usize] {
            TreeNode::Null => self.out.extend_from_slice(b"null"),
            TreeNode::Boolean(b) => self
                .out
                .extend_from_slice(if b { b"true" } else { b"false" }),
            TreeNode::Integer(i) => self.integer(i),
            TreeNode::Decimal { value, shown } => {
                match exact_integer(value).filter(|_| self.wants_integer(member)) {
                    Some(i) => self.integer(i),
                    None => match shown {
                        Some((start, end)) => self
                            .out
                            .extend_from_slice(parts.text(start, end).as_bytes()),
                        None => serde_json::to_writer(&mut *self.out, &value).expect(WRITTEN),
                    },
                }
            }
            TreeNode::Text(start, end) => {
                serde_json::to_writer(&mut *self.out, parts.text(start, end)).expect(WRITTEN)
            }
            TreeNode::Array(n) => {
                self.enter(member);
                self.out.push(b'[');
                let mut item = at + 1;
                for i in 0..n {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.path.push(Place::Item);
                    self.value(item, None);
                    self.path.pop();
                    item = parts.ends[item as usize];
                }
                self.out.push(b']');
                self.leave(member);
            }
            TreeNode::Object(n) => {
                self.enter(member);
                let from = self.members.len();
                let mut members = Members { parts, at, len: n }.members();
                while let Some((name, key)) = members.next_key() {
                    self.members.push((parts.ranks[name as usize], key));
                }
                in_key_order(&mut self.members[from..]);
                self.out.push(b'{');
                for i in from..self.members.len() {
                    if i > from {
                        self.out.push(b',');
                    }
                    let key = self.members[i].1;
                    let TreeNode::Key(name) = parts.nodes[key as usize] else {
                        unreachable!("a member starts with a key")
                    };
                    // The key, its colon included.
                    self.out.extend_from_slice(&parts.quoted[name as usize]);
                    self.value(key + 1, Some(name));
                }
                self.out.push(b'}');
                self.members.truncate(from);
                self.leave(member);
            }
            TreeNode::Key(_) => unreachable!("a checked tree has keys only before values"),
        }
    }

    fn integer(&mut self, i: i64) {
        serde_json::to_writer(&mut *self.out, &i).expect(WRITTEN);
    }

    /// Whether the standard wants a whole number at the value of `member`
    /// here.
    fn wants_integer(&mut self, member: Option<u32>) -> bool {
        self.enter(member);
        let wanted = (self.is_integer)(&self.path);
        self.leave(member);
        wanted
    }

    /// Steps into the value of `member`, if any.
    fn enter(&mut self, member: Option<u32>) {
        if let Some(name) = member {
            self.path.push(Place::Member(self.parts.name(name)));
        }
    }

    /// Steps back out of the value of `member`, if any.
    fn leave(&mut self, member: Option<u32>) {
        if member.is_some() {
            self.path.pop();
        }
    }
}

thread_local! {
    /// The ranks of the last object's members sorted by [`in_key_order`],
    /// as given, and the order sorting put them in: the records of a batch
    /// mostly give their keys in one order.
    static LAST_ORDER: std::cell::RefCell<(Vec<u32>, Vec<u32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Sorts an object's members, (rank, key node), by rank: in the order
/// found for the last object when its ranks came in the same order.
fn in_key_order(members: &mut [(u32, u32)]) {
    LAST_ORDER.with(|last| {
        let mut last = last.borrow_mut();
        let (ranks, order) = &mut *last;
        let same_ranks = ranks.len() == members.len()
            && ranks
                .iter()
                .zip(members.iter())
                .all(|(rank, member)| *rank == member.0);
        if same_ranks {
            let given: SmallVec<[(u32, u32); 32]> = SmallVec::from_slice(members);
            for (member, &i) in members.iter_mut().zip(order.iter()) {
                *member = given[i as usize];
            }
            return;
        }
        ranks.clear();
        ranks.extend(members.iter().map(|member| member.0));
        order.clear();
        order.extend(0..members.len() as u32);
        order.sort_unstable_by_key(|&i| members[i as usize].0);
        members.sort_unstable();
    });
}

/// Records as trees, a JSON representation the schema validator reads.
pub struct TreeJson;

impl Json for TreeJson {
    type Node<'a> = TreeValue<'a>;
    type PreparedKey = Box<str>;
    type StringBuffer = String;

    // A lookup walks the members; a pass over them costs no more.
    const KEYS_PER_LOOKUP: usize = 2;
    const ACYCLIC: bool = true;

    fn prepare_key(key: &str) -> Box<str> {
        key.into()
    }

    fn with_string_node<T>(
        buffer: &mut String,
        string: &str,
        f: impl FnOnce(TreeValue<'_>) -> T,
    ) -> T {
        buffer.clear();
        buffer.push_str(string);
        f(TreeValue::Name(buffer))
    }
}

/// A value of a record tree.
#[derive(Debug, Clone, Copy)]
pub enum TreeValue<'a> {
    /// The node at this index.
    At(&'a TreeParts, u32),
    /// A member's name, as a string of its own.
    Name(&'a str),
}

impl<'a> TreeValue<'a> {
    /// The node's batch parts, index and node (`None` for a member's name).
    pub(crate) fn node(&self) -> Option<(&'a TreeParts, u32, TreeNode)> {
        match *self {
            TreeValue::At(parts, at) => Some((parts, at, parts.nodes[at as usize])),
            TreeValue::Name(_) => None,
        }
    }
}

impl<'a> Node<'a, TreeJson> for TreeValue<'a> {
    type Object = Members<'a>;
    type Array = Items<'a>;
    type Number = Number;

    fn as_object(&self) -> Option<Members<'a>> {
        match self.node()? {
            (parts, at, TreeNode::Object(len)) => Some(Members { parts, at, len }),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<Items<'a>> {
        match self.node()? {
            (parts, at, TreeNode::Array(len)) => Some(Items { parts, at, len }),
            _ => None,
        }
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        match *self {
            TreeValue::Name(name) => Some(Cow::Borrowed(name)),
            TreeValue::At(parts, at) => match parts.nodes[at as usize] {
                TreeNode::Text(start, end) => Some(Cow::Borrowed(parts.text(start, end))),
                _ => None,
            },
        }
    }

    fn as_number(&self) -> Option<Number> {
        match self.node()?.2 {
            TreeNode::Integer(i) => Some(Number::from(i)),
            TreeNode::Decimal { value, .. } => Number::from_f64(value),
            _ => None,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self.node()?.2 {
            TreeNode::Boolean(b) => Some(b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.node(), Some((_, _, TreeNode::Null)))
    }

    fn json_type(&self) -> JsonType {
        match self.node() {
            None => JsonType::String,
            Some((_, _, node)) => match node {
                TreeNode::Null => JsonType::Null,
                TreeNode::Boolean(_) => JsonType::Boolean,
                TreeNode::Integer(_) | TreeNode::Decimal { .. } => JsonType::Number,
                TreeNode::Text(..) => JsonType::String,
                TreeNode::Array(_) => JsonType::Array,
                TreeNode::Object(_) => JsonType::Object,
                TreeNode::Key(_) => unreachable!("a value is never a key"),
            },
        }
    }

    fn equals_value(&self, expected: &Value) -> bool {
        // `enum` and `const` of text, the common case, without building a value.
        match (self.as_string(), expected) {
            (Some(text), Value::String(wanted)) => *text == **wanted,
            (Some(_), _) | (None, Value::String(_)) => false,
            (None, _) => jsonschema::json::cmp::equal(&self.to_value(), expected),
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        let (parts, at) = match *self {
            TreeValue::Name(name) => return Cow::Owned(Value::String(name.to_string())),
            TreeValue::At(parts, at) => (parts, at),
        };
        Cow::Owned(match parts.nodes[at as usize] {
            TreeNode::Null => Value::Null,
            TreeNode::Boolean(b) => Value::Bool(b),
            TreeNode::Integer(i) => Value::from(i),
            TreeNode::Decimal { value, .. } => {
                Number::from_f64(value).map_or(Value::Null, Value::Number)
            }
            TreeNode::Text(start, end) => Value::String(parts.text(start, end).to_string()),
            TreeNode::Array(len) => Value::Array(
                Items { parts, at, len }
                    .elements()
                    .map(|item| item.to_value().into_owned())
                    .collect(),
            ),
            TreeNode::Object(len) => {
                let mut members = Map::new();
                for (name, value) in (Members { parts, at, len }).members() {
                    members.insert(name.to_string(), value.to_value().into_owned());
                }
                Value::Object(members)
            }
            TreeNode::Key(_) => unreachable!("a value is never a key"),
        })
    }

    fn identity(&self) -> Option<NodeIdentity> {
        match *self {
            TreeValue::At(parts, at) => {
                Some(NodeIdentity::tagged(std::ptr::from_ref(parts) as usize, at))
            }
            TreeValue::Name(_) => None,
        }
    }
}

/// An object's members.
#[derive(Debug, Clone, Copy)]
pub struct Members<'a> {
    parts: &'a TreeParts,
    at: u32,
    len: u32,
}

/// An object's members in order: (name, value).
pub struct MembersIter<'a> {
    parts: &'a TreeParts,
    key: u32,
    left: u32,
}

impl<'a> MembersIter<'a> {
    /// The next member's key, as the index of its name and the index of
    /// its node (the value's is the next).
    fn next_key(&mut self) -> Option<(u32, u32)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let key = self.key;
        let TreeNode::Key(name) = self.parts.nodes[key as usize] else {
            unreachable!("a checked object's members start with a key")
        };
        self.key = self.parts.ends[key as usize + 1];
        Some((name, key))
    }

    /// The members as (index of the key's name, value).
    pub(crate) fn by_name_index(mut self) -> impl Iterator<Item = (u32, TreeValue<'a>)> {
        let parts = self.parts;
        std::iter::from_fn(move || {
            let (name, key) = self.next_key()?;
            Some((name, TreeValue::At(parts, key + 1)))
        })
    }
}

impl<'a> Iterator for MembersIter<'a> {
    type Item = (&'a str, TreeValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let (name, key) = self.next_key()?;
        Some((self.parts.name(name), TreeValue::At(self.parts, key + 1)))
    }
}

impl<'a> Object<'a, TreeJson> for Members<'a> {
    type Node = TreeValue<'a>;
    type MemberName = &'a str;
    type MembersIter = MembersIter<'a>;

    fn len(&self) -> usize {
        self.len as usize
    }

    fn get(&self, key: &Box<str>) -> Option<TreeValue<'a>> {
        self.members()
            .find(|(name, _)| *name == &**key)
            .map(|(_, value)| value)
    }

    fn members(&self) -> MembersIter<'a> {
        MembersIter {
            parts: self.parts,
            key: self.at + 1,
            left: self.len,
        }
    }
}

/// A list's items.
#[derive(Debug, Clone, Copy)]
pub struct Items<'a> {
    parts: &'a TreeParts,
    at: u32,
    len: u32,
}

/// A list's items in order.
pub struct ItemsIter<'a> {
    parts: &'a TreeParts,
    item: u32,
    left: u32,
}

impl<'a> Iterator for ItemsIter<'a> {
    type Item = TreeValue<'a>;

    fn next(&mut self) -> Option<TreeValue<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let item = self.item;
        self.item = self.parts.ends[item as usize];
        Some(TreeValue::At(self.parts, item))
    }
}

impl<'a> Array<'a, TreeJson> for Items<'a> {
    type Node = TreeValue<'a>;
    type ElementsIter = ItemsIter<'a>;

    fn len(&self) -> usize {
        self.len as usize
    }

    fn elements(&self) -> ItemsIter<'a> {
        ItemsIter {
            parts: self.parts,
            item: self.at + 1,
            left: self.len,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::RecordValidator;
    use proptest::prelude::*;
    use serde_json::json;

    /// A value as the tree a plugin sends: members in reverse key order
    /// (the writer must order them), each key a name of its own (equal
    /// names at several indices).
    pub(crate) fn tree_of(value: &Value) -> TreeRecord {
        let mut build = Build::default();
        build.value(value);
        let Build {
            text,
            names,
            nodes,
            ends,
        } = build;
        TreeRecord::new(Arc::new(TreeParts::new(text, names, nodes, ends)), 0)
    }

    #[derive(Default)]
    struct Build {
        text: String,
        names: Vec<String>,
        nodes: Vec<TreeNode>,
        ends: Vec<u32>,
    }

    impl Build {
        fn value(&mut self, value: &Value) {
            let at = self.nodes.len();
            self.nodes.push(TreeNode::Null);
            self.ends.push(0);
            let node = match value {
                Value::Null => TreeNode::Null,
                Value::Bool(b) => TreeNode::Boolean(*b),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => TreeNode::Integer(i),
                    None => {
                        let value = n.as_f64().unwrap();
                        let text = value.to_string();
                        let start = self.text.len() as u32;
                        self.text.push_str(&text);
                        let shown =
                            written_as_its_float(&text).then_some((start, self.text.len() as u32));
                        TreeNode::Decimal { value, shown }
                    }
                },
                Value::String(s) => {
                    let start = self.text.len() as u32;
                    self.text.push_str(s);
                    TreeNode::Text(start, self.text.len() as u32)
                }
                Value::Array(items) => {
                    items.iter().for_each(|item| self.value(item));
                    TreeNode::Array(items.len() as u32)
                }
                Value::Object(members) => {
                    for (name, member) in members.iter().rev() {
                        let key_at = self.nodes.len() as u32;
                        self.names.push(name.clone());
                        self.nodes.push(TreeNode::Key(self.names.len() as u32 - 1));
                        self.ends.push(key_at + 1);
                        self.value(member);
                    }
                    TreeNode::Object(members.len() as u32)
                }
            };
            self.nodes[at] = node;
            self.ends[at] = self.nodes.len() as u32;
        }
    }

    /// The tree's verdict is the value's, and a valid tree is written as
    /// its normalized value serializes.
    fn agrees(validator: &RecordValidator, value: &Value) -> Result<bool, TestCaseError> {
        let tree = tree_of(value);
        prop_assert_eq!(&tree.to_value(), value);
        let valid = validator.validate(value).is_ok();
        prop_assert_eq!(validator.is_valid_tree(&tree), valid, "{}", value);
        if valid {
            let mut normalized = value.clone();
            validator.normalize(&mut normalized);
            let mut written = Vec::new();
            validator.write_tree(&tree, &mut written);
            prop_assert_eq!(String::from_utf8(written).unwrap(), normalized.to_string());
        }
        Ok(valid)
    }

    fn schema(path: &str) -> RecordValidator {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../standards")
                .join(path),
        )
        .unwrap();
        RecordValidator::compile(&serde_json::from_str(&text).unwrap()).unwrap()
    }

    fn leaf() -> impl Strategy<Value = Value> {
        let texts = vec![
            "CT",
            "",
            "法兰盘",
            "a\"b\\\n\u{1}",
            "JG-10023",
            "jg-1",
            "91370200MA3C1234X5",
            "SX-0203",
            "PES",
            "2026-11-02",
            "2026-02-30",
            "cn-quality",
        ];
        let numbers = vec![
            0.0, -1.5, 1.5, 20.0, 3.18, 1e20, 1e-7, 123456.789, 0.1, 100.0, 12.5,
        ];
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-3i64..120).prop_map(Value::from),
            prop::sample::select(numbers).prop_map(|x| json!(x)),
            prop::sample::select(texts).prop_map(Value::from),
            (1usize..300).prop_map(|n| Value::from("长".repeat(n))),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "part_no",
            "name",
            "length_mm",
            "mass_g",
            "packaging",
            "quantity_per_package",
            "fibre",
            "percent",
            "composition",
            "grade",
            "system",
            "value",
            "x",
            "",
        ])
        .prop_map(String::from)
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(key(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A valid record with some members replaced, added or removed.
    fn mutated(base: Value) -> impl Strategy<Value = Value> {
        let keys: Vec<String> = base.as_object().unwrap().keys().cloned().collect();
        let keys = prop_oneof![prop::sample::select(keys), key()];
        prop::collection::vec((keys, prop::option::weighted(0.8, value())), 0..3).prop_map(
            move |changes| {
                let mut record = base.clone();
                let members = record.as_object_mut().unwrap();
                for (name, change) in changes {
                    match change {
                        Some(v) => members.insert(name, v),
                        None => members.remove(&name),
                    };
                }
                record
            },
        )
    }

    fn part() -> Value {
        json!({"height_mm":19.05,"length_mm":63.5,"mass_g":544.3,"name":"法兰盘","packaging":"CT","part_no":"JG-10023","quantity_per_package":20,"supplier_code":"91370200MA3C1234X5","tolerance_mm":0.05,"width_mm":63.5})
    }

    fn fabric_roll() -> Value {
        json!({"areal_density_gsm":118.0,"article":"涤棉府绸","colour_code":"SX-0203","colour_source":"藏青","composition":[{"fibre":"PES","percent":65},{"fibre":"CO","percent":35.0}],"grade":"A","inspected_on":"2026-11-02","length_m":102.5,"points_per_100m2":12.5,"roll_id":"KQ-261102-01","source_grade":{"system":"cn-quality","value":"一等品"},"supplier_code":"91330603MA2JW5R32G","width_cm":148.0})
    }

    #[test]
    fn sample_records_are_valid_trees_written_as_their_values() {
        for (schema_path, record) in [
            ("sample-regional/schemas/part.schema.json", part()),
            (
                "sample-textile/schemas/fabric_roll.schema.json",
                fabric_roll(),
            ),
        ] {
            let validator = schema(schema_path);
            assert!(agrees(&validator, &record).unwrap(), "{record}");
        }
        // `35.0` where the standard wants an integer is written `35`.
        let mut written = Vec::new();
        schema("sample-textile/schemas/fabric_roll.schema.json")
            .write_tree(&tree_of(&fabric_roll()), &mut written);
        let written = String::from_utf8(written).unwrap();
        assert!(
            written.contains(r#"{"fibre":"CO","percent":35}"#),
            "{written}"
        );
        assert!(written.contains(r#""width_cm":148.0"#), "{written}");
    }

    #[test]
    fn common_decimals_are_written_as_their_text() {
        for text in [
            "406.4",
            "0.5",
            "1134.0",
            "-2.25",
            "0.0",
            "0.00001",
            "123456789012345.0",
        ] {
            assert!(written_as_its_float(text), "{text}");
        }
        for text in [
            "406",
            "406.40",
            "0.000001",
            "00.5",
            "1234567890123456.0",
            "1.",
            ".5",
        ] {
            assert!(!written_as_its_float(text), "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Text said to be written as its float is what serde_json writes
        /// for the float.
        #[test]
        fn decimals_written_as_their_text_are_their_floats_text(
            text in r"-?(0|[1-9][0-9]{0,17})\.(0|[0-9]{0,6}[1-9]|0{3,6}[1-9]{1,4}|[0-9]{8,16}[1-9])",
        ) {
            let float: f64 = text.parse().unwrap();
            if written_as_its_float(&text) {
                prop_assert_eq!(serde_json::to_string(&float).unwrap(), text);
            }
        }

        /// The validator reads a tree as it reads the tree's value, and a
        /// valid tree is written exactly as its value is: for records near
        /// the samples' and for any shape at all.
        #[test]
        fn trees_validate_and_write_as_their_values(
            part in mutated(part()),
            roll in mutated(fabric_roll()),
            anything in value(),
        ) {
            let parts = schema("sample-regional/schemas/part.schema.json");
            let rolls = schema("sample-textile/schemas/fabric_roll.schema.json");
            let lots = schema("sample-regional/schemas/produce_lot.schema.json");
            let shipments = schema("sample-regional/schemas/shipment.schema.json");
            agrees(&parts, &part)?;
            agrees(&rolls, &roll)?;
            for validator in [&parts, &rolls, &lots, &shipments] {
                agrees(validator, &anything)?;
            }
        }
    }
}
