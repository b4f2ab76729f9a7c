"""tests/livesystem.py's wait_for, the one wait of the test toolbox: for a value, and for a service coming up."""

import pytest

from tests.livesystem import PYTHON, Process, WaitTimeout, wait_for


def test_returns_the_first_truthy_value():
    values = iter([0, None, "", "up"])
    assert wait_for(lambda: next(values), timeout=5, what="the value", interval=0) == "up"


def test_fails_naming_what_it_waited_for_and_the_last_value_seen():
    with pytest.raises(WaitTimeout, match=r"the queue: not true after 0\.2 s \(last: \[\]\)"):
        wait_for(list, timeout=0.2, what="the queue", interval=0.05)


def test_an_error_in_the_check_is_raised_when_no_process_is_coming_up():
    with pytest.raises(ZeroDivisionError):
        wait_for(lambda: 1 / 0, timeout=5, what="a division")


def test_a_service_coming_up_may_fail_its_check_until_it_answers(tmp_path):
    answers = iter([ConnectionRefusedError("not yet"), ConnectionRefusedError("not yet"), 200])

    def check():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    service = Process("service", [PYTHON, "-c", "import time; time.sleep(30)"], {}, tmp_path / "service.log").start()
    try:
        assert wait_for(check, timeout=5, what="service", interval=0, process=service) == 200
    finally:
        service.kill()


def test_a_service_that_exits_fails_the_wait_at_once_with_its_log(tmp_path):
    crashing = [PYTHON, "-c", "import sys; print('port 8000 in use', flush=True); sys.exit(3)"]
    service = Process("service", crashing, {}, tmp_path / "service.log").start()
    service.popen.wait(timeout=10)
    with pytest.raises(WaitTimeout, match=r"(?s)service exited with 3.*port 8000 in use"):
        wait_for(lambda: False, timeout=60, what="service", process=service)
