"""Card keys in a fresh SoftHSM2 token: the master key made and locked inside, per-card MACs, rotation, the CLI."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from payhub.cards.domain.cards import luhn_digit
from tests.cards.conftest import expect

pkcs11 = pytest.importorskip("pkcs11", reason="python-pkcs11 is not installed")

from payhub.integrations.hsm.pkcs11_keys import Pkcs11CardKeys  # noqa: E402 - needs pkcs11

MODULE = next((path for path in ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
               if Path(path).exists()), None)
pytestmark = pytest.mark.skipif(MODULE is None or shutil.which("softhsm2-util") is None,
                                reason="libsofthsm2 is missing: apt-get install softhsm2")
TOKEN, PIN = "payhub-test", "246810"
CARD_A = "880000000001" + luhn_digit("880000000001")
CARD_B = "880000000002" + luhn_digit("880000000002")


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SoftHSM2 configuration of our own with one fresh token; the library is unloaded afterwards."""
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--so-pin", "13579135", "--pin", PIN],
                   check=True, capture_output=True)
    yield str(conf)
    pkcs11.unload(MODULE)
    if before is None:
        del os.environ["SOFTHSM2_CONF"]
    else:
        os.environ["SOFTHSM2_CONF"] = before


def keys(key_label: str, *, pin: str = PIN) -> Pkcs11CardKeys:
    return Pkcs11CardKeys(module=MODULE, token_label=TOKEN, pin=pin, key_label=key_label)


def test_master_key_is_generated_once_inside_the_token_and_cannot_leave_it(softhsm: str) -> None:
    store = keys("init-test")

    assert store.init() is True and store.init() is False
    [master] = store.status()
    assert (master.version, master.label, master.sensitive, master.extractable, master.current) == (
        1, "init-test-v1", True, False, True)
    with pkcs11.lib(MODULE).get_token(token_label=TOKEN).open(user_pin=PIN) as session:
        key = session.get_key(label="init-test-v1")
        with pytest.raises(pkcs11.AttributeSensitive):
            key[pkcs11.Attribute.VALUE]
    assert PIN not in repr(store)


def test_card_macs_are_per_card_and_checked_inside_the_token(softhsm: str) -> None:
    store = keys("mac-test")
    store.init()

    mac = store.card_mac(card_no=CARD_A, data=b"balance=1000;count=7")

    assert len(mac) == 32 and mac == store.card_mac(card_no=CARD_A, data=b"balance=1000;count=7")
    assert mac != store.card_mac(card_no=CARD_B, data=b"balance=1000;count=7")
    assert store.verify_card_mac(card_no=CARD_A, data=b"balance=1000;count=7", mac=mac)
    assert not store.verify_card_mac(card_no=CARD_A, data=b"balance=9000;count=7", mac=mac)
    assert not store.verify_card_mac(card_no=CARD_B, data=b"balance=1000;count=7", mac=mac)
    with expect("VALIDATION"):
        store.verify_card_mac(card_no=CARD_A, data=b"x", mac="not hex")
    with expect("BAD_CARD_NO"):
        store.card_mac(card_no="8800000000000010", data=b"x")


def test_rotation_makes_new_macs_under_a_new_version_and_old_macs_still_verify(softhsm: str) -> None:
    store = keys("rotate-test")
    store.init()
    old = store.card_mac(card_no=CARD_A, data=b"write-back")

    assert store.rotate() == 2
    new = store.card_mac(card_no=CARD_A, data=b"write-back")

    assert new != old
    assert store.verify_card_mac(card_no=CARD_A, data=b"write-back", mac=old)
    assert store.verify_card_mac(card_no=CARD_A, data=b"write-back", mac=new)
    assert [(k.version, k.current) for k in store.status()] == [(1, False), (2, True)]


def test_missing_master_key_and_wrong_pin_are_clear_errors(softhsm: str) -> None:
    with expect("HSM_NO_MASTER_KEY"):
        keys("never-made").card_mac(card_no=CARD_A, data=b"x")
    with expect("HSM_NO_MASTER_KEY"):
        keys("never-made").rotate()
    with expect("HSM_UNAVAILABLE") as wrong_pin:
        keys("never-made", pin="000000").status()
    assert "000000" not in str(wrong_pin.error)


def test_keys_cli_initialises_rotates_and_reports(softhsm: str) -> None:
    from payhub.entrypoints.cli import app

    env = {"PAYHUB_DEMO": "true", "PAYHUB_HSM__MODULE": MODULE, "PAYHUB_HSM__TOKEN_LABEL": TOKEN,
           "PAYHUB_HSM__PIN": PIN, "PAYHUB_HSM__KEY_LABEL": "cli-test"}
    runner = CliRunner()

    missing = runner.invoke(app, ["keys", "status"], env=env)
    first = runner.invoke(app, ["keys", "init"], env=env)
    again = runner.invoke(app, ["keys", "init"], env=env)
    rotated = runner.invoke(app, ["keys", "rotate"], env=env)
    status = runner.invoke(app, ["keys", "status"], env=env)
    wrong_pin = runner.invoke(app, ["keys", "status"], env=env | {"PAYHUB_HSM__PIN": "999999"})

    assert missing.exit_code == 1 and "payhub keys init" in missing.output
    assert first.exit_code == 0 and "v1" in first.output and "已有" in again.output
    assert rotated.exit_code == 0 and "v2" in rotated.output
    assert status.output.splitlines() == ["v1\tcli-test-v1\tsensitive=True\textractable=False",
                                          "v2\tcli-test-v2\tsensitive=True\textractable=False\tcurrent"]
    assert wrong_pin.exit_code == 1 and "HSM_UNAVAILABLE" in wrong_pin.output
    assert all(PIN not in result.output and "999999" not in result.output
               for result in (missing, first, again, rotated, status, wrong_pin))
