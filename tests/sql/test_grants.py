"""One person, several roles: grants, their selection, revocation, history (第九、十六、十七条)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from qiandao import (
    Account,
    AccountEvent,
    AccountEventKind,
    AccountView,
    Actor,
    AdoptionLevel,
    LeaderRank,
    Qiandao,
    Role,
    RoleGrant,
    SignIn,
    Unit,
)
from qiandao.accounts import hash_token
from qiandao.model import Session
from qiandao.ports.store import ItemQuery, Store
from qiandao.testing import ManualClock, enrol
from qiandao.workflow.accounts import actor_of
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery
from tests.helpers import DH, ZS, FakeZzd, World, fails, make_world, refused

START = datetime(2026, 11, 26, 10, 0, tzinfo=timezone(timedelta(hours=8)))
ADMIN_PHONE = "13700137000"
SECURITY_PHONE = "13700137001"
AUDIT_PHONE = "13700137002"
PHONE = "13800138000"
PASSWORD = "Haidao#2026wind"
FAST = Argon2Hasher.fast()
MEMBER = RoleGrant(Role.MEMBER, ZS)
EDITOR = RoleGrant(Role.EDITOR, ZS)


OTHER_ADMINS = (
    Actor("a-dh", Role.SYSTEM_ADMIN, "dinghai"),
    Actor("au-dh", Role.AUDIT_ADMIN, "dinghai"),
    Actor("a", Role.AUDIT_ADMIN, "dinghai"),
    Actor("sec", Role.SECURITY_ADMIN, ZS),
    Actor("audit", Role.AUDIT_ADMIN, ZS),
)


class Office:
    """A service with the platform's signed-in 三员 (system, security and audit admins) and
    helpers to register people and grant roles (proposed, then approved: 第十九条)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = ManualClock(START)
        self.phones = RecordingDelivery()  # the people's phones: where new passwords go
        self.qd = Qiandao(
            self.store,
            clock=self.clock,
            hasher=FAST,
            identity_providers=[FakeZzd()],
            credential_delivery=self.phones,
        )
        admin, initial = self.qd.bootstrap_admin(real_name="系统管理员", phone=ADMIN_PHONE)
        first = self.qd.sign_in(ADMIN_PHONE, initial)
        signed = self.qd.change_password(first.token, initial, PASSWORD)
        assert signed.actor is not None
        self.admin: Actor = signed.actor
        self.admin_id = admin.id
        enrol(store, *OTHER_ADMINS, at=START)  # the other admins the tests act as
        self.security = self._admin("吴安全", SECURITY_PHONE, Role.SECURITY_ADMIN)
        self.auditor = self._admin("郑审计", AUDIT_PHONE, Role.AUDIT_ADMIN)

    def _admin(self, name: str, phone: str, role: Role) -> Actor:
        """A 三员 account the system admin registers directly, signed in with its own password."""
        self.qd.register(self.admin, real_name=name, phone=phone, role=role)
        initial = self.phones.password_of(phone)
        first = self.qd.sign_in(phone, initial)
        signed = self.qd.change_password(first.token, initial, PASSWORD)
        assert signed.actor is not None
        return signed.actor

    def account(self, account_id: str) -> Account:
        with self.store.unit_of_work() as uow:
            return uow.accounts.get(account_id)

    def approve(self, account_id: str) -> Account:
        """The account once the security admin approved its pending grants."""
        for proposal in self.qd.grant_proposals(self.security).items:
            if proposal.account_id == account_id:
                self.qd.approve_grant(self.security, proposal.id)
        return self.account(account_id)

    def enrol(self, **fields: Any) -> Account:
        """Register a content account (a proposal) and approve it."""
        return self.approve(self.qd.register(self.admin, **fields).id)

    def grant(
        self, account_id: str, role: Role | str, jurisdiction: str, unit_id: str | None = None
    ) -> Account:
        """Propose a grant and approve it: the account with the grant."""
        self.qd.grant_role(self.admin, account_id, role, jurisdiction, unit_id)
        return self.approve(account_id)

    def person(self, phone: str = PHONE, role: Role = Role.MEMBER) -> str:
        """A registered person whose initial password is already changed; their account id."""
        account = self.enrol(real_name="张三", phone=phone, role=role)
        initial = self.phones.password_of(phone)
        first = self.qd.sign_in(phone, initial)
        self.qd.change_password(first.token, initial, PASSWORD)
        return account.id

    def sign_in(self, phone: str = PHONE) -> SignIn:
        return self.qd.sign_in(phone, PASSWORD)

    def sign_in_with(self, password: str, phone: str = PHONE) -> SignIn:
        return self.qd.sign_in(phone, password)

    def snapshot(self, account_id: str) -> tuple[object, ...]:
        with self.store.unit_of_work() as uow:
            return uow.accounts.get(account_id), tuple(uow.accounts.events(account_id))


