"""The API's documentation page, drawn by the platform from its own OpenAPI document: nothing
from a CDN, readable without JavaScript, and never out of step with what is served."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("api_docs", __name__)

METHODS = ("get", "post", "put", "patch", "delete")


def _spec() -> dict[str, Any]:
    api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    return api.spec.to_dict()


def _operations(spec: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The operations grouped by tag, in the document's order of tags."""
    groups: dict[str, list[dict[str, Any]]] = {tag["name"]: [] for tag in spec.get("tags", [])}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
            for tag in operation.get("tags", ["other"]):
                groups.setdefault(tag, []).append(
                    {
                        "id": f"{method}-{path}".replace("/", "-").strip("-"),
                        "method": method.upper(),
                        "path": path,
                        "summary": operation.get("summary", ""),
                        "description": operation.get("description", ""),
                        "parameters": parameters,
                        "request": operation.get("requestBody"),
                        "responses": operation.get("responses", {}),
                        "secured": any(operation.get("security", [{}])),
                    }
                )
    return [(tag, operations) for tag, operations in groups.items() if operations]


def schema_name(schema: dict[str, Any] | None) -> str:
    """`#/components/schemas/Campaign` -> `Campaign`, for a response or a body."""
    if not schema:
        return ""
    reference = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
    return reference.rsplit("/", 1)[-1]


@bp.route("/api/v1/docs")
def docs() -> ResponseReturnValue:
    spec = _spec()
    descriptions = {tag["name"]: tag.get("description", "") for tag in spec.get("tags", [])}
    return render_template(
        "api/docs.html",
        spec=spec,
        groups=_operations(spec),
        descriptions=descriptions,
        schemas=spec.get("components", {}).get("schemas", {}),
        schema_name=schema_name,
    )
