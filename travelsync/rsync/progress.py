"""A one-line progress bar on a terminal from rsync's `--info=progress2`, the sum of several
rsyncs' progress as one, and the end summary."""

import re
import threading
import time


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def render_bar(progress, label: str = "", width: int = 24) -> str:
    """`label [#######.....]  45%  1.2 GiB  12.34MB/s  ETA 0:00:12  files 120` (pure)."""
    filled = max(0, min(width, progress.percent * width // 100))
    files = f"  files {progress.transferred}" if progress.transferred is not None else ""
    return (f"{label}[{'#' * filled}{'.' * (width - filled)}] {progress.percent:3d}%  "
            f"{human_bytes(progress.bytes)}  {progress.rate}  ETA {progress.eta}{files}")


def steady_eta(elapsed: float, percent: int) -> str | None:
    """The time left at the average pace so far (pure): it converges as the work proceeds,
    where rsync's own figure follows the current file's rate and jumps. None below 1 %."""
    if percent < 1 or elapsed <= 0:
        return None
    seconds = int(elapsed * (100 - percent) / percent)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProgressBar:
    """Redraws one stderr line at most 10 times a second; `finish()` clears it.

    What it shows never goes backwards (a percentage that dips, as rsync's does when its
    incremental file list grows, is held) and its ETA is the average pace's (steady_eta)."""

    def __init__(self, stream, label: str = "", clock=time.monotonic):
        self.stream = stream
        self.label = label
        self.clock = clock
        self.started = None
        self.top = 0  # the highest percentage shown
        self.last_draw = 0.0
        self.drawn = False
        self.pending = None  # the newest progress not drawn yet (throttled)

    def steady(self, progress):
        """`progress` with its percentage held at the highest seen and the average pace's ETA."""
        from dataclasses import replace

        now = self.clock()
        if self.started is None:
            self.started = now
        self.top = max(self.top, min(100, progress.percent))
        eta = steady_eta(now - self.started, self.top) or progress.eta
        return replace(progress, percent=self.top, eta=eta)

    def update(self, progress) -> None:
        progress = self.steady(progress)
        now = self.clock()
        if now - self.last_draw < 0.1:
            self.pending = progress
            return
        self.last_draw = now
        self._draw(progress)

    def _draw(self, progress) -> None:
        self.pending = None
        self.stream.write("\r\x1b[K" + render_bar(progress, self.label))
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        """Show the final state once, then clear the line for the summary."""
        if self.pending is not None:
            self._draw(self.pending)
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False


def summary_line(files: int, transferred: int, total_size: int, seconds: float) -> str:
    return (f"{files} files transferred, {human_bytes(transferred)} sent of {human_bytes(total_size)}"
            f" in {seconds:.1f} s")


_RATE = re.compile(r"^(?P<number>[\d.]+)(?P<unit>[kMGT]?)B/s$")
_UNITS = {"": 1, "k": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}  # rsync's progress counts in 1024s


def rate_bytes(text: str) -> float:
    """`12.34MB/s` (as rsync prints it) → bytes a second; 0 for what it cannot read."""
    match = _RATE.match(text.strip())
    return float(match.group("number")) * _UNITS[match.group("unit")] if match else 0.0


def format_rate(per_second: float) -> str:
    for unit in ("", "k", "M", "G"):
        if per_second < 1024 or unit == "G":
            return f"{per_second:.2f}{unit}B/s"
        per_second /= 1024
    return f"{per_second:.2f}GB/s"


def combine(parts):
    """Several rsyncs' latest progress (None: not started) as one (pure).

    Bytes, rates and file counts add up. Each run's whole is what its percentage implies
    (bytes / percent); a run not started yet counts as the average of those that have (the
    bar would otherwise near 100 % on the first runs and fall back when the next began)."""
    from travelsync.rsync.run import Progress

    started = [p for p in parts if p is not None]
    done = sum(p.bytes for p in started)
    whole = sum(p.bytes * 100 / p.percent if p.percent else p.bytes for p in started)
    if started:
        whole += (len(parts) - len(started)) * whole / len(started)
    percent = min(100, int(done * 100 / whole)) if whole else 0
    if len(started) < len(parts):
        percent = min(percent, 99)  # runs are still to come
    rate = sum(rate_bytes(p.rate) for p in started)
    left = max(0.0, whole - done)
    seconds = int(left / rate) if rate else 0
    eta = f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

    def total(name):
        values = [getattr(p, name) for p in started if getattr(p, name) is not None]
        return sum(values) if values else None

    return Progress(done, percent, format_rate(rate), eta, total("transferred"), total("to_check"), total("total"))


class Combined:
    """Fans several rsyncs' progress, each from its own thread, into one `on_progress`
    (a ProgressBar's update, which draws one line and is not made for threads)."""

    def __init__(self, runs: int, on_progress):
        self.parts = [None] * runs
        self.on_progress = on_progress
        self.lock = threading.Lock()

    def for_run(self, index: int):
        def update(progress) -> None:
            with self.lock:
                self.parts[index] = progress
                self.on_progress(combine(self.parts))

        return update