@pytest.fixture
def office(any_store: Store) -> Office:
    """The office on the memory store and on every SQL store."""
    return Office(any_store)


def _unchanged(office: Office, account_id: str, code: str, call: Callable[[], object]) -> None:
    """``call`` fails with ``code`` and changes neither the account nor its event log."""
    before = office.snapshot(account_id)
    fails(code, call)
    assert office.snapshot(account_id) == before


# --- signing in with one or several grants ----------------------------------------------------


def test_one_grant_signs_in_as_today(office: Office) -> None:
    person = office.person()
    signed = office.sign_in()
    assert signed.actor == Actor(person, Role.MEMBER, ZS)
    assert signed.grants == (MEMBER,)
    assert office.qd.authenticate(signed.token) == signed.actor


def test_several_grants_need_a_selection_and_every_actor_is_the_same_person(
    office: Office,
) -> None:
    person = office.person()
    account = office.grant(person, Role.EDITOR, ZS)
    assert account.grants == (MEMBER, EDITOR)
    signed = office.sign_in()
    assert (signed.actor, signed.grants) == (None, (MEMBER, EDITOR))
    fails("account.grant_required", lambda: office.qd.authenticate(signed.token))
    fails(
        "account.grant_not_held",
        lambda: office.qd.select_grant(signed.token, RoleGrant(Role.CHAIR, ZS)),
    )
    as_editor = office.qd.select_grant(signed.token, EDITOR)
    assert as_editor == Actor(person, Role.EDITOR, ZS)
    assert office.qd.authenticate(signed.token) == as_editor
    as_member = office.qd.select_grant(signed.token, MEMBER)  # switching in one session
    assert as_member == Actor(person, Role.MEMBER, ZS)
    assert office.qd.authenticate(signed.token) == as_member
    assert as_editor.account_id == as_member.account_id == person


def test_external_sign_in_offers_the_grants_too(office: Office) -> None:
    person = office.person()
    office.qd.bind_external(office.sign_in().token, "zzd", "ok:zs-1")
    office.grant(person, Role.EDITOR, ZS)
    signed = office.qd.sign_in_external("zzd", "ok:zs-1")
    assert (signed.actor, signed.grants) == (None, (MEMBER, EDITOR))
    assert office.qd.select_grant(signed.token, EDITOR) == Actor(person, Role.EDITOR, ZS)


def test_a_password_change_only_session_cannot_select(office: Office) -> None:
    account = office.enrol(real_name="李四", phone=PHONE, role="member")
    initial = office.phones.password_of(PHONE)
    office.grant(account.id, Role.EDITOR, ZS)
    first = office.qd.sign_in(PHONE, initial)
    assert first.must_change_password and first.actor is None
    fails("account.password_change_required", lambda: office.qd.select_grant(first.token, EDITOR))
    changed = office.qd.change_password(first.token, initial, PASSWORD)
    assert (changed.actor, changed.grants) == (None, (MEMBER, EDITOR))


def test_a_second_registration_of_the_same_person_is_refused(office: Office) -> None:
    office.person()
    fails(
        "account.duplicate",
        lambda: office.qd.register(office.admin, real_name="张三", phone=PHONE, role="editor"),
    )


# --- granting and revoking --------------------------------------------------------------------


