import multiprocessing
import threading
import time

import pytest
import redis

from nexuscart.snowflake import SnowflakeGenerator, WorkerIdsExhausted, parse

IDS_PER_PROCESS = 20_000


def _generate(redis_url: str, queue) -> None:
    generator = SnowflakeGenerator(redis.Redis.from_url(redis_url))
    ids = [generator.next_id() for _ in range(IDS_PER_PROCESS)]
    queue.put((generator.worker_id, ids))


@pytest.mark.slow
def test_ids_from_several_processes_are_unique_and_increase_per_process(settings, redis_client):
    queue = multiprocessing.get_context("spawn").Queue()
    processes = [
        multiprocessing.get_context("spawn").Process(target=_generate, args=(settings.REDIS_URL, queue))
        for _ in range(4)
    ]
    for p in processes:
        p.start()
    results = [queue.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=30)

    worker_ids = [worker for worker, _ in results]
    assert len(set(worker_ids)) == len(processes), "two live processes shared a worker id"
    every_id = [i for _, ids in results for i in ids]
    assert len(set(every_id)) == len(every_id) == IDS_PER_PROCESS * len(processes)
    for worker, ids in results:
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids)
        assert all(0 < i < 2**63 for i in ids)
        assert {parse(i)[1] for i in ids} == {worker}


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_clock_that_goes_backwards_never_yields_a_smaller_or_repeated_id(redis_client):
    clock = FakeClock(1_800_000_000.0)
    generator = SnowflakeGenerator(redis_client, clock=clock)
    before = [generator.next_id() for _ in range(100)]
    clock.now -= 5.0  # NTP steps the clock five seconds back
    after = [generator.next_id() for _ in range(100)]
    clock.now += 10.0
    later = generator.next_id()

    ids = before + after + [later]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert parse(later)[0] == 1_800_000_005_000


def test_more_than_4096_ids_in_one_millisecond_roll_into_the_next(redis_client):
    clock = FakeClock(1_800_000_000.0)
    generator = SnowflakeGenerator(redis_client, clock=clock)
    ids = [generator.next_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5000


def test_a_lost_lease_is_replaced_by_a_fresh_worker_id(redis_client):
    generator = SnowflakeGenerator(redis_client, lease_seconds=1)
    first = generator.worker_id
    redis_client.set(f"snowflake:worker:{first}", "someone-else")  # the lease expired and was taken
    assert generator.renew() is False  # what the background renewal finds
    assert generator.worker_id != first
    generator.release()
    assert redis_client.get(f"snowflake:worker:{first}") == b"someone-else"


def test_the_lease_is_renewed_in_the_background_never_by_next_id(redis_client):
    generator = SnowflakeGenerator(redis_client, lease_seconds=0.6)
    first = generator.next_id()
    renewals: list[str] = []
    real_renew = generator._renew_script

    def counting(*args, **kwargs):
        renewals.append(threading.current_thread().name)
        return real_renew(*args, **kwargs)

    generator._renew_script = counting
    ids, deadline = [first], time.monotonic() + 2.0  # more than three leases
    while time.monotonic() < deadline:
        ids.append(generator.next_id())
        time.sleep(0.001)
    generator.release()

    assert len(renewals) >= 4
    assert set(renewals) == {"snowflake-lease"}  # not one from the thread calling next_id
    assert {parse(i)[1] for i in ids} == {parse(first)[1]}  # the lease never lapsed
    assert len(set(ids)) == len(ids)


def test_a_fenced_lease_never_lets_two_generators_use_one_worker_id(redis_client):
    only_seven = range(7, 8)
    # A's renewals stall (as if its process were paused): its lease runs out in Redis.
    stalled = SnowflakeGenerator(redis_client, lease_seconds=0.5, worker_ids=only_seven, renew_in_background=False)
    other = SnowflakeGenerator(redis_client, lease_seconds=5, worker_ids=only_seven)
    before = [stalled.next_id() for _ in range(10)]
    assert stalled.worker_id == 7
    with pytest.raises(WorkerIdsExhausted):
        other.next_id()  # held by A

    time.sleep(0.6)  # A's key expired in Redis; A's own fence passed even earlier
    taken = [other.next_id() for _ in range(10)]
    assert {parse(i)[1] for i in taken} == {7}
    with pytest.raises(WorkerIdsExhausted):
        stalled.next_id()  # A must not issue ids with worker 7 while B holds it
    other.release()
    after = [stalled.next_id() for _ in range(10)]  # free again: A may lease it anew

    every = before + taken + after
    assert len(set(every)) == len(every)
    assert max(before) < min(taken)
    assert max(taken) < min(after)
    stalled.release()
