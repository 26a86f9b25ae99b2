"""Settings, read from PAYHUB_* environment variables (nested with __) and validated at start."""
from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEMO_SECRET = "demo-secret-not-for-production"
HIDDEN = ConfigDict(hide_input_in_errors=True)  # a validation error must not echo the keys it was given


class SwiftPassAccount(BaseModel):
    """One merchant's SwiftPass credentials."""

    model_config = HIDDEN

    mch_id: str
    sign_type: Literal["MD5", "RSA_1_256", "RSA_1_1"] = "MD5"
    key: str | None = Field(None, repr=False)              # MD5 key
    private_key_pem: str | None = Field(None, repr=False)  # merchant's RSA private key (RSA_1_256 / RSA_1_1)
    platform_public_key_pem: str | None = None   # SwiftPass's public key that signs answers and notifies

    @model_validator(mode="after")
    def _keys_match_sign_type(self) -> SwiftPassAccount:
        if self.sign_type == "MD5" and not self.key:
            raise ValueError("sign_type MD5 needs key")
        if self.sign_type != "MD5" and not (self.private_key_pem and self.platform_public_key_pem):
            raise ValueError("RSA sign types need private_key_pem and platform_public_key_pem")
        return self


class SwiftPassSettings(BaseModel):
    model_config = HIDDEN

    base_url: str = "https://pay.swiftpass.cn"
    timeout_seconds: float = 15.0
    accounts: dict[str, SwiftPassAccount] = Field(default_factory=dict)  # by the hub's merchant code


class TcisSettings(BaseModel):
    model_config = HIDDEN

    base_url: str = "http://127.0.0.1:8100"
    app_id: str = "payhub"
    secret: str = Field(DEMO_SECRET, repr=False)
    timeout_seconds: float = 10.0


class HsmSettings(BaseModel):
    """The PKCS#11 key store (加密机) holding the card master keys."""

    model_config = HIDDEN

    module: str = "/usr/lib/softhsm/libsofthsm2.so"   # the vendor's PKCS#11 library (SoftHSM2 for tests)
    token_label: str = "payhub"
    pin: SecretStr = SecretStr("")                      # the token's user PIN
    key_label: str = "payhub-card-master"               # versions are labelled {key_label}-v1, -v2, ...


class AliyunSmsSettings(BaseModel):
    """Alibaba Cloud SMS (Dysmsapi SendSms) for members' verification codes; off while access_key_id is empty."""

    model_config = HIDDEN

    endpoint: str = "https://dysmsapi.aliyuncs.com"
    region_id: str = "cn-hangzhou"
    access_key_id: str = ""
    access_key_secret: SecretStr = SecretStr("")
    sign_name: str = ""          # the approved signature (短信签名), shown as 【sign_name】 before the text
    template_code: str = ""      # the approved verification-code template (验证码模板), e.g. SMS_123456789
    template_param: str = "code" # the template's one variable, ${code}
    timeout_seconds: float = 5.0

    @property
    def configured(self) -> bool:
        return bool(self.access_key_id)

    @model_validator(mode="after")
    def _complete_when_configured(self) -> AliyunSmsSettings:
        if self.configured and not (self.access_key_secret.get_secret_value() and self.sign_name and self.template_code):
            raise ValueError("SMS: access_key_id needs access_key_secret, sign_name and template_code")
        return self


class LoginThrottleSettings(BaseModel):
    """Wrong operator passwords (logins and on-the-spot approvals) that lock a user name or a terminal for a while."""

    user_failures: int = Field(5, ge=1)          # within the window, per user name
    terminal_failures: int = Field(20, ge=1)     # within the window, per terminal, whatever the user names
    window_minutes: int = Field(15, ge=1)
    lockout_minutes: int = Field(15, ge=1)       # the first lockout; each further one in a row lasts twice as long
    max_lockout_minutes: int = Field(24 * 60, ge=1)
    backoff_reset_hours: int = Field(24, ge=1)   # a lockout this long over no longer lengthens the next
    audit_days: int = Field(180, ge=1)            # how long sign_in_audit keeps a failure, refusal or lockout