def test_revoking_a_grant_ends_only_the_sessions_that_selected_it(office: Office) -> None:
    person = office.person()
    office.grant(person, Role.EDITOR, ZS)
    editing, submitting, undecided = office.sign_in(), office.sign_in(), office.sign_in()
    office.qd.select_grant(editing.token, EDITOR)
    office.qd.select_grant(submitting.token, MEMBER)
    account = office.qd.revoke_role(office.admin, person, EDITOR)
    assert account.grants == (MEMBER,)
    fails("account.session_expired", lambda: office.qd.authenticate(editing.token))
    assert office.qd.authenticate(submitting.token) == Actor(person, Role.MEMBER, ZS)
    assert office.qd.authenticate(undecided.token) == Actor(person, Role.MEMBER, ZS)
    assert office.sign_in().actor == Actor(person, Role.MEMBER, ZS)


def test_grant_refusals_change_nothing(office: Office) -> None:
    person = office.person()
    qd, admin = office.qd, office.admin
    with office.store.unit_of_work() as uow:
        uow.units.add(Unit("u-dh", "定海区交通运输局", "dinghai"))
        uow.units.add(Unit("u-zs", "市交通运输局", ZS))
        uow.commit()
    for code, call in [
        ("account.grant_held", lambda: qd.grant_role(admin, person, Role.MEMBER, ZS)),
        ("account.grant_not_held", lambda: qd.revoke_role(admin, person, EDITOR)),
        ("account.last_grant", lambda: qd.revoke_role(admin, person, MEMBER)),
        (
            "account.admin_separation",
            lambda: qd.grant_role(admin, person, Role.AUDIT_ADMIN, ZS),
        ),
        (
            "account.admin_separation",
            lambda: qd.grant_role(admin, office.admin_id, Role.EDITOR, ZS),
        ),
        ("input.invalid", lambda: qd.grant_role(admin, person, Role.HANDLING_UNIT, ZS)),
        ("input.invalid", lambda: qd.grant_role(admin, person, Role.EDITOR, ZS, "u-zs")),
        (
            "input.invalid",
            lambda: qd.grant_role(admin, person, Role.HANDLING_UNIT, ZS, "u-dh"),
        ),
        ("not_found", lambda: qd.grant_role(admin, person, Role.HANDLING_UNIT, ZS, "u-9")),
        (
            "permission.denied",
            lambda: qd.grant_role(Actor(person, Role.MEMBER, ZS), person, Role.CHAIR, ZS),
        ),
        (
            "permission.denied",
            lambda: qd.revoke_role(Actor("sec", Role.SECURITY_ADMIN, ZS), person, MEMBER),
        ),
        (
            "permission.jurisdiction",
            lambda: qd.grant_role(
                Actor("a-dh", Role.SYSTEM_ADMIN, "dinghai"), person, "editor", ZS
            ),
        ),
    ]:
        _unchanged(office, person, code, call)
        _unchanged(office, office.admin_id, code, call)
    unit_grant = office.grant(person, Role.HANDLING_UNIT, ZS, "u-zs").grants[-1]
    assert unit_grant == RoleGrant(Role.HANDLING_UNIT, ZS, "u-zs")
    qd.depart(admin, person)
    _unchanged(
        office,
        person,
        "state.invalid_transition",
        lambda: qd.grant_role(admin, person, Role.EDITOR, ZS),
    )
    _unchanged(
        office, person, "state.invalid_transition", lambda: qd.revoke_role(admin, person, MEMBER)
    )


def test_the_platform_admin_grants_in_a_county_and_the_county_admin_in_its_own(
    office: Office,
) -> None:
    person = office.person()
    county = RoleGrant(Role.MEMBER, "dinghai")
    assert office.grant(person, "member", "dinghai").grants[-1] == county
    county_admin = Actor("a-dh", Role.SYSTEM_ADMIN, "dinghai")
    _unchanged(
        office,
        person,
        "permission.jurisdiction",
        lambda: office.qd.revoke_role(county_admin, person, county),
    )


# --- an admin's scope covers the home jurisdiction and every grant ------------------------------

COUNTY = "dinghai"
CITY_SECRETARY = RoleGrant(Role.SECRETARY_GENERAL, ZS)


