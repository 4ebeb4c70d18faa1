//! Expressions (`expr`), compiled once per instance and evaluated per row
//! with the SDK's tables. Every value remembers the input it was read
//! from, so that a refusal names that input; a refusal of a scope names
//! the scope's input.

use std::borrow::Cow;

use conform_mapping::program::{Expr, Function};
use conform_plugin_sdk::tables::{CodeList, Quantity, Scheme, TermLevels, Thresholds, TimeFormat};
use conform_plugin_sdk::{Cx, Problem, Row};
use regex::Regex;

use crate::compiled::{leak, regex};
use crate::value::{as_text, Value};

/// The most steps one field's expression may take for one row: a step is a
/// value evaluated, an item a list gets or a field's value copied, or 64
/// bytes of text made; an `each` over a long list inside another, or text
/// concatenated over and over, stops here, not at the batch's time or
/// memory limit.
pub(crate) const FUEL_PER_FIELD: u32 = 100_000;

/// Bytes of text one step pays for.
const BYTES_PER_STEP: usize = 64;

/// A compiled expression.
pub(crate) enum Compiled {
    Literal(Value<'static>),
    It,
    Column(&'static str),
    Pointer(&'static str),
    /// The value of the field at this index, made before.
    Field(usize),
    Text(Box<Compiled>),
    Decimal(Box<Compiled>),
    Integer(Box<Compiled>),
    Match(Box<Compiled>, Regex),
    Split(Box<Compiled>, Regex),
    Each(Box<Compiled>, Box<Compiled>),
    Zip(Box<Compiled>, Box<Compiled>),
    Concat(Vec<Compiled>),
    Unit(Box<Compiled>, Box<Compiled>, Quantity),
    Code(CodeList, Box<Compiled>, Option<Box<Compiled>>),
    Level(TermLevels, Box<Compiled>, Option<Box<Compiled>>),
    Classify(Thresholds, Box<Compiled>),
    /// A scheme's inputs: each a term and, if `scoped`, its scope.
    Scheme(Scheme, Vec<(Compiled, Option<Compiled>)>),
    Date(TimeFormat, Box<Compiled>, String),
    Time(TimeFormat, Box<Compiled>, String),
    AddHours(TimeFormat, Box<Compiled>, Box<Compiled>),
    Member(Box<Compiled>, String),
    Index(Box<Compiled>, usize),
    List(Vec<Compiled>),
    Object(Vec<(String, Compiled)>),
}

/// What compiling needs to know: the record field the expression makes
/// and the fields before it.
pub(crate) struct Scope<'s> {
    pub(crate) record_type: &'static str,
    pub(crate) field: &'static str,
    pub(crate) earlier: &'s [&'static str],
}

impl Compiled {
    /// Compiles `expr`; `Err` if it is not what the host's check lets by.
    pub(crate) fn new(expr: Expr, scope: &Scope<'_>) -> Result<Compiled, String> {
        let boxed = |e: Expr| Compiled::new(e, scope).map(Box::new);
        Ok(match expr {
            Expr::Text(text) => Compiled::Literal(Value::Text(Cow::Owned(text))),
            Expr::Number(n) => Compiled::Literal(Value::Decimal(Cow::Owned(n))),
            Expr::Boolean(b) => Compiled::Literal(Value::Boolean(b)),
            Expr::Null => Compiled::Literal(Value::Null),
            Expr::It => Compiled::It,
            Expr::Member { of, name } => Compiled::Member(boxed(*of)?, name),
            Expr::Index { of, index } => Compiled::Index(boxed(*of)?, index as usize),
            Expr::List(items) => Compiled::List(
                items
                    .into_iter()
                    .map(|e| Compiled::new(e, scope))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Object(members) => Compiled::Object(
                members
                    .into_iter()
                    .map(|(k, e)| Compiled::new(e, scope).map(|c| (k, c)))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Call { function, args } => call(function, args, scope)?,
        })
    }
}

fn call(function: Function, args: Vec<Expr>, scope: &Scope<'_>) -> Result<Compiled, String> {
    let name = function.name();
    let malformed = || format!("`{name}` is not called as the mapping's check allows");
    let mut args = args.into_iter();
    let mut next = || args.next().ok_or_else(malformed);
    let text = |e: Expr| match e {
        Expr::Text(text) => Ok(text),
        _ => Err(malformed()),
    };
    let boxed = |e: Expr| Compiled::new(e, scope).map(Box::new);
    let compiled = match function {
        Function::Column => Compiled::Column(leak(&text(next()?)?)),
        Function::Pointer => Compiled::Pointer(leak(&text(next()?)?)),
        Function::Field => {
            let field = text(next()?)?;
            let at = scope.earlier.iter().position(|f| *f == field);
            Compiled::Field(at.ok_or_else(malformed)?)
        }
        Function::Text => Compiled::Text(boxed(next()?)?),
        Function::Decimal => Compiled::Decimal(boxed(next()?)?),
        Function::Integer => Compiled::Integer(boxed(next()?)?),
        Function::Match => {
            let value = boxed(next()?)?;
            Compiled::Match(value, regex(&text(next()?)?, scope.field)?)
        }
        Function::Split => {
            let value = boxed(next()?)?;
            Compiled::Split(value, regex(&text(next()?)?, scope.field)?)
        }
        Function::Each => {
            let list = boxed(next()?)?;
            Compiled::Each(list, boxed(next()?)?)
        }
        Function::Zip => {
            let first = boxed(next()?)?;
            Compiled::Zip(first, boxed(next()?)?)
        }
        Function::Concat => Compiled::Concat(
            std::iter::from_fn(|| args.next())
                .map(|e| Compiled::new(e, scope))
                .collect::<Result<_, _>>()?,
        ),
        Function::Unit => {
            let value = boxed(next()?)?;
            let unit = boxed(next()?)?;
            let table = leak(&text(next()?)?);
            Compiled::Unit(
                value,
                unit,
                Quantity::named(table, scope.record_type, scope.field),
            )
        }
        Function::Code => {
            let table = CodeList::named(leak(&text(next()?)?));
            let term = boxed(next()?)?;
            let within = args.next().map(boxed).transpose()?;
            Compiled::Code(table, term, within)
        }
        Function::Level => {
            let table = TermLevels::named(leak(&text(next()?)?));
            let term = boxed(next()?)?;
            let within = args.next().map(boxed).transpose()?;
            Compiled::Level(table, term, within)
        }
        Function::Classify => {
            let table = Thresholds::named(leak(&text(next()?)?));
            Compiled::Classify(table, boxed(next()?)?)
        }
        Function::Scheme => {
            let table = Scheme::named(leak(&text(next()?)?));
            let inputs = args
                .map(|input| match input {
                    Expr::Call {
                        function: Function::Scoped,
                        args,
                    } => {
                        let mut args = args.into_iter();
                        let term = Compiled::new(args.next().ok_or_else(malformed)?, scope)?;
                        let within = Compiled::new(args.next().ok_or_else(malformed)?, scope)?;
                        Ok((term, Some(within)))
                    }
                    other => Compiled::new(other, scope).map(|term| (term, None)),
                })
                .collect::<Result<_, _>>()?;
            Compiled::Scheme(table, inputs)
        }
        Function::Date | Function::Time => {
            let value = boxed(next()?)?;
            let pattern = text(next()?)?;
            let format = TimeFormat::named(leak(&text(next()?)?));
            if function == Function::Date {
                Compiled::Date(format, value, pattern)
            } else {
                Compiled::Time(format, value, pattern)
            }
        }
        Function::AddHours => {
            let time = boxed(next()?)?;
            let hours = boxed(next()?)?;
            let format = TimeFormat::named(leak(&text(next()?)?));
            Compiled::AddHours(format, time, hours)
        }
        Function::Scoped => return Err(malformed()),
    };
    Ok(compiled)
}

/// Why an expression has no value.
pub(crate) enum Failed {
    /// A problem of the row, to report.
    Problem(Problem),
    /// A field it reads failed: that field's problem is the row's.
    Quiet,
}

impl From<Problem> for Failed {
    fn from(problem: Problem) -> Failed {
        Failed::Problem(problem)
    }
}

/// A value and the input it was read from.
#[derive(Clone)]
pub(crate) struct Val<'b> {
    pub(crate) value: Value<'b>,
    pub(crate) origin: Option<&'static str>,
}

impl<'b> Val<'b> {
    fn new(value: Value<'b>, origin: Option<&'static str>) -> Val<'b> {
        Val { value, origin }
    }

