"""A one-line progress bar on a terminal from rsync's `--info=progress2`, and the end summary."""

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


class ProgressBar:
    """Redraws one stderr line at most 10 times a second; `finish()` clears it."""

    def __init__(self, stream, label: str = ""):
        self.stream = stream
        self.label = label
        self.last_draw = 0.0
        self.drawn = False
        self.pending = None  # the newest progress not drawn yet (throttled)

    def update(self, progress) -> None:
        now = time.monotonic()
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
