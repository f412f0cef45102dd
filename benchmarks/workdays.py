"""Benchmark: ``add_working_days(d, 15)`` in qiandao vs workalendar's China and chinese_calendar.

Run ``python benchmarks/workdays.py [--quick]``. Prints per-call medians (µs) and speed ratios;
each peer's answers are checked against qiandao's before timing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import date, timedelta

import chinese_calendar
from workalendar.asia import China

from qiandao.calendar import ChinaWorkdays

DAYS = 15


def random_dates(rng: random.Random, first: date, last: date, count: int) -> list[date]:
    """``count`` dates drawn uniformly from ``first..last``."""
    span = (last - first).days
    return [first + timedelta(days=rng.randint(0, span)) for _ in range(count)]


def per_call_median_us(
    call: Callable[[date], object], dates: Sequence[date], batch: int, rounds: int
) -> float:
    """Median over batches of the mean per-call time, in microseconds."""
    samples = []
    perf_counter_ns = time.perf_counter_ns
    for r in range(rounds):
        for start in range(0, len(dates), batch):
            chunk = dates[start : start + batch]
            t0 = perf_counter_ns()
            for d in chunk:
                call(d)
            samples.append((perf_counter_ns() - t0) / len(chunk) / 1000)
        if r == 0 and len(samples) > 200:
            break
    return statistics.median(samples)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer dates and rounds")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    n_fast, n_slow, rounds = (500, 100, 3) if args.quick else (5000, 1000, 5)
    dates_all = random_dates(rng, date(2018, 1, 1), date(2026, 12, 1), n_fast)
    dates_2023 = random_dates(rng, date(2023, 1, 1), date(2023, 11, 30), n_fast)

    cal = ChinaWorkdays.official()
    warnings.simplefilter("ignore")  # workalendar warns on every year it computes
    peer = China()

    def qiandao(d: date) -> date:
        return cal.add_working_days(d, DAYS)

    def workalendar(d: date) -> date:
        result: date = peer.add_working_days(d, DAYS)
        return result

    # chinese_calendar.find_workday(delta, d) counts the first working day on or after d as
    # day 0: for a working day d, find_workday(15, d) is the 15th working day after d (same as
    # ours); for a day off it is the 16th. The equivalent call uses delta 14 on days off.
    deltas = {d: DAYS if chinese_calendar.is_workday(d) else DAYS - 1 for d in dates_all}
    plain_mismatch = sum(chinese_calendar.find_workday(DAYS, d) != qiandao(d) for d in dates_all)

    def find_workday(d: date) -> date:
        result: date = chinese_calendar.find_workday(deltas[d], d)
        return result

    # correctness first: every peer must give qiandao's answers on the benchmark dates
    assert all(workalendar(d) == qiandao(d) for d in dates_2023[:n_slow])
    assert all(find_workday(d) == qiandao(d) for d in dates_all[:n_slow])

    ours_all = per_call_median_us(qiandao, dates_all, 100, rounds)
    ours_2023 = per_call_median_us(qiandao, dates_2023, 100, rounds)
    wk = per_call_median_us(workalendar, dates_2023[:n_slow], 20, 1)
    cc = per_call_median_us(find_workday, dates_all[:n_slow], 20, 1)

    print(f"add_working_days(d, {DAYS}), per-call median (µs), seed {args.seed}")
    print(f"  qiandao ChinaWorkdays   2018–2026: {ours_all:10.3f}")
    print(f"  qiandao ChinaWorkdays   2023     : {ours_2023:10.3f}")
    print(f"  workalendar China()     2023     : {wk:10.3f}   ({wk / ours_2023:,.0f}× slower)")
    print(f"  chinese_calendar        2018–2026: {cc:10.3f}   ({cc / ours_all:,.0f}× slower)")
    print(
        f"  note: find_workday({DAYS}, d) differs from ours on {plain_mismatch}/{len(dates_all)}"
        " dates (start on a day off); timed with the equivalent delta."
    )


if __name__ == "__main__":
    main()
