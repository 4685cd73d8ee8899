"""The weekly digest's chart: stoppages and investments per week above, deploys below, as a PNG.

A picture because the point of the digest is the trend — investments compounding while
stoppages fall — and a trend reads at a glance in bars, not in a table of numbers. What it shows
is decided in bot/render/chart_view.py; this module only draws it, at twice its size so it stays
sharp on the high-density screens Slack scales it down for. Pillow draws it with its built-in
font, so the same weeks give the same bytes on every machine with the same Pillow, and no font
files need shipping.
"""

import io

from PIL import Image, ImageDraw, ImageFont

from bot.render.chart_view import Axis, ChartView, ChartWeek

SCALE = 2  # drawn at twice its size; Slack shows it scaled
WIDTH, HEIGHT = 960, 620  # in points: the PNG is WIDTH × SCALE by HEIGHT × SCALE pixels

# Okabe–Ito colours: told apart by people with the common colour-vision deficiencies.
STOPPAGES, INVESTMENTS, DEPLOYS = "#D55E00", "#009E73", "#0072B2"
SERIES = (("Stoppages", STOPPAGES), ("Investments", INVESTMENTS), ("Deploys", DEPLOYS))
INK, MUTED, GRID, PAPER = "#1F2328", "#59636E", "#D8DEE4", "#FFFFFF"

LEFT, RIGHT = 96, 32  # the plot area's margins
COUNTS_PANEL = (150, 380)  # top and bottom of the stoppages-and-investments panel
DEPLOYS_PANEL = (430, 540)
SLOTS = 8  # bars are sized for eight weeks, so fewer weeks do not make fat bars

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


class Pen:
    """Draws in points on a canvas SCALE times larger."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)

    def font(self, size: float) -> Font:
        return ImageFont.load_default(size=size * SCALE)

    def width(self, text: str, size: float) -> float:
        return self.draw.textlength(text, font=self.font(size)) / SCALE

    def text(self, x: float, y: float, text: str, *, size: float, fill: str = INK) -> None:
        self.draw.text((x * SCALE, y * SCALE), text, fill=fill, font=self.font(size))

    def centred(self, x: float, y: float, text: str, *, size: float, fill: str = INK) -> None:
        self.text(x - self.width(text, size) / 2, y, text, size=size, fill=fill)

    def box(self, x0: float, y0: float, x1: float, y1: float, *, fill: str) -> None:
        self.draw.rectangle(_px(x0, y0, x1, y1, end=True), fill=fill)

    def line(self, x0: float, y0: float, x1: float, y1: float, *, fill: str) -> None:
        self.draw.line(_px(x0, y0, x1, y1), fill=fill, width=SCALE)

    def hatched(self, x0: float, y0: float, x1: float, y1: float, *, colour: str) -> None:
        """A bar of a week still running: a light tint crossed by its colour, and outlined."""
        left, top, right, bottom = _px(x0, y0, x1, y1, end=True)
        tile = Image.new("RGB", (right - left + 1, bottom - top + 1), _tint(colour))
        lines = ImageDraw.Draw(tile)
        for start in range(-tile.height, tile.width, 7 * SCALE):
            lines.line((start, tile.height, start + tile.height, 0), fill=colour, width=SCALE)
        self.image.paste(tile, (left, top))
        self.draw.rectangle((left, top, right, bottom), outline=colour, width=SCALE)

    def upright(self, x: float, y_centre: float, text: str, *, size: float) -> None:
        """Text read bottom to top, centred on ``y_centre``: a value axis's label."""
        font = self.font(size)
        length = int(self.draw.textlength(text, font=font)) + 2
        strip = Image.new("RGBA", (length, int(size * SCALE * 1.4)), (0, 0, 0, 0))
        ImageDraw.Draw(strip).text((1, 0), text, fill=MUTED, font=font)
        turned = strip.rotate(90, expand=True)
        self.image.paste(turned, (round(x * SCALE), round(y_centre * SCALE - length / 2)), turned)


