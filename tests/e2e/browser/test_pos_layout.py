"""The page at the sizes counters have: 1024×768 and 800×600 (Android POS) and 1366×768 (a laptop); touch screens.
Measured in Chromium: the top bar stays one row, the payment screens fit without scrolling, table cells do not
break inside a word, the order-detail dialog and the search field show their whole text."""
from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.pos import WECHAT_CODE, LiveAgent, LiveHub, counter_page, look_up, needs_chromium, place_order, shoot

pytestmark = needs_chromium
SIZES = [(1024, 768), (800, 600)]


@pytest.fixture
def open_page(browser, live_hub: LiveHub, live_agent: LiveAgent) -> Iterator:
    """A logged-in counter page of a given size (and touch screen or not)."""
    contexts = []

    def opened(width: int, height: int, *, touch: bool = False) -> Page:
        context, page = counter_page(browser, live_hub, agent_url=live_agent.base_url, width=width, height=height,
                                     touch=touch, keep_settings=True)
        contexts.append(context)
        return page

    yield opened
    for context in contexts:
        context.close()


def _inside_viewport(page: Page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None, selector
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"], (selector, box, size)


def _rows_of_top_bar(page: Page) -> int:
    """How many rows the top bar's buttons and badges sit on (by their vertical centres)."""
    return page.evaluate("""() => {
        const items = [...document.querySelectorAll('#topbar > *, #topbar nav > *, #topbar .status > *')]
            .filter((node) => node.offsetParent !== null && !node.matches('nav, .status'));
        return new Set(items.map((node) => { const r = node.getBoundingClientRect(); return Math.round((r.top + r.bottom) / 40); })).size;
    }""")


@pytest.mark.parametrize("width, height", SIZES)
def test_the_top_bar_is_one_row_and_the_qr_screen_fits(open_page, live_hub: LiveHub, width: int, height: int) -> None:
    page = open_page(width, height)
    assert _rows_of_top_bar(page) == 1
    page.evaluate("document.querySelector('#unprinted-button').hidden = false")  # a waiting receipt needs room too
    page.evaluate("document.querySelector('#unprinted-button').textContent = '未打印凭条（3）'")
    assert _rows_of_top_bar(page) == 1
    _inside_viewport(page, "#topbar .status button:last-child")

    look_up(page, "4", "30010001")  # an other fee: no arrears of a gas account used up by this order
    page.get_by_label("缴费金额（元）").fill("1.23")
    place_order(page)
    _inside_viewport(page, '[data-name="pay"] .cancel-order')
    page.keyboard.press("1")
    expect(page.locator("#qr-image")).to_be_visible()
    page.wait_for_function("document.querySelector('#qr-image').complete")
    shoot(page, f"layout-qr-{width}x{height}")
    for part in ("#qr-image", "#qr-countdown", '[data-name="qr"] .amount-big', '[data-name="qr"] .cancel-order'):
        _inside_viewport(page, part)
    assert page.evaluate("document.documentElement.scrollHeight") <= height


def _paid_other_fee(live_hub: LiveHub) -> None:
    """A posted order (state 缴费成功) for the list, whatever other tests left in the hub."""
    order = live_hub.call("POST", "/api/v1/orders", body={
        "out_trade_no": secrets.token_hex(8), "fee_type": "other", "account_no": "30010001", "amount": 1234})
    live_hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", body={"auth_code": WECHAT_CODE})
    deadline = time.monotonic() + 20
    while live_hub.call("GET", f"/api/v1/orders/{order['order_no']}")["state"] != "fulfilled":
        assert time.monotonic() < deadline
        time.sleep(0.2)


def _words_broken_across_lines(page: Page, selector: str) -> list[str]:
    """Words (text between spaces and punctuation) in these cells that start on one line and end on another."""
    return page.evaluate("""(selector) => {
        const broken = [];
        for (const cell of document.querySelectorAll(selector)) {
            const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                for (const word of node.data.matchAll(/[^\\s，,、·：:]+/g)) {
                    const range = document.createRange();
                    range.setStart(node, word.index);
                    range.setEnd(node, word.index + word[0].length);
                    const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
                    if (tops.size > 1) broken.push(word[0]);
                }
            }
        }
        return broken;
    }""", selector)


@pytest.mark.parametrize("width, height", SIZES)
def test_order_list_cells_do_not_break_inside_a_word(open_page, live_hub: LiveHub, width: int, height: int) -> None:
    _paid_other_fee(live_hub)
    page = open_page(width, height)
    page.keyboard.press("F3")
    expect(page.locator("#orders-rows tr").first).to_be_visible()
    shoot(page, f"layout-orders-{width}x{height}")
    assert _words_broken_across_lines(page, "#orders-rows td, table.orders th") == []
    assert _rows_of_top_bar(page) == 1


def test_order_detail_and_search_field_show_their_whole_text_at_1366x768(open_page, live_hub: LiveHub) -> None:
    _paid_other_fee(live_hub)
    page = open_page(1366, 768)
    page.keyboard.press("F3")
    search = page.locator("#order-scan-form input")
    room = search.evaluate("""(input) => {
        const style = getComputedStyle(input);
        const context = document.createElement("canvas").getContext("2d");
        context.font = `${style.fontSize} ${style.fontFamily}`;
        const inner = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return inner - context.measureText(input.placeholder).width;
    }""")
    assert room >= 0, f"the placeholder is cut by {-room:.0f}px"
    page.locator("#orders-rows tr").first.click()
    dialog = page.locator("#detail-dialog")
    expect(dialog).to_be_visible()
    shoot(page, "layout-detail-1366x768")
    cut = dialog.evaluate("""(dialog) => [...dialog.querySelectorAll('h2, h3, dt, dd, button')]
        .filter((node) => node.scrollWidth > node.clientWidth + 1 || node.scrollHeight > node.clientHeight + 1)
        .map((node) => node.textContent)""")
    assert cut == []
    for title in ("h2", "h3"):
        for index in range(dialog.locator(title).count()):
            box, frame = dialog.locator(title).nth(index).bounding_box(), dialog.bounding_box()
            assert box and frame and box["x"] >= frame["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
    assert _words_broken_across_lines(page, "#detail-dialog dt, #detail-dialog h2, #detail-dialog h3") == []

    # a long history scrolls under the title and the buttons, which stay in view
    dialog.evaluate("""(dialog) => {
        const history = dialog.querySelector('#detail-history');
        for (let i = 0; i < 40; i += 1) history.append(history.firstElementChild.cloneNode(true));
        dialog.scrollTop = dialog.scrollHeight;
    }""")
    frame = dialog.bounding_box()
    for part in ("h2", ".actions"):
        box = dialog.locator(part).bounding_box()
        assert frame and box and box["y"] >= frame["y"] - 1 and box["y"] + box["height"] <= frame["y"] + frame["height"] + 1, part
    shoot(page, "layout-detail-long-1366x768")


def test_a_touch_screen_shows_buttons_without_f_key_hints(open_page) -> None:
    page = open_page(1024, 768, touch=True)
    assert page.evaluate("matchMedia('(pointer: coarse)').matches")
    look_up(page, "1", "10010002")
    for name in ("缴清欠费", "缴所选账单", "预存"):
        expect(page.get_by_role("radio", name=name)).to_be_visible()
    for name in ("下单", "返回"):
        expect(page.get_by_role("button", name=name)).to_be_visible()
    hints = page.evaluate("[...document.querySelectorAll('kbd')].filter((kbd) => kbd.offsetParent !== null).length")
    assert hints == 0
    shoot(page, "layout-touch-1024x768")
    assert _rows_of_top_bar(page) == 1
