"""The documents of an API description: parsing them within bounds, JSON pointers and ``$ref``.

:mod:`keywire.openapi.loader` reads a spec's documents and resolves its references with these;
:mod:`keywire.openapi.model` walks the result. A problem is a :class:`SpecError` naming the
document and the JSON pointer.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin

from .. import _json
from .._dataclass import dataclass

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
MAX_DOCUMENTS = 32
MAX_NODES = 1_000_000
MAX_DEPTH = 256
MAX_REF_HOPS = 32

#: Fetches one URL; returns (body, content type, final URL) or raises :class:`SpecError`.
Fetcher = Callable[[str], Awaitable[tuple[bytes, str, str]]]


class SpecError(Exception):
    """The API description cannot be used; names the document and the JSON pointer.

    >>> str(SpecError("api.yaml", "/paths/~1pets/get", "'responses' must be an object"))
    "api.yaml#/paths/~1pets/get: 'responses' must be an object"
    """

    def __init__(self, source: str, pointer: str | None, message: str) -> None:
        self.source = source
        self.pointer = pointer
        self.message = message
        where = source if pointer is None else f"{source}#{pointer}"
        super().__init__(f"{where}: {message}")


def escape(token: str) -> str:
    """One JSON pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def join(pointer: str, *tokens: str | int) -> str:
    """``join("/paths", "/pets", "get") == "/paths/~1pets/get"``."""
    return pointer + "".join("/" + escape(str(t)) for t in tokens)


@dataclass(frozen=True, kw_only=True)
class Document:
    """One parsed document of a spec: its identity, how to name it to people, and its content."""

    uri: str  # absolute path or URL, without fragment
    display: str
    content: dict[str, object] = field(repr=False)

    @property
    def is_url(self) -> bool:
        return self.uri.startswith(("http://", "https://"))


@dataclass(frozen=True, kw_only=True)
class SpecSet:
    """The root document and every document it references."""

    root: Document
    documents: dict[str, Document] = field(repr=False)

    def document(self, uri: str) -> Document:
        return self.documents[uri]

    def resolve(self, ref: str, base: Document) -> tuple[Document, str, object]:
        """The document, pointer and value a ``$ref`` names (already validated at load time)."""
        uri, pointer = split_ref(ref, base)
        document = self.documents[uri]
        return document, pointer, evaluate(document, pointer)

    def deref(
        self, document: Document, pointer: str, value: object
    ) -> tuple[Document, str, object]:
        """Follow ``$ref`` while ``value`` is a reference object; bounded and cycle-safe."""
        seen: set[tuple[str, str]] = set()
        for _ in range(MAX_REF_HOPS):
            ref = _ref_of(value)
            if ref is None:
                return document, pointer, value
            if (document.uri, pointer) in seen:
                raise SpecError(document.display, pointer, "circular $ref chain")
            seen.add((document.uri, pointer))
            document, pointer, value = self.resolve(ref, document)
        raise SpecError(document.display, pointer, f"more than {MAX_REF_HOPS} chained $ref hops")


def _ref_of(value: object) -> str | None:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            return ref
    return None


def split_ref(ref: str, base: Document) -> tuple[str, str]:
    """(document URI, JSON pointer) that ``ref`` names, relative to ``base``."""
    location, fragment = urldefrag(ref)
    pointer = unquote(fragment)
    if not location:
        return base.uri, pointer
    if base.is_url:
        return urljoin(base.uri, location), pointer
    if "://" in location or location.startswith("file:"):
        return location, pointer
    return str(Path(base.uri).parent.joinpath(unquote(location)).resolve()), pointer


def evaluate(document: Document, pointer: str) -> object:
    """The value at ``pointer`` in ``document``; SpecError naming the pointer if absent."""
    if pointer and not pointer.startswith("/"):
        raise SpecError(document.display, pointer, "a JSON pointer must start with '/'")
    value: object = document.content
    walked = ""
    for raw in pointer.split("/")[1:] if pointer else []:
        token = unescape(raw)
        walked = join(walked, token)
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            raise SpecError(document.display, walked, "no such location")
    return value


# -- parsing -----------------------------------------------------------------------------------


def _kind(name: str, content_type: str, text: str) -> str:
    lowered = name.lower().split("?")[0]
    if lowered.endswith(".json") or "json" in content_type:
        return "json"
    if lowered.endswith((".yaml", ".yml")) or "yaml" in content_type:
        return "yaml"
    return "json" if text.lstrip()[:1] in ("{", "[") else "yaml"


def parse_document(data: bytes, *, display: str, content_type: str = "") -> dict[str, object]:
    """Parse JSON or YAML into plain JSON-compatible data (string keys, no YAML-only types)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SpecError(display, None, f"larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(display, None, f"not UTF-8 text (byte {exc.start})") from None
    kind = _kind(display, content_type, text)
    try:
        if kind == "json":
            try:
                raw: object = _json.loads(text, max_depth=MAX_DEPTH)
            except _json.JsonTooDeep:
                raise SpecError(display, None, f"nested deeper than {MAX_DEPTH} levels") from None
            except json.JSONDecodeError as exc:
                raise SpecError(
                    display,
                    None,
                    f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                ) from None
        else:
            raw = _load_yaml(text, display)
    except RecursionError:
        raise SpecError(display, None, "nesting too deep to parse") from None
    content = _plain(raw, display)
    if not isinstance(content, dict):
        raise SpecError(display, "", "the document is not an object")
    return content


def _load_yaml(text: str, display: str) -> object:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "syntax error"
        raise SpecError(display, None, f"invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(display, None, f"invalid YAML: {exc}") from None


def _plain(raw: object, display: str) -> object:
    """Copy ``raw`` into JSON types, within the node and depth budgets.

    YAML aliases are copied, so a document that expands exponentially stops at ``MAX_NODES``.
    """
    budget = [MAX_NODES]

    def convert(value: object, pointer: str, depth: int) -> object:
        budget[0] -= 1
        if budget[0] < 0:
            raise SpecError(display, None, f"more than {MAX_NODES} nodes (YAML aliases included)")
        if depth > MAX_DEPTH:
            raise SpecError(display, pointer, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            out: dict[str, object] = {}
            for key, item in value.items():
                name = _key(key)
                out[name] = convert(item, join(pointer, name), depth + 1)
            return out
        if isinstance(value, list):
            return [convert(item, join(pointer, i), depth + 1) for i, item in enumerate(value)]
        if value is None or isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, datetime.date | datetime.datetime):
            return value.isoformat()
        raise SpecError(display, pointer, f"unsupported value of type {type(value).__name__}")

    return convert(raw, "", 0)


def _key(key: object) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, datetime.date | datetime.datetime):
        return key.isoformat()
    return str(key)


def iter_refs(content: object) -> Iterator[tuple[str, str]]:
    """Every (pointer of the reference object, ``$ref`` value) in a parsed document."""
    stack: list[tuple[str, object]] = [("", content)]
    while stack:
        pointer, value = stack.pop()
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str):
                yield pointer, ref
            stack.extend((join(pointer, k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((join(pointer, i), v) for i, v in reversed(list(enumerate(value))))


# -- loading -----------------------------------------------------------------------------------
