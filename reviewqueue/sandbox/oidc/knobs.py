"""The sandbox's live knobs (one process, several threads): the fault the next id_token carries."""

import threading

ID_TOKEN_FAULTS = ("tampered", "wrong_nonce", "wrong_audience", "expired")

_lock = threading.Lock()
_state = {"id_token_fault": ""}


def set_id_token_fault(fault: str) -> None:
    if fault and fault not in ID_TOKEN_FAULTS:
        raise ValueError(f"id_token_fault must be one of {', '.join(ID_TOKEN_FAULTS)} (or empty)")
    with _lock:
        _state["id_token_fault"] = fault


def take_id_token_fault() -> str:
    """The fault for this id_token; it applies once."""
    with _lock:
        fault, _state["id_token_fault"] = _state["id_token_fault"], ""
    return fault


def snapshot() -> dict:
    with _lock:
        return dict(_state)
