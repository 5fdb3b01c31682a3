"""What a key's name and scopes may contain, and how stored text is shown on a terminal or in a log.

Names and scopes can come from self-service code calling :meth:`KeyWire.create_key` with what a
client typed, so they are checked when a key is made, and everything read back from a store is
shown through :func:`visible` (a database edited by hand, or written by an older version, is not
trusted either). flask_keywire does not depend on the scanner, so this is its own small helper.

>>> visible("evil\\x1b[2J\\u202ename")
'evil\\\\x1b[2J\\\\u202ename'
>>> check_scopes(["read", "admin:users"]) == {"read", "admin:users"}
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: A scope name: 1 to 64 letters, digits and ``_ . : -``, starting with a letter or a digit.
#: No whitespace and no commas, which separate scopes on the command line and in
#: ``KEYWIRE_API_KEY_HASH`` lines, and which RFC 6750 uses between scopes in a challenge.
SCOPE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")
NAME_MAX_LENGTH = 100


def visible(text: str) -> str:
    """``text`` with every character a terminal would not print as itself escaped.

    Control characters (``ESC``, ``CR``, ``LF``, ``DEL``…), format characters (bidirectional
    overrides such as U+202E) and other non-printable code points become ``\\xNN``, ``\\uNNNN``
    or ``\\UNNNNNNNN``; a backslash becomes two, so the escaped form is unambiguous.
    """
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            if code < 0x100:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    return "".join(out)


def check_name(name: object) -> str:
    """``name`` stripped, if it is a usable key name; else ValueError (TypeError if not a str).

    A name is 1 to 100 printable characters: no control characters, no line breaks, no
    bidirectional overrides or other invisible format characters.
    """
    if not isinstance(name, str):
        raise TypeError(f"a key name must be a str, not {type(name).__name__}")
    stripped = name.strip()
    if not stripped:
        raise ValueError("a key needs a name")
    if len(stripped) > NAME_MAX_LENGTH:
        raise ValueError(f"a key name has at most {NAME_MAX_LENGTH} characters")
    if not stripped.isprintable():
        raise ValueError(
            f"the key name {visible(stripped)!r} contains control or invisible characters; "
            "use printable characters only"
        )
    return stripped


def check_scopes(scopes: Iterable[str], *, what: str = "scopes") -> frozenset[str]:
    """``scopes`` as a frozenset after checking every name against :data:`SCOPE_PATTERN`.

    A str is refused (TypeError): iterating ``"read"`` would give the scopes r, e, a, d.
    """
    if isinstance(scopes, (str, bytes)):
        raise TypeError(
            f"{what} must be a list of scope names, not a single string: write [{scopes!r}]"
        )
    checked = set()
    for scope in scopes:
        if not isinstance(scope, str) or not SCOPE_PATTERN.fullmatch(scope):
            shown = visible(scope) if isinstance(scope, str) else repr(scope)
            raise ValueError(
                f"invalid scope {shown!r} in {what}: a scope is 1 to 64 letters, digits and "
                "'_' '.' ':' '-', starting with a letter or digit (no whitespace, no commas)"
            )
        checked.add(scope)
    return frozenset(checked)
