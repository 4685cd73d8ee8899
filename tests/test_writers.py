"""SQLite's one writer in a process: taken in turn, the same thread again inside its turn, and an
urgent write (the courier's bookkeeping of a page's DM) before the threads already waiting."""

import threading

from storage.writers import Writers
from tests.waiting import eventually


def test_an_urgent_write_goes_before_the_writes_already_waiting() -> None:
    writers = Writers()
    order: list[str] = []
    release = threading.Event()

    def take(name: str, *, urgent: bool = False) -> None:
        with writers.held(urgent=urgent):
            order.append(name)
            if name == "holder":
                release.wait(timeout=10)

    def started(name: str, *, urgent: bool = False) -> threading.Thread:
        thread = threading.Thread(target=take, args=(name,), kwargs={"urgent": urgent})
        thread.start()
        return thread

    threads = [started("holder")]
    eventually(lambda: order == ["holder"], what="the first write holding the writer")
    for n, name in enumerate(("webhook 1", "webhook 2")):
        threads.append(started(name))
        eventually(lambda n=n: writers.waiting == n + 1, what=f"{name} waiting")
    threads.append(started("courier", urgent=True))
    eventually(lambda: writers.waiting == 3, what="the courier waiting")
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert order[:2] == ["holder", "courier"]
    assert sorted(order[2:]) == ["webhook 1", "webhook 2"]
    assert writers.waiting == 0


def test_a_thread_holding_the_writer_takes_it_again() -> None:
    writers = Writers()
    with writers.held(), writers.held(urgent=True), writers.held():
        taken = threading.Event()

        def other() -> None:
            with writers.held(urgent=True):
                taken.set()

        thread = threading.Thread(target=other)
        thread.start()
        eventually(lambda: writers.waiting == 1, what="the other thread waiting")
        assert not taken.is_set(), "another thread took the writer while it was held"
    thread.join(timeout=10)
    assert taken.is_set()
