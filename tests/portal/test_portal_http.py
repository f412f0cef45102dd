"""The portal's trust boundary over HTTP (no browser): CSRF, security headers, cookies, a session
checked on every request, only allowed actions reachable, the 三员 kept from content, the
watermark, and bad input refused with nothing written. Each test attacks one claim."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from qiandao_portal.app import create_app
from qiandao_portal.demo import DemoData
from qiandao_portal.security import SECURITY_HEADERS
from starlette.testclient import TestClient

from qiandao import Qiandao, Role
from qiandao.ports.store import ItemQuery
from tests.portal.conftest import ROOT, free_port

APP = ROOT / "examples" / "portal" / "app.py"

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def client(qd: Qiandao) -> TestClient:
    return TestClient(create_app(qd, secret=b"k" * 32), follow_redirects=False)


def token_of(page_html: str) -> str:
    found = CSRF.search(page_html)
    assert found, "every form carries a CSRF token"
    return found.group(1)


def signed_in(qd: Qiandao, demo: DemoData, key: str) -> TestClient:
    browser = client(qd)
    account = demo.accounts[key]
    csrf = token_of(browser.get("/login").text)
    answer = browser.post(
        "/login", data={"phone": account.phone, "password": account.password, "csrf": csrf}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    return browser


def set_cookie(browser: TestClient, name: str, value: str) -> None:
    """Replace the browser's cookie (as a tampering user would)."""
    browser.cookies.delete(name)
    browser.cookies.set(name, value, domain="testserver.local")


def item_count(qd: Qiandao) -> int:
    with qd.store.unit_of_work() as uow:
        return uow.items.count(ItemQuery())


def test_every_response_carries_the_security_headers(served: tuple[Qiandao, DemoData]) -> None:
    qd, demo = served
    browser = signed_in(qd, demo, "member")
    for path in ("/login", "/static/portal.css", "/mine", f"/items/{demo.items['draft']}"):
        answer = browser.get(path)
        assert answer.status_code == 200, path
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (path, name)
    assert "script-src" not in SECURITY_HEADERS["Content-Security-Policy"]  # none at all
    assert browser.get("/items/nope").headers["X-Frame-Options"] == "SAMEORIGIN"  # errors too


def test_cookies_are_http_only_and_same_site(served: tuple[Qiandao, DemoData]) -> None:
    qd, demo = served
    browser = client(qd)
    account = demo.accounts["member"]
    csrf = token_of(browser.get("/login").text)
    answer = browser.post(
        "/login", data={"phone": account.phone, "password": account.password, "csrf": csrf}
    )
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("qd_session="))
    assert "HttpOnly" in session and "samesite=strict" in session.lower()


def test_a_post_without_the_token_or_with_another_browsers_is_refused_and_changes_nothing(
    served: tuple[Qiandao, DemoData],
) -> None:
    qd, demo = served
    victim = signed_in(qd, demo, "member")
    attacker = signed_in(qd, demo, "officer")
    foreign = token_of(attacker.get("/items/new").text)
    before = item_count(qd)
    form = {"title": "跨站伪造", "body": "正文", "category": "hot_issue", "then": "submit"}
    for csrf in (None, "", "0" * 64, foreign):
        data = form if csrf is None else {**form, "csrf": csrf}
        answer = victim.post("/items/new", data=data)
        assert answer.status_code == 403, csrf
    assert item_count(qd) == before
    # the victim's own token works: the check is not refusing everything
    own = token_of(victim.get("/items/new").text)
    assert victim.post("/items/new", data={**form, "csrf": own}).status_code == 303
    assert item_count(qd) == before + 1


def test_the_session_is_checked_on_every_request(served: tuple[Qiandao, DemoData]) -> None:
    qd, demo = served
    browser = signed_in(qd, demo, "editor")
    assert browser.get("/lanes").status_code == 200
    token = browser.cookies.get("qd_session")
    assert token
    qd.sign_out(token)  # ended elsewhere (another tab, an admin): the next page knows
    answer = browser.get("/lanes")
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    forged = client(qd)
    forged.cookies.set("qd_session", "x" * 43)
    assert forged.get("/mine").headers["location"] == "/login"


def test_a_first_sign_in_reaches_nothing_but_the_password_change(
    served: tuple[Qiandao, DemoData],
) -> None:
    qd, demo = served
    browser = client(qd)
    account = demo.accounts["newcomer"]
    csrf = token_of(browser.get("/login").text)
    answer = browser.post(
        "/login", data={"phone": account.phone, "password": account.password, "csrf": csrf}
    )
    assert answer.headers["location"] == "/password"
    for path in ("/", "/mine", "/published", f"/items/{demo.items['closed']}"):
        assert browser.get(path).headers["location"] == "/password", path


def test_an_action_the_page_does_not_offer_is_refused_by_the_library(
    served: tuple[Qiandao, DemoData],
) -> None:
    qd, demo = served
    unit = signed_in(qd, demo, "hrss")
    item_id = demo.items["awaiting_signoff"]
    csrf = token_of(unit.get("/lanes").text)
    answer = unit.post(f"/items/{item_id}/do/sign", data={"csrf": csrf, "note": "伪造签发"})
    assert answer.status_code in {403, 404}
    editor = signed_in(qd, demo, "editor")
    page = editor.get(f"/items/{item_id}").text
    assert 'data-state="awaiting_signoff"' in page  # not signed
    # a method no form offers (an account command) is not reachable through the action route
    forged = unit.post(f"/items/{item_id}/do/depart", data={"csrf": csrf})
    assert forged.status_code == 404


