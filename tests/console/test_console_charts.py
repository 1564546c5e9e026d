"""Daily bar charts laid out for the template."""

from trackway.console.charts import HEIGHT, MIN_BAR, daily_chart
from trackway.store.activity import Days

# Day 19_700 is 2023-12-09.
FIRST = 19_700


def test_a_bar_per_day_scaled_to_the_busiest_day() -> None:
    chart = daily_chart(
        "c", "Events", "event", Days(FIRST, 3), {FIRST: 10, FIRST + 2: 5}
    )

    assert [bar.count for bar in chart.bars] == [10, 0, 5]
    assert [bar.height for bar in chart.bars] == [HEIGHT, 0.0, HEIGHT / 2]
    assert [bar.y + bar.height for bar in chart.bars] == [HEIGHT] * 3
    assert (chart.total, chart.peak, chart.peak_day) == (15, 10, "2023-12-09")
    assert (chart.first_day, chart.last_day) == ("2023-12-09", "2023-12-11")


def test_a_small_count_beside_a_huge_one_stays_visible() -> None:
    chart = daily_chart(
        "c", "Events", "event", Days(FIRST, 2), {FIRST: 10_000, FIRST + 1: 1}
    )

    assert chart.bars[1].height == MIN_BAR


def test_counts_outside_the_days_are_not_drawn() -> None:
    chart = daily_chart("c", "Events", "event", Days(FIRST, 1), {FIRST - 1: 4})

    assert (chart.total, chart.peak_day, chart.busy_bars) == (0, None, [])


def test_amounts_read_as_words() -> None:
    chart = daily_chart("c", "Events", "event", Days(FIRST, 1), {})

    assert [chart.amount(n) for n in (0, 1, 24_071)] == [
        "0 events",
        "1 event",
        "24,071 events",
    ]
