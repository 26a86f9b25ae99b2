"""Registering the browser, logging in and out, surviving a reload, the idle lock, the English toggle."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.browser.pos import OPERATOR_PASSWORD, needs_chromium, shoot

pytestmark = needs_chromium


def test_setup_link_registers_the_terminal_and_the_operator_logs_in(page) -> None:
    assert "#" not in page.url, "the terminal key must leave the address bar"
    assert page.evaluate("JSON.parse(localStorage.getItem('payhub.terminal')).terminal") == "POS001"
    expect(page.get_by_text("终端 POS001")).to_be_visible()
    shoot(page, "01-login")

    page.get_by_label("用户名", exact=True).fill("op01")
    page.get_by_label("密码", exact=True).fill("wrong")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("用户名或密码错误")).to_be_visible()

    page.get_by_label("密码", exact=True).fill(OPERATOR_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="燃气费")).to_be_visible()
    expect(page.locator("#who")).to_contain_text("张柜员")
    shoot(page, "02-fee-types")

    page.reload()
    expect(page.get_by_role("button", name="水费")).to_be_visible()

    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()


def test_idle_lock_asks_for_the_password(counter) -> None:
    counter.keyboard.press("F9")
    expect(counter.get_by_text("张柜员，请输入密码解锁")).to_be_visible()
    counter.reload()
    lock = counter.locator("#lock-overlay")
    expect(lock).to_be_visible()
    shoot(counter, "03-locked")
    lock.locator("input[name=password]").fill(OPERATOR_PASSWORD)
    lock.get_by_role("button", name="解锁").click()
    expect(lock).to_be_hidden()

    counter.evaluate("""localStorage.setItem('payhub.settings', JSON.stringify({idleMinutes: 0.02}))""")
    counter.reload()
    expect(lock).to_be_visible(timeout=5000)


def test_english_toggle(counter) -> None:
    counter.get_by_role("button", name="English").click()
    expect(counter.get_by_role("button", name="Gas")).to_be_visible()
    expect(counter.get_by_text("Choose the fee type")).to_be_visible()
    counter.get_by_role("button", name="中文").click()
    expect(counter.get_by_role("button", name="燃气费")).to_be_visible()
