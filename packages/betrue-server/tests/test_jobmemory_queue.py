"""MemoryJobQueue as storage, without workers: enqueue options, claim order, leases, fencing, dead letters."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from betrue.server.errors import ValidationError
from betrue.server.jobmemory import MemoryJobQueue
from betrue.server.jobqueue import FINISHED, JOB_STATES, Job, JobsConfig


def queue(**settings: Any) -> MemoryJobQueue:
    return MemoryJobQueue(JobsConfig.from_dict(settings))


async def claim_one(q: MemoryJobQueue) -> Job:
    jobs = await q.claim(1)
    assert len(jobs) == 1, jobs
    return jobs[0]


# -- enqueue: arguments -----------------------------------------------------------------------------


async def test_enqueue_stores_a_queued_job_with_its_params_and_meta() -> None:
    q = queue()
    job_id = await q.enqueue("mail/send", {"to": "ann"}, meta={"x-trace-id": "t1"})
    job = await q.get(job_id)
    assert job is not None
    assert (job.code, dict(job.params), job.state, job.attempt) == ("mail/send", {"to": "ann"}, "queued", 0)
    assert dict(job.meta) == {"x-trace-id": "t1"}
    assert job.max_attempts == 4  # JOBS_RETRIES 3 by default, plus the first try


async def test_max_attempts_follows_retries_setting_or_argument() -> None:
    q = queue(retries=1)
    by_setting = await q.get(await q.enqueue("a/b"))
    by_retries = await q.get(await q.enqueue("a/b", retries=5))
    by_max = await q.get(await q.enqueue("a/b", max_attempts=2, retries=9))
    assert by_setting is not None
    assert by_retries is not None
    assert by_max is not None
    assert (by_setting.max_attempts, by_retries.max_attempts, by_max.max_attempts) == (2, 6, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"delay": -1.0}, "delay must not be negative"),
        ({"timeout": 0.0}, "timeout must be positive"),
        ({"timeout": -2.0}, "timeout must be positive"),
        ({"priority": 2**31}, "priority must fit in 32 bits"),
        ({"priority": -(2**31)}, "priority must fit in 32 bits"),
        ({"key": ""}, "key must be 1 to 512 characters"),
        ({"key": "k" * 513}, "key must be 1 to 512 characters"),
    ],
)
async def test_bad_enqueue_arguments_are_a_validation_error_and_store_nothing(
    kwargs: dict[str, Any], message: str
) -> None:
    q = queue()
    with pytest.raises(ValidationError) as caught:
        await q.enqueue("a/b", {}, **kwargs)
    assert message in str(caught.value)
    assert caught.value.details == {"reason": "bad_job"}
    assert q.jobs == {}


async def test_every_problem_is_reported_at_once() -> None:
    q = queue()
    with pytest.raises(ValidationError) as caught:
        await q.enqueue("a/b", max_attempts=0, delay=-1, timeout=0)
    text = str(caught.value)
    assert "max_attempts" in text
    assert "delay" in text
    assert "timeout" in text


async def test_limits_at_the_edges_are_accepted() -> None:
    q = queue()
    await q.enqueue("a/b", priority=2**31 - 1, key="k" * 512, timeout=0.001, max_attempts=1)
    await q.enqueue("a/b", priority=-(2**31) + 1, key="x")
    assert len(q.jobs) == 2


async def test_delay_and_at_postpone_and_the_later_wins() -> None:
    q = queue()
    before = time.time()
    delayed = await q.get(await q.enqueue("a/b", delay=100))
    at_later = await q.get(await q.enqueue("a/b", delay=10, at=before + 500))
    at_earlier = await q.get(await q.enqueue("a/b", delay=100, at=before + 1))
    at_past = await q.get(await q.enqueue("a/b", at=before - 1000))
    assert delayed is not None
    assert at_later is not None
    assert at_earlier is not None
    assert at_past is not None
    assert before + 100 <= delayed.run_at < time.time() + 101
    assert at_later.run_at == before + 500
    assert at_earlier.run_at >= before + 100
    assert at_past.run_at >= before  # a time in the past means now
    claimed = await q.claim(10)
    assert [job.id for job in claimed] == [at_past.id]


# -- keys ------------------------------------------------------------------------------------------


async def test_a_key_keeps_the_pending_job_through_queued_running_and_failed() -> None:
    q = queue()
    first = await q.enqueue("a/b", {"n": 1}, key="k")
    assert await q.enqueue("a/b", {"n": 2}, key="k") == first  # queued
    job = await claim_one(q)
    assert await q.enqueue("a/b", {"n": 3}, key="k") == first  # running
    assert await q.fail(job, "boom", time.time() + 100)
    assert await q.enqueue("a/b", {"n": 4}, key="k") == first  # failed, waiting for its retry
    assert len(q.jobs) == 1
    stored = await q.get(first)
    assert stored is not None
    assert dict(stored.params) == {"n": 1}


@pytest.mark.parametrize("ending", ["done", "dead", "cancelled"])
async def test_a_finished_job_frees_its_key(ending: str) -> None:
    q = queue()
    first = await q.enqueue("a/b", key="k")
    if ending == "cancelled":
        assert await q.cancel(first)
    else:
        job = await claim_one(q)
        if ending == "done":
            assert await q.complete(job, {"ok": True})
        else:
            assert await q.fail(job, "boom", None)
    second = await q.enqueue("a/b", key="k")
    assert second != first
    assert len(q.jobs) == 2


async def test_different_keys_and_no_key_do_not_deduplicate() -> None:
    q = queue()
    ids = {await q.enqueue("a/b", key="k1"), await q.enqueue("a/b", key="k2"), await q.enqueue("a/b")}
    ids.add(await q.enqueue("a/b"))
    assert len(ids) == 4


# -- claim -----------------------------------------------------------------------------------------


async def test_higher_priority_runs_first_then_oldest() -> None:
    q = queue()
    low = await q.enqueue("a/b", priority=-5)
    first_normal = await q.enqueue("a/b")
    high = await q.enqueue("a/b", priority=10)
    second_normal = await q.enqueue("a/b")
    order = [job.id for job in await q.claim(10)]
    assert order == [high, first_normal, second_normal, low]


async def test_claim_takes_at_most_the_limit_and_leaves_the_rest() -> None:
    q = queue()
    for n in range(5):
        await q.enqueue("a/b", {"n": n})
    first = await q.claim(2)
    second = await q.claim(10)
    assert [job.params["n"] for job in first] == [0, 1]
    assert [job.params["n"] for job in second] == [2, 3, 4]
    assert await q.claim(10) == []


async def test_a_claimed_job_is_running_with_its_attempt_counted() -> None:
    q = queue()
    job_id = await q.enqueue("a/b")
    job = await claim_one(q)
    assert (job.id, job.state, job.attempt) == (job_id, "running", 1)
    stored = await q.get(job_id)
    assert stored is not None
    assert stored.state == "running"
    assert await q.claim(1) == []  # not claimed twice


async def test_a_job_not_due_is_not_claimed() -> None:
    q = queue()
    await q.enqueue("a/b", delay=60)
    assert await q.claim(5) == []


async def test_a_cancelled_queued_job_is_never_claimed() -> None:
    q = queue()
    job_id = await q.enqueue("a/b")
    assert await q.cancel(job_id)
    assert await q.claim(5) == []
    stored = await q.get(job_id)
    assert stored is not None
    assert stored.state == "cancelled"
    assert stored.finished_at is not None


# -- outcomes and fencing --------------------------------------------------------------------------


async def test_complete_stores_the_result_and_finishes() -> None:
    q = queue()
    job_id = await q.enqueue("a/b")
    job = await claim_one(q)
    assert await q.complete(job, {"sent": 3})
    stored = await q.get(job_id)
    assert stored is not None
    assert (stored.state, stored.result) == ("done", {"sent": 3})
    assert stored.finished_at is not None
    assert q.done == 1
    assert q.pending() == 0


async def test_fail_with_a_retry_time_requeues_and_runs_again_with_the_next_attempt() -> None:
    q = queue()
    job_id = await q.enqueue("a/b")
    job = await claim_one(q)
    assert await q.fail(job, "500: boom", time.time() - 0.001)
    stored = await q.get(job_id)
    assert stored is not None
    assert (stored.state, stored.last_error) == ("failed", "500: boom")
    again = await claim_one(q)
    assert (again.id, again.attempt) == (job_id, 2)


async def test_fail_with_a_later_retry_time_waits() -> None:
    q = queue()
    await q.enqueue("a/b")
    job = await claim_one(q)
    assert await q.fail(job, "boom", time.time() + 60)
    assert await q.claim(5) == []


async def test_fail_without_retry_makes_a_dead_letter() -> None:
    q = queue()
    job_id = await q.enqueue("a/b")
    job = await claim_one(q)
    assert await q.fail(job, "400: bad", None)
    assert [dead.id for dead in q.dead] == [job_id]
    assert q.dead[0].last_error == "400: bad"
    assert q.pending() == 0


async def test_an_old_attempt_is_fenced_off_once_a_newer_one_holds_the_job() -> None:
    q = queue(lease=0.05)
    job_id = await q.enqueue("a/b")
    stale = await claim_one(q)
    await asyncio.sleep(0.06)  # the lease runs out: the next claim takes the job over
    fresh = await claim_one(q)
    assert (fresh.id, fresh.attempt) == (job_id, 2)
    assert not await q.heartbeat(stale)
    assert not await q.complete(stale, "late")
    assert not await q.fail(stale, "late", None)
    await q.release(stale)  # ignored as well
    stored = await q.get(job_id)
    assert stored is not None
    assert (stored.state, stored.attempt, stored.result) == ("running", 2, None)
    assert stored.last_error == "worker lost: lease expired"
    assert await q.complete(fresh, "ok")
    done = await q.get(job_id)
    assert done is not None
    assert (done.state, done.result) == ("done", "ok")


async def test_a_finished_job_rejects_every_late_outcome() -> None:
    q = queue()
    await q.enqueue("a/b")
    job = await claim_one(q)
    assert await q.complete(job, 1)
    assert not await q.complete(job, 2)
    assert not await q.fail(job, "x", None)
    assert not await q.heartbeat(job)


async def test_a_cancelled_running_job_loses_its_heartbeat_and_its_outcome() -> None:
    q = queue()
    job_id = await q.enqueue("a/b")
    job = await claim_one(q)
    assert await q.heartbeat(job)
    assert await q.cancel(job_id)
    assert not await q.heartbeat(job)
    assert not await q.complete(job, "too late")
    stored = await q.get(job_id)
    assert stored is not None
    assert stored.state == "cancelled"
    assert stored.result is None


async def test_heartbeats_keep_the_lease() -> None:
    q = queue(lease=0.1)
    await q.enqueue("a/b")
    job = await claim_one(q)
    for _ in range(4):
        await asyncio.sleep(0.04)
        assert await q.heartbeat(job)
        assert await q.claim(1) == []  # never taken over
    assert await q.complete(job, None)


async def test_an_expired_lease_on_the_last_attempt_buries_the_job() -> None:
    q = queue(lease=0.02)
    job_id = await q.enqueue("a/b", max_attempts=1)
    await claim_one(q)
    await asyncio.sleep(0.03)
    assert await q.claim(1) == []
    stored = await q.get(job_id)
    assert stored is not None
    assert stored.state == "dead"
    assert stored.last_error == "worker lost: lease expired"


async def test_release_hands_the_job_back_without_spending_a_try() -> None:
    q = queue()
    job_id = await q.enqueue("a/b", max_attempts=1)
    job = await claim_one(q)
    await q.release(job)
    stored = await q.get(job_id)
    assert stored is not None
    assert stored.state == "queued"
    again = await claim_one(q)
    assert again.attempt == 2
    assert again.attempt <= again.max_attempts  # the released try did not count
    assert await q.complete(again, "ok")


# -- dead letters ----------------------------------------------------------------------------------


async def test_retry_dead_gives_a_fresh_budget_of_tries() -> None:
    q = queue(retries=2)
    job_id = await q.enqueue("a/b", max_attempts=1)
    job = await claim_one(q)
    assert await q.fail(job, "boom", None)
    assert await q.retry_dead(job_id)
    stored = await q.get(job_id)
    assert stored is not None
    assert (stored.state, stored.finished_at, stored.max_attempts) == ("queued", None, 1 + 2 + 1)
    again = await claim_one(q)
    assert again.attempt == 2


async def test_only_a_dead_job_can_be_retried() -> None:
    q = queue()
    queued = await q.enqueue("a/b")
    assert not await q.retry_dead(queued)
    assert not await q.retry_dead("unknown")
    job = await claim_one(q)
    assert not await q.retry_dead(queued)  # running
    assert await q.complete(job, None)
    assert not await q.retry_dead(queued)  # done


async def test_a_dead_letter_is_not_retried_while_a_new_job_holds_its_key() -> None:
    q = queue()
    dead_id = await q.enqueue("a/b", key="k", max_attempts=1)
    assert await q.fail(await claim_one(q), "boom", None)
    newer = await q.enqueue("a/b", key="k")
    assert newer != dead_id
    assert not await q.retry_dead(dead_id)
    assert await q.enqueue("a/b", key="k") == newer


async def test_a_retried_dead_letter_holds_its_key_again() -> None:
    q = queue()
    dead_id = await q.enqueue("a/b", key="k", max_attempts=1)
    assert await q.fail(await claim_one(q), "boom", None)
    assert await q.retry_dead(dead_id)
    assert await q.enqueue("a/b", key="k") == dead_id


async def test_a_dead_letter_can_be_cancelled_but_not_twice() -> None:
    q = queue()
    job_id = await q.enqueue("a/b", max_attempts=1)
    assert await q.fail(await claim_one(q), "boom", None)
    assert await q.cancel(job_id)
    assert not await q.cancel(job_id)
    assert not await q.cancel("unknown")
    assert q.dead == []


# -- get, list, purge, stats -----------------------------------------------------------------------


async def test_get_answers_a_copy_that_does_not_change_the_store() -> None:
    q = queue()
    job_id = await q.enqueue("a/b")
    copy = await q.get(job_id)
    assert copy is not None
    copy.state = "done"
    stored = await q.get(job_id)
    assert stored is not None
    assert stored.state == "queued"
    assert await q.get("nope") is None


async def test_list_filters_by_state_oldest_first_within_the_limit() -> None:
    q = queue()
    ids = [await q.enqueue("a/b", {"n": n}) for n in range(4)]
    await q.cancel(ids[1])
    everything = await q.list()
    queued = await q.list("queued")
    assert [job.id for job in everything] == ids
    assert [job.id for job in queued] == [ids[0], ids[2], ids[3]]
    assert [job.id for job in await q.list("queued", limit=2)] == [ids[0], ids[2]]
    assert [job.id for job in await q.list("cancelled")] == [ids[1]]
    assert await q.list("dead") == []


async def test_finished_jobs_are_forgotten_after_the_results_ttl_but_dead_letters_stay() -> None:
    q = queue(results_ttl=0.02)
    done_id = await q.enqueue("a/b")
    assert await q.complete(await claim_one(q), "r")
    cancelled_id = await q.enqueue("a/b")
    assert await q.cancel(cancelled_id)
    dead_id = await q.enqueue("a/b", max_attempts=1)
    assert await q.fail(await claim_one(q), "boom", None)
    await asyncio.sleep(0.03)
    assert await q.get(done_id) is None
    assert await q.get(cancelled_id) is None
    dead = await q.get(dead_id)
    assert dead is not None
    assert dead.state == "dead"


async def test_stats_counts_every_state_and_the_oldest_due_wait() -> None:
    q = queue()
    await q.add(Job("a/b", {}, run_at=time.time() - 30))  # due for 30 s already
    await q.enqueue("a/b", delay=60)  # not due: no wait counted
    running = await q.enqueue("a/b", priority=5)
    claimed = await claim_one(q)
    assert claimed.id == running
    stats = await q.stats()
    assert set(JOB_STATES) <= set(stats)
    assert stats["queued"] == 2
    assert stats["running"] == 1
    assert stats["done"] == stats["dead"] == stats["cancelled"] == stats["failed"] == 0
    assert 29 <= stats["oldest_queued_age"] < 40


async def test_stats_of_an_empty_queue_are_zero() -> None:
    stats = await queue().stats()
    assert all(value == 0 for value in stats.values())
    assert stats["oldest_queued_age"] == 0


# -- claim_tick and wait ---------------------------------------------------------------------------


async def test_claim_tick_is_true_once_per_schedule_and_tick() -> None:
    q = queue()
    assert await q.claim_tick("reports/daily", 100.0)
    assert not await q.claim_tick("reports/daily", 100.0)
    assert await q.claim_tick("reports/daily", 160.0)
    assert await q.claim_tick("reports/hourly", 100.0)


async def test_wait_returns_at_once_on_an_enqueue() -> None:
    q = queue()
    waiting = asyncio.create_task(q.wait(30))
    await asyncio.sleep(0)
    started = time.monotonic()
    await q.enqueue("a/b")
    await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - started < 5


async def test_wait_ends_when_a_delayed_job_falls_due() -> None:
    q = queue()
    await q.enqueue("a/b", delay=0.05)
    q._wakeup.clear()
    started = time.monotonic()
    await asyncio.wait_for(q.wait(30), 10)
    assert time.monotonic() - started >= 0.04
    assert len(await q.claim(1)) == 1


async def test_wait_without_work_lasts_its_timeout() -> None:
    q = queue()
    started = time.monotonic()
    await q.wait(0.05)
    assert time.monotonic() - started >= 0.04


# -- backoff and the job record --------------------------------------------------------------------


def test_backoff_doubles_from_the_base_up_to_the_cap_without_jitter() -> None:
    q = queue(backoff=0.5, backoff_max=3.0, jitter=0)
    assert [q.backoff(n) for n in range(0, 6)] == [0.5, 0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_jitter_only_lengthens_up_to_its_share() -> None:
    q = queue(backoff=1.0, backoff_max=100.0, jitter=0.2)
    waits = [q.backoff(3) for _ in range(200)]
    assert all(4.0 <= wait <= 4.8 for wait in waits)
    assert len(set(waits)) > 1


def test_a_job_round_trips_through_its_dict() -> None:
    job = Job("a/b", {"x": [1, 2]}, key="k", priority=3, timeout=1.5, meta={"m": "v"}, max_attempts=2)
    data = job.to_dict()
    assert data["params"] == {"x": [1, 2]}
    assert data["meta"] == {"m": "v"}
    assert Job.from_dict({**data, "unknown_field": 1}) == job


def test_finished_states_are_the_ones_no_worker_touches_again() -> None:
    assert {"done", "dead", "cancelled"} == FINISHED
    assert set(JOB_STATES) - FINISHED == {"queued", "running", "failed"}