def _county_person_with_a_city_grant(office: Office) -> str:
    """A person whose home is the county, holding a city 秘书长 grant (besides the county one)."""
    account = office.enrol(real_name="王五", phone=PHONE, role=Role.MEMBER, jurisdiction=COUNTY)
    initial = office.phones.password_of(PHONE)
    office.grant(account.id, Role.SECRETARY_GENERAL, ZS)
    first = office.qd.sign_in(PHONE, initial)
    office.qd.change_password(first.token, initial, PASSWORD)
    return account.id


def test_a_county_admin_cannot_act_on_a_person_holding_a_city_grant(office: Office) -> None:
    person = _county_person_with_a_city_grant(office)
    qd = office.qd
    county_admin = Actor("a-dh", Role.SYSTEM_ADMIN, COUNTY)
    county_auditor = Actor("au-dh", Role.AUDIT_ADMIN, COUNTY)
    for call in (
        lambda: qd.unlock(county_admin, person),
        lambda: qd.depart(county_admin, person),
        lambda: qd.report_theft(county_admin, person),
        lambda: qd.account_history(county_auditor, person).items,
    ):
        _unchanged(office, person, "permission.jurisdiction", call)
    assert office.sign_in().grants == (RoleGrant(Role.MEMBER, COUNTY), CITY_SECRETARY)
    # the platform's auditor covers both; once the city grant is gone, the county's does too
    assert (
        qd.account_history(office.auditor, person).items[-1].kind
        is AccountEventKind.PASSWORD_CHANGED
    )
    qd.revoke_role(office.admin, person, CITY_SECRETARY)
    assert (
        qd.account_history(county_auditor, person).items[-1].kind is AccountEventKind.GRANT_REVOKED
    )
    assert qd.report_theft(county_admin, person).status.value == "locked"
    assert qd.unlock(county_admin, person).status.value == "active"
    assert qd.depart(county_admin, person).status.value == "deleted"


def test_revoking_a_county_grant_of_a_city_person_needs_the_city_scope(office: Office) -> None:
    """revoke_role and grant_role check the home jurisdiction and the grant changed."""
    person = office.person()
    county = RoleGrant(Role.MEMBER, COUNTY)
    office.grant(person, Role.MEMBER, COUNTY)
    county_admin = Actor("a-dh", Role.SYSTEM_ADMIN, COUNTY)
    _unchanged(
        office,
        person,
        "permission.jurisdiction",
        lambda: office.qd.revoke_role(county_admin, person, county),
    )
    assert office.qd.revoke_role(office.admin, person, county).grants == (MEMBER,)


# --- a 浙政钉 binding does not survive a theft report ---------------------------------------------


def test_a_thiefs_binding_is_removed_by_the_theft_report(office: Office) -> None:
    person = office.person()
    qd = office.qd
    thief = qd.sign_in(PHONE, PASSWORD)  # the thief has the password
    bound = qd.bind_external(thief.token, "zzd", "ok:thief")
    assert {i.subject for i in bound.external_ids} == {"thief"}
    assert qd.sign_in_external("zzd", "ok:thief").actor == Actor(person, Role.MEMBER, ZS)
    locked = qd.report_theft(Actor(person, Role.MEMBER, ZS), person)
    assert locked.external_ids == frozenset()
    qd.unlock(office.admin, person)
    initial = office.phones.password_of(PHONE)
    first = qd.sign_in(PHONE, initial)
    qd.change_password(first.token, initial, "Owner#2026again")
    fails("account.auth_failed", lambda: qd.sign_in_external("zzd", "ok:thief"))
    with office.store.unit_of_work() as uow:
        assert uow.accounts.by_external("zzd", "thief") is None
    history = qd.account_history(office.auditor, person).items
    assert [(e.kind, e.actor_id) for e in history[4:]] == [
        (AccountEventKind.IDENTITY_BOUND, person),
        (AccountEventKind.LOCKED, person),
        (AccountEventKind.IDENTITY_UNBOUND, person),
        (AccountEventKind.UNLOCKED, office.admin_id),
        (AccountEventKind.PASSWORD_CHANGED, person),
    ]
    # the owner binds again; binding the same identity again changes nothing
    own = qd.sign_in(PHONE, "Owner#2026again")
    qd.bind_external(own.token, "zzd", "ok:owner")
    qd.bind_external(own.token, "zzd", "ok:owner")
    assert qd.sign_in_external("zzd", "ok:owner").actor == Actor(person, Role.MEMBER, ZS)
    kinds = [e.kind for e in qd.account_history(office.auditor, person).items]
    assert kinds.count(AccountEventKind.IDENTITY_BOUND) == 2