    /// The value as text for a function that reads text, or a problem
    /// naming its input.
    fn text(&self, function: &str) -> Result<Cow<'b, str>, Problem> {
        as_text(&self.value)
            .ok_or_else(|| {
                Problem::new(
                    "wrong-type",
                    format!(
                        "`{function}` reads text or a number, not {}",
                        self.value.kind()
                    ),
                )
            })
            .map_err(|p| self.blame(p))
    }

    /// `problem`, naming this value's input unless it names one already.
    fn blame(&self, problem: Problem) -> Problem {
        match (&problem.field, self.origin) {
            (None, Some(origin)) => problem.at(origin),
            _ => problem,
        }
    }
}

/// What evaluating needs: the row, the batch's tables, the fields made so
/// far, the item `each` is at, and the fuel left.
pub(crate) struct Env<'e, 'b> {
    pub(crate) row: &'e Row<'b>,
    pub(crate) cx: &'e mut Cx,
    pub(crate) made: &'e [Result<Option<Value<'b>>, ()>],
    pub(crate) it: Option<Val<'b>>,
    pub(crate) fuel: u32,
    /// The codes with which tables refuse a scope.
    pub(crate) scope_refusals: &'e [String],
}

impl<'b> Env<'_, 'b> {
    /// A refusal of `term` read in `within`: the scope's input's fault when
    /// the code says the scope was refused.
    fn refused(&self, problem: Problem, term: &Val<'b>, within: Option<&Val<'b>>) -> Problem {
        match within {
            Some(scope) if self.scope_refusals.contains(&problem.code) => scope.blame(problem),
            _ => term.blame(problem),
        }
    }
}

