"""The training rules of netsweep as its documentation states them (README
"Training semantics", docs/results-format.md) and Keras's documented formulas,
in NumPy float64, for tests/check_training_numpy.py: written from the docs, not
from netsweep's code. RULES holds the documented choices; the check's
--self-test changes one at a time and expects the comparison to notice."""
import math

import numpy as np

# the clip bounds as float32 values (netsweep and Keras compute in float32): 1 - 1e-7 rounds to
# 1 - 2**-23 = 0.99999988
EPS_LO = float(np.float32(1e-7))
EPS_HI = float(np.float32(1 - 1e-7))
B1, B2, ADAM_EPS = 0.9, 0.999, 1e-7

# The documented rules. --self-test breaks one at a time and expects the check to notice.
RULES = dict(leaky_slope=0.01, elu_alpha=1.0, gelu="erf", adam="keras", l2_grad_factor=2.0,
             l1_grad=True, penalise_biases=False, bce_over_outputs="mean", loss_before_update=True,
             momentum="keras", features_sin=True,
             # minibatch rules (tests/replay_minibatch.py)
             stream_key="spec", shuffle="per-epoch", shuffle_epoch_base=0, drop_last=False,
             epoch_loss="weighted")
_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x):
    return _erf(x).astype(np.float64)


def act(name, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "linear":
        return z.copy()
    if name == "leaky_relu":
        return np.where(z > 0, z, RULES['leaky_slope'] * z)
    if name == "elu":
        return np.where(z > 0, z, RULES['elu_alpha'] * np.expm1(np.minimum(z, 0.0)))
    if name == "gelu":
        if RULES["gelu"] == "tanh":
            return 0.5 * z * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))
        return 0.5 * z * (1.0 + erf(z / math.sqrt(2.0)))
    if name == "sine":
        return np.sin(z)
    raise ValueError(f"unknown activation {name}")


def act_grad(name, z, a):
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return (z > 0).astype(np.float64)
    if name == "linear":
        return np.ones_like(z)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, RULES['leaky_slope'])
    if name == "elu":
        return np.where(z > 0, 1.0, RULES['elu_alpha'] * np.exp(np.minimum(z, 0.0)))
    if name == "gelu":
        if RULES["gelu"] == "tanh":
            u = math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)
            t = np.tanh(u)
            return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * z * z)
        cdf = 0.5 * (1.0 + erf(z / math.sqrt(2.0)))
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return cdf + z * pdf
    if name == "sine":
        return np.cos(z)
    raise ValueError(f"unknown activation {name}")


def features(points, names):
    x1 = points[:, 0].astype(np.float64)
    x2 = points[:, 1].astype(np.float64) if points.shape[1] > 1 else np.zeros_like(x1)
    table = {"x1": x1, "x2": x2, "x1^2": x1 * x1, "x2^2": x2 * x2, "x1*x2": x1 * x2,
             "sin(x1)": np.sin(x1), "sin(x2)": np.sin(x2)}
    if not RULES["features_sin"]:
        table["sin(x1)"], table["sin(x2)"] = np.cos(x1), np.cos(x2)
    return np.stack([table[n] for n in names], axis=1)


def unpack(params, dims):
    layers, pos = [], 0
    for fi, fo in zip(dims[:-1], dims[1:]):
        W = params[pos:pos + fi * fo].reshape(fo, fi).astype(np.float64).copy()
        pos += fi * fo
        b = params[pos:pos + fo].astype(np.float64).copy()
        pos += fo
        layers.append([W, b])
    if pos != len(params):
        raise ValueError(f"packed size {len(params)} != {pos} for dims {dims}")
    return layers


def pack(layers):
    return np.concatenate([np.concatenate([W.ravel(), b]) for W, b in layers])


def forward(layers, X, activation, loss):
    """returns (list of (z, a) per layer incl. input as a, output probabilities)"""
    a = X
    cache = [(None, X)]
    for li, (W, b) in enumerate(layers):
        z = a @ W.T + b
        if li < len(layers) - 1:
            a = act(activation, z)
        elif loss == "bce":
            a = sigmoid_f32(z)
        elif loss == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        else:
            a = z.copy()
        cache.append((z, a))
    return cache, a


def sigmoid_f32(z):
    """The output probability as a float32 program computes it, 1/(1 + exp(-z)) in float32, kept as
    float64. Near saturation this quantises 1 - p to multiples of 2**-23 (p = 1 exactly for z > ~16.6),
    which decides both the BCE loss of such samples and whether the clip at 1 - 1e-7 (float32:
    1 - 2**-23) zeroes their gradient; a float64 sigmoid puts that edge elsewhere (z = 16.12)."""
    z32 = z.astype(np.float32)
    with np.errstate(over="ignore"):
        return (np.float32(1) / (np.float32(1) + np.exp(-z32))).astype(np.float64)


