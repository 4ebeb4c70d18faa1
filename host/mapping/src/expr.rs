//! The expression language of mappings (a field's `expr`): small, total
//! (no loops but `each` over a list already made, no recursion, no
//! definitions), every name checkable against the pack before anything
//! runs. [`parse`] reads an expression; [`Resolver`] checks it against the
//! pack and the mapping and fills in the tables left to the pack.
//!
//! ```text
//! expr     := primary ( "." name | "[" digits "]" )*
//! primary  := "text" | 'raw text' | number | true | false | null | it
//!           | name "(" ( expr ( "," expr )* )? ")"
//!           | "[" ( expr ( "," expr )* )? "]"
//!           | "{" ( key ":" expr ( "," key ":" expr )* )? "}"
//!           | "(" expr ")"
//! ```

use conform_model::pack::TableKind;

use crate::check::FieldCheck;
use crate::program::{Expr, Function};

/// The longest expression (bytes).
pub const MAX_EXPR_BYTES: usize = 4096;
/// The deepest nesting of an expression.
const MAX_DEPTH: usize = 32;
/// The most parts (literals, calls, members…) of an expression.
const MAX_NODES: usize = 1000;

/// A problem of an expression's syntax: where (a byte of the expression)
/// and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The byte of the expression where the problem is.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses `text` into an expression.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    if text.len() > MAX_EXPR_BYTES {
        return Err(SyntaxError {
            at: 0,
            message: format!(
                "the expression is {} bytes long, more than {MAX_EXPR_BYTES}",
                text.len()
            ),
        });
    }
    let mut parser = Parser {
        text,
        at: 0,
        depth: 0,
        nodes: 0,
    };
    let expr = parser.expr()?;
    parser.blank();
    if parser.at < text.len() {
        return Err(parser
            .error("this is left over after the expression: end it, or join it with a function"));
    }
    Ok(expr)
}

