"""Settings from environment variables prefixed `PATHWAY_` (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the product, with the defaults of the embedded SQLite set-up."""

    model_config = SettingsConfigDict(env_prefix="PATHWAY_", extra="ignore")

    database_url: str = "sqlite:///pathway.db"
    site_timezone: str = "UTC"
    host: str = "127.0.0.1"
    port: int = 8000
    session_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="a dashboard session ends after this long idle")
    session_hours: float = Field(
        default=8.0, gt=0, le=24 * 7, description="a dashboard session ends this long after login")
    secure_cookies: bool = Field(default=False, description="dashboard cookie only over HTTPS")
    max_body_bytes: int = 256 * 1024
    scan_interval_seconds: int = 60
    deliver_interval_seconds: int = 10
    delivery_max_attempts: int = 8
    delivery_backoff_seconds: float = 30.0
    delivery_lease_seconds: int = 60
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = "pathway@localhost"
    email_mode: str = "per_reminder"
    lead_clinician_email: str = ""
    log_level: str = "INFO"
    idempotency_retention_hours: int = Field(
        default=24, ge=1, description="how long a POST's Idempotency-Key and response are kept")
    kpi_report_seconds: float = Field(
        default=300.0, ge=0, description="how long a process reuses a KPI report it computed")
    worklist_counts_seconds: float = Field(
        default=10.0, ge=0, description="how long a process reuses the worklist's summary counts")

    @field_validator("site_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone, in which calendar days start."""
        return ZoneInfo(self.site_timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
