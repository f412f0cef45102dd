"""A county CPPCC host embedding qiandao: its own rules, an SQLite file, a JSON API.

Run: ``python examples/county_host.py [DB_URL]``. Shows how a host wires the service (store,
clock, rules, notifier, hasher, credential delivery), signs people in, turns each JSON request
into ``authenticate`` (the session token names the actor, never the request body) and a
command, and answers with ``qiandao.json.to_json`` and each error's own ``http_status``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from qiandao import AuditQuery, Qiandao, QiandaoError, Role, RuleSet, request_context
from qiandao.json import to_json
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.clock import SystemClock
from qiandao_adapters.delivery import RecordingDelivery
from qiandao_adapters.notifiers import LoggingNotifier
from qiandao_adapters.sql import SqlStore, upgrade

HERE = Path(__file__).parent
PUTUO = "zhoushan.putuo"


def build_service(url: str, phones: RecordingDelivery) -> Qiandao:
    """The composition root: the one place where ports meet adapters."""
    upgrade(url)  # create or migrate the schema (Alembic)
    rules = {"zhoushan": RuleSet.zhoushan(), PUTUO: RuleSet.from_toml(HERE / "putuo.toml")}
    return Qiandao(
        # encrypted at rest with the key-encryption key in QIANDAO_KEYS (or QIANDAO_KEY_FILE);
        # in production pass keys=<your KMS KeyProvider>
        SqlStore(url),
        clock=SystemClock(),
        rules=rules,
        notifier=LoggingNotifier(),
        hasher=Argon2Hasher(),
        # initial passwords go to the person, never to the admin: plug in the SMS gateway here
        # (this example's stand-in keeps them as the people's handsets would)
        credential_delivery=phones,
    )


def handle(qd: Qiandao, token: str, request: dict[str, Any]) -> dict[str, Any]:
    """A tiny request dispatcher, as a web handler would do it: results go out as
    ``qiandao.json.to_json`` gives them, refusals with their own ``http_status``.

    The actor comes from the session token on every request (``authenticate``), and every
    command checks it again against the stored account. The request's source address, client
    and id go into the audit record of whatever the command does (``request_context``).
    """
    with request_context(
        source_address=request.get("ip"), client="putuo-portal/1.0", request_id=request.get("id")
    ):
        return _handle(qd, token, request)


def _handle(qd: Qiandao, token: str, request: dict[str, Any]) -> dict[str, Any]:
    try:
        actor = qd.authenticate(token)
        if request["op"] == "submit":
            item = qd.submit_new(actor, request["payload"], idempotency_key=request.get("key"))
            return {"status": 201, "item": to_json(item)}
        if request["op"] == "inbox":
            return {"status": 200, "items": to_json(qd.inbox(actor))}
        return {"status": 400, "error": {"code": "op.unknown"}}
    except QiandaoError as error:  # every code has a kind, and the kind its HTTP status
        return {"status": error.http_status, "error": error.as_dict()}


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
    print(
        json.dumps(
            handle(qd, member, {"op": "submit", "payload": good, "key": "k1", "ip": "10.8.0.21"}),
            ensure_ascii=False,
        )
    )
    bad = {"title": "", "body": "……", "category": "weather"}
    print(json.dumps(handle(qd, member, {"op": "submit", "payload": bad}), ensure_ascii=False))
    print(json.dumps(handle(qd, editor, {"op": "inbox"}), ensure_ascii=False))
    # The audit administrator (registered by the system admin like the security admin) reads
    # the audit: every command above left a record, without any content or password.
    qd.register(admin, real_name="审计管理员", phone="13905800108", role=Role.AUDIT_ADMIN)
    auditor = qd.authenticate(sign_up(qd, phones, "13905800108", "Putuo#audit2026"))
    page = qd.audit_log(auditor, AuditQuery(limit=500))
    refused = [r for r in page.records if r.outcome == "refused"]
    print("审计记录：", len(page.records), "条，其中拒绝", len(refused), "条")
    print("审计校验：", "完好" if qd.verify_audit(auditor).ok else "被篡改")


def sign_up_admin(qd: Qiandao, initial: str) -> str:
    """The first admin's sign-in with the password the installer was given, changed at once."""
    first = qd.sign_in("13905800100", initial)
    return qd.change_password(first.token, initial, "Putuo#admin2026").token


if __name__ == "__main__":
    main()
