"""A county CPPCC host embedding qiandao: its own rules, an SQLite file, a JSON API.

Run: ``QIANDAO_KEYS=$(python -m qiandao keys generate) python examples/county_host.py [DB_URL]``.
Shows how a host wires the service (store, clock, rules, notifier, hasher, credential delivery),
signs people in, turns each JSON request into ``authenticate`` (the session token names the
actor, never the request body) and a command whose arguments come from
``qiandao.json.arguments``, and answers with ``qiandao.json.to_json`` and each error's own
``http_status``: no status table or converter of its own.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from qiandao import AuditQuery, Qiandao, QiandaoError, Role, RuleSet, request_context
from qiandao.json import arguments, to_json
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.clock import SystemClock
from qiandao_adapters.delivery import RecordingDelivery
from qiandao_adapters.notifiers import LoggingNotifier
from qiandao_adapters.sql import SqlStore

HERE = Path(__file__).parent
PUTUO = "zhoushan.putuo"


def build_service(url: str, phones: RecordingDelivery) -> Qiandao:
    """The composition root: the one place where ports meet adapters."""
    rules = {"zhoushan": RuleSet.zhoushan(), PUTUO: RuleSet.from_toml(HERE / "putuo.toml")}
    return Qiandao(
        # encrypted at rest with the key-encryption key in QIANDAO_KEYS (or QIANDAO_KEY_FILE);
        # in production pass keys=<your KMS KeyProvider>
        # create=True: an embedded SQLite file is created or upgraded here; on PostgreSQL or
        # MariaDB run `python -m qiandao db upgrade --url …` at deploy time instead
        SqlStore(url, create=True),
        clock=SystemClock(),
        rules=rules,
        # notices wait in the outbox; `python -m qiandao worker --url …` sends them (claimed under
        # a lease, retried with backoff, dead-lettered after the last attempt): out of the request
        notifier=LoggingNotifier(),
        hasher=Argon2Hasher(),
        # initial passwords go to the person, never to the admin: plug in the SMS gateway here
        # (this example's stand-in keeps them as the people's handsets would)
        credential_delivery=phones,
    )


# The commands and queries this portal exposes: anything else is 404 (an allow-list, so a new
# library method is not reachable until the host decides to offer it).
EXPOSED = frozenset(
    {"submit_new", "draft", "item_detail", "my_items", "published", "inbox", "lane", "rate"}
)
CREATED = frozenset({"submit_new", "draft"})


def handle(qd: Qiandao, token: str, request: dict[str, Any]) -> dict[str, Any]:
    """One JSON request, as a web handler would run it: ``{"op": <method>, "body": {...}}``.

    The actor comes from the session token on every request (``authenticate``), never from the
    body, and every command checks it again against the stored account. The body becomes the
    method's keyword arguments through ``qiandao.json.arguments`` (every bad field named by its
    path); the result goes out as ``qiandao.json.to_json`` gives it (views carry names, dates with
    their offset, enums as ``{"code", "label"}`` and the caller's allowed actions); a refusal goes
    out as ``error.as_dict()`` with its own ``http_status``. The request's source address, client
    and id go into the audit record of whatever the command does (``request_context``).
    """
    with request_context(
        source_address=request.get("ip"), client="putuo-portal/1.0", request_id=request.get("id")
    ):
        op = request.get("op")
        if not isinstance(op, str) or op not in EXPOSED:  # a list or object is not a name
            return {"status": 404, "error": {"code": "op.unknown"}}
        try:
            actor = qd.authenticate(token)
            result = getattr(qd, op)(actor, **arguments(op, request.get("body", {})))
        except QiandaoError as error:  # every code has a kind, and the kind its HTTP status
            return {"status": error.http_status, "error": error.as_dict()}
        return {"status": 201 if op in CREATED else 200, "result": to_json(result)}


def sign_up(qd: Qiandao, phones: RecordingDelivery, phone: str, password: str) -> str:
    """A person's first sign-in with the password their phone got, changed at once: a token."""
    first = qd.sign_in(phone, phones.password_of(phone))
    return qd.change_password(first.token, phones.password_of(phone), password).token


def main() -> None:
    """Register a few people, submit through the 'API' (one good and one bad request)."""
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{Path(tempfile.mkdtemp()) / 'putuo.db'}"
    phones = RecordingDelivery()
    qd = build_service(url, phones)
    # The installer's first admin (run once on an empty store); the system admin registers the
    # security admin, then proposes the county's people, and the security admin approves them
    # (三员分立: only then do their initial passwords go to their phones).
    _, admin_password = qd.bootstrap_admin(real_name="系统管理员", phone="13905800100")
    admin = qd.authenticate(sign_up_admin(qd, admin_password))
    # Handling units are the system admin's commands (checked, audited, an event each).
    qd.add_unit(admin, "putuo-water", "普陀区水利局", PUTUO)
    qd.register(admin, real_name="安全管理员", phone="13905800109", role=Role.SECURITY_ADMIN)
    security = qd.authenticate(sign_up(qd, phones, "13905800109", "Putuo#secure2026"))
    people = {"张海": ("13905800101", Role.MEMBER), "李渔": ("13905800102", Role.EDITOR)}
    for name, (phone, role) in people.items():
        qd.register(admin, real_name=name, phone=phone, role=role, jurisdiction=PUTUO)
    for proposal in qd.grant_proposals(security, jurisdiction=PUTUO).items:
        qd.approve_grant(security, proposal.id)
    member = sign_up(qd, phones, "13905800101", "Putuo#member2026")
    editor = sign_up(qd, phones, "13905800102", "Putuo#editor2026")
    print("普陀区答复期限：", qd.rules_for(PUTUO).deadlines.reply_workdays, "个工作日")
    good = {"title": "关于桃花岛供水管网改造的建议", "body": "……", "category": "hot_issue"}
    submit = {
        "op": "submit_new",
        "body": {"data": good, "idempotency_key": "k1"},
        "ip": "10.8.0.21",
    }
    show(handle(qd, member, submit))
    bad = {"title": "", "body": "……", "category": "weather"}  # 422, every bad field by its path
    show(handle(qd, member, {"op": "submit_new", "body": {"data": bad}}))
    show(
        handle(qd, member, {"op": "lane", "body": {"lane": "preliminary"}})
    )  # 403: not the member's
    first = handle(qd, editor, {"op": "lane", "body": {"lane": "preliminary", "limit": 1}})
    show(first)  # a page: items (each with its allowed actions), total, next_cursor
    show(handle(qd, member, {"op": "my_items", "body": {"limit": 10}}))
    print("发件箱投递（生产环境由 worker 完成）：", qd.dispatch())
    # The audit administrator (registered by the system admin like the security admin) reads
    # the audit: every command above left a record, without any content or password.
    qd.register(admin, real_name="审计管理员", phone="13905800108", role=Role.AUDIT_ADMIN)
    auditor = qd.authenticate(sign_up(qd, phones, "13905800108", "Putuo#audit2026"))
    page = qd.audit_log(auditor, AuditQuery(limit=500))
    refused = [r for r in page.records if r.outcome == "refused"]
    print("审计记录：", len(page.records), "条，其中拒绝", len(refused), "条")
    print("审计校验：", "完好" if qd.verify_audit(auditor).ok else "被篡改")


def show(response: dict[str, Any]) -> None:
    """Print a response as the portal would send it."""
    print(json.dumps(response, ensure_ascii=False)[:600])


def sign_up_admin(qd: Qiandao, initial: str) -> str:
    """The first admin's sign-in with the password the installer was given, changed at once."""
    first = qd.sign_in("13905800100", initial)
    return qd.change_password(first.token, initial, "Putuo#admin2026").token


if __name__ == "__main__":
    main()
