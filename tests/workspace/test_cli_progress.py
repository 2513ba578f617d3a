"""Progress off a terminal: a line per 10 %, not per tick, with time left; quiet and verbose."""

from __future__ import annotations

import io
from types import SimpleNamespace

from shrinkwise.workspace.cli.progress import Progress, time_left


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def tick(fraction: float, message: str = "working") -> SimpleNamespace:
    return SimpleNamespace(kind="progress", fraction=fraction, message=message)


def log(level: str, text: str) -> SimpleNamespace:
    return SimpleNamespace(kind="log", level=level, text=text)


def test_no_endless_zero_percent_lines() -> None:
    out, clock = io.StringIO(), Clock()
    p = Progress(stream=out, clock=clock)
    for _ in range(500):
        clock.t += 0.01
        p(tick(0.0, "calibrating"))
    assert out.getvalue().splitlines() == ["  0% calibrating"]


def test_a_line_per_ten_percent_with_time_left() -> None:
    out, clock = io.StringIO(), Clock()
    p = Progress(stream=out, clock=clock)
    for i in range(1001):
        clock.t = i * 0.02  # 20 s in all
        p(tick(i / 1000))
    lines = out.getvalue().splitlines()
    assert 10 <= len(lines) <= 12
    assert lines[-1].startswith("100%")
    assert "(about 10 s left)" in next(l for l in lines if l.startswith(" 50%"))


def test_a_slow_phase_still_reports_after_the_interval() -> None:
    out, clock = io.StringIO(), Clock()
    p = Progress(stream=out, clock=clock, interval_s=5)
    p(tick(0.11, "epoch 1"))
    clock.t = 2
    p(tick(0.12, "epoch 2"))  # too soon and same 10 % bucket: silent
    clock.t = 6
    p(tick(0.13, "epoch 3"))
    assert [l.split("% ")[1].split(" (")[0] for l in out.getvalue().splitlines()] == ["epoch 1", "epoch 3"]


def test_each_run_of_a_sweep_starts_its_own_count() -> None:
    out = io.StringIO()
    p = Progress(stream=out, clock=Clock())
    for prefix in ("[1/2] ", "[2/2] "):
        p.prefix = prefix
        p(tick(0.0))
        p(tick(1.0))
    assert [l.split("%")[0] for l in out.getvalue().splitlines()] == [
        "[1/2]   0",
        "[1/2] 100",
        "[2/2]   0",
        "[2/2] 100",
    ]


def test_quiet_verbose_and_log_levels() -> None:
    out = io.StringIO()
    p = Progress(stream=out, quiet=True)
    p(tick(0.5))
    p(log("warning", "w"))
    p(log("error", "e"))
    assert out.getvalue() == "error: e\n"
    out = io.StringIO()
    p = Progress(stream=out)
    p(log("info", "i"))
    p(log("warning", "w"))
    assert out.getvalue() == "warning: w\n"
    out = io.StringIO()
    p = Progress(stream=out, verbose=True)
    p(log("debug", "d"))
    assert out.getvalue() == "debug: d\n"


def test_time_left_wording() -> None:
    assert time_left(0.5, 0.5) is None  # too early to say
    assert time_left(10, 0.01) is None
    assert time_left(10, 0.5) == "about 10 s left"
    assert time_left(120, 0.5) == "about 2 min left"
    assert time_left(3 * 3600, 0.5) == "about 3.0 h left"
