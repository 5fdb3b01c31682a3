"""Building the model (:mod:`keywire.openapi.model`) from a loaded spec, Swagger 2.0 or OpenAPI
3.0/3.1.

:class:`Node` is a value of the spec with the document and pointer it came from; every reader
below goes through it, so a value of the wrong type is a :class:`SpecError` naming its pointer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from .._dataclass import dataclass
from .documents import Document, SpecError, SpecSet, join
from .model import (
    METHODS,
    ApiSpec,
    FlowUrl,
    Operation,
    Parameter,
    Requirement,
    SecurityScheme,
    Server,
)


@dataclass(frozen=True, kw_only=True)
class Node:
    """A value of the spec with the document and pointer it came from."""

    spec: SpecSet
    document: Document
    pointer: str
    value: object

    @property
    def location(self) -> str:
        return f"{self.document.display}#{self.pointer}"

    def error(self, message: str) -> SpecError:
        return SpecError(self.document.display, self.pointer, message)

    def deref(self) -> Node:
        document, pointer, value = self.spec.deref(self.document, self.pointer, self.value)
        return Node(spec=self.spec, document=document, pointer=pointer, value=value)

    def child(self, key: str | int) -> Node | None:
        """The (dereferenced) member ``key``, or None when absent."""
        value = self.value
        item: object
        if isinstance(value, dict) and isinstance(key, str):
            if key not in value:
                return None
            item = value[key]
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            item = value[key]
        else:
            return None
        node = Node(
            spec=self.spec, document=self.document, pointer=join(self.pointer, key), value=item
        )
        return node.deref()

    def object(self, key: str) -> Node | None:
        node = self.child(key)
        if node is not None and not isinstance(node.value, dict):
            raise node.error(f"'{key}' must be an object")
        return node

    def array(self, key: str) -> Node | None:
        node = self.child(key)
        if node is not None and not isinstance(node.value, list):
            raise node.error(f"'{key}' must be an array")
        return node

    def string(self, key: str, default: str = "") -> str:
        node = self.child(key)
        if node is None or node.value is None:
            return default
        if not isinstance(node.value, str):
            raise node.error(f"'{key}' must be a string")
        return node.value

    def items(self) -> Iterator[tuple[str, Node]]:
        assert isinstance(self.value, dict)
        for key in self.value:
            node = self.child(key)
            assert node is not None
            yield key, node

    def elements(self) -> Iterator[Node]:
        assert isinstance(self.value, list)
        for index in range(len(self.value)):
            node = self.child(index)
            assert node is not None
            yield node


def build_model(spec: SpecSet, *, source_url: str | None = None) -> ApiSpec:
    """Read servers, security and operations; ``source_url`` is where a URL spec came from."""
    root = Node(spec=spec, document=spec.root, pointer="", value=spec.root.content)
    swagger = root.child("swagger")
    openapi = root.child("openapi")
    if swagger is not None:
        if swagger.value not in ("2.0", 2.0):
            raise swagger.error(f"unsupported Swagger version {swagger.value!r} (2.0 is)")
        version = "2.0"
    elif openapi is not None:
        if not isinstance(openapi.value, str) or not re.fullmatch(
            r"3\.[01](\.\d+)?(-.*)?", openapi.value
        ):
            raise openapi.error(f"unsupported OpenAPI version {openapi.value!r} (3.0 and 3.1 are)")
        version = openapi.value
    else:
        raise root.error(
            "neither 'openapi' nor 'swagger' is set: not an OpenAPI or Swagger document"
        )
    info = root.object("info")
    title = info.string("title") if info is not None else ""

    if version == "2.0":
        servers = _swagger_servers(root, source_url)
        schemes = _schemes(root, "securityDefinitions")
    else:
        servers = _servers(root)
        components = root.object("components")
        schemes = _schemes(components, "securitySchemes") if components is not None else ()
    names = {s.name for s in schemes}
    security, security_location = _security(root, names)
    operations = _operations(root, version, servers, security, security_location, names)
    return ApiSpec(
        source=spec.root.display,
        version=version,
        title=title,
        servers=servers,
        security_schemes=schemes,
        security=security or (),
        security_location=security_location,
        operations=operations,
    )


# -- servers -----------------------------------------------------------------------------------


def _servers(node: Node) -> tuple[Server, ...]:
    array = node.array("servers")
    if array is None:
        return ()
    servers = []
    for item in array.elements():
        if not isinstance(item.value, dict):
            raise item.error("a server must be an object")
        url = item.string("url")
        if not url:
            raise item.error("a server needs a 'url'")
        variables = item.object("variables")
        if variables is not None:
            for name, variable in variables.items():
                if not isinstance(variable.value, dict):
                    raise variable.error("a server variable must be an object")
                default = variable.child("default")
                if default is not None and isinstance(default.value, str | int | float):
                    url = url.replace("{" + name + "}", str(default.value))
        servers.append(Server(url=url, location=join(item.location, "url")))
    return tuple(servers)


def _swagger_servers(root: Node, source_url: str | None) -> tuple[Server, ...]:
    host = root.string("host")
    base_path = root.string("basePath") or "/"
    schemes_node = root.array("schemes")
    source = urlsplit(source_url) if source_url else None
    if not host and source is not None:
        host = source.netloc
    schemes: list[tuple[str, str]] = []
    if schemes_node is not None:
        for item in schemes_node.elements():
            if not isinstance(item.value, str):
                raise item.error("a scheme must be a string")
            if item.value.lower() in ("http", "https"):
                schemes.append((item.value.lower(), item.location))
    elif source is not None:
        schemes.append((source.scheme, f"{root.document.display}#/host"))
    if not host:
        # no host: the API lives wherever the user says (a relative server)
        return (Server(url=base_path, location=f"{root.document.display}#/basePath"),)
    if not schemes:
        return (Server(url=f"//{host}{base_path}", location=f"{root.document.display}#/host"),)
    return tuple(
        Server(url=f"{scheme}://{host}{base_path}", location=location)
        for scheme, location in schemes
    )


# -- security ----------------------------------------------------------------------------------

_FLOW_URLS = ("authorizationUrl", "tokenUrl", "refreshUrl")


def _schemes(parent: Node, key: str) -> tuple[SecurityScheme, ...]:
    table = parent.object(key)
    if table is None:
        return ()
    schemes = []
    for name, node in table.items():
        if not isinstance(node.value, dict):
            raise node.error("a security scheme must be an object")
        kind = node.string("type")
        if not kind:
            raise node.error("a security scheme needs a 'type'")
        http_scheme = node.string("scheme").lower()
        if kind == "basic":  # Swagger 2.0
            kind, http_scheme = "http", "basic"
        urls: list[FlowUrl] = []
        for url_key in _FLOW_URLS:  # Swagger 2.0 keeps them on the scheme itself
            value = node.string(url_key)
            if value:
                urls.append(
                    FlowUrl(label=url_key, url=value, location=join(node.location, url_key))
                )
        flows = node.object("flows")
        if flows is not None:
            for flow_name, flow in flows.items():
                if not isinstance(flow.value, dict):
                    raise flow.error("an OAuth flow must be an object")
                for url_key in _FLOW_URLS:
                    value = flow.string(url_key)
                    if value:
                        urls.append(
                            FlowUrl(
                                label=f"flows.{flow_name}.{url_key}",
                                url=value,
                                location=join(flow.location, url_key),
                            )
                        )
        openid = node.string("openIdConnectUrl")
        if openid:
            urls.append(
                FlowUrl(
                    label="openIdConnectUrl",
                    url=openid,
                    location=join(node.location, "openIdConnectUrl"),
                )
            )
        description = node.string("description")
        secure_ext = node.child("x-cookie-secure")
        secure_cookie = (secure_ext is not None and secure_ext.value is True) or bool(
            re.search(r"\bSecure\b", description)
        )
        schemes.append(
            SecurityScheme(
                name=name,
                type=kind,
                http_scheme=http_scheme,
                key_in=node.string("in").lower(),
                key_name=node.string("name"),
                description=description,
                urls=tuple(urls),
                secure_cookie_declared=secure_cookie,
                location=node.location,
            )
        )
    return tuple(schemes)


def _security(node: Node, names: set[str]) -> tuple[tuple[Requirement, ...] | None, str]:
    """The requirement list at ``node['security']`` (None when absent) and its location."""
    array = node.array("security")
    if array is None:
        return None, ""
    requirements: list[Requirement] = []
    for item in array.elements():
        if not isinstance(item.value, dict):
            raise item.error("a security requirement must be an object")
        for name in item.value:
            if name not in names:
                raise SpecError(
                    item.document.display,
                    join(item.pointer, name),
                    f"security requirement names undeclared scheme {name!r}",
                )
        requirements.append(tuple(item.value))
    return tuple(requirements), array.location


# -- operations --------------------------------------------------------------------------------


def _operations(
    root: Node,
    version: str,
    servers: tuple[Server, ...],
    security: tuple[Requirement, ...] | None,
    security_location: str,
    names: set[str],
) -> tuple[Operation, ...]:
    paths = root.object("paths")
    if paths is None:
        return ()
    operations = []
    for path, item in paths.items():
        if not path.startswith("/"):
            if path.startswith("x-"):
                continue
            raise item.error("a path must start with '/'")
        if not isinstance(item.value, dict):
            raise item.error("a path item must be an object")
        path_servers = _servers(item) or servers
        shared = _parameters(item, version)
        for method in METHODS:
            operation = item.object(method)
            if operation is None:
                continue
            op_servers = _servers(operation) or path_servers
            own, own_location = _security(operation, names)
            parameters = {(p.name, p.where): p for p in shared}
            parameters.update({(p.name, p.where): p for p in _parameters(operation, version)})
            operations.append(
                Operation(
                    method=method,
                    path=path,
                    operation_id=operation.string("operationId"),
                    location=operation.location,
                    security=own if own is not None else (security or ()),
                    security_location=own_location if own is not None else security_location,
                    parameters=tuple(parameters.values()),
                    servers=op_servers,
                )
            )
    return tuple(operations)


def _parameters(node: Node, version: str) -> list[Parameter]:
    array = node.array("parameters")
    if array is None:
        return []
    parameters = []
    for item in array.elements():
        if not isinstance(item.value, dict):
            raise item.error("a parameter must be an object")
        name = item.string("name")
        where = item.string("in")
        if not name or not where:
            raise item.error("a parameter needs 'name' and 'in'")
        required = item.child("required")
        parameters.append(
            Parameter(
                name=name,
                where=where,
                required=bool(required is not None and required.value is True),
                value=_sample(item, version),
                location=item.location,
            )
        )
    return parameters


def _scalar(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _sample(parameter: Node, version: str) -> str | None:
    """A value for the parameter: its example, examples, default or first enum value."""
    candidates: list[Node] = [parameter]
    schema = parameter.child("schema")
    if schema is not None and isinstance(schema.value, dict):
        candidates.append(schema)
    for node in candidates:
        for key in ("example", "x-example"):
            found = node.child(key)
            if found is not None and _scalar(found.value) is not None:
                return _scalar(found.value)
        examples = node.child("examples")
        if examples is not None:
            values: list[object] = []
            if isinstance(examples.value, dict):  # OpenAPI examples: {name: {value: …}}
                for _, example in examples.items():
                    inner = example.child("value") if isinstance(example.value, dict) else None
                    if inner is not None:
                        values.append(inner.value)
            elif isinstance(examples.value, list):  # JSON Schema 2020-12 examples: [...]
                values.extend(examples.value)
            for value in values:
                if _scalar(value) is not None:
                    return _scalar(value)
        default = node.child("default")
        if default is not None and _scalar(default.value) is not None:
            return _scalar(default.value)
        enum = node.child("enum")
        if enum is not None and isinstance(enum.value, list):
            for value in enum.value:
                if _scalar(value) is not None:
                    return _scalar(value)
    return None
