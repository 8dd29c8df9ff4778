"""Benchmark: SLA deadlines computed per second for random arrivals over two years.

Run: ``python bench/bench_sla.py [--n 200000] [--seed 1]``. Prints three figures:

* single deadlines per second (``BusinessCalendar.deadline`` with a random office-hour target);
* commitments per second (``commitment_for``: response and resolution deadline of a random
  priority, the low priority's 5-working-day rule included);
* office-time measurements per second (``BusinessCalendar.office_time``).

The arrivals are uniform over 2025-2026 in Europe/Amsterdam, so they include nights, weekends,
holidays and both daylight-saving changes of each year. The target is >= 50,000 per second.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from mailtriage.config import CalendarConfig, SlaConfig
from mailtriage.sla.calendar import BusinessCalendar
from mailtriage.sla.commitments import commitment_for

TARGET_PER_SECOND = 50_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="arrivals per measurement")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    zone = ZoneInfo("Europe/Amsterdam")
    lo = int(datetime(2025, 1, 1, tzinfo=zone).timestamp())
    hi = int(datetime(2027, 1, 1, tzinfo=zone).timestamp())
    arrivals = [datetime.fromtimestamp(rng.randrange(lo, hi), UTC).astimezone(zone)
                for _ in range(args.n)]
    targets = [timedelta(hours=rng.choice((2, 4, 8, 16))) for _ in range(args.n)]
    priorities = [rng.choice(("high", "medium", "low")) for _ in range(args.n)]
    ends = [a + timedelta(hours=rng.randrange(1, 24 * 20)) for a in arrivals]

    t0 = time.perf_counter()
    calendar = BusinessCalendar.from_config(CalendarConfig())
    calendar.deadline(arrivals[0], timedelta(hours=1))  # builds the timeline
    setup = time.perf_counter() - t0
    sla = SlaConfig()

    t0 = time.perf_counter()
    for start, target in zip(arrivals, targets, strict=True):
        calendar.deadline(start, target)
    single = args.n / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    for start, priority in zip(arrivals, priorities, strict=True):
        commitment_for(priority, start, "guaranteed", calendar, sla)
    commitments = args.n / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    for start, end in zip(arrivals, ends, strict=True):
        calendar.office_time(start, end)
    office = args.n / (time.perf_counter() - t0)

    print(f"arrivals: {args.n} uniform over 2025-2026 (Europe/Amsterdam), seed {args.seed}")
    print(f"calendar setup (holidays, 4 years of intervals): {setup * 1000:.1f} ms")
    print(f"deadlines/second (single deadline):            {single:,.0f}")
    print(f"commitments/second (response + resolution):    {commitments:,.0f}"
          f"  = {2 * commitments:,.0f} deadlines/second")
    print(f"office_time/second:                            {office:,.0f}")
    verdict = "met" if single >= TARGET_PER_SECOND else "MISSED"
    print(f"target {TARGET_PER_SECOND:,} deadlines/second: {verdict}")


if __name__ == "__main__":
    main()
