"""BackgroundPublisher: ids published off the request thread, one by one or as one fan-out in a burst."""

import threading

from reviewqueue.integrations.background import BackgroundPublisher


class RecordingTask:
    """Stands in for a Celery task's `.delay` (the publisher's logic is under test, not the broker)."""

    def __init__(self, name, gate: threading.Event | None = None):
        self.name = name
        self.calls = []
        self.gate = gate
        self.entered = threading.Event()

    def delay(self, arg):
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(5)
        self.calls.append(arg)


def test_a_lone_id_is_published_as_a_single_task():
    single, fan_out = RecordingTask("single"), RecordingTask("fan_out")
    publisher = BackgroundPublisher(single=single, fan_out=fan_out)
    publisher.submit(7)
    publisher.flush()
    assert single.calls == [7] and fan_out.calls == []


def test_ids_arriving_while_the_thread_is_busy_go_out_as_one_fan_out_in_order():
    gate = threading.Event()
    single, fan_out = RecordingTask("single", gate), RecordingTask("fan_out")
    publisher = BackgroundPublisher(single=single, fan_out=fan_out)
    publisher.submit(1)
    assert single.entered.wait(5)  # the thread picked it up and is blocked publishing it
    for record_id in range(2, 12):
        publisher.submit(record_id)
    gate.set()
    publisher.flush()
    assert single.calls == [1]
    assert fan_out.calls == [list(range(2, 12))]


def test_batches_are_capped():
    gate = threading.Event()
    single, fan_out = RecordingTask("single", gate), RecordingTask("fan_out")
    publisher = BackgroundPublisher(single=single, fan_out=fan_out, max_batch=4)
    publisher.submit(0)
    assert single.entered.wait(5)
    for record_id in range(1, 10):
        publisher.submit(record_id)
    gate.set()
    publisher.flush()
    assert fan_out.calls == [[1, 2, 3, 4], [5, 6, 7, 8]] and single.calls == [0, 9]


def test_a_broker_failure_is_logged_and_the_thread_keeps_going(caplog):
    class Failing(RecordingTask):
        def delay(self, arg):
            raise ConnectionError("broker down")

    single = RecordingTask("single")
    publisher = BackgroundPublisher(single=Failing("single"), fan_out=RecordingTask("fan_out"))
    publisher.submit(1)
    publisher.flush()
    assert "left for the redrive task" in caplog.text
    publisher.single = single
    publisher.submit(2)
    publisher.flush()
    assert single.calls == [2]
