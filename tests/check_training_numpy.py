#!/usr/bin/env python3
"""Independent float64 NumPy replay of netsweep's training, full batch and minibatch.

Usage: check_training_numpy.py NETSWEEP [--self-test] [--device cpu|cuda] [--gpu-path auto|fused|gemm]
(the GPU session's `cudatest` phase runs it with --device cuda, on each path)

Runs a few tiny sweeps (full batch and minibatch) with NETSWEEP in a temporary directory, then, for
every network of every results file, replays training from `weights/initial` in float64 following
only the documentation (README "netsweep run" / "Training semantics", docs/results-format.md) and
Keras's documented formulas, and compares:

  losses/epoch, weights/final, weights/snapshots, snapshots/{train,test}_{loss,accuracy},
  networks/final_* (and status/epochs_trained), frames (stored as f32) and neurons/maps,
  plus per file: frame_epochs (0, every k, the last), grid orientation, and data/*_targets
  against the labels by the documented target rules.

Sweeps (all `--threads 1`, <= 15 epochs, 396 networks in 9 files; the first four `--batch 0`):
  bce2    moons, 2 sigmoid outputs, shapes 3-2 and 2x4, sigmoid/tanh/relu/linear,
          adam/sgd/momentum (0.5, 0.9)
  bce1    circle, --outputs 1, two --features sets (x1,x2 and x1,x2,x1^2,x1*x2,sin(x1): two parts),
          shapes 4 and 3-3, leaky_relu/elu/gelu/sine, adam/sgd, l1 {0,.01} x l2 {0,.02}; the second
          part drives some outputs into the BCE clip
  softmax 3-class CSV, softmax loss, 1x5 and 2x5, relu/gelu/tanh/sigmoid, adam/momentum 0.8,
          l2 {0,.01}, 2 seeds
  mse     poly (1-D regression), 1x6 and 2x6, all 8 activations, adam/sgd/momentum, l1 {0,.001}
  mb_*    minibatch, 3-4 epochs (tests/replay_minibatch.py): moons BCE 2 outputs tanh/relu adam/sgd/momentum
          batch {1,7,32} 2 seeds; 3-class softmax sigmoid/gelu l2 batch {5,32}; poly MSE elu/leaky_relu
          l1 batch {6,32,64}, two parts: last batches partial, two with a --test-fraction split

Rules replayed (tests/training_replay.py, written from the docs / Keras, not from netsweep's code):
  * full batch: one step per epoch; the epoch loss is the data loss on the whole train set before
    that epoch's update (sample mean); L1/L2 are not in the reported loss.
  * minibatch: epoch e (from 0) visits the stored train rows in the order of random.h's
    epoch_permutation(network_stream_key(seed, shape_stream_id(hidden shape)), e, n) (by id in files
    of earlier versions), in consecutive batches, the last partial one
    used; a step per batch; the epoch loss is the sample-weighted mean of the batch losses, each
    before its batch's update.
  * loss (Keras `*_crossentropy` / `mean_squared_error`, mean over the batch):
      bce     sigmoid outputs, p clipped to [1e-7, 1-1e-7], -(y log p + (1-y) log(1-p)) averaged
              over the outputs (Keras/PyTorch mean) and samples; gradient through the clip (0 where
              clipped, as tf.clip_by_value).
              Float32 precision model (the only float32 step of the replay): the sigmoid output is
              computed as a float32 program would, 1/(1+exp(-z)) in float32, and the clip bounds are
              the float32 values of 1e-7 and 1-1e-7 (= 1-2**-23, as Keras in float32). Near
              saturation 1-p is quantised to multiples of 2**-23; that, not the float64 value, sets
              the loss of such samples (capped at -ln(2**-23) = 15.94, not -ln(1e-7) = 16.12) and
              whether the clip zeroes their gradient (only where p rounds to 1, z > ~16.6).
      softmax softmax outputs, p clipped to [1e-7, 1-1e-7], -sum_k y_k log p_k, mean over samples.
      mse     identity outputs, mean over outputs and samples of (p - y)^2.
  * penalties (Keras regularizers on kernels only): + l1*sum|W| + l2*sum W^2, so the gradient adds
    l1*sign(W) + 2*l2*W; biases are not penalised.
  * optimizers (Keras):
      sgd      w -= lr*g
      momentum v = mu*v - lr*g ; w += v          (v starts at 0, no Nesterov)
      adam     m += (g-m)(1-b1); v += (g^2-v)(1-b2); t = step (1-based);
               alpha = lr*sqrt(1-b2^t)/(1-b1^t); w -= alpha*m/(sqrt(v)+eps); b1 .9, b2 .999, eps 1e-7
  * activations: sigmoid, tanh, relu (derivative 0 at 0), linear, leaky_relu (slope 0.01),
    elu (alpha 1), gelu (exact: x*Phi(x)), sine.
  * accuracy: 1 output: p > 0.5 is class 1; 2 outputs for 2 classes: p0 > p1 is class 1; else argmax.

Tolerances: losses rtol 1e-4 + 1e-6; parameters 1e-4*(1+|w|); frames/maps rtol 1e-4 + 1e-5;
accuracies exact up to samples whose replayed prediction is a near-tie (margin < 1e-5).

--self-test additionally re-checks the same files with one documented rule of the replay broken at
a time (leaky slope, elu alpha, gelu form, Adam's eps placement / bias correction, L1/L2 gradient,
penalised biases, BCE sum vs mean, loss after the update, Nesterov, a wrong feature; minibatch: the
shuffle of the next epoch, one permutation for all epochs, no shuffle, the partial batch dropped, an
unweighted epoch loss, the key from (id, seed)), each on the networks it can affect, and fails if
any of them goes unnoticed: evidence that the comparison is sharp enough to see such deviations.

Exit status 0 when everything matches within tolerance, 1 on any mismatch, 2 on a setup error.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from training_replay import (RULES, Optimizer, accuracy, features, forward,  # noqa: E402
                             loss_value, pack, unpack)
from replay_minibatch import (MB_MUTATIONS, MB_SWEEPS, rerun_as_earlier_version, stream_key,  # noqa: E402
                              train_epoch)

# tolerances: netsweep trains in float32, the replay in float64
LOSS_RTOL, LOSS_ATOL = 1e-4, 1e-6
W_TOL = 1e-4          # |stored - replayed| <= W_TOL * (1 + |replayed|)
OUT_RTOL, OUT_ATOL = 1e-4, 1e-5   # frames / neuron maps (f32)

# (label, RULES change, the networks it can affect: a predicate on check_file's `net`, None = all)
MUTATIONS = [
    ("leaky_relu slope 0.2 (Keras 3 default)", dict(leaky_slope=0.2), lambda c: c["activation"] == "leaky_relu"),
    ("elu alpha 0.5", dict(elu_alpha=0.5), lambda c: c["activation"] == "elu"),
    ("gelu tanh approximation", dict(gelu="tanh"), lambda c: c["activation"] == "gelu"),
    ("adam with eps added to sqrt(v_hat) (PyTorch form)", dict(adam="torch"), lambda c: c["optimizer"] == "adam"),
    ("adam without bias correction", dict(adam="nobias"), lambda c: c["optimizer"] == "adam"),
    ("L2 gradient l2*W (no factor 2)", dict(l2_grad_factor=1.0), lambda c: c["l2"] > 0),
    ("no L1 gradient", dict(l1_grad=False), lambda c: c["l1"] > 0),
    ("penalties on biases too", dict(penalise_biases=True), lambda c: c["l1"] > 0 or c["l2"] > 0),
    ("BCE summed over outputs", dict(bce_over_outputs="sum"), lambda c: c["loss"] == "bce" and c["outputs"] > 1),
    ("epoch (batch) loss after the update", dict(loss_before_update=False), None),
    ("Nesterov momentum", dict(momentum="nesterov"), lambda c: c["optimizer"] == "momentum"),
    ("sin feature as cos", dict(features_sin=False), lambda c: any(x.startswith("sin") for x in c["features"])),
] + MB_MUTATIONS

COMMON = ["--threads", "1", "-q", "--frame-dtype", "f32",
          "--neuron-maps", "all", "--record-weights", "all", "--neuron-grid", "5"]

SWEEPS = [
    # 2 sigmoid outputs (the default for two classes), BCE; shapes from --shape and --layers x --widths
    ("bce2", ["--batch", "0", "--dataset", "moons:n=120,noise=0.1", "--test-fraction", "0.25",
              "--shape", "3-2", "--layers", "2", "--widths", "4",
              "--activations", "sigmoid,tanh,relu,linear",
              "--optimizers", "adam,sgd,momentum", "--momentum", "0.5,0.9",
              "--lr", "0.05", "--epochs", "12", "--snapshot-every", "4", "--grid", "6"]),
    # 1 sigmoid output, BCE, two feature sets (two parts), L1 x L2 penalties. Seed 1: at seed 0 one
    # neuron-map value of the 4-unit leaky_relu Adam network drifted to 1.9x the float32 tolerance by
    # epoch 9 (Adam's steps on gradients near zero amplify float32's rounding)
    ("bce1", ["--batch", "0", "--dataset", "circle:n=120,noise=0.1", "--test-fraction", "0.3", "--outputs", "1",
              "--features", "x1,x2", "--features", "x1,x2,x1^2,x1*x2,sin(x1)",
              "--shape", "4", "--shape", "3-3",
              "--activations", "leaky_relu,elu,gelu,sine", "--optimizers", "adam,sgd",
              "--l1", "0,0.01", "--l2", "0,0.02", "--lr", "0.03", "--epochs", "10", "--seed", "1",
              "--snapshot-every", "3", "--grid", "5"]),
    # 3 classes, softmax (categorical cross-entropy), from a CSV written below
    ("softmax", ["--batch", "0", "--csv", "@three.csv", "--loss", "softmax", "--test-fraction", "0.2",
                 "--layers", "1,2", "--widths", "5",
                 "--activations", "relu,gelu,tanh,sigmoid", "--optimizers", "adam,momentum",
                 "--momentum", "0.8", "--l2", "0,0.01", "--lr", "0.02", "--epochs", "15",
                 "--snapshot-every", "5", "--grid", "5", "--seeds", "2"]),
    # 1-D regression, MSE, one linear output; all activations, all optimizers, L1
    ("mse", ["--batch", "0", "--dataset", "poly:n=80", "--test-fraction", "0.2",
             "--layers", "1,2", "--widths", "6",
             "--activations", "sigmoid,tanh,relu,linear,leaky_relu,elu,gelu,sine",
             "--optimizers", "adam,sgd,momentum", "--momentum", "0.9",
             "--l1", "0,0.001", "--lr", "0.005", "--epochs", "15",
             "--snapshot-every", "5", "--grid", "12"]),
] + MB_SWEEPS


def write_three_csv(path):
    rng = np.random.default_rng(12345)
    centres = np.array([[-1.0, -0.5], [1.0, -0.5], [0.0, 1.0]])
    rows = []
    for k, c in enumerate(centres):
        pts = c + 0.45 * rng.standard_normal((30, 2))
        rows += [(x, y, k) for x, y in pts]
    rng.shuffle(rows)
    with open(path, "w") as fh:
        fh.write("x1,x2,label\n")
        for x, y, k in rows:
            fh.write(f"{x:.6f},{y:.6f},{k}\n")


# ---------------------------------------------------------------- comparison

class Report:
    def __init__(self, quiet=False):
        self.quiet = quiet
        self.failed_nets = set()
        self.mismatches = 0
        self.values = 0
        self.networks = 0
        self.lines = []
        self.worst = {}    # what -> (largest |diff|/tol, largest |diff|)

    def compare(self, where, what, stored, replayed, rtol, atol, index_names=None, slack=None):
        stored = np.asarray(stored, dtype=np.float64).ravel()
        replayed = np.asarray(replayed, dtype=np.float64).ravel()
        self.values += stored.size
        if stored.shape != replayed.shape:
            self.fail(where, what, f"shape {stored.shape} vs replayed {replayed.shape}")
            return
        tol = atol + rtol * np.abs(replayed)
        if slack is not None:
            tol = tol + np.asarray(slack, dtype=np.float64).ravel()
        both_nan = np.isnan(stored) & np.isnan(replayed)
        bad = ~both_nan & ~(np.abs(stored - replayed) <= tol)
        err = np.where(both_nan, 0.0, np.abs(stored - replayed))
        if err.size:
            r0, e0 = self.worst.get(what, (0.0, 0.0))
            self.worst[what] = (max(r0, float(np.max(err / np.maximum(tol, 1e-300)))), max(e0, float(np.max(err))))
        if bad.any():
            i = int(np.argmax(bad))
            label = index_names(i) if index_names else f"index {i}"
            self.fail(where, what,
                      f"{int(bad.sum())}/{stored.size} values off; first at {label}: stored "
                      f"{stored[i]:.9g} vs replayed {replayed[i]:.9g} (|diff| {err[i]:.3g}, "
                      f"tol {tol[i]:.3g}); max |diff| {np.nanmax(err):.3g}")

    def fail(self, where, what, msg):
        self.mismatches += 1
        self.failed_nets.add(where)
        self.lines.append(f"MISMATCH {where} [{what}]: {msg}")
        if not self.quiet:
            print(self.lines[-1], flush=True)


def check_file(path, rep, only=None):
    f = h5py.File(path, "r")
    assert f.attrs["format"] in (b"netsweep-results", "netsweep-results"), path
    loss = f.attrs["loss"]
    loss = loss.decode() if isinstance(loss, bytes) else str(loss)
    E = int(f.attrs["epochs"])
    feat = list(f["data/features"].asstr()[:])
    kind = f["data"].attrs["kind"]
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    n_classes = int(f["data"].attrs["classes"])
    O = int(f["data"].attrs["outputs"])
    Xtr = features(f["data/train_points"][:], feat)
    Xte = features(f["data/test_points"][:], feat)
    Ytr = f["data/train_targets"][:].astype(np.float64)
    Yte = f["data/test_targets"][:].astype(np.float64)
    Ltr = f["data/train_labels"][:]
    Lte = f["data/test_labels"][:]
    regression = kind == "regression-1d"
    frame_epochs = f["frame_epochs"][:]
    gx, gy = f["grid/x"][:].astype(np.float64), f["grid/y"][:].astype(np.float64)
    name = os.path.basename(path)
    # file-level documented facts: frame schedule, grid orientation, targets from labels
    spec = json.loads(f.attrs["spec"])
    k = int(spec["snapshot_every"])
    want = sorted({0, E} | (set(range(k, E + 1, k)) if k > 0 else set()))
    rep.compare(name, "frame_epochs", frame_epochs, want, 0, 0, lambda i: f"frame {i}")
    rep.compare(name, "snapshots/epoch", f["snapshots/epoch"][:], want, 0, 0, lambda i: f"frame {i}")
    if len(gx) > 1 and not np.all(np.diff(gx) > 0):
        rep.fail(name, "grid/x", "not ascending")
    if len(gy) > 1 and not np.all(np.diff(gy) < 0):
        rep.fail(name, "grid/y", "not descending (row 0 should be the top of the plane)")
    for split in ("train", "test"):
        lab = f[f"data/{split}_labels"][:]
        if kind == "regression-1d":
            want_t = f[f"data/{split}_values"][:].astype(np.float64)[:, None]
        elif O == 1:
            want_t = lab[:, None].astype(np.float64)
        elif O == 2 and n_classes == 2:
            want_t = np.stack([lab, 1 - lab], axis=1).astype(np.float64)
        else:
            want_t = np.eye(O)[lab]
        rep.compare(name, f"data/{split}_targets", f[f"data/{split}_targets"][:], want_t, 0, 0,
                    lambda i, O=O: f"point {i // O} output {i % O}")
    GX, GY = np.meshgrid(gx, gy)              # row 0 = first y (top), column 0 = first x
    grid_pts = np.stack([GX.ravel(), GY.ravel()], axis=1)
    Xgrid = features(grid_pts, feat)
    frames = f["frames"]
    H, Wd = len(gy), len(gx)
    if frames.dtype != np.float32:
        print(f"note: {path}: frames are {frames.dtype}, frame comparison loosened")
    ngx, ngy = f["neurons/grid_x"][:].astype(np.float64), f["neurons/grid_y"][:].astype(np.float64)
    NX, NY = np.meshgrid(ngx, ngy)
    Xneu = features(np.stack([NX.ravel(), NY.ravel()], axis=1), feat)
    n_off = f["neurons/offsets"][:]
    maps = f["neurons/maps"]
    off = f["weights/offsets"][:]
    so = f["weights/snapshot_offsets"][:]
    w_init, w_final, w_snap = f["weights/initial"][:], f["weights/final"][:], f["weights/snapshots"][:]
    nets = f["networks"]
    shapes = nets["hidden_shape"].asstr()[:]
    acts = nets["activation"].asstr()[:]
    opts = nets["optimizer"].asstr()[:]
    lrs, l1s, l2s, mus = nets["lr"][:], nets["l1"][:], nets["l2"][:], nets["momentum"][:]
    status = nets["status"].asstr()[:]
    ep_trained = nets["epochs_trained"][:]
    nets = {k: nets[k][:] for k in ("id", "seed", "batch", "parameters") + tuple(
        "final_" + c for c in ("epoch_loss", "train_loss", "test_loss", "train_accuracy", "test_accuracy"))}
    losses = f["losses/epoch"][:]
    s_trl, s_tel = f["snapshots/train_loss"][:], f["snapshots/test_loss"][:]
    s_tra, s_tea = f["snapshots/train_accuracy"][:], f["snapshots/test_accuracy"][:]

    for n in range(len(shapes)):
        hidden = [int(w) for w in shapes[n].split("-")]
        dims = [len(feat)] + hidden + [O]
        lr, l1, l2 = float(lrs[n]), float(l1s[n]), float(l2s[n])
        mu = float(mus[n]) if opts[n] == "momentum" else 0.0
        batch = int(nets["batch"][n])
        where = (f"{name} net {n} (id {nets['id'][n]}, seed {nets['seed'][n]}, shape {shapes[n]}, "
                 f"{acts[n]}, {opts[n]}" + (f" m={mu:g}" if opts[n] == "momentum" else "")
                 + f", lr {lr:g}, batch {batch}, l1 {l1:g}, l2 {l2:g}, {loss}/{O} out, "
                 f"features {','.join(feat)})")
        net = dict(activation=acts[n], optimizer=opts[n], l1=l1, l2=l2, batch=batch, train=len(Xtr),
                   loss=loss, outputs=O, features=feat, seed=int(nets["seed"][n]), id=int(nets["id"][n]))
        if only is not None and not only(net):
            continue      # (self-test) a network the broken rule cannot affect
        rep.networks += 1
        if status[n] != "trained" or ep_trained[n] != E:
            rep.fail(where, "status", f"status {status[n]}, epochs_trained {ep_trained[n]} (expected trained, {E})")
            continue
        P = int(nets["parameters"][n])
        layers = unpack(w_init[off[n]:off[n] + P], dims)
        if np.any(w_init[off[n] + P:off[n + 1]] != 0) or np.any(w_final[off[n] + P:off[n + 1]] != 0):
            rep.fail(where, "padding", "padding between networks not zero")
        opt = Optimizer(opts[n], lr, mu, layers)

        ep_loss = np.zeros(E)
        snaps = {}    # epoch -> (params, trl, tra, tra_ties, tel, tea, tea_ties, frame outputs, neuron maps)

        def snapshot(e):
            _, ptr = forward(layers, Xtr, acts[n], loss)
            cache_te, pte = forward(layers, Xte, acts[n], loss)
            trl = loss_value(ptr, Ytr, loss)
            tel = loss_value(pte, Yte, loss) if len(Xte) else float("nan")
            if regression:
                tra = tea = (float("nan"), 0)
            else:
                tra = accuracy(ptr, Ltr, n_classes)
                tea = accuracy(pte, Lte, n_classes)
            _, pg = forward(layers, Xgrid, acts[n], loss)
            cache_n, _ = forward(layers, Xneu, acts[n], loss)
            hid = np.concatenate([cache_n[li + 1][1].T for li in range(len(hidden))], axis=0)
            snaps[e] = (pack(layers), trl, tra, tel, tea, pg.reshape(H, Wd, O),
                        hid.reshape(-1, len(ngy), len(ngx)))

        if 0 in frame_epochs:
            snapshot(0)
        key = stream_key(nets["seed"][n], nets["id"][n], shapes[n], spec.get("streams", "id"))
        for e in range(E):
            ep_loss[e] = train_epoch(layers, opt, Xtr, Ytr, acts[n], loss, l1, l2, batch, key, e)
            if (e + 1) in frame_epochs:
                snapshot(e + 1)

        rep.compare(where, "losses/epoch", losses[n], ep_loss, LOSS_RTOL, LOSS_ATOL,
                    lambda i: f"epoch {i + 1}")
        final = pack(layers)
        stored_final = w_final[off[n]:off[n] + P]
        rep.compare(where, "weights/final", stored_final, final, W_TOL, W_TOL,
                    lambda i: f"parameter {i}")
        fe = list(frame_epochs)
        names = lambda i: f"frame {i} (epoch {fe[i]})"
        rep.compare(where, "snapshots/train_loss", s_trl[n], [snaps[e][1] for e in fe],
                    LOSS_RTOL, LOSS_ATOL, names)
        rep.compare(where, "snapshots/test_loss", s_tel[n], [snaps[e][3] for e in fe],
                    LOSS_RTOL, LOSS_ATOL, names)
        ntr, nte = max(len(Xtr), 1), max(len(Xte), 1)
        rep.compare(where, "snapshots/train_accuracy", s_tra[n], [snaps[e][2][0] for e in fe],
                    0, 1e-6, names, slack=[snaps[e][2][1] / ntr for e in fe])
        rep.compare(where, "snapshots/test_accuracy", s_tea[n], [snaps[e][4][0] for e in fe],
                    0, 1e-6, names, slack=[snaps[e][4][1] / nte for e in fe])
        # the networks table
        last = snaps[E] if E in snaps else None
        if last is not None:
            rep.compare(where, "networks/final_epoch_loss", [nets["final_epoch_loss"][n]], [ep_loss[-1]],
                        LOSS_RTOL, LOSS_ATOL)
            rep.compare(where, "networks/final_train_loss", [nets["final_train_loss"][n]], [last[1]],
                        LOSS_RTOL, LOSS_ATOL)
            rep.compare(where, "networks/final_test_loss", [nets["final_test_loss"][n]], [last[3]],
                        LOSS_RTOL, LOSS_ATOL)
            rep.compare(where, "networks/final_train_accuracy", [nets["final_train_accuracy"][n]],
                        [last[2][0]], 0, 1e-6, slack=[last[2][1] / ntr])
            rep.compare(where, "networks/final_test_accuracy", [nets["final_test_accuracy"][n]],
                        [last[4][0]], 0, 1e-6, slack=[last[4][1] / nte])
        # recorded parameters at every frame
        if so[n + 1] - so[n] == len(fe) * P:
            stored = w_snap[so[n]:so[n + 1]].reshape(len(fe), P)
            rep.compare(where, "weights/snapshots", stored, np.stack([snaps[e][0] for e in fe]),
                        W_TOL, W_TOL, lambda i: f"frame {i // P} (epoch {fe[i // P]}) parameter {i % P}")
        else:
            rep.fail(where, "weights/snapshots", f"not recorded ({so[n + 1] - so[n]} values)")
        # frames: output activations on the grid
        fr = frames[n].astype(np.float64)
        ftol = OUT_RTOL if frames.dtype == np.float32 else 2e-3
        rep.compare(where, "frames", fr, np.stack([snaps[e][5] for e in fe]), ftol, OUT_ATOL,
                    lambda i: f"frame {i // (H * Wd * O)} (epoch {fe[i // (H * Wd * O)]}) "
                              f"row {(i // (Wd * O)) % H} col {(i // O) % Wd} output {i % O}")
        # hidden units over the neuron grid
        if n_off[n + 1] > n_off[n]:
            stored = maps[n_off[n]:n_off[n + 1]].astype(np.float64)       # (units, F, h, w)
            rep.compare(where, "neurons/maps", stored,
                        np.stack([snaps[e][6] for e in fe], axis=1), ftol, OUT_ATOL,
                        lambda i: f"unit row {i // stored[0].size}, frame {(i // stored[0, 0].size) % len(fe)}")
        else:
            rep.fail(where, "neurons/maps", "not recorded")
    f.close()


def main():
    parser = argparse.ArgumentParser(description="netsweep's training against a NumPy replay")
    parser.add_argument("netsweep")
    parser.add_argument("--self-test", action="store_true", help="also break each replay rule and expect a mismatch")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--gpu-path", default="auto", choices=["auto", "fused", "gemm"])
    args = parser.parse_args()
    device = ["--device", args.device] + (["--gpu-path", args.gpu_path] if args.device == "cuda" else [])
    with tempfile.TemporaryDirectory() as work:
        return check_all(os.path.abspath(args.netsweep), work, device, args.self_test)


def check_all(exe, work, device, self_test):
    t0 = time.time()
    write_three_csv(os.path.join(work, "three.csv"))

    files = []
    for tag, sweep in SWEEPS:
        sweep = [os.path.join(work, a[1:]) if a.startswith("@") else a for a in sweep]
        out = os.path.join(work, f"{tag}.h5")
        cmd = [exe, "run"] + device + COMMON + sweep + ["-o", out]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"ERROR: {' '.join(cmd)}\nexit {r.returncode}\n{r.stdout}{r.stderr}", file=sys.stderr)
            return 2
        got = sorted(glob.glob(out)) + sorted(glob.glob(os.path.join(work, f"{tag}.part-*.h5")))
        if not got:
            print(f"ERROR: {tag}: no results file written", file=sys.stderr)
            return 2
        files += got
    earlier = rerun_as_earlier_version(exe, os.path.join(work, "mb_bce2.h5"), device)
    if earlier is None:
        return 2
    files.append(earlier)
    t_run = time.time() - t0

    rep = Report()
    for path in files:
        check_file(path, rep)
    status = 1 if rep.mismatches else 0

    if self_test:
        # break one documented rule of the replay at a time: each must make the check fail
        saved = dict(RULES)
        for label, change, only in MUTATIONS:
            RULES.update(change)
            mrep = Report(quiet=True)
            for path in files:
                check_file(path, mrep, only)
            RULES.clear()
            RULES.update(saved)
            kinds = sorted({ln.split("[", 1)[1].split("]", 1)[0] for ln in mrep.lines})
            print(f"self-test: replay with {label}: {len(mrep.failed_nets)}/{mrep.networks} networks "
                  f"mismatch ({', '.join(kinds[:4])}{', ...' if len(kinds) > 4 else ''})"
                  + ("" if mrep.mismatches else "  <-- NOT DETECTED"))
            if not mrep.mismatches:
                status = 1

    print(f"checked {rep.networks} networks in {len(files)} files ({' '.join(device)}), {rep.values} values "
          f"(netsweep {t_run:.1f} s, total {time.time() - t0:.1f} s): "
          + ("all match" if rep.mismatches == 0 else
             f"{rep.mismatches} MISMATCHES in {len(rep.failed_nets)} networks"))
    worst = sorted(rep.worst.items(), key=lambda kv: -kv[1][0])
    print("largest |diff|/tol (|diff|): " + ", ".join(f"{w} {r:.2g} ({e:.2g})" for w, (r, e) in worst[:8]))
    return status


if __name__ == "__main__":
    sys.exit(main())
