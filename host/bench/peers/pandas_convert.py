"""Peer baseline: the Jinggong parts mapping as a user would write it with
pandas, pint and jsonschema. Reads the GB18030 CSV, converts inch/lb to
mm/g, maps packaging terms, validates each record against the pack's part
schema, writes NDJSON records and rejections. Prints the rows read."""

import json
import sys

import jsonschema
import numpy as np
import pandas as pd
import pint

src, schema_path, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
ureg = pint.UnitRegistry()
PACK = {"纸箱": "CT", "木箱": "CS", "托盘": "PX", "塑料筐": "CR"}

df = pd.read_csv(src, encoding="gb18030", dtype=str, keep_default_na=False, on_bad_lines="skip", engine="python")
rows = len(df)


def to(series, unit_from, unit_to, decimals):
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    return np.round(ureg.Quantity(values, unit_from).to(unit_to).magnitude, decimals)


length = to(df["长度(英寸)"], "inch", "mm", 2)
width = to(df["宽度(英寸)"], "inch", "mm", 2)
height = to(df["高度(英寸)"], "inch", "mm", 2)
tolerance = to(df["公差(英寸)"], "inch", "mm", 2)
mass = to(df["重量(磅)"], "lb", "g", 1)
packaging = df["包装"].map(PACK)
quantity = pd.to_numeric(df["每包数量"], errors="coerce")

with open(schema_path, encoding="utf-8") as f:
    validator = jsonschema.Draft202012Validator(json.load(f), format_checker=jsonschema.FormatChecker())

converted = rejected = 0
with open(out_path, "w", encoding="utf-8") as out:
    for i in range(rows):
        record = {
            "part_no": df["零件号"].iat[i], "name": df["名称"].iat[i], "supplier_code": df["供应商代码"].iat[i],
            "length_mm": float(length[i]), "width_mm": float(width[i]), "height_mm": float(height[i]),
            "tolerance_mm": float(tolerance[i]), "mass_g": float(mass[i]),
            "packaging": packaging.iat[i] if isinstance(packaging.iat[i], str) else None,
            "quantity_per_package": int(quantity.iat[i]) if quantity.iat[i] == quantity.iat[i] else None,
        }
        errors = list(validator.iter_errors(record)) if not any(v != v for v in (record["mass_g"], record["length_mm"])) else ["nan"]
        if errors:
            rejected += 1
        else:
            converted += 1
            out.write(json.dumps({"record_type": "part", "record": record}, ensure_ascii=False) + "\n")
print(json.dumps({"rows_in": rows, "converted": converted, "rejected": rejected}))
