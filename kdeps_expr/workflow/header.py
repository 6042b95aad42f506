"""``workflow.yaml``'s own part: metadata, settings and routes, checked as ``serve`` uses them.

Metadata may be nested (``metadata: {name, targetActionId, …}``, what every KDeps example
writes) or flat (``name`` and ``targetActionId`` at the top level, as one KDeps doc
writes it); a key given both ways is an error. ``settings.session`` goes through the
sessions package's own check (:func:`~kdeps_expr.sessions.config.store_settings`), so a
setting the store would refuse when ``run`` or ``serve`` opens it is refused here, at its
place in the file. ``hostIp``/``portNum`` are read from ``settings.apiServer`` or, as older
KDeps wrote them, from ``settings``; the ``apiServer`` ones win (a warning says so when
both are given and differ).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import SettingError, WorkflowError
from ..language.templates import DEFAULT_DELIMITERS
from ..sessions.config import store_settings
from .chat import read_llm_settings
from .executors import check_sql_connections
from .fields import FieldReader
from .model import Route
from .yamlsource import Mapping as YamlMapping
from .yamlsource import Node, Scalar, Sequence

METADATA_KEYS = ("name", "description", "version", "targetActionId")
SERVER_PLACES = ("hostIp", "portNum")


@dataclass
class Header:
    """What workflow.yaml says besides its inline resources."""

    metadata: dict[str, str] = field(default_factory=dict)
    target_node: Scalar | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    routes: list[tuple[Route, YamlMapping]] = field(default_factory=list)
    delimiters: tuple[str, ...] | None = None


def read_header(document: YamlMapping, reader: FieldReader) -> Header:
    """Metadata, settings and routes of the workflow document."""
    header = Header()
    _metadata(document, reader, header)
    settings = document.get("settings")
    if isinstance(settings, YamlMapping):
        header.settings = reader.settings = settings.to_python()
        _session(settings, reader)
        check_sql_connections(settings, reader)
        read_llm_settings(settings, reader)
        _server_places(settings, reader, header)
        _cors(settings, reader)
        header.delimiters = _delimiters(settings, reader)
        header.routes = _routes(settings, reader, header.metadata.get("targetActionId", ""))
    return header


def _metadata(document: YamlMapping, reader: FieldReader, header: Header) -> None:
    nested = document.get("metadata")
    nested = nested if isinstance(nested, YamlMapping) else None
    for key in METADATA_KEYS:
        inner = nested.get(key) if nested is not None else None
        outer = document.get(key)
        if inner is not None and outer is not None:
            reader.error(document.key(key).error(f"{key} is given twice: under metadata and here"))
        node = inner if inner is not None else outer
        text = reader.text(node)
        if text is not None:
            header.metadata[key] = text
            if key == "targetActionId" and isinstance(node, Scalar):
                header.target_node = node
    missing = [key for key in ("name", "targetActionId") if not header.metadata.get(key)]
    if missing:
        where = nested if nested is not None else document
        if nested is None and not any(key in document.entries for key in METADATA_KEYS):
            reader.error(
                document.error("workflow.yaml needs metadata with name and targetActionId")
            )
        else:
            for key in missing:
                reader.error(where.error(f"metadata.{key} is required"))


def _session(settings: YamlMapping, reader: FieldReader) -> None:
    session = settings.get("session")
    try:
        store_settings(session.to_python() if session is not None else None)
    except SettingError as exc:
        reader.error(_at_setting(settings, exc.path, exc.on_key).error(exc.message))
    except WorkflowError as exc:
        reader.error((session or settings).error(exc.message))


def _at_setting(settings: YamlMapping, path: tuple[str, ...], on_key: bool) -> Node:
    """The node of ``path`` under settings: its value, or its key when ``on_key``; the
    nearest parent that exists when it is missing."""
    node: Node = settings
    for step in path:
        if not isinstance(node, YamlMapping) or step not in node.entries:
            break
        key, value = node.entries[step]
        node = key if on_key and step == path[-1] else value
    return node


def _server_places(settings: YamlMapping, reader: FieldReader, header: Header) -> None:
    """``hostIp``/``portNum`` under ``settings`` (older KDeps) count when ``apiServer`` lacks
    them; ``header.settings['apiServer']`` gets the ones that apply."""
    api = settings.get("apiServer")
    api_values = api.to_python() if isinstance(api, YamlMapping) else {}
    merged = dict(api_values)
    for key in SERVER_PLACES:
        old = settings.get(key)
        if old is None:
            continue
        if key not in api_values:
            merged[key] = old.to_python()
        elif api_values[key] != old.to_python():
            reader.warn(
                settings.key(key),
                f"settings.{key} is ignored: settings.apiServer.{key} is given and wins",
            )
    if merged != api_values:
        header.settings["apiServer"] = merged


def _cors(settings: YamlMapping, reader: FieldReader) -> None:
    """``allowCredentials`` with the origin ``*``: the server drops the credentials."""
    api = settings.get("apiServer")
    cors = api.get("cors") if isinstance(api, YamlMapping) else None
    if not isinstance(cors, YamlMapping):
        return
    credentials = cors.get("allowCredentials")
    origins = [text for text, _ in reader.texts(cors.get("allowOrigins"))] or ["*"]
    if isinstance(credentials, Scalar) and credentials.value is True and "*" in origins:
        reader.warn(
            cors.key("allowCredentials"),
            "allowCredentials is ignored with the origin '*' (any site could read a logged-in "
            "user's answers): list the origins allowed",
        )


def _delimiters(settings: YamlMapping, reader: FieldReader) -> tuple[str, ...] | None:
    templates = settings.get("templates")
    if not isinstance(templates, YamlMapping) or templates.get("delimiters") is None:
        return None
    chosen = tuple(
        text for text, _ in reader.texts(templates.get("delimiters")) if text in DEFAULT_DELIMITERS
    )
    return chosen


def _routes(
    settings: YamlMapping, reader: FieldReader, target: str
) -> list[tuple[Route, YamlMapping]]:
    api = settings.get("apiServer")
    node = api.get("routes") if isinstance(api, YamlMapping) else None
    if not isinstance(node, Sequence):
        return []
    routes: list[tuple[Route, YamlMapping]] = []
    seen: dict[tuple[str, str], Scalar] = {}
    for entry in node.items:
        if not isinstance(entry, YamlMapping):
            continue
        path = reader.text(entry.get("path"))
        if path is None or not path.startswith("/"):
            continue
        methods = reader.methods(entry.get("methods"))
        if not methods:
            reader.error(entry.error(f"route {path} needs methods, such as [GET]"))
            continue
        ordered = tuple(m for m in _written_order(entry.get("methods")) if m in methods)
        named = reader.text(entry.get("actionId"))
        for method in ordered:
            first = seen.get((path, method))
            if first is not None:
                line = first.source.line_column(first.start)[0]
                message = f"route {method} {path} is declared twice (first on line {line})"
                reader.error(entry.key("path").error(message))
            seen[(path, method)] = entry.key("path")
        routes.append((Route(path, ordered, named or target, named is not None), entry))
    return routes


def _written_order(node: Node | None) -> list[str]:
    items = node.items if isinstance(node, Sequence) else [node] if node is not None else []
    found: list[str] = []
    for item in items:
        if isinstance(item, Scalar) and isinstance(item.value, str):
            method = item.value.upper()
            if method not in found:
                found.append(method)
    return found
