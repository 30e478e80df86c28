#!/usr/bin/env python3
"""Damaged and out-of-range inputs through the command line: options, configs,
data files, results files, output paths, SLURM options, fonts (the rules are
damaged_common.py's; checkpoints, a full disk and the renderer's own cases are
damaged_files_test.py's).

usage: damaged_inputs_test.py NETSWEEP NETSWEEP_RENDER
"""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import h5py
import numpy as np

from damaged_common import (NETSWEEP, RENDER, SMALL, damaged_copy, expect, failures, finish, leftovers, path,
                            results_file, run, write)

# ------------------------------------------------------------ options and data
out = path("out.h5")
expect("checkpoint interval without --resume", [NETSWEEP, "run", *SMALL, "--checkpoint-every", "60", "-o", out],
       "", status=0, out=out, keep=("out.h5",))
os.remove(out)
expect("absurd checkpoint interval", [NETSWEEP, "run", *SMALL, "--resume", "--checkpoint-every", "1e10", "-o", out],
       "--checkpoint-every", out=out, timeout=20)
expect("label beyond 2^31", [NETSWEEP, "run", *SMALL, "--csv", write("big.csv", "x1,x2,label\n0,0,0\n1,1,2147483648\n"),
       "-o", out], "is not a class number", out=out)
expect("coordinate beyond float", [NETSWEEP, "run", *SMALL, "--csv", write("huge.csv", "x1,x2,label\n1e39,0,0\n1,1,1\n"),
       "-o", out], "out of range", out=out)
expect("target beyond float", [NETSWEEP, "run", *SMALL, "--loss", "mse", "--csv", write("huge1d.csv", "x,y\n0,1e300\n1,2\n"),
       "-o", out], "out of range", out=out)
expect("extent beyond float", [NETSWEEP, "run", *SMALL, "--extent=-3e38,3e38,0,1", "-o", out], "--extent", out=out)
expect("extent too narrow for the grid in float32", [NETSWEEP, "run", *SMALL[:6], "--grid", "8", *SMALL[8:],
       "--extent=1,1.0000001,0,1", "-o", out], "--extent (x from 1 to 1.00000012) is too narrow for --grid 8",
       out=out)
expect("negative seed", [NETSWEEP, "run", *SMALL, "--seed", "-1", "-o", out], "--seed", out=out)
expect("NaN momentum", [NETSWEEP, "run", *SMALL, "--optimizers", "momentum", "--momentum", "nan", "-o", out],
       "--momentum: must be a finite number", out=out)
expect("too many networks", [NETSWEEP, "run", *SMALL, "--seeds", "1000000", "--activations", "relu,tanh", "-o", out],
       "networks", out=out)
expect("too wide to fit in memory", [NETSWEEP, "run", *SMALL[4:], "--layers", "100", "--widths", "1000000", "-o", out],
       "of memory", out=out)
expect("absurd grid", [NETSWEEP, "run", *SMALL[:6], "--grid", "2000000000", "-o", out], "--grid", out=out)
expect("epochs beyond the limit", [NETSWEEP, "run", *SMALL[:4], "--epochs", "2147483647", "--snapshot-every",
       "1000000000", "-o", out], "--epochs", out=out)
expect("unparsable option value", [NETSWEEP, "run", "--epochs", "abc"], "--epochs")
expect("unknown option", [NETSWEEP, "run", "--bogus"], "--bogus")
for label, text, needle in [
    ("unterminated string", 'name = "x', "c.toml:1"),
    ("unterminated array", "layers = [1, 2", "c.toml:1"),
    ("duplicate key", "epochs = 2\nepochs = 3", "c.toml:2"),
    ("one option spelled two ways", "snapshot_every = 1\nsnapshot-every = 2", "gives option --snapshot-every again"),
    ("an option at the top and under [run]", "epochs = 3\n[run]\nepochs = 4", "gives option --epochs again"),
    ("bare =", "= 5", "c.toml:1"),
    ("string for an integer", 'epochs = "2"', "'epochs' must be an integer"),
    ("deep nesting", "a = " + "[" * 5000, "c.toml:1"),
]:
    expect(f"config: {label}", [NETSWEEP, "run", "--config", write("c.toml", text), *SMALL, "-o", out], needle, out=out)
