"""rsync/progress.combine: several rsyncs' --info=progress2 as one bar (pure)."""

from travelsync.rsync.progress import combine, format_rate, rate_bytes
from travelsync.rsync.run import Progress


def test_rates_read_and_written_in_rsyncs_units():
    assert rate_bytes("12.50MB/s") == 12.5 * 2**20
    assert rate_bytes(" 512.00kB/s") == 512 * 1024 and rate_bytes("7.00B/s") == 7
    assert rate_bytes("??") == 0
    assert format_rate(12.5 * 2**20) == "12.50MB/s" and format_rate(100) == "100.00B/s"


def test_bytes_rates_and_counts_add_up_and_the_whole_is_what_each_percentage_implies():
    a = Progress(50 * 2**20, 50, "10.00MB/s", "0:00:05", 10, 90, 200)  # half of 100 MiB
    b = Progress(30 * 2**20, 10, "20.00MB/s", "0:00:13", 3, 500, 600)  # a tenth of 300 MiB
    both = combine([a, b])
    assert both.bytes == 80 * 2**20 and both.percent == 20  # 80 of 400 MiB
    assert both.rate == "30.00MB/s" and both.eta == "0:00:10"  # 320 MiB left at 30 MiB/s
    assert (both.transferred, both.to_check, both.total) == (13, 590, 800)


def test_a_run_not_started_counts_as_the_average_of_those_that_have():
    done = Progress(100, 100, "1.00kB/s", "0:00:00", 1, 0, 1)
    half = Progress(100, 50, "1.00kB/s", "0:00:00", 1, 0, 1)
    assert combine([None, None]).percent == 0 and combine([None, None]).bytes == 0
    assert combine([done, None]).percent == 50  # 100 of 100 + 100 (the one to come)
    assert combine([done, half, None, None]).percent == 33  # 200 of (100 + 200) * 2
    assert combine([done, done]).percent == 100
    assert combine([Progress(0, 0, "0B/s", "0:00:00"), None]).percent == 0
    assert combine([done, None]).to_check == 0 and combine([Progress(5, 0, "0B/s", "0:00:00"), None]).total is None
