"""Argo's variable rules for a WorkflowTemplate, checked without Argo (a test helper).

Follows ``workflow/validate/validate.go`` (argoproj/argo-workflows v4.1.2) and is stricter
where Argo defers to run time:

- outside ``templates`` and in every template: ``{{workflow.parameters.x}}`` only for
  declared arguments, plus a few ``workflow.*`` globals;
- a leaf template may use ``{{inputs.parameters.x}}`` / ``{{inputs.artifacts.a.path}}``
  only for what it declares;
- a DAG task may use ``{{tasks.t.outputs.parameters.p}}`` / ``...artifacts.a`` only when
  ``t`` exists, its template declares output ``p`` (or ``a``), and ``t`` is an ancestor
  through ``dependencies`` or ``depends`` (Argo checks this for arguments only, and a
  ``when`` on a task that has not run yet fails at run time);
- a task names an existing template and passes exactly the inputs it declares (every
  input without a default supplied, no unknown ones); dependencies exist, no cycles;
- expression tags (``{{=...}}``) are reported as unchecked rather than passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

_TAG = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_DEPENDS_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z]+)?")
# Global variables Argo always defines (a subset: the ones a template might sensibly use).
WORKFLOW_GLOBALS = frozenset(
    {"workflow.name", "workflow.namespace", "workflow.uid", "workflow.serviceAccountName", "workflow.creationTimestamp"}
)


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}[{i}]")


def _unresolved(value: Any, where: str, scope: frozenset[str] | set[str]) -> list[str]:
    errors = []
    for path, text in _strings(value, where):
        for tag in _TAG.findall(text):
            if tag.startswith("="):
                errors.append(f"{path}: expression tag {{{{{tag}}}}} is not checked")
            elif tag not in scope:
                errors.append(f"{path}: {{{{{tag}}}}} does not resolve here")
    return errors


def _names(items: Any) -> set[str]:
    return {i["name"] for i in items or [] if isinstance(i, Mapping) and "name" in i}


def _inputs(template: Mapping[str, Any]) -> set[str]:
    inputs = template.get("inputs", {})
    params = {f"inputs.parameters.{p}" for p in _names(inputs.get("parameters"))}
    return params | {f"inputs.artifacts.{a}.path" for a in _names(inputs.get("artifacts"))}


def _task_outputs(task: str, template: Mapping[str, Any]) -> set[str]:
    outputs = template.get("outputs", {})
    params = {f"tasks.{task}.outputs.parameters.{p}" for p in _names(outputs.get("parameters"))}
    return params | {f"tasks.{task}.outputs.artifacts.{a}" for a in _names(outputs.get("artifacts"))}


def _dependencies(task: Mapping[str, Any]) -> set[str]:
    names = set(task.get("dependencies") or [])
    return names | {m.split(".")[0] for m in _DEPENDS_NAME.findall(task.get("depends", ""))}


def _ancestors(name: str, deps: Mapping[str, set[str]], seen: tuple[str, ...] = ()) -> set[str]:
    if name in seen:
        raise ValueError(" -> ".join((*seen, name)))
    out: set[str] = set()
    for parent in deps.get(name, ()):
        out |= {parent} | _ancestors(parent, deps, (*seen, name))
    return out


def _arguments(where: str, task: Mapping[str, Any], target: Mapping[str, Any]) -> list[str]:
    """Task arguments against the target template's declared inputs."""
    errors = []
    for kind in ("parameters", "artifacts"):
        declared = target.get("inputs", {}).get(kind) or []
        required = {i["name"] for i in declared if not ({"value", "default", "from", "optional", "s3"} & set(i))}
        supplied = _names(task.get("arguments", {}).get(kind))
        errors += [f"{where}: input {kind[:-1]} {n!r} is not supplied" for n in sorted(required - supplied)]
        errors += [
            f"{where}: {target['name']} declares no input {kind[:-1]} {n!r}"
            for n in sorted(supplied - _names(declared))
        ]
    return errors


def _dag(template: Mapping[str, Any], templates: Mapping[str, Any], scope: set[str]) -> list[str]:
    where = f"templates.{template['name']}"
    tasks = {t["name"]: t for t in template["dag"]["tasks"]}
    deps = {name: _dependencies(task) for name, task in tasks.items()}
    errors = [f"{where}.tasks.{n}: dependency {d!r} is not a task" for n, ds in deps.items() for d in ds - set(tasks)]
    own = scope | _inputs(template)
    for name, task in tasks.items():
        at = f"{where}.tasks.{name}"
        target = templates.get(task.get("template", ""))
        if target is None:
            errors.append(f"{at}: template {task.get('template')!r} does not exist")
            continue
        try:
            ancestors = _ancestors(name, deps)
        except ValueError as cycle:
            errors.append(f"{at}: dependency cycle {cycle}")
            continue
        visible = set(own)
        for ancestor in ancestors & set(tasks):
            visible |= _task_outputs(ancestor, templates.get(tasks[ancestor].get("template", ""), {}))
        errors += _unresolved(task, at, visible) + _arguments(at, task, target)
    return errors


def check(workflow_template: Mapping[str, Any]) -> list[str]:
    """Every broken variable reference or task wiring, as ``path: problem`` lines."""
    spec = workflow_template["spec"]
    templates = {t["name"]: t for t in spec.get("templates", [])}
    declared = _names(spec.get("arguments", {}).get("parameters"))
    scope = {f"workflow.parameters.{p}" for p in declared} | WORKFLOW_GLOBALS
    errors = (
        []
        if spec.get("entrypoint") in templates
        else [f"spec.entrypoint: {spec.get('entrypoint')!r} is not a template"]
    )
    errors += _unresolved({k: v for k, v in spec.items() if k != "templates"}, "spec", scope)
    for name, template in templates.items():
        if "dag" in template:
            errors += _dag(template, templates, scope)
        else:
            errors += _unresolved(template, f"templates.{name}", scope | _inputs(template) | {"pod.name"})
    return errors
