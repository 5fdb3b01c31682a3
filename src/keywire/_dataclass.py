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
import inspect
import operator
import reprlib
import sys
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
    own = cls.__dict__
    if (
        not set(options) <= _REBUILT
        or (options.get("frozen") and ("__setattr__" in own or "__delattr__" in own))
        or _has_init_vars(cls)
    ):
        return dataclasses.dataclass(cls, **options)  # the standard library's errors, too
    options = dict(options)
    want_repr = options.pop("repr", True)
    want_eq = options.pop("eq", True)
    frozen = options.pop("frozen", False)
    want_init = options.pop("init", True) if frozen else options.get("init", True)
    if frozen:
        options["init"] = False  # written below, with the frozen guards: no compilation of those
    body_hash = own.get("__hash__", dataclasses.MISSING)
    explicit_hash = not (
        body_hash is dataclasses.MISSING or (body_hash is None and "__eq__" in own)
    )
    undocumented = cls.__doc__ is None
    built: type = dataclasses.dataclass(cls, repr=False, eq=False, **options)
    fields = dataclasses.fields(built)
    if frozen:
        if want_init:
            _attach(built, _init_method(built, fields))
            if undocumented:  # as the standard library writes it: the class's signature
                built.__doc__ = built.__name__ + str(inspect.signature(built)).replace(
                    " -> None", ""
                )
        names = tuple(f.name for f in fields)
        _attach(built, _frozen_setattr(built, names))
        _attach(built, _frozen_delattr(built, names))
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


def _has_init_vars(cls: type) -> bool:
    """Whether the class or a base declares an ``InitVar`` (left to the standard library)."""
    declared = [*inspect.get_annotations(cls).values()]
    for base in cls.__mro__[1:]:
        declared += [f.type for f in getattr(base, "__dataclass_fields__", {}).values()]
    return any("InitVar" in (t if isinstance(t, str) else repr(t)) for t in declared)


class _Factory:
    """The default of a parameter whose field has a ``default_factory``."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _init_method(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    """A frozen class's ``__init__``, as the standard library writes it (one compilation)."""
    self_name = "__dataclass_self__" if any(f.name == "self" for f in fields) else "self"
    names: dict[str, Any] = {
        "__dataclass_builtins_object__": object,
        "_HAS_DEFAULT_FACTORY": _FACTORY,
        "_return_type": None,
    }
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    seen_default = False
    for f in fields:
        has_default = f.default is not dataclasses.MISSING
        has_factory = f.default_factory is not dataclasses.MISSING
        if has_factory:
            names[f"_dflt_{f.name}"] = f.default_factory
        if f.init:
            names[f"_type_{f.name}"] = f.type
            if has_default:
                names[f"_dflt_{f.name}"] = f.default
            default = (
                f"=_dflt_{f.name}"
                if has_default
                else "=_HAS_DEFAULT_FACTORY"
                if has_factory
                else ""
            )
            if not f.kw_only:
                if default:
                    seen_default = True
                elif seen_default:
                    raise TypeError(f"non-default argument {f.name!r} follows default argument")
            (keyword if f.kw_only else positional).append(f"{f.name}:_type_{f.name}{default}")
            value = (
                f"_dflt_{f.name}() if {f.name} is _HAS_DEFAULT_FACTORY else {f.name}"
                if has_factory
                else f.name
            )
        elif has_factory:
            value = f"_dflt_{f.name}()"
        else:
            continue  # the class attribute holds the default
        body.append(f"__dataclass_builtins_object__.__setattr__({self_name},{f.name!r},{value})")
    if hasattr(cls, "__post_init__"):
        body.append(f"{self_name}.__post_init__()")
    params = [self_name, *positional, *(["*", *keyword] if keyword else [])]
    lines = "\n".join(f"  {line}" for line in body or ["pass"])
    text = (
        f"def __create_fn__({', '.join(names)}):\n"
        f" def __init__({','.join(params)})->_return_type:\n{lines}\n"
        " return __init__"
    )
    namespace: dict[str, Any] = {}
    module = sys.modules.get(cls.__module__)
    # dont_inherit: the annotations are the fields' types, not strings (this module's
    # ``from __future__ import annotations`` must not apply to the generated code).
    code = compile(text, "<string>", "exec", dont_inherit=True)
    exec(code, module.__dict__ if module else {}, namespace)  # noqa: S102 (our own text)
    made: Callable[..., None] = namespace["__create_fn__"](**names)
    return made


def _frozen_setattr(cls: type, names: tuple[str, ...]) -> Callable[[object, str, Any], None]:
    def __setattr__(self: object, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)  # type: ignore[arg-type]

    return __setattr__


def _frozen_delattr(cls: type, names: tuple[str, ...]) -> Callable[[object, str], None]:
    def __delattr__(self: object, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)  # type: ignore[arg-type]

    return __delattr__


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
