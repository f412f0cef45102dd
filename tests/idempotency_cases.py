"""Every command that takes an ``idempotency_key``, set up on a world, for the parametrised tests
of tests/test_idempotency_keys.py (memory) and tests/sql/test_idempotency.py (SQL stores).

A case builds what its command needs and returns ``call(actor, key, other)``: the command with
the key, ``other`` changing one argument (same key, other arguments: a conflict).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import attrs

from qiandao._core import Actor
from qiandao.model import GrantProposal, Item, RoleGrant
from qiandao.ports.store import ItemQuery
from qiandao.rules.points import AdoptionLevel, LeaderRank
from qiandao.rules.roles import Role
from qiandao.testing import enrol
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery
from tests.helpers import DH, SECURITY, ZS, World, fails, register_approved

Call = Callable[[Actor, str, bool], object]
Case = Callable[[World], tuple[Actor, Call]]
ADMIN = Actor("admin-1", Role.SYSTEM_ADMIN, ZS)
PHONES = ("13800138001", "13800138002")
DRAFT = {
    "title": "海岛渔民养老保险",
    "body": "渔民反映缴费年限计算不一致。",
    "category": "hot_issue",
}


def _text(other: bool) -> str:
    return "另一段文字" if other else "一段文字"


def _submitted(w: World) -> Item:
    return w.qd.submit_new(w.member, DRAFT)


def _passed(w: World) -> Item:
    item = _submitted(w)
    return w.qd.pass_preliminary(w.editor, item.id, destinations=["forward_to_departments"])


def _approved(w: World) -> Item:
    return w.qd.approve(w.deputy, _passed(w).id)


def _accounts(w: World) -> None:
    w.qd.hasher = Argon2Hasher.fast()
    w.qd.credential_delivery = RecordingDelivery()
    enrol(w.store, ADMIN, SECURITY)  # the service checks every actor against its account


def _draft(w: World) -> tuple[Actor, Call]:
    return w.member, lambda a, k, o: w.qd.draft(a, {**DRAFT, "body": _text(o)}, idempotency_key=k)


def _submit_new(w: World) -> tuple[Actor, Call]:
    def call(a: Actor, k: str, o: bool) -> object:
        return w.qd.submit_new(a, {**DRAFT, "body": _text(o)}, idempotency_key=k)

    return w.member, call


def _edit_draft(w: World) -> tuple[Actor, Call]:
    item = w.qd.draft(w.member, DRAFT)
    return w.member, lambda a, k, o: w.qd.edit_draft(a, item.id, body=_text(o), idempotency_key=k)


def _on_one_of_two(make: Callable[[World], Item], command: str, actor: str) -> Case:
    """A command whose only argument is the item: ``other`` names a second item."""

    def case(w: World) -> tuple[Actor, Call]:
        first, second = make(w), make(w)
        run = getattr(w.qd, command)
        return getattr(w, actor), lambda a, k, o: run(
            a, (second if o else first).id, idempotency_key=k
        )

    return case


def _with_reason(make: Callable[[World], Item], command: str, actor: str) -> Case:
    def case(w: World) -> tuple[Actor, Call]:
        item = make(w)
        run = getattr(w.qd, command)
        return getattr(w, actor), lambda a, k, o: run(a, item.id, _text(o), idempotency_key=k)

    return case


def _pass_preliminary(w: World) -> tuple[Actor, Call]:
    item = _submitted(w)

    def call(a: Actor, k: str, o: bool) -> object:
        where = iter(["forward_to_departments"] if not o else ["cppcc_leaders"])  # one-shot
        return w.qd.pass_preliminary(a, item.id, destinations=where, idempotency_key=k)

    return w.editor, call


def _merge(w: World) -> tuple[Actor, Call]:
    source, target = _submitted(w), _submitted(w)
    return w.editor, lambda a, k, o: w.qd.merge(
        a, source.id, target.id, _text(o), idempotency_key=k
    )


def _approve(w: World) -> tuple[Actor, Call]:
    item = _passed(w)
    return w.deputy, lambda a, k, o: w.qd.approve(a, item.id, note=_text(o), idempotency_key=k)


def _sign(w: World) -> tuple[Actor, Call]:
    item = _approved(w)
    return w.head, lambda a, k, o: w.qd.sign(a, item.id, _text(o), idempotency_key=k)


def _assign(w: World) -> tuple[Actor, Call]:
    item = w.issued()
    return w.editor, lambda a, k, o: w.qd.assign(
        a, item.id, [("u-a", True)], note=_text(o), idempotency_key=k
    )


def _on_assignment(command: str, *arguments: Any) -> Case:
    """A unit's command on its assignment; ``other`` changes the free text."""

    def case(w: World) -> tuple[Actor, Call]:
        item, (assignment,) = w.accepted() if command != "decline" else w.assigned()
        run = getattr(w.qd, command)
        return w.unit("u-a"), lambda a, k, o: run(
            a, item.id, assignment.id, *arguments, _text(o), idempotency_key=k
        )

    return case


