#!/usr/bin/env python3
"""The CPU backend against the CPU peers, side by side in one run (the CPU issue's targets).

1. One wide network: 8x384 relu on the slide points, seconds per epoch as the
   difference between a SHORT- and a LONG-epoch run over (LONG - SHORT), so
   start-up, compilation, data loading and the first/last frames cancel. The
   default 60 epochs apart: JAX's compile time moves by ~0.5 s from run to
   run, so 20 apart (~0.5 s of its epochs) read 0.023-0.047 s/epoch.
   netsweep on 1 thread and on all threads, JAX's CPU backend
   (../shared/peers/jax_sweep.py --mode loop), and --other (e.g. a
   -DNETSWEEP_NATIVE=ON build, or an older one).
2. The reduced slide sweep: layers 1,2,3 x widths 4,16,64,128 x sigmoid,relu
   (24 networks), 100 epochs, a 64x64 frame every 50: netsweep's whole process
   against JAX vmap (--mode padded, compilation included), the PyTorch loop
   (../shared/peers/torch_sweep.py) and --other.

Runs alternate between programs, --repeats times each; medians are printed
with their ratios, and one JSON line at the end. --python is an interpreter
with jax (and torch, optional: a peer whose import fails is reported, not
timed); --torch-python another for torch, where one environment cannot hold
both (e.g. Debian's python3-torch, built against an older NumPy than JAX's).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def wall(cmd, reported=False):
    """Seconds the command took (its own 'wall_s' JSON field if reported)."""
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    t = time.perf_counter() - t0
    if reported:
        return json.loads(out.strip().splitlines()[-1])["wall_s"]
    return t


def median_of(cmds, repeats):
    """{name: median seconds}, running the commands in turn, repeats times."""
    times = {name: [] for name in cmds}
    for _ in range(repeats):
        for name, (cmd, reported) in cmds.items():
            times[name].append(wall(cmd, reported))
    return {name: statistics.median(t) for name, t in times.items()}


def peer_works(python, module):
    return subprocess.run([python, "-c", "import " + module], capture_output=True).returncode == 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--netsweep", default=os.path.join(ROOT, "build", "netsweep"))
    p.add_argument("--other", default="", help="a second netsweep binary timed beside the first")
    p.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    p.add_argument("--python", default=sys.executable, help="interpreter with jax (and torch) for the peers")
    p.add_argument("--torch-python", default="", help="interpreter with torch, if not --python")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--short", type=int, default=5)
    p.add_argument("--long", type=int, default=65)
    p.add_argument("--skip", default="", help="comma-separated parts to skip: wide, reduced")
    a = p.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    slide = os.path.join(a.shared, "data", "slide")
    points = ["--points", os.path.join(slide, "green_points.json") + ":0",
              "--points", os.path.join(slide, "red_points.json") + ":1"]
    jax_peer = [a.python, os.path.join(a.shared, "peers", "jax_sweep.py")]
    torch_python = a.torch_python or a.python
    torch_peer = [torch_python, os.path.join(a.shared, "peers", "torch_sweep.py")]
    has_jax, has_torch = peer_works(a.python, "jax"), peer_works(torch_python, "torch")
    out = os.path.join(tempfile.mkdtemp(), "bench.h5")
    binaries = {"netsweep": a.netsweep}
    if a.other:
        binaries["other"] = a.other
    result = {"cpu": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": "),
              "cores": os.cpu_count()}

    if "wide" not in skip:
        shape = ["--layers", "8", "--widths", "384", "--activations", "relu"]
        cmds = {}
        for epochs in (a.short, a.long):
            for name, binary in binaries.items():
                threads = [("1 thread", 1), ("all threads", 0)] if name == "netsweep" else [("all threads", 0)]
                for label, t in threads:
                    cmds[(f"{name}, {label}", epochs)] = (
                        [binary, "run", *shape, *points, "--epochs", str(epochs), "--snapshot-every", str(epochs),
                         "--threads", str(t), "--device", "cpu", "-q", "-o", out], False)
            if has_jax:
                cmds[("jax loop", epochs)] = (
                    jax_peer + shape + ["--epochs", str(epochs), "--snapshot-every", str(epochs), "--mode", "loop"],
                    True)
        m = median_of(cmds, a.repeats)
        per_epoch = {}
        for (name, epochs) in m:
            if epochs == a.long:
                per_epoch[name] = (m[(name, a.long)] - m[(name, a.short)]) / (a.long - a.short)
        print(f"8x384 relu, seconds per epoch ({a.long} - {a.short} epochs, medians of {a.repeats}):")
        base = per_epoch.get("jax loop")
        for name, s in per_epoch.items():
            ratio = f"  {s / base:.2f}x JAX's time" if base else ""
            print(f"  {name:<28} {s:8.4f}{ratio}")
        if not has_jax:
            print("  (jax not importable with --python: not timed)")
        result["wide_s_per_epoch"] = per_epoch

    if "reduced" not in skip:
        shape = ["--layers", "1,2,3", "--widths", "4,16,64,128", "--activations", "sigmoid,relu",
                 "--epochs", "100", "--snapshot-every", "50", "--grid", "64"]
        cmds = {name: ([binary, "run", *shape, *points, "--device", "cpu", "-q", "-o", out], False)
                for name, binary in binaries.items()}
        if has_jax:
            cmds["jax vmap (padded)"] = (jax_peer + shape + ["--mode", "padded"], True)
        if has_torch:
            cmds["torch loop"] = (torch_peer + shape + ["--mode", "loop", "--device", "cpu"], True)
        m = median_of(cmds, a.repeats)
        print(f"reduced slide sweep (24 networks, 100 epochs), seconds, medians of {a.repeats}:")
        for name, s in m.items():
            ratio = f"  {s / m['netsweep']:.1f}x netsweep's time" if name != "netsweep" else ""
            print(f"  {name:<28} {s:8.2f}{ratio}")
        if not has_torch:
            print("  (torch not importable with --torch-python/--python: not timed)")
        result["reduced_s"] = m
    print(json.dumps(result))


if __name__ == "__main__":
    main()