def test_a_theft_report_without_bindings_records_no_unbinding(office: Office) -> None:
    person = office.person()
    office.qd.report_theft(office.admin, person)
    history = office.qd.account_history(office.auditor, person).items
    assert history[-1].kind is AccountEventKind.LOCKED
    assert AccountEventKind.IDENTITY_UNBOUND not in {e.kind for e in history}


# --- commission invitees are found by their grants ----------------------------------------------


def test_the_city_invites_a_county_person_holding_a_city_member_grant(office: Office) -> None:
    account = office.enrol(real_name="赵六", phone=PHONE, role=Role.MEMBER, jurisdiction=COUNTY)
    editor_account = office.enrol(real_name="钱七", phone="13800138001", role=Role.EDITOR)
    editor = Actor(editor_account.id, Role.EDITOR, ZS)
    due = (START + timedelta(days=30)).date()
    fails("not_found", lambda: office.qd.create_commission(editor, "海岛养老", [account.id], due))
    office.grant(account.id, Role.MEMBER, ZS)
    commission = office.qd.create_commission(editor, "海岛养老", [account.id], due)
    assert commission.invitee_ids == (account.id,)
    office.qd.depart(office.admin, account.id)
    fails(
        "input.invalid",
        lambda: office.qd.create_commission(editor, "海岛养老", [account.id], due),
    )


# --- the account event log --------------------------------------------------------------------


def test_every_account_change_is_an_event_the_audit_admin_alone_reads(office: Office) -> None:
    person = office.person()
    office.grant(person, Role.EDITOR, ZS)
    office.qd.revoke_role(office.admin, person, EDITOR)
    office.qd.report_theft(Actor(person, Role.MEMBER, ZS), person)
    office.qd.unlock(office.admin, person)
    history = office.qd.account_history(office.auditor, person).items
    admin, security = office.admin.account_id, office.security.account_id
    assert [(e.sequence, e.kind, e.actor_id, e.grant) for e in history] == [
        (1, AccountEventKind.REGISTERED, admin, None),
        (2, AccountEventKind.GRANT_PROPOSED, admin, MEMBER),
        (3, AccountEventKind.GRANT_APPROVED, security, MEMBER),
        (4, AccountEventKind.PASSWORD_CHANGED, person, None),
        (5, AccountEventKind.GRANT_PROPOSED, admin, EDITOR),
        (6, AccountEventKind.GRANT_APPROVED, security, EDITOR),
        (7, AccountEventKind.GRANT_REVOKED, admin, EDITOR),
        (8, AccountEventKind.LOCKED, person, None),
        (9, AccountEventKind.UNLOCKED, admin, None),
    ]
    assert all(isinstance(e, AccountEvent) and e.account_id == person for e in history)
    for reader in (office.admin, office.security, Actor(person, Role.MEMBER, ZS)):
        fails("permission.denied", functools.partial(office.qd.account_history, reader, person))
    fails(
        "permission.jurisdiction",
        lambda: office.qd.account_history(Actor("a", Role.AUDIT_ADMIN, "dinghai"), person).items,
    )
    office.qd.depart(office.admin, person)
    assert (
        office.qd.account_history(office.auditor, person).items[-1].kind
        is AccountEventKind.DEPARTED
    )
    own = office.qd.account_history(office.auditor, office.admin_id).items
    assert [(e.kind, e.actor_id) for e in own] == [
        (AccountEventKind.REGISTERED, office.admin_id),
        (AccountEventKind.PASSWORD_CHANGED, office.admin_id),
    ]


# --- self-review compares persons (第九条) -------------------------------------------------------


def _person(w: World, account_id: str, *roles: Role) -> dict[Role, Actor]:
    """A person of the city holding ``roles``: their actor per role."""
    grants = tuple(RoleGrant(r, ZS) for r in roles)
    with w.store.unit_of_work() as uow:
        uow.accounts.add(Account(account_id, 1, account_id, grants, ZS, w.clock.now()))
        uow.commit()
        account = uow.accounts.get(account_id)
    return {g.role: actor_of(account, g) for g in grants}