impl Env<'_, '_> {
    /// Pays `steps` of the field's fuel; the row is rejected when it runs out.
    fn charge(&mut self, steps: usize) -> Result<(), Failed> {
        let steps = u32::try_from(steps).unwrap_or(u32::MAX);
        match self.fuel.checked_sub(steps) {
            Some(left) => {
                self.fuel = left;
                Ok(())
            }
            None => {
                self.fuel = 0;
                Err(Problem::new(
                    "mapping-limit",
                    format!("the expression took more than {FUEL_PER_FIELD} steps for this row (a step: a value, an item, a copied value, or {BYTES_PER_STEP} bytes of text)"),
                )
                .into())
            }
        }
    }
}

/// What copying `value` costs, in steps.
fn weight(value: &Value<'_>) -> usize {
    match value {
        Value::Text(text) | Value::Decimal(text) => 1 + text.len() / BYTES_PER_STEP,
        Value::Canonical(canonical) => 1 + canonical.len() / BYTES_PER_STEP,
        Value::List(items) => 1 + items.iter().map(weight).sum::<usize>(),
        Value::Object(members) => 1 + members.iter().map(|(_, v)| weight(v)).sum::<usize>(),
        Value::Null | Value::Integer(_) | Value::Boolean(_) => 1,
    }
}

