"""The form behind each allowed action: which library method it calls and what it asks for.

The portal shows a form only for an action ``allowed_actions`` names; the fields are the
method's own parameter names, so a posted form becomes the method's keyword arguments through
``qiandao.json.arguments`` (which names every bad field) and nothing here re-checks a rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import Enum

import attrs

from qiandao import (
    AdoptionLevel,
    AssignmentCommand,
    Destination,
    FocusCategory,
    ItemCommand,
    LeaderRank,
    Rating,
)

__all__ = ["ACTION_FORMS", "DRAFT_FIELDS", "Field", "Form", "form_body", "forms_for"]


@attrs.frozen
class Field:
    """One input: ``name`` is the method's parameter; ``kind`` says how the posted text is read
    (text, textarea, int, bool, date, choice, choices, unit, units)."""

    name: str
    label: str
    kind: str = "text"
    choices: type[Enum] | None = None
    required: bool = True
    prefill: str = ""  # an ItemView attribute shown as the starting value (an edit)


@attrs.frozen
class Form:
    """A button and the inputs it needs; ``method`` is the ``Qiandao`` method it runs."""

    method: str
    label: str
    fields: tuple[Field, ...] = ()
    danger: bool = False


_REASON = Field("reason", "理由", "textarea")
_NOTE = Field("note", "意见", "textarea", required=False)
_ON = Field("on", "日期", "date")
_SHARED = Field("shared_with_units", "告知承办单位", "bool", required=False)

ACTION_FORMS: Mapping[Enum, tuple[Form, ...]] = {
    ItemCommand.EDIT_DRAFT: (
        Form(
            "edit_draft",
            "保存草稿",
            (
                Field("title", "标题", prefill="title"),
                Field("body", "正文", "textarea", prefill="body"),
            ),
        ),
    ),
    ItemCommand.SUBMIT: (Form("submit", "提交"),),
    ItemCommand.WITHDRAW: (Form("withdraw", "撤回", danger=True),),
    ItemCommand.RESUBMIT: (
        Form(
            "resubmit",
            "修改后重新提交",
            (
                Field("title", "标题", required=False, prefill="title"),
                Field("body", "正文", "textarea", required=False, prefill="body"),
            ),
        ),
    ),
    ItemCommand.PASS_PRELIMINARY: (
        Form(
            "pass_preliminary",
            "初审通过",
            (
                Field("destinations", "报送去向", "choices", Destination),
                Field("title", "编辑后标题", required=False, prefill="title"),
                Field("body", "编辑后正文", "textarea", required=False, prefill="body"),
                _NOTE,
            ),
        ),
    ),
    ItemCommand.RETURN_FOR_REVISION: (Form("return_for_revision", "退回修改", (_REASON,)),),
    ItemCommand.REJECT: (Form("reject", "不予采用", (_REASON,), danger=True),),
    ItemCommand.MERGE: (Form("merge", "合并到", (Field("into_item_id", "并入信息编号"), _NOTE)),),
    ItemCommand.APPROVE: (Form("approve", "审核通过", (_NOTE,)),),
    ItemCommand.SEND_BACK: (Form("send_back", "退回上一环节", (_REASON,), danger=True),),
    ItemCommand.SIGN: (Form("sign", "签发", (_NOTE,)),),
    ItemCommand.ASSIGN: (
        Form("assign", "交办", (Field("units", "承办单位（第一个为主办）", "units"), _NOTE)),
    ),
    ItemCommand.CLOSE: (Form("close", "办结"),),
    ItemCommand.RECORD_FEEDBACK: (
        Form(
            "record_adoption",
            "登记采用",
            (Field("level", "采用层级", "choice", AdoptionLevel), _ON, _NOTE, _SHARED),
        ),
        Form(
            "record_instruction",
            "登记批示",
            (
                Field("leader", "批示领导"),
                Field("rank", "领导层级", "choice", LeaderRank),
                _ON,
                Field("text", "批示内容", "textarea"),
                _SHARED,
            ),
        ),
        Form(
            "record_implementation",
            "登记落实",
            (_ON, Field("text", "落实情况", "textarea"), _SHARED),
        ),
    ),
    ItemCommand.SET_PUBLICATION_CONSENT: (
        Form("set_publication_consent", "设置是否公开", (Field("publish", "同意公开", "bool"),)),
    ),
    ItemCommand.RECLASSIFY: (
        Form("reclassify", "调整密级", (Field("secret", "涉密", "bool"), _REASON)),
    ),
    ItemCommand.REPORT_UP: (
        Form(
            "report_up", "报送上级政协", (Field("to_jurisdiction", "上级辖区代码", required=False),)
        ),
    ),
    AssignmentCommand.ACCEPT: (Form("accept", "签收"),),
    AssignmentCommand.DECLINE: (Form("decline", "申退", (_REASON,), danger=True),),
    AssignmentCommand.REQUEST_EXTENSION: (
        Form("request_extension", "申请延期", (Field("workdays", "延期工作日", "int"), _REASON)),
    ),
    AssignmentCommand.APPROVE_EXTENSION: (
        Form(
            "approve_extension",
            "同意延期",
            (Field("workdays", "核定工作日", "int", required=False),),
        ),
    ),
    AssignmentCommand.REFUSE_EXTENSION: (
        Form("refuse_extension", "不同意延期", (_REASON,), danger=True),
    ),
    AssignmentCommand.REASSIGN: (Form("reassign", "改派", (Field("unit_id", "改派给", "unit"),)),),
    AssignmentCommand.OVERRULE: (Form("overrule", "不同意申退", (_REASON,), danger=True),),
    AssignmentCommand.REPLY: (Form("reply", "书面答复", (Field("text", "答复内容", "textarea"),)),),
    AssignmentCommand.REHANDLE: (Form("order_rehandle", "要求重新办理", (_REASON,)),),
    AssignmentCommand.CANCEL: (Form("cancel_assignment", "撤销交办", (_REASON,), danger=True),),
    ItemCommand.RATE: (Form("rate", "评价", (Field("rating", "评价", "choice", Rating),)),),
}

DRAFT_FIELDS: tuple[Field, ...] = (
    Field("title", "标题"),
    Field("body", "正文", "textarea"),
    Field("category", "信息类别（第四条）", "choice", FocusCategory),
    Field("sector", "界别", required=False),
    Field("urgent", "紧急（急件优先处理）", "bool", required=False),
    Field("secret", "涉密（不公开，第十四条）", "bool", required=False),
    Field("publish", "同意录用后在系统内公开（第十四条）", "bool", required=False),
)
"""The submission form's fields: ``DraftInput``'s, read the same way as an action's."""


