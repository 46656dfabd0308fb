"""Which US state a ZIP code belongs to, by its first three digits (USPS sectional centers).

Used by Address.clean (so the storefront forms and the address API alike) to catch "CA + 10001"
before an order ships to nowhere.
Ranges are inclusive; a prefix listed under no state is not checked (new or unusual ZIPs pass).
"""

from __future__ import annotations

_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "AL": ((350, 369),),
    "AK": ((995, 999),),
    "AZ": ((850, 865),),
    "AR": ((716, 729), (755, 755)),
    "CA": ((900, 961),),
    "CO": ((800, 816),),
    "CT": ((60, 69),),
    "DE": ((197, 199),),
    "DC": ((200, 200), (202, 205), (569, 569)),
    "FL": ((320, 349),),
    "GA": ((300, 319), (398, 399)),
    "HI": ((967, 968),),
    "ID": ((832, 838),),
    "IL": ((600, 629),),
    "IN": ((460, 479),),
    "IA": ((500, 528),),
    "KS": ((660, 679),),
    "KY": ((400, 427),),
    "LA": ((700, 714),),
    "ME": ((39, 49),),
    "MD": ((206, 219),),
    "MA": ((10, 27), (55, 55)),
    "MI": ((480, 499),),
    "MN": ((550, 567),),
    "MS": ((386, 397),),
    "MO": ((630, 658),),
    "MT": ((590, 599),),
    "NE": ((680, 693),),
    "NV": ((889, 898),),
    "NH": ((30, 38),),
    "NJ": ((70, 89),),
    "NM": ((870, 884),),
    "NY": ((5, 5), (100, 149)),
    "NC": ((270, 289),),
    "ND": ((580, 588),),
    "OH": ((430, 459),),
    "OK": ((730, 749),),
    "OR": ((970, 979),),
    "PA": ((150, 196),),
    "RI": ((28, 29),),
    "SC": ((290, 299),),
    "SD": ((570, 577),),
    "TN": ((370, 385),),
    "TX": ((750, 799), (885, 885)),
    "UT": ((840, 847),),
    "VT": ((50, 54), (56, 59)),
    "VA": ((201, 201), (220, 246)),
    "WA": ((980, 994),),
    "WV": ((247, 268),),
    "WI": ((530, 549),),
    "WY": ((820, 831),),
    "PR": ((6, 7), (9, 9)),
    "VI": ((8, 8),),
    "GU": ((969, 969),),
    "AS": ((967, 967),),
    "MP": ((969, 969),),
    "AA": ((340, 340),),
    "AE": ((90, 98),),
    "AP": ((962, 966),),
}


def zip_matches_state(postal_code: str, state: str) -> bool:
    """False only when the ZIP's prefix is known to belong to other states."""
    digits = (postal_code or "")[:3]
    if len(digits) != 3 or not digits.isdigit():
        return True  # the form's own validator reports a malformed ZIP
    prefix = int(digits)
    ranges = _RANGES.get(state)
    if ranges is None:
        return True
    if any(low <= prefix <= high for low, high in ranges):
        return True
    # Only refuse when another state claims the prefix (gaps in the table are not errors).
    return not any(low <= prefix <= high for rs in _RANGES.values() for low, high in rs)
