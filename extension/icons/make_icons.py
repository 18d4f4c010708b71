"""Draws the toolbar icons (a flag on a rounded square) as PNGs, using only the standard library.

Run from anywhere: python3 extension/icons/make_icons.py. Not shipped in the built packages.
"""

import math
import struct
import zlib
from pathlib import Path

# name -> (background, pole and flag, sizes). "off" is the toolbar's greyed state (paused, off,
# private window, server unknown), so only the toolbar sizes are drawn for it.
STATES = {
    "icon": ((0x1D, 0x35, 0x57), (0xFF, 0xFF, 0xFF), (16, 32, 48, 128)),
    "icon-off": ((0x9A, 0xA0, 0xA6), (0xF1, 0xF3, 0xF4), (16, 32)),
}
SAMPLES = 8  # supersampling per axis, for smooth edges at 16 px


def in_background(x: float, y: float) -> bool:
    """A rounded square in a 128-unit design space."""
    lo, hi, radius = 4.0, 124.0, 26.0
    cx = min(max(x, lo + radius), hi - radius)
    cy = min(max(y, lo + radius), hi - radius)
    return lo <= x <= hi and lo <= y <= hi and (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def in_flag(x: float, y: float) -> bool:
    """A pole with a waving cloth."""
    if 30 <= x <= 42 and 26 <= y <= 106:
        return True
    if (x - 36) ** 2 + (y - 26) ** 2 <= 36:
        return True
    if 42 <= x <= 102:
        t = (x - 42) / 60
        top = 30 - 7 * math.sin(2 * math.pi * t)
        return top <= y <= top + 44
    return False


def render(size: int, background, foreground) -> bytes:
    rows = []
    scale = 128 / size
    for py in range(size):
        row = bytearray([0])  # PNG filter type "none"
        for px in range(size):
            bg = fg = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x = (px + (sx + 0.5) / SAMPLES) * scale
                    y = (py + (sy + 0.5) / SAMPLES) * scale
                    if in_background(x, y):
                        bg += 1
                        fg += in_flag(x, y)
            total = SAMPLES * SAMPLES
            alpha = bg / total
            if bg:
                mix = fg / bg
                rgb = [round(b * (1 - mix) + f * mix) for b, f in zip(background, foreground, strict=True)]
            else:
                rgb = [0, 0, 0]
            row += bytes(rgb + [round(alpha * 255)])
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main() -> None:
    here = Path(__file__).resolve().parent
    for name, (background, foreground, sizes) in STATES.items():
        for size in sizes:
            (here / f"{name}-{size}.png").write_bytes(render(size, background, foreground))


if __name__ == "__main__":
    main()