expect("config: /dev/zero", [NETSWEEP, "run", "--config", "/dev/zero", *SMALL, "-o", out], "/dev/zero", out=out,
       timeout=10)
fifo = path("fifo.toml")
os.mkfifo(fifo)
expect("config: a FIFO", [NETSWEEP, "run", "--config", fifo, *SMALL, "-o", out], "fifo.toml", out=out, timeout=10)
expect("points: /dev/zero", [NETSWEEP, "run", *SMALL, "--points", "/dev/zero:0", "--points", "/dev/zero:1", "-o", out],
       "/dev/zero", out=out, timeout=10)

# ------------------------------------------------------------ results files
good = results_file("good.h5")
size = os.path.getsize(good)
with open(good, "rb") as f:
    data = f.read()
truncated = path("truncated.h5")
with open(truncated, "wb") as f:
    f.write(data[: size // 2])
flipped = path("flipped.h5")
with open(flipped, "wb") as f:
    f.write(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
short_column = damaged_copy(good, "short_column.h5", lambda f: (
    f["networks"].__delitem__("activation"),
    f["networks"].create_dataset("activation", data=np.array([b"relu"]))))
odd_version = damaged_copy(good, "version.h5", lambda f: f.attrs.__setitem__("format_version", np.int64(2**32 + 1)))
float_version = damaged_copy(good, "float_version.h5", lambda f: f.attrs.__setitem__("format_version", 1.5))
bad_epochs = damaged_copy(good, "frame_epochs.h5", lambda f: (
    f.__delitem__("frame_epochs"), f.create_dataset("frame_epochs", data=np.array([0], dtype=np.int32))))
vlen_format = damaged_copy(good, "vlen_format.h5", lambda f: f.attrs.create("format", "netsweep-results",
                                                                             dtype=h5py.string_dtype()))
# What the fuzzers found in libhdf5 (a hang, a SIGSEGV, a heap overflow, a 2 GB allocation), refused before it parses them.
crashers = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz", "crashers", "fuzz_results")
old_format = [(f"1.8-format {n}", os.path.join(crashers, n), "HDF5 superblock version 0", True)
              for n in sorted(os.listdir(crashers))]
for label, damaged, needle, spec_damaged in old_format + [
        ("a variable-length format attribute", vlen_format, "attribute 'format' holds variable-length", True),
        ("truncated", truncated, "truncated.h5", True), ("a flipped byte", flipped, "flipped.h5", True),
        ("a column shorter than networks/id", short_column, "networks/activation", False),
        ("format version 2^32+1", odd_version, "format version 4294967297", True),
        ("a float format version", float_version, "format_version", True),
        ("frame epochs not matching frames", bad_epochs, "frames", False)]:
    expect(f"info: {label}", [NETSWEEP, "info", damaged], needle)
    expect(f"render: {label}", [RENDER, damaged, "-o", path("gallery"), "-q"], needle, out=path("gallery"))
    expect(f"merge: {label}", [NETSWEEP, "merge", "-q", damaged, "-o", path("merged.h5")], needle,
           out=path("merged.h5"))
    if spec_damaged:  # (a file whose spec and data are whole may be rerun with --from)
        expect(f"run --from: {label}", [NETSWEEP, "run", "--from", damaged, "-q", "-o", out], needle, out=out)
nan_points = damaged_copy(good, "nan_points.h5", lambda f: f["data/train_points"].__setitem__((0, 0), np.nan))
expect("run --from: stored NaN point", [NETSWEEP, "run", "--from", nan_points, "-q", "-o", out], "not finite", out=out)
bad_label = damaged_copy(good, "bad_label.h5", lambda f: f["data/train_labels"].__setitem__(0, 7))
expect("run --from: stored label outside the classes", [NETSWEEP, "run", "--from", bad_label, "-q", "-o", out],
       "stored data", out=out)
def no_points(f):
    for s in ("train", "test"):
        for k in ("points", "labels", "targets"):
            old = f["data/" + s + "_" + k]
            shape = (0,) + old.shape[1:]
            del f["data/" + s + "_" + k]
            f["data"].create_dataset(s + "_" + k, shape=shape, dtype=old.dtype)
expect("run --from: no stored points", [NETSWEEP, "run", "--from", damaged_copy(good, "empty.h5", no_points), "-q",
       "-o", out], "no points", out=out)

# ------------------------------------------------------------ what a review found
# Inconsistent rows and attributes of a results file, refused when it is opened.
def set_row(name, value):
    return lambda f: f["networks/" + name].__setitem__(0, value)


def set_attr(name, value):
    return lambda f: f.attrs.__setitem__(name, np.bytes_(value))


def repeat_frame_epoch(f):
    epochs = f["frame_epochs"][:]
    epochs[1] = epochs[0]
    f["frame_epochs"][:] = epochs


def as_floats(name):  # an integer column stored as floats (HDF5 would read 0.5 as 0)
    def edit(f):
        values = f["networks/" + name][:].astype(np.float64) + 0.5
        del f["networks/" + name]
        f["networks"].create_dataset(name, data=values)
    return edit


def one_row(f):  # a 2-D classification file's plane cut to one row, as a 1-D regression file's
    frames, y = f["frames"][:, :, :1], f["grid/y"][:1]
    del f["frames"], f["grid/y"]
    f.create_dataset("frames", data=frames)
    f["grid"].create_dataset("y", data=y)


for label, edit, needle in [
        ("a hidden shape wider than the network", set_row("hidden_shape", b"9"), "networks/width"),
        ("hidden layers not matching the shape", set_row("hidden_layers", 5), "networks/hidden_shape"),
        ("parameters not matching the shape", set_row("parameters", 3), "networks/parameters"),
        ("an unknown activation", set_row("activation", b"xx"), "networks/activation"),
        ("an accuracy of 7", set_row("final_train_accuracy", 7), "networks/final_train_accuracy"),
        ("more epochs trained than the sweep has", set_row("epochs_trained", 2**31 - 1), "networks/epochs_trained"),
        ("a frame epoch repeated", repeat_frame_epoch, "frame_epochs"),
        ("a spec that is not JSON", set_attr("spec", b"garbage"), "attribute 'spec'"),
        ("a dataset attribute that is a list", set_attr("dataset", b"[1, 2, 3]"), "attribute 'dataset'"),
        ("an unknown loss", set_attr("loss", b"hinge"), "attribute 'loss'"),
        ("ids stored as floats", as_floats("id"), "dataset 'id' does not hold integers"),
        ("epochs trained stored as floats", as_floats("epochs_trained"), "'epochs_trained' does not hold integers"),
        ("a NaN learning rate", set_row("lr", np.nan), "networks/lr"),
        ("a negative L2 penalty", set_row("l2", -1), "networks/l2"),
        ("a time of -1e300 seconds", set_row("wall_seconds", -1e300), "networks/wall_seconds"),
        ("a loss other than the spec's", set_attr("loss", b"mse"), "attribute 'loss' is mse but attribute 'spec' says"),
        ("a spec of other epochs", lambda f: f.attrs.__setitem__(
            "spec", np.bytes_(json.dumps({**json.loads(f.attrs["spec"]), "epochs": 30}))),
         "attribute 'spec' says 30 epochs but the file holds 2"),
        ("an unknown data kind", lambda f: f["data"].attrs.__setitem__("kind", np.bytes_(b"blah")),
         "data attribute 'kind' is 'blah'"),
        ("a classification plane of one row", one_row, "'frames' has a frame shape its data kind cannot have (1x4)"),
        ("a negative count beyond float16", lambda f: f.attrs.__setitem__("values_beyond_f16", np.int64(-5)),
         "attribute 'values_beyond_f16' is negative"),
        ("parameter snapshots deleted", lambda f: f.__delitem__("weights/snapshots"),
         "dataset 'weights/snapshots' is missing ('weights/snapshot_offsets' is there)")]:
    damaged = damaged_copy(good, "row.h5", edit)
    expect(f"info: {label}", [NETSWEEP, "info", damaged], needle)
    expect(f"render: {label}", [RENDER, damaged, "-o", path("gallery"), "-q"], needle, out=path("gallery"))

# A stored spec that reads but does not stand run's checks (no momentum value: expanding it would read past
# the list) is not expanded to compare networks: info reads the file as it did.
unchecked = damaged_copy(good, "unchecked.h5", lambda f: f.attrs.__setitem__(
    "spec", np.bytes_(json.dumps({**json.loads(f.attrs["spec"]), "momentum": []}))))
expect("info: a spec that does not stand run's checks", [NETSWEEP, "info", unchecked], "networks: 2,", status=0)

# Output paths a new file cannot be renamed onto: refused before any work, and left as they were.
odd = path("odd_out.h5")
for label, make, still in [("a FIFO", os.mkfifo, lambda p: stat.S_ISFIFO(os.lstat(p).st_mode)),
                           ("a symbolic link", lambda p: os.symlink(path("elsewhere.h5"), p), os.path.islink),
                           ("a directory", os.mkdir, os.path.isdir)]:
    make(odd)
    expect(f"run -o {label}", [NETSWEEP, "run", *SMALL, "-o", odd], "odd_out.h5", timeout=20)
    expect(f"merge -o {label}", [NETSWEEP, "merge", "-q", good, "-o", odd], "odd_out.h5", timeout=20)
    if not still(odd):
        failures.append(f"-o {label}: replaced")
    os.rmdir(odd) if os.path.isdir(odd) and not os.path.islink(odd) else os.remove(odd)
# A memory limit on the process (ulimit -v; a job's or container's) is what the up-front memory
# check measures against, not only the machine's free memory (it had died with "std::bad_alloc").
# Not under ASan, which maps terabytes of shadow memory.
if "asan" not in subprocess.run(["ldd", NETSWEEP], capture_output=True, text=True).stdout:
    import resource

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    r = subprocess.run([NETSWEEP, "run", *SMALL[:6], "--grid", "8000", *SMALL[8:], "-o", out], capture_output=True,
                       text=True, timeout=60, preexec_fn=limit_memory)
    if r.returncode != 2 or "--grid 8000: frames need about" not in r.stderr or "is available" not in r.stderr:
        failures.append(f"run under ulimit -v 2 GiB: status {r.returncode}: {r.stderr.strip()[-300:]}")
    else:
        print("ok   run under ulimit -v: refused by the memory check")

expect("config: an integer beyond the option's type", [NETSWEEP, "run", "--config",
       write("huge.toml", "epochs = 9223372036854775807\n"), *SMALL[:4], *SMALL[6:], "-o", out],
       "--epochs: '9223372036854775807' is not a number of the kind it takes, or out of its range "
       "(on the command line or in ", out=out)
expect("csv: one class, naming the file", [NETSWEEP, "run", *SMALL, "--csv",
       write("one_class.csv", "x1,x2,label\n0,0,1\n1,1,1\n"), "-o", out], "one_class.csv: the data has only one class",
       out=out)

# Files netsweep did not write are never replaced: the run's own CSV or config, another program's HDF5.
own_csv = write("own.csv", "x1,x2,label\n0,0,0\n1,1,1\n")
expect("run -o its own --csv", [NETSWEEP, "run", *SMALL, "--csv", own_csv, "-o", own_csv],
       "own.csv: exists and is not a netsweep results or plan file")
own_config = write("own.toml", "epochs = 2\nlayers = [1]\nwidths = [2]\n")
expect("run -o its own --config", [NETSWEEP, "run", "--config", own_config, "--grid", "4", "--device", "cpu", "-q",
                                   "-o", own_config], "own.toml: exists and is not a netsweep")
other_h5 = path("other_program.h5")
with h5py.File(other_h5, "w") as f:
    f["x"] = np.arange(3)
expect("merge -o another program's HDF5 file", [NETSWEEP, "merge", "-q", good, "-o", other_h5],
       "other_program.h5: exists and is not a netsweep")
write("planned.plan.h5", "x1,x2,label\n0,0,0\n1,1,1\n")
expect("slurm: the plan path is a CSV", [NETSWEEP, "slurm", *SMALL, "--shards", "1", "-o", path("planned.h5")],
       "planned.plan.h5: exists and is not a netsweep")
if open(own_csv).read() != "x1,x2,label\n0,0,0\n1,1,1\n" or open(path("planned.plan.h5")).read()[:2] != "x1":
    failures.append("an input was replaced by an output")
with h5py.File(other_h5, "r") as f:
    if set(f.keys()) != {"x"}:
        failures.append("another program's HDF5 file was replaced")
expect("run -o an empty path", [NETSWEEP, "run", *SMALL, "-o", ""], "-o")
expect("run -o a name too long for its temporary name", [NETSWEEP, "run", *SMALL, "-o", path("a" * 250 + ".h5")],
       "too long")
expect("shard beyond int", [NETSWEEP, "run", *SMALL, "--shard", "0/4294967299", "-o", out], "--shard", out=out)
expect("a test fraction that holds out a whole class", [NETSWEEP, "run", *SMALL, "--csv",
       write("two.csv", "x1,x2,label\n0,0,0\n1,1,1\n"), "--test-fraction", "0.5", "-o", out], "leaves class",
       out=out)
nul_csv = path("nul.csv")
with open(nul_csv, "wb") as f:
    f.write(b"x1,\x00x2,label\n0,0,0\n1,1,1\n")
expect("a NUL in a CSV header, quoted whole", [NETSWEEP, "run", *SMALL, "--csv", nul_csv, "-o", out],
       "x1,\\x00x2,label'", out=out)
expect("an activation given twice", [NETSWEEP, "run", *SMALL, "--activations", "relu,tanh,relu", "-o", out],
       "--activations", out=out)
if os.path.isdir("/proc"):
    expect("-o in /proc", [NETSWEEP, "run", *SMALL, "-o", "/proc/netsweep-test.h5"], "has no storage")
expect("NaN early-stop loss", [NETSWEEP, "run", *SMALL, "--early-stop-loss", "nan", "-o", out], "--early-stop-loss",
       out=out)
expect("slurm: a newline in --partition", [NETSWEEP, "slurm", *SMALL, "--shards", "1", "--partition",
       "p\n#SBATCH --wrap=x", "-o", path("sl.h5")], "--partition", out=path("sl.h5"))
expect("slurm: a newline in -o", [NETSWEEP, "slurm", *SMALL, "--shards", "1", "-o",
       path("sl\n#SBATCH --partition=other\n#x.h5")], "\\x0a#SBATCH --partition=other")
expect("slurm: a space in -o", [NETSWEEP, "slurm", *SMALL, "--shards", "1", "-o", path("s l.h5")],
       "no spaces or control characters")
expect("slurm: negative --signal-seconds", [NETSWEEP, "slurm", *SMALL, "--shards", "1", "--signal-seconds", "-5",
       "-o", path("sl.h5")], "--signal-seconds -5: must be from 0 to 65535", out=path("sl.h5"))
expect("slurm: no CPUs per task", [NETSWEEP, "slurm", *SMALL, "--shards", "1", "--cpus-per-task", "0", "-o",
       path("sl.h5")], "--cpus-per-task", out=path("sl.h5"))
expect("render: a GIF delay beyond 16 bits", [RENDER, good, "-o", path("g4"), "--gif-delay", "100000", "-q"],
       "--gif-delay", out=path("g4"))

# A font whose composite glyphs name themselves (stb_truetype, the renderer's font library before
# FreeType, recursed until SIGSEGV).
dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
if os.path.exists(dejavu):
    font = bytearray(open(dejavu, "rb").read())
    for t in range(int.from_bytes(font[4:6], "big")):
        rec = 12 + 16 * t
        if font[rec:rec + 4] == b"glyf":
            at, length = int.from_bytes(font[rec + 8:rec + 12], "big"), int.from_bytes(font[rec + 12:rec + 16], "big")
            font[at:at + length] = b"\xff" * length
    with open(path("glyf.ttf"), "wb") as f:
        f.write(font)
    expect("render: a font whose glyphs loop", [RENDER, good, "-o", path("g5"), "--font", path("glyf.ttf"), "-q"],
           "is damaged", out=path("g5"))

    # Every glyph but .notdef made a composite of .notdef placed by matching points (flag 2 clear)
    # that do not exist. stb_truetype did not read such a component's arguments but took them as what
    # follows: in `looping`, as a second component naming the glyph itself (recursion until SIGSEGV),
    # else it drew every glyph as .notdef (silently wrong). FreeType refuses both.
    def point_matched(name, looping):
        font = bytearray(open(dejavu, "rb").read())
        tables = {}
        for t in range(int.from_bytes(font[4:6], "big")):
            rec = 12 + 16 * t
            tables[bytes(font[rec:rec + 4])] = int.from_bytes(font[rec + 8:rec + 12], "big")
        long_loca = int.from_bytes(font[tables[b"head"] + 50:tables[b"head"] + 52], "big") == 1
        glyphs = int.from_bytes(font[tables[b"maxp"] + 4:tables[b"maxp"] + 6], "big")
        entry = 4 if long_loca else 2

        def loca(g):
            v = int.from_bytes(font[tables[b"loca"] + g * entry:tables[b"loca"] + (g + 1) * entry], "big")
            return tables[b"glyf"] + (v if long_loca else 2 * v)
        for g in range(1, glyphs):
            start, end = loca(g), loca(g + 1)
            if end - start < 20:
                continue
            more = 0x20 if looping else 0
            # contours -1, a zero box; component: flags, glyph 0, then 2 bytes of arguments (read by stb
            # as the next component's flags: 2, XY values, no more), glyph g (its glyph index) and its
            # two byte-sized arguments.
            font[start:start + 20] = (b"\xff\xff" + bytes(8) + more.to_bytes(2, "big") + bytes(2) + b"\x00\x02" +
                                      g.to_bytes(2, "big") + bytes(2))
        assert len(font) == os.path.getsize(dejavu)
        with open(path(name), "wb") as f:
            f.write(font)
        expect(f"render: a font's composite glyphs placed by matching points ({name})",
               [RENDER, good, "-o", path("g5"), "--font", path(name), "-q"], "invalid composite glyph",
               out=path("g5"))
    point_matched("matched.ttf", False)
    point_matched("matched_loop.ttf", True)
# What fuzz_font found (tests/fuzz/crashers/README.md): a glyph thousands of times the text's height
# made one caption take over 10 s; that font now lacks the letters labels need, so a glyph 64 times
# the line's height is made from the fuzzer's seed font as well.
huge_glyph = os.path.join(os.path.dirname(crashers), "fuzz_font", "huge_glyph.ttf")
expect("render: fuzz_font's finding", [RENDER, good, "-o", path("g5"), "--font", huge_glyph, "-q"],
       "huge_glyph.ttf: ", out=path("g5"), timeout=30)
sys.path.insert(0, os.path.join(os.path.dirname(crashers), ".."))
import make_font_seeds  # noqa: E402 (tests/fuzz: the seed fonts' writer)
fonts = {"wide_glyph.ttf": make_font_seeds.tiny_font(square=(0, 0, 32000, 500), line=(400, -100)),
         "tall_em.ttf": make_font_seeds.tiny_font(line=(50, -20)),
         "tiny_ok.ttf": make_font_seeds.tiny_font(),
         "tricky.ttf": make_font_seeds.tiny_font(family="MingLiU")}
for name, data in fonts.items():
    with open(path(name), "wb") as f:
        f.write(data)
expect("render: a font's glyph 64 times its line", [RENDER, good, "-o", path("g5"), "--font", path("wide_glyph.ttf"),
       "-q"], "times the text's height", out=path("g5"), timeout=30)
expect("render: a font's em 14 times its line", [RENDER, good, "-o", path("g5"), "--font", path("tall_em.ttf"), "-q"],
       "not within 4 times its line height", out=path("g5"))
# FreeType runs a "tricky" font's glyph programs whatever the flags (one drew a 30,000-pixel glyph at
# every size but the one checked): known by family name, refused.
expect("render: a tricky font", [RENDER, good, "-o", path("g5"), "--font", path("tricky.ttf"), "-q"], "tricky",
       out=path("g5"))
code, text = run([RENDER, good, "-o", path("g8"), "--font", path("tiny_ok.ttf"), "-q"])
if code != 0:
    failures.append(f"render with the seed font: exit {code}: {text}")
# sfnt only: a WOFF header declaring 2 GB made FreeType allocate it.
with open(path("big.woff"), "wb") as f:
    f.write(b"wOFF" + b"\x00\x01\x00\x00" + (72).to_bytes(4, "big") + bytes(2) + bytes(2) + (0x7FFFFFF0).to_bytes(4, "big") +
            bytes(52))
expect("render: a WOFF font", [RENDER, good, "-o", path("g5"), "--font", path("big.woff"), "-q"],
       "not a TrueType or OpenType font", out=path("g5"))
# Inputs the command would count twice, or replace.
expect("info: a file given twice", [NETSWEEP, "info", good, good], "given twice")
expect("render: a file given twice", [RENDER, good, good, "-o", path("g6"), "-q"], "given twice", out=path("g6"))
expect("merge: -o one of its inputs", [NETSWEEP, "merge", "-q", good, "-o", good], "one of the inputs")
os.makedirs(path("g7"))
shutil.copy(good, path("g7/in.h5"))
expect("render: the input inside the gallery it replaces", [RENDER, path("g7/in.h5"), "-o", path("g7"), "-q"],
       "is inside")
if not os.path.exists(path("g7/in.h5")):
    failures.append("render: the input inside the gallery was deleted")
expect("render: --runs lr=1e-3 is lr=0.001", [RENDER, good, "-o", path("g8"), "--runs", "lr=1e-3,width=03", "-q"],
       "", status=0)
other = results_file("other.h5", ("--shape", "3-2", "--epochs", "2", "--grid", "4"))
expect("render: --runs matching one of two files",
       [RENDER, good, other, "-o", path("two_files"), "--runs", "shape=3-2", "-q"], "", status=0)
expect("run: replica seeds past 2^64", [NETSWEEP, "run", *SMALL, "--seed", "18446744073709551614", "--seeds", "3",
       "-o", out], "--seed", out=out)
expect("render: --runs with a word for a number", [RENDER, good, "-o", path("g9"), "--runs", "layers=abc", "-q"],
       "not a whole number", out=path("g9"))
expect("info: an axis given twice", [NETSWEEP, "info", good, "--by", "layers,layers"], "given twice")
expect("run: a feature given twice in a set", [NETSWEEP, "run", *SMALL, "--features", "x1,x1", "-o", out],
       "--features", out=out)
expect("render: negative threads", [RENDER, good, "-o", path("threads_g"), "--threads", "-1", "-q"], "--threads",
       out=path("threads_g"))
os.symlink(path("g7"), path("glink"))
expect("render: -o a symbolic link", [RENDER, good, "-o", path("glink"), "-q"], "symbolic link")
if not os.path.islink(path("glink")):
    failures.append("render: -o a symbolic link: the link was replaced")
# SIGHUP (the terminal closed) stops a run as SIGTERM does: nothing half-written left.
hup_out = path("hup.h5")
hp = subprocess.Popen([NETSWEEP, "run", "--layers", "2,3", "--widths", "32,64", "--epochs", "4000", "--grid", "16",
                       "--dataset", "spiral", "--device", "cpu", "-q", "-o", hup_out], stderr=subprocess.PIPE)
time.sleep(1.0)
hp.send_signal(signal.SIGHUP)
hp.wait(timeout=60)
if hp.returncode != 129 or leftovers(hup_out):
    failures.append(f"run stopped by SIGHUP: status {hp.returncode}, left behind {leftovers(hup_out)}")
else:
    print("ok   run stopped by SIGHUP")

# --resume takes a complete file as done only if it is this shard's, and
# refuses to replace another shard's (the file is kept).
two = [*SMALL[:2], "--widths", "3,4", *SMALL[4:]]
shard_file = path("shard.h5")
subprocess.run([NETSWEEP, "run", *two, "--shard", "0/2", "-o", shard_file], check=True)
with open(shard_file, "rb") as f:
    before = f.read()
r = subprocess.run([NETSWEEP, "run", *two, "--shard", "1/2", "--resume", "-o", shard_file], capture_output=True,
                   text=True)
with open(shard_file, "rb") as f:
    kept = f.read() == before
if r.returncode != 2 or "holds the complete results of shard 0/2 of this sweep" not in r.stderr or not kept:
    failures.append(f"--resume with another shard's file: status {r.returncode}, file kept {kept}: {r.stderr}")
else:
    print("ok   --resume with another shard's complete file is refused, the file kept")

# Shards merge only where each row is the sweep's network of its id and each shard's spec is its sweep's: a row
# moved to another id had its results written under that network (a wider one's parameters past its block: SIGSEGV).
shards = [path(f"merge_shard{k}.h5") for k in range(2)]
for k, shard in enumerate(shards):
    subprocess.run([NETSWEEP, "run", *two, "--shard", f"{k}/2", "-o", shard], check=True)
merged = path("merged_shards.h5")
swapped = [damaged_copy(shards[k], f"swapped{k}.h5", lambda f, k=k: f["networks/id"].__setitem__(0, 1 - k))
           for k in range(2)]
expect("merge: shards whose ids were swapped", [NETSWEEP, "merge", "-q", *swapped, "-o", merged],
       "network 1's activation is sigmoid, but the sweep's network 1 (3 relu adam, seed 0) has relu", out=merged)
lr = damaged_copy(shards[0], "lr.h5", lambda f: f["networks/lr"].__setitem__(0, 0.5))
expect("merge: a shard row's lr edited", [NETSWEEP, "merge", "-q", lr, shards[1], "-o", merged],
       "network 0's lr is 0.5, but the sweep's network 0 (3 sigmoid adam, seed 0) has 0.001", out=merged)
edited = damaged_copy(shards[1], "beta1.h5", lambda f: f.attrs.__setitem__(
    "spec", np.bytes_(json.dumps({**json.loads(f.attrs["spec"]), "beta1": 0.5}))))
expect("merge: the second shard's spec edited", [NETSWEEP, "merge", "-q", shards[0], edited, "-o", merged],
       "beta1.h5: sweep hash does not match its spec", out=merged)
wide = path("merge_shard1_f32.h5")  # one --frame-dtype for the merged file: f16 had passed for f32
subprocess.run([NETSWEEP, "run", *two, "--shard", "1/2", "--frame-dtype", "f32", "-q", "-o", wide], check=True)
expect("merge: shards of two frame types", [NETSWEEP, "merge", "-q", shards[0], wide, "-o", merged],
       f"merge: {wide} has f32 frames but {shards[0]} f16", out=merged)
expect("merge: whole shards", [NETSWEEP, "merge", "-q", *shards, "-o", merged], "", status=0)
os.remove(merged)


def before_1_1(f):  # files before format 1.1 have no l1, l2, momentum columns: read as NaN, they merge
    for name in ("l1", "l2", "momentum"):
        del f["networks/" + name]


old_shards = [damaged_copy(shards[k], f"old_shard{k}.h5", before_1_1) for k in range(2)]
expect("merge: shards without the 1.1 columns", [NETSWEEP, "merge", "-q", *old_shards, "-o", merged], "", status=0)

finish("all damaged inputs refused cleanly")