struct Parser<'t> {
    text: &'t str,
    at: usize,
    depth: usize,
    nodes: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError {
            at: self.at,
            message: message.to_string(),
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn blank(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.text.len() - trimmed.len();
    }

    fn peek(&mut self) -> Option<char> {
        self.blank();
        self.rest().chars().next()
    }

    /// Takes `c` if it comes next.
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), SyntaxError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected `{c}` here")))
        }
    }

    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        self.depth += 1;
        self.nodes += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("the expression nests deeper than {MAX_DEPTH}")));
        }
        if self.nodes > MAX_NODES {
            return Err(self.error(&format!("the expression has more than {MAX_NODES} parts")));
        }
        let mut expr = self.primary()?;
        // Each `.name` or `[n]` nests the expression one level deeper.
        let depth = self.depth;
        loop {
            if self.rest().trim_start().starts_with(['.', '[']) {
                self.depth += 1;
                self.nodes += 1;
                if self.depth > MAX_DEPTH || self.nodes > MAX_NODES {
                    return Err(self.error(&format!(
                        "the expression nests deeper than {MAX_DEPTH} or has more than {MAX_NODES} parts"
                    )));
                }
            }
            if self.eat('.') {
                let name = self
                    .name()
                    .ok_or_else(|| self.error("expected a member's name after `.`"))?;
                expr = Expr::Member {
                    of: Box::new(expr),
                    name,
                };
            } else if self.eat('[') {
                self.blank();
                let index = self.adjacent_digits().and_then(|d| d.parse::<u32>().ok());
                let index =
                    index.ok_or_else(|| self.error("expected an item's number after `[`"))?;
                self.expect(']')?;
                expr = Expr::Index {
                    of: Box::new(expr),
                    index,
                };
            } else {
                break;
            }
        }
        self.depth = depth - 1;
        Ok(expr)
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let Some(c) = self.peek() else {
            return Err(self.error("the expression ends where a value was expected"));
        };
        match c {
            '"' => self.string().map(Expr::Text),
            '\'' => self.raw().map(Expr::Text),
            '-' | '0'..='9' => self.number().map(Expr::Number),
            '.' => Err(self.error("a number starts with a digit: write `0.5`")),
            '[' => {
                self.at += 1;
                self.items(']').map(Expr::List)
            }
            '{' => {
                self.at += 1;
                self.members().map(Expr::Object)
            }
            '(' => {
                self.at += 1;
                let inner = self.expr()?;
                self.expect(')')?;
                Ok(inner)
            }
            c if c.is_alphabetic() || c == '_' => self.word(),
            _ => Err(self.error(&format!("`{c}` cannot start a value"))),
        }
    }

    fn word(&mut self) -> Result<Expr, SyntaxError> {
        let start = self.at;
        let name = self.name().expect("a letter comes next");
        match name.as_str() {
            "true" => return Ok(Expr::Boolean(true)),
            "false" => return Ok(Expr::Boolean(false)),
            "null" => return Ok(Expr::Null),
            "it" => return Ok(Expr::It),
            _ => {}
        }
        let Some(function) = Function::named(&name) else {
            let known: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
            return Err(SyntaxError {
                at: start,
                message: format!(
                    "unknown function `{name}`; the functions: {}",
                    known.join(", ")
                ),
            });
        };
        if !self.eat('(') {
            return Err(self.error(&format!("`{name}` is a function: call it as `{name}(…)`")));
        }
        let args = self.items(')')?;
        Ok(Expr::Call { function, args })
    }

    /// Expressions separated by `,` up to `close`.
    fn items(&mut self, close: char) -> Result<Vec<Expr>, SyntaxError> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.eat(close) {
                return Ok(items);
            }
            if !self.eat(',') {
                return Err(self.error(&format!("expected `,` or `{close}` here")));
            }
            // A `,` may end the list.
            if self.eat(close) {
                return Ok(items);
            }
        }
    }

    fn members(&mut self) -> Result<Vec<(String, Expr)>, SyntaxError> {
        let mut members: Vec<(String, Expr)> = Vec::new();
        if self.eat('}') {
            return Ok(members);
        }
        loop {
            let key = match self.peek() {
                Some('"') => self.string()?,
                Some('\'') => self.raw()?,
                _ => self
                    .name()
                    .ok_or_else(|| self.error("expected a member's name here"))?,
            };
            if members.iter().any(|(k, _)| *k == key) {
                return Err(self.error(&format!("member `{key}` is given twice")));
            }
            self.expect(':')?;
            members.push((key, self.expr()?));
            if self.eat('}') {
                return Ok(members);
            }
            if !self.eat(',') {
                return Err(self.error("expected `,` or `}` here"));
            }
            // A `,` may end the object.
            if self.eat('}') {
                return Ok(members);
            }
        }
    }

    fn name(&mut self) -> Option<String> {
        self.blank();
        let len = self
            .rest()
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        let first = self.rest().chars().next()?;
        if len == 0 || first.is_ascii_digit() {
            return None;
        }
        let name = self.rest()[..len].to_string();
        self.at += len;
        Some(name)
    }

    /// `-`? digits (`.` digits)?, written without spaces.
    fn number(&mut self) -> Result<String, SyntaxError> {
        self.blank();
        let negative = self.rest().starts_with('-');
        if negative {
            self.at += 1;
        }
        let Some(whole) = self.adjacent_digits() else {
            return Err(self.error("expected digits here, right after the `-`"));
        };
        let mut number = if negative { format!("-{whole}") } else { whole };
        if self.rest().starts_with('.') {
            self.at += 1;
            let Some(fraction) = self.adjacent_digits() else {
                return Err(self.error("expected digits right after the decimal point"));
            };
            number.push('.');
            number.push_str(&fraction);
        }
        Ok(number)
    }

    /// The digits that start right here, without skipping blanks.
    fn adjacent_digits(&mut self) -> Option<String> {
        let len = self
            .rest()
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest().len());
        (len > 0).then(|| {
            let digits = self.rest()[..len].to_string();
            self.at += len;
            digits
        })
    }

    /// `"…"` with `\"`, `\\`, `\n` and `\t`.
    fn string(&mut self) -> Result<String, SyntaxError> {
        self.at += 1;
        let mut text = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += i + 1;
                    return Ok(text);
                }
                '\\' => match chars.next() {
                    Some((_, '"')) => text.push('"'),
                    Some((_, '\\')) => text.push('\\'),
                    Some((_, 'n')) => text.push('\n'),
                    Some((_, 't')) => text.push('\t'),
                    _ => {
                        self.at += i;
                        return Err(self.error(
                            "unknown escape: write `\\\"`, `\\\\`, `\\n` or `\\t`, or use 'single quotes' for text with backslashes",
                        ));
                    }
                },
                c => text.push(c),
            }
        }
        Err(self.error("the text is not closed with `\"`"))
    }

    /// `'…'`, taken as written (for patterns).
    fn raw(&mut self) -> Result<String, SyntaxError> {
        self.at += 1;
        match self.rest().find('\'') {
            Some(end) => {
                let text = self.rest()[..end].to_string();
                self.at += end + 1;
                Ok(text)
            }
            None => Err(self.error("the text is not closed with `'`")),
        }
    }
}

