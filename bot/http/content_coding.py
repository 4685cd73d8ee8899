"""gzip for answers worth it: a bulk evaluation of 100 flags is 12 KB of repetitive JSON that
gzip makes 16 times smaller for 15 µs of CPU, and sending it was a large share of the request's
cost on the server (bench/README.md, flags). Every OFREP client asks for gzip by default."""

import gzip

GZIP = "gzip"
_FAST = 1  # the ratio hardly moves above 1 on this JSON; the CPU does


def accepts_gzip(header: str | None) -> bool:
    """Whether ``Accept-Encoding`` takes gzip (``gzip;q=0`` refuses it; ``*`` takes it)."""
    for part in (header or "").lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in (GZIP, "x-gzip", "*"):
            quality = params.strip().removeprefix("q=").strip()
            return not quality or _quality(quality) > 0
    return False


def gzipped(body: bytes) -> bytes:
    """The body, gzip-coded; no time stamp in it, so the same answer codes the same."""
    return gzip.compress(body, compresslevel=_FAST, mtime=0)


def _quality(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0
