"""The weekly digest's chart: deploys, stoppages and investments per week, as a PNG.

A picture because the point of the digest is the trend — investments compounding while
stoppages fall — and a trend reads at a glance in bars, not in a table of numbers. Pillow draws
it with its built-in font, so the same weeks give the same bytes on every machine with the same
Pillow, and no font files need shipping.
"""

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from core.digest.trend import WeekTotals

WIDTH, HEIGHT = 960, 540
TITLE = "Last 8 weeks"
SLOTS = 8  # bars are sized for eight weeks, so fewer weeks do not make fat bars

# Okabe–Ito colours: told apart by people with the common colour-vision deficiencies.
SERIES = (
    ("Deploys", "#0072B2"),
    ("Stoppages", "#D55E00"),
    ("Investments", "#009E73"),
)
INK, MUTED, GRID, PAPER = "#1F2328", "#59636E", "#D8DEE4", "#FFFFFF"

LEFT, RIGHT, TOP, BOTTOM = 72, 32, 112, 72  # the plot area's margins


def weekly_chart(weeks: Sequence[WeekTotals]) -> bytes:
    """The digest's PNG: the team sees in one picture whether stoppages fall as investments grow."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    _heading(draw, weeks)
    _legend(draw)
    top, step = _scale(weeks)
    _axis(draw, top=top, step=step)
    if weeks:
        _bars(draw, weeks, top=top)
    else:
        _centred(draw, "No weeks recorded yet", y=(TOP + HEIGHT - BOTTOM) // 2, size=20)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _heading(draw: ImageDraw.ImageDraw, weeks: Sequence[WeekTotals]) -> None:
    draw.text((LEFT, 24), TITLE, fill=INK, font=_font(30))
    if weeks:
        span = weeks[0].week if len(weeks) == 1 else f"{weeks[0].week} to {weeks[-1].week}"
        draw.text((LEFT, 64), f"per week, {span}", fill=MUTED, font=_font(16))


def _legend(draw: ImageDraw.ImageDraw) -> None:
    """Right-aligned in the heading, so it never covers a bar."""
    font = _font(16)
    x = WIDTH - RIGHT
    for name, colour in reversed(SERIES):
        x -= int(draw.textlength(name, font=font))
        draw.text((x, 34), name, fill=INK, font=font)
        x -= 22
        draw.rectangle((x, 36, x + 14, 50), fill=colour)
        x -= 24


def _scale(weeks: Sequence[WeekTotals]) -> tuple[int, int]:
    """A round top for the value axis and the step between grid lines (whole numbers: counts)."""
    most = max((max(w.deploys, w.stoppages, w.investments) for w in weeks), default=0)
    step = 1
    for candidate in _steps():
        step = candidate
        if most <= candidate * 5:
            break
    top = max(step * 4, -(-most // step) * step)
    return top, step


def _steps() -> list[int]:
    return [base * 10**power for power in range(7) for base in (1, 2, 5)]


def _axis(draw: ImageDraw.ImageDraw, *, top: int, step: int) -> None:
    font = _font(14)
    bottom_y = HEIGHT - BOTTOM
    for value in range(0, top + 1, step):
        y = _y(value, top=top)
        draw.line((LEFT, y, WIDTH - RIGHT, y), fill=GRID if value else MUTED, width=1)
        label = str(value)
        width = draw.textlength(label, font=font)
        draw.text((LEFT - 10 - width, y - 8), label, fill=MUTED, font=font)
    draw.line((LEFT, TOP, LEFT, bottom_y), fill=MUTED, width=1)


def _bars(draw: ImageDraw.ImageDraw, weeks: Sequence[WeekTotals], *, top: int) -> None:
    plot = WIDTH - LEFT - RIGHT
    slot = plot / len(weeks)
    bar = min(plot / SLOTS, slot) * 0.72 / len(SERIES)
    value_font, week_font = _font(14), _font(16)
    base = HEIGHT - BOTTOM
    for index, week in enumerate(weeks):
        centre = LEFT + slot * (index + 0.5)
        left = centre - bar * len(SERIES) / 2
        counts = (week.deploys, week.stoppages, week.investments)
        for offset, ((_, colour), count) in enumerate(zip(SERIES, counts, strict=True)):
            x0 = round(left + offset * bar)
            x1 = round(left + (offset + 1) * bar) - 2
            y = _y(count, top=top)
            if count:
                draw.rectangle((x0, y, x1, base - 1), fill=colour)
            else:
                draw.rectangle((x0, base - 2, x1, base - 1), fill=colour)  # a zero still shows
            label = str(count)
            width = draw.textlength(label, font=value_font)
            draw.text(((x0 + x1) / 2 - width / 2, y - 20), label, fill=INK, font=value_font)
        name = _short(week.week)
        width = draw.textlength(name, font=week_font)
        draw.text((centre - width / 2, base + 14), name, fill=INK, font=week_font)


def _y(value: int, *, top: int) -> int:
    height = HEIGHT - BOTTOM - TOP
    return round(HEIGHT - BOTTOM - height * value / top)


def _short(week: str) -> str:
    """ "2026-W47" reads as "W47": the year is in the heading."""
    return week.rsplit("-", 1)[-1]


def _centred(draw: ImageDraw.ImageDraw, text: str, *, y: int, size: int) -> None:
    font = _font(size)
    width = draw.textlength(text, font=font)
    x = (WIDTH - width) / 2
    draw.rectangle((x - 12, y - 8, x + width + 12, y + size + 8), fill=PAPER)  # over the grid
    draw.text((x, y), text, fill=MUTED, font=font)
