"""Encryption at rest on every SQL store: markers never in clear, tampering and shredding caught,
legacy databases encrypted in place, keys rotated online and resumed after a crash."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy import Engine, inspect, select, update

from qiandao.errors import QiandaoError
from qiandao.model import Item
from qiandao.ports.crypto import Sealed
from qiandao.ports.store import OutboxMessage
from qiandao.rules.roles import Role
from qiandao.testing.builders import sample_commission, sample_events, sample_item, sample_notice
from qiandao_adapters.crypto import KeyRing, configured_provider
from qiandao_adapters.sql import SqlStore, metadata, upgrade
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.keys import encrypt_in_place, rotate
from qiandao_adapters.sql.rows import dumps, loads
from qiandao_adapters.sql.sealing import SEALED, TEXT_SCOPE, is_sealed
from tests.helpers import fails
from tests.sql.conftest import Backend, audit_tables_for_a_while, reset_schema
from tests.sql.test_grants import Office
from tests.sql.test_migrations import _drop_everything

MARK_NAME = "甲标记人名"
MARK_PHONE = "13912345678"
# each replaces a text of ``sample_item`` / ``sample_events``: every text field gets a marker
ITEM_MARKS = {
    "关于加强海岛渔民养老保障的建议": "标题标记Q1",
    "舟山海岛渔民参保率偏低": "正文标记Q2",
    "协办意见": "答复标记Q3",
    "初审通过": "审核意见标记Q4",
    "不属于本单位职责范围": "退回理由标记Q5",
    "请市人社局研究": "反馈标记Q6",
    "张某某": "领导姓名标记Q7",
    "调整为涉密": "事件备注标记Q8",
}
NOTICE_MARK = "通知标记Q9"
TOPIC_MARK = "约稿标记QA"
REASON_MARK = "驳回理由标记QB"
MARKERS = (*ITEM_MARKS.values(), NOTICE_MARK, TOPIC_MARK, REASON_MARK, MARK_NAME, MARK_PHONE)


def _marked(value: Any, cls: type[Any]) -> Any:
    doc = dumps(value)
    for old, new in ITEM_MARKS.items():
        doc = doc.replace(old, new)
    return loads(doc, cls)


def populate(store: SqlStore) -> tuple[Office, str]:
    """Markers in every text and person field; the marked person's account id."""
    office = Office(store)
    person = office.enrol(real_name=MARK_NAME, phone=MARK_PHONE, role=Role.MEMBER).id
    item = _marked(sample_item("item-mark"), Item)
    with store.unit_of_work() as uow:
        uow.items.add(item)
        uow.events.append([_marked(e, type(e)) for e in sample_events(item)])
        notice = sample_notice("evt-mark", text=NOTICE_MARK)
        uow.outbox.add([OutboxMessage(notice, notice.at)])
        uow.commissions.add(sample_commission("commission-mark", topic=TOPIC_MARK))
        uow.commit()
    proposed = office.qd.grant_role(office.admin, person, Role.EDITOR, "zhoushan")
    assert proposed is not None
    for proposal in office.qd.grant_proposals(office.security).items:
        if proposal.account_id == person:
            office.qd.reject_grant(office.security, proposal.id, REASON_MARK)
    return office, person


def read_back(store: SqlStore, person: str) -> str:
    """Everything marked, read through the store, as one text."""
    with store.unit_of_work() as uow:
        found = [
            uow.items.get("item-mark"),
            uow.events.for_item("item-mark"),
            uow.outbox.pending(100),
            uow.commissions.get("commission-mark"),
            uow.accounts.get(person),
            uow.accounts.by_phone(MARK_PHONE),
            uow.accounts.proposals(account_id=person),
        ]
    return "".join(dumps(value) for value in found)


def raw_values(engine: Engine) -> list[str]:
    """Every value of every qiandao table, as text (``SELECT`` on the raw columns the
    database has: an older revision lacks some)."""
    found: list[str] = []
    inspector = inspect(engine)
    present = set(inspector.get_table_names())
    columns = {
        table: [table.c[c["name"]] for c in inspector.get_columns(table.name)]
        for table in metadata.sorted_tables
        if table.name in present
    }
    with engine.connect() as conn:
        for read in columns.values():
            for row in conn.execute(select(*read)):
                found.extend(str(v) for v in row)
    return found