def clip_probabilities(p):
    """p within [EPS_LO, EPS_HI], as the backends clip probabilities before their logarithms"""
    return np.minimum(np.maximum(p, EPS_LO), EPS_HI)


def loss_value(p, Y, loss):
    if loss == "bce":
        pc = clip_probabilities(p)
        per = -(Y * np.log(pc) + (1 - Y) * np.log(1 - pc))
        return (per.mean(axis=1) if RULES['bce_over_outputs'] == 'mean' else per.sum(axis=1)).mean()
    if loss == "softmax":
        pc = clip_probabilities(p)
        return (-(Y * np.log(pc)).sum(axis=1)).mean()
    return ((p - Y) ** 2).mean(axis=1).mean()


def loss_grad_z(p, Y, loss):
    """d(mean loss)/d(output pre-activation)"""
    n, O = p.shape
    if loss == "bce":
        pc = clip_probabilities(p)
        mask = ((p >= EPS_LO) & (p <= EPS_HI)).astype(np.float64)
        dp = (-(Y / pc) + (1 - Y) / (1 - pc)) * mask / (n * (O if RULES["bce_over_outputs"] == "mean" else 1))
        return dp * p * (1 - p)
    if loss == "softmax":
        pc = clip_probabilities(p)
        mask = ((p >= EPS_LO) & (p <= EPS_HI)).astype(np.float64)
        dp = -(Y / pc) * mask / n
        return p * (dp - (dp * p).sum(axis=1, keepdims=True))
    return 2.0 * (p - Y) / (n * O)


def accuracy(p, labels, n_classes):
    """(accuracy, number of samples whose prediction is a near-tie)"""
    if p.shape[0] == 0:
        return float("nan"), 0
    if p.shape[1] == 1:
        pred = (p[:, 0] > 0.5).astype(int)
        margin = np.abs(p[:, 0] - 0.5)
    elif p.shape[1] == 2 and n_classes == 2:
        pred = (p[:, 0] > p[:, 1]).astype(int)
        margin = np.abs(p[:, 0] - p[:, 1])
    else:
        pred = p.argmax(axis=1)
        s = np.sort(p, axis=1)
        margin = s[:, -1] - s[:, -2]
    return float((pred == labels).mean()), int((margin < 1e-5).sum())


def gradients(layers, X, Y, activation, loss):
    cache, p = forward(layers, X, activation, loss)
    delta = loss_grad_z(p, Y, loss)
    grads = [None] * len(layers)
    for li in range(len(layers) - 1, -1, -1):
        a_prev = cache[li][1]
        gW = delta.T @ a_prev
        gb = delta.sum(axis=0)
        grads[li] = [gW, gb]
        if li > 0:
            z_prev, a_prev_act = cache[li]
            delta = (delta @ layers[li][0]) * act_grad(activation, z_prev, a_prev_act)
    return loss_value(p, Y, loss), grads


class Optimizer:
    def __init__(self, kind, lr, momentum, layers):
        self.kind, self.lr, self.mu, self.t = kind, lr, momentum, 0
        self.s1 = [[np.zeros_like(W), np.zeros_like(b)] for W, b in layers]
        self.s2 = [[np.zeros_like(W), np.zeros_like(b)] for W, b in layers]

    def step(self, layers, grads):
        self.t += 1
        for li in range(len(layers)):
            for k in range(2):
                w, g = layers[li][k], grads[li][k]
                if self.kind == "sgd":
                    w -= self.lr * g
                elif self.kind == "momentum":
                    v = self.s1[li][k]
                    v *= self.mu
                    v -= self.lr * g
                    if RULES["momentum"] == "nesterov":
                        w += self.mu * v - self.lr * g
                    else:
                        w += v
                elif self.kind == "adam":
                    m, v = self.s1[li][k], self.s2[li][k]
                    m += (g - m) * (1 - B1)
                    v += (g * g - v) * (1 - B2)
                    if RULES["adam"] == "keras":
                        alpha = self.lr * math.sqrt(1 - B2 ** self.t) / (1 - B1 ** self.t)
                        w -= alpha * m / (np.sqrt(v) + ADAM_EPS)
                    elif RULES["adam"] == "torch":
                        w -= self.lr * (m / (1 - B1 ** self.t)) / (np.sqrt(v / (1 - B2 ** self.t)) + ADAM_EPS)
                    else:
                        w -= self.lr * m / (np.sqrt(v) + ADAM_EPS)
                else:
                    raise ValueError(f"unknown optimizer {self.kind}")
