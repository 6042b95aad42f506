"""Load a KDeps workflow folder into the model, compiling every expression at load time.

A workflow is ``workflow.yaml`` (its later documents, and its ``resources:`` list, are
resources too) plus every resource file under ``resources/``: ``*.yaml``, ``*.yml``, and
the same names ending in ``.j2``, which Jinja2 renders first (:mod:`.jinja`; a rendered
``x.yaml`` beside ``x.yaml.j2`` wins, as in KDeps). A file may hold several resources
separated by ``---``.

Each document is checked against the shipped JSON Schema (:mod:`.schema`), then read into
the model whatever its layout (:mod:`.layouts`, :mod:`.header`); every expression and
template of every field of every action is compiled here, never at request time. Then
``requires`` targets and cycles, duplicate actionIds and the target are checked across
resources, and :mod:`.lint` adds the warnings. Every error is collected, each at the
character of the file it is about; :func:`load_workflow` raises one
:class:`WorkflowLoadError` listing them, :func:`inspect_workflow` returns them with what
could be built, for ``kdeps-expr check``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..actions.accessors import with_accessors
from ..errors import ExprError, WorkflowError, WorkflowLoadError
from ..heap import collector_paused
from ..language.engine import Engine
from .fields import FieldReader
from .header import Header, read_header
from .jinja import render_j2
from .layouts import Draft, read_resource
from .lint import check_resources
from .model import Inspection, Resource, Site, ValueString, Workflow, plan_order
from .schema import check_document
from .yamlsource import Mapping as YamlMapping
from .yamlsource import Node, Scalar, Sequence, SourceFile, load_documents

WORKFLOW_FILE = "workflow.yaml"
RESOURCES_DIR = "resources"
YAML_SUFFIXES = (".yaml", ".yml")
TEMPLATE_SUFFIX = ".j2"


def load_workflow(path: str | Path, engine: Engine | None = None) -> Workflow:
    """Load the workflow folder ``path`` (or its ``workflow.yaml``); compile everything.

    Raises :class:`WorkflowLoadError` listing every error found.
    """
    with collector_paused:
        inspection = _Loader(Path(path), engine or Engine()).load(warnings=False)
    if inspection.workflow is None:
        raise WorkflowLoadError(inspection.errors)
    return inspection.workflow


def inspect_workflow(path: str | Path, engine: Engine | None = None) -> Inspection:
    """Load ``path`` collecting every error and warning instead of raising; for
    ``kdeps-expr check``."""
    with collector_paused:
        return _Loader(Path(path), engine or Engine()).load(warnings=True)


class _Loader:
    """One load: reads files, builds the model, collects every error on the way."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.shown = path.parent if path.is_file() else path
        self.root = self.shown.resolve()
        self.reader = FieldReader(with_accessors(engine))
        self.file_order: dict[str, int] = {}
        self.incomplete = False

    def load(self, *, warnings: bool) -> Inspection:
        """Everything the folder holds; the warnings only when ``warnings`` (a loaded
        workflow computes them when first asked, :attr:`Workflow.warnings`)."""
        documents = self._workflow_documents()
        header = Header()
        resource_documents: list[Node] = []
        first = documents[0] if documents else None
        if isinstance(first, YamlMapping):
            header = self._header(first)
            resource_documents = self._inline(first.get("resources"))
        elif first is not None:
            self._error(first.error("workflow.yaml must be a mapping"))
        resource_documents += documents[1:] + self._resource_documents()
        drafts = [draft for document in resource_documents if (draft := self._resource(document))]
        resources = self._link(drafts)
        self._check_targets(header, resources)
        reader = self.reader
        errors = self._sorted(_deduplicated(reader.errors))
        reader.hide_secrets(errors)
        reader.values.sort(key=self._value_order)

        def lint() -> list[ExprError]:
            found = self._sorted(
                reader.warnings + check_resources(resources.values(), reader.values)
            )
            reader.hide_secrets(found)
            return found

        workflow = None
        if not errors:
            requires = {action_id: r.requires for action_id, r in resources.items()}
            workflow = Workflow(
                root=self.root,
                name=header.metadata.get("name", ""),
                version=header.metadata.get("version", ""),
                description=header.metadata.get("description", ""),
                target_action_id=header.metadata["targetActionId"],
                resources=resources,
                settings=header.settings,
                api_routes=[route for route, _ in header.routes],
                plans={
                    action_id: tuple(resources[a] for a in plan_order(action_id, requires))
                    for action_id in resources
                },
                engine=reader.engine,
                lint=lint,
            )
        found = (list(workflow.warnings) if workflow is not None else lint()) if warnings else []
        return Inspection(workflow, list(resources.values()), errors, reader.values, found)

    def _error(self, error: ExprError) -> None:
        self.reader.error(error)

    def _lost(self, error: ExprError) -> None:
        """Record an error that cost whole resources; checks of names would only echo it."""
        self._error(error)
        self.incomplete = True

    def _sorted(self, errors: list[ExprError]) -> list[ExprError]:
        return sorted(
            errors,
            key=lambda e: (self.file_order.get(e.where or "", -1), e.line or 0, e.column or 0),
        )

    def _value_order(self, value: ValueString) -> tuple[int, int]:
        scalar = value.site.scalar
        return (self.file_order.get(scalar.source.name, -1), scalar.start)

    # -- files ---------------------------------------------------------------------------

    def _workflow_documents(self) -> list[Node]:
        candidates = (WORKFLOW_FILE, WORKFLOW_FILE + TEMPLATE_SUFFIX)
        present = [name for name in candidates if (self.root / name).is_file()]
        if len(present) != 1:
            problem = "has both {} and {}" if present else "has no {} or {}"
            message = f"{self.shown}: the workflow folder {problem.format(*candidates)}"
            self._error(WorkflowError(message))
            return []
        known = len(self.reader.errors)
        documents = self._documents(self.root / present[0])
        if not documents and len(self.reader.errors) == known:
            shown = self.shown / present[0]
            needs = "it needs metadata with name and targetActionId"
            self._error(WorkflowError(f"{shown}: {present[0]} is empty: {needs}"))
        return documents

    def _resource_documents(self) -> list[Node]:
        folder = self.root / RESOURCES_DIR
        if not folder.is_dir():
            return []
        names = {p.name for p in folder.iterdir() if p.is_file()}
        chosen = sorted(
            name
            for name in names
            if name.endswith(YAML_SUFFIXES)
            or (name.endswith(TEMPLATE_SUFFIX) and name.removesuffix(TEMPLATE_SUFFIX) not in names)
        )
        return [document for name in chosen for document in self._documents(folder / name)]

    def _documents(self, path: Path) -> list[Node]:
        shown = str(self.shown / path.relative_to(self.root))
        self.file_order[shown] = len(self.file_order)
        try:
            text = path.read_text(encoding="utf-8-sig")  # a BOM would shift every position
        except (OSError, UnicodeDecodeError) as exc:
            self._lost(WorkflowError(f"{shown}: cannot read the file: {exc}"))
            return []
        try:
            if path.name.endswith(TEMPLATE_SUFFIX):
                text = render_j2(SourceFile(shown, text), self.reader.engine.functions)
            return load_documents(SourceFile(shown, text))
        except WorkflowError as exc:
            self._lost(exc)
            return []

    # -- documents -----------------------------------------------------------------------

    def _header(self, document: YamlMapping) -> Header:
        own = YamlMapping(
            document.source,
            document.start,
            {key: entry for key, entry in document.entries.items() if key != "resources"},
        )
        for error in check_document(own, "workflow", "workflow.yaml"):
            self._error(error)
        header = read_header(document, self.reader)
        if header.delimiters is not None and header.delimiters != self.reader.engine.delimiters:
            base = self.reader.engine
            self.reader.engine = Engine(
                functions=base.functions,
                delimiters=header.delimiters,
                limits=base.limits,
                hot_after=base.hot_after,
            )
        return header

    def _inline(self, node: Node | None) -> list[Node]:
        """workflow.yaml's ``resources:`` list (KDeps' inline resources)."""
        if node is None or (isinstance(node, Scalar) and node.value is None):
            return []
        if not isinstance(node, Sequence):
            self._error(node.error("resources must be a list of resources"))
            return []
        return list(node.items)

    def _resource(self, document: Node) -> Draft | None:
        if not isinstance(document, YamlMapping):
            self._lost(document.error("a resource must be a mapping"))
            return None
        for error in check_document(document, "resource", "a resource"):
            self._error(error)
        draft = read_resource(document, self.reader)
        if draft is None:
            self.incomplete = True
        return draft

    # -- across resources ----------------------------------------------------------------

    def _link(self, drafts: list[Draft]) -> dict[str, Resource]:
        """Index resources by actionId; report duplicates, unknown requires and cycles."""
        by_id: dict[str, Draft] = {}
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

    def _cycles(self, by_id: Mapping[str, Draft]) -> None:
        """Report each ``requires`` cycle once, at the entry that closes it."""
        state: dict[str, int] = {}  # 1: on the current path, 2: finished
        for start in by_id:
            if start in state:
                continue
            path = [start]
            state[start] = 1
            stack = [iter(_edges(by_id[start], by_id))]
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
                    stack.append(iter(_edges(by_id[name], by_id)))

    def _check_targets(self, header: Header, resources: Mapping[str, Resource]) -> None:
        if self.incomplete:
            return
        target = header.metadata.get("targetActionId")
        if target and target not in resources and header.target_node is not None:
            self._error(header.target_node.error(_unknown("targetActionId", target, resources)))
        for route, entry in header.routes:
            node = entry.get("actionId")
            if node is not None and route.action_id not in resources:
                self._error(node.error(_unknown("route actionId", route.action_id, resources)))


def _edges(draft: Draft, by_id: Mapping[str, Draft]) -> list[tuple[str, Scalar]]:
    pairs = zip(draft.resource.requires, draft.requires_nodes, strict=True)
    return [(name, scalar) for name, scalar in pairs if name in by_id]


def _deduplicated(errors: list[ExprError]) -> list[ExprError]:
    """One error per character of a file: a mistake two checks see is reported once."""
    seen: set[tuple[str | None, int | None, int | None]] = set()
    kept: list[ExprError] = []
    for error in errors:
        place = (error.where, error.line, error.column)
        if error.line is None or place not in seen:
            seen.add(place)
            kept.append(error)
    return kept


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listing = ", ".join(names) if names else "none"
    return f"unknown {what} {name!r}{hint} (resources: {listing})"