def test_the_three_administrators_never_see_content(served: tuple[Qiandao, DemoData]) -> None:
    qd, demo = served
    with qd.store.unit_of_work() as uow:
        titles = [uow.items.get(i).texts[-1].title for i in demo.items.values()]
    for key in ("admin", "security", "auditor"):
        browser = signed_in(qd, demo, key)
        home = browser.get("/")
        own = home.headers["location"]
        pages = [own, "/published", "/lanes", "/bulletin", "/mine"]
        pages += [f"/items/{i}" for i in demo.items.values()]
        for path in pages:
            text = browser.get(path).text
            assert not any(title in text for title in titles), (key, path)


def test_every_page_carries_the_watermark_of_the_person(served: tuple[Qiandao, DemoData]) -> None:
    qd, demo = served
    browser = signed_in(qd, demo, "deputy")
    for path in ("/lanes", "/published", f"/items/{demo.items['in_review']}", "/bulletin"):
        page = browser.get(path).text
        found = re.search(r'data-watermark="([^"]+)"', page)
        assert found, path
        assert found.group(1).startswith("王分管 0004 ")  # real name, phone's last four, time


def test_bad_input_is_named_and_writes_nothing(served: tuple[Qiandao, DemoData]) -> None:
    qd, demo = served
    browser = signed_in(qd, demo, "member")
    csrf = token_of(browser.get("/items/new").text)
    before = item_count(qd)
    form = {"title": "", "body": "正文", "category": "weather", "csrf": csrf, "then": "submit"}
    answer = browser.post("/items/new", data=form)
    assert answer.status_code == 422
    assert 'data-code="input.invalid"' in answer.text
    assert "data.category" in answer.text
    assert item_count(qd) == before


def test_one_command_starts_the_portal_with_demo_data(tmp_path: Path) -> None:
    """``python examples/portal/app.py --demo-data``: a database, accounts printed once, served."""
    port = free_port()
    command = [sys.executable, str(APP), "--demo-data", "--port", str(port), "--fast-hash"]
    server = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "/login" in line:
                break
        printed = "".join(lines)
        assert "13905800001" in printed and "首次登录须修改" in printed
        assert (tmp_path / "qiandao-portal.sqlite3").exists()
        deadline = time.monotonic() + 20
        while True:  # the address is printed just before uvicorn starts listening
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as got:
                    assert got.status == 200
                    assert "登录" in got.read().decode()
                    break
            except urllib.error.URLError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_person_with_two_grants_chooses_one_and_cannot_forge_a_third(
    served: tuple[Qiandao, DemoData],
) -> None:
    qd, demo = served
    admin_account, security_account = demo.accounts["admin"], demo.accounts["security"]
    admin = qd.sign_in(admin_account.phone, admin_account.password).actor
    security = qd.sign_in(security_account.phone, security_account.password).actor
    assert admin is not None and security is not None
    chair = qd.sign_in(demo.accounts["chair"].phone, demo.accounts["chair"].password).actor
    assert chair is not None
    proposal = qd.grant_role(admin, chair.account_id, Role.MEMBER, "zhoushan")
    qd.approve_grant(security, proposal.id)
    browser = client(qd)
    csrf = token_of(browser.get("/login").text)
    account = demo.accounts["chair"]
    answer = browser.post(
        "/login", data={"phone": account.phone, "password": account.password, "csrf": csrf}
    )
    assert answer.headers["location"] == "/role"
    assert browser.get("/lanes").headers["location"] == "/role"  # no grant chosen yet
    page = browser.get("/role").text
    assert page.count('name="grant"') == 2
    # a grant the person does not hold, smuggled into the cookie, is refused by the library
    set_cookie(browser, "qd_grants", "system_admin:zhoushan:")
    forged = browser.post("/role", data={"grant": "0", "csrf": token_of(page)})
    assert forged.status_code == 409 and 'data-code="account.grant_not_held"' in forged.text
    assert browser.get("/").headers["location"] == "/role"
    set_cookie(browser, "qd_grants", "chair:zhoushan:|member:zhoushan:")
    chosen = browser.post("/role", data={"grant": "1", "csrf": token_of(page)})
    assert chosen.headers["location"] == "/"
    assert browser.get("/").headers["location"] == "/mine"  # now acting as a member


def test_content_and_addresses_cannot_inject_markup_or_text(
    served: tuple[Qiandao, DemoData],
) -> None:
    qd, demo = served
    browser = signed_in(qd, demo, "member")
    csrf = token_of(browser.get("/items/new").text)
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    form = {"title": hostile, "body": hostile, "category": "hot_issue", "csrf": csrf}
    answer = browser.post("/items/new", data={**form, "then": "draft"})
    assert answer.status_code == 303
    page = browser.get(answer.headers["location"].split("?")[0]).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert '<img src=x onerror="alert(2)">' not in page
    # a link cannot make the portal show a message of the linker's choosing
    lure = browser.get("/mine?done=账号异常，请致电400-000-0000").text
    assert "400-000-0000" not in lure
    assert "已保存" in browser.get("/mine?done=已保存").text


def test_at_preliminary_review_the_editor_sees_the_similar_items_and_a_member_does_not(
    served: tuple[Qiandao, DemoData],
) -> None:
    qd, demo = served
    editor = signed_in(qd, demo, "editor")
    page = editor.get(f"/items/{demo.items['submitted']}").text
    assert "相似信息" in page
    assert demo.items["similar"] in page  # the member's report of the same matter (第九条 merge)
    found = qd.similar_items(qd.authenticate(editor.cookies["qd_session"]), demo.items["submitted"])
    assert demo.items["similar"] in {s.item_id for s in found}
    member = signed_in(qd, demo, "member")
    assert "相似信息" not in member.get(f"/items/{demo.items['similar']}").text  # no merge there
