"""A county CPPCC host embedding qiandao: its own rules, an SQLite file, a JSON-ish API.

Run: ``python examples/county_host.py [DB_URL]``. Shows how a host wires the service (store,
clock, rules, notifier, hasher, credential delivery), turns JSON requests into commands, and
maps errors to responses.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from qiandao import Actor, Qiandao, QiandaoError, Role, RuleSet, Unit
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.clock import SystemClock
from qiandao_adapters.delivery import ConsoleDelivery
from qiandao_adapters.notifiers import LoggingNotifier
from qiandao_adapters.sql import SqlStore, upgrade

HERE = Path(__file__).parent
PUTUO = "zhoushan.putuo"


def build_service(url: str) -> Qiandao:
    """The composition root: the one place where ports meet adapters."""
    upgrade(url)  # create or migrate the schema (Alembic)
    rules = {"zhoushan": RuleSet.zhoushan(), PUTUO: RuleSet.from_toml(HERE / "putuo.toml")}
    return Qiandao(
        SqlStore(url),
        clock=SystemClock(),
        rules=rules,
        notifier=LoggingNotifier(),
        hasher=Argon2Hasher(),
        # initial passwords go to the person, never to the admin: plug in the SMS gateway here
        credential_delivery=ConsoleDelivery(sys.stderr),
    )


def handle(qd: Qiandao, actor: Actor, request: dict[str, Any]) -> dict[str, Any]:
    """A tiny request dispatcher, as a web handler would do it: every refusal becomes a 4xx."""
    try:
        if request["op"] == "submit":
            item = qd.submit_new(actor, request["payload"], idempotency_key=request.get("key"))
            return {"status": 201, "id": item.id, "state": item.state.label}
        if request["op"] == "inbox":
            return {"status": 200, "items": [v.title for v in qd.inbox(actor)]}
        return {"status": 400, "error": {"code": "op.unknown"}}
    except QiandaoError as error:
        status = _STATUS.get(error.code, _STATUS.get(error.code.split(".")[0], 422))
        return {"status": status, "error": error.as_dict()}


# HTTP status by error-code family; everything else (input, state, reason…) is 422.
_STATUS = {
    "not_found": 404,
    "permission": 403,
    "store": 409,
    "store.unavailable": 503,
    "account": 401,
}


def main() -> None:
    """Register a few people, submit through the 'API' (one good and one bad request)."""
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{Path(tempfile.mkdtemp()) / 'putuo.db'}"
    qd = build_service(url)
    with qd.store.unit_of_work() as uow:
        uow.units.add(Unit("putuo-water", "普陀区水利局", PUTUO))
        uow.commit()
    member = Actor("pt-m1", Role.MEMBER, PUTUO)
    editor = Actor("pt-e1", Role.EDITOR, PUTUO)
    print("普陀区答复期限：", qd.rules_for(PUTUO).deadlines.reply_workdays, "个工作日")
    good = {"title": "关于桃花岛供水管网改造的建议", "body": "……", "category": "hot_issue"}
    print(
        json.dumps(
            handle(qd, member, {"op": "submit", "payload": good, "key": "k1"}), ensure_ascii=False
        )
    )
    bad = {"title": "", "body": "……", "category": "weather"}
    print(json.dumps(handle(qd, member, {"op": "submit", "payload": bad}), ensure_ascii=False))
    print(json.dumps(handle(qd, editor, {"op": "inbox"}), ensure_ascii=False))


if __name__ == "__main__":
    main()
