"""Rows of a batch as the plugin reads them, and the problems that reject one."""

import re

# What `str.trim` in Rust (the Unicode White_Space property) removes.
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_WHOLE = re.compile(r"[+-]?[0-9]+\Z")
_I64 = (-(2**63), 2**63 - 1)

# The cases of a cell as it crosses (four words: column, case, a, b).
TEXT, NUMBER, BOOLEAN, NULL, EMPTY_OBJECT, EMPTY_ARRAY = range(6)
CELL_WORDS = 4


class Problem(Exception):
    """One reason a row cannot be converted: a stable kebab-case code, a
    message a person can act on, the input field at fault (`at`) and the
    record field it concerns (`target`, a JSON pointer); for a refusal of a
    call with several inputs (`Scheme.evaluate`), `input` is the one at fault."""

    def __init__(self, code, message, at=None, target=None, input=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = at
        self.target = target
        self.input = input

    def at(self, field):
        """The same problem, attributed to an input field (unless it has one)."""
        if self.field is None:
            self.field = field
        return self

    def concerning(self, pointer):
        """The same problem, concerning a record field (unless it has one)."""
        if self.target is None:
            self.target = pointer
        return self

    def __repr__(self):
        return f"Problem({self.code!r}, {self.message!r}, at={self.field!r})"


class Rejected(Exception):
    """Why a row cannot be converted: every problem found."""

    def __init__(self, problems):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    def codes(self):
        """The problems' codes in order, for tests of a mapping."""
        return [p.code for p in self.problems]


class Checks:
    """Collects the problems of several fields, so that a row reports all of them."""

    def __init__(self):
        self.problems = []

    def take(self, read, *args, at=None):
        """`read(*args)`, or `None` with its problem kept (attributed to
        `at` when it names no field). A `Rejected` keeps all its problems."""
        try:
            return read(*args)
        except Problem as problem:
            self.problems.append(problem.at(at) if at is not None else problem)
        except Rejected as rejected:
            self.problems.extend(rejected.problems)
        return None

    def optional(self, read, *args, at=None):
        """Like `take` for a field the record may leave out: `None`, and no
        problem, when it is missing; present but wrong, a problem."""
        try:
            return read(*args)
        except Problem as problem:
            if problem.code != "missing-field":
                self.problems.append(problem.at(at) if at is not None else problem)
        except Rejected as rejected:
            self.problems.extend(rejected.problems)
        return None

    def push(self, problem):
        """Keeps a problem found otherwise."""
        self.problems.append(problem)

    def finish(self):
        """Raises `Rejected` with every problem kept, if any."""
        if self.problems:
            raise Rejected(self.problems)


class Cell:
    """A value as the file wrote it: `kind` is "text", "number", "boolean",
    "null", "object" or "list"; `value` the text (or the boolean)."""

    __slots__ = ("kind", "value")
    KINDS = ("text", "number", "boolean", "null", "object", "list")

    def __init__(self, kind, value):
        self.kind = kind
        self.value = value

    def __repr__(self):
        return f"Cell({self.kind!r}, {self.value!r})"


def trimmed(text):
    """`text` without surrounding whitespace (as the Rust SDK trims)."""
    return text.strip(_WHITESPACE)


class Row:
    """One input record: its cells by column name."""

    __slots__ = ("_batch", "_start", "_len", "ordinal", "line")

    def __init__(self, batch, start, length, ordinal, line):
        self._batch = batch
        self._start = start
        self._len = length
        self.ordinal = ordinal
        self.line = line

    def get(self, name):
        """The cell of column `name` (a CSV header, a JSON key), or `None`."""
        return self._at_path((("k", name),))

    def pointer(self, pointer):
        """The value at a JSON pointer (`/Size/@length`, `/items/0/sku`), or `None`."""
        if not pointer.startswith("/"):
            return None
        path = ()
        for part in pointer[1:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if self._batch.prefixes.get(path) == "list" and part.isdigit() and part.isascii():
                path += (("i", int(part)),)
            else:
                path += (("k", part),)
        return self._at_path(path)

    def _at_path(self, path):
        batch = self._batch
        column = batch.paths.get(path)
        if column is not None:
            cell = self._in_column(column)
            if cell is not None:
                return cell
        # A list or an object is present when one of its members is.
        kind = batch.prefixes.get(path)
        if kind is None:
            return None
        words, depth = batch.cells, len(path)
        for i in range(self._start, self._start + self._len):
            member = batch.column_paths[words[i * CELL_WORDS]]
            if len(member) > depth and member[:depth] == path:
                return Cell(kind, None)
        return None

    def _in_column(self, column):
        words = self._batch.cells
        # Cells ascend by column; a CSV row has every column, so the guess
        # is most often right.
        at = self._start + column
        if not (at < self._start + self._len and words[at * CELL_WORDS] == column):
            at = next(
                (
                    i
                    for i in range(self._start, self._start + self._len)
                    if words[i * CELL_WORDS] == column
                ),
                None,
            )
            if at is None:
                return None
        w = at * CELL_WORDS
        case, a, b = words[w + 1], words[w + 2], words[w + 3]
        if case in (TEXT, NUMBER):
            return Cell(Cell.KINDS[case], self._batch.text_at(a, b))
        if case == BOOLEAN:
            return Cell("boolean", a == 1)
        return Cell(Cell.KINDS[case], None)

    def text(self, name):
        """A required field as text: non-blank text (trimmed), or a number
        as written; else a `missing-field` or `wrong-type` problem."""
        return _text_of(self.get(name), name)

    def text_at(self, pointer):
        """Like `text`, for the value at a JSON pointer; problems name the pointer."""
        return _text_of(self.pointer(pointer), pointer)

    def count(self, name):
        """A required whole number (`20`, `"20"`): else `not-a-number`."""
        return _whole(self.text(name), name)

    def count_at(self, pointer):
        """A required whole number at a JSON pointer."""
        return _whole(self.text_at(pointer), pointer)


def _text_of(cell, name):
    if cell is None or cell.kind == "null":
        raise _missing(name)
    if cell.kind == "text":
        text = trimmed(cell.value)
        if not text:
            raise _missing(name)
        return text
    if cell.kind == "number":
        return cell.value
    kind = {"boolean": "a boolean", "list": "a list", "object": "an object"}[cell.kind]
    raise Problem("wrong-type", f"`{name}` must be text or a number, not {kind}", at=name)


def _whole(text, name):
    if _WHOLE.match(text):
        # Past its leading zeros, a 64-bit number has at most 19 digits
        # (and Python refuses to read very long numbers at all).
        sign = "-" if text[0] == "-" else ""
        digits = text.lstrip("+-").lstrip("0") or "0"
        if len(digits) <= 19:
            value = int(sign + digits)
            if _I64[0] <= value <= _I64[1]:
                return value
    raise Problem("not-a-number", f"`{text}` is not a whole number", at=name)


def _missing(name):
    return Problem("missing-field", f"`{name}` is required but missing or empty", at=name)


class Batch:
    """A batch as it crossed: its text (as UTF-8 bytes, which the spans
    count), its columns by path, its cells' words."""

    __slots__ = ("raw", "paths", "column_paths", "prefixes", "cells", "rows")

    def __init__(self, batch, key_type):
        self.raw = batch.text.encode("utf-8")
        self.cells = batch.cells
        # Each column as a path of ("k", name) and ("i", index) steps.
        self.column_paths = [
            tuple(("k", s.value) if isinstance(s, key_type) else ("i", s.value) for s in column)
            for column in batch.columns
        ]
        self.paths = {}
        self.prefixes = {}
        for index, path in enumerate(self.column_paths):
            self.paths.setdefault(path, index)
            for depth in range(len(path)):
                kind = "object" if path[depth][0] == "k" else "list"
                self.prefixes.setdefault(path[:depth], kind)
        self.rows = [
            Row(self, r.cells.start, r.cells.len, r.ordinal, r.line) for r in batch.rows
        ]

    def text_at(self, start, length):
        return self.raw[start : start + length].decode("utf-8")
