"""Observations to JSON-ready data and back, driven by the dataclasses' type hints.

An observation is a tree of frozen dataclasses whose fields are typed: strings, numbers, enums,
bytes, datetimes, tuples, frozensets, unions and nested dataclasses. :class:`Encoder` turns one
into plain lists, dicts and strings (what ``json.dumps`` writes), and :class:`~._decode.Decoder` turns that
back into equal dataclasses, checking every value against the field's type on the way: data from
a file is untrusted, and a wrong type is a :class:`CodecError` (a ``ValueError``) naming where,
never an object a check would trip over.

Two kinds of values get special treatment:

- exchanges (:class:`~keywire.net.models.HttpResponse` and
  :class:`~keywire.net.models.FetchFailure`) go into one table per target, referred to as
  ``{"$ref": n}``: families share the baseline chains, and a shared answer is kept once;
- table entries (a secret type of the catalogue, a debug-page signature) are kept by their ``id``
  and looked up in today's table when read back (:data:`BY_ID`).

Every string passes through the encoder's ``text`` hook and every response through its
``response`` hook (the scrubbing, see :mod:`keywire.observations._scrub`). Bytes are ``{"$text": …}`` when they are UTF-8 (so a saved
body can be read, and searched), else ``{"$base64": …}``.

The encoder also tells whether decoding its data (as it is, in memory) would give back the value
it was given, equal and of the same types (:attr:`Encoder.exact`): no hook changed anything, and
no value is one the decoding turns into another type (a subclass, an ``int`` where a ``float`` is
due, a plain value in a union the decoding would read as another member...). The scan judges
such a value as it is, instead of decoding it again.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import functools
import importlib
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..net.models import FetchFailure, HttpResponse

JsonValue = Any
"""What ``json.loads`` returns (``None``, ``bool``, ``int``, ``float``, ``str``, lists, dicts)."""

#: The longest string or byte string a file may hold in one value (a body is at most 64 KiB).
MAX_VALUE = 4 * 1024 * 1024
_EXCHANGES: tuple[type, ...] = (HttpResponse, FetchFailure)

_T = TypeVar("_T")


class CodecError(ValueError):
    """A value that does not fit its type (writing), or data that does not fit (reading)."""


def _lookup_secret_type(key: str) -> object:
    from ..secrets.catalogue import CATALOGUE

    return next((t for t in CATALOGUE if t.id == key), None)


def _lookup_signature(key: str) -> object:
    from ..checks.error_pages import SIGNATURES

    return next((s for s in SIGNATURES if s.id == key), None)


#: Types kept by their ``id`` (qualified name → lookup in today's table): they hold code
#: (patterns, validators), not facts.
BY_ID: Mapping[str, Callable[[str], object]] = {
    "keywire.secrets.catalogue.SecretType": _lookup_secret_type,
    "keywire.checks.error_pages.Signature": _lookup_signature,
}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    """The resolved type of each init field of the dataclass ``cls``."""
    module = importlib.import_module(cls.__module__)
    try:
        hints = typing.get_type_hints(cls, vars(module))
    except NameError as exc:  # a type imported only for the type checker
        raise CodecError(f"{_qualified(cls)}: a field's type cannot be resolved ({exc})") from None
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def check_type(hint: Any, path: str = "$", seen: set[Any] | None = None) -> None:
    """Raise :class:`CodecError` when values of ``hint`` (an observation type) cannot be saved:
    every family's observation must be (``tests/observations/test_codec.py``)."""
    seen = set() if seen is None else seen
    members = _members(hint)
    origin = typing.get_origin(hint)
    if members is not None or origin in (tuple, frozenset):
        for arg in members or typing.get_args(hint):
            if arg is not Ellipsis:
                check_type(arg, f"{path}[]", seen)
        return
    if origin in (Mapping, dict, typing.Mapping):
        key, value = typing.get_args(hint)
        if key is not str:
            raise CodecError(f"{path}: mappings need string keys")
        check_type(value, f"{path}{{}}", seen)
        return
    if hint in (str, int, float, bool, bytes, type(None), datetime.datetime, datetime.date):
        return
    if isinstance(hint, type) and (issubclass(hint, enum.Enum) or _qualified(hint) in BY_ID):
        return
    if not _is_dataclass_type(hint):
        raise CodecError(f"{path}: no encoding for the type {hint!r}")
    if hint in seen:
        return
    seen.add(hint)
    for name, field_hint in _hints(hint).items():
        check_type(field_hint, f"{path}.{name}", seen)


