"""`python -m reviewqueue.sandbox.multimail`: bad input is a clear message, not a traceback."""

import socket
import subprocess
import sys


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "reviewqueue.sandbox.multimail", *args], capture_output=True, text=True, timeout=30
    )


def test_bad_knob_value_is_a_clear_message():
    result = run("--error-rate", "3")
    assert result.returncode == 2 and "error_rate" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_state_file_is_a_clear_message(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{half a file")
    result = run("--state", str(state), "--port", "0")
    assert result.returncode == 2 and "not a MultiMail sandbox state file" in result.stderr
    assert "Traceback" not in result.stderr
    assert state.read_text() == "{half a file"  # never overwritten


def test_port_in_use_is_a_clear_message():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run("--port", str(taken.getsockname()[1]), "--no-seed")
    # Werkzeug names the taken port itself and exits 1.
    assert result.returncode != 0 and "in use" in result.stderr and "Traceback" not in result.stderr
