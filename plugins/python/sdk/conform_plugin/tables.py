"""The pack's tables, as the Rust SDK's: each opened by name on first use
(the handle kept for the instance), every answer remembered for the batch,
so that a term that repeats costs one host call a batch. A refusal is a
`Problem` with the pack's own code and words."""

from ._row import Problem

# Handles, by table, for the instance's life.
_OPENED = {}


def _host():
    from wit_world.imports import tables

    return tables


# The most values one `-many` call may carry (the contract's bound).
MAX_MANY = 4096


def _problem(error):
    """A service error (the bindings raise `Err(ServiceError)`) as a Problem."""
    return Problem(error.value.code, error.value.message, input=error.value.input)


def _open(kind, key, opener):
    from componentize_py_types import Err

    handle = _OPENED.get((kind, key))
    if handle is None:
        try:
            handle = opener()
        except Err as error:
            raise _problem(error) from None
        _OPENED[(kind, key)] = handle
    return handle


def _ask(memo, key, call):
    """A remembered answer, or `call()`'s (a refusal remembered too)."""
    from componentize_py_types import Err

    answer = memo.get(key)
    if answer is None:
        try:
            answer = (True, call())
        except Problem as problem:
            answer = (False, problem)
        except Err as error:
            answer = (False, _problem(error))
        memo[key] = answer
    ok, value = answer
    if ok:
        return value
    raise Problem(value.code, value.message, value.field, value.target, value.input)


class Cx:
    """What the tables remember for one batch."""

    def __init__(self):
        self.memo = {}


class CodeList:
    """A code list of the pack: codes with names, aliases and crosswalks."""

    def __init__(self, name):
        self.name = name

    def _list(self):
        return _open("code-list", self.name, lambda: _host().CodeList.open(self.name))

    def lookup(self, cx, term, scope=None):
        """The match of `term` (read in `scope`): `.code`, `.scope`, `.by`."""
        return _ask(
            cx.memo,
            ("code-list", self.name, scope, term),
            lambda: self._list().lookup(term, scope),
        )

    def code(self, cx, term):
        """The code of `term`."""
        return self.lookup(cx, term).code

    def code_in(self, cx, term, scope):
        """The code of `term` read in `scope`."""
        return self.lookup(cx, term, scope).code


class ClassSet:
    """A class set of the pack: classes, best first."""

    def __init__(self, name):
        self.name = name

    def lowest(self, cx, classes):
        """The worst of `classes`."""
        classes = list(classes)
        return _ask(
            cx.memo,
            ("class-set", self.name, tuple(classes)),
            lambda: _open("class-set", self.name, lambda: _host().ClassSet.open(self.name)).lowest(classes),
        )


class Thresholds:
    """A classification of a quantity by thresholds."""

    def __init__(self, name):
        self.name = name

    def classify(self, cx, value):
        return _ask(
            cx.memo,
            ("thresholds", self.name, value),
            lambda: _open("thresholds", self.name, lambda: _host().Thresholds.open(self.name)).classify(value),
        )


class TermLevels:
    """Terms, per scope, to amounts to levels."""

    def __init__(self, name):
        self.name = name

    def resolve(self, cx, term, scope=None):
        """The match: `.level`, `.amount`, `.scope`."""
        return _ask(
            cx.memo,
            ("term-levels", self.name, scope, term),
            lambda: _open("term-levels", self.name, lambda: _host().TermLevels.open(self.name)).resolve(term, scope),
        )


class Scheme:
    """A scheme that combines classifications (`the lower of`)."""

    def __init__(self, name):
        self.name = name

    def evaluate(self, cx, inputs):
        """The class of `inputs` (`(term, scope)`, one per part, in order);
        a refusal's `input` names the input at fault."""
        inputs = [(term, scope) for term, scope in inputs]
        host = _host()
        return _ask(
            cx.memo,
            ("scheme", self.name, tuple(inputs)),
            lambda: _open("scheme", self.name, lambda: host.Scheme.open(self.name)).evaluate(
                [host.TermQuery(term, scope) for term, scope in inputs]
            ),
        )


def whole_hours(found):
    """The hours a term level promises (`found.amount`), as a whole number,
    else an `invalid-format` problem."""
    amount = found.amount
    digits = amount[1:] if amount.startswith("+") else amount
    if digits.isascii() and digits.isdigit() and len(digits.lstrip("0")) <= 10:
        hours = int(digits)
        if hours < 2**32:
            return hours
    raise Problem(
        "invalid-format",
        f"level `{found.level}` promises `{amount}`, not a whole number of hours",
    )


