"""The whole flow in a real browser (Debian's Chromium through Playwright), as each role in turn.

An urgent submission, 初审 with an edit, sign-off at the chair's tier, two units, a decline and
reassignment, an extension, replies, a 不满意 rating and re-handling, adoption with a 批示,
publication and the bulletin. Each role's pages are checked for what they show and what they
must not show (a unit never sees the author's name or the original text; a 三员 account never
sees a title), and only the buttons ``allowed_actions`` gives are on a page. Screenshots of the
key pages go to ``test-output/portal/`` (``QIANDAO_SCREENSHOT_DIR``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
from qiandao_portal.forms import forms_for

from tests.portal.conftest import SCREENSHOTS, Served, chromium_path

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}
TITLE = "关于恢复嵊泗列岛冬季夜间应急航班的建议"
BODY = "嵊泗列岛冬季夜间无客运航班，岛上群众突发急病只能依靠海事应急船只转运。建议：一是……"
EDITED_TITLE = "关于建立嵊泗列岛冬季夜间应急医疗转运机制的建议"
EDITED_BODY = "（编辑稿）嵊泗列岛冬季夜间群众就医转运难。建议：一、建立海上应急医疗转运机制；二、……"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


class People:
    """One signed-in browser context per demo person, opened on first use."""

    def __init__(self, browser: Browser, served: Served) -> None:
        self.browser = browser
        self.served = served
        self.pages: dict[str, Page] = {}

    def __call__(self, key: str, *, viewport: ViewportSize = DESKTOP, tag: str = "") -> Page:
        if key + tag not in self.pages:
            context = self.browser.new_context(viewport=viewport, locale="zh-CN")
            page = context.new_page()
            account = self.served.demo.accounts[key]
            page.goto(self.served.url + "/login")
            page.fill("input[name=phone]", account.phone)
            page.fill("input[name=password]", account.password)
            page.click("button[type=submit]")
            expect(page.locator("header .role")).to_be_visible()
            self.pages[key + tag] = page
        return self.pages[key + tag]

    def open(self, key: str, path: str) -> Page:
        page = self(key)
        page.goto(self.served.url + path)
        return page


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def act(
    page: Page, method: str, fields: dict[str, str | list[str]] | None = None, *, on: str = ""
) -> None:
    """Open an allowed action's form, fill it, submit, and expect no refusal."""
    selector = f'details[data-action="{method}"]' + (f'[data-for="{on}"]' if on else "")
    box = page.locator(selector)
    expect(box).to_have_count(1)
    box.locator("summary").click()
    for name, value in (fields or {}).items():
        values = value if isinstance(value, list) else [value]
        control = box.locator(f'[name="{name}"]').first
        tag = control.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if tag.startswith("select"):
            control.select_option(values[0])
        elif tag.endswith(":checkbox") or tag.endswith(":radio"):
            for one in values:
                box.locator(f'[name="{name}"][value="{one}"]').check()
        else:
            control.fill(values[0])
    box.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".error")).to_have_count(0)
    expect(page.locator(".notice")).to_be_visible()


def actions_on(page: Page) -> set[str]:
    """The action forms the page offers (``method`` or ``method@assignment``)."""
    found = set()
    for box in page.locator("details[data-action]").all():
        method = box.get_attribute("data-action") or ""
        target = box.get_attribute("data-for")
        found.add(f"{method}@{target}" if target else method)
    return found


def allowed(served: Served, key: str, item_id: str) -> set[str]:
    """What ``allowed_actions`` gives the person now, as the portal's forms name it."""
    account = served.demo.accounts[key]
    actor = served.qd.sign_in(account.phone, account.password).actor
    assert actor is not None
    return {
        f"{form.method}@{action.assignment_id}" if action.assignment_id else form.method
        for action in served.qd.allowed_actions(actor, item_id)
        for form in forms_for(action.command)
    }


def buttons_match(people: People, key: str, item_id: str) -> set[str]:
    """The person's item page offers exactly the allowed actions; returns them."""
    shown = actions_on(people(key))
    assert shown == allowed(people.served, key, item_id)
    return shown


def assignment_of(page: Page, unit: str) -> str:
    """The id of the open (latest) assignment of ``unit`` shown on the item page."""
    boxes = page.locator(f'.assignment[data-unit="{unit}"]')
    return boxes.last.get_attribute("data-assignment") or ""


