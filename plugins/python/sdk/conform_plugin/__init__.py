"""The Conform plugin SDK for Python (contract 0.2.0), the Rust SDK's shape:
a plugin reads each `Row` of a batch (`row.text("列")`), collects every
problem of the row in `Checks`, and returns `Records` built field by field,
or rejects the row with its problems. The pack's tables (`tables.CodeList`,
`tables.Quantity`, ...) answer what the standard says. Built into a
component with componentize-py (`conform plugin build`), which imports the
contract only.

    from conform_plugin import Checks, Plugin, Record, Records, converter
    from conform_plugin.tables import CodeList

    PACKAGING = CodeList("packaging")

    class MyParts(Plugin):
        def convert(self, row, cx):
            checks = Checks()
            part_no = checks.take(row.text, "零件号")
            packaging = checks.take(lambda: PACKAGING.code(cx, row.text("包装")), at="包装")
            checks.finish()
            return Records.one(Record("part").text("part_no", part_no).text("packaging", packaging))

    WitWorld = converter(MyParts())
"""

from ._row import Cell, Checks, Problem, Rejected, Row
from ._record import Record, Records
from ._run import Plugin, converter
from .tables import Cx

__all__ = [
    "Cell",
    "Checks",
    "Cx",
    "Plugin",
    "Problem",
    "Record",
    "Records",
    "Rejected",
    "Row",
    "converter",
]
