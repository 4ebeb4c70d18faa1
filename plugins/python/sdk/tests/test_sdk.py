"""The Python SDK in plain CPython, over stand-ins for the bindings that
componentize-py generates: what a plugin reads of a batch, what it writes,
and how the tables' answers are asked and remembered. (The golden test
runs the twin plugin in the sandbox; this holds the SDK's own logic.)"""

import sys
import types as pytypes
import unittest
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _install_bindings():
    """Stand-ins for `wit_world` and `componentize_py_types`."""

    class Ok:
        def __init__(self, value):
            self.value = value

    class Err(Exception):
        def __init__(self, value):
            super().__init__(value)
            self.value = value

    runtime = pytypes.ModuleType("componentize_py_types")
    runtime.Ok, runtime.Err = Ok, Err

    def record(name, *fields):
        return dataclass(type(name, (), {"__annotations__": {f: object for f in fields}}))

    t = pytypes.ModuleType("wit_world.imports.types")
    t.Step_Key = record("Step_Key", "value")
    t.Step_Index = record("Step_Index", "value")
    t.Span = record("Span", "start", "len")
    t.Range = record("Range", "start", "len")
    t.Row = record("Row", "ordinal", "line", "cells")
    t.Batch = record("Batch", "text", "columns", "cells", "rows")
    t.OutputRecord = record("OutputRecord", "record_type", "nodes")
    t.Problem = record("Problem", "field", "target", "code", "message")
    t.Outcome_Converted = record("Outcome_Converted", "value")
    t.Outcome_Rejected = record("Outcome_Rejected", "value")
    t.BatchResult = record("BatchResult", "text", "names", "nodes", "records", "problems", "outcomes")
    t.ServiceError = record("ServiceError", "code", "message", "input")

    tables = pytypes.ModuleType("wit_world.imports.tables")
    tables.Measures = record("Measures", "text", "ends", "unit")
    tables.CanonicalValues = record("CanonicalValues", "text", "answers")
    tables.calls = []

    class Quantity:
        @classmethod
        def open(cls, table, record_type, field):
            return cls()

        def to_canonical(self, value, unit):
            tables.calls.append(("one", value))
            if unit != "in":
                raise Err(t.ServiceError("unknown-unit", f"no unit `{unit}`", None))
            return f"{value}!"

        def to_canonical_many(self, measures):
            assert len(measures.ends) <= 4096, "a -many call carries at most 4096 values"
            tables.calls.append(("many", len(measures.ends)))
            raw, start, text, answers = measures.text.encode(), 0, "", []
            for end in measures.ends:
                value = raw[start:end].decode()
                answers.append(Ok(t.Span(len(text.encode()), len(value.encode()) + 1)))
                text += value + "!"
                start = end
            return tables.CanonicalValues(text, answers)

    tables.Quantity = Quantity

    world = pytypes.ModuleType("wit_world")
    imports = pytypes.ModuleType("wit_world.imports")
    imports.types, imports.tables = t, tables
    world.imports = imports
    sys.modules.update(
        {
            "componentize_py_types": runtime,
            "wit_world": world,
            "wit_world.imports": imports,
            "wit_world.imports.types": t,
            "wit_world.imports.tables": tables,
        }
    )
    return t, tables


T, TABLES = _install_bindings()

from conform_plugin import Checks, Plugin, Problem, Record, Records, converter  # noqa: E402
from conform_plugin.tables import Quantity  # noqa: E402
from conform_plugin.written import split_dimensions, split_quantity  # noqa: E402


