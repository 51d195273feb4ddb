"""Running a coroutine from a protocol callback without a task when it does not need to wait.

``Gate.decide`` almost always answers from a dictionary without awaiting anything. Stepping its
coroutine once, synchronously, gives that answer with no task and no trip around the event loop; only
a coroutine that really waits (waking a sleeping Space, a database look-up that awaits) is handed to
a task, which continues it where it stopped. On Python 3.12+ that is an eager task (the first step runs
inside the task, so ``asyncio.timeout`` works from the start); on 3.11 the first step runs with no
current task, which 3.11's ``asyncio.wait_for`` does not need.
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


def run_eagerly(coro: Coroutine[Any, Any, T]) -> T | asyncio.Future[T]:
    """The coroutine's result if it finishes without waiting, else a future for it (an exception it
    raises in its first step propagates)."""
    if sys.version_info >= (3, 12):
        task = asyncio.Task(coro, loop=asyncio.get_running_loop(), eager_start=True)
        return task.result() if task.done() else task
    try:
        waiting_on = coro.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    return asyncio.ensure_future(_finish(coro, waiting_on))


async def _finish(coro: Coroutine[Any, Any, T], waiting_on: Any) -> T:
    return await _resume(coro, waiting_on)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, T], waiting_on: Any) -> Generator[Any, Any, T]:
    """Yield what ``coro`` waits on to the task, and pass back what the task sends or throws."""
    while True:
        try:
            sent = yield waiting_on
        except BaseException as error:  # cancellation included: the coroutine decides what it means
            try:
                waiting_on = coro.throw(error)
            except StopIteration as done:
                result: T = done.value
                return result
        else:
            try:
                waiting_on = coro.send(sent)
            except StopIteration as done:
                result = done.value
                return result
