"""Daily bar charts, laid out here and drawn by the template as inline SVG.

The SVG holds only the bars, in a 1-unit-per-day by 100-unit-high box that
stretches to the page's width; labels are HTML beside it, so they keep
their size on a phone. Nothing is fetched: the console works offline.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from trackway.store.activity import DAY_MS, Days

HEIGHT = 100.0
# A day with any count stays visible however tall the busiest day is.
MIN_BAR = 1.5
BAR_WIDTH = 0.8


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    height: float
    day: str
    count: int


@dataclass(frozen=True, slots=True)
class Chart:
    """Bars for `days`, with what a caption and a data table need."""

    key: str
    title: str
    unit: str  # what is counted, one of them: "event"
    days: Days
    bars: list[Bar]
    total: int
    peak: int
    peak_day: str | None

    def amount(self, count: int) -> str:
        """`1 event`, `24,071 events`."""
        noun = self.unit if count == 1 else self.unit + "s"
        return f"{count:,} {noun}"

    @property
    def width(self) -> int:
        return self.days.count

    @property
    def first_day(self) -> str:
        return day_text(self.days.first)

    @property
    def middle_day(self) -> str:
        return day_text(self.days.first + self.days.count // 2)

    @property
    def last_day(self) -> str:
        return day_text(self.days.first + self.days.count - 1)

    @property
    def busy_bars(self) -> list[Bar]:
        """The days with a count, for the table beneath the chart."""
        return [bar for bar in self.bars if bar.count]


def day_text(day: int) -> str:
    """`2024-03-13` for day number `day` since the epoch."""
    moment = datetime.fromtimestamp(day * DAY_MS / 1000, UTC)
    return date(moment.year, moment.month, moment.day).isoformat()


def daily_chart(
    key: str, title: str, unit: str, days: Days, counts: dict[int, int]
) -> Chart:
    """A chart of `counts` (by day number) over `days`."""
    shown = [counts.get(days.first + offset, 0) for offset in range(days.count)]
    peak = max(shown, default=0)
    bars = [
        _bar(offset, days.first + offset, count, peak)
        for offset, count in enumerate(shown)
    ]
    busiest = max(bars, key=lambda bar: bar.count) if peak else None
    return Chart(
        key=key,
        title=title,
        unit=unit,
        days=days,
        bars=bars,
        total=sum(bar.count for bar in bars),
        peak=peak,
        peak_day=None if busiest is None else busiest.day,
    )


def _bar(offset: int, day: int, count: int, peak: int) -> Bar:
    height = 0.0
    if count:
        height = max(HEIGHT * count / peak, MIN_BAR)
    return Bar(
        x=offset + (1 - BAR_WIDTH) / 2,
        y=HEIGHT - height,
        height=height,
        day=day_text(day),
        count=count,
    )
