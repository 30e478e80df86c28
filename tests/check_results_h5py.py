#!/usr/bin/env python3
"""The results file as another tool sees it: runs a small sweep with netsweep,
opens the file with h5py and checks every documented dataset's shape, type
and meaning. Network weights are rebuilt in NumPy from the documented packed
layout and must reproduce the stored final frame."""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np


def activation(name, z):
    return {
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "tanh": np.tanh,
        "relu": lambda v: np.maximum(v, 0),
        "elu": lambda v: np.where(v > 0, v, np.exp(v) - 1),
    }[name](z)


def main():
    netsweep = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sweep.h5")
        cmd = [netsweep, "run", "--layers", "1,2", "--widths", "3,5", "--activations", "relu,tanh", "--seeds", "2",
               "--epochs", "7", "--snapshot-every", "3", "--grid", "12", "--dataset", "circle:n=90",
               "--test-fraction", "0.2", "--device", "cpu", "-q", "-o", path]
        subprocess.run(cmd, check=True)
        with h5py.File(path, "r") as f:
            check(f)
    print("h5py contract: OK")


def text(v):
    """Strings are stored fixed-length UTF-8 (h5py reads them as bytes)."""
    return v.decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else v


def check(f):
    a = f.attrs
    assert text(a["format"]) == "netsweep-results", a["format"]
    assert a["format_version"] == 1
    spec = json.loads(text(a["spec"]))
    data_desc = json.loads(text(a["dataset"]))
    assert spec["epochs"] == 7 and spec["grid"] == 12 and spec["seeds"] == 2
    assert data_desc["n_train"] == 72 and data_desc["n_test"] == 18, data_desc
    for key in ("tool_version", "device", "created", "command_line"):
        assert isinstance(text(a[key]), str) and text(a[key]), key
    n = 2 * 2 * 2 * 2  # layers x widths x activations x seeds

    frames = f["frames"]
    assert frames.shape == (n, 4, 12, 12, 2), frames.shape
    assert frames.dtype == np.float16, frames.dtype
    assert frames.chunks == (1, 1, 12, 12, 2), frames.chunks
    assert frames.compression == "gzip"
    fe = f["frame_epochs"][:]
    assert list(fe) == [0, 3, 6, 7], fe
    assert list(f["snapshots/epoch"][:]) == list(fe)

    net = f["networks"]
    for col in ("id", "hidden_layers", "width", "uniform", "lr", "batch", "seed", "replica", "epochs_trained",
                "parameters", "final_epoch_loss", "final_train_loss", "final_test_loss", "final_train_accuracy",
                "final_test_accuracy", "wall_seconds", "hidden_shape", "activation", "optimizer", "status"):
        assert net[col].shape == (n,), (col, net[col].shape)
    shapes = [s.decode() for s in net["hidden_shape"][:]]
    assert shapes[:4] == ["3"] * 4 and shapes[-1] == "5-5", shapes
    assert list(net["id"][:]) == list(range(n))
    assert set(s.decode() for s in net["status"][:]) == {"trained"}

    assert f["losses/epoch"].shape == (n, 7)
    assert np.all(np.isfinite(f["losses/epoch"][:]))
    np.testing.assert_allclose(f["losses/epoch"][:, -1], net["final_epoch_loss"][:])
    for k in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
        assert f["snapshots/" + k].shape == (n, 4), k
    np.testing.assert_allclose(f["snapshots/test_accuracy"][:, -1], net["final_test_accuracy"][:])

    d = f["data"]
    assert d["train_points"].shape == (72, 2) and d["test_points"].shape == (18, 2)
    assert d["train_targets"].shape == (72, 2)
    lab = d["train_labels"][:]
    np.testing.assert_array_equal(d["train_targets"][:, 0], lab)  # output 0 = P(class 1)
    np.testing.assert_array_equal(d["train_targets"][:, 1], 1 - lab)
    features = [s.decode() for s in d["features"][:]]
    assert features == ["x1", "x2"], features

    gx, gy = f["grid/x"][:], f["grid/y"][:]
    x0, x1, y0, y1 = f["grid"].attrs["extent"]
    assert gx[0] == np.float32(x0) and gy[0] == np.float32(y1) and gy[-1] == np.float32(y0), "row 0 is the top"

    w = f["weights"]
    offsets = w["offsets"][:]
    assert offsets.shape == (n + 1,)
    assert w["initial"].shape == w["final"].shape == (offsets[-1],)
    assert not np.array_equal(w["initial"][:], w["final"][:])
    # Rebuild every network from the documented layout and compare with its last frame.
    grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2).astype(np.float64)
    for i in range(n):
        hidden = [int(s) for s in shapes[i].split("-")]
        params = w["final"][offsets[i]:offsets[i + 1]].astype(np.float64)
        assert len(params) >= net["parameters"][i]
        h, pos, dims = grid, 0, [2] + hidden + [2]
        for layer, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
            W = params[pos:pos + fan_in * fan_out].reshape(fan_out, fan_in)  # (out, in)
            pos += fan_in * fan_out
            b = params[pos:pos + fan_out]
            pos += fan_out
            z = h @ W.T + b
            last = layer == len(dims) - 2
            h = 1 / (1 + np.exp(-z)) if last else activation(net["activation"][i].decode(), z)
        assert pos == net["parameters"][i]
        stored = frames[i, -1].astype(np.float64).reshape(-1, 2)
        err = np.abs(stored - h).max()
        assert err < 2e-3, f"network {i}: stored frame differs from its weights by {err}"


if __name__ == "__main__":
    main()