class TimeFormat:
    """The pack's time format: times and dates read with a pattern
    (strftime, `unix-ms`, `unix-s`), hours added."""

    def __init__(self, name):
        self.name = name

    def _format(self):
        return _open("time-format", self.name, lambda: _host().TimeFormat.open(self.name))

    def _parse(self, cx, text, pattern, date):
        def parse():
            parser = _open(
                "time-pattern", (self.name, pattern), lambda: self._format().pattern(pattern)
            )
            return parser.parse_date(text) if date else parser.parse_time(text)

        return _ask(cx.memo, ("time", self.name, date, pattern, text), parse)

    def parse_time(self, cx, text, pattern):
        """A time read with `pattern`, in the standard's format."""
        return self._parse(cx, text, pattern, False)

    def parse_date(self, cx, text, pattern):
        """A date read with `pattern`, as `YYYY-MM-DD`."""
        return self._parse(cx, text, pattern, True)

    def add_hours(self, cx, time, hours):
        """`time` (in the standard's format) plus `hours`."""
        return _ask(
            cx.memo,
            ("add-hours", self.name, time, hours),
            lambda: self._format().add_hours(time, hours),
        )


class Quantity:
    """A quantity field of a record type in a unit catalogue: its canonical
    unit and decimals; conversions exact, rounded half to even once."""

    def __init__(self, table, record_type, field):
        self.key = (table, record_type, field)

    def _quantity(self):
        return _open("quantity", self.key, lambda: _host().Quantity.open(*self.key))

    def to_canonical(self, cx, value, unit):
        """`value` in `unit`, in the field's canonical unit (decimal text)."""
        return _ask(
            cx.memo,
            ("quantity", self.key, unit, value),
            lambda: self._quantity().to_canonical(value, unit),
        )

    def to_canonical_glued(self, cx, text):
        """`8.2g`, `0.75 kg`, `2两`: the number with its unit, converted; text
        without a number and a unit after it is `not-a-quantity`."""
        from .written import split_quantity

        split = split_quantity(text)
        if split is None:
            raise Problem(
                "not-a-quantity",
                f"`{text}` is not a number followed by its unit (`8.2g`, `0.75 kg`)",
            )
        return self.to_canonical(cx, split[0], split[1])

    def prefetch(self, cx, values, unit):
        """Asks the host in one call for every value not yet answered in this
        batch, so that `to_canonical` answers from memory."""
        asked, seen = [], set()
        for value in values:
            key = ("quantity", self.key, unit, value)
            if key not in cx.memo and value not in seen:
                seen.add(value)
                asked.append(value)
        if not asked:
            return
        try:
            quantity = self._quantity()
        except Problem:
            return  # `to_canonical` says so, value by value
        for chunk in range(0, len(asked), MAX_MANY):
            self._prefetch(cx, quantity, asked[chunk : chunk + MAX_MANY], unit)

    def _prefetch(self, cx, quantity, asked, unit):
        from componentize_py_types import Ok

        data = bytearray()
        ends = []
        for value in asked:
            data += value.encode("utf-8")
            ends.append(len(data))
        answers = quantity.to_canonical_many(_host().Measures("".join(asked), ends, unit))
        text = answers.text.encode("utf-8")
        for value, answer in zip(asked, answers.answers):
            key = ("quantity", self.key, unit, value)
            if isinstance(answer, Ok):
                span = answer.value
                cx.memo[key] = (True, text[span.start : span.start + span.len].decode("utf-8"))
            else:
                cx.memo[key] = (False, Problem(answer.value.code, answer.value.message))


def in_one_unit(cx, unit, unit_column, fields):
    """Several fields given in one unit column (`长`, `宽`, `高` in `单位`),
    each `(quantity, value, value's column)`, in their canonical units. The
    unit is tried once first: a unit the pack refuses is one problem, at
    `unit_column`, not one per field; then each value is converted, a bad
    one a problem at its own column. Raises `Rejected` with every problem
    (`checks.take(in_one_unit, …)` keeps them all)."""
    from ._row import Checks, Rejected

    fields = list(fields)
    if fields:
        try:
            fields[0][0].to_canonical(cx, "0", unit)
        except Problem as problem:
            raise Rejected([problem.at(unit_column)]) from None
    checks = Checks()
    converted = [
        checks.take(quantity.to_canonical, cx, value, unit, at=column)
        for quantity, value, column in fields
    ]
    checks.finish()
    return converted
