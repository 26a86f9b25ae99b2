"""Small pure rules: wallets by payment code, masking, fen, yuan, backoff, terminal signatures, fees, roles."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payhub.kernel.domain import terminal_signature
from payhub.kernel.domain.errors import Forbidden, InvalidInput
from payhub.counter.domain.fees import FeeType, parse_fee_type
from payhub.cards.domain.jobs import CardJobKind
from payhub.kernel.domain.jobs import JobKind, backoff
from payhub.kernel.services.job_handlers import JobHandlers
from payhub.kernel.services.outbox import kernel_jobs
from payhub.cards.jobs import card_jobs
from payhub.kernel.domain.money import MAX_ORDER_FEN, require_fen, yuan
from payhub.kernel.domain.tenancy import Role, require_role
from payhub.kernel.domain.wallets import Wallet, mask_code, wallet_of

DIGITS = "0123456789"


def code(prefix: str, length: int) -> str:
    return (prefix + "1234567890" * 3)[:length]


# --- wallets -------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["10", "11", "12", "13", "14", "15"])
def test_wechat_codes_are_18_digits_from_10_to_15(prefix):
    assert wallet_of(code(prefix, 18)) is Wallet.WECHAT


@pytest.mark.parametrize("prefix", ["25", "26", "27", "28", "29", "30"])
@pytest.mark.parametrize("length", [16, 20, 24])
def test_alipay_codes_are_16_to_24_digits_from_25_to_30(prefix, length):
    assert wallet_of(code(prefix, length)) is Wallet.ALIPAY


def test_unionpay_codes_are_19_digits_from_62():
    assert wallet_of(code("62", 19)) is Wallet.UNIONPAY


def test_surrounding_whitespace_from_the_scanner_is_ignored():
    assert wallet_of(f" {code('13', 18)}\r\n") is Wallet.WECHAT


@pytest.mark.parametrize("auth_code", [
    code("13", 17), code("13", 19), code("16", 18), code("09", 18),      # WeChat length / prefix
    code("28", 15), code("28", 25), code("24", 18), code("31", 18),      # Alipay length / prefix
    code("62", 18), code("62", 20), code("63", 19),                      # UnionPay length / prefix
    "", "   ", "13456789012345678a", "1345678901 2345678", "-13456789012345678",
])
def test_anything_else_is_a_bad_payment_code(auth_code):
    with pytest.raises(InvalidInput) as refused:
        wallet_of(auth_code)
    assert refused.value.code == "BAD_PAYMENT_CODE"


@pytest.mark.parametrize("auth_code", ["13" + "４" * 16, "62" + "٣" * 17, "28" + "１" * 14])
def test_non_ascii_digits_are_a_bad_payment_code(auth_code):
    with pytest.raises(InvalidInput):
        wallet_of(auth_code)


def expected_wallet(auth_code: str) -> Wallet | None:
    """The rule of the customer's requirements, written independently of the regular expressions."""
    if not (auth_code.isascii() and auth_code.isdigit()):
        return None
    head, size = auth_code[:2], len(auth_code)
    if size == 18 and "10" <= head <= "15":
        return Wallet.WECHAT
    if 16 <= size <= 24 and "25" <= head <= "30":
        return Wallet.ALIPAY
    if size == 19 and head == "62":
        return Wallet.UNIONPAY
    return None


@given(st.sampled_from(["10", "13", "15", "16", "24", "25", "30", "31", "62", "63"]), st.text(DIGITS, max_size=24))
def test_wallet_of_agrees_with_the_written_rule(prefix, rest):
    auth_code = prefix + rest
    expected = expected_wallet(auth_code)
    if expected is None:
        with pytest.raises(InvalidInput):
            wallet_of(auth_code)
    else:
        assert wallet_of(auth_code) is expected


@given(st.text(DIGITS, max_size=30))
def test_mask_code_never_reveals_more_than_the_first_and_last_four(auth_code):
    masked = mask_code(auth_code)

    assert len(masked) == len(auth_code)
    if len(auth_code) <= 8:
        assert set(masked) <= {"*"}
    else:
        assert masked[:4] == auth_code[:4] and masked[-4:] == auth_code[-4:]
        assert set(masked[4:-4]) == {"*"}


def test_mask_code_masks_the_stripped_code():
    assert mask_code(" 134567890123456789 ") == "1345**********6789"


# --- money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fen", [1, 100, MAX_ORDER_FEN])
def test_require_fen_accepts_whole_positive_fen_up_to_the_limit(fen):
    assert require_fen(fen) == fen


@pytest.mark.parametrize("value", [0, -1, MAX_ORDER_FEN + 1, True, False, 1.0, 100.5, Decimal(100), "100", None])
def test_require_fen_refuses_anything_else(value):
    with pytest.raises(InvalidInput) as refused:
        require_fen(value)
    assert (refused.value.code, refused.value.params) == ("BAD_AMOUNT", {"max_fen": MAX_ORDER_FEN})


