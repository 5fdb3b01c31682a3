"""keywire's ``dataclass``: the standard library's, with a cheaper class creation.

``dataclasses.dataclass`` writes each generated method as source text and compiles it when the
class is created: six compilations for a frozen class (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__``, ``__delattr__``), about 80 µs each. keywire defines some two
hundred frozen classes, and a one-target scan spent a fifth of its process time (about 45 ms)
compiling their methods. Here only the methods that need a class's own signature are compiled by
the standard library (``__init__``, and the frozen guards); ``__eq__``, ``__hash__`` and
``__repr__`` are closures over an :func:`operator.attrgetter` of the fields, built without
compiling anything, and behave as the generated ones do:

- ``__eq__`` compares the tuples of the fields with ``compare=True`` when both objects are of the
  same class, else returns ``NotImplemented``;
- ``__hash__`` follows the standard library's rules: the hash of the tuple of the fields that
  ``hash`` (or else ``compare``) selects for a frozen class with ``eq``, ``None`` for a mutable one,
  and a ``__hash__`` written in the class body is kept;
- ``__repr__`` is ``ClassName(field=value, ...)`` over the fields with ``repr=True``, ``...`` on
  recursion; methods written in the class body are never replaced.

Everything else (fields, defaults, ``kw_only``, ``__post_init__``, ``dataclasses.fields`` and
``replace``, ``__match_args__``) is the standard library's own. Options this module does not
rebuild (``order``, ``unsafe_hash``, ``slots``, ...) go to the standard library unchanged. Type
checkers see :func:`dataclasses.dataclass` itself.
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__all__ = ["dataclass"]

if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
else:

    def dataclass(cls=None, /, **options):
        """``@dataclass`` or ``@dataclass(...)``, as :func:`dataclasses.dataclass`."""

        def wrap(cls):
            return _build(cls, options)

        return wrap if cls is None else wrap(cls)


_REBUILT = frozenset({"init", "repr", "eq", "frozen", "kw_only", "match_args"})


def _build(cls: type, options: dict[str, Any]) -> type:
    if not set(options) <= _REBUILT:
        return dataclasses.dataclass(cls, **options)
    options = dict(options)
    want_repr = options.pop("repr", True)
    want_eq = options.pop("eq", True)
    frozen = options.get("frozen", False)
    own = cls.__dict__
    body_hash = own.get("__hash__", dataclasses.MISSING)
    explicit_hash = not (
        body_hash is dataclasses.MISSING or (body_hash is None and "__eq__" in own)
    )
    built: type = dataclasses.dataclass(cls, repr=False, eq=False, **options)
    fields = dataclasses.fields(built)
    if want_repr and "__repr__" not in own:
        _attach(built, _repr_method([f.name for f in fields if f.repr]))
    if want_eq:
        if "__eq__" not in own:
            _attach(built, _eq_method(_values([f.name for f in fields if f.compare])))
        if not explicit_hash:
            if frozen:
                hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
                _attach(built, _hash_method(_values(hashed)))
            else:
                built.__hash__ = None  # type: ignore[assignment]
    return built


def _attach(cls: type, method: Callable[..., Any]) -> None:
    """Set ``method`` on ``cls`` under its name, with the qualified name the class gives it."""
    method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
    setattr(cls, method.__name__, method)


def _values(names: list[str]) -> Callable[[object], tuple[Any, ...]]:
    """A function from an object to the tuple of its ``names`` attributes (always a tuple)."""
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return operator.attrgetter(*names)


def _eq_method(values: Callable[[object], tuple[Any, ...]]) -> Callable[[object, object], Any]:
    def __eq__(self: object, other: object) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash_method(values: Callable[[object], tuple[Any, ...]]) -> Callable[[object], int]:
    def __hash__(self: object) -> int:
        return hash(values(self))

    return __hash__


def _repr_method(names: list[str]) -> Callable[[object], str]:
    @reprlib.recursive_repr("...")
    def __repr__(self: object) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__