impl Compiled {
    /// The expression's value in `env`.
    pub(crate) fn eval<'b>(&self, env: &mut Env<'_, 'b>) -> Result<Val<'b>, Failed> {
        env.charge(1)?;
        let row = env.row;
        Ok(match self {
            Compiled::Literal(value) => Val::new(value.clone(), None),
            Compiled::It => {
                let it = env.it.clone().unwrap_or(Val::new(Value::Null, None));
                env.charge(weight(&it.value))?;
                it
            }
            Compiled::Column(name) => {
                Val::new(Value::Text(Cow::Borrowed(row.text(name)?)), Some(*name))
            }
            Compiled::Pointer(pointer) => Val::new(
                Value::Text(Cow::Borrowed(row.text_at(pointer)?)),
                Some(*pointer),
            ),
            Compiled::Field(at) => match &env.made[*at] {
                Ok(Some(value)) => {
                    env.charge(weight(value))?;
                    Val::new(value.clone(), None)
                }
                Ok(None) => Val::new(Value::Null, None),
                Err(()) => return Err(Failed::Quiet),
            },
            Compiled::Text(of) => {
                let of = of.eval(env)?;
                let text = of.text("text")?;
                Val::new(Value::Text(text), of.origin)
            }
            Compiled::Decimal(of) => {
                let of = of.eval(env)?;
                let value = crate::value::as_kind(
                    conform_mapping::program::ValueKind::Decimal,
                    of.text("decimal")?,
                )
                .map_err(|p| of.blame(p))?;
                Val::new(value, of.origin)
            }
            Compiled::Integer(of) => {
                let of = of.eval(env)?;
                let value = crate::value::as_kind(
                    conform_mapping::program::ValueKind::Integer,
                    of.text("integer")?,
                )
                .map_err(|p| of.blame(p))?;
                Val::new(value, of.origin)
            }
            Compiled::Match(of, pattern) => {
                let of = of.eval(env)?;
                let text = of.text("match")?;
                let found = crate::value::first_group(pattern, &text)
                    .map(str::to_string)
                    .map_err(|p| of.blame(p))?;
                Val::new(Value::Text(Cow::Owned(found)), of.origin)
            }
            Compiled::Split(of, pattern) => {
                let of = of.eval(env)?;
                let text = of.text("split")?;
                let mut pieces = Vec::new();
                for piece in pattern.split(&text).map(str::trim) {
                    if !piece.is_empty() {
                        env.charge(1)?;
                        pieces.push(Value::Text(Cow::Owned(piece.to_string())));
                    }
                }
                Val::new(Value::List(pieces), of.origin)
            }
            Compiled::Each(list, body) => {
                let list = list.eval(env)?;
                let Value::List(items) = list.value else {
                    return Err(list
                        .blame(Problem::new(
                            "wrong-type",
                            format!("`each` goes over a list, not {}", list.value.kind()),
                        ))
                        .into());
                };
                let outer = env.it.take();
                let mut out = Vec::with_capacity(items.len());
                let mut failed = None;
                for item in items {
                    env.it = Some(Val::new(item, list.origin));
                    match body.eval(env) {
                        Ok(value) => out.push(value.value),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                env.it = outer;
                if let Some(e) = failed {
                    return Err(e);
                }
                Val::new(Value::List(out), list.origin)
            }
            Compiled::Zip(first, second) => {
                let (first, second) = (first.eval(env)?, second.eval(env)?);
                let (Value::List(a), Value::List(b)) = (&first.value, &second.value) else {
                    return Err(first
                        .blame(Problem::new(
                            "wrong-type",
                            format!(
                                "`zip` pairs two lists, not {} and {}",
                                first.value.kind(),
                                second.value.kind()
                            ),
                        ))
                        .into());
                };
                if a.len() != b.len() {
                    return Err(first
                        .blame(Problem::new(
                            "invalid-format",
                            format!(
                                "`zip` pairs lists of one length, not {} and {} items",
                                a.len(),
                                b.len()
                            ),
                        ))
                        .into());
                }
                env.charge(a.len())?;
                let pairs = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| Value::List(vec![x.clone(), y.clone()]))
                    .collect();
                Val::new(Value::List(pairs), first.origin.or(second.origin))
            }
            Compiled::Concat(parts) => {
                let mut joined = String::new();
                let mut origin = None;
                for part in parts {
                    let part = part.eval(env)?;
                    origin = origin.or(part.origin);
                    let text = part.text("concat")?;
                    env.charge(text.len() / BYTES_PER_STEP)?;
                    joined.push_str(&text);
                }
                Val::new(Value::Text(Cow::Owned(joined)), origin)
            }
            Compiled::Unit(value, unit, quantity) => {
                let value = value.eval(env)?;
                let unit = unit.eval(env)?;
                let (text, unit_text) = (value.text("unit")?, unit.text("unit")?);
                let canonical = quantity
                    .to_canonical(env.cx, &text, &unit_text)
                    .map_err(|p| {
                        if crate::value::is_unit_problem(&p) {
                            unit.blame(p)
                        } else {
                            value.blame(p)
                        }
                    })?;
                Val::new(
                    Value::Decimal(Cow::Owned(canonical.as_str().to_string())),
                    value.origin,
                )
            }
            Compiled::Code(list, term, within) => {
                let (term, within) = term_in(env, term, within.as_deref())?;
                let found = list
                    .lookup(
                        env.cx,
                        &term.text("code")?,
                        text_of(&within, "code")?.as_deref(),
                    )
                    .map_err(|p| env.refused(p, &term, within.as_ref()))?;
                Val::new(Value::Text(Cow::Owned(found.code)), term.origin)
            }
            Compiled::Level(levels, term, within) => {
                let (term, within) = term_in(env, term, within.as_deref())?;
                let found = levels
                    .resolve(
                        env.cx,
                        &term.text("level")?,
                        text_of(&within, "level")?.as_deref(),
                    )
                    .map_err(|p| env.refused(p, &term, within.as_ref()))?;
                let scope = found
                    .scope
                    .map_or(Value::Null, |s| Value::Text(Cow::Owned(s)));
                Val::new(
                    Value::Object(vec![
                        (Cow::Borrowed("level"), Value::Text(Cow::Owned(found.level))),
                        (
                            Cow::Borrowed("amount"),
                            Value::Decimal(Cow::Owned(found.amount)),
                        ),
                        (Cow::Borrowed("scope"), scope),
                    ]),
                    term.origin,
                )
            }
            Compiled::Classify(thresholds, value) => {
                let value = value.eval(env)?;
                let class = thresholds
                    .classify(env.cx, &value.text("classify")?)
                    .map_err(|p| value.blame(p))?;
                Val::new(Value::Text(Cow::Owned(class)), value.origin)
            }
            Compiled::Scheme(scheme, inputs) => scheme_of(env, scheme, inputs)?,
            Compiled::Date(format, value, pattern) | Compiled::Time(format, value, pattern) => {
                let value = value.eval(env)?;
                let text = value.text("date")?;
                let parsed = match self {
                    Compiled::Date(..) => format.parse_date(env.cx, &text, pattern),
                    _ => format.parse_time(env.cx, &text, pattern),
                }
                .map_err(|p| value.blame(p))?;
                Val::new(Value::Text(Cow::Owned(parsed)), value.origin)
            }
            Compiled::AddHours(format, time, hours) => {
                let time = time.eval(env)?;
                let hours = hours.eval(env)?;
                let whole = hours.text("add_hours")?;
                let whole: u32 = whole.parse().map_err(|_| {
                    hours.blame(Problem::new(
                        "not-a-number",
                        format!("`{whole}` is not a whole number of hours"),
                    ))
                })?;
                let later = format
                    .add_hours(env.cx, &time.text("add_hours")?, whole)
                    .map_err(|p| time.blame(p))?;
                Val::new(Value::Text(Cow::Owned(later)), time.origin)
            }
            Compiled::Member(of, name) => {
                let of = of.eval(env)?;
                let member = match &of.value {
                    Value::Object(members) => members
                        .iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.clone()),
                    _ => None,
                };
                Val::new(member.unwrap_or(Value::Null), of.origin)
            }
            Compiled::Index(of, index) => {
                let of = of.eval(env)?;
                let item = match &of.value {
                    Value::List(items) => items.get(*index).cloned(),
                    _ => None,
                };
                Val::new(item.unwrap_or(Value::Null), of.origin)
            }
            Compiled::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(item.eval(env)?.value);
                }
                Val::new(Value::List(out), None)
            }
            Compiled::Object(members) => {
                let mut out = Vec::with_capacity(members.len());
                for (key, member) in members {
                    out.push((Cow::Owned(key.clone()), member.eval(env)?.value));
                }
                Val::new(Value::Object(out), None)
            }
        })
    }
}