def raw_bytes(backend: Backend) -> bytes:
    """The SQLite file and its write-ahead log as bytes (checkpointed and closed first)."""
    path = Path(backend.url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def clear_markers(backend: Backend, markers: tuple[str, ...] = MARKERS) -> list[str]:
    """The markers found in clear in the database's raw contents."""
    values = "\n".join(raw_values(backend.engine))
    found = [m for m in markers if m in values]
    if backend.name == "sqlite":
        data = raw_bytes(backend)
        found += [m for m in markers if m.encode() in data]
    return found


@pytest.fixture
def fresh(backend: Backend) -> Iterator[Backend]:
    """The backend emptied, its tables as the module made them."""
    backend.store()
    yield backend


def test_markers_never_in_clear_and_the_right_key_reads_them(fresh: Backend) -> None:
    store = SqlStore(fresh.engine)
    _, person = populate(store)
    assert clear_markers(fresh) == []
    readable = read_back(store, person)
    assert [m for m in MARKERS if m not in readable] == []


def test_wrong_or_missing_key_is_a_coded_error(
    fresh: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, person = populate(SqlStore(fresh.engine))
    provider = configured_provider()
    assert provider is not None
    other_id = SqlStore(fresh.engine, keys=KeyRing.generate(key_id="elsewhere"))
    fails("crypto.key_unknown", lambda: read_back(other_id, person))
    same_id = KeyRing.generate(key_id=provider.current_key_id, algorithm=provider.algorithm)
    fails("crypto.tampered", lambda: read_back(SqlStore(fresh.engine, keys=same_id), person))
    monkeypatch.delenv("QIANDAO_KEYS", raising=False)
    monkeypatch.delenv("QIANDAO_KEY_FILE", raising=False)
    fails("crypto.key_missing", lambda: SqlStore(fresh.engine))
    plain = SqlStore(fresh.engine, plaintext=True)
    fails("crypto.key_missing", lambda: read_back(plain, person))


def _swap(engine: Engine, table: Any, column: str, where: Any, source: Any) -> None:
    with engine.begin() as conn:
        value = conn.execute(select(table.c[column]).where(source)).scalar_one()
        conn.execute(update(table).where(where).values({column: value}))


def test_a_value_moved_to_another_row_or_column_is_tampered(fresh: Backend) -> None:
    store = SqlStore(fresh.engine)
    with store.unit_of_work() as uow:
        uow.items.add(sample_item("item-a"))
        uow.items.add(sample_item("item-b"))
        uow.commit()
    i, t = s.items, s.text_versions

    def get(item_id: str) -> Item:
        with store.unit_of_work() as uow:
            return uow.items.get(item_id)

    assert [get("item-a").id, get("item-b").id] == ["item-a", "item-b"]  # both opened once
    _swap(fresh.engine, i, "doc", i.c.id == "item-b", i.c.id == "item-a")
    fails("crypto.tampered", lambda: get("item-b"))
    assert get("item-a").id == "item-a"
    # a title moved into the body column of the same row: caught when the copy is opened
    _swap(
        fresh.engine,
        t,
        "body",
        (t.c.item_id == "item-a") & (t.c.number == 1),
        (t.c.item_id == "item-a") & (t.c.number == 1),
    )
    with fresh.engine.connect() as conn:
        row = conn.execute(
            select(t.c.item_id, t.c.number, t.c.title).where(t.c.item_id == "item-a")
        ).first()
    assert row is not None
    with store.unit_of_work() as uow:
        fails(
            "crypto.tampered",
            lambda: uow.sealer.open("qd_text_versions", "body", [row[0], row[1]], row.title),
        )


def _open_everything(store: SqlStore) -> list[str]:
    """Every sealed value opened with the keys still in the database (unopenable: skipped)."""
    opened: list[str] = []
    with store.unit_of_work() as uow:
        for name, (keys, columns) in SEALED.items():
            table = metadata.tables[name]
            for row in uow.execute(select(table)):
                m = row._mapping
                for column in columns:
                    try:
                        opened.append(
                            uow.sealer.open(name, column, [m[k] for k in keys], m[column])
                        )
                    except QiandaoError as error:
                        assert error.code == "crypto.key_unknown"
    return opened


def test_departure_shreds_the_person_key(fresh: Backend) -> None:
    store = SqlStore(fresh.engine)
    office, person = populate(store)
    office.qd.sign_in(MARK_PHONE, office.phones.password_of(MARK_PHONE))  # a session
    fails("account.auth_failed", lambda: office.qd.sign_in(MARK_PHONE, "wrong password 1"))
    with store.unit_of_work() as uow:
        sealed_doc = uow.execute(select(s.accounts.c.doc).where(s.accounts.c.id == person))
        before = str(sealed_doc.scalar_one())
        assert uow.accounts.get(person).phone == MARK_PHONE  # opened (and remembered) once
    office.qd.depart(office.admin, person)
    with store.unit_of_work() as uow:
        gone = uow.accounts.get(person)
        keys = uow.execute(select(s.data_keys.c.scope)).scalars().all()
        assert uow.accounts.by_phone(MARK_PHONE) is None
    assert gone.real_name == MARK_NAME and gone.phone is None
    assert f"person:{person}" not in keys
    assert clear_markers(fresh, (MARK_PHONE,)) == []
    opened = "".join(_open_everything(store))
    assert MARK_NAME in opened  # the live row keeps the name for attribution
    assert MARK_PHONE not in opened
    # the document as it was before departure (a dead tuple, a backup) no longer opens
    with store.unit_of_work() as uow:
        fails("crypto.key_unknown", lambda: uow.sealer.open("qd_accounts", "doc", [person], before))
    # restored into the live row (a backup put back): the store opens it afresh, and fails,
    # though it opened that very document before the departure
    with fresh.engine.begin() as conn:
        conn.execute(update(s.accounts).where(s.accounts.c.id == person).values(doc=before))
    with store.unit_of_work() as uow:
        fails("crypto.key_unknown", lambda: uow.accounts.get(person))
    # a fresh store (no cache) cannot open it either
    with SqlStore(fresh.engine).unit_of_work() as uow:
        fails("crypto.key_unknown", lambda: uow.sealer.open("qd_accounts", "doc", [person], before))


@pytest.fixture
def at_0007(backend: Backend) -> Iterator[Backend]:
    """The backend's database created by the migrations up to 0007 (before encryption)."""
    _drop_everything(backend.engine)
    upgrade(backend.engine, "0007")
    yield backend
    reset_schema(backend.engine)


def test_encrypt_in_place_seals_a_legacy_database(at_0007: Backend) -> None:
    legacy = SqlStore(at_0007.engine, plaintext=True, check_revision=False)
    with audit_tables_for_a_while(at_0007.engine):
        _, person = populate(legacy)
    assert MARK_PHONE in clear_markers(at_0007)
    upgrade(at_0007.engine)
    store = SqlStore(at_0007.engine)
    before = read_back(store, person)  # legacy clear rows, a clear phone found
    assert MARK_PHONE in before
    with store.unit_of_work() as uow:  # still writable before the command ran
        uow.items.add(sample_item("item-new"))
        uow.commit()
    batches: list[str] = []
    report = encrypt_in_place(store, batch=3, progress=lambda name, _n: batches.append(name))
    assert report.phones >= 4 and report.sealed["qd_items.doc"] == 1
    assert batches.count("qd_accounts") > 1  # more than one batch
    assert read_back(store, person) == before
    assert clear_markers(at_0007) == []
    for value in raw_values(at_0007.engine):
        assert "关于加强海岛渔民养老保障的建议" not in value
    again = encrypt_in_place(store)
    assert sum(again.sealed.values()) == 0 and again.phones == 0


def _sealed_key_ids(engine: Engine) -> set[str]:
    found: set[str] = set()
    with engine.connect() as conn:
        for name, (_, columns) in SEALED.items():
            table = metadata.tables[name]
            for column in columns:
                for value in conn.execute(select(table.c[column])).scalars():
                    if is_sealed(value):
                        found.add(Sealed.parse(value).key_id)
    return found


class Crash(Exception):
    pass


def test_rotation_online_and_resumed_after_a_crash(fresh: Backend) -> None:
    provider = configured_provider()
    assert provider is not None
    store = SqlStore(fresh.engine, keys=provider)
    _, person = populate(store)
    expected = read_back(store, person)
    with store.unit_of_work() as uow:
        old_text = uow.sealer.key_of(TEXT_SCOPE)
    # a new key-encryption key: re-wrap every data key under it
    fresh_key = KeyRing.generate(algorithm=provider.algorithm).key("local-1")
    held = {k: provider.key(k) for k in provider.key_ids}
    newer = KeyRing({**held, "kek-2": fresh_key}, current="kek-2", algorithm=provider.algorithm)
    rotated = SqlStore(fresh.engine, keys=newer)
    report = rotate(rotated)
    assert report.rewrapped >= 3 and report.kek_id == "kek-2"
    only_new = KeyRing({"kek-2": fresh_key}, current="kek-2", algorithm=provider.algorithm)
    assert read_back(SqlStore(fresh.engine, keys=only_new), person) == expected

    # re-encryption while a writer adds items; the first run crashes after two batches
    stop = threading.Event()
    written: list[str] = []
    errors: list[BaseException] = []

    def writer() -> None:
        n = 0
        try:
            while not stop.is_set():
                n += 1
                with rotated.unit_of_work() as uow:
                    uow.items.add(sample_item(f"item-w{n}"))
                    uow.commit()
                written.append(f"item-w{n}")
        except BaseException as error:  # reported below
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        calls = iter(range(1_000_000))

        def crash(_name: str, _n: int) -> None:
            if next(calls) == 1:
                raise Crash

        with pytest.raises(Crash):
            rotate(rotated, reencrypt=True, batch=2, progress=crash)
        finished = rotate(rotated, reencrypt=True, batch=2)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert finished.text_key_id is not None and finished.text_key_id != old_text
    assert sum(finished.sealed.values()) > 0
    with rotated.unit_of_work() as uow:
        text_keys = (
            uow.execute(select(s.data_keys.c.key_id).where(s.data_keys.c.scope == TEXT_SCOPE))
            .scalars()
            .all()
        )
    assert len(text_keys) == 2  # the resumed run went on with the crashed run's key
    used = _sealed_key_ids(fresh.engine)
    assert old_text not in used and finished.text_key_id in used
    assert read_back(SqlStore(fresh.engine, keys=only_new), person) == expected
    with rotated.unit_of_work() as uow:
        for item_id in written:
            assert uow.items.get(item_id).id == item_id


def test_key_commands_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from qiandao import check_audit
    from qiandao.cli import main

    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    upgrade(url, "0007")
    legacy = SqlStore(url, plaintext=True, check_revision=False)
    with audit_tables_for_a_while(legacy.engine), legacy.unit_of_work() as uow:
        uow.items.add(sample_item("item-cli"))
        uow.commit()
    legacy.dispose()
    assert main(["keys", "encrypt", "--url", url]) == 2  # no qd_data_keys before the upgrade
    assert "[input.invalid]" in capsys.readouterr().err
    assert main(["db", "upgrade", "--url", url]) == 0
    assert main(["keys", "encrypt", "--url", url]) == 0
    assert "qd_items.doc: 1" in capsys.readouterr().out
    assert main(["keys", "rotate", "--url", url, "--reencrypt"]) == 0
    audited = SqlStore(url)
    with audited.unit_of_work() as uow:
        records = uow.audit.records("00")
    assert [(r.action, r.outcome) for r in records] == [
        ("keys_encrypt", "succeeded"),
        ("keys_rotate", "succeeded"),
    ]
    assert "sealed" in records[0].entry.events and "sealed" in records[1].entry.events
    assert records[1].entry.context.client is not None  # the operator's user and host
    assert check_audit(audited).ok
    audited.dispose()
    assert main(["keys", "generate"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("kek-1=")
    monkeypatch.delenv("QIANDAO_KEYS")
    assert main(["keys", "rotate", "--url", url]) == 2
    assert "[crypto.key_missing]" in capsys.readouterr().err
    monkeypatch.setenv("QIANDAO_KEYS", line)  # another key: the data keys do not open
    store = SqlStore(url)
    with store.unit_of_work() as uow:
        fails("crypto.key_unknown", lambda: uow.items.get("item-cli"))
    store.dispose()


def test_a_key_file_is_used_when_no_variable_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qiandao_adapters.crypto import local_key_file

    path = tmp_path / "keys"
    ring = local_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert local_key_file(path).key_ids == ring.key_ids  # reused, not made again
    monkeypatch.delenv("QIANDAO_KEYS", raising=False)
    monkeypatch.setenv("QIANDAO_KEY_FILE", str(path))
    store = SqlStore(f"sqlite:///{tmp_path / 'f.db'}")
    store.create_all()
    with store.unit_of_work() as uow:
        uow.commissions.add(attrs.evolve(sample_commission(), topic=TOPIC_MARK))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.commissions.get("commission-01").topic == TOPIC_MARK
    assert isinstance(store.vault, object) and ring.algorithm == "SM4-GCM"
    store.dispose()


def test_downgrade_below_0008_is_refused_once_a_key_exists(at_0007: Backend) -> None:
    from tests.sql.test_migrations import _at_revision

    engine = at_0007.engine
    upgrade(engine)
    _at_revision(engine, "0007", down=True)  # no key yet: the table goes
    assert "qd_data_keys" not in inspect(engine).get_table_names()
    upgrade(engine)
    with SqlStore(engine).unit_of_work() as uow:
        uow.items.add(sample_item("item-sealed"))
        uow.commit()
    with pytest.raises(RuntimeError, match="qd_data_keys"):
        _at_revision(engine, "0007", down=True)
    with SqlStore(engine).unit_of_work() as uow:
        assert uow.items.get("item-sealed").id == "item-sealed"


def test_departure_drops_the_registration_key_that_digests_the_phone(fresh: Backend) -> None:
    """A registration's idempotency record holds an unkeyed digest of the request (name and
    phone): departure deletes it with the person's key, so no digest outlives the person."""
    store = SqlStore(fresh.engine)
    office = Office(store)
    account = office.qd.register(
        office.admin,
        real_name="钱离任",
        phone="13905809999",
        role=Role.SECURITY_ADMIN,
        idempotency_key="reg-9999",
    )
    idempotency = s.idempotency

    def kept() -> list[str]:
        with store.unit_of_work() as uow:
            rows = uow.execute(
                select(idempotency.c.key).where(idempotency.c.result_id == account.id)
            )
            return list(rows.scalars())

    assert kept() == [f"{office.admin.account_id}:reg-9999"]
    office.qd.depart(office.auditor, account.id)
    assert kept() == []
