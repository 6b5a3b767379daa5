"""The PNG chart: travelsync's time over each peer's, per step, on a log scale (1 = as fast).

matplotlib draws it when it is importable; otherwise a small bar chart is drawn here pixel by
pixel (a 3×5 font, zlib-compressed PNG), so the benchmark needs no extra dependency.
"""

import math
import struct
import zlib

PEER_COLOURS = {"rsync": (70, 110, 200), "rsync-insecure-links": (140, 170, 230), "rsnapshot": (120, 170, 90), "borg": (220, 140, 50),
                "restic": (190, 70, 80)}
LOW, HIGH = 0.01, 10.0  # log axis range

FONT = {  # 3 columns × 5 rows, rows top to bottom, '#' = ink
    "A": "###,#.#,###,#.#,#.#", "B": "##.,#.#,##.,#.#,##.", "C": "###,#..,#..,#..,###",
    "D": "##.,#.#,#.#,#.#,##.", "E": "###,#..,##.,#..,###", "F": "###,#..,##.,#..,#..",
    "G": "###,#..,#.#,#.#,###", "H": "#.#,#.#,###,#.#,#.#", "I": "###,.#.,.#.,.#.,###",
    "J": "..#,..#,..#,#.#,###", "K": "#.#,#.#,##.,#.#,#.#", "L": "#..,#..,#..,#..,###",
    "M": "#.#,###,###,#.#,#.#", "N": "##.,#.#,#.#,#.#,#.#", "O": "###,#.#,#.#,#.#,###",
    "P": "###,#.#,###,#..,#..", "Q": "###,#.#,#.#,###,..#", "R": "###,#.#,##.,#.#,#.#",
    "S": "###,#..,###,..#,###", "T": "###,.#.,.#.,.#.,.#.", "U": "#.#,#.#,#.#,#.#,###",
    "V": "#.#,#.#,#.#,#.#,.#.", "W": "#.#,#.#,###,###,#.#", "X": "#.#,#.#,.#.,#.#,#.#",
    "Y": "#.#,#.#,.#.,.#.,.#.", "Z": "###,..#,.#.,#..,###",
    "0": "###,#.#,#.#,#.#,###", "1": ".#.,##.,.#.,.#.,###", "2": "###,..#,###,#..,###",
    "3": "###,..#,###,..#,###", "4": "#.#,#.#,###,..#,..#", "5": "###,#..,###,..#,###",
    "6": "###,#..,###,#.#,###", "7": "###,..#,..#,..#,..#", "8": "###,#.#,###,#.#,###",
    "9": "###,#.#,###,..#,###", ".": "...,...,...,...,.#.", "/": "..#,..#,.#.,#..,#..",
    "(": ".#.,#..,#..,#..,.#.", ")": ".#.,..#,..#,..#,.#.", "-": "...,...,###,...,...",
    "%": "#.#,..#,.#.,#..,#.#", ":": "...,.#.,...,.#.,...", "=": "...,###,...,###,...",
    " ": "...,...,...,...,...", "X2": "...,#.#,.#.,#.#,...",
}


class Canvas:
    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.pixels = bytearray(b"\xff" * (width * height * 3))

    def rect(self, x0, y0, x1, y1, colour):
        # Clipped to the canvas: a pixel past a row's end would land at the start of the next row.
        x0, x1 = (min(max(0, int(v)), self.width) for v in sorted((x0, x1)))
        y0, y1 = (min(max(0, int(v)), self.height) for v in sorted((y0, y1)))
        row = bytes(colour) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start:start + len(row)] = row

    def text(self, x, y, text, colour=(0, 0, 0), scale=2):
        for char in text.upper():
            glyph = FONT.get(char, FONT[" "])
            for row, bits in enumerate(glyph.split(",")):
                for column, bit in enumerate(bits):
                    if bit == "#":
                        self.rect(x + column * scale, y + row * scale, x + (column + 1) * scale,
                                  y + (row + 1) * scale, colour)
            x += 4 * scale

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.pixels[y * self.width * 3:(y + 1) * self.width * 3])
                       for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + \
            chunk(b"IEND", b"")


def text_width(text, scale=2):
    return len(text) * 4 * scale


def draw_plain(ratios: dict, title: str) -> bytes:
    """ratios: {step: {peer: travelsync/peer}} (missing peers left out)."""
    steps = list(ratios)
    peers = [p for p in PEER_COLOURS if any(p in ratios[s] for s in steps)]
    group = max(1, len(peers)) * 18 + 30
    left, top, bottom = 70, 50, 60
    legend = 45 + max((text_width(p) for p in peers), default=0)  # the swatch, a gap, the name
    width = left + group * max(1, len(steps)) + legend
    height = 360
    plot_bottom = height - bottom
    canvas = Canvas(width, height)

    def y_of(value):
        value = min(max(value, LOW), HIGH)
        fraction = (math.log10(value) - math.log10(LOW)) / (math.log10(HIGH) - math.log10(LOW))
        return plot_bottom - fraction * (plot_bottom - top)

    canvas.text(left, 12, title, scale=2)
    for tick in (0.01, 0.1, 1, 10):
        y = y_of(tick)
        canvas.rect(left, y, left + group * len(steps), y + (2 if tick == 1 else 1),
                    (0, 0, 0) if tick == 1 else (200, 200, 200))
        label = f"{tick:g}"
        canvas.text(left - 8 - text_width(label), y - 5, label)
    canvas.rect(left - 1, top, left, plot_bottom, (0, 0, 0))
    for index, step in enumerate(steps):
        x = left + index * group + 15
        for peer in peers:
            value = ratios[step].get(peer)
            if value is not None and value > 0:
                canvas.rect(x, y_of(value), x + 14, plot_bottom, PEER_COLOURS[peer])
            x += 18
        local, _, link = step.partition("@")  # prepare@1gbit: the link's rate on a second line
        canvas.text(left + index * group + 15, plot_bottom + 10, local[:9], scale=2)
        if link:
            canvas.text(left + index * group + 15, plot_bottom + 24, link[:9], scale=2)
    legend_x = left + group * len(steps) + 20
    for number, peer in enumerate(peers):
        y = top + number * 22
        canvas.rect(legend_x, y, legend_x + 14, y + 14, PEER_COLOURS[peer])
        canvas.text(legend_x + 20, y + 2, peer)
    canvas.text(left, height - 24, "BELOW 1: TRAVELSYNC FASTER", scale=2)
    return canvas.png()


def draw(ratios: dict, title: str) -> tuple[bytes, str]:
    """The PNG bytes and the drawer used ("matplotlib" or "built-in")."""
    try:
        import io

        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return draw_plain(ratios, title), "built-in"
    steps = list(ratios)
    peers = [p for p in PEER_COLOURS if any(p in ratios[s] for s in steps)]
    figure, axes = plt.subplots(figsize=(8, 4), dpi=80)
    width = 0.8 / max(1, len(peers))
    for number, peer in enumerate(peers):
        xs = [i + number * width for i, s in enumerate(steps) if peer in ratios[s]]
        ys = [ratios[s][peer] for s in steps if peer in ratios[s]]
        axes.bar(xs, ys, width, label=peer, color=[c / 255 for c in PEER_COLOURS[peer]])
    axes.set_yscale("log")
    axes.axhline(1, color="black", linewidth=1)
    axes.set_xticks([i + 0.4 - width / 2 for i in range(len(steps))], steps)
    axes.set_ylabel("travelsync time / peer time")
    axes.set_title(title)
    axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue(), "matplotlib"