/// A term and, if given, the scope it is read in.
fn term_in<'b>(
    env: &mut Env<'_, 'b>,
    term: &Compiled,
    within: Option<&Compiled>,
) -> Result<(Val<'b>, Option<Val<'b>>), Failed> {
    let term = term.eval(env)?;
    let within = within.map(|w| w.eval(env)).transpose()?;
    Ok((term, within))
}

/// The text of a scope, if given.
fn text_of<'b>(within: &Option<Val<'b>>, function: &str) -> Result<Option<Cow<'b, str>>, Problem> {
    within.as_ref().map(|w| w.text(function)).transpose()
}

/// `scheme(…)`: `{class, parts: [{class, scope}]}`.
fn scheme_of<'b>(
    env: &mut Env<'_, 'b>,
    scheme: &Scheme,
    inputs: &[(Compiled, Option<Compiled>)],
) -> Result<Val<'b>, Failed> {
    let mut read = Vec::with_capacity(inputs.len());
    for (term, within) in inputs {
        read.push(term_in(env, term, within.as_ref())?);
    }
    let texts = read
        .iter()
        .map(|(term, within)| Ok((term.text("scheme")?, text_of(within, "scheme")?)))
        .collect::<Result<Vec<_>, Problem>>()?;
    let queries: Vec<(&str, Option<&str>)> = texts
        .iter()
        .map(|(term, within)| (term.as_ref(), within.as_deref()))
        .collect();
    let found = scheme.evaluate(env.cx, &queries).map_err(|p| {
        let at = p
            .input
            .map_or(0, |i| i as usize)
            .min(read.len().saturating_sub(1));
        match read.get(at) {
            Some((term, within)) => env.refused(p, term, within.as_ref()),
            None => p,
        }
    })?;
    let parts = found
        .parts
        .into_iter()
        .map(|part| {
            let scope = part
                .scope
                .map_or(Value::Null, |s| Value::Text(Cow::Owned(s)));
            Value::Object(vec![
                (Cow::Borrowed("class"), Value::Text(Cow::Owned(part.class))),
                (Cow::Borrowed("scope"), scope),
            ])
        })
        .collect();
    let origin = read.first().and_then(|(term, _)| term.origin);
    Ok(Val::new(
        Value::Object(vec![
            (Cow::Borrowed("class"), Value::Text(Cow::Owned(found.class))),
            (Cow::Borrowed("parts"), Value::List(parts)),
        ]),
        origin,
    ))
}