/// Checks expressions against the pack and the mapping, and fills in the
/// tables an expression leaves to the pack.
pub(crate) struct Resolver<'c> {
    /// The field the expression makes, and its pack.
    pub(crate) field: &'c FieldCheck<'c>,
    /// The fields made before it, which `field(…)` may name.
    pub(crate) earlier: &'c [&'c str],
}

/// What `resolve` found wrong, each said for a person.
pub(crate) type Problems = Vec<String>;

impl Resolver<'_> {
    /// `expr` checked, its tables filled in; or every problem.
    pub(crate) fn resolve(&self, mut expr: Expr) -> Result<Expr, Problems> {
        let mut problems = Vec::new();
        self.walk(&mut expr, false, &mut problems);
        if problems.is_empty() {
            Ok(expr)
        } else {
            Err(problems)
        }
    }

    fn walk(&self, expr: &mut Expr, in_each: bool, problems: &mut Problems) {
        match expr {
            Expr::It if !in_each => problems
                .push("`it` means the item of `each(list, …)`, and stands outside one".into()),
            Expr::Text(_) | Expr::Number(_) | Expr::Boolean(_) | Expr::Null | Expr::It => {}
            Expr::Member { of, name } => {
                if let Some(why) = no_member(of, name) {
                    problems.push(why);
                }
                self.walk(of, in_each, problems);
            }
            Expr::Index { of, .. } => {
                if let Shape::Single(what) | Shape::Object(what, _) = shape(of) {
                    problems.push(format!("`[…]` takes an item of a list, and {what} is none"));
                }
                self.walk(of, in_each, problems);
            }
            Expr::List(items) => items
                .iter_mut()
                .for_each(|e| self.walk(e, in_each, problems)),
            Expr::Object(members) => members
                .iter_mut()
                .for_each(|(_, e)| self.walk(e, in_each, problems)),
            Expr::Call { function, args } => {
                let function = *function;
                // A scheme's inputs are walked below; a `scoped` met here
                // stands anywhere else.
                if function == Function::Scoped {
                    problems.push("`scoped(term, scope)` is an input of `scheme(…)` only".into());
                }
                self.call(function, args, problems);
                for (i, arg) in args.iter_mut().enumerate() {
                    if let Expr::Call {
                        function: Function::Scoped,
                        args: scoped,
                    } = arg
                    {
                        if function != Function::Scheme || i == 0 {
                            problems.push(
                                "`scoped(term, scope)` is an input of `scheme(…)` only".into(),
                            );
                        }
                        self.call(Function::Scoped, scoped, problems);
                        scoped
                            .iter_mut()
                            .for_each(|e| self.walk(e, in_each, problems));
                        continue;
                    }
                    let body_of_each = function == Function::Each && i == 1;
                    self.walk(arg, in_each || body_of_each, problems);
                }
            }
        }
    }

    /// One call's arity, literal arguments and tables.
    fn call(&self, function: Function, args: &mut Vec<Expr>, problems: &mut Problems) {
        let name = function.name();
        let (min, max) = arity(function);
        if args.len() < min || args.len() > max {
            let wanted = match (min, max) {
                (min, usize::MAX) => format!("at least {min}"),
                (min, max) if min == max => format!("{min}"),
                (min, max) => format!("{min} to {max}"),
            };
            problems.push(format!(
                "`{name}` takes {wanted} argument(s), not {}",
                args.len()
            ));
            return;
        }
        let need_literal = |args: &[Expr], i: usize, what: &str, problems: &mut Problems| {
            let text = literal(args, i);
            if text.is_none() {
                problems.push(format!(
                    "argument {} of `{name}` must be written out as text: {what}",
                    i + 1
                ));
            }
            text
        };
        match function {
            Function::Column => {
                need_literal(args, 0, "the column's name", problems);
            }
            Function::Pointer => {
                if let Some(pointer) = need_literal(args, 0, "a JSON pointer", problems) {
                    if !pointer.starts_with('/') {
                        problems.push(format!(
                            "`{pointer}` is not a JSON pointer: it starts with `/`"
                        ));
                    }
                }
            }
            Function::Field => {
                if let Some(field) = need_literal(
                    args,
                    0,
                    "the name of a field made before this one",
                    problems,
                ) {
                    if !self.earlier.contains(&field.as_str()) {
                        problems.push(format!(
                            "`field(\"{field}\")` names no field made before `{}` (fields are made in the file's order; before it: {})",
                            self.field.field,
                            if self.earlier.is_empty() { "none".to_string() } else { self.earlier.join(", ") }
                        ));
                    }
                }
            }
            Function::Match | Function::Split => {
                if let Some(pattern) = need_literal(args, 1, "a regular expression", problems) {
                    if let Err(why) = crate::check::pattern_problem(&pattern) {
                        problems.push(format!("`{name}`: {why}"));
                    }
                }
            }
            Function::Unit => {
                if let Some(table) = self.table(args, 2, TableKind::UnitCatalogue, problems) {
                    if let Some(unit) = literal(args, 1) {
                        if let Some(units) = self.field.pack.standard().tables().units(&table) {
                            if let Err(e) = units.to_canonical(
                                "1",
                                &unit,
                                self.field.record_type,
                                self.field.field,
                            ) {
                                problems.push(e.message.to_string());
                            }
                        }
                    }
                }
            }
            Function::Code => self.named_table(args, TableKind::CodeList, problems),
            Function::Level => self.named_table(args, TableKind::TermLevels, problems),
            Function::Classify => self.named_table(args, TableKind::Thresholds, problems),
            Function::Scheme => self.named_table(args, TableKind::Scheme, problems),
            Function::Date | Function::Time => {
                let pattern =
                    need_literal(args, 1, "a strftime pattern (`%Y年%m月%d日`)", problems);
                let table = self.table(args, 2, TableKind::TimeFormat, problems);
                if let (Some(pattern), Some(table)) = (pattern, table) {
                    if let Err(why) = self.field.time_pattern(&table, &pattern) {
                        problems.push(why);
                    }
                }
            }
            Function::AddHours => {
                self.table(args, 2, TableKind::TimeFormat, problems);
            }
            Function::Text
            | Function::Decimal
            | Function::Integer
            | Function::Each
            | Function::Zip
            | Function::Concat
            | Function::Scoped => {}
        }
    }

    /// The table named by argument 1 (written out), of `kind`.
    fn named_table(&self, args: &[Expr], kind: TableKind, problems: &mut Problems) {
        match args.first() {
            Some(Expr::Text(name)) => {
                if let Err(why) = self.field.table(Some(name), kind) {
                    problems.push(why);
                }
            }
            _ => problems.push(format!(
                "argument 1 must name a {} table, written out as text",
                kind.name()
            )),
        }
    }

    /// The table of `kind` argument `at` names, or the pack's only one
    /// (then added as that argument).
    fn table(
        &self,
        args: &mut Vec<Expr>,
        at: usize,
        kind: TableKind,
        problems: &mut Problems,
    ) -> Option<String> {
        let name = match args.get(at) {
            None => None,
            Some(Expr::Text(name)) => Some(name.as_str()),
            Some(_) => {
                problems.push(format!(
                    "argument {} must name a {} table, written out as text",
                    at + 1,
                    kind.name()
                ));
                return None;
            }
        };
        match self.field.table(name, kind) {
            Ok(table) => {
                if args.len() == at {
                    args.push(Expr::Text(table.clone()));
                }
                Some(table)
            }
            Err(why) => {
                problems.push(why);
                None
            }
        }
    }
}

