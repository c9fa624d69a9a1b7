"""JSON Schema (draft 2020-12) of rule files and list files, generated from the model.

The rule schema is built from :data:`~.model.RULE_KEYS` and the primitive registry: ``pattern``
is a ``oneOf`` with one branch per kind (``kind`` as a constant, its parameters typed by their
:class:`~.primitives.base.ParamSpec`, durations as pattern-checked text). Editors that speak
yaml-language-server validate and complete rule files with it; the loader stays the authority
(expressions, lists and cross-parameter checks are beyond a schema).

>>> schema = rules_json_schema({})
>>> schema["$schema"], sorted(schema["required"])
('https://json-schema.org/draft/2020-12/schema', ['description', 'family', 'id', 'pattern'])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finintel.typology.model import (
    ID_PATTERN,
    LIST_KEYS,
    LIST_NAME_PATTERN,
    RULE_KEYS,
    SCOPE_KEYS,
    KeySpec,
    json_value,
)
from finintel.typology.primitives.base import ParamSpec, Primitive

__all__ = ["DURATION_PATTERN", "list_json_schema", "rules_json_schema"]

#: What :func:`finintel.yamlpos.parse_duration` reads: ``7d``, ``36h``, ``2d 4h``, ``1.5h``.
DURATION_PATTERN = r"^\s*(\d+(\.\d+)?\s*[wdhmsWDHMS]\s*)+$"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_EXPRESSION_DOC = "an expression (docs/expressions.md)"


def _key_schema(name: str, spec: KeySpec) -> dict[str, Any]:
    out: dict[str, Any]
    t = spec.type
    if t == "text":
        out = {"type": "string", "minLength": 1}
        if name == "id":
            out["pattern"] = ID_PATTERN.pattern
        elif name == "list":
            out["pattern"] = LIST_NAME_PATTERN.pattern
    elif t == "int":
        out = {"type": "integer"}
        if spec.minimum is not None:
            out["minimum"] = spec.minimum
    elif t == "texts":
        out = {"type": ["array", "string"], "items": {"type": "string"}}
    elif t == "choice":
        out = {"enum": list(spec.choices)}
    elif t == "choices":
        choices = list(spec.choices)
        out = {"anyOf": [{"enum": choices}, {"type": "array", "items": {"enum": choices}}]}
    elif t == "expression":
        out = {"type": "string", "minLength": 1}
    elif t == "date":
        out = {"type": "string", "format": "date"}
    elif t == "values":
        out = {"type": "array", "items": {"type": ["string", "number"]}}
    else:
        out = {"type": "object"}
    description = spec.doc + (f"; {_EXPRESSION_DOC}" if t == "expression" else "")
    if description:
        out["description"] = description
    if spec.default not in (None, ()):
        out["default"] = spec.default
    return out


def _param_schema(spec: ParamSpec) -> dict[str, Any]:
    out: dict[str, Any]
    t = spec.type
    if t == "int":
        out = {"type": "integer"}
    elif t == "number":
        out = {"type": "number"}
    elif t == "duration":
        out = {"type": "string", "pattern": DURATION_PATTERN}
    elif t == "bool":
        out = {"type": "boolean"}
    elif t == "string":
        out = {"enum": list(spec.choices)} if spec.choices else {"type": "string"}
    elif t == "strings":
        item: dict[str, Any] = {"type": "string"}
        if spec.choices:
            item = {"anyOf": [{"enum": list(spec.choices)}, {"pattern": r"^\$[a-z][a-z0-9_]*$"}]}
        out = {"type": ["array", "string"], "items": item}
    elif t in ("expression", "file"):
        out = {"type": "string", "minLength": 1}
    else:  # a primitive's own type (e.g. a mapping of measures): checked by the loader
        out = {}
    if spec.minimum is not None and t in ("int", "number"):
        out["minimum"] = spec.minimum
    doc = spec.doc
    if t == "duration":
        doc = f"{doc} (a duration like '7d', '36h' or '90m')" if doc else "a duration"
    elif t == "expression":
        doc = f"{doc} ({_EXPRESSION_DOC})" if doc else _EXPRESSION_DOC
    elif t == "file":
        doc = f"{doc} (a path relative to the rule file or a lists/ folder)"
    elif t not in ("int", "number", "bool", "string", "strings"):
        doc = f"{doc} ({t})" if doc else t
    if doc:
        out["description"] = doc
    if spec.default is not None:
        out["default"] = json_value(spec.default)
    return out


def _kind_schema(kind: str, prim: Primitive) -> dict[str, Any]:
    properties: dict[str, Any] = {"kind": {"const": kind}}
    required = ["kind"]
    for name, spec in prim.params.items():
        properties[name] = _param_schema(spec)
        if spec.required:
            required.append(name)
    out: dict[str, Any] = {
        "title": kind,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    doc = str(getattr(prim, "doc", "") or "")
    if doc:
        out["description"] = doc
    return out


def rules_json_schema(kinds: Mapping[str, Primitive] | None = None) -> dict[str, Any]:
    """The JSON Schema of a rule file; ``kinds`` defaults to the primitive registry."""
    if kinds is None:
        from finintel.typology.loader import registry

        kinds = registry()
    defs = {f"pattern_{k}": _kind_schema(k, kinds[k]) for k in sorted(kinds)}
    pattern: dict[str, Any]
    if defs:
        pattern = {
            "description": "kind: a primitive, and its parameters",
            "type": "object",
            "required": ["kind"],
            "properties": {"kind": {"enum": sorted(kinds)}},
            "oneOf": [{"$ref": f"#/$defs/{name}"} for name in defs],
        }
    else:
        pattern = {
            "type": "object",
            "required": ["kind"],
            "properties": {"kind": {"type": "string"}},
        }
    scope = {
        "description": RULE_KEYS["scope"].doc,
        "type": "object",
        "properties": {k: _key_schema(k, s) for k, s in SCOPE_KEYS.items()},
        "additionalProperties": False,
    }
    properties: dict[str, Any] = {}
    for name, spec in RULE_KEYS.items():
        if name == "pattern":
            properties[name] = pattern
        elif name == "scope":
            properties[name] = scope
        else:
            properties[name] = _key_schema(name, spec)
    schema: dict[str, Any] = {
        "$schema": _DRAFT,
        "$id": "urn:finintel:typology-rule",
        "title": "finintel typology rule",
        "description": "One typology per file (rules/typologies/**/*.yaml); see docs/typologies.md.",
        "type": "object",
        "properties": properties,
        "required": [k for k, s in RULE_KEYS.items() if s.required],
        "additionalProperties": False,
    }
    if defs:
        schema["$defs"] = defs
    return schema


def list_json_schema() -> dict[str, Any]:
    """The JSON Schema of a list file (``rules/lists/*.yaml``)."""
    return {
        "$schema": _DRAFT,
        "$id": "urn:finintel:typology-list",
        "title": "finintel named list",
        "description": "A list of values used as $name in rule expressions; see docs/typologies.md.",
        "type": "object",
        "properties": {k: _key_schema(k, s) for k, s in LIST_KEYS.items()},
        "required": [k for k, s in LIST_KEYS.items() if s.required],
        "additionalProperties": False,
    }