def test_the_whole_flow_as_each_role(portal: Served, browser: Browser) -> None:
    people = People(browser, portal)
    url = portal.url

    # -- first sign-in: the initial password must be changed before anything else (第十六条)
    context = browser.new_context(viewport=DESKTOP)
    newcomer = context.new_page()
    first = portal.demo.accounts["newcomer"]
    newcomer.goto(url + "/login")
    newcomer.fill("input[name=phone]", first.phone)
    newcomer.fill("input[name=password]", first.password)
    newcomer.click("button[type=submit]")
    expect(newcomer).to_have_url(re.compile(r"/password$"))
    newcomer.goto(url + "/mine")  # nothing else is reachable before the change
    expect(newcomer).to_have_url(re.compile(r"/password$"))
    shot(newcomer, "01-first-sign-in-password-change")
    newcomer.fill("input[name=old_password]", first.password)
    newcomer.fill("input[name=new_password]", "Zs#NewMember2026")
    newcomer.fill("input[name=confirm]", "Zs#NewMember2026")
    newcomer.click("button[type=submit]")
    expect(newcomer).to_have_url(re.compile(r"/mine$"))
    context.close()

    # -- the member writes an urgent item and submits it (第四、五条)
    member = people.open("member", "/items/new")
    shot(member, "02-member-new-item")
    member.fill("input[name=title]", TITLE)
    member.fill("textarea[name=body]", BODY)
    member.select_option("select[name=category]", "hot_issue")
    member.check("input[name=urgent]")
    member.click("button[value=draft]")  # saved first, as a draft only the author sees
    expect(member.locator("dl.facts .state")).to_have_attribute("data-state", "draft")
    draft_id = member.locator("article.item").get_attribute("data-item")
    assert draft_id
    assert {"edit_draft", "submit", "withdraw"} <= buttons_match(people, "member", draft_id)
    act(member, "submit")
    expect(member.locator("dl.facts .state")).to_have_attribute("data-state", "submitted")
    item_id = member.locator("article.item").get_attribute("data-item")
    assert item_id
    item_path = f"/items/{item_id}"
    # submitted: only the publication consent is still the author's (第十四条)
    assert buttons_match(people, "member", item_id) == {"set_publication_consent"}

    # -- the editor: urgent first in 待初审, then 初审 with an edit, to the chair's tier (第九条)
    editor = people.open("editor", "/lanes?lane=preliminary")
    # submitted after the demo's (not urgent) item, the urgent one still leads the lane
    first_row = editor.locator("table.items tbody tr").first
    expect(first_row).to_have_attribute("data-item", item_id)
    expect(first_row.locator(".urgent")).to_be_visible()
    expect(editor.locator("table.items tbody tr")).to_have_count(3)
    shot(editor, "03-editor-lanes")
    # at 初审 the demo's two reports of the same matter show each other (第九条 merge)
    editor.goto(url + f"/items/{portal.demo.items['submitted']}")
    expect(editor.locator("section.similar a")).to_have_attribute(
        "href", f"/items/{portal.demo.items['similar']}"
    )
    shot(editor, "03b-editor-similar-items")
    editor.goto(url + item_path)
    assert {"pass_preliminary", "return_for_revision", "reject", "merge"} <= buttons_match(
        people, "editor", item_id
    )
    act(
        editor,
        "pass_preliminary",
        {
            "destinations": "report_to_principal_leaders_and_province",
            "title": EDITED_TITLE,
            "body": EDITED_BODY,
            "note": "内容属实，专报主要领导",
        },
    )
    expect(editor.locator(".texts details")).to_have_count(2)  # the original is kept
    shot(editor, "04-editor-after-preliminary")

    deputy = people.open("deputy", item_path)
    assert {"approve", "send_back"} <= buttons_match(people, "deputy", item_id)
    act(deputy, "approve", {"note": "同意"})

    # the office head signs lower tiers only: no sign button for this destination
    people.open("office_head", item_path)
    assert "sign" not in buttons_match(people, "office_head", item_id)
    chair = people.open("chair", item_path)
    assert "sign" in buttons_match(people, "chair", item_id)
    shot(chair, "05-chair-sign")
    act(chair, "sign", {"note": "同意报送"})
    expect(chair.locator("dl.facts .state")).to_have_attribute("data-state", "issued")

    # -- assignment to two units, hrss leading (第十条)
    editor.goto(url + item_path)
    act(editor, "assign", {"units": ["hrss", "transport"], "lead": "hrss"})
    expect(editor.locator(".assignment")).to_have_count(2)
    buttons_match(people, "editor", item_id)
    hrss_id = assignment_of(editor, "hrss")

    # -- a unit sees the signed text only: never the author's name or the original (第十条)
    transport = people.open("transport", "/lanes")
    expect(transport.locator(f'tr[data-item="{item_id}"]')).to_have_count(1)
    transport.goto(url + item_path)
    page_text = transport.locator("main").inner_text()
    assert EDITED_TITLE in page_text
    assert TITLE not in page_text and BODY[:12] not in page_text  # the original text
    assert "张海舟" not in page_text  # the author
    expect(transport.locator("dd.authors")).to_have_count(0)
    shot(transport, "06-unit-item")
    transport_id = assignment_of(transport, "transport")
    assert buttons_match(people, "transport", item_id) >= {f"decline@{transport_id}"}
    act(
        transport,
        "decline",
        {"reason": "应急医疗转运不属于本单位职责，建议改由市农业农村局协办"},
        on=transport_id,
    )

    # -- the editor reassigns the declined assignment (申退待处理)
    editor.goto(url + "/lanes?lane=declined")
    expect(editor.locator(f'tr[data-item="{item_id}"]')).to_have_count(1)
    editor.goto(url + item_path)
    act(editor, "reassign", {"unit_id": "agri"}, on=transport_id)
    agri_id = assignment_of(editor, "agri")
    assert agri_id

    # -- hrss accepts and asks for more time; the editor grants it (第十条)
    hrss = people.open("hrss", item_path)
    act(hrss, "accept", on=hrss_id)
    act(hrss, "request_extension", {"workdays": "5", "reason": "需与省卫健委会商"}, on=hrss_id)
    editor.goto(url + "/lanes?lane=extension")
    expect(editor.locator(f'tr[data-item="{item_id}"]')).to_have_count(1)
    editor.goto(url + item_path)
    act(editor, "approve_extension", on=hrss_id)

    # -- replies from both units
    agri = people.open("agri", item_path)
    act(agri, "accept", on=agri_id)
    act(agri, "reply", {"text": "已协调海事、渔政船只参与夜间应急转运。"}, on=agri_id)
    hrss.goto(url + item_path)
    act(hrss, "reply", {"text": "已将海岛夜间转运纳入医保异地结算。"}, on=hrss_id)
    shot(hrss, "07-unit-replied")

    # -- the member rates: 不满意 for hrss, 满意 for agri (第十二条); the office orders re-handling
    member.goto(url + item_path)
    assert {f"rate@{hrss_id}", f"rate@{agri_id}"} <= buttons_match(people, "member", item_id)
    act(member, "rate", {"rating": "dissatisfied"}, on=hrss_id)
    act(member, "rate", {"rating": "satisfied"}, on=agri_id)
    editor.goto(url + item_path)
    act(editor, "order_rehandle", {"reason": "委员认为转运费用如何承担未答复"}, on=hrss_id)
    hrss.goto(url + item_path)
    act(hrss, "reply", {"text": "补充：夜间转运费用由医保和财政分担，群众不再承担。"}, on=hrss_id)
    member.goto(url + item_path)
    act(member, "rate", {"rating": "basically_satisfied"}, on=hrss_id)
    expect(member.locator(f'.assignment[data-assignment="{hrss_id}"] .rating')).to_have_text(
        "基本满意"
    )
    shot(member, "08-member-rated")

    # -- adoption with a 批示 (第十一条); the item is public (第十四条)
    editor.goto(url + item_path)
    act(editor, "record_adoption", {"level": "provincial_cppcc", "note": "省政协采用"})
    act(
        editor,
        "record_instruction",
        {"leader": "市委书记", "rank": "city_principal_leader", "text": "请卫健委牵头落实。"},
    )
    expect(editor.locator("ul.feedback li")).to_have_count(2)
    shot(editor, "09-editor-feedback")
    officer = people.open("officer", "/published")
    expect(officer.locator(f'tr[data-item="{item_id}"]')).to_have_count(1)
    shot(officer, "10-published")

    # -- the quarterly bulletin names the people and units (第十三条)
    editor.goto(url + "/bulletin")
    bulletin = editor.locator("main").inner_text()
    assert "张海舟" in bulletin and "市人力社保局" in bulletin
    assert "年度计划完成情况" in bulletin and "全办合计" in bulletin  # the demo's plan (第六条)
    shot(editor, "11-bulletin")

    # -- the 三员 see their own pages and never a title (第十九条)
    for key, path in (("admin", "/admin"), ("security", "/security"), ("auditor", "/audit")):
        page = people.open(key, "/")
        expect(page).to_have_url(re.compile(path + "$"))
        shot(page, f"12-{key}")
        for other in ("/published", "/lanes", item_path, "/bulletin"):
            page.goto(url + other)
            text = page.locator("body").inner_text()
            assert EDITED_TITLE not in text and TITLE not in text
        page.goto(url + path)
        text = page.locator("body").inner_text()
        assert EDITED_TITLE not in text and TITLE not in text
    auditor = people.open("auditor", "/audit?verify=1")
    expect(auditor.locator(".verify")).to_have_attribute("data-ok", "true")

    # -- on a phone: the member's list and item, the unit's queue
    member_phone = people("member", viewport=PHONE, tag="phone")
    member_phone.goto(url + "/mine")
    expect(member_phone.locator(f'tr[data-item="{item_id}"]')).to_have_count(1)
    shot(member_phone, "13-phone-member-items")
    member_phone.goto(url + item_path)
    shot(member_phone, "14-phone-member-item")
    width = member_phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing runs off the side of the phone's screen
    unit_phone = people("hrss", viewport=PHONE, tag="phone")
    unit_phone.goto(url + "/lanes")
    shot(unit_phone, "15-phone-unit-lanes")
