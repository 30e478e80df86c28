#!/usr/bin/env python3
"""The results file as netCDF-4: xarray (Debian's python3-xarray with the h5netcdf
engine) opens it with named dimensions, the networks table as coordinates along
`network`, frame epochs along `frame`, and strings pandas reads as str; every
value it shows equals what h5py reads from the same file. Covers a 2-D sweep with
replicas and a test split, 1-D regression without a test set, and merged shards.

usage: check_xarray.py NETSWEEP
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd
import xarray as xr

NETSWEEP = sys.argv[1]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    subprocess.run([NETSWEEP, *args, "--device", "cpu", "-q"], check=True)


def strings(a):
    return [v.decode() if isinstance(v, bytes) else v for v in a]


def check_file(path, regression=False):
    name = os.path.basename(path)
    ds = xr.open_dataset(path, engine="h5netcdf")
    with h5py.File(path, "r") as f:
        n, frames, h, w, outputs = f["frames"].shape
        epochs = f["losses/epoch"].shape[1]
        want = {"network": n, "frame": frames, "y": h, "x": w, "output": outputs, "epoch": epochs}
        check({d: ds.sizes[d] for d in want} == want, f"{name}: dimensions {dict(ds.sizes)} != {want}")
        check(ds.frames.dims == ("network", "frame", "y", "x", "output"), f"{name}: frames dims {ds.frames.dims}")
        check(np.array_equal(ds.network.values, f["networks/id"][:]), f"{name}: network coordinate != networks/id")
        check(np.array_equal(ds.frame.values, f["frame_epochs"][:]), f"{name}: frame coordinate != frame_epochs")
        check(np.array_equal(ds.x.values, f["grid/x"][:]) and np.array_equal(ds.y.values, f["grid/y"][:]),
              f"{name}: x/y coordinates != grid/x, grid/y")
        check(np.array_equal(ds.epoch.values, np.arange(1, epochs + 1)), f"{name}: epoch coordinate")
        # The networks table: coordinates along `network`, strings decoded.
        for column in f["networks"]:
            if column == "id":
                continue
            check(column in ds.frames.coords, f"{name}: networks/{column} is not a coordinate of frames")
            got, stored = ds[column].values, f["networks/" + column][:]
            if stored.dtype.kind == "S":
                check(all(isinstance(v, str) for v in got), f"{name}: {column} not decoded to str")
                check(list(got) == strings(stored), f"{name}: {column} differs")
            else:
                check(np.array_equal(got, stored, equal_nan=stored.dtype.kind == "f"), f"{name}: {column} differs")
        # Values equal h5py's.
        check(np.array_equal(ds.frames.values, f["frames"][:], equal_nan=True), f"{name}: frames differ")
        check(np.array_equal(ds.epoch_loss.values, f["losses/epoch"][:], equal_nan=True), f"{name}: epoch_loss")
        for m in ["train_loss", "test_loss", "train_accuracy", "test_accuracy"]:
            check(ds[m].dims == ("network", "frame"), f"{name}: {m} dims {ds[m].dims}")
            check(np.array_equal(ds[m].values, f["snapshots/" + m][:], equal_nan=True), f"{name}: {m} differs")
        # Selecting networks by a table column, as a user would.
        act = strings(f["networks/activation"][:])
        first = act[0]
        rows = [i for i, a in enumerate(act) if a == first]
        chosen = ds.frames.sel(network=ds.network[ds.activation == first])
        check(chosen.sizes["network"] == len(rows), f"{name}: sel by activation kept {chosen.sizes['network']}")
        check(np.array_equal(chosen.isel(frame=-1).values, f["frames"][rows, -1], equal_nan=True),
              f"{name}: frames selected by activation differ from h5py's rows {rows}")
        last = ds.frames.sel(frame=int(f["frame_epochs"][-1]))
        check(np.array_equal(last.values, f["frames"][:, -1], equal_nan=True), f"{name}: sel(frame=last epoch)")
        # pandas: the table without decoding by hand.
        table = ds[["activation", "hidden_shape", "status", "final_train_loss"]].to_dataframe()
        check(table.index.name == "network" and len(table) == n, f"{name}: table index {table.index.name}")
        check(isinstance(table["activation"].iloc[0], str) and isinstance(table["status"].iloc[0], str),
              f"{name}: pandas columns are not str")
        check(table.groupby("activation").size().sum() == n, f"{name}: groupby activation")
        # Each group opens on its own with named dimensions (losses/epoch is epoch_loss at the root).
        data = xr.open_dataset(path, engine="h5netcdf", group="data")
        check(data.train_points.dims == ("train_point", "coordinate"), f"{name}: data dims {data.train_points.dims}")
        check(data.sizes["train_point"] == f["data/train_points"].shape[0], f"{name}: train_point size")
        check(data.sizes["test_point"] == f["data/test_points"].shape[0], f"{name}: test_point size")
        check(data.sizes["coordinate"] == (1 if regression else 2), f"{name}: coordinate size")
        check(strings(data.features.values) == strings(f["data/features"][:]), f"{name}: data features")
        check(data.train_targets.dims == ("train_point", "output"), f"{name}: targets dims")
        if regression:
            check(data.train_values.dims == ("train_point",), f"{name}: train_values dims")
        for group, dims in [("networks", {"network"}), ("grid", {"x", "y"}), ("snapshots", {"network", "frame"}),
                            ("weights", {"parameter", "network_edge", "snapshot_value"}),
                            ("neurons", {"neuron", "frame", "grid_y", "grid_x", "network_edge"})]:
            g = xr.open_dataset(path, engine="h5netcdf", group=group)
            check(set(g.sizes) == dims, f"{name}: group {group} dims {set(g.sizes)} != {dims}")
        neurons = xr.open_dataset(path, engine="h5netcdf", group="neurons")
        check(neurons.maps.dims == ("neuron", "frame", "grid_y", "grid_x"), f"{name}: neuron maps dims")
        check(np.array_equal(neurons.maps.values, f["neurons/maps"][:], equal_nan=True), f"{name}: neuron maps")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        sweep = os.path.join(tmp, "sweep.h5")
        run("run", "--layers", "1,2", "--widths", "4,8", "--activations", "relu,tanh", "--seeds", "2", "--epochs",
            "20", "--snapshot-every", "5", "--grid", "24", "--dataset", "circle:n=80", "--test-fraction", "0.25",
            "-o", sweep)
        check_file(sweep)
        poly = os.path.join(tmp, "poly.h5")
        run("run", "--dataset", "poly:n=40", "--layers", "2", "--widths", "8", "--activations", "tanh", "--epochs",
            "10", "--snapshot-every", "5", "--grid", "30", "--test-fraction", "0", "-o", poly)
        check_file(poly, regression=True)
        args = ["--layers", "1,2,3", "--widths", "4", "--activations", "relu", "--epochs", "6", "--snapshot-every",
                "3", "--grid", "12", "--dataset", "xor:n=60", "--frame-dtype", "f32"]
        shards = []
        for i in range(2):
            shards.append(os.path.join(tmp, f"s.shard-{i}.h5"))
            run("run", *args, "--shard", f"{i}/2", "-o", shards[-1])
        check_file(shards[1])
        merged = os.path.join(tmp, "merged.h5")
        subprocess.run([NETSWEEP, "merge", "-q", *shards, "-o", merged], check=True)
        check_file(merged)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("xarray reads every file as h5py does")
    return 0


if __name__ == "__main__":
    sys.exit(main())
