"""The shop's starting shipping methods and each US state's base sales-tax rate (percent).

Seeded into the editable tables by migration 0003; also the fallback when those tables are empty
(a fresh test database). Local (city/county) taxes are not included.
"""

STATE_RATES = {
    "AL": "4", "AK": "0", "AZ": "5.6", "AR": "6.5", "CA": "7.25", "CO": "2.9", "CT": "6.35", "DE": "0",
    "DC": "6", "FL": "6", "GA": "4", "HI": "4", "ID": "6", "IL": "6.25", "IN": "7", "IA": "6", "KS": "6.5",
    "KY": "6", "LA": "4.45", "ME": "5.5", "MD": "6", "MA": "6.25", "MI": "6", "MN": "6.875", "MS": "7",
    "MO": "4.225", "MT": "0", "NE": "5.5", "NV": "6.85", "NH": "0", "NJ": "6.625", "NM": "4.875", "NY": "4",
    "NC": "4.75", "ND": "5", "OH": "5.75", "OK": "4.5", "OR": "0", "PA": "6", "RI": "7", "SC": "6", "SD": "4.2",
    "TN": "7", "TX": "6.25", "UT": "6.1", "VT": "6", "VA": "5.3", "WA": "6.5", "WV": "6", "WI": "5", "WY": "4",
}  # fmt: skip

# code, name, price (cents), free over (cents), delivery time, position
METHODS = [
    ("standard", "Standard", 599, 7500, "3-5 business days", 0),
    ("express", "Express", 1499, None, "1-2 business days", 1),
    ("overnight", "Overnight", 2999, None, "next business day", 2),
]
