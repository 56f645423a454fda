"""Keyboard-only journeys of a resident: the wizard from the procedure's page to the receipt,
then the status lookup, using only Tab, Shift+Tab, Enter, Space, arrow keys and typing.

On every page the focus is visible at each stop, and Tab reaches every control of the page's
main content in document order (one stop per radio group, as browsers do).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from madoguchi.audit.services import AuditActor
from madoguchi.procedures.banks import bank_get
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.models import Application
from madoguchi.procedures.services import procedure_publish
from tests.isolation import Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

# Describes the focused element the same way for the walk and for the expected order.
_DESCRIBE = """(el) => {
  if (!el || el === document.body) return "";
  const name = el.getAttribute("name") || "";
  const value = el.getAttribute("value") || "";
  const text = (el.getAttribute("aria-label") || el.textContent || "").trim().slice(0, 40);
  return `${el.tagName.toLowerCase()}|${el.id}|${name}|${el.type === "radio" ? "" : value}|${text}`;
}"""

# Every control of <main> a keyboard user reaches with Tab, in document order: visible, not
# disabled, tabindex not negative, and one stop per radio group (its checked radio, or its
# first when none is checked).
_EXPECTED = """() => {
  const describe = DESCRIBE;
  const all = [...document.querySelectorAll(
    "#main a[href], #main button, #main input, #main select, #main textarea, #main [tabindex]"
  )];
  const seenGroups = new Set();
  const out = [];
  for (const el of all) {
    if (el.disabled || el.tabIndex < 0 || el.type === "hidden") continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    if (box.width === 0 && box.height === 0) continue;
    if (el.type === "radio") {
      if (seenGroups.has(el.name)) continue;
      seenGroups.add(el.name);
      const group = [...document.getElementsByName(el.name)];
      out.push(describe(group.find((r) => r.checked) || group[0]));
      continue;
    }
    out.push(describe(el));
  }
  return out;
}""".replace("DESCRIBE", _DESCRIBE)

_FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  const style = getComputedStyle(el);
  const outlined = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  return el.matches(":focus-visible") && (outlined || style.boxShadow !== "none");
}"""


