"""nexuscart.display.money is the one money formatter: every screen's prices come from it."""

from __future__ import annotations

import re
from pathlib import Path

from nexuscart import display

ROOT = Path(__file__).resolve().parents[2]


def test_two_decimal_currencies_with_thousands():
    assert display.money(123456) == "$1,234.56"
    assert display.money(-150, "usd") == "-$1.50"
    assert display.money(999, "CHF") == "9.99 CHF"
    assert display.money(None) == "—"
    assert display.money(None, none="") == ""


def test_zero_decimal_currencies_are_whole_units():
    # The pay page's own formatter knew JPY has no minor unit; the one formatter must too.
    assert display.money(1500, "JPY") == "1,500 JPY"
    assert display.money(-7, "krw") == "-7 KRW"


def test_no_second_money_formatter_in_the_code():
    """A currency-symbol table outside nexuscart/display.py is a second formatter."""
    symbol_table = re.compile(r"""["']EUR["']\s*:\s*["']€["']""")
    offenders = [
        str(path.relative_to(ROOT))
        for top in ("apps", "nexuscart", "config")
        for path in (ROOT / top).rglob("*.py")
        if path != ROOT / "nexuscart" / "display.py" and symbol_table.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
