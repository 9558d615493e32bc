"""Numbers as the documentation writes them ('2·10⁶', '10⁴', '2.5·10⁻³', '4800', '1.0e-4') and their
comparison with computed values at the written precision (tests/test_docs_numbers.py,
tests/test_docs_benchmarks.py)."""

from __future__ import annotations

_SUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
NUM = r"(10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+|\d+(?:\.\d+)?(?:\s*·\s*10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+|e[-+]?\d+)?)"


def parse_number(text: str) -> tuple[float, int]:
    """(value, significant digits) of '2·10⁶', '10⁴', '2.5·10⁻³', '4800', '1.0e-4'."""
    t = text.replace(" ", "")
    if t.startswith("10") and "·" not in t and any(c in t for c in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"):
        return 10.0 ** int(t[2:].translate(_SUP)), 1
    if "·10" in t:
        mant, exp = t.split("·10")
        value = float(mant) * 10.0 ** int(exp.translate(_SUP))
    elif "e" in t:
        mant, exp = t.split("e")
        value = float(mant) * 10.0 ** int(exp)
    else:
        mant, value = t, float(t)
    digits = mant.replace(".", "").lstrip("0")
    sig = len(digits.rstrip("0")) if "." not in mant else len(digits)
    return value, max(sig, 1)


def matches(written: str, true: float) -> bool:
    value, sig = parse_number(written)
    rounded = float(f"{true:.{sig}g}")
    return abs(rounded - value) <= 1e-9 * max(abs(value), 1e-300) or abs(true - value) <= 1e-9 * abs(true)