def _members(hint: Any) -> tuple[Any, ...] | None:
    """The members of a union (``X | Y``, ``Optional[X]``), or None if ``hint`` is none."""
    return shape(hint)[0]


def _kept(make: Callable[[Any], _T]) -> Callable[[Any], _T]:
    """``make``, worked out once per (hashable) argument: the codec asks again for every value it
    encodes or decodes. An unhashable argument is worked out each time, not kept."""
    cached = functools.cache(make)

    def kept(key: Any) -> _T:
        try:
            return cached(key)
        except TypeError:  # unhashable
            return make(key)

    return kept


def _shape(hint: Any) -> tuple[tuple[Any, ...] | None, Any, tuple[Any, ...]]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    return (args if origin in (typing.Union, types.UnionType) else None), origin, args


#: ``(union members or None, typing.get_origin, typing.get_args)`` of a hint.
shape = _kept(_shape)
#: A union's members but ``None``.
_candidates = _kept(lambda members: tuple(m for m in members if m is not type(None)))


def _make_plan(candidates: tuple[Any, ...]) -> tuple[tuple[Any, Any, bool, bool], ...]:
    exchanges = all(m in _EXCHANGES for m in candidates)
    plan = []
    for member in candidates:
        tagged = _is_dataclass_type(member)
        if member in _EXCHANGES:  # written as a reference, read back as one if all are
            exact = exchanges
        elif tagged:
            name = member.__name__
            exact = next(m for m in candidates if getattr(m, "__name__", None) == name) is member
        else:
            exact = False
        plan.append((member, typing.get_origin(member) or member, tagged, exact))
    return tuple(plan)


#: For each member of a union (but None): the member, the type a value of it is an instance of,
#: whether it is written with its ``$type``, and whether reading it back gives this member again
#: (``$type`` names it first; a plain value: every member is an exchange).
_union_plan = _kept(_make_plan)


