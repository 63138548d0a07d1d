"""Jurisdiction follows the division codes: village (12 digits) ⊂ township (9) ⊂ district (6)."""

# The district this deployment serves (裕安区): the civil affairs bureau at the front door's top level, and the one
# whose district-wide supervision (declarations, the monthly sample, the roll-out, the access log) it keeps.
DISTRICT_CODE = "341503"


def place_level(code: str) -> str:
    return {6: "district", 9: "township", 12: "village"}[len(code)]


def within(actor_place: str, place: str) -> bool:
    """True if `place` lies inside (or is) the jurisdiction `actor_place`."""
    return place.startswith(actor_place)


def township_of(place: str) -> str:
    return place[:9]


def district_of(place: str) -> str:
    return place[:6]
