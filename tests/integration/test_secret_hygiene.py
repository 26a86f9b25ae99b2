"""Secrets stay out of what the hub prints and logs: settings errors, database errors, CLI errors."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from payhub.kernel.adapters.db.engine import open_database
from payhub.config import Settings
from payhub.entrypoints.cli import app

MD5_KEY = "md5-key-9f3a1c"


def test_a_bad_swiftpass_config_never_prints_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = {"M1": {"sign_type": "MD5", "key": MD5_KEY}}  # no mch_id
    env = {"PAYHUB_DEMO": "1", "PAYHUB_SWIFTPASS__ACCOUNTS": json.dumps(accounts)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as error:
        Settings()
    assert "mch_id" in str(error.value) and MD5_KEY not in str(error.value)
    result = CliRunner().invoke(app, ["terminal", "create", "M1", "T1", "x"], env=env)
    assert result.exit_code == 2 and "bad settings" in result.output and MD5_KEY not in result.output


def test_settings_never_show_their_secrets() -> None:
    settings = Settings(secret_key="hub-secret-key-xyz", tcis={"secret": "tcis-secret-xyz"},
                        swiftpass={"accounts": {"M1": {"mch_id": "1", "key": MD5_KEY}}})
    shown = repr(settings) + str(settings)
    assert "hub-secret-key-xyz" not in shown and "tcis-secret-xyz" not in shown and MD5_KEY not in shown
    assert settings.swiftpass.accounts["M1"].key == MD5_KEY


async def test_database_errors_never_carry_bound_values(db_url: str) -> None:
    database = open_database(db_url)
    try:
        async with database.write.connect() as conn:
            with pytest.raises(sa.exc.DBAPIError) as error:
                statement = sa.text("SELECT CAST(:pin AS INTEGER) + no_such_column")
                await conn.execute(statement, {"pin": "$argon2id$v=19$x"})
        assert "$argon2" not in str(error.value)
    finally:
        await database.dispose()


def test_terminal_create_for_an_unknown_merchant_says_so(db_url: str) -> None:
    result = CliRunner().invoke(app, ["terminal", "create", "NOPE", "T9", "x"],
                                env={"PAYHUB_DEMO": "1", "PAYHUB_DATABASE_URL": db_url})
    assert result.exit_code == 1, result.output
    assert "UNKNOWN_MERCHANT" in result.output and "NOPE" in result.output
