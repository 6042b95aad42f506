"""Load a KDeps workflow folder into typed objects, compiling every expression at load time.

A workflow is ``workflow.yaml`` plus every ``*.yaml``/``*.yml`` file under ``resources/``
(a file may hold several resources separated by ``---``; documents after the first one of
``workflow.yaml`` are resources too). A file whose name ends in ``.j2`` is rendered by
Jinja2 first, with ``env`` (the process environment) as its context; ``<< >>`` blocks are
not Jinja2 syntax, so they pass through as runtime templates. No other file goes through
Jinja2.

Loading checks everything it can before a request runs: unknown keys, value types, every
expression and template (compiled here, never at request time), ``requires`` targets and
cycles, durations and routes. It collects every error rather than stopping at the first,
and :func:`load_workflow` raises one :class:`WorkflowLoadError` listing them, each at the
character of the YAML file it is about. :func:`inspect_workflow` returns the errors with
whatever could be built, for ``kdeps-expr check``.
"""

from __future__ import annotations

import difflib
import math
import os
import string
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ..durations import parse_duration
from ..errors import ExprError, WorkflowError, WorkflowLoadError
from ..language import values
from ..language.engine import Engine
from ..language.templates import DEFAULT_DELIMITERS
from ..sessions import cookie_name, renew_keys
from .model import (
    DEFAULT_PREFLIGHT_CODE,
    ApiResponse,
    Chat,
    Constant,
    Dynamic,
    Inspection,
    ListValue,
    MapValue,
    Preflight,
    Resource,
    Route,
    Site,
    Step,
    Value,
    ValueString,
    Workflow,
    plan_order,
)
from .yamlsource import Mapping as YamlMapping
from .yamlsource import Node, Scalar, Sequence, SourceFile, load_documents

WORKFLOW_FILE = "workflow.yaml"
RESOURCES_DIR = "resources"
YAML_SUFFIXES = (".yaml", ".yml")
TEMPLATE_SUFFIX = ".j2"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
SESSION_TYPES = ("sqlite", "memory", "redis")

_WORKFLOW_KEYS = frozenset({"apiVersion", "kind", "metadata", "settings"})
_WORKFLOW_METADATA_KEYS = frozenset(
    {"name", "description", "version", "targetActionId", "authors", "website"}
)
_SETTINGS_KEYS = frozenset({"apiServerMode", "apiServer", "session", "templates", "agentSettings"})
_API_SERVER_KEYS = frozenset(
    {
        "hostIp",
        "portNum",
        "routes",
        "maxBodyBytes",
        "maxHeaderBytes",
        "requestTimeout",
        "cookieSecure",
        "workerThreads",
        "debug",
        "accessLog",
    }
)
_ROUTE_KEYS = frozenset({"path", "methods", "actionId"})
_SESSION_KEYS = frozenset(
    {"type", "path", "url", "ttl", "cleanupInterval", "keyPrefix", "renewOn", "cookieName"}
)
_TEMPLATES_KEYS = frozenset({"delimiters"})
_RESOURCE_KEYS = frozenset({"apiVersion", "kind", "metadata", "run"})
_RESOURCE_METADATA_KEYS = frozenset(
    {"actionId", "name", "description", "version", "category", "requires"}
)
_RUN_KEYS = frozenset(
    {
        "skipCondition",
        "restrictToHttpMethods",
        "restrictToRoutes",
        "preflightCheck",
        "exprBefore",
        "expr",
        "exprAfter",
        "chat",
        "apiResponse",
    }
)
_PREFLIGHT_KEYS = frozenset({"validations", "error"})
_PREFLIGHT_ERROR_KEYS = frozenset({"code", "message"})
_CHAT_KEYS = frozenset({"prompt", "model", "role", "backend", "timeoutDuration"})
_API_RESPONSE_KEYS = frozenset({"success", "response", "meta"})
_META_KEYS = frozenset({"headers", "statusCode"})

