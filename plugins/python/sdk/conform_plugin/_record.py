"""Records of the standard, built field by field as a tree of typed values:
the host validates and writes them without reading any text; a decimal
stays the digits the tables gave (`3.18`, `1134.0`)."""

import re

_I64 = (-(2**63), 2**63 - 1)
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")

# Node kinds, as the Rust SDK's drafts.
NULL, BOOLEAN, INTEGER, DECIMAL, TEXT, ARRAY, OBJECT, KEY = range(8)


class _Members:
    """Writes members (an object) or items (an array) into `nodes`."""

    __slots__ = ("_nodes", "_at", "_keyed")

    def __init__(self, nodes, at, keyed):
        self._nodes = nodes
        self._at = at
        self._keyed = keyed

    def _add(self, key, node):
        kind, count = self._nodes[self._at]
        self._nodes[self._at] = (kind, count + 1)
        if self._keyed:
            self._nodes.append((KEY, key))
        self._nodes.append(node)

    def _container(self, key, kind, fill):
        self._add(key, (kind, 0))
        writer = Object if kind == OBJECT else Array
        fill(writer(self._nodes, len(self._nodes) - 1, kind == OBJECT))


def _text(value):
    if not isinstance(value, str):
        raise TypeError(f"a record's text must be a str, not {type(value).__name__}")
    return value


def _decimal(value):
    """Plain decimal text (`-`? digits (`.` digits)?) is a decimal, kept
    exact; other text is written as text, for the schema to refuse."""
    return (DECIMAL if _PLAIN_DECIMAL.match(_text(value)) else TEXT, value)


def _integer(value):
    if not isinstance(value, int) or not _I64[0] <= value <= _I64[1]:
        raise OverflowError(f"{value!r} is not a 64-bit whole number")
    return (INTEGER, value)


class Object(_Members):
    """The members of an object being written."""

    def text(self, key, value):
        self._add(key, (TEXT, _text(value)))
        return self

    def decimal(self, key, value):
        """Plain decimal text (`-`? digits (`.` digits)?), kept exact; other
        text is written as text, for the schema to refuse."""
        self._add(key, _decimal(value))
        return self

    def integer(self, key, value):
        self._add(key, _integer(value))
        return self

    def boolean(self, key, value):
        self._add(key, (BOOLEAN, bool(value)))
        return self

    def null(self, key):
        self._add(key, (NULL, None))
        return self

    def object(self, key, fill):
        """An object, its members written by `fill(object)`."""
        self._container(key, OBJECT, fill)
        return self

    def array(self, key, fill):
        """A list, its items written by `fill(array)`."""
        self._container(key, ARRAY, fill)
        return self


class Array(_Members):
    """The items of a list being written."""

    def text(self, value):
        self._add(None, (TEXT, _text(value)))
        return self

    def decimal(self, value):
        self._add(None, _decimal(value))
        return self

    def integer(self, value):
        self._add(None, _integer(value))
        return self

    def object(self, fill):
        self._container(None, OBJECT, fill)
        return self


class Record(Object):
    """A record of one of the pack's record types."""

    __slots__ = ("record_type",)

    def __init__(self, record_type):
        super().__init__([(OBJECT, 0)], 0, True)
        self.record_type = record_type

    @property
    def nodes(self):
        """The record's nodes in pre-order: `(kind, payload)`."""
        return self._nodes

    def to_json(self):
        """The record as plain Python values, for tests of a mapping
        (decimals as their text)."""
        value, _ = _value(self._nodes, 0)
        return value


def _value(nodes, at):
    kind, payload = nodes[at]
    at += 1
    if kind == OBJECT:
        members = {}
        for _ in range(payload):
            key = nodes[at][1]
            members[key], at = _value(nodes, at + 1)
        return members, at
    if kind == ARRAY:
        items = []
        for _ in range(payload):
            item, at = _value(nodes, at)
            items.append(item)
        return items, at
    return payload, at


class Records:
    """The records one input row became."""

    __slots__ = ("records",)

    def __init__(self, records=()):
        self.records = list(records)

    @staticmethod
    def one(record):
        return Records((record,))

    def push(self, record):
        self.records.append(record)

    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def only(self):
        """The record, when there is exactly one."""
        return self.records[0] if len(self.records) == 1 else None
