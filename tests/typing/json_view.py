"""What the JSON module returns: JSON-native data, structured values, schemas."""

from __future__ import annotations

from typing import Any, assert_type

from qiandao import (
    DraftInput,
    ErrorKind,
    FieldProblem,
    QiandaoError,
    RoleGrant,
    from_json,
    schema,
    schemas,
    to_json,
)
from qiandao.json import JSON, arguments


def json_forms(error: QiandaoError, body: dict[str, Any]) -> None:
    assert_type(to_json(error), JSON)
    assert_type(error.as_dict(), dict[str, Any])
    assert_type(error.kind, ErrorKind)
    assert_type(error.http_status, int)
    assert_type(error.field, str)
    assert_type(error.errors, tuple[FieldProblem, ...])
    assert_type(from_json(body, DraftInput), DraftInput)
    assert_type(from_json(body, RoleGrant), RoleGrant)
    assert_type(schema("draft"), dict[str, Any])
    assert_type(schemas(), dict[str, dict[str, Any]])
    assert_type(arguments("draft", body), dict[str, Any])
