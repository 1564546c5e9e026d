"""The tunable parts of the rules, handed in from the settings."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Policy:
    strict_attributes: bool = True
    default_phone_region: str | None = None
    session_gap_ms: int = 30 * 60_000
    anonymous_retention_ms: int = 30 * 86_400_000
    dedupe_window_ms: int = 24 * 3_600_000
