#!/usr/bin/env python3
"""Inside the networks, recomputed by another tool: from the parameters a
results file holds at every frame, NumPy rebuilds a middle frame's decision
field, a network's neuron maps and its hidden-space coordinates, and they
must match what the file and the renderer hold.

usage: check_inside_h5py.py NETSWEEP NETSWEEP_RENDER
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

NETSWEEP, RENDER = sys.argv[1], sys.argv[2]


def text(v):
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else v


def activation(name, z):
    return {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
            "linear": lambda v: v}[name](z)


def features(names, x, y):
    table = {"x1": x, "x2": y, "x1^2": x * x, "x2^2": y * y, "x1*x2": x * y, "sin(x1)": np.sin(x), "sin(x2)": np.sin(y)}
    return np.stack([table[n] for n in names], axis=1)


def layers_of(params, dims):
    out, pos = [], 0
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        W = params[pos:pos + fan_in * fan_out].reshape(fan_out, fan_in)
        pos += fan_in * fan_out
        b = params[pos:pos + fan_out]
        pos += fan_out
        out.append((W.astype(np.float64), b.astype(np.float64)))
    assert pos == len(params)
    return out


def forward(layers, act, x):
    """Hidden activations of every layer, then the sigmoid outputs (bce)."""
    hidden, h = [], x
    for k, (W, b) in enumerate(layers):
        z = h @ W.T + b
        h = activation(act, z) if k + 1 < len(layers) else 1 / (1 + np.exp(-z))
        hidden.append(h)
    return hidden


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "inside.h5")
        subprocess.run([NETSWEEP, "run", "--shape", "4-2", "--layers", "1", "--widths", "3", "--activations",
                        "tanh,relu", "--dataset", "thin-rings:n=120", "--test-fraction", "0.25", "--lr", "0.02",
                        "--epochs", "40", "--snapshot-every", "10", "--grid", "24", "--neuron-grid", "12",
                        "--frame-dtype", "f32", "--device", "cpu", "-q", "-o", path], check=True)
        subprocess.run([RENDER, path, "-o", os.path.join(tmp, "gallery"), "-q"], check=True)
        with h5py.File(path, "r") as f:
            check(f, os.path.join(tmp, "gallery"))
    print("inside the networks, recomputed with NumPy: OK")


def check(f, gallery):
    net = f["networks"]
    shapes = [text(s) for s in net["hidden_shape"][:]]
    acts = [text(s) for s in net["activation"][:]]
    params_count = net["parameters"][:]
    names = [text(s) for s in f["data/features"][:]]
    inputs, outputs = len(names), f["frames"].shape[4]
    frames = f["frame_epochs"].shape[0]
    so = f["weights/snapshot_offsets"][:]
    no = f["neurons/offsets"][:]
    snaps = f["weights/snapshots"]
    gx, gy = f["grid/x"][:].astype(np.float64), f["grid/y"][:].astype(np.float64)
    xx, yy = np.meshgrid(gx, gy)  # row 0 is the top: grid/y descends
    grid = features(names, xx.ravel(), yy.ravel())
    nx, ny = f["neurons/grid_x"][:].astype(np.float64), f["neurons/grid_y"][:].astype(np.float64)
    nxx, nyy = np.meshgrid(nx, ny)
    ngrid = features(names, nxx.ravel(), nyy.ravel())
    points = np.concatenate([f["data/train_points"][:], f["data/test_points"][:]]).astype(np.float64)
    pts = features(names, points[:, 0], points[:, 1])
    mid = frames // 2
    checked_maps = checked_hidden = 0
    for n, shape in enumerate(shapes):
        dims = [inputs] + [int(w) for w in shape.split("-")] + [outputs]
        P = int(params_count[n])
        assert so[n + 1] - so[n] == frames * P, (n, "parameters recorded at every frame")
        at = lambda fr: snaps[so[n] + fr * P: so[n] + (fr + 1) * P]
        # The last snapshot is the final parameters; the first the initial ones.
        off = f["weights/offsets"][n]
        np.testing.assert_array_equal(at(frames - 1), f["weights/final"][off:off + P])
        np.testing.assert_array_equal(at(0), f["weights/initial"][off:off + P])
        # A middle frame's decision field from that frame's parameters.
        layers = layers_of(at(mid), dims)
        hidden = forward(layers, acts[n], grid)
        field = hidden[-1].reshape(len(gy), len(gx), outputs)
        err = np.abs(field - f["frames"][n, mid]).max()
        assert err < 2e-5, (n, shape, "middle frame recomputed", err)
        # Its neuron maps on the neuron grid.
        units = sum(dims[1:-1])
        if no[n + 1] > no[n]:
            assert no[n + 1] - no[n] == units
            h = forward(layers, acts[n], ngrid)[:-1]
            mine = np.concatenate([a.T for a in h]).reshape(units, len(ny), len(nx))
            stored = f["neurons/maps"][no[n]:no[n + 1], mid].astype(np.float64)
            scale = max(1.0, np.abs(mine).max())
            err = np.abs(mine - stored).max() / scale
            assert err < 1e-3, (n, shape, "neuron maps", err)  # float16 maps
            checked_maps += 1
        # The renderer's hidden spaces: its coordinates of the data at the frames it kept.
        views = json.load(open(os.path.join(gallery, "nets", f"net-{int(net['id'][n]):04d}", "hidden.json")))
        for v in views:
            for fr, coords in v["points"].items():
                h = forward(layers_of(at(int(fr)), dims), acts[n], pts)[v["layer"] - 1]
                if v["units"] == 2:
                    mine = h
                else:
                    mine = (h - np.array(v["center"])) @ np.array(v["projection"]).reshape(2, v["units"]).T
                err = np.abs(mine - np.array(coords).reshape(-1, 2)).max()
                assert err < 1e-4 * max(1.0, np.abs(mine).max()), (n, shape, "hidden layer", v["layer"], fr, err)
                checked_hidden += 1
    assert checked_maps == len(shapes) and checked_hidden >= len(shapes) * 3, (checked_maps, checked_hidden)


if __name__ == "__main__":
    main()
