#!/usr/bin/env python3
"""Compares two netsweep results files: bit for bit (--exact), or within tolerances.

  compare_results.py A.h5 B.h5 --exact
      Every root attribute and dataset equal, bit for bit, except what records
      when and where a file was made: the root attributes created,
      elapsed_seconds, command_line, options, device, shard_index and shard_count, and
      networks/wall_seconds. Resumed, sharded and merged runs must pass this.

  compare_results.py A.h5 B.h5 [--loss-rtol 1e-4] [--loss-atol 1e-6]
                     [--frame-atol 2e-3] [--max-flipped 0] [--show 10] [--json FILE]
      Tolerance mode, to judge a GPU file (B) against a CPU file (A) of the same
      sweep (same sweep_hash and networks/id). Per network:
        losses/epoch, snapshots/train_loss, snapshots/test_loss
                   |a - b| <= atol + rtol |a|  (NaN equals NaN)
        frames     max |a - b| <= frame-atol, per frame
        snapshots/train_accuracy, test_accuracy
                   flipped points (|delta accuracy| x points) <= max-flipped
        networks/status, networks/epochs_trained: equal
      Every failing network gets a triage verdict:
        BUG    wrong from the start: a per-epoch loss already off in epoch 0 or 1
               (losses/epoch columns 0-1), or anything off at frame epoch 0
               (before any training)
        drift  the first mismatch comes later, and the two runs had already
               drifted apart (values not bit-identical) in the epochs just
               before it: float rounding accumulated along a chaotic trajectory
               (ReLU networks can then cross the tolerance in one epoch)
        JUMP   the first mismatch comes later, and the values were bit-identical
               in the epochs just before it: not accumulated rounding; inspect it
               like a bug (a race, a code path taken only late, the frame path).
               Only runs that agree bit for bit at first (CPU vs CPU) can show it.

Exit status: 0 all within tolerance (or identical), 1 not, 2 unusable input
(unreadable file, not a results file, different sweeps). Frames are read one
network at a time, so files of several GB are fine. Needs h5py and numpy only.
"""
import argparse
import json
import math
import sys

import h5py
import numpy as np

TIMING_ATTRS = {"created", "elapsed_seconds", "command_line", "options", "device", "shard_index", "shard_count"}
TIMING_DATASETS = {"networks/wall_seconds"}


class Unusable(Exception):
    pass


def open_file(path, results=True):
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as e:
        raise Unusable(f"{path}: cannot open as HDF5 ({e})") from None
    if results and attr(f, "format") != "netsweep-results":
        f.close()
        raise Unusable(f"{path}: not a netsweep results file (format attribute {attr(f, 'format')!r})")
    return f


def attr(f, key):
    v = f.attrs.get(key)
    return v.decode() if isinstance(v, bytes) else v


def strings(ds):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in ds[()]]


# ---------------------------------------------------------------- --exact

