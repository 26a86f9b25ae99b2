"""A slow arrears query (TCIS sandbox account 10010093 answers after 20 s; the hub gives up after 10 s): the page
shows the seconds waited and a cancel, and says the billing system is slow, not the network."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.pos import needs_chromium, shoot

pytestmark = needs_chromium
SLOW_ACCOUNT = "10010093"


def _ask(page: Page, account_no: str) -> None:
    page.keyboard.press("1")
    account = page.locator("#account-form").get_by_label("户号")
    account.fill(account_no)
    account.press("Enter")


def test_a_slow_billing_system_is_named_as_such_after_the_seconds_waited(counter: Page) -> None:
    _ask(counter, SLOW_ACCOUNT)
    progress = counter.locator("#arrears-progress")
    expect(progress).to_contain_text(re.compile(r"查询中… 已等待 [2-9] 秒"), timeout=5_000)
    expect(progress.get_by_role("button", name="取消")).to_be_visible()
    shoot(counter, "arrears-slow-waiting")
    message = counter.locator('[data-name="account"] [data-message]')
    expect(message).to_contain_text("缴费系统响应缓慢", timeout=20_000)
    expect(message).to_contain_text("网络正常")
    expect(message).not_to_contain_text("暂时无法连接")
    expect(progress).to_be_hidden()
    expect(counter.locator("#lookup-button")).to_be_enabled()
    shoot(counter, "arrears-slow-answer")


def test_a_slow_query_can_be_cancelled_and_another_account_looked_up(counter: Page) -> None:
    _ask(counter, SLOW_ACCOUNT)
    progress = counter.locator("#arrears-progress")
    expect(progress).to_contain_text("已等待 1 秒")
    progress.get_by_role("button", name="取消").click()
    expect(counter.locator('[data-name="account"] [data-message]')).to_have_text("已取消查询")
    expect(progress).to_be_hidden()
    account = counter.locator("#account-form").get_by_label("户号")
    expect(account).to_be_focused()

    account.fill(SLOW_ACCOUNT)  # Esc cancels a query too, and stays on the account
    account.press("Enter")
    expect(progress).to_be_visible()
    counter.keyboard.press("Escape")
    expect(counter.locator('[data-name="account"] [data-message]')).to_have_text("已取消查询")
    expect(account).to_be_visible()

    account.fill("10010003")
    account.press("Enter")
    expect(counter.locator("#arrears")).to_be_visible()