def forms_for(command: Enum) -> tuple[Form, ...]:
    """The forms of an allowed command (none for one the portal does not offer, e.g.
    ``all_replied``, which the library runs by itself)."""
    return ACTION_FORMS.get(command, ())


_NUMBER = re.compile(r"-?[0-9]{1,9}")  # ASCII only: ``str.isdigit`` admits ``²``, which int refuses


def form_body(fields: Sequence[Field], posted: Mapping[str, Sequence[str]]) -> dict[str, object]:
    """The JSON body a posted form stands for: each field read by its kind, an empty optional
    field left out (the method's default applies). Anything malformed is passed on as text,
    for ``qiandao.json.arguments`` to name by its path."""
    body: dict[str, object] = {}
    for field in fields:
        values = [v.strip() for v in posted.get(field.name, ())]
        first = values[0] if values else ""
        if field.kind == "bool":
            body[field.name] = first in {"on", "true", "1", "yes"}
        elif field.kind == "choices":
            body[field.name] = [v for v in values if v]
        elif field.kind == "units":
            chosen = [v for v in values if v]
            lead = (posted.get("lead") or [""])[0]
            lead = lead if lead in chosen else (chosen[0] if chosen else "")
            body[field.name] = [[unit, unit == lead] for unit in chosen]
        elif not first and not field.required:
            continue
        elif field.kind == "int":
            body[field.name] = int(first) if _NUMBER.fullmatch(first) else first
        else:
            body[field.name] = first
    return body
