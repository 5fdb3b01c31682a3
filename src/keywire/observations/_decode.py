"""Reading observations back (see :mod:`._codec`): every value checked against its type."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import enum
import typing
from collections.abc import Mapping
from typing import Any

from ..net.models import FetchFailure, HttpResponse
from ._codec import (
    _EXCHANGES,
    BY_ID,
    MAX_VALUE,
    CodecError,
    JsonValue,
    _hints,
    _is_dataclass_type,
    _qualified,
    shape,
)


class Decoder:
    """Turns JSON-ready data back into observations, checking every value's type."""

    def __init__(self, exchanges: list[JsonValue]) -> None:
        if not isinstance(exchanges, list):
            raise CodecError("exchanges: expected a list")
        self._raw = exchanges
        self._decoded: dict[int, HttpResponse | FetchFailure] = {}
        self._decoding: set[int] = set()

    def decode(self, data: JsonValue, hint: Any, path: str = "$") -> Any:
        """The value of type ``hint`` that ``data`` holds; :class:`CodecError` if it does not."""
        if hint is str and type(data) is str and len(data) <= MAX_VALUE:  # the most common case
            return data
        members, origin, _args = shape(hint)
        if members is not None:
            return self._union(data, members, path)
        if hint is type(None):
            if data is not None:
                raise CodecError(f"{path}: expected null")
            return None
        if origin is not None:
            return self._generic(data, hint, origin, path)
        if hint is bool:
            return _expect(data, bool, path)
        if hint is int:
            if isinstance(data, bool) or not isinstance(data, int):
                raise CodecError(f"{path}: expected an integer")
            return data
        if hint is float:
            if isinstance(data, bool) or not isinstance(data, int | float):
                raise CodecError(f"{path}: expected a number")
            return float(data)
        if hint is str:
            text = _expect(data, str, path)
            if len(text) > MAX_VALUE:
                raise CodecError(f"{path}: a string longer than {MAX_VALUE} characters")
            return text
        if hint is bytes:
            return _unbytes(data, path)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            try:
                return hint(data)
            except ValueError:
                raise CodecError(f"{path}: not a {hint.__name__}: {str(data)[:40]!r}") from None
        if hint is datetime.datetime or hint is datetime.date:
            text = _expect(data, str, path)
            try:
                parsed = datetime.datetime.fromisoformat(text)
            except ValueError:
                raise CodecError(f"{path}: not an ISO 8601 date: {text[:40]!r}") from None
            return parsed if hint is datetime.datetime else parsed.date()
        if isinstance(hint, type) and _qualified(hint) in BY_ID:
            key = _expect(data, str, path)
            found = BY_ID[_qualified(hint)](key)
            if found is None:
                raise CodecError(f"{path}: no {hint.__name__} {key[:60]!r} in this keywire")
            return found
        if hint in _EXCHANGES:
            value = self._ref(data, path)
            if not isinstance(value, hint):
                raise CodecError(f"{path}: the exchange is not a {hint.__name__}")
            return value
        if _is_dataclass_type(hint):
            return self._fields(hint, data, path)
        raise CodecError(f"{path}: no decoding for the type {hint!r}")

    def _union(self, data: JsonValue, members: tuple[Any, ...], path: str) -> Any:
        if data is None:
            if type(None) not in members:
                raise CodecError(f"{path}: null where a value is required")
            return None
        candidates = [m for m in members if m is not type(None)]
        if len(candidates) == 1:
            return self.decode(data, candidates[0], path)
        if all(m in _EXCHANGES for m in candidates):
            return self._ref(data, path)
        if isinstance(data, dict) and "$type" in data:
            named = [m for m in candidates if getattr(m, "__name__", None) == data["$type"]]
            if not named:
                raise CodecError(f"{path}: {str(data['$type'])[:40]!r} is none of the types")
            return self.decode({k: v for k, v in data.items() if k != "$type"}, named[0], path)
        if any(_is_dataclass_type(m) for m in candidates):
            raise CodecError(f"{path}: expected {{'$type': …}} naming one of the union's types")
        for member in candidates:  # plain values: the first type that takes them
            try:
                return self.decode(data, member, path)
            except CodecError:
                continue
        raise CodecError(f"{path}: the value fits none of the union's types")

    def _generic(self, data: JsonValue, hint: Any, origin: Any, path: str) -> Any:
        args = shape(hint)[2]
        if origin is tuple:
            items = _expect(data, list, path)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(self.decode(v, args[0], f"{path}[{i}]") for i, v in enumerate(items))
            if len(items) != len(args):
                raise CodecError(f"{path}: expected {len(args)} items")
            return tuple(
                self.decode(v, a, f"{path}[{i}]")
                for i, (v, a) in enumerate(zip(items, args, strict=True))
            )
        if origin is frozenset:
            items = _expect(data, list, path)
            return frozenset(self.decode(v, args[0], f"{path}[]") for v in items)
        if origin in (Mapping, dict, typing.Mapping) and args and args[0] is str:
            mapping = _expect(data, dict, path)
            return {k: self.decode(v, args[1], f"{path}.{k}") for k, v in mapping.items()}
        raise CodecError(f"{path}: no decoding for the type {hint!r}")

    def _fields(self, cls: type, data: JsonValue, path: str) -> Any:
        given = _expect(data, dict, path)
        values: dict[str, Any] = {}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for name, hint in _hints(cls).items():
            if name in given:
                values[name] = self.decode(given[name], hint, f"{path}.{name}")
            elif (
                fields[name].default is dataclasses.MISSING
                and fields[name].default_factory is dataclasses.MISSING
            ):
                raise CodecError(f"{path}: no {name!r}")
        try:
            return cls(**values)
        except Exception as exc:
            raise CodecError(f"{path}: not a valid {cls.__name__} ({type(exc).__name__})") from None

    def _ref(self, data: JsonValue, path: str) -> HttpResponse | FetchFailure:
        ref = _expect(data, dict, path).get("$ref")
        if isinstance(ref, bool) or not isinstance(ref, int) or not 0 <= ref < len(self._raw):
            raise CodecError(f"{path}: not a reference to an exchange")
        known = self._decoded.get(ref)
        if known is not None:
            return known
        if ref in self._decoding:
            raise CodecError(f"{path}: an exchange refers to itself")
        self._decoding.add(ref)
        entry = _expect(self._raw[ref], dict, f"$x{ref}")
        kind = entry.get("type")
        fields = {k: v for k, v in entry.items() if k != "type"}
        exchange: HttpResponse | FetchFailure
        if kind == "response":
            exchange = self._fields(HttpResponse, fields, f"$x{ref}")
        elif kind == "failure":
            exchange = self._fields(FetchFailure, fields, f"$x{ref}")
        else:
            raise CodecError(f"$x{ref}: not a response or a failure")
        self._decoded[ref] = exchange
        return exchange


def _expect(data: JsonValue, kind: type, path: str) -> Any:
    if isinstance(data, bool) and kind is not bool:
        raise CodecError(f"{path}: expected {kind.__name__}, got a boolean")
    if not isinstance(data, kind):
        raise CodecError(f"{path}: expected {kind.__name__}, got {type(data).__name__}")
    return data


def _unbytes(data: JsonValue, path: str) -> bytes:
    form = _expect(data, dict, path)
    if set(form) == {"$text"}:
        text: str = _expect(form["$text"], str, path)
        if len(text) > MAX_VALUE:
            raise CodecError(f"{path}: more than {MAX_VALUE} bytes")
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            raise CodecError(f"{path}: not text") from None
    if set(form) == {"$base64"}:
        text = _expect(form["$base64"], str, path)
        if len(text) > MAX_VALUE * 4 // 3 + 4:
            raise CodecError(f"{path}: more than {MAX_VALUE} bytes")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise CodecError(f"{path}: not base64") from None
    raise CodecError(f"{path}: expected {{'$text': …}} or {{'$base64': …}}")