def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def differences(x, y):
    """(count, first indices) of the values that differ between datasets x and y, read in slices."""
    if x.ndim == 0 or x.size == 0:
        same = np.asarray(x[()]).tobytes() == np.asarray(y[()]).tobytes() if x.dtype.kind == "f" else \
            np.array_equal(x[()], y[()])
        return (0, []) if same else (1, [[]])
    rows = max(1, (64 << 20) // max(1, x.size // x.shape[0] * x.dtype.itemsize))  # about 64 MB a slice
    count, first, raw = 0, [], False
    for lo in range(0, x.shape[0], rows):
        xs, ys = x[lo:lo + rows], y[lo:lo + rows]
        if x.dtype.kind == "f":
            if xs.tobytes() == ys.tobytes():
                continue
            raw = True  # bytes differ (also -0.0 vs 0.0 or NaN payloads)
            bad = np.argwhere(~((xs == ys) | (np.isnan(xs) & np.isnan(ys))))
        else:
            neq = np.asarray(xs != ys)
            if not neq.any():
                continue
            bad = np.argwhere(neq)
        bad[:, 0] += lo
        count += len(bad)
        first += bad[:3 - len(first)].tolist()
    return (max(count, 1 if raw else 0), first)


def exact(a_path, b_path):
    problems = []
    with open_file(a_path, results=False) as a, open_file(b_path, results=False) as b:
        for key in sorted(set(a.attrs) | set(b.attrs)):
            if key in TIMING_ATTRS:
                continue
            if key not in a.attrs or key not in b.attrs:
                problems.append(f"root attribute {key} only in one file")
            elif not np.array_equal(a.attrs[key], b.attrs[key]):
                problems.append(f"root attribute {key}: {a.attrs[key]!r} != {b.attrs[key]!r}")
        da, db = datasets(a), datasets(b)
        for name in sorted(set(da) | set(db)):
            if name in TIMING_DATASETS:
                continue
            if name not in da or name not in db:
                problems.append(f"dataset {name} only in one file")
                continue
            x, y = da[name], db[name]
            if x.shape != y.shape or x.dtype != y.dtype:
                problems.append(f"{name}: shape/type {x.shape} {x.dtype} != {y.shape} {y.dtype}")
                continue
            count, first = differences(x, y)
            if count:
                problems.append(f"{name}: {count} values differ, first at {first}")
    if problems:
        print(f"{a_path} and {b_path} differ:")
        for p in problems[:20]:
            print("  " + p)
        return 1
    print(f"{a_path} and {b_path}: identical (timing fields aside)")
    return 0


# ---------------------------------------------------------------- tolerances

def abs_diff(a, b):
    """|a-b|, 0 where both are NaN or equal (inf against inf), inf where one is NaN or one infinite."""
    with np.errstate(invalid="ignore"):
        d = np.abs(a - b)
    return np.where((a == b) | (np.isnan(a) & np.isnan(b)), 0.0, np.where(np.isnan(d), np.inf, d))


def normalised(a, b, atol, rtol):
    """(|a-b|, |a-b| / (atol + rtol|a|)): over 1 is beyond tolerance (abs_diff's rules)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    d = abs_diff(a, b)
    return d, d / (atol + rtol * np.abs(np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)))


class Net:
    def __init__(self, row, nid, shape, activation, frames):
        self.row, self.id, self.shape, self.activation = row, nid, shape, activation
        self.reasons = []  # what is beyond tolerance
        self.first = []  # (time key, line): the first mismatch of each dataset
        self.loss_series = None  # normalised per-epoch loss error
        self.loss_onset = None  # first losses/epoch column beyond tolerance
        self.frame_series = np.zeros(frames)  # normalised error per frame: frames, snapshot losses
        self.frame_onset = None  # first frame with anything beyond tolerance
        self.max = {}
        self.verdict, self.why = "ok", ""

    @property
    def ok(self):
        return not self.reasons

    def mismatch(self, reason, key, line, frame=None):
        self.reasons.append(reason)
        self.first.append((key, line))
        if frame is not None:
            self.frame_onset = frame if self.frame_onset is None else min(self.frame_onset, frame)


def compare(a_path, b_path, o):
    with open_file(a_path) as fa, open_file(b_path) as fb:
        ha, hb = attr(fa, "sweep_hash"), attr(fb, "sweep_hash")
        if ha is None or hb is None:
            raise Unusable(f"{a_path if ha is None else b_path}: no sweep_hash attribute")
        if ha != hb:
            raise Unusable(f"different sweeps: sweep_hash {ha} in {a_path}, {hb} in {b_path} (train both from "
                           "the same spec and data, e.g. `netsweep run --from A.h5 --device cuda -o B.h5`)")
        for name in ("networks/id", "networks/hidden_shape", "networks/activation", "networks/status",
                     "networks/epochs_trained", "losses/epoch", "frames", "frame_epochs", "data/train_labels",
                     "data/test_labels") + tuple(f"snapshots/{s}_{q}" for s in ("train", "test")
                                                 for q in ("loss", "accuracy")):
            for f, path in ((fa, a_path), (fb, b_path)):
                if name not in f:
                    raise Unusable(f"{path}: no dataset {name}")
            if name != "networks/id" and fa[name].shape != fb[name].shape:
                raise Unusable(f"{name}: shape {fa[name].shape} in {a_path} but {fb[name].shape} in {b_path}")
        ida, idb = fa["networks/id"][()], fb["networks/id"][()]
        if sorted(ida.tolist()) != sorted(idb.tolist()):
            raise Unusable(f"different networks: {len(ida)} in {a_path} (ids {ida[:6].tolist()}...), "
                           f"{len(idb)} in {b_path} (ids {idb[:6].tolist()}...)")
        where_b = {int(v): k for k, v in enumerate(idb)}
        order = np.array([where_b[int(v)] for v in ida], dtype=np.int64)  # B's row of A's row k

        def b_rows(name):
            v = fb[name][()]
            return v[order] if len(order) else v

        frame_epochs = fa["frame_epochs"][()].astype(int)
        points = {"train": len(fa["data/train_labels"]), "test": len(fa["data/test_labels"])}
        shapes, acts = strings(fa["networks/hidden_shape"]), strings(fa["networks/activation"])
        nets = [Net(k, int(ida[k]), shapes[k], acts[k], len(frame_epochs)) for k in range(len(ida))]

        def at_frame(f):
            return f"frame {f} = epoch {frame_epochs[f]}"

        for name in ("networks/status", "networks/epochs_trained"):
            va = strings(fa[name]) if fa[name].dtype.kind in "OSU" else fa[name][()].tolist()
            vb = strings(fb[name]) if fb[name].dtype.kind in "OSU" else fb[name][()].tolist()
            for n in nets:
                x, y = va[n.row], vb[order[n.row]]
                if x != y:
                    n.mismatch(f"{name.split('/')[1]} {x} vs {y}", -1, f"{name}: {x} vs {y}")

        la, lb = fa["losses/epoch"][()], b_rows("losses/epoch")
        d, r = normalised(la, lb, o.loss_atol, o.loss_rtol)
        for n in nets:
            row = r[n.row]
            k = int(np.argmax(row)) if row.size else 0
            n.max["epoch_loss"] = (float(d[n.row].max(initial=0)), float(row.max(initial=0)), k,
                                   float(la[n.row, k]) if row.size else 0.0, float(lb[n.row, k]) if row.size else 0.0)
            n.loss_series = row
            bad = np.flatnonzero(row > 1)
            if len(bad):
                e = n.loss_onset = int(bad[0])
                n.mismatch(f"epoch loss beyond tolerance in {len(bad)} of {len(row)} epochs", e,
                           f"losses/epoch[net {n.id}, epoch {e}]: {la[n.row, e]:.9g} vs {lb[n.row, e]:.9g} "
                           f"(|d| {d[n.row, e]:.3g}, {row[e]:.3g}x tolerance)")

        for split in ("train", "test"):
            name = f"snapshots/{split}_loss"
            sa, sb = fa[name][()], b_rows(name)
            d, r = normalised(sa, sb, o.loss_atol, o.loss_rtol)
            for n in nets:
                row = r[n.row]
                n.max[f"{split}_loss"] = (float(d[n.row].max(initial=0)), float(row.max(initial=0)))
                n.frame_series = np.maximum(n.frame_series, row)
                bad = np.flatnonzero(row > 1)
                if len(bad):
                    f = int(bad[0])
                    n.mismatch(f"{split} loss beyond tolerance at {len(bad)} of {len(row)} frames",
                               frame_epochs[f] - 0.5,
                               f"{name}[net {n.id}, {at_frame(f)}]: {sa[n.row, f]:.9g} vs {sb[n.row, f]:.9g} "
                               f"({row[f]:.3g}x tolerance)", f)
            name = f"snapshots/{split}_accuracy"
            aa, ab = fa[name][()].astype(np.float64), b_rows(name).astype(np.float64)
            with np.errstate(invalid="ignore"):
                flips = np.rint(np.abs(aa - ab) * points[split])
            flips = np.where(np.isnan(aa) & np.isnan(ab), 0.0, np.where(np.isnan(flips), np.inf, flips))
            for n in nets:
                row = flips[n.row]
                n.max[f"{split}_flipped"] = float(row.max(initial=0))
                bad = np.flatnonzero(row > o.max_flipped)
                if len(bad):
                    f = int(bad[0])
                    n.mismatch(f"{split} accuracy: up to {row.max():g} of {points[split]} points flipped",
                               frame_epochs[f] - 0.5,
                               f"{name}[net {n.id}, {at_frame(f)}]: {aa[n.row, f]:.6g} vs {ab[n.row, f]:.6g} "
                               f"({row[f]:g} points flipped)", f)

        fra, frb = fa["frames"], fb["frames"]
        for n in nets:  # one network at a time: frames can be GBs
            x = fra[n.row].astype(np.float32)
            y = frb[int(order[n.row])].astype(np.float32)
            diff = abs_diff(x, y)
            per_frame = diff.reshape(len(diff), -1).max(axis=1, initial=0) if len(diff) else np.zeros(0)
            n.frame_series = np.maximum(n.frame_series, per_frame / o.frame_atol)
            k = int(np.argmax(per_frame)) if per_frame.size else 0
            n.max["frame"] = (float(per_frame.max(initial=0)), k)
            bad = np.flatnonzero(per_frame > o.frame_atol)
            if len(bad):
                f = int(bad[0])
                at = np.unravel_index(int(np.argmax(diff[f])), diff[f].shape)
                n.mismatch(f"frames beyond {o.frame_atol:g} at {len(bad)} of {len(per_frame)} frames",
                           frame_epochs[f] - 0.5,
                           f"frames[net {n.id}, {at_frame(f)}, row {at[0]}, col {at[1]}, output {at[2]}]: "
                           f"{x[f][at]:.5g} vs {y[f][at]:.5g} (max |d| in that frame {per_frame[f]:.3g})", f)

        for n in nets:
            triage(n, frame_epochs)
        meta = {"a": a_path, "b": b_path, "device_a": attr(fa, "device"), "device_b": attr(fb, "device"),
                "sweep_hash": ha, "epochs": int(la.shape[1]) if la.ndim == 2 else 0,
                "frame_epochs": frame_epochs.tolist(), "frame_shape": list(fra.shape[2:]), "points": points}
        return nets, meta


def triage(n, frame_epochs):
    """BUG / drift / JUMP for a failing network: see the module's doc."""
    if n.ok:
        return
    lo, fo = n.loss_onset, n.frame_onset
    if lo is None and fo is None:
        n.verdict, n.why = "JUMP", "status or epochs_trained differ while losses and frames agree"
        return
    if lo is not None and lo <= 1:
        n.verdict, n.why = "BUG", f"wrong from the start: the epoch loss is already off at epoch {lo}"
        return
    if fo is not None and frame_epochs[fo] == 0:
        n.verdict, n.why = "BUG", "wrong from the start: already off at frame epoch 0, before any training"
        return
    if lo is not None and (fo is None or lo <= frame_epochs[fo]):
        series, at, unit = n.loss_series, lo, "epoch"
        lead = series[max(0, at - max(5, at // 10)):at]  # the epochs just before the first mismatch
    else:  # the frame-time values went off first: the previous frames, and the epoch losses so far
        series, at, unit = n.frame_series, fo, "frame"
        lead = np.concatenate([series[max(0, at - 2):at], n.loss_series[:frame_epochs[at]]])
    before = float(lead.max(initial=0))
    if before > 0:
        n.verdict = "drift"
        n.why = (f"float rounding accumulated (chaotic trajectory): already apart ({before:.2g}x tolerance) "
                 f"just before crossing it at {unit} {at} ({series[at]:.3g}x)")
    else:
        n.verdict = "JUMP"
        n.why = (f"sudden: bit-identical just before {unit} {at}, then {series[at]:.3g}x tolerance; "
                 "not accumulated rounding, inspect it like a bug")


def report(nets, meta, o):
    print(f"A: {meta['a']}  ({meta['device_a']})")
    print(f"B: {meta['b']}  ({meta['device_b']})")
    print(f"sweep {meta['sweep_hash']}: {len(nets)} networks, {meta['epochs']} epochs, {len(meta['frame_epochs'])} "
          f"frames of {'x'.join(map(str, meta['frame_shape']))}, {meta['points']['train']} train and "
          f"{meta['points']['test']} test points")
    print(f"tolerances: losses |a-b| <= {o.loss_atol:g} + {o.loss_rtol:g}|a|, frames |a-b| <= {o.frame_atol:g}, "
          f"flipped points <= {o.max_flipped:g}, status and epochs_trained equal")
    rank = {"BUG": 0, "JUMP": 1, "drift": 2}
    bad = sorted((n for n in nets if not n.ok), key=lambda n: (rank[n.verdict], n.row))
    for n in bad[:o.show]:
        el = n.max["epoch_loss"]
        print(f"\nFAIL net {n.id} ({n.shape} {n.activation}): {'; '.join(n.reasons)}")
        print(f"  verdict: {n.verdict}: {n.why}")
        for _, line in sorted(n.first, key=lambda t: t[0])[:6]:
            print(f"  first: {line}")
        print(f"  max: epoch loss {el[1]:.3g}x tolerance (epoch {el[2]}: {el[3]:.9g} vs {el[4]:.9g}); snapshot "
              f"loss {max(n.max['train_loss'][1], n.max['test_loss'][1]):.3g}x; frame |d| {n.max['frame'][0]:.3g} "
              f"(frame {n.max['frame'][1]}); flipped {n.max['train_flipped']:g} train, {n.max['test_flipped']:g} test")
    if len(bad) > o.show:
        print(f"\n... and {len(bad) - o.show} more failing networks (--show N lists more)")
    if nets:
        el = max(nets, key=lambda n: n.max["epoch_loss"][1])
        sl = max(nets, key=lambda n: max(n.max["train_loss"][1], n.max["test_loss"][1]))
        fr = max(nets, key=lambda n: n.max["frame"][0])
        flipped = max(max(n.max["train_flipped"], n.max["test_flipped"]) for n in nets)
        print(f"\nmax over all networks: epoch loss {el.max['epoch_loss'][1]:.3g}x tolerance (net {el.id}); snapshot "
              f"loss {max(sl.max['train_loss'][1], sl.max['test_loss'][1]):.3g}x (net {sl.id}); frame |d| "
              f"{fr.max['frame'][0]:.3g} (net {fr.id}); flipped points {flipped:g}")
    counts = {v: sum(n.verdict == v for n in bad) for v in rank}
    if bad:
        print(f"RESULT: {len(bad)} of {len(nets)} networks beyond tolerance: {counts['BUG']} BUG (wrong from the "
              f"start), {counts['JUMP']} JUMP (sudden, inspect), {counts['drift']} drift (rounding accumulated)")
    else:
        print(f"RESULT: all {len(nets)} networks within tolerance")
    return counts


def finite(v):
    return v if not isinstance(v, float) or math.isfinite(v) else str(v)  # JSON has no inf/nan


def write_json(path, nets, meta, o, counts):
    out = dict(meta, tolerances={"loss_rtol": o.loss_rtol, "loss_atol": o.loss_atol, "frame_atol": o.frame_atol,
                                 "max_flipped": o.max_flipped},
               networks_total=len(nets), networks_failing=sum(not n.ok for n in nets), verdicts=counts, networks=[])
    for n in nets:
        out["networks"].append({k: finite(v) for k, v in {
            "id": n.id, "hidden_shape": n.shape, "activation": n.activation, "ok": n.ok, "verdict": n.verdict,
            "why": n.why, "reasons": n.reasons, "epoch_loss_first_mismatch": n.loss_onset,
            "frame_first_mismatch": n.frame_onset,
            "epoch_loss_max_abs": n.max["epoch_loss"][0], "epoch_loss_max_x_tolerance": n.max["epoch_loss"][1],
            "epoch_loss_max_at": n.max["epoch_loss"][2],
            "train_loss_max_abs": n.max["train_loss"][0], "test_loss_max_abs": n.max["test_loss"][0],
            "snapshot_loss_max_x_tolerance": max(n.max["train_loss"][1], n.max["test_loss"][1]),
            "frame_max_abs": n.max["frame"][0], "frame_max_at": n.max["frame"][1],
            "train_flipped_max": n.max["train_flipped"], "test_flipped_max": n.max["test_flipped"],
        }.items()})
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="reference results file (e.g. the CPU run)")
    p.add_argument("b", help="results file to judge (e.g. the GPU run)")
    p.add_argument("--exact", action="store_true", help="bit for bit, timing fields aside")
    p.add_argument("--loss-rtol", type=float, default=1e-4, help="relative tolerance of losses (default 1e-4)")
    p.add_argument("--loss-atol", type=float, default=1e-6, help="absolute tolerance of losses (default 1e-6)")
    p.add_argument("--frame-atol", type=float, default=2e-3, help="absolute tolerance of frame values (default 2e-3)")
    p.add_argument("--max-flipped", type=float, default=0, help="points whose prediction may flip (default 0)")
    p.add_argument("--show", type=int, default=10, help="failing networks listed in detail (default 10)")
    p.add_argument("--json", metavar="FILE", help="also write per-network maxima and verdicts as JSON")
    o = p.parse_args(argv)
    try:
        if o.exact:
            return exact(o.a, o.b)
        nets, meta = compare(o.a, o.b, o)
        counts = report(nets, meta, o)
        if o.json:
            write_json(o.json, nets, meta, o, counts)
        return 0 if all(n.ok for n in nets) else 1
    except Unusable as e:
        print(f"compare_results: unusable input: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
