"""The money pools behind the tracing policies: one account's funds, drawn by fifo, lifo or pro rata.

Forward tracing asks how much of an outflow is traced money (:class:`TracedQueue`,
:class:`TracedPool`); backward tracing asks which inflows an outflow drew on (:class:`SourcedQueue`,
:class:`SourcedPool`). Every draw is amortised O(1) (queues pop what they empty, adjacent plain
lots merge) or O(traced lots still followable) (pro rata through a common scale factor), so a
hub with many movements stays linear. An outflow larger than the pool draws the excess on funds
never observed: unknown origin.

>>> q = TracedQueue(fifo=True, delay=10, max_hops=4)
>>> q.add(100.0, 0.0, 0, 0)      # unknown-origin money already there
>>> q.add(100.0, 100.0, 1, 1)    # traced money arrives
>>> q.draw(150.0, 2)             # 100 unknown first, then 50 traced
50.0
>>> p = TracedPool(delay=10, max_hops=4)
>>> p.add(100.0, 0.0, 0, 0); p.add(100.0, 100.0, 1, 1)
>>> p.draw(50.0, 2)              # a quarter of the pool, a quarter of the traced money
25.0
"""

from __future__ import annotations

from collections import deque

__all__ = ["SourcedPool", "SourcedQueue", "TracedPool", "TracedQueue"]

_EPS = 1e-9
_RENORM = 1e-12


class TracedQueue:
    """FIFO (a queue) or LIFO (a stack) of lots ``[amount, traced, arrival, hop]``."""

    def __init__(self, fifo: bool, delay: int, max_hops: int) -> None:
        self.fifo = fifo
        self.delay = delay
        self.max_hops = max_hops
        self.lots: deque[list[float]] = deque()

    def add(self, amount: float, traced: float, t: int, hop: int) -> None:
        """A receipt; plain money next to plain money merges (the order inside cannot matter)."""
        if amount <= _EPS:
            return
        if traced <= 0 and self.lots and self.lots[-1][1] <= 0:
            self.lots[-1][0] += amount
        else:
            self.lots.append([amount, traced, float(t), float(hop)])

    def draw(self, x: float, t: int) -> float:
        """Pay ``x`` out at time ``t``; the traced money it carries that may be followed on."""
        out, left, lots = 0.0, x, self.lots
        while left > _EPS and lots:
            lot = lots[0] if self.fifo else lots[-1]
            y = min(left, lot[0])
            tr = lot[1] * (y / lot[0])
            if tr > 0 and t - lot[2] <= self.delay and lot[3] < self.max_hops:
                out += tr
            lot[0] -= y
            lot[1] -= tr
            left -= y
            if lot[0] <= _EPS:
                lots.popleft() if self.fifo else lots.pop()
        return out


class TracedPool:
    """Pro rata: each outflow takes the same share of every lot (the haircut)."""

    def __init__(self, delay: int, max_hops: int) -> None:
        self.delay = delay
        self.max_hops = max_hops
        self.total = 0.0  # money in the pool
        self.scale = 1.0  # every lot's share left, relative to when it was added
        self.lots: list[tuple[float, int]] = []  # (traced / scale at arrival, arrival)
        self.first = 0  # lots before this index are older than the delay
        self.live = 0.0  # sum of unscaled traced of lots[first:]

    def add(self, amount: float, traced: float, t: int, hop: int) -> None:
        if amount <= _EPS:
            return
        self.total += amount
        if traced > 0 and hop < self.max_hops:
            v = traced / self.scale
            self.lots.append((v, t))
            self.live += v

    def draw(self, x: float, t: int) -> float:
        while self.first < len(self.lots) and t - self.lots[self.first][1] > self.delay:
            self.live -= self.lots[self.first][0]
            self.first += 1
        if self.total <= _EPS:
            return 0.0
        f = min(x, self.total) / self.total
        out = self.scale * max(self.live, 0.0) * f
        if f >= 1.0 - _EPS:
            self.total, self.scale, self.lots, self.first, self.live = 0.0, 1.0, [], 0, 0.0
            return out
        self.total -= self.total * f
        self.scale *= 1.0 - f
        if self.scale < _RENORM:
            live = [(v * self.scale, at) for v, at in self.lots[self.first :]]
            self.lots, self.first, self.scale = live, 0, 1.0
            self.live = sum(v for v, _ in live)
        return out


class SourcedQueue:
    """FIFO or LIFO of lots ``[amount, eid]``; eid -1 is money we do not follow back."""

    def __init__(self, fifo: bool) -> None:
        self.fifo = fifo
        self.lots: deque[list[float]] = deque()

    def add(self, amount: float, eid: int, t: int) -> None:
        if amount <= _EPS:
            return
        if eid < 0 and self.lots and self.lots[-1][1] < 0:
            self.lots[-1][0] += amount
        else:
            self.lots.append([amount, float(eid)])

    def draw(self, x: float, t: int, record: bool) -> list[tuple[int, float]]:
        """Pay ``x`` out; if ``record``, the (inflow eid, amount) pieces it drew on."""
        pieces: list[tuple[int, float]] = []
        left, lots = x, self.lots
        while left > _EPS and lots:
            lot = lots[0] if self.fifo else lots[-1]
            y = min(left, lot[0])
            if record and lot[1] >= 0:
                pieces.append((int(lot[1]), y))
            lot[0] -= y
            left -= y
            if lot[0] <= _EPS:
                lots.popleft() if self.fifo else lots.pop()
        return pieces


class SourcedPool:
    """Pro rata with named lots: an outflow drew the same share of every lot."""

    def __init__(self, delay: int) -> None:
        self.delay = delay
        self.total = 0.0
        self.scale = 1.0
        self.lots: list[tuple[float, int, int]] = []  # (amount / scale at arrival, eid, arrival)
        self.first = 0

    def add(self, amount: float, eid: int, t: int) -> None:
        if amount <= _EPS:
            return
        self.total += amount
        if eid >= 0:
            self.lots.append((amount / self.scale, eid, t))

    def draw(self, x: float, t: int, record: bool) -> list[tuple[int, float]]:
        while self.first < len(self.lots) and t - self.lots[self.first][2] > self.delay:
            self.first += 1
        if self.total <= _EPS:
            return []
        f = min(x, self.total) / self.total
        pieces = (
            [(eid, v * self.scale * f) for v, eid, _ in self.lots[self.first :]] if record else []
        )
        if f >= 1.0 - _EPS:
            self.total, self.scale, self.lots, self.first = 0.0, 1.0, [], 0
            return pieces
        self.total -= self.total * f
        self.scale *= 1.0 - f
        if self.scale < _RENORM:
            self.lots = [(v * self.scale, e, at) for v, e, at in self.lots[self.first :]]
            self.first, self.scale = 0, 1.0
        return pieces
