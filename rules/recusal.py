"""Who a complaint is about: the person named may not handle it, nor even see it in a list."""


def names_person(named: str | None, username: str, full_name: str) -> bool:
    """True if `named` is the user name or full name, or contains the personal name (the last word of the
    full name, e.g. "李娟" in "经办人李娟" or "李娟（经办人）" for 石婆店镇经办人 李娟)."""
    person = (named or "").strip()
    if not person:
        return False
    name = full_name.split(" ")[-1]
    return person in (username, full_name) or (len(name) >= 2 and name in person)
