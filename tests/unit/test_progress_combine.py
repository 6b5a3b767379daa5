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


def test_the_bar_never_goes_backwards_and_its_eta_converges():
    """rsync's percentage dips when its file list grows, and its ETA follows the current
    file's rate: the bar holds the highest percentage and shows the average pace's ETA."""
    import io

    from travelsync.rsync.progress import ProgressBar
    from travelsync.rsync.run import Progress

    seconds = [0.0]
    bar = ProgressBar(io.StringIO(), "x ", clock=lambda: seconds[0])
    shown, etas = [], []
    # steady work: 1 % a second; rsync's own figures dip and jump around it
    for second, (percent, rsync_eta) in enumerate([(1, "0:00:05"), (10, "9:59:59"), (8, "0:00:01"), (30, "0:10:00"),
                                                   (29, "0:00:02"), (50, "1:00:00"), (75, "0:00:00"), (90, "0:09:00")]):
        seconds[0] = float(max(percent, 1))
        steady = bar.steady(Progress(percent * 1000, percent, "1.00MB/s", rsync_eta))
        shown.append(steady.percent)
        etas.append(steady.eta)
    assert shown == sorted(shown) and shown[-1] == 90
    assert etas[-1] == "0:00:09"  # 89 s (from the first update) for 89 points: 9.9 s left
    left = [int(e.split(":")[1]) * 60 + int(e.split(":")[2]) for e in etas[3:]]
    assert left == sorted(left, reverse=True)  # the time left only shrinks at a steady pace