def batch(columns, rows):
    """A batch of `rows` (lists of (column, case, value)) over `columns`
    (lists of steps: a str is a key, an int an index)."""
    text, cells, wit_rows = b"", [], []
    for row in rows:
        start = len(cells) // 4
        for column, case, value in row:
            if case in (0, 1):
                data = value.encode()
                cells += [column, case, len(text), len(data)]
                text += data
            else:
                cells += [column, case, 1 if value else 0, 0]
        wit_rows.append(T.Row(len(wit_rows) + 1, len(wit_rows) + 2, T.Range(start, len(cells) // 4 - start)))
    wit_columns = [
        [T.Step_Key(s) if isinstance(s, str) else T.Step_Index(s) for s in column]
        for column in columns
    ]
    return T.Batch(text.decode(), wit_columns, cells, wit_rows)


def run(plugin, wit_batch):
    return converter(plugin)().convert(wit_batch)


def records(result):
    """Each record's nodes decoded: (case, payload…) with text resolved."""
    raw = result.text.encode()
    out = []
    for r in result.records:
        nodes = []
        for i in range(r.nodes.start, r.nodes.start + r.nodes.len):
            case, a, b = result.nodes[3 * i : 3 * i + 3]
            if case in (3, 4):
                nodes.append((case, raw[a : a + b].decode()))
            elif case == 7:
                nodes.append((case, result.names[a]))
            elif case == 2:
                value = a | (b << 32)
                nodes.append((case, value - (1 << 64) if value >= 1 << 63 else value))
            else:
                nodes.append((case, a))
        out.append((result.names[r.record_type], nodes))
    return out


class Reads(Plugin):
    """Reads `qty` as a count, `name` as text."""

    def convert(self, row, cx):
        checks = Checks()
        qty = checks.take(row.count, "qty")
        name = checks.take(row.text, "name")
        checks.finish()
        return Records.one(Record("r").integer("qty", qty).text("name", name))


class RowsAreReadAsTheRustSdkReadsThem(unittest.TestCase):
    def problems(self, rows):
        result = run(Reads(), batch([["qty"], ["name"], ["name", "x"]], rows))
        return [(p.code, p.field, p.message) for p in result.problems]

    def test_whole_numbers(self):
        ok = run(Reads(), batch([["qty"], ["name"]], [[(0, 0, " 0007 "), (1, 0, "\u3000零件\u3000")]]))
        self.assertEqual(records(ok)[0][1][1:], [(7, "qty"), (2, 7), (7, "name"), (4, "零件")])
        for text in ["1" * 5000, "9223372036854775808", "1_000", "١٢", "+-1", "1.0"]:
            (problem,) = self.problems([[(0, 0, text), (1, 0, "n")]])
            self.assertEqual(problem[:2], ("not-a-number", "qty"), text)

    def test_missing_blank_and_containers(self):
        problems = self.problems([[(1, 0, "  ")]])
        self.assertEqual([p[:2] for p in problems], [("missing-field", "qty"), ("missing-field", "name")])
        # `name` is an object here (a member of it is present): wrong-type.
        problems = self.problems([[(0, 1, "3"), (2, 0, "v")]])
        self.assertEqual(problems, [("wrong-type", "name", "`name` must be text or a number, not an object")])

    def test_pointers_into_lists(self):
        class Items(Plugin):
            def convert(self, row, cx):
                return Records.one(Record("r").text("sku", row.text_at("/items/1/sku")))

        result = run(Items(), batch([["items", 0, "sku"], ["items", 1, "sku"]], [[(0, 0, "A"), (1, 0, "B")]]))
        self.assertEqual(records(result)[0][1][1:], [(7, "sku"), (4, "B")])


class RecordsAreWrittenAsTrees(unittest.TestCase):
    def test_nested_values_negative_integers_and_utf8_spans(self):
        class Nested(Plugin):
            def convert(self, row, cx):
                record = Record("roll").text("id", "卷-1").integer("n", -(2**63))
                record.array("parts", lambda a: a.object(lambda o: o.text("fibre", "棉").decimal("pct", "60.5")).integer(2))
                record.object("grade", lambda o: o.null("value").boolean("ok", True))
                return Records.one(record)

        result = run(Nested(), batch([["x"]], [[(0, 0, "1")]]))
        ((record_type, nodes),) = records(result)
        self.assertEqual(record_type, "roll")
        self.assertEqual(
            nodes,
            [
                (6, 4),
                (7, "id"), (4, "卷-1"),
                (7, "n"), (2, -(2**63)),
                (7, "parts"), (5, 2), (6, 2), (7, "fibre"), (4, "棉"), (7, "pct"), (3, "60.5"), (2, 2),
                (7, "grade"), (6, 2), (7, "value"), (0, 0), (7, "ok"), (1, 1),
            ],
        )

    def test_values_outside_the_contract_are_refused_where_written(self):
        with self.assertRaises(OverflowError):
            Record("r").integer("n", 2**63)
        with self.assertRaises(TypeError):
            Record("r").text("t", None)
        self.assertEqual(Record("r").decimal("d", "1e3").nodes[-1], (4, "1e3"))


class TablesAreAskedOnceAndInBoundedCalls(unittest.TestCase):
    def test_prefetch_splits_and_remembers(self):
        lengths = Quantity("units", "part", "length_mm")

        class Prefetching(Plugin):
            def prepare(self, rows, cx):
                lengths.prefetch(cx, (row.text("l") for row in rows), "in")

            def convert(self, row, cx):
                value = lengths.to_canonical(cx, row.text("l"), "in")
                return Records.one(Record("r").decimal("l", value))

        TABLES.calls.clear()
        rows = [[(0, 0, str(i))] for i in range(5000)] + [[(0, 0, "7")]]
        result = run(Prefetching(), batch([["l"]], rows))
        self.assertEqual(len(result.records), 5001)
        self.assertEqual(TABLES.calls, [("many", 4096), ("many", 904)])

    def test_a_refusal_is_the_packs_and_remembered(self):
        mass = Quantity("units", "part", "mass_g")

        class Refused(Plugin):
            def convert(self, row, cx):
                checks = Checks()
                checks.take(lambda: mass.to_canonical(cx, row.text("w"), "furlong"), at="w")
                checks.finish()

        TABLES.calls.clear()
        result = run(Refused(), batch([["w"]], [[(0, 0, "1")], [(0, 0, "1")]]))
        self.assertEqual([(p.code, p.field) for p in result.problems], [("unknown-unit", "w")] * 2)
        self.assertEqual(TABLES.calls, [("one", "1")])


class WrittenQuantities(unittest.TestCase):
    def test_as_the_rust_sdk_splits_them(self):
        for text, split in [
            ("8.2g", ("8.2", "g")),
            ("0.75 kg", ("0.75", "kg")),
            ("2两", ("2", "两")),
            ("+.5g", ("+.5", "g")),
            ("12.kg", None),
            ("1,5kg", None),
            ("kg", None),
            ("8.2", None),
        ]:
            self.assertEqual(split_quantity(text), split, text)
        self.assertEqual(split_dimensions("30×10×4"), ["30", "10", "4"])
        self.assertEqual(split_dimensions("1.5 x 2 X 0.5"), ["1.5", "2", "0.5"])
        self.assertIsNone(split_dimensions("12×8"))


class Problems(unittest.TestCase):
    def test_at_names_the_field_once(self):
        self.assertEqual(Problem("c", "m").at("a").at("b").field, "a")


if __name__ == "__main__":
    unittest.main()