class TimingSettings(BaseModel):
    """How long orders, payments, sessions, signatures and job leases last (PAYHUB_TIMINGS__*)."""

    native_qr_minutes: int = 5
    micropay_poll_seconds: int = 5
    micropay_poll_cap_seconds: int = 45
    order_unpaid_minutes: int = 30            # a created order nobody paid is closed after this
    session_hours: int = 12
    signature_window_seconds: int = 300
    job_lease_seconds: int = 60


class CardSettings(BaseModel):
    """Stored-value card rules (PAYHUB_CARDS__*)."""

    shards: int = Field(16, ge=1, le=256)      # sub-accounts of each hot card account
    business_tz: str = "Asia/Shanghai"          # business dates of card limits and custody settlement
    password_tries: int = Field(3, ge=1)        # wrong pay passwords that freeze the cards
    sms_code_minutes: int = Field(5, ge=1)      # a member's verification code stays valid this long
    sms_resend_seconds: int = Field(60, ge=0)   # before another code may be sent to the same phone


class FlatEnvironmentNames(PydanticBaseSettingsSource):
    """The flat names of earlier releases, below the grouped ones: PAYHUB_MICROPAY_POLL_SECONDS sets
    timings.micropay_poll_seconds, PAYHUB_CARD_SHARDS cards.shards (PAYHUB_TIMINGS__…, PAYHUB_CARDS__… win)."""

    GROUPS: ClassVar[dict[str, tuple[str, type[BaseModel]]]] = {
        "timings": ("payhub_", TimingSettings), "cards": ("payhub_card_", CardSettings)}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # all values come from __call__

    def __call__(self) -> dict[str, Any]:
        environment = {name.lower(): value for name, value in os.environ.items()}
        found: dict[str, Any] = {}
        for group, (prefix, model) in self.GROUPS.items():
            values = {name: environment[prefix + name] for name in model.model_fields if prefix + name in environment}
            if values:
                found[group] = values
        return found


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYHUB_", env_nested_delimiter="__", extra="ignore",
                                      hide_input_in_errors=True)

    demo: bool = False
    database_url: str = Field("sqlite+aiosqlite:///./var/payhub.sqlite3", repr=False)  # may hold a password
    db_pool_size: int = 20                     # PostgreSQL connections per process (API requests + worker jobs)
    secret_key: str = Field(DEMO_SECRET, repr=False)  # encrypts terminal keys at rest
    public_url: str = "http://127.0.0.1:8000"  # where channels send notifies
    host: str = "127.0.0.1"
    port: int = 8000
    embedded_worker: bool = True
    worker_poll_seconds: float = 0.5          # with PostgreSQL only a fallback: workers are woken by NOTIFY
    serve_workers: int = Field(1, ge=1)        # `payhub serve` processes sharing the port (PostgreSQL only)
    log_json: bool = True
    timings: TimingSettings = Field(default_factory=TimingSettings)
    cards: CardSettings = Field(default_factory=CardSettings)
    card_push_timeout_seconds: float = 10.0
    # host names and IP networks (CIDR) card pushes may reach although private or loopback (demo mode adds loopback)
    card_push_allowed: list[str] = Field(default_factory=list)
    swiftpass: SwiftPassSettings = Field(default_factory=SwiftPassSettings)
    tcis: TcisSettings = Field(default_factory=TcisSettings)
    hsm: HsmSettings = Field(default_factory=HsmSettings)
    login_throttle: LoginThrottleSettings = Field(default_factory=LoginThrottleSettings)
    sms: AliyunSmsSettings = Field(default_factory=AliyunSmsSettings)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FlatEnvironmentNames(settings_cls), dotenv_settings, file_secret_settings)

    @model_validator(mode="after")
    def _no_default_secrets_outside_demo(self) -> Settings:
        if not self.demo and DEMO_SECRET in (self.secret_key, self.tcis.secret):
            raise ValueError("set PAYHUB_SECRET_KEY and PAYHUB_TCIS__SECRET: default secrets are for demo mode only")
        return self
