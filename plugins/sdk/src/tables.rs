//! The pack's tables, by name. A table is named by a constant
//! (`CodeList::named("packaging")`) and opened on first use in a batch;
//! every answer is remembered for the batch, so a term that repeats costs
//! one call to the host per batch. A table the pack lacks is a problem of
//! every row that asks it, never a crash.

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

#[cfg(not(feature = "native"))]
use crate::bindings::conform::plugin::tables as host;
#[cfg(feature = "native")]
use crate::native as host;
use crate::row::{Problem, Row};
use crate::scaled::Factor;
use crate::text::{hash, same};

pub use host::{CodeMatch, LevelMatch, MatchedBy, PartResult, SchemeResult};

/// Answers (or handles) remembered for a batch, by question.
type Memo<K, V> = HashMap<K, Result<V, Problem>>;
/// A quantity: unit catalogue, record type, field.
type Field = (&'static str, &'static str, &'static str);

/// A quantity's answers in one unit, by value: (quantity, unit, answers).
type Converted = (Field, Box<str>, Answers);

/// A value in its field's canonical unit: decimal text (`3.18`), used as a
/// `&str`. A value the plugin converts itself ([`Quantity::to_canonical`]
/// with the host's factor) holds its digits in place; an answer to
/// [`Quantity::prefetch`] is a part of the host's one answer for the column
/// (which it keeps alive); an answer asked alone holds its own text. None
/// of them costs an allocation of its own.
#[derive(Clone)]
pub struct Canonical(Held);

/// Where a [`Canonical`]'s text is.
#[derive(Clone)]
enum Held {
    /// Bytes `start..end` of a text of the host's.
    Part {
        text: Arc<str>,
        start: u32,
        end: u32,
    },
    /// Converted by the plugin.
    Digits(crate::scaled::Digits),
}

impl Canonical {
    /// Bytes `start..end` of `text`, which must lie on its characters.
    fn part(text: &Arc<str>, start: usize, end: usize) -> Canonical {
        assert!(
            text.get(start..end).is_some(),
            "the host answers with spans of its text"
        );
        Canonical(Held::Part {
            text: text.clone(),
            start: start as u32,
            end: end as u32,
        })
    }

    /// The decimal text.
    pub fn as_str(&self) -> &str {
        self
    }
}

impl PartialEq<str> for Canonical {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Canonical {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<String> for Canonical {
    fn from(text: String) -> Canonical {
        let end = text.len();
        Canonical::part(&Arc::from(text), 0, end)
    }
}

impl std::ops::Deref for Canonical {
    type Target = str;

    fn deref(&self) -> &str {
        match &self.0 {
            Held::Part { text, start, end } => &text[*start as usize..*end as usize],
            Held::Digits(digits) => digits.as_str(),
        }
    }
}

impl AsRef<str> for Canonical {
    fn as_ref(&self) -> &str {
        self
    }
}

impl std::fmt::Debug for Canonical {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl std::fmt::Display for Canonical {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl PartialEq for Canonical {
    fn eq(&self, other: &Canonical) -> bool {
        **self == **other
    }
}

/// No entry.
const NONE: u32 = u32::MAX;

/// Where `value` lies (its address and length) if it lies within `text`,
/// the addresses of a text that lives as long as the answers do: the same
/// place there is the same text.
fn place_in(text: &std::ops::Range<usize>, value: &str) -> Option<(usize, usize)> {
    let start = value.as_ptr() as usize;
    (text.contains(&start) && start + value.len() <= text.end).then_some((start, value.len()))
}

/// A quantity's answers in one unit, by value, without an allocation per
/// value: the values back to back in one string, each found by its hash.
#[derive(Default)]
struct Answers {
    values: String,
    entries: Vec<Answer>,
    /// The latest entry of each hash; earlier ones chain through `next`.
    by_hash: HashMap<u64, u32>,
    /// The values prefetched from the batch's cells, in the order given
    /// (place in memory, length, entry): `convert` most often asks them
    /// again in that order, each then found without hashing.
    prefetched: Vec<(usize, usize, u32)>,
    /// The next of `prefetched` expected.
    cursor: usize,
    /// Entries pushed without their hash ([`Answers::push`]): hashed once
    /// a value is looked for by its text.
    unhashed: Vec<u32>,
    /// The host's factor from this unit to the canonical one, once asked
    /// (`Some(None)`: there is none; every value is asked of the host).
    factor: Option<Option<Factor>>,
}

/// A value's answer: `None` while asked of the host and not yet answered.
struct Answer {
    value: (u32, u32),
    answer: Option<Result<Canonical, Problem>>,
    next: u32,
}

impl Answers {
    /// The entry prefetched at `place` in the batch's text, when it is the
    /// next expected (or the one after): a value there is that value,
    /// found without reading it.
    fn prefetched_at(&mut self, place: (usize, usize)) -> Option<usize> {
        for ahead in 0..2 {
            match self.prefetched.get(self.cursor + ahead) {
                Some(&(start, len, at)) if (start, len) == place => {
                    self.cursor += ahead + 1;
                    return Some(at as usize);
                }
                _ => {}
            }
        }
        None
    }

    /// A new entry of `value`, unanswered, whether or not one exists:
    /// values prefetched from the batch are entered without hashing (most
    /// of a batch's are distinct, and the host converts a repeated one
    /// faster than the plugin finds it) and found again by their place.
    fn push(&mut self, value: &str) -> usize {
        let start = self.values.len() as u32;
        self.values.push_str(value);
        let at = self.entries.len();
        self.entries.push(Answer {
            value: (start, self.values.len() as u32),
            answer: None,
            next: NONE,
        });
        self.unhashed.push(at as u32);
        at
    }

    /// Puts the entries pushed without their hash in `by_hash`.
    fn hash_pushed(&mut self) {
        for at in std::mem::take(&mut self.unhashed) {
            let (start, end) = self.entries[at as usize].value;
            let hash = hash(&self.values[start as usize..end as usize]);
            self.entries[at as usize].next = self.by_hash.insert(hash, at).unwrap_or(NONE);
        }
    }

    /// The entry of `value`, found at `place` in the batch when it lies
    /// there: the prefetched entry expected next, else the entry of the
    /// same text (added, unanswered, if there is none).
    fn find(&mut self, place: Option<(usize, usize)>, value: &str) -> usize {
        if let Some(at) = place.and_then(|place| self.prefetched_at(place)) {
            return at;
        }
        self.hash_pushed();
        self.entry(value).0
    }

    /// The entry of `value`, added (unanswered) if it has none; `true` when added.
    fn entry(&mut self, value: &str) -> (usize, bool) {
        let hash = hash(value);
        if let Some(&latest) = self.by_hash.get(&hash) {
            let mut at = latest;
            while at != NONE {
                let entry = &self.entries[at as usize];
                let (start, end) = entry.value;
                if same(&self.values[start as usize..end as usize], value) {
                    return (at as usize, false);
                }
                at = entry.next;
            }
        }
        let start = self.values.len() as u32;
        self.values.push_str(value);
        let at = self.entries.len() as u32;
        let next = self.by_hash.insert(hash, at).unwrap_or(NONE);
        self.entries.push(Answer {
            value: (start, self.values.len() as u32),
            answer: None,
            next,
        });
        (at as usize, true)
    }
}

/// The most values the host takes in one `-many` call.
const MAX_MANY: usize = 4096;

/// A missing scope, in a question's key.
const NO_SCOPE: &str = "\u{0}";

/// The per-batch context: open tables and remembered answers.
#[derive(Default)]
pub struct Cx {
    code_lists: Memo<&'static str, host::CodeList>,
    class_sets: Memo<&'static str, host::ClassSet>,
    thresholds: Memo<&'static str, host::Thresholds>,
    schemes: Memo<&'static str, host::Scheme>,
    quantities: Memo<Field, host::Quantity>,
    term_levels: Memo<&'static str, host::TermLevels>,
    time_formats: Memo<&'static str, host::TimeFormat>,
    patterns: Memo<(&'static str, String), host::TimePattern>,
    /// The key of the question being asked, built in place: a question
    /// answered before costs no allocation.
    key: String,
    lookups: Memo<String, CodeMatch>,
    classified: Memo<String, String>,
    evaluated: Memo<String, SchemeResult>,
    /// Quantities' answers: one memo per quantity and unit, by value.
    converted: Vec<Converted>,
    /// `converted_follows[i]`: the memo asked after memo `i - 1` last
    /// time (`[0]`: after none); `converted_last`: the last asked, plus one.
    converted_follows: Vec<usize>,
    converted_last: usize,
    resolved: Memo<String, LevelMatch>,
    times: Memo<String, String>,
    /// Where the batch's text lies in memory: a value read from a row lies
    /// in it, and no other value can while the batch lives.
    batch_text: std::ops::Range<usize>,
}

impl Cx {
    /// The context of a batch whose cells' text is `text`.
    pub(crate) fn for_batch(text: &str) -> Cx {
        let start = text.as_ptr() as usize;
        Cx {
            batch_text: start..start + text.len(),
            ..Cx::default()
        }
    }

    /// Where `value` lies in the batch's text, if it does.
    fn place_in_batch(&self, value: &str) -> Option<(usize, usize)> {
        place_in(&self.batch_text, value)
    }

    /// Makes `parts` the key of the question being asked.
    fn ask(&mut self, parts: &[&str]) {
        self.key.clear();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.key.push('\u{1f}');
            }
            self.key.push_str(part);
        }
    }
}

/// The answer to the question `cx.key` in `memo`, or `ask`ed once and
/// remembered.
macro_rules! remembered {
    ($cx:ident . $memo:ident, $ask:expr) => {{
        if let Some(answer) = $cx.$memo.get($cx.key.as_str()) {
            return answer.clone();
        }
        let answer = $ask;
        $cx.$memo.insert($cx.key.clone(), answer.clone());
        answer
    }};
}

/// The handle under `key`, opened once.
fn opened<K: std::hash::Hash + Eq, H>(
    handles: &mut Memo<K, H>,
    key: K,
    open: impl FnOnce() -> Result<H, Problem>,
) -> Result<&H, Problem> {
    handles
        .entry(key)
        .or_insert_with(open)
        .as_ref()
        .map_err(Clone::clone)
}

/// A code list of the pack: terms → codes, with names, aliases and
/// crosswalks per scope.
#[derive(Debug, Clone, Copy)]
pub struct CodeList(&'static str);

impl CodeList {
    /// The code list `name` of the pack.
    pub const fn named(name: &'static str) -> CodeList {
        CodeList(name)
    }

    /// What `term`, read in `scope` if given, stands for.
    pub fn lookup(
        &self,
        cx: &mut Cx,
        term: &str,
        scope: Option<&str>,
    ) -> Result<CodeMatch, Problem> {
        let name = self.0;
        cx.ask(&[name, scope.unwrap_or(NO_SCOPE), term]);
        remembered!(cx.lookups, {
            opened(&mut cx.code_lists, name, || {
                host::CodeList::open(name).map_err(Problem::from)
            })
            .and_then(|list| list.lookup(term, scope).map_err(Problem::from))
        })
    }

    /// The code of `term` (unscoped).
    pub fn code(&self, cx: &mut Cx, term: &str) -> Result<String, Problem> {
        self.lookup(cx, term, None).map(|found| found.code)
    }

    /// The code of `term` read in `scope`.
    pub fn code_in(&self, cx: &mut Cx, term: &str, scope: &str) -> Result<String, Problem> {
        self.lookup(cx, term, Some(scope)).map(|found| found.code)
    }
}

/// A class set of the pack: classes, best first.
#[derive(Debug, Clone, Copy)]
pub struct ClassSet(&'static str);

impl ClassSet {
    /// The class set `name` of the pack.
    pub const fn named(name: &'static str) -> ClassSet {
        ClassSet(name)
    }

    /// The worst of `classes`.
    pub fn lowest(&self, cx: &mut Cx, classes: &[&str]) -> Result<String, Problem> {
        let name = self.0;
        let set = opened(&mut cx.class_sets, name, || {
            host::ClassSet::open(name).map_err(Problem::from)
        })?;
        set.lowest(classes).map_err(Problem::from)
    }
}

/// A thresholds table of the pack: a quantity classified by bounds.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds(&'static str);

impl Thresholds {
    /// The thresholds table `name` of the pack.
    pub const fn named(name: &'static str) -> Thresholds {
        Thresholds(name)
    }

    /// The class `value` (decimal text) earns.
    pub fn classify(&self, cx: &mut Cx, value: &str) -> Result<String, Problem> {
        let name = self.0;
        cx.ask(&[name, value]);
        remembered!(cx.classified, {
            opened(&mut cx.thresholds, name, || {
                host::Thresholds::open(name).map_err(Problem::from)
            })
            .and_then(|bounds| bounds.classify(value).map_err(Problem::from))
        })
    }
}

/// A scheme of the pack: classifications combined ("the lower of").
#[derive(Debug, Clone, Copy)]
pub struct Scheme(&'static str);

impl Scheme {
    /// The scheme `name` of the pack.
    pub const fn named(name: &'static str) -> Scheme {
        Scheme(name)
    }

    /// The class of `inputs` (term and scope, one per part, in order);
    /// a refusal's [`Problem::input`] names the input at fault.
    pub fn evaluate(
        &self,
        cx: &mut Cx,
        inputs: &[(&str, Option<&str>)],
    ) -> Result<SchemeResult, Problem> {
        let name = self.0;
        let mut parts = Vec::with_capacity(1 + inputs.len() * 2);
        parts.push(name);
        for (term, scope) in inputs {
            parts.push(scope.unwrap_or(NO_SCOPE));
            parts.push(term);
        }
        cx.ask(&parts);
        remembered!(cx.evaluated, {
            let queries: Vec<host::TermQuery<'_>> = inputs
                .iter()
                .map(|&(term, scope)| host::TermQuery { term, scope })
                .collect();
            opened(&mut cx.schemes, name, || {
                host::Scheme::open(name).map_err(Problem::from)
            })
            .and_then(|scheme| scheme.evaluate(&queries).map_err(Problem::from))
        })
    }
}

/// Several fields given in one unit column (`长`, `宽`, `高` in `单位`), each
/// `(quantity, value, value's column)`, in their canonical units. The unit
/// is tried once first: a unit the pack refuses is one problem, at
/// `unit_column`, not one per field; then each value is converted, a bad
/// one a problem at its own column. Every problem is returned; keep them
/// with the row's others by `checks.take_all(in_one_unit(…))`.
pub fn in_one_unit<const N: usize>(
    cx: &mut Cx,
    unit: &str,
    unit_column: &str,
    fields: [(Quantity, &str, &str); N],
) -> Result<[Canonical; N], crate::Rejected> {
    use crate::ResultExt;
    if let Some((quantity, _, _)) = fields.first() {
        quantity
            .to_canonical(cx, "0", unit)
            .at(unit_column)
            .map_err(|p| crate::Rejected(vec![p]))?;
    }
    let mut checks = crate::Checks::default();
    let converted = fields.map(|(quantity, value, column)| {
        checks.take(quantity.to_canonical(cx, value, unit).at(column))
    });
    checks.finish()?;
    Ok(converted.map(|c| c.expect("every field converted: finish found no problem")))
}

/// A quantity field of a record type, in a unit catalogue of the pack.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    table: &'static str,
    record_type: &'static str,
    field: &'static str,
}

impl Quantity {
    /// The field `record_type.field` of the unit catalogue `table`.
    pub const fn named(
        table: &'static str,
        record_type: &'static str,
        field: &'static str,
    ) -> Quantity {
        Quantity {
            table,
            record_type,
            field,
        }
    }

    /// `value` in `unit`, in the field's canonical unit, exact and rounded
    /// half to even to its decimals.
    pub fn to_canonical(&self, cx: &mut Cx, value: &str, unit: &str) -> Result<Canonical, Problem> {
        let memo = self.memo(cx, unit);
        // A plain decimal is converted here, with the host's factor.
        if let Some(digits) = self.factor(cx, memo).and_then(|f| f.convert(value)) {
            return Ok(Canonical(Held::Digits(digits)));
        }
        let place = cx.place_in_batch(value);
        let answers = &mut cx.converted[memo].2;
        let at = answers.find(place, value);
        if let Some(answer) = &answers.entries[at].answer {
            return answer.clone();
        }
        let answer = self.open(&mut cx.quantities).and_then(|quantity| {
            quantity
                .to_canonical(value, unit)
                .map(Canonical::from)
                .map_err(Problem::from)
        });
        cx.converted[memo].2.entries[at].answer = Some(answer.clone());
        answer
    }

    /// `text`, a number with its unit glued on or spaced (`8.2g`,
    /// `0.75 kg`, `2两`: [`crate::written::split_quantity`]), in the field's
    /// canonical unit; text without a number and a unit after it is a
    /// `not-a-quantity` problem, a unit the pack does not know the pack's
    /// refusal.
    pub fn to_canonical_glued(&self, cx: &mut Cx, text: &str) -> Result<Canonical, Problem> {
        let (value, unit) = crate::written::split_quantity(text).ok_or_else(|| {
            Problem::new(
                "not-a-quantity",
                format!("`{text}` is not a number followed by its unit (`8.2g`, `0.75 kg`)"),
            )
        })?;
        self.to_canonical(cx, value, unit)
    }

    /// [`Quantity::prefetch`] for every value of the top-level `column`
    /// (in `unit`) of `rows`: the column is found once for the batch, and
    /// rows without a value there are passed over (their
    /// [`Quantity::to_canonical`] says why).
    pub fn prefetch_column(&self, cx: &mut Cx, rows: &[Row<'_>], column: &str, unit: &str) {
        let found = rows.first().and_then(|row| row.top_column(column));
        self.prefetch(
            cx,
            rows.iter()
                .filter_map(|row| row.text_in(found, column).ok()),
            unit,
        );
    }

    /// Asks the host in one call for every value of `values` (in `unit`)
    /// not yet answered in this batch, so that [`Quantity::to_canonical`]
    /// answers them from memory: one call for a column instead of one a row.
    /// Call it from [`crate::Plugin::prepare`] with a column's values.
    pub fn prefetch<'v>(&self, cx: &mut Cx, values: impl IntoIterator<Item = &'v str>, unit: &str) {
        let memo = self.memo(cx, unit);
        // With the host's factor, values are converted as they are asked,
        // and the few that are not plain decimals asked alone: finding them
        // here would cost more than it saves.
        if self.factor(cx, memo).is_some() {
            return;
        }
        let values = values.into_iter();
        let batch_text = cx.batch_text.clone();
        let answers = &mut cx.converted[memo].2;
        let (at_least, at_most) = values.size_hint();
        let expected = at_most.unwrap_or(at_least).min(MAX_MANY);
        answers.entries.reserve(expected);
        answers.prefetched.clear();
        answers.cursor = 0;
        // The values asked: entries added now, unanswered. A value read
        // from the batch is found again by its place, any other by its hash.
        let mut new = Vec::with_capacity(expected);
        for value in values {
            match place_in(&batch_text, value) {
                Some((start, len)) => {
                    let at = answers.push(value);
                    answers.prefetched.push((start, len, at as u32));
                    new.push(at);
                }
                None => {
                    answers.hash_pushed();
                    let (at, added) = answers.entry(value);
                    if added {
                        new.push(at);
                    }
                }
            }
        }
        if new.is_empty() {
            return;
        }
        // A table that does not open is asked again, and refused, row by row.
        let Ok(quantity) = self.open(&mut cx.quantities) else {
            return;
        };
        let answers = &cx.converted[memo].2;
        let mut answered = Vec::with_capacity(new.len().div_ceil(MAX_MANY));
        for part in new.chunks(MAX_MANY) {
            let mut ends = Vec::with_capacity(part.len());
            let first = answers.entries[part[0]].value.0;
            for &at in part {
                ends.push(answers.entries[at].value.1 - first);
            }
            let last = answers.entries[part[part.len() - 1]].value.1;
            answered.push(quantity.to_canonical_many(host::Measures {
                // New entries' values are back to back in `values`.
                text: &answers.values[first as usize..last as usize],
                ends: &ends,
                unit,
            }));
        }
        let answers = &mut cx.converted[memo].2;
        let replies = answered.into_iter().flat_map(|column| {
            // One allocation for the whole answer; each value is a part of it.
            let text: Arc<str> = Arc::from(column.text);
            column.answers.into_iter().map(move |answer| {
                answer.map(|span| {
                    let from = span.start as usize;
                    Canonical::part(&text, from, from + span.len as usize)
                })
            })
        });
        for (at, answer) in new.into_iter().zip(replies) {
            answers.entries[at].answer = Some(answer.map_err(Problem::from));
        }
    }

    /// Whether `field` names this quantity. Its names are `'static` text,
    /// most often the very same in memory, compared then without reading.
    #[inline(always)]
    fn is(&self, field: &Field) -> bool {
        same(field.2, self.field) && same(field.1, self.record_type) && same(field.0, self.table)
    }

    /// The host's factor from the unit of memo `memo` to the canonical
    /// unit, asked once a batch (none when the quantity does not open).
    fn factor(&self, cx: &mut Cx, memo: usize) -> Option<Factor> {
        if let Some(known) = cx.converted[memo].2.factor {
            return known;
        }
        let factor = self.open(&mut cx.quantities).ok().and_then(|quantity| {
            let host::Factor { num, den } = quantity.factor(&cx.converted[memo].1)?;
            Factor::new(num, den, quantity.decimals())
        });
        cx.converted[memo].2.factor = Some(factor);
        factor
    }

    /// The index in `cx.converted` of this quantity's memo for `unit`.
    fn memo(&self, cx: &mut Cx, unit: &str) -> usize {
        let is_this = |(f, u, _): &Converted| self.is(f) && same(u, unit);
        // A plugin asks its quantities in the same order row after row:
        // the one asked after the last one last time is tried first.
        let guess = cx.converted_follows.get(cx.converted_last).copied();
        let index = match guess.filter(|&g| cx.converted.get(g).is_some_and(is_this)) {
            Some(index) => index,
            None => match cx.converted.iter().position(is_this) {
                Some(index) => index,
                None => {
                    let field = (self.table, self.record_type, self.field);
                    cx.converted.push((field, unit.into(), Answers::default()));
                    cx.converted.len() - 1
                }
            },
        };
        let follows = &mut cx.converted_follows;
        if follows.len() <= cx.converted.len() {
            follows.resize(cx.converted.len() + 1, usize::MAX);
        }
        follows[cx.converted_last] = index;
        cx.converted_last = index + 1;
        index
    }

    /// The open quantity, opened on first use.
    fn open<'c>(
        &self,
        quantities: &'c mut Memo<Field, host::Quantity>,
    ) -> Result<&'c host::Quantity, Problem> {
        let Quantity {
            table,
            record_type,
            field,
        } = *self;
        opened(quantities, (table, record_type, field), || {
            host::Quantity::open(table, record_type, field).map_err(Problem::from)
        })
    }
}

/// A term-levels table of the pack: terms, per scope, → amounts → levels.
#[derive(Debug, Clone, Copy)]
pub struct TermLevels(&'static str);

impl TermLevels {
    /// The term-levels table `name` of the pack.
    pub const fn named(name: &'static str) -> TermLevels {
        TermLevels(name)
    }

    /// The level of `term` read in `scope`, and the amount it promises.
    pub fn resolve(
        &self,
        cx: &mut Cx,
        term: &str,
        scope: Option<&str>,
    ) -> Result<LevelMatch, Problem> {
        let name = self.0;
        cx.ask(&[name, scope.unwrap_or(NO_SCOPE), term]);
        remembered!(cx.resolved, {
            opened(&mut cx.term_levels, name, || {
                host::TermLevels::open(name).map_err(Problem::from)
            })
            .and_then(|levels| levels.resolve(term, scope).map_err(Problem::from))
        })
    }
}

/// A level's promised amount as whole hours, for [`TimeFormat::add_hours`]
/// (the amount is decimal text; a pack's hours are whole).
pub fn whole_hours(found: &LevelMatch) -> Result<u32, Problem> {
    found.amount.parse().map_err(|_| {
        Problem::new(
            "invalid-format",
            format!(
                "level `{}` promises `{}`, not a whole number of hours",
                found.level, found.amount
            ),
        )
    })
}

/// The pack's time format.
#[derive(Debug, Clone, Copy)]
pub struct TimeFormat(&'static str);

impl TimeFormat {
    /// The time format `name` of the pack.
    pub const fn named(name: &'static str) -> TimeFormat {
        TimeFormat(name)
    }

    fn parse(&self, cx: &mut Cx, text: &str, pattern: &str, date: bool) -> Result<String, Problem> {
        let name = self.0;
        cx.ask(&[name, if date { "d" } else { "t" }, pattern, text]);
        remembered!(cx.times, {
            let format = opened(&mut cx.time_formats, name, || {
                host::TimeFormat::open(name).map_err(Problem::from)
            });
            match format {
                Err(e) => Err(e),
                Ok(format) => opened(&mut cx.patterns, (name, pattern.to_string()), || {
                    format.pattern(pattern).map_err(Problem::from)
                })
                .and_then(|p| {
                    if date {
                        p.parse_date(text).map_err(Problem::from)
                    } else {
                        p.parse_time(text).map_err(Problem::from)
                    }
                }),
            }
        })
    }

    /// A time read with `pattern` (strftime, `unix-ms`, `unix-s`), in the
    /// standard's format.
    pub fn parse_time(&self, cx: &mut Cx, text: &str, pattern: &str) -> Result<String, Problem> {
        self.parse(cx, text, pattern, false)
    }

    /// A date read with `pattern`, as `YYYY-MM-DD`.
    pub fn parse_date(&self, cx: &mut Cx, text: &str, pattern: &str) -> Result<String, Problem> {
        self.parse(cx, text, pattern, true)
    }

    /// `time` (in the standard's format) plus `hours`.
    pub fn add_hours(&self, cx: &mut Cx, time: &str, hours: u32) -> Result<String, Problem> {
        let name = self.0;
        let format = opened(&mut cx.time_formats, name, || {
            host::TimeFormat::open(name).map_err(Problem::from)
        })?;
        format.add_hours(time, hours).map_err(Problem::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers prefetched from `text` (each value its own), each answer
    /// the value with a `!`.
    fn prefetched(text: &str, values: &[(usize, usize)]) -> Answers {
        let batch = text.as_ptr() as usize..text.as_ptr() as usize + text.len();
        let mut answers = Answers::default();
        // As `Quantity::prefetch` enters a batch's values: without hashing.
        for &(from, to) in values {
            let value = &text[from..to];
            let at = answers.push(value);
            answers.entries[at].answer = Some(Ok(Canonical::from(format!("{value}!"))));
            let place = place_in(&batch, value).unwrap();
            answers.prefetched.push((place.0, place.1, at as u32));
        }
        answers
    }

    #[test]
    fn prefetched_answers_are_found_in_order_out_of_order_and_elsewhere() {
        let text = String::from("1.5 2.25 1.5 7");
        let batch = text.as_ptr() as usize..text.as_ptr() as usize + text.len();
        let cells = [(0, 3), (4, 8), (9, 12), (13, 14)];
        let mut answers = prefetched(&text, &cells);
        // As `to_canonical` finds a value's entry: by place, else by text.
        let ask = |answers: &mut Answers, value: &str| {
            let at = answers.find(place_in(&batch, value), value);
            let answer = answers.entries[at].answer.as_ref()?;
            Some(answer.as_ref().unwrap().to_string())
        };
        // In order; one skipped; then out of order, by hash.
        assert_eq!(ask(&mut answers, &text[0..3]).unwrap(), "1.5!");
        assert_eq!(ask(&mut answers, &text[9..12]).unwrap(), "1.5!");
        assert_eq!(ask(&mut answers, &text[4..8]).unwrap(), "2.25!");
        assert_eq!(ask(&mut answers, &text[13..14]).unwrap(), "7!");
        // The same text outside the batch; a part of a cell; a value never asked.
        assert_eq!(ask(&mut answers, "2.25").unwrap(), "2.25!");
        assert_eq!(ask(&mut answers, &text[4..7]), None);
        assert_eq!(ask(&mut answers, "9"), None);
    }
}

/// The helpers over the sample regional pack's unit catalogue, answered in
/// process (the `native` feature, which the workspace's tests build).
#[cfg(all(test, feature = "native"))]
mod native_tests {
    use super::*;

    const MASS_G: Quantity = Quantity::named("units", "part", "mass_g");
    const LENGTH_MM: Quantity = Quantity::named("units", "part", "length_mm");
    const WIDTH_MM: Quantity = Quantity::named("units", "part", "width_mm");
    const HEIGHT_MM: Quantity = Quantity::named("units", "part", "height_mm");

    fn with_sample_pack<R>(f: impl FnOnce(&mut Cx) -> R) -> R {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../standards/sample-regional");
        let pack = conform_pack::Pack::load(dir).unwrap();
        crate::native::with_standard(pack.standard(), || f(&mut Cx::default()))
    }

    /// What the plugin converts itself with the host's factor is what the
    /// host answers, and every other value is asked of the host.
    #[test]
    fn values_convert_as_the_host_converts_them() {
        use proptest::prelude::*;
        let values = prop_oneof![
            // Few places: exact halves are common (1.235 mm, 0.125 in).
            4 => r"[+-]?[0-9]{0,4}\.[0-9]{0,2}5",
            2 => r" ?[+-]?[0-9]{0,12}(\.[0-9]{1,10})?\u{3000}?",
            1 => r"[+-]?0\.0{0,8}[0-9]{1,3}",
            1 => r"[0-9]{13,30}(\.[0-9]{0,4})?",
            1 => r".{0,6}",
        ];
        let units = proptest::sample::select(vec![
            "in", "ft", "yd", "mm", "cm", "m", "km", "µm", "英寸", "寸", "lb", "oz", "g", "kg",
            "t", "斤", "两", "磅", "furlong",
        ]);
        let fields = proptest::sample::select(vec![
            MASS_G,
            LENGTH_MM,
            Quantity::named("units", "produce_lot", "net_weight_kg"),
            Quantity::named("units", "produce_lot", "fruit_diameter_mm"),
        ]);
        let converted_here = std::cell::Cell::new(0);
        with_sample_pack(|_| {
            let mut runner =
                proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(3000));
            runner
                .run(&(values, units, fields), |(value, unit, quantity)| {
                    let host =
                        host::Quantity::open(quantity.table, quantity.record_type, quantity.field)
                            .unwrap();
                    let expected = host.to_canonical(&value, unit).map_err(|e| e.message);
                    let here = host
                        .factor(unit)
                        .and_then(|f| Factor::new(f.num, f.den, host.decimals()))
                        .and_then(|factor| factor.convert(&value));
                    if let Some(digits) = here {
                        converted_here.set(converted_here.get() + 1);
                        prop_assert_eq!(Ok(digits.as_str()), expected.as_deref());
                    }
                    let answer = quantity.to_canonical(&mut Cx::default(), &value, unit);
                    prop_assert_eq!(
                        answer.map(|c| c.to_string()).map_err(|p| p.message),
                        expected
                    );
                    Ok(())
                })
                .unwrap();
        });
        let converted_here = converted_here.get();
        assert!(
            converted_here > 500,
            "{converted_here} values converted by the plugin"
        );
    }

    #[test]
    fn glued_quantities_convert_with_their_own_unit() {
        with_sample_pack(|cx| {
            for (text, grams) in [
                ("8.2g", "8.2"),
                ("1.2kg", "1200.0"),
                ("0.75 kg", "750.0"),
                ("2两", "100.0"),
                ("0.3斤", "150.0"),
            ] {
                assert_eq!(
                    MASS_G.to_canonical_glued(cx, text).unwrap(),
                    grams,
                    "{text}"
                );
            }
            let bare = MASS_G.to_canonical_glued(cx, "8.2").unwrap_err();
            assert_eq!(bare.code, "not-a-quantity");
            let unknown = MASS_G.to_canonical_glued(cx, "8.2 furlongs").unwrap_err();
            assert!(unknown.message.contains("furlongs"), "{}", unknown.message);
        });
    }

    #[test]
    fn fields_in_one_unit_column_have_one_problem_for_a_bad_unit() {
        with_sample_pack(|cx| {
            let fields = |l, w, h| {
                [
                    (LENGTH_MM, l, "长"),
                    (WIDTH_MM, w, "宽"),
                    (HEIGHT_MM, h, "高"),
                ]
            };
            let sizes = in_one_unit(cx, "in", "单位", fields("1", "0.5", "2")).unwrap();
            assert_eq!(sizes.map(|s| s.to_string()), ["25.40", "12.70", "50.80"]);
            // A bad unit: one problem, at the unit's column.
            let crate::Rejected(problems) =
                in_one_unit(cx, "furlong", "单位", fields("1", "x", "2")).unwrap_err();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].field.as_deref(), Some("单位"));
            // Bad values: a problem at each one's column.
            let crate::Rejected(problems) =
                in_one_unit(cx, "in", "单位", fields("1", "x", "")).unwrap_err();
            let at: Vec<Option<&str>> = problems.iter().map(|p| p.field.as_deref()).collect();
            assert_eq!(at, [Some("宽"), Some("高")]);
        });
    }
}
