"""One epoch of netsweep's training, full batch or minibatch, as its documentation states it (README
"Training semantics", docs/results-format.md `losses/epoch`), for tests/check_training_numpy.py.

The batch order is the published contract of include/netsweep/random.h (the counter-based streams),
reimplemented here in exact uint64 arithmetic (Python ints masked to 64 bits); nothing else of
netsweep's code was read. What the documentation leaves open was settled by experiment against the
binary (each marked "by experiment"; the check's minibatch sweeps exercise each of them):
  * a network's key is network_stream_key(networks/seed, stream id) (random.h). The stream id is
    shape_stream_id of its networks/hidden_shape where the stored spec's "streams" is "shape" (so
    networks of one shape and seed shuffle alike), and networks/id in files without it (earlier
    versions; ids restart at 0 in each part of a several-part sweep, are sweep-wide in a shard);
  * epoch e (0-based: the first epoch is epoch 0) visits the train samples in the order
    epoch_permutation(key, e, n), whose indices are rows of data/train_points / train_targets as
    stored in the file, also after a --test-fraction split (by experiment);
  * batches are consecutive runs of `batch` samples of that order; the last partial batch is used;
    a batch of the train set's size or more is one batch of all samples (by experiment);
  * each batch's loss is its sample mean before its update; the epoch loss is the sample-weighted
    mean of the epoch's batch losses (= their sum weighted by batch size, over n);
  * L1/L2 add to each batch's gradient (weights only) and are not in the reported loss;
  * the optimizer takes one step per batch (Adam's t counts steps, not epochs) (by experiment).
Full batch (`--batch 0`) is one step per epoch on all train samples in stored order.
"""
import functools
import json
import shutil
import subprocess
import sys

import h5py
import numpy as np

from training_replay import RULES, forward, gradients, loss_value

M64 = (1 << 64) - 1
DOMAIN_SHUFFLE = 2       # random.h kDomainShuffle

# minibatch sweeps for the check (`--threads 1`, with its common options; "@three.csv" is its CSV):
# batch 1, batches that leave a partial last one (40 = 5*7 + 5 = 32 + 8, 72 = 14*5 + 2 = 2*32 + 8,
# 40 = 6*6 + 4), 32 and one beyond the train set (64 > 40); two replicas (--seeds 2: seeds 0 and 1, ids
# interleaved); a test split (the shuffle runs over the stored train rows); two parts (--features twice:
# each part's ids start at 0). Few epochs and small learning rates keep float32 drift well inside the
# check's tolerances even over 120 single-sample steps (at lr 0.05 and 4 epochs, a momentum-0.9 batch-1
# network's neuron maps drifted to 1.1x their tolerance).
MB_SWEEPS = [
    ("mb_bce2", ["--dataset", "moons:n=50,noise=0.1", "--test-fraction", "0.2", "--shape", "3-2",
                 "--activations", "tanh,relu", "--optimizers", "adam,sgd,momentum", "--momentum", "0.9",
                 "--batch", "1,7,32", "--seeds", "2", "--lr", "0.02", "--epochs", "3",
                 "--snapshot-every", "2", "--grid", "5"]),
    ("mb_softmax", ["--csv", "@three.csv", "--loss", "softmax", "--test-fraction", "0.2",
                    "--layers", "1", "--widths", "5", "--activations", "sigmoid,gelu",
                    "--optimizers", "adam,momentum", "--momentum", "0.8", "--l2", "0,0.01",
                    "--batch", "5,32", "--lr", "0.02", "--epochs", "3", "--snapshot-every", "2", "--grid", "5"]),
    ("mb_mse", ["--dataset", "poly:n=40", "--features", "x1", "--features", "x1,sin(x1)", "--layers", "1",
                "--widths", "6", "--activations", "elu,leaky_relu", "--optimizers", "adam,sgd", "--l1", "0.001",
                "--batch", "6,32,64", "--lr", "0.005",
                "--epochs", "4", "--snapshot-every", "2", "--grid", "8"]),
]

# minibatch rules the check's --self-test breaks: (label, RULES change, the networks it can affect)
MINIBATCH = lambda c: 0 < c["batch"] < c["train"]   # (one batch of all: order does not matter)  # noqa: E731
PARTIAL = lambda c: 0 < c["batch"] < c["train"] and c["train"] % c["batch"] > 0   # noqa: E731
MB_MUTATIONS = [
    ("shuffle of epoch e+1 for epoch e (epochs counted from 1)", dict(shuffle_epoch_base=1), MINIBATCH),
    ("the same permutation every epoch", dict(shuffle="fixed"), MINIBATCH),
    ("no shuffle (stored order)", dict(shuffle="none"), MINIBATCH),
    ("the last partial batch dropped", dict(drop_last=True), PARTIAL),
    ("epoch loss an unweighted mean of batch losses", dict(epoch_loss="unweighted"), PARTIAL),
    ("network key from (seed, id), as in earlier versions", dict(stream_key="seed,id"), MINIBATCH),
]


