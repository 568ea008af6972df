"""Work that many requests ask for and one background call can do for all of them.

Checkout used to make two Redis round trips after each commit (a shared counter, the outbox
wake-up). Done inside the request they cost the web process about 0.3 ms of CPU each; asked
for here, they run at most once per ``delay`` per process, on one background thread, for all
the requests of that interval together.
"""

import atexit
import logging
import os
import threading
from collections.abc import Callable

from django.db import connections

logger = logging.getLogger(__name__)


class Coalesced:
    """Runs ``action`` on a background thread about ``delay`` seconds after ``request()``;
    every ``request()`` made until the run starts is served by that one run.

    No request is lost: the pending flag is taken before ``action`` starts, so a request made
    while it runs gets a run of its own. A run still pending when the process exits runs at
    exit; a forked child starts with nothing pending and its own thread. The thread lives as
    long as the process, so what ``action`` opens (a Redis connection) is reused. ``action``
    should not raise: a failure is logged and the next request tries again.
    """

    def __init__(self, action: Callable[[], None], *, delay: float, name: str) -> None:
        self._action, self._delay, self._name = action, delay, name
        self._reset()
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self.run_now)

    def _reset(self) -> None:
        self._pending = threading.Event()
        self._lock = threading.Lock()  # taking the pending flag, starting the thread
        self._running = threading.Lock()  # one call at a time
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        self._pending.set()
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                    self._thread.start()

    def run_now(self) -> None:
        """Run a pending call at once in this thread, after any call in flight (process exit,
        tests); afterwards nothing requested so far is pending or running."""
        with self._running:
            if self._take():
                self._call()

    def _loop(self) -> None:
        never = threading.Event()
        while True:
            self._pending.wait()
            never.wait(self._delay)  # gather the requests of one interval into this run
            with self._running:
                if self._take():  # not already run by run_now
                    self._call()
            # A database connection the action opened belongs to this thread, which never ends
            # a request: close it rather than keep it open for the life of the process.
            connections.close_all()

    def _take(self) -> bool:
        with self._lock:
            pending = self._pending.is_set()
            self._pending.clear()
        return pending

    def _call(self) -> None:
        try:
            self._action()
        except Exception:  # a background thread has no caller to tell
            logger.exception("%s failed; the next request tries again", self._name)