def _office_on_assignment(command: str, step: str = "", *arguments: Any) -> Case:
    """The office's command on a unit's assignment after the unit's ``step`` (if any);
    ``other`` changes the free text."""

    def case(w: World) -> tuple[Actor, Call]:
        item, (assignment,) = w.assigned()
        unit = w.unit("u-a")
        if step == "decline":
            w.qd.decline(unit, item.id, assignment.id, "不属本单位职责")
        elif step == "request_extension":
            w.qd.accept(unit, item.id, assignment.id)
            w.qd.request_extension(unit, item.id, assignment.id, 5, "需要调研")
        run = getattr(w.qd, command)
        return w.editor, lambda a, k, o: run(
            a, item.id, assignment.id, *arguments, _text(o), idempotency_key=k
        )

    return case


def _reassign(w: World) -> tuple[Actor, Call]:
    item, (assignment,) = w.assigned()
    w.qd.decline(w.unit("u-a"), item.id, assignment.id, "不属本单位职责")
    return w.editor, lambda a, k, o: w.qd.reassign(
        a, item.id, assignment.id, "u-c" if o else "u-b", idempotency_key=k
    )


def _approve_extension(w: World) -> tuple[Actor, Call]:
    item, (assignment,) = w.accepted()
    w.qd.request_extension(w.unit("u-a"), item.id, assignment.id, 5, "需要调研")
    return w.editor, lambda a, k, o: w.qd.approve_extension(
        a, item.id, assignment.id, 3 if o else 5, idempotency_key=k
    )


def _accept(w: World) -> tuple[Actor, Call]:
    (first, (a1,)), (second, (a2,)) = w.assigned(), w.assigned()
    return w.unit("u-a"), lambda a, k, o: w.qd.accept(
        a, (second if o else first).id, (a2 if o else a1).id, idempotency_key=k
    )


def _resubmit(w: World) -> tuple[Actor, Call]:
    item = _submitted(w)
    w.qd.return_for_revision(w.editor, item.id, "请补充数据")
    return w.member, lambda a, k, o: w.qd.resubmit(a, item.id, body=_text(o), idempotency_key=k)


def _unlock(w: World) -> tuple[Actor, Call]:
    _accounts(w)
    people = [
        register_approved(w.qd, ADMIN, real_name="张三", phone=p, role="member") for p in PHONES
    ]
    for person in people:
        w.qd.report_theft(ADMIN, person.id)
    return ADMIN, lambda a, k, o: w.qd.unlock(a, people[o].id, idempotency_key=k)


def _adoption(w: World) -> tuple[Actor, Call]:
    item = w.issued()
    return w.editor, lambda a, k, o: w.qd.record_adoption(
        a, item.id, AdoptionLevel.CITY_CPPCC, date(2026, 3, 2), _text(o), idempotency_key=k
    )


def _instruction(w: World) -> tuple[Actor, Call]:
    item = w.issued()
    return w.editor, lambda a, k, o: w.qd.record_instruction(
        a, item.id, "王某", LeaderRank.CITY_LEADER, date(2026, 3, 2), _text(o), idempotency_key=k
    )


def _implementation(w: World) -> tuple[Actor, Call]:
    item = w.issued()
    return w.editor, lambda a, k, o: w.qd.record_implementation(
        a, item.id, date(2026, 3, 2), _text(o), idempotency_key=k
    )


def _consent(w: World) -> tuple[Actor, Call]:
    item = w.issued()
    return w.member, lambda a, k, o: w.qd.set_publication_consent(a, item.id, o, idempotency_key=k)


def _reclassify(w: World) -> tuple[Actor, Call]:
    item = w.issued()
    return w.editor, lambda a, k, o: w.qd.reclassify(a, item.id, True, _text(o), idempotency_key=k)


def _report_up(w: World) -> tuple[Actor, Call]:
    first, second = w.issued(w.county), w.issued(w.county)
    return w.county["editor"], lambda a, k, o: w.qd.report_up(
        a, (second if o else first).id, idempotency_key=k
    )


def _commission(w: World) -> tuple[Actor, Call]:
    return w.editor, lambda a, k, o: w.qd.create_commission(
        a, _text(o), ["m1", "m2"], date(2026, 3, 31), idempotency_key=k
    )


def _register(w: World) -> tuple[Actor, Call]:
    _accounts(w)
    return ADMIN, lambda a, k, o: w.qd.register(
        a, real_name="张三", phone=PHONES[o], role="member", idempotency_key=k
    )


def _on_account(command: str, *arguments: Any) -> Case:
    """An admin's command on an account; ``other`` names a second account."""

    def case(w: World) -> tuple[Actor, Call]:
        _accounts(w)
        run = getattr(w.qd, command)
        return ADMIN, lambda a, k, o: run(a, ("m2" if o else "m1"), *arguments, idempotency_key=k)

    return case


def _revoke_role(w: World) -> tuple[Actor, Call]:
    _accounts(w)
    extra = RoleGrant(Role.EDITOR, ZS)
    for person in ("m1", "m2"):
        proposal = w.qd.grant_role(ADMIN, person, extra.role, extra.jurisdiction)
        w.qd.approve_grant(SECURITY, proposal.id)
    return ADMIN, lambda a, k, o: w.qd.revoke_role(
        a, ("m2" if o else "m1"), extra, idempotency_key=k
    )