def _is_dataclass_type(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


class Encoder:
    """Turns observations into JSON-ready data; one per target (the exchanges' table)."""

    def __init__(
        self,
        *,
        text: Callable[[str], str] = lambda s: s,
        response: Callable[[HttpResponse], HttpResponse] = lambda r: r,
    ) -> None:
        self._text = text
        self._response = response
        self.exchanges: list[JsonValue] = []
        self._refs: dict[int, int] = {}
        self._alive: list[object] = []  # keeps encoded exchanges alive: their ids stay unique
        #: Whether everything encoded since it was last set to True would decode to itself
        #: (equal, and of the same types); the caller resets it (one observation at a time).
        self.exact = True
        self._exact_refs: list[bool] = []  # the same, of each exchange in the table

    def encode(self, value: object, hint: Any, path: str = "$") -> JsonValue:
        """``value`` (of type ``hint``) as JSON-ready data."""
        if hint is str and type(value) is str:  # the most common case, first
            text = self._text(value)
            if text is not value or len(value) > MAX_VALUE:
                self.exact = False
            return text
        if (hint is bool or hint is int or hint is float) and type(value) is hint:
            return value  # the next most common: a plain bool, int or float where one is due
        members, origin, _args = shape(hint)
        if members is not None:
            return self._union(value, members, path)
        if hint is type(None):
            if value is not None:
                raise CodecError(f"{path}: expected None")
            return None
        if origin is not None:
            return self._generic(value, hint, origin, path)
        if not isinstance(hint, type):
            raise CodecError(f"{path}: no encoding for the type {hint!r}")
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            self.exact = False
            return float(value)
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise CodecError(f"{path}: expected {hint.__name__}, got {type(value).__name__}")
        if type(value) is not hint and hint is not int:
            self.exact = False  # a subclass: decoding gives the field's own type (an int is
            # read back as it was given, an IntEnum too: the scan judged those as they were)
        if hint is str:
            text = self._text(str(value))
            if text is not value or len(text) > MAX_VALUE:
                self.exact = False
            return text
        if hint is bool or hint is int or hint is float:
            return value
        if hint is bytes:
            assert isinstance(value, bytes)
            if len(value) > MAX_VALUE:
                self.exact = False
            return _bytes(value)
        if issubclass(hint, enum.Enum):
            assert isinstance(value, enum.Enum)
            return value.value
        if hint is datetime.datetime or hint is datetime.date:
            assert isinstance(value, datetime.date)
            zone = getattr(value, "tzinfo", None)
            if zone is not None and zone is not datetime.timezone.utc:
                self.exact = False  # read back with a fixed offset, not this zone
            return value.isoformat()
        if _qualified(hint) in BY_ID:
            key = str(value.id)  # type: ignore[attr-defined]
            if BY_ID[_qualified(hint)](key) is not value:
                self.exact = False  # read back as today's entry of that id
            return key
        if isinstance(value, HttpResponse | FetchFailure):
            return {"$ref": self._exchange(value)}
        if dataclasses.is_dataclass(value):
            return self._fields(value, path)
        raise CodecError(f"{path}: no encoding for {hint.__name__}")

    def _union(self, value: object, members: tuple[Any, ...], path: str) -> JsonValue:
        if value is None:
            if type(None) not in members:
                raise CodecError(f"{path}: None where a value is required")
            return None
        candidates = _candidates(members)
        if len(candidates) == 1:
            return self.encode(value, candidates[0], path)
        for member, kind, tagged, exact in _union_plan(candidates):
            if isinstance(value, kind):
                data = self.encode(value, member, path)
                if tagged and not isinstance(value, _EXCHANGES):
                    if not exact:
                        self.exact = False  # another member of the same name is read back
                    return {"$type": member.__name__, **data}
                if not exact:
                    self.exact = False  # read back as the first member that takes it
                return data
        raise CodecError(f"{path}: {type(value).__name__} is none of the union's types")

    def _generic(self, value: object, hint: Any, origin: Any, path: str) -> JsonValue:
        args = shape(hint)[2]
        if origin is tuple:
            if not isinstance(value, tuple):
                raise CodecError(f"{path}: expected a tuple")
            if type(value) is not tuple:
                self.exact = False
            if len(args) == 2 and args[1] is Ellipsis:
                return [self.encode(v, args[0], f"{path}[{i}]") for i, v in enumerate(value)]
            if len(args) != len(value):
                raise CodecError(f"{path}: expected {len(args)} items")
            return [
                self.encode(v, a, f"{path}[{i}]")
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            ]
        if origin is frozenset:
            if not isinstance(value, frozenset):
                raise CodecError(f"{path}: expected a frozenset")
            if type(value) is not frozenset:
                self.exact = False
            items = [self.encode(v, args[0], f"{path}[]") for v in value]
            return sorted(items, key=repr)
        if origin in (Mapping, dict, typing.Mapping) and args and args[0] is str:
            if not isinstance(value, Mapping):
                raise CodecError(f"{path}: expected a mapping")
            if type(value) is not dict:
                self.exact = False
            return {self._key(k): self.encode(v, args[1], f"{path}.{k}") for k, v in value.items()}
        raise CodecError(f"{path}: no encoding for the type {hint!r}")

    def _key(self, key: object) -> str:
        text = self._text(str(key))
        if text is not key:
            self.exact = False
        return text

    def _fields(self, value: Any, path: str) -> dict[str, JsonValue]:
        cls: Any = type(value)
        return {
            name: self.encode(getattr(value, name), hint, f"{path}.{name}")
            for name, hint in _hints(cls).items()
        }

    def _exchange(self, value: HttpResponse | FetchFailure) -> int:
        known = self._refs.get(id(value))
        if known is not None:
            if not self._exact_refs[known]:
                self.exact = False
            return known
        index = len(self.exchanges)
        self._refs[id(value)] = index
        self._alive.append(value)
        self.exchanges.append(None)  # reserved: a chain's failure may be encoded in between
        self._exact_refs.append(False)
        outer, self.exact = self.exact, True
        if isinstance(value, FetchFailure):
            self.exchanges[index] = {"type": "failure", **self._fields(value, f"$x{index}")}
        else:
            kept = self._response(value)
            if kept != value:
                self.exact = False
            data = self._fields(kept, f"$x{index}")
            self.exchanges[index] = {"type": "response", **data}
        self._exact_refs[index] = self.exact
        self.exact = outer and self.exact
        return index


def _bytes(value: bytes) -> JsonValue:
    try:
        return {"$text": value.decode("utf-8")}
    except UnicodeDecodeError:
        return {"$base64": base64.b64encode(value).decode("ascii")}


__all__ = ["BY_ID", "CodecError", "Encoder", "JsonValue", "check_type"]
