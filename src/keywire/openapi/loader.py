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
>>> spec = asyncio.run(load_spec("tests/openapi/fixtures/petstore-3.0.yaml"))  # doctest: +SKIP
>>> spec.root.display  # doctest: +SKIP
'tests/openapi/fixtures/petstore-3.0.yaml'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from ..redact import redact_url
from .documents import (
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENTS,
    Document,
    Fetcher,
    SpecError,
    SpecSet,
    evaluate,
    iter_refs,
    join,
    parse_document,
    split_ref,
)

__all__ = ["Fetcher", "SpecError", "SpecSet", "load_spec"]


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
            target, _ = split_ref(ref, document)
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
        target_uri, target_pointer = split_ref(ref, document)
        target_document = documents[target_uri]
        try:
            evaluate(target_document, target_pointer)
        except SpecError as exc:
            missing = f"{target_document.display}#{exc.pointer or ''}"
            raise SpecError(
                document.display,
                join(pointer, "$ref"),
                f"$ref {ref!r} does not resolve: {missing} does not exist",
            ) from None
        spec.deref(document, pointer, evaluate(document, pointer))
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
