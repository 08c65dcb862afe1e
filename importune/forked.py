"""Part of a big job done by a forked copy of this process, on the machine's other core.

``print`` composes a member's letters this way while it checks they are generated (and
the second half of a pile while it composes the first), and ``generate-letters`` run
again checks three letter files in five. A fork starts in a millisecond with everything
this process has loaded; a worker pool would start afresh or need its work pickled,
which costs more than these jobs save.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar, cast

from importune.errors import ImportuneError

T = TypeVar("T")


def freeze_heap() -> Callable[[], None]:
    """Move the objects made so far out of the garbage collector's sight, before forking
    processes that share them: a collection in either process would otherwise write to
    every page they share (each object's collector header), copying the whole heap a page
    at a time. Returns the function that gives them back once the copies are done; it
    does nothing when they were out of sight already (the outer freeze gives them back:
    ``print`` checks its letters, which may start workers, while a copy composes)."""
    outer = gc.get_freeze_count() > 0
    gc.freeze()
    return _nothing if outer else gc.unfreeze


def _nothing() -> None:
    pass


@contextmanager
def forked(work: Callable[[Any], T], arg: Any, lost: str) -> Iterator[Callable[[], T]]:
    """Run ``work(arg)`` in a forked copy of this process while the caller goes on; yields
    the function that waits for its result (or raises what it raised; ``lost``, as an
    ImportuneError, when the copy died without a result). The work must be the copy's
    alone: it never touches the database, and the copy leaves by ``os._exit``, so nothing
    the parent holds (the database, buffered output) is flushed or closed twice. Leaving
    the block early (an error, Ctrl-C) stops the copy. Typst may have threads of its own
    in this process (after a PDF was laid out): the work must not call Typst; the C
    library keeps memory allocation safe across a fork. When no process can be forked (a
    full process table), the work is done here, when its result is asked for.

    The objects made so far move out of the garbage collector's sight until the copy is
    done (:func:`freeze_heap`)."""
    thaw = freeze_heap()
    try:
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            raise
    except OSError:
        thaw()
        yield lambda: work(arg)
        return
    if pid == 0:  # pragma: no cover - the forked copy (coverage does not follow it)
        status = 0
        try:
            os.close(read)
            try:
                outcome: tuple[bool, Any] = (True, work(arg))
            except BaseException as error:  # handed back to the parent, raised there
                outcome = (False, error)
            try:
                data = pickle.dumps(outcome)
            except Exception:  # an exception that does not pickle: its message does
                error = outcome[1]
                data = pickle.dumps((False, ImportuneError(f"{type(error).__name__}: {error}")))
            with os.fdopen(write, "wb") as pipe:
                pipe.write(data)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write)
    reaped = False

    def result() -> T:
        nonlocal reaped
        with open(read, "rb", closefd=False) as pipe:
            data = pipe.read()
        os.waitpid(pid, 0)
        reaped = True
        try:
            ok, value = pickle.loads(data)
        except Exception:
            raise ImportuneError(lost) from None
        if ok:
            return cast(T, value)
        raise value

    try:
        yield result
    finally:
        os.close(read)
        if not reaped:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        thaw()
