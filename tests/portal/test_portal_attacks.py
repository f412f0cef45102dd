"""Attacks on the portal found in review: each test is one hostile request (or a fault) and the
answer the portal owes it; the claims already covered live in test_portal_http.py."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest
from httpx2 import Response
from qiandao_portal.app import create_app
from qiandao_portal.demo import DemoData
from qiandao_portal.security import SECURITY_HEADERS, SignInThrottle
from starlette.testclient import TestClient

from qiandao import Qiandao, Role, SessionExpired
from tests.portal.test_portal_http import client, signed_in, token_of

CODE = re.compile(r'data-code="([^"]+)"')


def guarded(headers: Mapping[str, str]) -> bool:
    """Whether a response's headers hold every security header."""
    return all(headers.get(name) == value for name, value in SECURITY_HEADERS.items())


def test_numbers_the_portal_reads_itself_never_crash_it(
    served: tuple[Qiandao, DemoData],
) -> None:
    """``str.isdigit`` admits ``²`` and ``١``, which ``int`` refuses: each was a 500."""
    qd, demo = served
    editor = signed_in(qd, demo, "editor")
    for year in ("²", "١٢", "9" * 5000):
        answer = editor.get("/bulletin", params={"year": year, "quarter": "³"})
        assert answer.status_code == 200, year
        assert guarded(answer.headers)
    member = signed_in(qd, demo, "member")
    csrf = token_of(member.get("/mine").text)
    for grant in ("²", "x", "-1", "9" * 5000):
        answer = member.post("/role", data={"csrf": csrf, "grant": grant})
        assert (answer.status_code, answer.headers["location"]) == (303, "/role"), grant
    unit = signed_in(qd, demo, "hrss")
    csrf = token_of(unit.get("/lanes").text)
    item_id = demo.items["handling"]
    page = unit.get(f"/items/{item_id}").text
    assignment = re.search(r'name="assignment_id" value="([^"]+)"', page)
    assert assignment and 'data-action="request_extension"' in page
    for workdays in ("²", "9" * 5000):
        answer = unit.post(
            f"/items/{item_id}/do/request_extension",
            data={
                "csrf": csrf,
                "assignment_id": assignment.group(1),
                "workdays": workdays,
                "reason": "材料较多",
            },
        )
        assert answer.status_code == 422, workdays
        assert CODE.findall(answer.text) == ["input.invalid"]


def test_a_fault_answers_with_the_headers_and_the_watermark_and_no_trace(
    served: tuple[Qiandao, DemoData], monkeypatch: pytest.MonkeyPatch
) -> None:
    qd, demo = served
    member = signed_in(qd, demo, "member")
    leak = "内部细节 13905800001 /srv/db"

    def fault(*args: object, **kwargs: object) -> object:
        raise RuntimeError(leak)

    monkeypatch.setattr(qd, "published", fault)
    answer = member.get("/published")
    assert answer.status_code == 500 and guarded(answer.headers)
    assert CODE.findall(answer.text) == ["portal.internal"]
    assert 'data-watermark="张海舟 0001 ' in answer.text  # the page names its viewer still
    assert leak not in answer.text and "Traceback" not in answer.text
    # a fault in drawing the error page itself: still the headers, still no trace
    monkeypatch.setattr(qd, "watermark", fault)
    answer = member.get("/published")
    assert answer.status_code == 500 and guarded(answer.headers)
    assert leak not in answer.text and "Traceback" not in answer.text


def test_a_page_of_another_role_is_refused_not_shown(served: tuple[Qiandao, DemoData]) -> None:
    """Each role reaches its own links only: the 系统管理 page (its register form and the unit
    list) was served to every role, a submission form to the 三员 and the units."""
    qd, demo = served
    refused = {
        "member": ("/admin", "/security", "/audit", "/bulletin", "/lanes"),
        "hrss": ("/admin", "/mine", "/items/new", "/bulletin"),
        "admin": ("/mine", "/items/new", "/published", "/lanes", "/security", "/audit"),
        "security": ("/admin", "/mine", "/items/new", "/audit"),
        "auditor": ("/admin", "/security", "/mine", "/items/new"),
    }
    own = {
        "member": ("/mine", "/items/new", "/published"),
        "hrss": ("/lanes", "/published"),
        "admin": ("/admin",),
        "security": ("/security",),
        "auditor": ("/audit",),
    }
    for key, paths in refused.items():
        b = signed_in(qd, demo, key)
        for path in paths:
            answer = b.get(path)
            assert answer.status_code == 403, (key, path)
            assert CODE.findall(answer.text) == ["permission.denied"], (key, path)
            assert "data-watermark=" in answer.text and 'name="real_name"' not in answer.text
        for path in own[key]:
            assert b.get(path).status_code == 200, (key, path)