def weekly_chart(view: ChartView) -> bytes:
    """The digest's PNG: the team sees in one picture whether stoppages fall as investments grow."""
    image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), PAPER)
    pen = Pen(image)
    pen.text(LEFT, 20, view.title, size=22)
    pen.text(LEFT, 54, view.subtitle, size=14, fill=MUTED)
    _legend(pen, partial=view.partial is not None)
    _panel(pen, "Stoppages and investments", view.counts, COUNTS_PANEL)
    _panel(pen, "Deploys", view.deploys, DEPLOYS_PANEL)
    if view.weeks:
        _columns(pen, view)
    else:
        middle = (COUNTS_PANEL[0] + COUNTS_PANEL[1]) / 2
        pen.centred(_centre_x(), middle, "No weeks recorded", size=20, fill=MUTED)
    pen.centred(_centre_x(), HEIGHT - 30, "Week (ISO number)", size=14, fill=MUTED)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _legend(pen: Pen, *, partial: bool) -> None:
    x, y, size = LEFT, 86, 14
    for name, colour in SERIES:
        pen.box(x, y + 2, x + 14, y + 16, fill=colour)
        pen.text(x + 20, y, name, size=size)
        x += 20 + pen.width(name, size) + 26
    if partial:
        pen.hatched(x, y + 2, x + 14, y + 16, colour=MUTED)
        pen.text(x + 20, y, "so far (the week is still running)", size=size)


def _panel(pen: Pen, caption: str, axis: Axis, panel: tuple[int, int]) -> None:
    top, bottom = panel
    pen.text(LEFT, top - 26, caption, size=14, fill=INK)
    for value in range(0, axis.top + 1, axis.step):
        y = _y(value, axis, panel)
        pen.line(LEFT, y, WIDTH - RIGHT, y, fill=GRID if value else MUTED)
        label = str(value)
        pen.text(LEFT - 10 - pen.width(label, 12), y - 8, label, size=12, fill=MUTED)
    pen.line(LEFT, top, LEFT, bottom, fill=MUTED)
    pen.upright(34, (top + bottom) / 2, "number per week", size=12)


def _columns(pen: Pen, view: ChartView) -> None:
    plot = WIDTH - LEFT - RIGHT
    slot = plot / len(view.weeks)
    group = min(plot / SLOTS, slot) * 0.72
    for index, week in enumerate(view.weeks):
        centre = LEFT + slot * (index + 0.5)
        pair = ((week.stoppages, STOPPAGES), (week.investments, INVESTMENTS))
        for offset, (count, colour) in enumerate(pair):
            x0 = centre - group / 2 + offset * group / 2
            _bar(pen, x0, x0 + group / 2 - 2, count, colour, axis=view.counts, week=week)
        _bar(
            pen,
            centre - group / 4,
            centre + group / 4 - 2,
            week.deploys,
            DEPLOYS,
            axis=view.deploys,
            week=week,
            panel=DEPLOYS_PANEL,
        )
        below = DEPLOYS_PANEL[1] + 10
        pen.centred(centre, below, week.label, size=14)
        if week.partial:
            pen.centred(centre, below + 18, "so far", size=12, fill=MUTED)


def _bar(
    pen: Pen,
    x0: float,
    x1: float,
    count: int,
    colour: str,
    *,
    axis: Axis,
    week: ChartWeek,
    panel: tuple[int, int] = COUNTS_PANEL,
) -> None:
    base, y = panel[1], _y(count, axis, panel)
    if not count:
        pen.box(x0, base - 2, x1, base, fill=colour)  # a zero still shows
    elif week.partial:
        pen.hatched(x0, y, x1, base, colour=colour)
    else:
        pen.box(x0, y, x1, base, fill=colour)
    pen.centred((x0 + x1) / 2, y - 17, str(count), size=12)


def _y(value: int, axis: Axis, panel: tuple[int, int]) -> float:
    top, bottom = panel
    return bottom - (bottom - top) * value / axis.top


def _centre_x() -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) / 2


def _px(*points: float, end: bool = False) -> tuple[int, ...]:
    """Points to pixels; a filled box's far edge is its last pixel, hence ``end``."""
    scaled = [round(p * SCALE) for p in points]
    if end:
        scaled[2], scaled[3] = scaled[2] - 1, scaled[3] - 1
    return tuple(scaled)


def _tint(colour: str, *, keep: float = 0.25) -> str:
    """The colour mixed with white: lighter, so a running week does not pass for a whole one."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * keep):02X}" for c in rgb)
