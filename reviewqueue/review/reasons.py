"""Preset reasons for rejecting a draft. The UI offers these beside a free-text field; one is required."""

PRESET_REJECT_REASONS: tuple[str, ...] = (
    "Wrong or outdated information",
    "Wrong recipient",
    "Tone not appropriate",
    "Promises something we cannot do",
    "Customer already answered elsewhere",
    "Contains sensitive or internal data",
    "Should not be sent by email",
)
