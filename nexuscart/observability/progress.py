"""Progress lines for long commands (seed, reindex, warm-up, reconcile): on stderr, only when asked.

A management command opts in with a decorator on its handle():

    @progress.reporting("search_index")
    def handle(self, *args, **options): ...

and the services it calls mark their loops and steps, which cost nothing when nobody reports:

    for chunk in progress.track(_batches(ids, 1000), "indexed", total=len(ids), weight=len): ...
    timings = progress.StepTimes()          # a dict; each step stored is also printed

Lines look like `[search_index] indexed 4000/10000 (40%) 3.1s, ~4.6s left`, at most one a second per
loop (and the last one), so a log stays readable.
"""

from __future__ import annotations

import contextvars
import functools
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


class _Reporter:
    def __init__(self, name: str, stream: TextIO, every: float) -> None:
        self.name, self.stream, self.every = name, stream, every
        self.started = time.monotonic()

    def line(self, text: str) -> None:
        self.stream.write(f"[{self.name}] {text}\n")
        self.stream.flush()


_reporter: contextvars.ContextVar[_Reporter | None] = contextvars.ContextVar("progress_reporter", default=None)


def reporting(name: str, *, every: float = 1.0, stream: TextIO | None = None) -> Callable:
    """Decorator: progress of everything the function calls goes to `stream` (stderr) as `[name] ...`."""

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # A management command's own stderr (call_command(stderr=...) and tests honour it).
            target = stream or getattr(args[0] if args else None, "stderr", None) or sys.stderr
            token = _reporter.set(_Reporter(name, target, every))
            try:
                return func(*args, **kwargs)
            finally:
                _reporter.reset(token)

        return wrapper

    return decorate


def track(
    items: Iterable[T], label: str, *, total: int | None = None, weight: Callable[[T], int] | None = None
) -> Iterator[T]:
    """Yield `items`, reporting how far along it is (`weight(item)` units per item, default 1)."""
    reporter = _reporter.get()
    if reporter is None:
        yield from items
        return
    done, started, last = 0, time.monotonic(), 0.0
    for item in items:
        yield item
        done += weight(item) if weight else 1
        now = time.monotonic()
        if now - last >= reporter.every:
            last = now
            reporter.line(_status(label, done, total, now - started))
    reporter.line(_status(label, done, total, time.monotonic() - started) + " done")


def _status(label: str, done: int, total: int | None, elapsed: float) -> str:
    if not total:
        return f"{label} {done} {elapsed:.1f}s"
    text = f"{label} {done}/{total} ({100 * done // total}%) {elapsed:.1f}s"
    if 0 < done < total:
        text += f", ~{elapsed * (total - done) / done:.1f}s left"
    return text


def step(text: str) -> None:
    """One line, with the time since the command started."""
    reporter = _reporter.get()
    if reporter is not None:
        reporter.line(f"{text} ({time.monotonic() - reporter.started:.1f}s)")


class StepTimes(dict):
    """A dict of step name -> seconds that also reports each step when it is stored."""

    def __setitem__(self, key: str, value: float) -> None:
        super().__setitem__(key, value)
        step(f"{key} done")