_RUNS = "this engine runs chat, expressions and apiResponse"
_NOT_RUN = {
    key: f"{key} resources are not run by this engine ({_RUNS})"
    for key in ("python", "exec", "httpClient", "sql")
}
_RUN_UNSUPPORTED = {
    **_NOT_RUN,
    "allowedHeaders": "allowedHeaders is not supported by this engine",
    "allowedParams": "allowedParams is not supported by this engine",
    "postflightCheck": "postflightCheck is not supported by this engine",
}
_RESOURCE_UNSUPPORTED = {"items": "items iteration is not supported by this engine"}
_BODILESS_STATUSES = (204, 205, 304)
"""Statuses HTTP sends without a body (as every 1xx); every answer here has a JSON body."""
_TRANSPORT_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer"}
)
"""Headers that frame the HTTP message itself; one set by a workflow would corrupt it."""
_HEADER_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
"""The characters of an HTTP header name (RFC 9110 ``token``)."""


def load_workflow(path: str | Path, engine: Engine | None = None) -> Workflow:
    """Load the workflow folder ``path`` (or its ``workflow.yaml``); compile everything.

    Raises :class:`WorkflowLoadError` listing every error found.
    """
    inspection = inspect_workflow(path, engine)
    if inspection.workflow is None:
        raise WorkflowLoadError(inspection.errors)
    return inspection.workflow


def inspect_workflow(path: str | Path, engine: Engine | None = None) -> Inspection:
    """Load ``path`` collecting every error instead of raising; for ``kdeps-expr check``."""
    return _Loader(Path(path), engine).load()


# ---- loading -----------------------------------------------------------------------------


_JINJA = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
)
"""Jinja2 for ``.j2`` files: sandboxed (a shared resource file cannot reach Python
internals through ``env``), and an undefined variable is an error, not empty text."""
_JINJA_NAME = "<template>"


@dataclass
class _Draft:
    """A resource being loaded, with the located nodes later checks point at."""

    resource: Resource
    action_id_node: Scalar
    requires_nodes: tuple[Scalar, ...]


