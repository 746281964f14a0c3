#!/usr/bin/env python3
"""png_colors.py FILE.png: what a browser drew, for the picture tests.

Prints "WIDTHxHEIGHT warm=N red=N dark=N distinct=N": the pixels of
flamegraph.pl's warm palette (r >= 205, b <= 55, g < 230), of the window
picture's leaked-range red, of text (dark), and the number of distinct
colours. Reads 8-bit RGB/RGBA PNGs (what headless Chromium writes) with
zlib only."""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    w = h = ctype = 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unsupported PNG"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


w, h, bpp, rows = pixels(sys.argv[1])
warm = red = dark = 0
seen = set()
for line in rows:
    for x in range(0, w * bpp, bpp):
        r, g, b = line[x], line[x + 1], line[x + 2]
        seen.add((r, g, b))
        if r >= 205 and b <= 55 and g < 230: warm += 1
        if r >= 180 and g <= 80 and b <= 80: red += 1
        if r < 80 and g < 80 and b < 80: dark += 1
print(f"{w}x{h} warm={warm} red={red} dark={dark} distinct={len(seen)}")
