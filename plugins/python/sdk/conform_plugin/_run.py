"""A plugin run over a batch: rows in, one outcome per row out, as the
contract carries them (nodes as three words each, every string in one text)."""

from ._record import ARRAY, BOOLEAN, DECIMAL, INTEGER, KEY, NULL, OBJECT, TEXT
from ._row import Batch, Problem, Rejected
from .tables import Cx

_MASK = 0xFFFFFFFF


class Plugin:
    """A mapping: `convert(row, cx)` returns `Records` or raises `Rejected`
    (or a `Problem`); `prepare(rows, cx)`, called once a batch before its
    rows, may ask the tables for a whole column at once."""

    def prepare(self, rows, cx):
        pass

    def convert(self, row, cx):
        raise NotImplementedError


def converter(plugin):
    """The class componentize-py exports (`WitWorld = converter(MyPlugin())`)."""

    class WitWorld:
        def convert(self, batch):
            return run_batch(plugin, batch)

    return WitWorld


def run_batch(plugin, wit_batch):
    from wit_world.imports import types

    batch = Batch(wit_batch, types.Step_Key)
    cx = Cx()
    out = _Output(types)
    plugin.prepare(batch.rows, cx)
    for row in batch.rows:
        try:
            out.converted(plugin.convert(row, cx))
        except Rejected as rejected:
            out.rejected(rejected.problems)
        except Problem as problem:
            out.rejected([problem])
    return out.finish()


class _Output:
    def __init__(self, types):
        self.types = types
        self.text = bytearray()
        self.names = []
        self.name_index = {}
        self.nodes = []
        self.records = []
        self.problems = []
        self.outcomes = []

    def name(self, name):
        index = self.name_index.get(name)
        if index is None:
            index = len(self.names)
            self.names.append(name)
            self.name_index[name] = index
        return index

    def span(self, value):
        data = value.encode("utf-8")
        start = len(self.text)
        self.text += data
        return start, len(data)

    def converted(self, records):
        t = self.types
        first = len(self.records)
        words = self.nodes
        for record in records:
            start = len(words) // 3
            for kind, payload in record.nodes:
                if kind == KEY:
                    words += (7, self.name(payload), 0)
                elif kind == TEXT:
                    words += (4, *self.span(payload))
                elif kind == DECIMAL:
                    words += (3, *self.span(payload))
                elif kind == OBJECT:
                    words += (6, payload, 0)
                elif kind == ARRAY:
                    words += (5, payload, 0)
                elif kind == INTEGER:
                    words += (2, payload & _MASK, (payload >> 32) & _MASK)
                elif kind == BOOLEAN:
                    words += (1, 1 if payload else 0, 0)
                elif kind == NULL:
                    words += (0, 0, 0)
            self.records.append(
                t.OutputRecord(
                    self.name(record.record_type),
                    t.Range(start, len(words) // 3 - start),
                )
            )
        self.outcomes.append(
            t.Outcome_Converted(t.Range(first, len(self.records) - first))
        )

    def rejected(self, problems):
        t = self.types
        start = len(self.problems)
        for p in problems:
            self.problems.append(t.Problem(p.field, p.target, p.code, p.message))
        self.outcomes.append(t.Outcome_Rejected(t.Range(start, len(problems))))

    def finish(self):
        return self.types.BatchResult(
            self.text.decode("utf-8"),
            self.names,
            self.nodes,
            self.records,
            self.problems,
            self.outcomes,
        )
