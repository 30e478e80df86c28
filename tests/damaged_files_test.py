#!/usr/bin/env python3
"""Damaged checkpoints, a full disk, and the renderer's damaged inputs and
signals through the command line (the rules are damaged_common.py's).

usage: damaged_files_test.py NETSWEEP NETSWEEP_RENDER
"""
import os
import shutil
import signal
import subprocess
import time

import h5py
import numpy as np

from damaged_common import NETSWEEP, RENDER, SMALL, expect, failures, finish, leftovers, path, results_file

good = results_file("good.h5")

# ------------------------------------------------------------ checkpoints
ck_args = [NETSWEEP, "run", "--layers", "2,3", "--widths", "32,64", "--epochs", "4000", "--snapshot-every", "100",
           "--grid", "16", "--dataset", "spiral", "--resume", "--checkpoint-every", "0", "--threads", "2", "-q"]
ck_out = path("ck.h5")
p = subprocess.Popen(ck_args + ["-o", ck_out])
try:
    p.wait(timeout=2.5)
except subprocess.TimeoutExpired:
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
if p.returncode == 143 and os.path.exists(ck_out + ".ckpt/state.h5"):
    saved = path("ck_saved")
    shutil.copytree(ck_out + ".ckpt", saved)

    def with_damage(label, edit, needle):
        shutil.rmtree(ck_out + ".ckpt", ignore_errors=True)
        shutil.copytree(saved, ck_out + ".ckpt")
        edit(ck_out + ".ckpt")
        expect(f"checkpoint: {label}", ck_args + ["-o", ck_out], needle, out=ck_out, keep=("ck.h5.ckpt",))

    def halve_frames(d):
        os.truncate(os.path.join(d, "frames.bin"), os.path.getsize(os.path.join(d, "frames.bin")) // 2)

    def flip(name, where):
        def edit(d):
            fn = os.path.join(d, name)
            b = bytearray(open(fn, "rb").read())
            b[int(len(b) * where)] ^= 0x5A
            open(fn, "wb").write(bytes(b))
        return edit

    with_damage("halved frames file", halve_frames, "frames.bin")
    with_damage("flipped bytes in its state", flip("state.h5", 0.5), "damaged")
    def flip_counted_frame(d):  # a byte every 4 KiB: some land in frames the state counts
        fn = os.path.join(d, "frames.bin")
        b = bytearray(open(fn, "rb").read())
        for i in range(10, len(b), 4096):
            b[i] ^= 0x5A
        open(fn, "wb").write(bytes(b))

    with_damage("a flipped byte in a recorded frame", flip_counted_frame, "frames.bin")

    def frames_behind(d):  # a network's frame count behind its epoch: resumed, it would skip those frames
        with h5py.File(os.path.join(d, "state.h5"), "r+") as f:
            done = f["frames_done"][:]
            done[int(np.argmax(f["epoch"][:]))] = 0
            f["frames_done"][:] = done

    with_damage("a frame count behind its epoch", frames_behind, "training state is out of range")
    # Not damage: another frame type than the checkpoint's frames, refused as such (the checkpoint kept).
    shutil.rmtree(ck_out + ".ckpt", ignore_errors=True)
    shutil.copytree(saved, ck_out + ".ckpt")
    expect("checkpoint: resumed with another --frame-dtype", ck_args + ["--frame-dtype", "f32", "-o", ck_out],
           "checkpoint made with --frame-dtype f16; this run asks for f32", out=ck_out, keep=("ck.h5.ckpt",))
    if not os.path.exists(ck_out + ".ckpt/state.h5"):
        failures.append("checkpoint: resumed with another --frame-dtype: the checkpoint was removed")
else:
    failures.append(f"checkpoint cases: could not make a checkpoint (status {p.returncode})")

# ------------------------------------------------------------ full disk (a small tmpfs; needs root)
disk = path("disk")
os.makedirs(disk)
if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", disk], capture_output=True).returncode == 0:
    try:
        big = ["--layers", "3", "--widths", "256", "--activations", "relu,tanh,sigmoid,elu", "--epochs", "2", "--grid",
               "4", "--dataset", "moons:n=40", "--device", "cpu", "-q"]
        expect("full disk: results file", [NETSWEEP, "run", *big, "-o", os.path.join(disk, "o.h5")], "no space left",
               out=os.path.join(disk, "o.h5"))
        expect("full disk: checkpoint", [NETSWEEP, "run", *big, "--resume", "-o", os.path.join(disk, "o.h5")],
               "no space left", out=os.path.join(disk, "o.h5"))
    finally:
        subprocess.run(["umount", disk])
else:
    print("skip full-disk cases: cannot mount a tmpfs here (needs root)")

# ------------------------------------------------------------ renderer
expect("render: not a font", [RENDER, good, "-o", path("g1"), "--font", "/etc/passwd", "-q"], "not a TrueType or OpenType font",
       out=path("g1"))
expect("render: a device as the font", [RENDER, good, "-o", path("g2"), "--font", "/dev/zero", "-q"], "/dev/zero",
       out=path("g2"), timeout=10)
expect("render: missing parent directory", [RENDER, good, "-o", path("no/such/dir/g"), "-q"], "does not exist")
# A path holding a newline is quoted on the error's one line, the newline as \x0a.
expect("render: a newline in the results path", [RENDER, path("no\nsuch.h5"), "-o", path("g4"), "-q"],
       "no\\x0asuch.h5: no such file", out=path("g4"))
expect("run: a newline in the output's directory", [NETSWEEP, "run", *SMALL, "-o", path("no\ndir/o.h5")],
       "no\\x0adir does not exist")
rp = subprocess.Popen([RENDER, results_file("bigger.h5", ["--layers", "1,2,3,4", "--widths", "8,16,32", "--grid",
                                                          "64", "--snapshot-every", "1", "--epochs", "20"]),
                       "-o", path("g3"), "-q"])
time.sleep(0.5)
rp.send_signal(signal.SIGTERM)
rp.wait(timeout=60)
left = leftovers(path("g3"))
if rp.returncode not in (0, 143) or (rp.returncode == 143 and left):
    failures.append(f"render stopped by SIGTERM: status {rp.returncode}, left behind {left}")
else:
    print(f"ok   render stopped by SIGTERM (status {rp.returncode})")

finish("all damaged files refused cleanly")
