"""``python -m qiandao admin bootstrap`` and ``units import|list`` on SQLite, PostgreSQL and
MariaDB: the first admin signs in with the password shown once; an import is all or nothing
and names the bad line; every change is the library's audited command."""

from __future__ import annotations

from pathlib import Path

import pytest

from qiandao import Actor, AuditQuery, Qiandao, Role, Unit
from qiandao.cli import main
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery
from tests.helpers import at
from tests.sql.conftest import Backend

PHONE = "13900000001"
SENT = RecordingDelivery()


def recording() -> RecordingDelivery:
    """The ``--delivery`` factory of these tests."""
    return SENT


def _bootstrap(url: str, *extra: str) -> int:
    return main(["admin", "bootstrap", "--url", url, "--name", "王管理", "--phone", PHONE, *extra])


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "units.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _service(backend: Backend) -> Qiandao:
    from qiandao_adapters.sql import SqlStore

    return Qiandao(SqlStore(backend.engine), clock=ManualClock(at(2026, 3, 2)), hasher=None)


def test_bootstrap_shows_the_password_once_and_only_on_an_empty_store(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    backend.store()
    assert _bootstrap(backend.url) == 0
    out = capsys.readouterr().out
    password = out.strip().splitlines()[-1].split("：")[-1]
    qd = Qiandao(
        _service(backend).store, clock=ManualClock(at(2026, 3, 2)), hasher=Argon2Hasher.fast()
    )
    signed = qd.sign_in(PHONE, password)
    assert signed.must_change_password
    assert [g.role for g in signed.grants] == [Role.SYSTEM_ADMIN]
    assert _bootstrap(backend.url) == 2  # an account exists now
    assert "permission.denied" in capsys.readouterr().err


def test_bootstrap_through_a_configured_delivery_prints_no_password(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    backend.store()
    before = len(SENT.sent)
    assert _bootstrap(backend.url, "--delivery", f"{__name__}:recording") == 0
    out = capsys.readouterr().out
    (delivered,) = SENT.sent[before:]
    assert delivered.phone == PHONE and delivered.password not in out


def test_bootstrap_refuses_an_unknown_jurisdiction_or_delivery(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    store = backend.store()
    assert _bootstrap(backend.url, "--jurisdiction", "hangzhou") == 2
    assert _bootstrap(backend.url, "--delivery", "no_such_module:factory") == 2
    assert capsys.readouterr().err.count("input.invalid") == 2
    with store.unit_of_work() as uow:
        assert uow.accounts.list() == []
    assert _bootstrap(backend.url, "--jurisdiction", "zhoushan.putuo") == 0


def test_units_import_then_list(
    backend: Backend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend.store()
    assert _bootstrap(backend.url) == 0
    rows = (
        "id,name,jurisdiction,active\n"
        "zs-water,舟山市水利局,zhoushan,\n"
        "zs-old,舟山市已撤并局,zhoushan,false\n"
        "pt-water,普陀区水利局,zhoushan.putuo,true\n"
    )
    assert main(["units", "import", "--url", backend.url, _csv(tmp_path, rows)]) == 0
    capsys.readouterr()
    assert main(["units", "list", "--url", backend.url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "id,name,jurisdiction,active,merged_into",
        "zs-old,舟山市已撤并局,zhoushan,false,",
        "zs-water,舟山市水利局,zhoushan,true,",
        "pt-water,普陀区水利局,zhoushan.putuo,true,",  # the platform admin lists every place
    ]
    assert main(["units", "list", "--url", backend.url, "--jurisdiction", "zhoushan.putuo"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "pt-water,普陀区水利局,zhoushan.putuo,true,"
    ]
    # the import is the admin's audited command, from the command line
    auditor = _auditor(backend)
    (record,) = auditor[0].audit_log(auditor[1], AuditQuery(action="import_units")).records
    assert record.entry.context.client == "qiandao-cli/units-import"
    assert record.entry.role == "system_admin"


def _auditor(backend: Backend) -> tuple[Qiandao, Actor]:

    qd = _service(backend)
    auditor = Actor("audit-1", Role.AUDIT_ADMIN, "zhoushan")
    enrol(qd.store, auditor)
    return qd, auditor


@pytest.mark.parametrize(
    ("text", "line", "code"),
    [
        ("id,name,jurisdiction\nu-1,甲局,zhoushan\nu-2,乙局,hangzhou\n", 3, "input.invalid"),
        ("id,name,jurisdiction\nu-1,甲局,zhoushan\nu-2,,zhoushan\n", 3, "input.invalid"),
        ("id,name,jurisdiction\nu-1,甲局,zhoushan\nu-1,乙局,zhoushan\n", 3, "input.invalid"),
        ("id,name,jurisdiction,active\nu-1,甲局,zhoushan,maybe\n", 2, "input.invalid"),
        ("id,name\nu-1,甲局\n", 1, "input.invalid"),
        ("id,name,jurisdiction\nu-1,甲局,zhoushan,多余\n", 2, "input.invalid"),
        ("id,name,jurisdiction\nu-1,甲局,zhoushan\nu-a,乙局,zhoushan\n", 3, "unit.duplicate"),
    ],
)
def test_a_bad_row_imports_nothing_and_names_its_line(
    backend: Backend,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    line: int,
    code: str,
) -> None:
    store = backend.store()
    assert _bootstrap(backend.url) == 0
    with store.unit_of_work() as uow:  # a unit already there
        uow.units.add(Unit("u-a", "已有单位", "zhoushan"))
        uow.commit()
    capsys.readouterr()
    assert main(["units", "import", "--url", backend.url, _csv(tmp_path, text)]) == 2
    err = capsys.readouterr().err
    assert code in err
    assert f"第{line}行" in err
    with store.unit_of_work() as uow:
        assert [u.id for u in uow.units.list()] == ["u-a"]


def test_import_acts_as_the_admin_named_and_only_as_a_system_admin(
    backend: Backend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = backend.store()
    path = _csv(tmp_path, "id,name,jurisdiction\nu-1,甲局,zhoushan\n")
    assert main(["units", "import", "--url", backend.url, path]) == 2  # no admin yet
    assert _bootstrap(backend.url) == 0
    assert main(["units", "import", "--url", backend.url, "--as", "13900000002", path]) == 2
    assert "input.invalid" in capsys.readouterr().err
    assert main(["units", "import", "--url", backend.url, "--as", PHONE, path]) == 0
    with store.unit_of_work() as uow:
        assert [u.id for u in uow.units.list()] == ["u-1"]
