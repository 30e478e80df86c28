#!/usr/bin/env python3
"""Compares two netsweep results files dataset by dataset, bit for bit.

Only what records when and where a file was made may differ: the root
attributes created, elapsed_seconds, command_line, device, shard_index and
shard_count, and networks/wall_seconds. Exits 1 naming the first differences."""
import sys

import h5py
import numpy as np

TIMING_ATTRS = {"created", "elapsed_seconds", "command_line", "device", "shard_index", "shard_count"}
TIMING_DATASETS = {"networks/wall_seconds"}


def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def main():
    a_path, b_path = sys.argv[1], sys.argv[2]
    problems = []
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        for key in sorted(set(a.attrs) | set(b.attrs)):
            if key in TIMING_ATTRS:
                continue
            if key not in a.attrs or key not in b.attrs:
                problems.append(f"root attribute {key} only in one file")
            elif a.attrs[key] != b.attrs[key]:
                problems.append(f"root attribute {key}: {a.attrs[key]!r} != {b.attrs[key]!r}")
        da, db = datasets(a), datasets(b)
        for name in sorted(set(da) | set(db)):
            if name in TIMING_DATASETS:
                continue
            if name not in da or name not in db:
                problems.append(f"dataset {name} only in one file")
                continue
            x, y = da[name][()], db[name][()]
            if x.shape != y.shape or x.dtype != y.dtype:
                problems.append(f"{name}: shape/type {x.shape} {x.dtype} != {y.shape} {y.dtype}")
            elif x.dtype.kind == "f":
                if x.tobytes() != y.tobytes():
                    diff = np.argwhere(~((x == y) | (np.isnan(x) & np.isnan(y))))
                    problems.append(f"{name}: {len(diff)} values differ, first at {diff[:3].tolist()}")
            elif not np.array_equal(x, y):
                problems.append(f"{name}: values differ")
    if problems:
        print(f"{a_path} and {b_path} differ:")
        for p in problems[:20]:
            print("  " + p)
        sys.exit(1)
    print(f"{a_path} and {b_path}: identical (timing fields aside)")


if __name__ == "__main__":
    main()
