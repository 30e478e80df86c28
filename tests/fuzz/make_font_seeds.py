#!/usr/bin/env python3
"""Remakes the seeds of corpus/fuzz_font: tiny TrueType fonts written table by
table (a real font is ~700 KB; the fuzzer mutates a few hundred bytes far
better). Glyph 1 is a square (a simple glyph), glyph 2 a composite of two
squares, glyph 3 a composite placed by matching points, glyph 4 empty; the
printable ASCII characters map to them (space to 4, the rest in turn to 1-3,
so every letter and digit the renderer requires is there), and the kern table
kerns glyphs 1-2. usage: make_font_seeds.py"""
import os
import struct


def checksum(data):
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def font(tables):
    """The sfnt: offset table, table records (sorted by tag), 4-byte aligned tables."""
    tags = sorted(tables)
    count = len(tags)
    power = 1 << (count.bit_length() - 1)
    out = struct.pack(">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16)
    offset = 12 + 16 * count
    body = b""
    for tag in tags:
        data = tables[tag]
        out += struct.pack(">4sIII", tag, checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    return out + body


def simple_square(x0, y0, x1, y1):
    """One contour of 4 on-curve points, coordinates as 16-bit deltas."""
    points = [(x0, y0), (x0, y1), (x1, y1), (x1, y0)]
    out = struct.pack(">hhhhh", 1, x0, y0, x1, y1) + struct.pack(">H", 3) + struct.pack(">H", 0)  # no instructions
    out += bytes([0x01] * 4)  # on curve, x and y as shorts
    px = py = 0
    xs = ys = b""
    for x, y in points:
        xs += struct.pack(">h", x - px)
        ys += struct.pack(">h", y - py)
        px, py = x, y
    return out + xs + ys


def composite(components):
    """components: (flags, glyph, arg1, arg2) with word arguments (flag 1)."""
    out = struct.pack(">hhhhh", -1, 0, 0, 1000, 1000)
    for k, (flags, glyph, a, b) in enumerate(components):
        more = 0x20 if k + 1 < len(components) else 0
        out += struct.pack(">HHhh", flags | 0x01 | more, glyph, a, b)
    return out


def tiny_font(kern=True, square=(100, 0, 500, 700), line=(800, -200), family=None):
    """em 1000; `square` glyph 1's corners, `line` hhea's ascender and descender; `family` a name
    table's family name (none without)."""
    glyphs = [b"", simple_square(*square),
              composite([(0x02, 1, 0, 0), (0x02, 1, 450, 0)]),  # XY offsets
              composite([(0x02, 1, 0, 0), (0x00, 1, 2, 0)]),  # the second placed by matching points
              b""]
    glyf = b""
    loca = []
    for g in glyphs:
        loca.append(len(glyf))
        glyf += g + b"\0" * (-len(g) % 4)
    loca.append(len(glyf))
    n = len(glyphs)
    head = struct.pack(">IIIIHHqqhhhhHHhhh", 0x00010000, 0x00010000, 0, 0x5F0F3CF5, 0, 1000, 0, 0,
                       0, -200, 1000, 900, 0, 8, 2, 1, 0)  # long loca
    hhea = struct.pack(">IhhhHhhhhhhhhhhhH", 0x00010000, line[0], line[1], 0, 1000, 0, 0, 1000, 1, 0, 0, 0, 0, 0, 0, 0, n)
    maxp = struct.pack(">IHHHHHHHHHHHHHH", 0x00010000, n, 8, 1, 8, 2, 2, 0, 0, 0, 0, 0, 0, 2, 2)
    hmtx = b"".join(struct.pack(">Hh", 600, 100) for _ in range(n))
    # cmap: one format 4 subtable (Windows Unicode BMP): 0x20-0x7E through the glyph array (idRangeOffset
    # 4: from its own entry past the end segment's to the array), then the end segment 0xFFFF.
    chars = range(0x20, 0x7F)
    ids = [4 if c == 0x20 else (c - 0x21) % 3 + 1 for c in chars]
    seg = struct.pack(">HHHH", 4, 2, 0, 0)  # segCountX2, searchRange, entrySelector, rangeShift
    body = (struct.pack(">HH", 0x7E, 0xFFFF) + b"\0\0" + struct.pack(">HH", 0x20, 0xFFFF) + struct.pack(">hh", 0, 1) +
            struct.pack(">HH", 4, 0) + b"".join(struct.pack(">H", g) for g in ids))
    sub = struct.pack(">HHH", 4, 6 + len(seg) + len(body), 0) + seg + body
    cmap = struct.pack(">HHHHI", 0, 1, 3, 1, 12) + sub
    tables = {b"head": head, b"hhea": hhea, b"maxp": maxp, b"hmtx": hmtx, b"cmap": cmap,
              b"loca": b"".join(struct.pack(">I", o) for o in loca), b"glyf": glyf}
    if family:  # format 0, one record: Windows, Unicode BMP, US English, family name (1), UTF-16BE
        text = family.encode("utf-16-be")
        tables[b"name"] = struct.pack(">HHH", 0, 1, 6 + 12) + struct.pack(">HHHHHH", 3, 1, 0x409, 1, len(text), 0) + text
    if kern:  # version 0, one horizontal format 0 subtable: A-B by -50
        pairs = struct.pack(">HHHH", 1, 6, 0, 0) + struct.pack(">HHh", 1, 2, -50)
        tables[b"kern"] = struct.pack(">HH", 0, 1) + struct.pack(">HHH", 0, 6 + len(pairs), 1) + pairs
    return font(tables)


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_font")
    os.makedirs(out, exist_ok=True)
    for name, data in {"tiny.ttf": tiny_font(), "tiny_no_kern.ttf": tiny_font(kern=False)}.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(name, len(data), "bytes")
