"""Jinggong machining plant (sample), in Python: the twin of the Rust
`jinggong-parts` plugin, with the same output row for row. Parts in a
GB18030 CSV with Chinese headers, sizes in inches and masses in pounds."""

from conform_plugin import Checks, Plugin, Problem, Record, Records, converter
from conform_plugin.tables import CodeList, Quantity

PACKAGING = CodeList("packaging")
MASS_G = Quantity("units", "part", "mass_g")

# Each length column, in inches, and the field it becomes.
LENGTHS = [
    ("长度(英寸)", "length_mm", Quantity("units", "part", "length_mm")),
    ("宽度(英寸)", "width_mm", Quantity("units", "part", "width_mm")),
    ("高度(英寸)", "height_mm", Quantity("units", "part", "height_mm")),
    ("公差(英寸)", "tolerance_mm", Quantity("units", "part", "tolerance_mm")),
]


def _present(rows, column):
    """The column's values, where present."""
    for row in rows:
        try:
            yield row.text(column)
        except Problem:
            pass


class JinggongParts(Plugin):
    def prepare(self, rows, cx):
        for column, _, quantity in LENGTHS:
            quantity.prefetch(cx, _present(rows, column), "in")
        MASS_G.prefetch(cx, _present(rows, "重量(磅)"), "lb")

    def convert(self, row, cx):
        checks = Checks()
        part_no = checks.take(row.text, "零件号")
        name = checks.take(row.text, "名称")
        supplier = checks.take(row.text, "供应商代码")
        lengths = [
            checks.take(lambda: quantity.to_canonical(cx, row.text(column), "in"), at=column)
            for column, _, quantity in LENGTHS
        ]
        mass = checks.take(lambda: MASS_G.to_canonical(cx, row.text("重量(磅)"), "lb"), at="重量(磅)")
        packaging = checks.take(lambda: PACKAGING.code(cx, row.text("包装")), at="包装")
        quantity = checks.take(row.count, "每包数量")
        checks.finish()

        part = Record("part")
        part.text("part_no", part_no).text("name", name).text("supplier_code", supplier)
        for (_, field, _), value in zip(LENGTHS, lengths):
            part.decimal(field, value)
        part.decimal("mass_g", mass).text("packaging", packaging)
        part.integer("quantity_per_package", quantity)
        return Records.one(part)


WitWorld = converter(JinggongParts())