def test_a_refusal_on_an_administrators_page_answers_with_its_own_status(
    served: tuple[Qiandao, DemoData],
) -> None:
    """A refused approval was a 200 page, a duplicate registration a 422: each is its own."""
    qd, demo = served
    security = signed_in(qd, demo, "security")
    csrf = token_of(security.get("/security").text)
    answer = security.post(
        "/security", data={"csrf": csrf, "proposal_id": "0" * 32, "decision": "approve"}
    )
    assert answer.status_code == 404 and CODE.findall(answer.text) == ["not_found"]
    admin = signed_in(qd, demo, "admin")
    csrf = token_of(admin.get("/admin").text)
    phone = demo.accounts["member"].phone
    data = {"csrf": csrf, "op": "register", "real_name": "张冒名", "phone": phone, "role": "member"}
    answer = admin.post("/admin", data=data)
    assert answer.status_code == 409 and CODE.findall(answer.text) == ["account.duplicate"]


def test_the_portals_own_refusals_are_its_error_page_with_the_watermark(
    served: tuple[Qiandao, DemoData],
) -> None:
    """A CSRF refusal was bare text with no type, an unknown action answered before the
    session was checked, and Starlette's 404 and 405 were bare text: none named its viewer."""
    qd, demo = served
    item_id = demo.items["draft"]
    stranger = client(qd)
    csrf = token_of(stranger.get("/login").text)
    answer = stranger.post(f"/items/{item_id}/do/__class__", data={"csrf": csrf})
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    member = signed_in(qd, demo, "member")
    csrf = token_of(member.get("/mine").text)
    refusals = [
        (member.post(f"/items/{item_id}/do/__class__", data={"csrf": csrf}), 404),
        (member.post(f"/items/{item_id}/do/submit", data={"csrf": "0" * 64}), 403),
        (member.get("/nowhere"), 404),
        (member.get("/static/nowhere.css"), 404),
        (member.get("/logout"), 405),
    ]
    for answer, status in refusals:
        assert answer.status_code == status, answer.url
        assert answer.headers["content-type"].startswith("text/html") and guarded(answer.headers)
        assert len(CODE.findall(answer.text)) == 1, answer.url
        assert 'data-watermark="张海舟 0001 ' in answer.text, answer.url
    assert member.get("/logout").headers["allow"] == "POST"
    assert 'data-state="draft"' in member.get(f"/items/{item_id}").text  # nothing was run