/// What a value is, as far as the check can tell before anything runs.
enum Shape {
    /// Not known (`it`, `field(…)`, a member of something unknown).
    Unknown,
    /// One value (text, a number…): what made it.
    Single(String),
    /// A list.
    List(String),
    /// An object with these members: what made it.
    Object(String, Vec<String>),
}

/// The shape of `expr`'s value.
fn shape(expr: &Expr) -> Shape {
    let made_by = |function: Function| format!("`{}(…)`", function.name());
    let members = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
    match expr {
        Expr::Text(_) | Expr::Number(_) | Expr::Boolean(_) | Expr::Null => {
            Shape::Single("a value written out".into())
        }
        Expr::List(_) => Shape::List("a list written out".into()),
        Expr::Object(fields) => Shape::Object(
            "the object written out".into(),
            fields.iter().map(|(k, _)| k.clone()).collect(),
        ),
        Expr::Call { function, .. } => match function {
            Function::Level => {
                Shape::Object(made_by(*function), members(&["level", "amount", "scope"]))
            }
            Function::Scheme => Shape::Object(made_by(*function), members(&["class", "parts"])),
            Function::Split | Function::Each | Function::Zip => Shape::List(made_by(*function)),
            Function::Field | Function::Scoped => Shape::Unknown,
            other => Shape::Single(made_by(*other)),
        },
        // A scheme's parts are objects of a class and a scope.
        Expr::Index { of, .. } => match &**of {
            Expr::Member { of: inner, name } if name == "parts" => match shape(inner) {
                Shape::Object(what, _) if what == made_by(Function::Scheme) => Shape::Object(
                    "an item of `scheme(…).parts`".into(),
                    members(&["class", "scope"]),
                ),
                _ => Shape::Unknown,
            },
            _ => Shape::Unknown,
        },
        Expr::It | Expr::Member { .. } => Shape::Unknown,
    }
}

