"""A few plain threads that work through a list, their results handed to the calling thread.

The plan's remote look-ups and the copies both run here, so that a Ctrl-C
(or SIGTERM, SIGHUP: :mod:`iactcopy.interrupts`) stops them the same way: no
thread takes another item, the calling thread does not wait for the items
left, and a thread stuck in a read that never returns is left behind after
a grace time.  Plain threads rather than an executor, for two reasons: an
interrupt may strike while a thread is being started, and an executor then
loses track of that thread, which goes on working after the call returns
(here every thread is listed before it starts); and an executor's shutdown
runs every item still queued, which for a plan over a network means
thousands of round trips after the user asked to stop.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["WorkerThreads"]

_WAIT_POLL = 0.25  # longest stretch the calling thread sleeps, so Ctrl-C is seen


_END = object()  # what the feed gives when it is empty


def _never() -> bool:
    return False


class WorkerThreads:
    """Runs ``work(item)`` for each item in up to *nthreads* threads.

    Parameters
    ----------
    name : str
        The threads are named ``<name>-0``, ``<name>-1``, ...
    nthreads : int
        Threads at most (never more than there are items).
    cancel : threading.Event
        Set by :meth:`run` when it is interrupted; the threads take no item
        once it is set.  The work may watch it too, to stop within an item.
    stop : callable, optional
        Called by a thread before it takes an item: True makes it take no
        more (a full disk).  Default: never.
    grace : float
        Seconds the threads get to end their items after an interrupt.
        Default is 0.

    Attributes
    ----------
    abandoned : bool
        Whether a thread was still working when :meth:`run` gave up waiting
        for it after an interrupt.
    """

    def __init__(self, name: str, nthreads: int, cancel: threading.Event, *,
                 stop: Callable[[], bool] = _never, grace: float = 0.0):
        self.name = name
        self.nthreads = nthreads
        self.cancel = cancel
        self.stop = stop
        self.grace = grace
        self.abandoned = False

    def run(self, items: Sequence[Any], work: Callable[[Any], Any],
            done: Callable[[Any, Any], None]) -> None:
        """Call ``done(item, work(item))`` in the calling thread for each item, as each ends.

        Returns early, with items not done, when the threads stopped on
        :attr:`stop`.

        Raises
        ------
        BaseException
            What *work* raised (the other threads stop after their item), or
            the interrupt that struck the calling thread.
        """
        feed = iter(items)
        feed_lock = threading.Lock()
        results: queue.SimpleQueue = queue.SimpleQueue()

        def worker() -> None:
            while not self.cancel.is_set() and not self.stop():
                with feed_lock:
                    item = next(feed, _END)
                if item is _END:
                    return
                try:
                    results.put((item, work(item), None))
                except BaseException as err:  # handed to the calling thread
                    results.put((item, None, err))
                    return

        threads = []
        try:
            for k in range(min(self.nthreads, len(items))):
                thread = threading.Thread(target=worker, name=f"{self.name}-{k}", daemon=True)
                threads.append(thread)
                thread.start()
            for _ in items:
                while True:
                    # A finite wait lets the calling thread see Ctrl-C promptly.
                    try:
                        item, result, err = results.get(timeout=_WAIT_POLL)
                        break
                    except queue.Empty:
                        # Once stopped, the threads take no more items.
                        if not any(thread.is_alive() for thread in threads) and results.empty():
                            return
                if err is not None:
                    raise err
                done(item, result)
        except BaseException:
            self.cancel.set()
            deadline = time.monotonic() + self.grace
            for thread in threads:
                if thread.ident is not None:
                    thread.join(max(0.0, deadline - time.monotonic()))
            self.abandoned = any(thread.is_alive() for thread in threads)
            raise
        finally:
            for thread in threads:
                if thread.ident is not None and not self.cancel.is_set():
                    thread.join()