def test_signing_in_ends_the_browsers_earlier_session(served: tuple[Qiandao, DemoData]) -> None:
    """A second sign-in on the same browser (a shared desk) left the first person's session
    alive on the server, usable by whoever had copied its cookie."""
    qd, demo = served
    browser = signed_in(qd, demo, "member")
    earlier = browser.cookies.get("qd_session")
    assert earlier and qd.authenticate(earlier).role is Role.MEMBER
    csrf = token_of(browser.get("/mine").text)
    officer = demo.accounts["officer"]
    answer = browser.post(
        "/login", data={"phone": officer.phone, "password": officer.password, "csrf": csrf}
    )
    assert answer.status_code == 303
    with pytest.raises(SessionExpired):
        qd.authenticate(earlier)
    assert browser.get("/published").status_code == 200  # the new session works
    stale = client(qd)  # a cookie that names no session does not stand in the way
    stale.cookies.set("qd_session", "x" * 43)
    csrf = token_of(stale.get("/login").text)
    member = demo.accounts["member"]
    answer = stale.post(
        "/login", data={"phone": member.phone, "password": member.password, "csrf": csrf}
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/")


def test_one_address_cannot_go_on_guessing_sign_ins(served: tuple[Qiandao, DemoData]) -> None:
    """The library locks one account after a few wrong passwords; one address could still try
    a password on every number (or lock every account): its failures are limited."""
    qd, demo = served
    now = [0.0]
    app = create_app(qd, secret=b"k" * 32, throttle=SignInThrottle(3, 600, clock=lambda: now[0]))

    def sign_in(address: str, phone: str, password: str) -> Response:
        b = TestClient(app, follow_redirects=False, client=(address, 40000))
        csrf = token_of(b.get("/login").text)
        return b.post("/login", data={"phone": phone, "password": password, "csrf": csrf})

    member = demo.accounts["member"]
    guesser = "198.51.100.7"
    for n in range(3):  # each an unknown number: no account is locked by the test
        answer = sign_in(guesser, f"1390580{7000 + n}", "Guess#2026abc")
        assert CODE.findall(answer.text) == ["account.auth_failed"]
    refused = sign_in(guesser, member.phone, member.password)  # even the right password
    assert refused.status_code == 429 and CODE.findall(refused.text) == ["portal.too_many_sign_ins"]
    assert "qd_session" not in refused.cookies and refused.headers["retry-after"] == "600"
    assert guarded(refused.headers)
    other = sign_in("203.0.113.9", member.phone, member.password)  # another address is not held
    assert (other.status_code, other.headers["location"]) == (303, "/")
    now[0] = 601.0  # the window has passed
    answer = sign_in(guesser, member.phone, member.password)
    assert (answer.status_code, answer.headers["location"]) == (303, "/")


def test_a_huge_or_file_carrying_post_is_refused_before_it_is_held(
    served: tuple[Qiandao, DemoData],
) -> None:
    """Starlette limits a form per field only (1 MB, 1,000 fields) and spools any file to disk:
    one unsigned POST could make the portal hold a gigabyte before the CSRF check."""
    qd, demo = served
    stranger = client(qd)
    csrf = token_of(stranger.get("/login").text)
    field = "x" * (1024 * 1024 - 10)
    huge = {"csrf": csrf, **{f"f{n}": field for n in range(3)}}
    answer = stranger.post("/login", data=huge)
    assert answer.status_code == 413 and guarded(answer.headers)
    chunks = (b"phone=" + b"1" * (1024 * 1024) for _ in range(3))  # no Content-Length at all
    answer = stranger.post(
        "/login",
        content=chunks,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413 and guarded(answer.headers)
    answer = stranger.post("/login", data={"csrf": csrf}, files={"f": ("a.bin", b"\0" * 64)})
    assert answer.status_code == 400 and guarded(answer.headers)
    # the longest text an item may have still fits, many times over
    member = signed_in(qd, demo, "member")
    csrf = token_of(member.get("/items/new").text)
    body = "海" * 20_000
    form = {"title": "长文", "body": body, "category": "hot_issue", "csrf": csrf, "then": "draft"}
    assert member.post("/items/new", data=form).status_code == 303


def test_another_units_assignment_and_fields_no_form_offers_reach_nothing(
    served: tuple[Qiandao, DemoData],
) -> None:
    """Sound in review, kept so: an id of someone else's is "not found", and a field the form
    does not have (a member's ``jurisdiction``, ``lead_author_id``) is never read."""
    qd, demo = served
    hrss = signed_in(qd, demo, "hrss")
    page = hrss.get(f"/items/{demo.items['handling']}").text
    found = re.search(r'name="assignment_id" value="([^"]+)"', page)
    assert found
    agri = signed_in(qd, demo, "agri")
    csrf = token_of(agri.get("/lanes").text)
    for item in ("handling", "replied"):  # hrss's item, and agri's own item with hrss's id
        answer = agri.post(
            f"/items/{demo.items[item]}/do/reply",
            data={"csrf": csrf, "assignment_id": found.group(1), "text": "冒名答复"},
        )
        assert answer.status_code == 404 and CODE.findall(answer.text) == ["not_found"], item
    assert "冒名答复" not in hrss.get(f"/items/{demo.items['handling']}").text
    member = signed_in(qd, demo, "member")
    csrf = token_of(member.get("/items/new").text)
    extra = {"jurisdiction": "elsewhere", "lead_author_id": "0" * 32, "unit_id": "hrss"}
    form = {"title": "多余字段", "body": "正文", "category": "hot_issue", "then": "draft"}
    answer = member.post("/items/new", data={**form, **extra, "csrf": csrf})
    assert answer.status_code == 303
    item_id = answer.headers["location"].split("?")[0].rsplit("/", 1)[1]
    with qd.store.unit_of_work() as uow:
        saved = uow.items.get(item_id)
    assert saved.jurisdiction == "zhoushan" and saved.lead_author_id != "0" * 32


def test_a_sign_in_posted_from_elsewhere_is_refused_and_https_cookies_are_secure(
    served: tuple[Qiandao, DemoData],
) -> None:
    """Sound in review, kept so: the sign-in form's token is bound to the browser's own
    pre-session cookie (no login CSRF); over HTTPS every cookie is ``Secure`` with HSTS."""
    qd, demo = served
    member = demo.accounts["member"]
    attacker, victim = client(qd), client(qd)
    foreign = token_of(attacker.get("/login").text)
    victim.get("/login")
    data = {"phone": member.phone, "password": member.password, "csrf": foreign}
    answer = victim.post("/login", data=data)
    assert answer.status_code == 403 and "qd_session" not in answer.cookies
    secure = TestClient(create_app(qd), base_url="https://testserver", follow_redirects=False)
    csrf = token_of(secure.get("/login").text)
    answer = secure.post("/login", data={**data, "csrf": csrf})
    assert answer.status_code == 303 and answer.headers["strict-transport-security"]
    cookies = answer.headers.get_list("set-cookie")
    assert {c.split("=")[0] for c in cookies} >= {"qd_session", "qd_grants"}
    assert all("Secure" in c and "HttpOnly" in c for c in cookies)