def _submitted(w: World, author: Actor, *coauthors: str) -> str:
    fields = {
        "title": "海岛渔民养老保险",
        "body": "渔民反映养老保险缴费年限计算不一致。",
        "category": "hot_issue",
        "coauthor_ids": list(coauthors),
    }
    return w.qd.submit_new(author, fields).id


def test_an_editor_never_reviews_what_they_wrote_as_a_member(any_store: Store) -> None:
    w = make_world(store=any_store)
    me = _person(w, "p1", Role.MEMBER, Role.EDITOR)
    item_id = _submitted(w, me[Role.MEMBER])
    for call in (
        lambda: w.qd.pass_preliminary(
            me[Role.EDITOR], item_id, destinations=["forward_to_departments"]
        ),
        lambda: w.qd.return_for_revision(me[Role.EDITOR], item_id, "请补充数据"),
        lambda: w.qd.reject(me[Role.EDITOR], item_id, "不予采用"),
    ):
        refused(w, item_id, "permission.self_review", call)
    w.qd.pass_preliminary(w.editor, item_id, destinations=["forward_to_departments"])


def test_a_chair_who_co_wrote_an_item_never_signs_it(any_store: Store) -> None:
    w = make_world(store=any_store)
    me = _person(w, "p2", Role.MEMBER, Role.CHAIR)
    item_id = _submitted(w, w.member, "p2")
    w.qd.pass_preliminary(
        w.editor, item_id, destinations=["report_to_principal_leaders_and_province"]
    )
    w.qd.approve(w.deputy, item_id)
    refused(w, item_id, "permission.self_review", lambda: w.qd.sign(me[Role.CHAIR], item_id))
    refused(
        w,
        item_id,
        "permission.self_review",
        lambda: w.qd.send_back(me[Role.CHAIR], item_id, "再议"),
    )


def test_merged_authors_never_review_or_merge_the_item(any_store: Store) -> None:
    w = make_world(store=any_store)
    me = _person(w, "p3", Role.MEMBER, Role.EDITOR, Role.DEPUTY)
    mine = _submitted(w, me[Role.MEMBER])
    target = _submitted(w, w.member)
    other = _submitted(w, w.coauthor)
    w.qd.merge(w.editor, mine, into_item_id=target)
    assert "p3" in w.load(target).merged_authors
    refused(
        w,
        target,
        "permission.self_review",
        lambda: w.qd.pass_preliminary(
            me[Role.EDITOR], target, destinations=["forward_to_departments"]
        ),
    )
    # neither into an item they are credited with, nor that item into another
    refused(
        w,
        other,
        "permission.self_review",
        lambda: w.qd.merge(me[Role.EDITOR], other, into_item_id=target),
    )
    refused(
        w,
        target,
        "permission.self_review",
        lambda: w.qd.merge(me[Role.EDITOR], target, into_item_id=other),
    )
    w.qd.pass_preliminary(w.editor, target, destinations=["forward_to_departments"])
    refused(w, target, "permission.self_review", lambda: w.qd.approve(me[Role.DEPUTY], target))


def _credit_acts(qd: Qiandao, editor: Actor, item_id: str, on: date) -> list[Callable[[], object]]:
    """The acts that earn an item's authors points: 采用, 批示, 落实, 报送上级."""
    return [
        functools.partial(qd.record_adoption, editor, item_id, AdoptionLevel.PROVINCIAL_CPPCC, on),
        functools.partial(
            qd.record_instruction,
            editor,
            item_id,
            "张某",
            LeaderRank.CITY_PRINCIPAL_LEADER,
            on,
            "请研究",
        ),
        functools.partial(qd.record_implementation, editor, item_id, on, "已落实"),
        functools.partial(qd.report_up, editor, item_id),
    ]