def _proposals(w: World) -> list[GrantProposal]:
    """Pending proposals of an editor grant for m1 and m2."""
    _accounts(w)
    return [w.qd.grant_role(ADMIN, person, Role.EDITOR, ZS) for person in ("m1", "m2")]


def _approve_grant(w: World) -> tuple[Actor, Call]:
    proposals = _proposals(w)
    return SECURITY, lambda a, k, o: w.qd.approve_grant(a, proposals[o].id, idempotency_key=k)


def _reject_grant(w: World) -> tuple[Actor, Call]:
    proposals = _proposals(w)
    return SECURITY, lambda a, k, o: w.qd.reject_grant(
        a, proposals[0].id, _text(o), idempotency_key=k
    )


def _set_password_policy(w: World) -> tuple[Actor, Call]:
    _accounts(w)
    base = w.qd.password_policy(ZS)
    tighter = [attrs.evolve(base, min_length=base.min_length + n) for n in (2, 4)]
    return SECURITY, lambda a, k, o: w.qd.set_password_policy(a, ZS, tighter[o], idempotency_key=k)


CASES: dict[str, Case] = {
    "draft": _draft,
    "submit_new": _submit_new,
    "edit_draft": _edit_draft,
    "submit": _on_one_of_two(lambda w: w.qd.draft(w.member, DRAFT), "submit", "member"),
    "withdraw": _on_one_of_two(lambda w: w.qd.draft(w.member, DRAFT), "withdraw", "member"),
    "pass_preliminary": _pass_preliminary,
    "return_for_revision": _with_reason(_submitted, "return_for_revision", "editor"),
    "reject": _with_reason(_submitted, "reject", "editor"),
    "merge": _merge,
    "approve": _approve,
    "send_back": _with_reason(_passed, "send_back", "deputy"),
    "sign": _sign,
    "assign": _assign,
    "decline": _on_assignment("decline"),
    "accept": _accept,
    "resubmit": _resubmit,
    "cancel_assignment": _office_on_assignment("cancel_assignment"),
    "overrule": _office_on_assignment("overrule", "decline"),
    "reassign": _reassign,
    "approve_extension": _approve_extension,
    "refuse_extension": _office_on_assignment("refuse_extension", "request_extension"),
    "unlock": _unlock,
    "request_extension": _on_assignment("request_extension", 5),
    "reply": _on_assignment("reply"),
    "record_adoption": _adoption,
    "record_instruction": _instruction,
    "record_implementation": _implementation,
    "set_publication_consent": _consent,
    "reclassify": _reclassify,
    "report_up": _report_up,
    "create_commission": _commission,
    "register": _register,
    "report_theft": _on_account("report_theft"),
    "depart": _on_account("depart"),
    "grant_role": _on_account("grant_role", Role.EDITOR, ZS),
    "revoke_role": _revoke_role,
    "approve_grant": _approve_grant,
    "reject_grant": _reject_grant,
    "set_password_policy": _set_password_policy,
}


# Commands that, run twice with the same arguments and no key, change nothing the second time
# (the record of that level, the consent or the secrecy is already there): their keys still
# return the first outcome, but there is no repeat for a control test to see.
SAME_TWICE = frozenset(
    {
        "record_adoption",
        "record_implementation",
        "record_instruction",
        "reclassify",
        "set_publication_consent",
    }
)


def runs_once(w: World, command: str) -> None:
    """A retry with the same key returns the first outcome and changes nothing; the same key
    with other arguments is ``store.idempotency_conflict`` and changes nothing either."""
    actor, call = CASES[command](w)
    first = call(actor, "k", False)
    before = snapshot(w)
    assert call(actor, "k", False) == first
    assert snapshot(w) == before
    fails("store.idempotency_conflict", lambda: call(actor, "k", True))
    assert snapshot(w) == before


def snapshot(w: World) -> object:
    """Everything a command may append or change: items, events, outbox, commissions, accounts,
    account events, and the idempotency keys of the people in the cases."""
    people = ["m1", "m2", "e1", "d1", "h1", "dh-e1", "ua", ADMIN.account_id, SECURITY.account_id]
    with w.store.unit_of_work() as uow:
        items = uow.items.find(ItemQuery())
        return (
            items,
            [uow.events.for_item(item.id) for item in items],
            uow.outbox.pending(10_000),
            uow.commissions.list(),
            [uow.accounts.get(a) for a in ("m1", "m2")],
            [uow.accounts.events(a) for a in ("m1", "m2")],
            [uow.accounts.by_phone(phone) for phone in PHONES],
            [uow.idempotency.get(f"{p}:k") for p in people],
            [uow.units.list(j) for j in (ZS, DH)],
            [uow.accounts.proposals(j, None) for j in (ZS, DH)],
            [uow.accounts.policy_changes(j) for j in (ZS, DH)],
        )
