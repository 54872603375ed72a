"""Concurrent single submissions share a transaction, each with its own answer and error.

``GroupCommit`` itself with a store that records its groups; then single submissions through
the ingest service from many threads on real connections, a bad record among good ones."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import pytest
from hub_testdata import nat, resident_id
from sqlalchemy import func, select
from test_concurrency import in_threads

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.hub import group_commit
from healthcode.hub.group_commit import GroupCommit, Outcome
from healthcode.hub.ingest import Located
from healthcode.hub.services import Hub
from healthcode.store.errors import DatabaseBusy
from healthcode.store.models import FeedEntry, IdempotencyKey, Record


class Store:
    """Answers ``{"item": item}``; an item "bad" breaks a whole group, "busy" too (shared);
    the first group waits for ``release`` so that the others queue behind it."""

    def __init__(self) -> None:
        self.groups: list[list[Any]] = []
        self.release = threading.Event()

    def __call__(self, items: Sequence[Any]) -> list[Outcome]:
        if not self.groups:
            self.release.wait(10)
        self.groups.append(list(items))
        if "busy" in items:
            raise DatabaseBusy()
        if "bad" in items:
            raise RuntimeError("a record broke the transaction")
        return [{"item": item} if item != "refused" else ValueError(item) for item in items]


def submit_all(group: GroupCommit, store: Store, items: list[tuple[Any, tuple[str, ...]]]) -> list:
    calls = [partial(group.submit, item, keys) for item, keys in items]
    threading.Timer(0.3, store.release.set).start()
    return in_threads(calls)


def test_requests_that_arrive_together_share_a_transaction() -> None:
    store = Store()
    out = submit_all(GroupCommit(store), store, [(n, (f"k{n}",)) for n in range(12)])
    assert out == [{"item": n} for n in range(12)]
    assert sorted(n for g in store.groups for n in g) == list(range(12))
    assert len(store.groups) < 12 and max(map(len, store.groups)) > 1


def test_requests_sharing_a_key_never_share_a_group() -> None:
    store = Store()
    items = [(n, ("same",) if n % 2 else (f"k{n}",)) for n in range(10)]
    out = submit_all(GroupCommit(store, max_group=4), store, items)
    assert out == [{"item": n} for n in range(10)]
    for g in store.groups:
        assert len([n for n in g if n % 2]) <= 1 and len(g) <= 4


def test_a_request_that_breaks_the_transaction_fails_alone() -> None:
    store = Store()
    items: list[Any] = [*range(6), "bad", "refused"]
    out = submit_all(GroupCommit(store), store, [(x, (str(x),)) for x in items])
    assert out[:6] == [{"item": n} for n in range(6)]
    assert isinstance(out[6], RuntimeError) and isinstance(out[7], ValueError)


def test_a_busy_database_is_every_members_answer_without_a_retry_alone() -> None:
    store = Store()
    group = GroupCommit(store, shared=(DatabaseBusy,))
    first = threading.Thread(target=lambda: group.submit(0, ("0",)))
    first.start()  # leads, waits in the store: the others queue into one group
    time.sleep(0.1)
    out = submit_all(group, store, [(x, (str(x),)) for x in (1, "busy", 2)])
    first.join()
    assert all(isinstance(x, DatabaseBusy) for x in out)
    assert [sorted(map(str, g)) for g in store.groups[1:]] == [["1", "2", "busy"]]


def count(hub: Hub, model: Any) -> int:
    with hub.db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_concurrent_singles_each_get_their_own_answer(real_hub: Hub) -> None:
    hub = real_hub
    lab = hub.orgs.authenticate(hub.orgs.add(kind="lab", region_code="440106", name="lab")[1])
    one = partial(hub.ingest.submit, lab, "nat", single=True)
    stored = one([Located({"index": 0}, nat("S-old", resident_id(seq="900")))])
    keyed = one(
        [Located({"index": 0}, nat("S-key", resident_id(seq="901")))],
        idempotency_key="k-1",
        request_digest="d-1",
    )
    good = [nat(f"S-{i}", resident_id(seq=f"{i:03d}")) for i in range(12)]
    conflict = nat("S-old", resident_id(seq="902"))  # stored before with other content
    calls = [partial(one, [Located({"index": 0}, r)]) for r in good]
    calls.append(partial(one, [Located({"index": 0}, conflict)]))
    calls.append(partial(one, [Located({"index": 0}, nat("S-old", resident_id(seq="900")))]))
    again = [Located({"index": 0}, nat("S-x", resident_id(seq="903")))]
    calls.append(partial(one, again, idempotency_key="k-1", request_digest="d-1"))
    calls.append(partial(one, again, idempotency_key="k-1", request_digest="d-other"))
    for _ in range(3):  # the same new record three times at once: one stored, same id
        calls.append(partial(one, [Located({"index": 0}, nat("S-dup", resident_id(seq="904")))]))
    out = in_threads(calls)
    ids = [answer["id"] for answer in out[:12]]
    assert len(set(ids)) == 12 and all(a["kind"] == "nat" for a in out[:12])
    assert isinstance(out[12], InvalidInput) and out[12].code == ErrorCode.NATURAL_KEY_CONFLICT
    assert out[12].to_dict()["index"] == 0 and out[12].to_dict()["record"] == stored["id"]
    assert out[13] == stored and out[14] == keyed
    assert isinstance(out[15], InvalidInput) and out[15].code == ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert out[16] == out[17] == out[18] and "id" in out[16]
    assert count(hub, Record) == count(hub, FeedEntry) == 2 + 12 + 1
    assert count(hub, IdempotencyKey) == 1


@pytest.mark.parametrize("size", [1, 5])
def test_an_idempotency_key_sent_twice_at_once_answers_alike(real_hub: Hub, size: int) -> None:
    hub = real_hub
    lab = hub.orgs.authenticate(hub.orgs.add(kind="lab", region_code="440106", name="lab")[1])
    record = [Located({"index": 0}, nat("K-1", resident_id(seq="905")))]
    calls = [
        partial(
            hub.ingest.submit,
            lab,
            "nat",
            record,
            idempotency_key="k",
            request_digest="d",
            single=True,
        )
        for _ in range(size + 1)
    ]
    out = in_threads(calls)
    assert all(answer == out[0] for answer in out) and count(hub, Record) == 1


async def _gather(group: GroupCommit, items: list[tuple[Any, tuple[str, ...]]]) -> list[Any]:
    calls = [group.submit_async(item, keys) for item, keys in items]
    return list(await asyncio.gather(*calls, return_exceptions=True))


def test_requests_waiting_on_an_event_loop_share_a_transaction_and_get_their_own_outcome() -> None:
    store = Store()
    group = GroupCommit(store)
    first = threading.Thread(target=lambda: group.submit(0, ("0",)))
    first.start()  # waits in a thread, its group held in the store: the loop's requests queue
    time.sleep(0.1)
    threading.Timer(0.3, store.release.set).start()
    items: list[Any] = [*range(1, 9), "bad", "refused"]
    out = asyncio.run(_gather(group, [(x, (str(x),)) for x in items]))
    first.join()
    assert out[:8] == [{"item": n} for n in range(1, 9)]
    assert isinstance(out[8], RuntimeError) and isinstance(out[9], ValueError)
    assert sorted(map(str, store.groups[1])) == sorted(map(str, items))  # one group, then alone


def test_a_request_given_up_on_the_loop_is_stored_and_its_neighbours_answered() -> None:
    store = Store()
    group = GroupCommit(store)

    async def main() -> list[Any]:
        waiting = [asyncio.create_task(group.submit_async(n, (str(n),))) for n in range(4)]
        await asyncio.sleep(0.05)
        waiting[1].cancel()  # its client went away while the group was in the store
        store.release.set()
        return list(await asyncio.gather(*waiting, return_exceptions=True))

    out = asyncio.run(main())
    assert isinstance(out[1], asyncio.CancelledError)
    assert [out[0], out[2], out[3]] == [{"item": 0}, {"item": 2}, {"item": 3}]
    assert sorted(n for g in store.groups for n in g) == [0, 1, 2, 3]


def test_the_groups_thread_ends_when_idle_and_the_next_request_starts_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(group_commit, "IDLE_SECONDS", 0.05)
    store = Store()
    store.release.set()
    group = GroupCommit(store)
    assert group.submit(1, ("1",)) == {"item": 1}
    thread = group._thread
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive(), "the groups' thread did not end"
    assert asyncio.run(group.submit_async(2, ("2",))) == {"item": 2}
    assert store.groups == [[1], [2]]


def test_singles_on_the_event_loop_share_groups_with_their_own_answers(real_hub: Hub) -> None:
    hub = real_hub
    lab = hub.orgs.authenticate(hub.orgs.add(kind="lab", region_code="440106", name="lab")[1])
    stored = hub.ingest.submit(
        lab, "nat", [Located({"index": 0}, nat("A-old", resident_id(seq="910")))], single=True
    )
    records = [nat(f"A-{i}", resident_id(seq=f"{i:03d}")) for i in range(16)]
    records.append(nat("A-old", resident_id(seq="911")))  # stored before with other content

    async def main() -> list[Any]:
        one = partial(hub.ingest.submit_one, lab, "nat")
        calls = [one(Located({"index": 0}, r)) for r in records]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    out = asyncio.run(main())
    ids = [answer["id"] for answer in out[:16]]
    assert len(set(ids)) == 16 and stored["id"] not in ids
    assert isinstance(out[16], InvalidInput) and out[16].code == ErrorCode.NATURAL_KEY_CONFLICT
    assert count(hub, Record) == 17