def test_nobody_records_credit_for_an_item_they_are_credited_with(any_store: Store) -> None:
    """A county member who is also its editor cannot record 采用/批示/落实 for, nor report up, an
    item they wrote, co-wrote or had merged in: each of those earns them points (第十一、十三条)."""
    w = make_world(store=any_store)
    grants = (RoleGrant(Role.MEMBER, DH), RoleGrant(Role.EDITOR, DH))
    with w.store.unit_of_work() as uow:
        uow.accounts.add(Account("p4", 1, "p4", grants, DH, w.clock.now()))
        uow.commit()
        account = uow.accounts.get("p4")
    member, editor = (actor_of(account, g) for g in grants)
    for people in (
        {**w.county, "member": member},  # lead author
        {**w.county, "coauthor": member},  # co-author
    ):
        item = w.issued(people)
        for call in _credit_acts(w.qd, editor, item.id, w.clock.now().date()):
            refused(w, item.id, "permission.self_review", call)
        # anyone else in the office still records and reports it
        w.qd.record_implementation(w.county["editor"], item.id, w.clock.now().date(), "已落实")
        w.qd.report_up(w.county["editor"], item.id)


def test_a_retried_submission_is_checked_for_the_acting_grant(any_store: Store) -> None:
    """An idempotency key is the person's: a retry while acting in another grant never returns
    the first item as if it were that grant's, and a role that may not submit is refused."""
    w = make_world(store=any_store)
    me = _person(w, "p5", Role.MEMBER, Role.INFO_OFFICER, Role.EDITOR)
    payload = {"title": "海岛渔民养老保险", "body": "正文", "category": "hot_issue"}
    first = w.qd.submit_new(me[Role.MEMBER], payload, idempotency_key="k1")
    assert w.qd.submit_new(me[Role.MEMBER], payload, idempotency_key="k1").id == first.id
    fails(
        "permission.denied", lambda: w.qd.submit_new(me[Role.EDITOR], payload, idempotency_key="k1")
    )
    fails(
        "store.idempotency_conflict",
        lambda: w.qd.submit_new(me[Role.INFO_OFFICER], payload, idempotency_key="k1"),
    )
    with w.store.unit_of_work() as uow:
        assert [i.id for i in uow.items.find(ItemQuery(author_id="p5"))] == [first.id]


def test_an_admin_cannot_take_over_an_active_account(office: Office) -> None:
    """Unlock is for locked accounts only: an active chair's password is never reset by the
    system admin (三员分立, 第十九条), and nothing changes."""
    chair = office.person(role=Role.CHAIR)
    _unchanged(
        office, chair, "state.invalid_transition", lambda: office.qd.unlock(office.admin, chair)
    )
    assert office.sign_in().actor is not None  # the chair's own password still works


def test_an_admin_who_unlocks_a_locked_chair_never_gets_the_new_password(office: Office) -> None:
    """The takeover, step 2 (三员分立, 第十九条): the new password goes to the chair's phone only,
    the admin gets the account alone, and the chair must change the password at first sign-in."""
    chair = office.person(role=Role.CHAIR)
    office.qd.report_theft(Actor(chair, Role.CHAIR, ZS), chair)
    before = len(office.phones.sent)
    unlocked = office.qd.unlock(office.admin, chair)
    assert isinstance(unlocked, AccountView) and unlocked.phone_masked
    assert (unlocked.status.value, unlocked.must_change_password) == ("active", True)
    (delivered,) = office.phones.sent[before:]
    assert (delivered.account_id, delivered.phone) == (chair, PHONE)
    assert delivered.password not in repr(unlocked)
    fails("account.auth_failed", office.sign_in)  # the old password no longer signs in
    first = office.qd.sign_in(PHONE, delivered.password)
    assert (first.actor, first.must_change_password) == (None, True)
    fails("account.password_change_required", lambda: office.qd.authenticate(first.token))
    changed = office.qd.change_password(first.token, delivered.password, "Chair#2026own")
    assert changed.actor == Actor(chair, Role.CHAIR, ZS)