/// Why `of.name` can have no value, if the check can tell.
fn no_member(of: &Expr, name: &str) -> Option<String> {
    match shape(of) {
        Shape::Object(what, members) if !members.iter().any(|m| m == name) => Some(format!(
            "{what} has no member `{name}`; its members: {}",
            members.join(", ")
        )),
        Shape::Single(what) => Some(format!("`.{name}`: {what} is one value, with no members")),
        Shape::List(what) => Some(format!(
            "`.{name}`: {what} is a list, with no members: take an item with `[0]`"
        )),
        _ => None,
    }
}

/// Argument `i` when it is written out as text.
fn literal(args: &[Expr], i: usize) -> Option<String> {
    match args.get(i) {
        Some(Expr::Text(text)) => Some(text.clone()),
        _ => None,
    }
}

/// How many arguments a function takes: at least, at most.
fn arity(function: Function) -> (usize, usize) {
    match function {
        Function::Column
        | Function::Pointer
        | Function::Field
        | Function::Text
        | Function::Decimal
        | Function::Integer => (1, 1),
        Function::Match
        | Function::Split
        | Function::Each
        | Function::Zip
        | Function::Classify
        | Function::Scoped => (2, 2),
        Function::Concat => (1, usize::MAX),
        Function::Scheme => (2, usize::MAX),
        Function::Unit
        | Function::Code
        | Function::Level
        | Function::Date
        | Function::Time
        | Function::AddHours => (2, 3),
    }
}

/// Every column an expression reads (`column("…")`), for a sample's check.
pub fn columns(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Call {
            function: Function::Column,
            args,
        } => {
            if let Some(Expr::Text(column)) = args.first() {
                out.push(column.clone());
            }
        }
        Expr::Call { args, .. } | Expr::List(args) => args.iter().for_each(|e| columns(e, out)),
        Expr::Member { of, .. } | Expr::Index { of, .. } => columns(of, out),
        Expr::Object(members) => members.iter().for_each(|(_, e)| columns(e, out)),
        Expr::Text(_) | Expr::Number(_) | Expr::Boolean(_) | Expr::Null | Expr::It => {}
    }
}
