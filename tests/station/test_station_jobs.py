"""Several jobs at once off the caller's thread, each cancellable; interrupted = incomplete."""

from __future__ import annotations

import threading

import pytest

from station.errors import SafetyRefusal, StationError
from station.jobs import JobRunner, submit_diagnose, submit_wipe
from station.reasons import reason


@pytest.mark.root
def test_two_wipes_run_concurrently_and_both_pass(station, make_loop):
    runner = JobRunner()
    devs = [station.resolve(make_loop(32)) for _ in range(2)]
    ids = [submit_wipe(runner, station, d, "overwrite", d.name) for d in devs]
    finals = [runner.wait(i, timeout=60) for i in ids]
    assert [f.state for f in finals] == ["passed", "passed"]
    for final in finals:
        assert station.verify_file(final.result.json_path).passed


@pytest.mark.root
def test_cancelling_one_job_leaves_the_other_running(station, make_loop):
    seen: list = []
    runner = JobRunner(seen.append)
    slow = station.resolve(make_loop(256))
    quick = station.resolve(make_loop(16))
    slow_id = submit_wipe(runner, station, slow, "overwrite", slow.name)
    runner.cancel(slow_id)
    quick_id = submit_diagnose(runner, station, quick)
    assert runner.wait(slow_id, 60).state == "incomplete"
    assert runner.wait(quick_id, 60).state == "passed"
    assert any(s.id == slow_id and s.finished for s in seen)


@pytest.mark.root
def test_refusal_is_immediate_and_no_job_starts(station, make_loop):
    runner = JobRunner()
    dev = station.resolve(make_loop(16))
    with pytest.raises(SafetyRefusal):
        submit_wipe(runner, station, dev, "overwrite", "wrong")
    assert runner.jobs() == []


def test_one_job_per_device_and_crashes_end_incomplete():
    runner = JobRunner()
    gate = threading.Event()

    def blocked(cancel, on_progress):
        gate.wait(10)
        raise RuntimeError("boom")

    job = runner.submit("wipe", "sdx", blocked)
    with pytest.raises(StationError, match="already has a wipe job") as busy:
        runner.submit("diagnostics", "sdx", blocked)
    assert busy.value.reason == reason("job_busy", device="sdx", kind="wipe")  # the TUI words it
    gate.set()
    final = runner.wait(job, 10)
    assert final.state == "incomplete"
    assert final.message == "crashed: RuntimeError('boom')"  # in English, as records keep it
    assert final.why == reason("crashed", error="RuntimeError('boom')")


def test_cancel_device_stops_its_jobs():
    runner = JobRunner()

    def waits_for_cancel(cancel, on_progress):
        if not cancel.wait(10):
            raise AssertionError("never cancelled")
        raise StationError("cancelled by the technician")

    job = runner.submit("wipe", "sdy", waits_for_cancel)
    assert runner.cancel_device("sdy") == [job]
    final = runner.wait(job, 10)
    assert final.state == "incomplete" and "cancelled" in final.message
