#!/usr/bin/env python3
"""`netsweep info --by` against NumPy: the grouped medians, quartiles, share
reaching the target accuracy, epochs to it and divergence counts, recomputed
from the results file with h5py; CSV and JSON read back with pandas.

usage: check_summary.py NETSWEEP
"""
import io
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd

NETSWEEP = sys.argv[1]


def text(v):
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else str(v)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "seeds.h5")
        subprocess.run([NETSWEEP, "run", "--layers", "1,2", "--widths", "4", "--activations", "tanh,relu", "--l2",
                        "0,0.001", "--lr", "0.02", "--seeds", "5", "--epochs", "40", "--snapshot-every", "10",
                        "--grid", "8", "--dataset", "moons:n=120", "--test-fraction", "0.25", "--device", "cpu", "-q",
                        "-o", path], check=True)
        target = 0.9
        csv = subprocess.run([NETSWEEP, "info", path, "--by", "layers,activation,l2", "--format", "csv",
                              "--target-accuracy", str(target)], check=True, capture_output=True, text=True).stdout
        js = subprocess.run([NETSWEEP, "info", path, "--by", "layers,activation,l2", "--format", "json",
                             "--target-accuracy", str(target)], check=True, capture_output=True, text=True).stdout
        per = subprocess.run([NETSWEEP, "info", path, "--format", "csv"], check=True, capture_output=True,
                             text=True).stdout
        groups = pd.read_csv(io.StringIO(csv), dtype={"activation": str})
        groups_json = pd.read_json(io.StringIO(js))
        networks = pd.read_csv(io.StringIO(per))
        with h5py.File(path, "r") as f:
            check(f, groups, groups_json, networks, target)
    print("info --by: aggregates match NumPy; CSV and JSON read with pandas")


def check(f, groups, groups_json, networks, target):
    net = f["networks"]
    n = net["id"].shape[0]
    assert len(networks) == n and list(networks["id"]) == list(net["id"][:]), "one CSV row per network"
    assert networks["final_train_loss"].dtype == np.float64 and networks["activation"].dtype == object
    np.testing.assert_allclose(networks["final_train_loss"], net["final_train_loss"][:], rtol=1e-6)
    layers, act, l2 = net["hidden_layers"][:], [text(a) for a in net["activation"][:]], net["l2"][:]
    status = [text(s) for s in net["status"][:]]
    acc = f["snapshots/train_accuracy"][:]
    epochs = f["frame_epochs"][:]
    keys = []
    for i in range(n):
        k = (int(layers[i]), act[i], float(l2[i]))
        if k not in keys:
            keys.append(k)
    assert len(groups) == len(keys) == 8, (len(groups), keys)
    for g, (L, a, pen) in enumerate(keys):
        rows = [i for i in range(n) if (int(layers[i]), act[i], float(l2[i])) == (L, a, pen)]
        got = groups.iloc[g]
        assert (got["layers"], got["activation"]) == (L, a) and abs(got["l2"] - pen) < 1e-9, (got, L, a, pen)
        assert got["count"] == len(rows) == 5
        for col, dataset in [("train_loss", "final_train_loss"), ("test_loss", "final_test_loss"),
                             ("train_accuracy", "final_train_accuracy"), ("test_accuracy", "final_test_accuracy")]:
            v = net[dataset][:][rows].astype(np.float64)
            for stat, q in [("median", 50), ("q25", 25), ("q75", 75)]:
                want = np.nanpercentile(v, q)  # linear interpolation, NumPy's default
                assert abs(got[f"{col}_{stat}"] - want) <= 1e-6 * max(1, abs(want)), (col, stat, got[f"{col}_{stat}"], want)
                assert abs(groups_json.iloc[g][f"{col}_{stat}"] - want) <= 1e-6 * max(1, abs(want))
        reached = [i for i in rows if (acc[i] >= target).any()]
        assert abs(got["reached_target_share"] - len(reached) / len(rows)) < 1e-9
        first = [epochs[np.argmax(acc[i] >= target)] for i in reached]
        if first:
            assert got["median_epochs_to_target"] == np.median(first), (got["median_epochs_to_target"], first)
        else:
            assert np.isnan(got["median_epochs_to_target"])
        assert got["diverged"] == sum(status[i] == "diverged" for i in rows)


if __name__ == "__main__":
    main()