def test_a_password_not_delivered_registers_and_unlocks_nothing(office: Office) -> None:
    chair = office.person(role=Role.CHAIR)
    office.qd.report_theft(office.admin, chair)
    sent = list(office.phones.sent)
    office.phones.fail_next()
    _unchanged(
        office, chair, "account.delivery_failed", lambda: office.qd.unlock(office.admin, chair)
    )
    other = "13800138009"
    pending = office.qd.register(office.admin, real_name="李四", phone=other, role="member")
    (proposal,) = office.qd.grant_proposals(office.security).items
    office.phones.fail_next()
    _unchanged(
        office,
        pending.id,
        "account.delivery_failed",
        lambda: office.qd.approve_grant(office.security, proposal.id),
    )
    assert office.qd.grant_proposals(office.security).items == (proposal,)  # still pending
    with office.store.unit_of_work() as uow:
        assert uow.accounts.get(pending.id).password_hash is None
        assert uow.accounts.get(chair).status.value == "locked"
    assert office.phones.sent == sent
    # without a delivery configured, no password is issued at all
    bare = Qiandao(office.store, clock=office.clock, hasher=FAST)
    _unchanged(office, chair, "account.delivery_missing", lambda: bare.unlock(office.admin, chair))
    fails(
        "account.delivery_missing",
        lambda: bare.approve_grant(office.security, proposal.id),
    )
    fails(
        "account.delivery_missing",
        lambda: bare.register(office.admin, real_name="王五", phone="13800138008", role="member"),
    )
    # delivered on the next try
    assert office.qd.unlock(office.admin, chair).status.value == "active"
    assert office.qd.approve_grant(office.security, proposal.id).state.value == "approved"
    assert [d.phone for d in office.phones.sent[len(sent) :]] == [PHONE, other]


def test_an_admin_cannot_hold_an_office_account_on_their_own_phone(office: Office) -> None:
    """Neither a second registration on the admin's own phone nor a grant to themself gives
    the system admin a role that reads content (三员分立, 第十九条)."""
    for role in (Role.EDITOR, Role.CHAIR, Role.MEMBER):
        fails(
            "account.duplicate",
            functools.partial(
                office.qd.register, office.admin, real_name="周系统", phone=ADMIN_PHONE, role=role
            ),
        )
        _unchanged(
            office,
            office.admin_id,
            "account.admin_separation",
            functools.partial(office.qd.grant_role, office.admin, office.admin_id, role, ZS),
        )


# --- sessions and passwords under attack (every store) ----------------------------------------


def test_the_job_purges_ended_sessions_and_keeps_live_ones(office: Office) -> None:
    office.person()
    idle = office.sign_in()
    busy = office.sign_in()
    office.clock.advance(minutes=20)
    office.qd.authenticate(busy.token)
    office.clock.advance(minutes=15)  # every session but ``busy`` idle for 35 minutes
    # two sessions of each of the 三员, the person's two, ``idle``; ``busy`` stays
    assert office.qd.run_due_jobs().sessions_purged == 9
    assert office.qd.run_due_jobs().sessions_purged == 0
    assert office.qd.authenticate(busy.token) == busy.actor
    fails("account.session_expired", lambda: office.qd.authenticate(idle.token))


def test_authenticate_writes_the_session_at_most_once_a_minute(office: Office) -> None:
    office.person()
    signed = office.sign_in()
    key = hash_token(signed.token)

    def stored() -> Session | None:
        with office.store.unit_of_work() as uow:
            return uow.sessions.get(key)

    first = stored()
    for _ in range(3):
        office.clock.advance(seconds=15)
        office.qd.authenticate(signed.token)
        assert stored() == first
    office.clock.advance(seconds=15)
    office.qd.authenticate(signed.token)
    seen = stored()
    assert seen is not None
    assert seen.last_seen == office.clock.now()


def test_recent_and_malformed_passwords_are_refused_with_codes_and_change_nothing(
    office: Office,
) -> None:
    person = office.person()
    token = office.sign_in().token
    token = office.qd.change_password(token, PASSWORD, "Spring#Tide27").token
    for refused_password in (PASSWORD, "Password1!", "Hai\u200bdao#2026", "Hai\ud800dao#2026"):
        _unchanged(
            office,
            person,
            "account.password_policy",
            functools.partial(office.qd.change_password, token, "Spring#Tide27", refused_password),
        )
    _unchanged(office, person, "account.auth_failed", lambda: office.sign_in_with("\udfff"))
