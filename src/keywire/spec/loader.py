"""Reading an API description: files or URLs, JSON or YAML, and every ``$ref`` they contain.

A spec is loaded whole before anything is scanned: the root document, then every document its
``$ref`` values name (relative files next to a file spec; same-origin URLs next to a URL spec),
then every reference is checked to resolve. Structural recursion (a schema that contains itself) is
normal and never expanded; a chain of references that only points at itself is an error.

Everything is bounded: bytes per document, documents per spec, nodes per document (YAML aliases
expand into copies, so a "billion laughs" document stops at the node budget), nesting depth and
reference hops. A file spec reads only files in its own directory or below (``../``, absolute
paths and symlinks that lead out are refused: what they hold would be sent to the spec's servers).
A problem is a :class:`SpecError` naming the document and the JSON pointer.

>>> import asyncio
>>> spec = asyncio.run(load_spec("tests/spec/fixtures/petstore-3.0.yaml"))  # doctest: +SKIP
>>> spec.root.display  # doctest: +SKIP
'tests/spec/fixtures/petstore-3.0.yaml'
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from .. import _json
from ..redact import redact_url

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
        uri, pointer = _split_ref(ref, base)
        document = self.documents[uri]
        return document, pointer, _evaluate(document, pointer)

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


def _split_ref(ref: str, base: Document) -> tuple[str, str]:
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


def _evaluate(document: Document, pointer: str) -> object:
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


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


async def load_spec(source: str, *, fetch: Fetcher | None = None) -> SpecSet:
    """Load ``source`` (a path or an http(s) URL) and every document it references.

    A URL spec may reference documents on its own origin only; a file spec may reference files
    only. Nothing else is read, so a spec cannot make keywire reach another host.
    """
    if _is_url(source):
        if fetch is None:
            raise SpecError(redact_url(source), None, "cannot fetch a URL here")
        root_uri = urldefrag(source)[0]
        root_display = redact_url(root_uri)
    else:
        root_uri = _absolute(source)
        root_display = source
    root_origin = _origin(root_uri) if _is_url(root_uri) else None
    # A file spec may reference files in its own directory (and below) only: values read from
    # elsewhere (../../, /etc/…, a symlink out) would be sent to the spec's servers.
    root_dir = None if _is_url(root_uri) else Path(root_uri).parent

    documents: dict[str, Document] = {}
    displays = {root_uri: root_display}
    queue: list[tuple[str, Document | None, str]] = [(root_uri, None, "")]
    pending: list[tuple[Document, str, str]] = []
    while queue:
        uri, referrer, ref_pointer = queue.pop(0)
        if uri in documents:
            continue
        if len(documents) >= MAX_DOCUMENTS:
            assert referrer is not None
            raise SpecError(
                referrer.display, ref_pointer, f"references more than {MAX_DOCUMENTS} documents"
            )
        display = displays[uri]
        content = await _read(uri, display, fetch, referrer, ref_pointer)
        document = Document(uri=uri, display=display, content=content)
        documents[uri] = document
        for pointer, ref in iter_refs(content):
            target, _ = _split_ref(ref, document)
            if target != uri:
                _check_policy(target, document, pointer, root_origin)
                if root_dir is not None:
                    _check_inside(target, ref, document, pointer, root_dir)
                if target not in displays:
                    displays[target] = _display_for(target, document)
                queue.append((target, document, join(pointer, "$ref")))
            pending.append((document, pointer, ref))

    spec = SpecSet(root=documents[root_uri], documents=documents)
    for document, pointer, ref in pending:
        target_uri, target_pointer = _split_ref(ref, document)
        target_document = documents[target_uri]
        try:
            _evaluate(target_document, target_pointer)
        except SpecError as exc:
            missing = f"{target_document.display}#{exc.pointer or ''}"
            raise SpecError(
                document.display,
                join(pointer, "$ref"),
                f"$ref {ref!r} does not resolve: {missing} does not exist",
            ) from None
        spec.deref(document, pointer, _evaluate(document, pointer))
    return spec


def _display_for(uri: str, referrer: Document) -> str:
    if _is_url(uri):
        return redact_url(uri)
    if referrer.is_url:
        return uri
    base = Path(referrer.display).parent
    try:
        relative = Path(uri).relative_to(Path(referrer.uri).parent)
    except ValueError:
        return uri
    return os.path.normpath(str(base / relative))


def _check_policy(
    target: str, document: Document, pointer: str, root_origin: tuple[str, str, int | None] | None
) -> None:
    where = join(pointer, "$ref")
    if root_origin is not None:
        if not _is_url(target) or _origin(target) != root_origin:
            raise SpecError(
                document.display,
                where,
                "a spec read from a URL may only reference documents on the same origin",
            )
    elif "://" in target or target.startswith("file:"):
        raise SpecError(
            document.display,
            where,
            "a spec read from a file may only reference other files by relative path",
        )


def _check_inside(target: str, ref: str, document: Document, pointer: str, root_dir: Path) -> None:
    """Refuse a file ``$ref`` that resolves (symlinks followed) outside the spec's directory."""
    if Path(target).is_relative_to(root_dir):
        return
    raise SpecError(
        document.display,
        join(pointer, "$ref"),
        f"$ref {ref!r} leaves the spec's directory; only files in it (or below) are read",
    )


async def _read(
    uri: str, display: str, fetch: Fetcher | None, referrer: Document | None, ref_pointer: str
) -> dict[str, object]:
    def blame(message: str) -> SpecError:
        if referrer is None:
            return SpecError(display, None, message)
        return SpecError(referrer.display, ref_pointer, f"{display}: {message}")

    if _is_url(uri):
        assert fetch is not None
        data, content_type, _final = await fetch(uri)
        return parse_document(data, display=display, content_type=content_type)
    return parse_document(_read_file(uri, blame), display=display)


def _absolute(path: str) -> str:
    return str(Path(path).resolve())


def _read_file(uri: str, blame: Callable[[str], SpecError]) -> bytes:
    """A local document, size-checked before it is read (specs are small; a blocking read is fine)."""
    path = Path(uri)
    try:
        if not path.is_file():
            raise blame("not a file" if path.exists() else "cannot read: No such file or directory")
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise blame(f"larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
        return path.read_bytes()
    except OSError as exc:
        raise blame(f"cannot read: {exc.strerror or exc}") from None