def test_require_fen_honours_a_lower_limit():
    assert require_fen(500, max_fen=500) == 500
    with pytest.raises(InvalidInput):
        require_fen(501, max_fen=500)


@pytest.mark.parametrize(("fen", "text"), [
    (0, "0.00"), (5, "0.05"), (10, "0.10"), (100, "1.00"), (12345, "123.45"), (-5, "-0.05"), (-12345, "-123.45"),
])
def test_yuan_writes_fen_with_two_decimals(fen, text):
    assert yuan(fen) == text


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_yuan_round_trips_to_the_same_fen(fen):
    assert Decimal(yuan(fen)) * 100 == fen


# --- job backoff ---------------------------------------------------------------------------------


def test_backoff_starts_at_five_seconds_and_doubles():
    assert [backoff(attempt=a).total_seconds() for a in range(1, 6)] == [5, 10, 20, 40, 80]


def test_backoff_grows_and_caps_at_an_hour():
    waits = [backoff(attempt=a) for a in range(0, 60)]

    assert waits == sorted(waits)
    assert max(waits) == timedelta(seconds=3600) == waits[-1]
    assert backoff(attempt=10_000) == timedelta(seconds=3600)


def test_every_job_kind_has_a_last_try():
    assert all(kind.max_attempts >= 1 for kind in (*JobKind, *CardJobKind))


def test_every_job_kind_has_one_handler_and_no_name_is_taken_twice():
    handlers = JobHandlers([*kernel_jobs(), *card_jobs()])

    assert all(handlers.of(kind.value).kind is kind for kind in (*JobKind, *CardJobKind))
    with pytest.raises(ValueError):
        JobHandlers([*kernel_jobs(), *kernel_jobs()[:1]])


# --- terminal signatures -------------------------------------------------------------------------

REQUEST = {"method": "POST", "path": "/api/v1/orders?x=1", "timestamp": "1716170400", "nonce": "n-1",
           "body": b'{"amount":100}'}
KEY = "terminal-key"


def test_a_signature_matches_the_request_it_signs():
    signature = terminal_signature.sign(key=KEY, **REQUEST)

    assert terminal_signature.matches(key=KEY, signature=signature, **REQUEST)
    assert terminal_signature.matches(key=KEY, signature=signature.upper(), **REQUEST)


@pytest.mark.parametrize(("part", "changed"), [
    ("method", "PUT"), ("path", "/api/v1/orders?x=2"), ("path", "/api/v1/orders"), ("timestamp", "1716170401"),
    ("nonce", "n-2"), ("body", b'{"amount":1000}'), ("body", b""),
])
def test_changing_any_signed_part_breaks_the_signature(part, changed):
    signature = terminal_signature.sign(key=KEY, **REQUEST)

    assert not terminal_signature.matches(key=KEY, signature=signature, **(REQUEST | {part: changed}))


def test_another_key_breaks_the_signature():
    signature = terminal_signature.sign(key=KEY, **REQUEST)

    assert not terminal_signature.matches(key="other-key", signature=signature, **REQUEST)
    assert not terminal_signature.matches(key=KEY, signature=signature[:-1], **REQUEST)
    assert not terminal_signature.matches(key=KEY, signature="", **REQUEST)


def test_the_method_is_signed_in_upper_case():
    assert terminal_signature.sign(key=KEY, **(REQUEST | {"method": "post"})) == terminal_signature.sign(
        key=KEY, **REQUEST)


# --- fees and roles ------------------------------------------------------------------------------


def test_fee_types_parse_by_code_and_only_other_fees_skip_the_arrears_lookup():
    assert [parse_fee_type(kind.value) for kind in FeeType] == list(FeeType)
    assert [kind for kind in FeeType if not kind.has_arrears] == [FeeType.OTHER]
    with pytest.raises(InvalidInput) as refused:
        parse_fee_type("electricity")
    assert refused.value.params == {"fee_type": "electricity"}


@pytest.mark.parametrize(("role", "needed", "allowed"), [
    (Role.OPERATOR, Role.OPERATOR, True), (Role.OPERATOR, Role.SUPERVISOR, False),
    (Role.SUPERVISOR, Role.SUPERVISOR, True), (Role.ADMIN, Role.SUPERVISOR, True), (Role.SUPERVISOR, Role.ADMIN, False),
])
def test_a_role_allows_what_it_outranks(role, needed, allowed):
    if allowed:
        require_role(role=role, needed=needed)
    else:
        with pytest.raises(Forbidden) as refused:
            require_role(role=role, needed=needed)
        assert refused.value.params == {"role": needed.label_zh}