def mix64(z):
    """SplitMix64's finalizer (random.h mix64)"""
    z = (z + 0x9e3779b97f4a7c15) & M64
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)


def network_stream_key(seed, network_id):
    return mix64(mix64(seed & M64) ^ mix64((network_id + 0x5851f42d4c957f2d) & M64))


def shape_stream_id(widths):
    """random.h shape_stream_id"""
    h = mix64(len(widths))
    for w in widths:
        h = mix64(h ^ (w & 0xFFFFFFFF))
    return h


def random_bits(key, domain, index):
    return mix64((mix64(key ^ ((domain * 0xd1342543de82ef95) & M64)) + index) & M64)


@functools.lru_cache(maxsize=None)
def epoch_permutation(key, epoch, n):
    """random.h epoch_permutation: Fisher-Yates driven by the stream (key, shuffle domain, epoch)"""
    perm = list(range(n))
    sub = random_bits(key, DOMAIN_SHUFFLE, epoch)
    base = mix64(sub ^ ((DOMAIN_SHUFFLE * 0xd1342543de82ef95) & M64))   # random_bits(sub, 2, i), hoisted
    for i in range(n - 1, 0, -1):
        j = ((mix64((base + i) & M64) >> 32) * (i + 1)) >> 32             # random_below(sub, 2, i, i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, dtype=np.int64)


def stream_key(seed, network_id, hidden_shape, streams):
    """the key of a network of `hidden_shape` ("3-2", "0" for none) under the spec's "streams" rule"""
    if RULES["stream_key"] == "seed,id" or streams == "id":
        return network_stream_key(int(seed), int(network_id))
    widths = [] if hidden_shape == "0" else [int(w) for w in hidden_shape.split("-")]
    return network_stream_key(int(seed), shape_stream_id(widths))


def batch_order(key, epoch, n, batch):
    """the sample order of 0-based epoch `epoch` and its batches (lists of indices)"""
    if batch <= 0:
        return [np.arange(n)]
    if RULES["shuffle"] == "none":
        order = np.arange(n)
    else:
        e = 0 if RULES["shuffle"] == "fixed" else epoch + RULES["shuffle_epoch_base"]
        order = epoch_permutation(key, e, n)
    batches = [order[s:s + batch] for s in range(0, n, batch)]
    if RULES["drop_last"] and len(batches) > 1 and len(batches[-1]) < batch:
        batches.pop()
    return batches


def train_epoch(layers, opt, X, Y, activation, loss, l1, l2, batch, key, epoch):
    """one epoch (0-based `epoch`) of training in place; returns the epoch loss"""
    losses, sizes = [], []
    for idx in batch_order(key, epoch, len(X), batch):
        xb, yb = X[idx], Y[idx]
        lval, grads = gradients(layers, xb, yb, activation, loss)
        for li in range(len(layers)):
            for k in ((0, 1) if RULES["penalise_biases"] else (0,)):
                W = layers[li][k]
                grads[li][k] = (grads[li][k] + (l1 * np.sign(W) if RULES["l1_grad"] else 0.0)
                                + RULES["l2_grad_factor"] * l2 * W)
        opt.step(layers, grads)
        if not RULES["loss_before_update"]:
            lval = loss_value(forward(layers, xb, activation, loss)[1], yb, loss)
        losses.append(lval)
        sizes.append(len(idx))
    if RULES["epoch_loss"] == "unweighted":
        return float(np.mean(losses))
    return float(np.dot(losses, sizes) / np.sum(sizes))


def rerun_as_earlier_version(exe, path, device):
    """`run --from` a copy of `path` whose spec has no "streams", as earlier versions wrote it (keys from
    network ids): the binary must follow the file's rule, as the replay does (the networks of one shape and
    seed would shuffle alike under the new rule). Returns the new file, or None where the run failed."""
    earlier = path[:-3] + "_earlier.h5"
    shutil.copy(path, earlier)
    with h5py.File(earlier, "r+") as f:
        spec = json.loads(f.attrs["spec"])
        del spec["streams"]
        f.attrs["spec"] = np.bytes_(json.dumps(spec))
    out = path[:-3] + "_id_rule.h5"
    cmd = [exe, "run", "--from", earlier] + device + ["--threads", "1", "-q", "--frame-dtype", "f32", "-o", out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"ERROR: {' '.join(cmd)}\nexit {r.returncode}\n{r.stdout}{r.stderr}", file=sys.stderr)
        return None
    return out