class Keys:
    """The resident's keyboard, checking focus at every stop."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def focused(self) -> str:
        return str(self.page.evaluate(f"({_DESCRIBE})(document.activeElement)"))

    def tab(self, *, back: bool = False) -> str:
        self.page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = self.focused()
        # Past the last control focus leaves the page for the browser's own controls.
        assert not focused or self.page.evaluate(_FOCUS_VISIBLE), f"focus not visible on {focused}"
        return focused

    def to_main(self) -> None:
        """Tab (round the page if need be) to the skip link, and follow it into the content."""
        self.to("本文へ移動")
        self.page.keyboard.press("Enter")
        assert self.page.evaluate("document.activeElement.id") == "main"

    def assert_order(self) -> None:
        """On a page just loaded: from the skip link, Tab through every control of <main> in
        order; Shift+Tab comes back the same way."""
        self.to_main()
        expected = self.page.evaluate(_EXPECTED)
        assert expected, "no controls on the page"
        reached = [self.tab() for _ in expected]
        assert reached == expected
        for previous in reversed(expected[:-1]):
            assert self.tab(back=True) == previous

    def to(self, pattern: str, limit: int = 150) -> None:
        """Tab onwards (round the page if need be) until the focused element matches."""
        for _ in range(limit):
            if re.search(pattern, self.tab()):
                return
        raise AssertionError(f"Tab never reached {pattern!r}")

    def type_into(self, pattern: str, text: str) -> None:
        self.to(pattern)
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(text)

    def press_on(self, pattern: str, key: str = "Enter") -> None:
        self.to(pattern)
        self.page.keyboard.press(key)
        self.page.wait_for_load_state()


@pytest.fixture
def benefit(tenant_a: Tenant) -> None:
    bank_get("0001")  # load the bank master before the clock of any page starts
    procedure_publish(
        municipality=tenant_a.municipality,
        data={**catalogue_definition("teigaku-kyufukin"), "department": "welfare"},
        actor=AuditActor(label="test"),
    )


def test_a_resident_applies_and_looks_up_the_status_with_the_keyboard_only(
    live_server: LiveServer, benefit: None, page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    keys = Keys(page)
    page.goto(f"{live_server.url}/kobe/procedures/teigaku-kyufukin/")
    keys.assert_order()
    keys.press_on(r"^button\|.*申請を始める")

    # Step 1: the applicant.
    expect(page.get_by_role("heading", level=1)).to_contain_text("ステップ 1 / 5")
    keys.assert_order()
    keys.type_into(r"\|f-name\|", "神戸 太郎")
    keys.type_into(r"\|f-name_kana\|", "コウベ タロウ")
    keys.type_into(r"\|f-birth_date\|", "昭和55年4月1日")
    keys.type_into(r"\|f-postal_code\|", "650-8570")
    keys.type_into(r"\|f-address\|", "神戸市中央区加納町6丁目5-1")
    keys.type_into(r"\|f-phone\|", "078-331-8181")
    keys.type_into(r"\|f-email\|", "taro@example.jp")
    page.keyboard.press("Enter")  # Enter in a text box: the form's default, "next"
    page.wait_for_load_state()

    # Step 2: one household member; Enter in its fields must not remove the row.
    expect(page.get_by_role("heading", level=1)).to_contain_text("世帯員")
    keys.press_on(r"^button\|.*世帯員を追加")
    expect(page.locator("fieldset.group-item > legend")).to_have_text(["世帯員（1人目）"])
    gaps = page.evaluate("""() => {
      const boxes = [...document.querySelectorAll("fieldset.group-item > .field")]
        .map((f) => f.getBoundingClientRect());
      return boxes.slice(1).map((b, i) => b.top - boxes[i].bottom);
    }""")
    assert len(gaps) == 3
    assert min(gaps) >= 16, gaps  # the row's fields are spaced
    keys.assert_order()
    keys.type_into(r"\|f-members-0-name\|", "神戸 花子")
    keys.type_into(r"\|f-members-0-name_kana\|", "コウベ ハナコ")
    keys.type_into(r"\|f-members-0-birth_date\|", "2019-05-01")
    keys.to(r"\|members\.0\.relationship\|")
    page.keyboard.press("ArrowDown")  # the first radio to the second: 子
    expect(page.get_by_label("子", exact=True)).to_be_checked()
    keys.press_on(r"\|f-members-0-name\|", "Enter")

    # Step 3: the bank found by name, the branch by reading, both chosen with the keyboard.
    expect(page.get_by_role("heading", level=1)).to_contain_text("振込先口座")
    # The first step is a link now: reachable from the step indicator.
    expect(page.get_by_role("link", name=re.compile("申請者（世帯主）"))).to_be_visible()
    keys.type_into(r"\|f-account-bank_query\|", "みついすみとも")
    page.keyboard.press("Enter")  # runs the search (enhancement); the button does the same
    page.wait_for_load_state()
    expect(page.locator("#f-account-bank_results")).to_contain_text("三井住友銀行（0009）")
    keys.assert_order()
    keys.to(r"\|account\.bank_pick\|")
    page.keyboard.press("Space")
    keys.type_into(r"\|f-account-branch_query\|", "じんぼうちょう")
    keys.press_on(r"^button\|f-account-branch_search\|")
    expect(page.locator("#f-account-bank_code-help")).to_contain_text("三井住友銀行（0009）")
    expect(page.locator("#f-account-branch_results")).to_contain_text("神保町支店（001）")
    keys.to(r"\|account\.branch_pick\|")
    page.keyboard.press("Space")
    keys.to(r"\|account\.account_type\|")
    page.keyboard.press("Space")
    keys.type_into(r"\|f-account-account_number\|", "1234567")
    keys.type_into(r"\|f-account-holder_name\|", "コウベ タロウ")
    page.keyboard.press("Enter")
    page.wait_for_load_state()

    # Step 4: the document through the file chooser, opened with the keyboard.
    expect(page.get_by_role("heading", level=1)).to_contain_text("ステップ 4 / 5")
    keys.assert_order()
    image = tmp_path / "id.png"
    image.write_bytes(PNG)
    keys.to(r"\|f-id_document\|")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(image))
    keys.to(r"\|f-agreement\|")
    page.keyboard.press("Space")
    keys.press_on(r"^button\|\|action\|next\|次へ進む")

    # The review, then the receipt.
    expect(page.get_by_role("heading", level=1)).to_contain_text("ステップ 5 / 5")
    expect(page.locator("main")).to_contain_text("三井住友銀行（0009）")
    keys.assert_order()
    keys.press_on(r"^button\|.*申請する")
    expect(page.get_by_role("heading", level=1)).to_have_text("申請を受け付けました")
    keys.assert_order()
    receipt = page.locator("#receipt-number").inner_text()
    secret = page.locator("#lookup-secret").inner_text()
    assert Application.objects.count() == 1

    # The status lookup, from the receipt's link.
    keys.press_on(r"^a\|.*申請の状況を確認する")
    expect(page.get_by_role("heading", level=1)).to_have_text("申請状況の確認")
    keys.assert_order()
    keys.type_into(r"\|f-receipt_number\|", receipt)
    keys.type_into(r"\|f-secret\|", secret)
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("#status-state")).to_be_visible()
    keys.assert_order()
