"""Leases of cores and GPU slots: all or nothing, first come first served, machine-wide, gone with their holder.

The pools here are made-up core and GPU numbers, so that these tests never hold a core that a
grader running on this machine at the same time would need.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

from grader.config import REPO_ROOT
from grader.sandbox import leases

POOL = [9001, 9002]


def hold(cpus, pool, seconds, log, name, **kwargs):
    with leases.allotted(cpus, pool, **kwargs) as allotment:
        log.append((name, "start", time.monotonic(), allotment))
        time.sleep(seconds)
    log.append((name, "end", time.monotonic(), allotment))


def started(log, name):
    return next(entry for entry in log if entry[:2] == (name, "start"))


def test_two_runs_that_need_every_core_take_turns():
    log = []
    first = threading.Thread(target=hold, args=(2, POOL, 0.5, log, "first"))
    first.start()
    time.sleep(0.1)
    hold(2, POOL, 0, log, "second")
    first.join()
    assert started(log, "first")[3].cores == (9001, 9002)
    second = started(log, "second")
    assert second[3].cores == (9001, 9002)
    assert second[2] >= next(e for e in log if e[:2] == ("first", "end"))[2]
    assert second[3].queued_seconds >= 0.3, "the wait is measured, so that it is never counted against the run"


def test_runs_that_fit_side_by_side_get_different_cores_at_once():
    log = []
    threads = [threading.Thread(target=hold, args=(1, POOL, 0.3, log, name)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    a, b = started(log, "a")[3], started(log, "b")[3]
    assert {a.cores, b.cores} == {(9001,), (9002,)}
    assert max(a.queued_seconds, b.queued_seconds) < 0.25


def test_many_runs_that_each_need_both_cores_never_deadlock():
    log = []
    threads = [threading.Thread(target=hold, args=(2, POOL, 0.02, log, str(n))) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(1 for entry in log if entry[1] == "end") == 6
    spans = sorted((started(log, str(n))[2], next(e for e in log if e[:2] == (str(n), "end"))[2]) for n in range(6))
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:])), "two held both cores at once"


def test_a_run_that_needs_two_cores_is_not_overtaken_by_later_runs_that_need_one():
    log = []
    holder = threading.Thread(target=hold, args=(1, POOL, 0.6, log, "holder"))
    holder.start()
    time.sleep(0.1)
    wide = threading.Thread(target=hold, args=(2, POOL, 0.1, log, "wide"))
    wide.start()
    time.sleep(0.1)
    hold(1, POOL, 0, log, "narrow")  # one core is free now, but "wide" came first
    for thread in (holder, wide):
        thread.join()
    assert started(log, "narrow")[2] >= started(log, "wide")[2]


def test_asking_for_more_cores_than_the_pool_has_gives_the_whole_pool():
    with leases.allotted(8, POOL) as allotment:
        assert allotment.cores == tuple(POOL)


def test_a_lease_ends_with_its_holder_even_when_killed():
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from grader.sandbox import leases
        with leases.allotted(1, [9101]):
            print("held", flush=True)
            time.sleep(60)
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with leases.allotted(1, [9101]) as allotment:
        assert allotment.cores == (9101,) and allotment.queued_seconds < 1


def test_gpu_shares_fill_a_device_then_wait():
    log = []
    threads = [threading.Thread(target=hold, args=(1, [9201, 9202, 9203], 0.4, log, name),
                                kwargs={"gpu_share": 0.5, "gpus": [77]}) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    allotments = {name: started(log, name)[3] for name in "abc"}
    assert all(a.gpu == 77 and a.gpu_slots == leases.GPU_SLOTS // 2 for a in allotments.values())
    assert allotments["c"].queued_seconds >= 0.2, "two halves fill the device; the third waits for one"


def test_without_a_gpu_on_the_machine_a_gpu_share_is_not_waited_for():
    with leases.allotted(1, POOL, gpu_share=0.25, gpus=[]) as allotment:
        assert (allotment.gpu, allotment.gpu_slots) == (None, 0)


def test_uid_leases_skip_held_uids_and_report_leftovers_to_clean():
    cleaned = []
    with leases.leased_uid(leases.SANDBOX_UID_BASE + 950, on_lease=cleaned.append) as first:
        with leases.leased_uid(leases.SANDBOX_UID_BASE + 950, on_lease=cleaned.append) as second:
            assert second != first
    assert cleaned == [first, second]