class _Loader:
    """One load: reads files, builds typed objects, collects every error on the way."""

    def __init__(self, path: Path, engine: Engine | None) -> None:
        self.shown = path.parent if path.is_file() else path
        self.root = self.shown.resolve()
        self.engine = engine or Engine()
        self.errors: list[ExprError] = []
        self.values: list[ValueString] = []
        self.file_order: dict[str, int] = {}
        self.incomplete = False

    # -- entry point ---------------------------------------------------------------------

    def load(self) -> Inspection:
        documents = self._workflow_documents()
        header = documents[0] if documents else None
        settings: Mapping[str, Any] = {}
        metadata: dict[str, str] = {}
        routes: list[tuple[Route, YamlMapping]] = []
        if isinstance(header, YamlMapping):
            metadata = self._workflow_metadata(header)
            settings_node = self._mapping(header.get("settings"), "settings")
            if settings_node is not None:
                self._settings(settings_node)
                settings = settings_node.to_python()
                routes = self._routes(settings_node, metadata.get("targetActionId", ""))
        elif header is not None:
            self._error(header.error("workflow.yaml must be a mapping"))
        drafts = [self._resource(doc) for doc in documents[1:] + self._resource_documents()]
        resources = self._link([draft for draft in drafts if draft is not None])
        self._check_targets(header, metadata, routes, resources)
        self.errors.sort(key=self._error_order)
        self.values.sort(key=self._value_order)
        workflow = None
        if not self.errors:
            requires = {action_id: r.requires for action_id, r in resources.items()}
            workflow = Workflow(
                root=self.root,
                name=metadata.get("name", ""),
                version=metadata.get("version", ""),
                description=metadata.get("description", ""),
                target_action_id=metadata["targetActionId"],
                resources=resources,
                settings=settings,
                api_routes=[route for route, _ in routes],
                plans={
                    action_id: tuple(resources[a] for a in plan_order(action_id, requires))
                    for action_id in resources
                },
                engine=self.engine,
            )
        return Inspection(workflow, list(resources.values()), self.errors, self.values)

    def _error(self, error: ExprError) -> None:
        self.errors.append(error)

    def _lost(self, error: ExprError) -> None:
        """Record an error that cost whole resources; checks of names would only echo it."""
        self._error(error)
        self.incomplete = True

    def _value_order(self, value: ValueString) -> tuple[int, int]:
        scalar = value.site.scalar
        return (self.file_order.get(scalar.source.name, -1), scalar.start)

    def _error_order(self, error: ExprError) -> tuple[int, int, int]:
        return (self.file_order.get(error.where or "", -1), error.line or 0, error.column or 0)

    # -- files ---------------------------------------------------------------------------

    def _workflow_documents(self) -> list[Node]:
        candidates = (WORKFLOW_FILE, WORKFLOW_FILE + TEMPLATE_SUFFIX)
        present = [name for name in candidates if (self.root / name).is_file()]
        if len(present) != 1:
            problem = "has both {} and {}" if present else "has no {} or {}"
            message = f"{self.shown}: the workflow folder {problem.format(*candidates)}"
            self._error(WorkflowError(message))
            return []
        known = len(self.errors)
        documents = self._documents(self.root / present[0])
        if not documents and len(self.errors) == known:
            shown = self.shown / present[0]
            needs = "it needs metadata with name and targetActionId"
            self._error(WorkflowError(f"{shown}: {present[0]} is empty: {needs}"))
        return documents

    def _resource_documents(self) -> list[Node]:
        folder = self.root / RESOURCES_DIR
        if not folder.is_dir():
            return []
        suffixes = YAML_SUFFIXES + tuple(s + TEMPLATE_SUFFIX for s in YAML_SUFFIXES)
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(suffixes))
        return [document for file in files for document in self._documents(file)]

    def _documents(self, path: Path) -> list[Node]:
        shown = str(self.shown / path.relative_to(self.root))
        self.file_order[shown] = len(self.file_order)
        try:
            text = path.read_text(encoding="utf-8-sig")  # a BOM would shift every position
        except (OSError, UnicodeDecodeError) as exc:
            self._lost(WorkflowError(f"{shown}: cannot read the file: {exc}"))
            return []
        if path.name.endswith(TEMPLATE_SUFFIX):
            rendered = self._render_jinja(shown, text)
            if rendered is None:
                return []
            text = rendered
        try:
            return load_documents(SourceFile(shown, text))
        except WorkflowError as exc:
            self._lost(exc)
            return []

    def _render_jinja(self, shown: str, text: str) -> str | None:
        source = SourceFile(shown, text)
        try:
            return _JINJA.from_string(text).render(env=dict(os.environ))
        except jinja2.TemplateSyntaxError as exc:
            line = min(exc.lineno, len(text.splitlines()) or 1)
            error = WorkflowError(f"Jinja2 template error: {exc.message}")
        except jinja2.TemplateError as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            lines = [frame.lineno for frame in frames if frame.filename == _JINJA_NAME]
            line = lines[-1] if lines and lines[-1] else 1
            error = WorkflowError(f"Jinja2 template error: {exc}")
        source.place(error, source.line_start(line))
        self._lost(error)
        return None

    # -- generic checks ------------------------------------------------------------------

    def _keys(
        self,
        mapping: YamlMapping,
        accepted: frozenset[str],
        where: str,
        unsupported: Mapping[str, str] | None = None,
    ) -> None:
        for key, (key_node, _) in mapping.entries.items():
            if key in accepted:
                continue
            if unsupported and key in unsupported:
                self._error(key_node.error(unsupported[key]))
                continue
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listing = ", ".join(sorted(accepted))
            self._error(key_node.error(f"unknown key {key!r} in {where}{hint} (known: {listing})"))

    def _section(
        self,
        node: Node | None,
        where: str,
        accepted: frozenset[str],
        unsupported: Mapping[str, str] | None = None,
    ) -> YamlMapping | None:
        """The mapping at ``where`` with its keys checked; ``None`` when absent or not one."""
        mapping = self._mapping(node, where)
        if mapping is not None:
            self._keys(mapping, accepted, where, unsupported)
        return mapping

    def _mapping(self, node: Node | None, where: str) -> YamlMapping | None:
        if node is None or isinstance(node, YamlMapping):
            return node
        if isinstance(node, Scalar) and node.value is None:
            return None
        self._error(node.error(f"{where} must be a mapping"))
        return None

    def _text(self, node: Node | None, where: str) -> str | None:
        """A scalar written as text; a number is taken as written (``version: 1.10``)."""
        if node is None:
            return None
        if isinstance(node, Scalar) and not isinstance(node.value, bool | type(None)):
            return node.value if isinstance(node.value, str) else node.source_text
        self._error(node.error(f"{where} must be a string"))
        return None

    def _texts(self, node: Node | None, where: str) -> list[tuple[str, Scalar]]:
        """A list of strings; a single string stands for a list of one."""
        if node is None or (isinstance(node, Scalar) and node.value is None):
            return []
        items = node.items if isinstance(node, Sequence) else [node]
        found: list[tuple[str, Scalar]] = []
        for item in items:
            if isinstance(item, Scalar) and isinstance(item.value, str):
                found.append((item.value, item))
            else:
                self._error(item.error(f"{where} must be a list of strings"))
        return found

    def _kind(self, mapping: YamlMapping, expected: str) -> None:
        node = mapping.get("kind")
        kind = self._text(node, "kind")
        if node is not None and kind is not None and kind != expected:
            self._error(node.error(f"kind must be {expected!r}, not {kind!r}"))

    def _duration(self, node: Node | None, where: str) -> float | None:
        if node is None:
            return None
        try:
            return parse_duration(node.to_python())
        except WorkflowError as exc:
            self._error(node.error(f"{where}: {exc.message}"))
            return None

    # -- workflow.yaml -------------------------------------------------------------------

    def _workflow_metadata(self, header: YamlMapping) -> dict[str, str]:
        self._keys(header, _WORKFLOW_KEYS, "workflow.yaml")
        self._kind(header, "Workflow")
        node = self._section(header.get("metadata"), "metadata", _WORKFLOW_METADATA_KEYS)
        if node is None:
            self._error(header.error("workflow.yaml needs metadata with name and targetActionId"))
            return {}
        metadata: dict[str, str] = {}
        for key in ("name", "description", "version", "targetActionId"):
            text = self._text(node.get(key), f"metadata.{key}")
            if text is not None:
                metadata[key] = text
        for key in ("name", "targetActionId"):
            if not metadata.get(key):
                self._error(node.error(f"metadata.{key} is required"))
        return metadata

    def _settings(self, settings: YamlMapping) -> None:
        self._keys(settings, _SETTINGS_KEYS, "settings")
        mode = settings.get("apiServerMode")
        if mode is not None and not (isinstance(mode, Scalar) and isinstance(mode.value, bool)):
            self._error(mode.error("settings.apiServerMode must be true or false"))
        self._section(settings.get("apiServer"), "settings.apiServer", _API_SERVER_KEYS)
        session = self._section(settings.get("session"), "settings.session", _SESSION_KEYS)
        if session is not None:
            self._session(session)
        templates = self._section(settings.get("templates"), "settings.templates", _TEMPLATES_KEYS)
        if templates is not None:
            self._templates(templates)

    def _session(self, session: YamlMapping) -> None:
        kind_node = session.get("type")
        kind = self._text(kind_node, "settings.session.type")
        if kind_node is not None and kind is not None and kind not in SESSION_TYPES:
            choices = ", ".join(SESSION_TYPES)
            self._error(kind_node.error(f"settings.session.type must be one of {choices}"))
        for key in ("path", "url"):
            self._text(session.get(key), f"settings.session.{key}")
        for key in ("ttl", "cleanupInterval"):
            self._duration(session.get(key), f"settings.session.{key}")
        for key, read in (("renewOn", renew_keys), ("cookieName", cookie_name)):
            node = session.get(key)
            if node is not None:
                try:
                    read({key: node.to_python()})
                except WorkflowError as exc:
                    self._error(node.error(exc.message))

    def _templates(self, templates: YamlMapping) -> None:
        node = templates.get("delimiters")
        if node is None:
            return
        delimiters = self._texts(node, "settings.templates.delimiters")
        for text, scalar in delimiters:
            if text not in DEFAULT_DELIMITERS:
                known = ", ".join(DEFAULT_DELIMITERS)
                self._error(scalar.error(f"unknown template delimiter {text!r} (known: {known})"))
        chosen = tuple(text for text, _ in delimiters if text in DEFAULT_DELIMITERS)
        if chosen != self.engine.delimiters:
            base = self.engine
            self.engine = Engine(
                functions=base.functions,
                delimiters=chosen,
                limits=base.limits,
                hot_after=base.hot_after,
            )

    def _routes(self, settings: YamlMapping, target: str) -> list[tuple[Route, YamlMapping]]:
        api = settings.get("apiServer")
        if not isinstance(api, YamlMapping):
            return []
        node = api.get("routes")
        if node is None:
            return []
        if not isinstance(node, Sequence):
            self._error(node.error("settings.apiServer.routes must be a list"))
            return []
        routes: list[tuple[Route, YamlMapping]] = []
        seen: dict[tuple[str, str], Scalar] = {}
        for item in node.items:
            entry = self._section(item, "a route", _ROUTE_KEYS)
            if entry is None:
                continue
            path = self._text(entry.get("path"), "route path")
            if path is None or not path.startswith("/"):
                self._error(entry.error("a route needs a path starting with '/'"))
                continue
            methods = self._methods(entry.get("methods"), "route methods")
            if not methods:
                self._error(entry.error(f"route {path} needs methods, such as [GET]"))
                continue
            action_id = self._text(entry.get("actionId"), "route actionId") or target
            for method in methods:
                if (path, method) in seen:
                    first = seen[(path, method)].source.line_column(seen[(path, method)].start)
                    message = f"route {method} {path} is declared twice (first on line {first[0]})"
                    self._error(entry.key("path").error(message))
                seen[(path, method)] = entry.key("path")
            routes.append((Route(path, methods, action_id), entry))
        return routes

    def _methods(self, node: Node | None, where: str) -> tuple[str, ...]:
        methods: list[str] = []
        for text, scalar in self._texts(node, where):
            method = text.upper()
            if method not in HTTP_METHODS:
                known = ", ".join(HTTP_METHODS)
                self._error(scalar.error(f"unknown HTTP method {text!r} (known: {known})"))
            elif method not in methods:
                methods.append(method)
        return tuple(methods)

    # -- resources -----------------------------------------------------------------------

    def _resource(self, document: Node) -> _Draft | None:
        if not isinstance(document, YamlMapping):
            self._lost(document.error("a resource must be a mapping"))
            return None
        self._keys(document, _RESOURCE_KEYS, "a resource", _RESOURCE_UNSUPPORTED)
        self._kind(document, "Resource")
        metadata = self._section(document.get("metadata"), "metadata", _RESOURCE_METADATA_KEYS)
        if metadata is None:
            self._lost(document.error("a resource needs metadata with an actionId"))
            return None
        id_node = metadata.get("actionId")
        action_id = self._text(id_node, "metadata.actionId")
        if not action_id or not isinstance(id_node, Scalar):
            self._lost(metadata.error("metadata.actionId is required"))
            return None
        requires = self._texts(metadata.get("requires"), "metadata.requires")
        run = self._section(document.get("run"), "run", _RUN_KEYS, _RUN_UNSUPPORTED)
        run = run or YamlMapping(document.source, document.start)
        routes = self._texts(run.get("restrictToRoutes"), "run.restrictToRoutes")
        methods = self._methods(run.get("restrictToHttpMethods"), "run.restrictToHttpMethods")
        resource = Resource(
            action_id=action_id,
            file=document.source.name,
            name=self._text(metadata.get("name"), "metadata.name") or "",
            description=self._text(metadata.get("description"), "metadata.description") or "",
            requires=tuple(text for text, _ in requires),
            skip_conditions=self._steps(run.get("skipCondition"), "run.skipCondition"),
            methods=frozenset(methods) if methods else None,
            routes=frozenset(text for text, _ in routes) if routes else None,
            preflight=self._preflight(run.get("preflightCheck")),
            expr_before=self._steps(run.get("exprBefore"), "run.exprBefore"),
            chat=self._chat(run.get("chat")),
            expr=self._steps(run.get("expr"), "run.expr"),
            expr_after=self._steps(run.get("exprAfter"), "run.exprAfter"),
            api_response=self._api_response(run.get("apiResponse")),
        )
        return _Draft(resource, id_node, tuple(scalar for _, scalar in requires))

    def _steps(self, node: Node | None, where: str) -> tuple[Step, ...]:
        if node is None or (isinstance(node, Scalar) and node.value is None):
            return ()
        items = node.items if isinstance(node, Sequence) else [node]
        steps: list[Step] = []
        for item in items:
            if not isinstance(item, Scalar):
                self._error(item.error(f"{where} entries must be expressions"))
                continue
            step = self._step(item)
            if step is not None:
                steps.append(step)
        return tuple(steps)

    def _step(self, scalar: Scalar) -> Step | None:
        value = scalar.value
        if not self._number_fits(scalar):
            return None
        text = value if isinstance(value, str) else values.to_json(value)
        try:
            expression = self.engine.compile_entry(text)
        except ExprError as exc:
            self._error(scalar.place(exc, exc.offset))
            return None
        return Step(expression.text.strip(), expression, Site(scalar))

    def _value(self, node: Node) -> Value:
        if isinstance(node, YamlMapping):
            return MapValue(
                tuple((key, self._value(item)) for key, (_, item) in node.entries.items())
            )
        if isinstance(node, Sequence):
            return ListValue(tuple(self._value(item) for item in node.items))
        assert isinstance(node, Scalar)
        text = node.value
        if not isinstance(text, str):
            self._number_fits(node)
            return Constant(text)
        try:
            reading = self.engine.read_value(text)
        except ExprError as exc:
            self._error(node.place(exc, exc.offset))
            return Constant(text)
        self.values.append(ValueString(Site(node), text, reading.kind, reading.warning))
        if reading.kind == "text":
            return Constant(text)
        return Dynamic(text, reading, Site(node))

    def _number_fits(self, scalar: Scalar) -> bool:
        """SPEC §1 for YAML numbers: floats are finite, integers fit in 64 bits."""
        value = scalar.value
        if isinstance(value, float) and not math.isfinite(value):
            message = f"the YAML number {scalar.source_text} is not a value: numbers must be finite"
        elif type(value) is int and not -(1 << values.INT_BITS) <= value < 1 << values.INT_BITS:
            message = f"integer out of range: {scalar.source_text} does not fit in 64 bits"
        else:
            return True
        self._error(scalar.error(message))
        return False

    def _preflight(self, node: Node | None) -> Preflight | None:
        check = self._section(node, "run.preflightCheck", _PREFLIGHT_KEYS)
        if check is None:
            return None
        validations = self._steps(check.get("validations"), "run.preflightCheck.validations")
        error = self._section(check.get("error"), "run.preflightCheck.error", _PREFLIGHT_ERROR_KEYS)
        if error is None:
            return Preflight(validations)
        code = self._status(error.get("code"), "run.preflightCheck.error.code")
        message = error.get("message")
        if isinstance(message, Scalar) and message.value is None:
            message = None  # `message:` with nothing after it: the default message
        return Preflight(
            validations,
            code or DEFAULT_PREFLIGHT_CODE,
            self._value(message) if message is not None else None,
        )

    def _status(self, node: Node | None, where: str) -> int | None:
        if node is None:
            return None
        value = node.to_python()
        if not (isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599):
            self._error(node.error(f"{where} must be an HTTP status code from 100 to 599"))
            return None
        if value < 200 or value in _BODILESS_STATUSES:
            others = ", ".join(map(str, _BODILESS_STATUSES[:-1]))
            self._error(
                node.error(
                    f"{where} {value} cannot carry the JSON body of a response; use a status "
                    f"from 200 to 599 other than {others} and {_BODILESS_STATUSES[-1]}"
                )
            )
            return None
        return value

    def _chat(self, node: Node | None) -> Chat | None:
        chat = self._section(node, "run.chat", _CHAT_KEYS)
        if chat is None:
            return None
        prompt = chat.get("prompt")
        if prompt is None:
            self._error(chat.error("run.chat needs a prompt"))
            return None
        model = chat.get("model")
        return Chat(
            prompt=self._value(prompt),
            model=self._value(model) if model is not None else None,
            role=self._text(chat.get("role"), "run.chat.role"),
            backend=self._text(chat.get("backend"), "run.chat.backend"),
            timeout=self._duration(chat.get("timeoutDuration"), "run.chat.timeoutDuration"),
        )

    def _api_response(self, node: Node | None) -> ApiResponse | None:
        response = self._section(node, "run.apiResponse", _API_RESPONSE_KEYS)
        if response is None:
            return None
        success = response.get("success")
        data = response.get("response")
        meta = self._section(response.get("meta"), "run.apiResponse.meta", _META_KEYS)
        headers: list[tuple[str, Value]] = []
        status = None
        if meta is not None:
            status = self._status(meta.get("statusCode"), "run.apiResponse.meta.statusCode")
            header_map = self._mapping(meta.get("headers"), "run.apiResponse.meta.headers")
            for name, (name_node, value) in header_map.entries.items() if header_map else ():
                if not name or not set(name) <= _HEADER_NAME_CHARS:
                    self._error(name_node.error(f"invalid HTTP header name {name!r}"))
                elif name.lower() in _TRANSPORT_HEADERS:
                    message = f"{name} is set by the server, not by apiResponse.meta.headers"
                    self._error(name_node.error(message))
                headers.append((name, self._value(value)))
        return ApiResponse(
            success=self._value(success) if success is not None else Constant(True),
            data=self._value(data) if data is not None else Constant(None),
            headers=tuple(headers),
            status=status or 200,
        )

    # -- cross-resource checks -----------------------------------------------------------

    def _link(self, drafts: list[_Draft]) -> dict[str, Resource]:
        """Index resources by actionId; report duplicates, unknown requires and cycles."""
        by_id: dict[str, _Draft] = {}
        for draft in drafts:
            action_id = draft.resource.action_id
            first = by_id.get(action_id)
            if first is not None:
                where = Site(first.action_id_node).location()
                message = f"duplicate actionId {action_id!r} (first defined at {where})"
                self._error(draft.action_id_node.error(message))
                continue
            by_id[action_id] = draft
        for draft in by_id.values():
            for name, scalar in zip(draft.resource.requires, draft.requires_nodes, strict=True):
                if name not in by_id and not self.incomplete:
                    self._error(scalar.error(_unknown("requires target", name, by_id)))
        self._cycles(by_id)
        return {action_id: draft.resource for action_id, draft in by_id.items()}

    def _cycles(self, by_id: Mapping[str, _Draft]) -> None:
        """Report each ``requires`` cycle once, at the entry that closes it."""
        state: dict[str, int] = {}  # 1: on the current path, 2: finished
        for start in by_id:
            if start in state:
                continue
            path = [start]
            state[start] = 1
            stack = [iter(self._edges(by_id[start], by_id))]
            while stack:
                step = next(stack[-1], None)
                if step is None:
                    state[path.pop()] = 2
                    stack.pop()
                    continue
                name, scalar = step
                if state.get(name) == 1:
                    cycle = [*path[path.index(name) :], name]
                    self._error(scalar.error(f"requires cycle: {' -> '.join(cycle)}"))
                elif name not in state:
                    state[name] = 1
                    path.append(name)
                    stack.append(iter(self._edges(by_id[name], by_id)))

    @staticmethod
    def _edges(draft: _Draft, by_id: Mapping[str, _Draft]) -> list[tuple[str, Scalar]]:
        pairs = zip(draft.resource.requires, draft.requires_nodes, strict=True)
        return [(name, scalar) for name, scalar in pairs if name in by_id]

    def _check_targets(
        self,
        header: Node | None,
        metadata: Mapping[str, str],
        routes: list[tuple[Route, YamlMapping]],
        resources: Mapping[str, Resource],
    ) -> None:
        if self.incomplete:
            return
        target = metadata.get("targetActionId")
        if target and isinstance(header, YamlMapping):
            meta = header.get("metadata")
            if target not in resources and isinstance(meta, YamlMapping):
                node = meta.get("targetActionId")
                assert node is not None
                self._error(node.error(_unknown("targetActionId", target, resources)))
        for route, entry in routes:
            node = entry.get("actionId")
            if node is not None and route.action_id not in resources:
                self._error(node.error(_unknown("route actionId", route.action_id, resources)))


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listing = ", ".join(names) if names else "none"
    return f"unknown {what} {name!r}{hint} (resources: {listing})"
