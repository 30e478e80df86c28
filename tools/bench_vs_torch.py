#!/usr/bin/env python3
"""netsweep against the PyTorch peer, side by side in one run, on the CPU or the GPU.

Runs the same sweep with ../shared/peers/torch_sweep.py (--mode loop by default)
and with `netsweep run`, both on --device (cpu or cuda), alternating, --repeats
times each, and prints the median wall time of each and their ratio.

--peer-epochs runs the peer for fewer epochs and scales its whole time to
--epochs (its cost per epoch is constant). The short run still makes its first
and last frames, so the scaled time counts more frame work than the full run
would do; in loop mode, where the steps dominate, that is a small overstatement
of the peer's time, and it is printed with the scale and stored in the JSON line. Default workload: the
foundation issue's reduced slide sweep (layers 1,2,3 x widths 4,16,64,128 x
sigmoid,relu = 24 networks, 100 epochs, a 64x64 frame every 50 epochs).

netsweep's time is the whole process (start, data loading, training, frames,
HDF5 file written); the peer's is its own reported wall time (training and
frames only, no start-up or saving), so the ratio is conservative.

Needs PyTorch for the peer (Debian: python3-torch; run with /usr/bin/python3).
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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--netsweep", default=os.path.join(ROOT, "build", "netsweep"))
    p.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    p.add_argument("--layers", default="1,2,3")
    p.add_argument("--widths", default="4,16,64,128")
    p.add_argument("--activations", default="sigmoid,relu")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--snapshot-every", type=int, default=50)
    p.add_argument("--grid", type=int, default=64)
    p.add_argument("--mode", choices=["loop", "stacked"], default="loop")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--python", default=sys.executable, help="interpreter with torch for the peer")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where both run")
    p.add_argument("--peer-epochs", type=int, default=0, help="peer epochs (0: --epochs), time scaled to --epochs")
    p.add_argument("--extra", default="", help="more netsweep run options, e.g. '--gpu-path gemm'")
    p.add_argument("--seeds", type=int, default=1,
                   help="networks a configuration: the peer's --repeats (its stacks hold them), netsweep's --seeds")
    a = p.parse_args()

    slide = os.path.join(a.shared, "data", "slide")
    peer = os.path.join(a.shared, "peers", "torch_sweep.py")
    shape = ["--layers", a.layers, "--widths", a.widths, "--activations", a.activations,
             "--snapshot-every", str(a.snapshot_every), "--grid", str(a.grid)]
    peer_epochs = a.peer_epochs or a.epochs
    scale = a.epochs / peer_epochs
    peer_cmd = [a.python, peer] + shape + ["--epochs", str(peer_epochs), "--mode", a.mode, "--device", a.device,
                                          "--repeats", str(a.seeds)]
    tmp = tempfile.TemporaryDirectory()
    out = os.path.join(tmp.name, "bench.h5")
    ours_cmd = [a.netsweep, "run"] + shape + ["--epochs", str(a.epochs), "--seeds", str(a.seeds)] + [
        "--points", os.path.join(slide, "green_points.json") + ":0",
        "--points", os.path.join(slide, "red_points.json") + ":1", "--device", a.device, "-q", "-o", out
    ] + a.extra.split()
    print("peer:     " + " ".join(peer_cmd))
    print("netsweep: " + " ".join(ours_cmd))
    peer_times, ours_times = [], []
    scaled = f" (ran {peer_epochs} epochs, x{scale:g})" if scale != 1 else ""
    for r in range(a.repeats):
        res = subprocess.run(peer_cmd, check=True, capture_output=True, text=True)
        peer_times.append(json.loads(res.stdout.strip().splitlines()[-1])["wall_s"] * scale)
        # Said at once: a run cut short during netsweep's half keeps the peer's time in the log.
        print(f"  repeat {r + 1}: torch-{a.mode} {peer_times[-1]:.2f} s{scaled}", flush=True)
        t0 = time.perf_counter()
        subprocess.run(ours_cmd, check=True)
        ours_times.append(time.perf_counter() - t0)
        print(f"  repeat {r + 1}: netsweep {ours_times[-1]:.2f} s", flush=True)
    tmp.cleanup()
    tp, to = statistics.median(peer_times), statistics.median(ours_times)
    print(f"median over {a.repeats}: torch-{a.mode} {tp:.2f} s | netsweep {a.device} {to:.2f} s | "
          f"netsweep is {tp / to:.1f}x faster")
    print(json.dumps({"torch_mode": a.mode, "device": a.device, "torch_s": tp, "netsweep_s": to,
                      "speedup": round(tp / to, 2), "peer_epochs": peer_epochs, "peer_scale": scale,
                      "repeats": a.repeats, "seeds": a.seeds, "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
