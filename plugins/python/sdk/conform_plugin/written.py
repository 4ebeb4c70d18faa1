"""How exports write quantities, read apart (as the Rust SDK's `written`)."""

import re

from ._row import trimmed

_NUMBER = re.compile(r"[-+]?([0-9]*)(\.[0-9]+)?")


def split_quantity(text):
    """`8.2g` → ("8.2", "g"); `0.75 kg` → ("0.75", "kg"); `2两` → ("2", "两");
    `None` when the text does not start with a number or has no unit after it."""
    text = trimmed(text)
    number = _NUMBER.match(text)
    end = number.end()
    if text[end : end + 1] == "." or not (number.group(1) or number.group(2)):
        return None  # `12.kg`, or no digits
    unit = trimmed(text[end:])
    if not unit or unit[0] in "0123456789,.":
        return None  # `1,5kg`: a decimal comma is not a unit
    return text[:end], unit


def split_dimensions(text):
    """`30×10×4`, `30*10*4`, `30 x 10 x 4` → ["30", "10", "4"]; `None`
    unless there are exactly three non-empty parts."""
    parts = [trimmed(p) for p in re.split("[×*xX]", text)]
    if len(parts) == 3 and all(parts):
        return parts
    return None
