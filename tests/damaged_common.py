"""What the damaged-input scripts share (damaged_inputs_test.py, damaged_files_test.py).

Each case must end with exit status 2 (or the documented status), a message
naming what is wrong on the error's one line, no signal, no HDF5 diagnostic
dump, within a time limit, and nothing left behind that looks complete (no
output file, no OUT.partial-*, no checkpoint that cannot be resumed).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import h5py

NETSWEEP, RENDER = sys.argv[1], sys.argv[2]
failures = []
WORK = tempfile.mkdtemp(prefix="netsweep_damaged_")
SMALL = ["--layers", "1", "--widths", "3", "--epochs", "2", "--grid", "4", "--device", "cpu", "-q"]


def path(name):
    return os.path.join(WORK, name)


def write(name, text):
    with open(path(name), "w") as f:
        f.write(text)
    return path(name)


def run(args, timeout=60):
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        return "timeout", ""


def leftovers(out):
    d = os.path.dirname(out) or "."
    base = os.path.basename(out)
    return [n for n in os.listdir(d) if n.startswith(base) and n != base] + ([base] if os.path.exists(out) else [])


def expect(name, args, message, status=2, out=None, timeout=60, keep=()):
    code, text = run(args, timeout)
    problems = []
    if code == "timeout":
        problems.append(f"did not finish in {timeout} s")
    elif code < 0:
        problems.append(f"killed by signal {signal.Signals(-code).name}")
    elif code != status:
        problems.append(f"exit status {code}, expected {status}")
    if message not in text:
        problems.append(f"message without {message!r}")
    if "HDF5-DIAG" in text:
        problems.append("HDF5's diagnostic stack was printed")
    error_lines = [l for l in text.strip().splitlines() if "error" in l]
    if status == 2 and len(error_lines) != 1:
        problems.append("not exactly one error line")
    elif status == 2 and message not in error_lines[0]:
        problems.append(f"the error line without {message!r} (a message split over lines?)")
    if status == 2 and text.startswith("\n"):
        problems.append("an empty line before the message")
    if out is not None:
        left = [n for n in leftovers(out) if n not in keep]
        if left:
            problems.append(f"left behind: {left}")
    if problems:
        failures.append(f"{name}: " + "; ".join(problems) + f"\n    $ {' '.join(args)}\n    {text.strip()[-600:]}")
    else:
        print(f"ok   {name}")


def results_file(name, shape=("--layers", "1", "--widths", "3", "--epochs", "2", "--grid", "4")):
    out = path(name)
    subprocess.run([NETSWEEP, "run", *shape, "--device", "cpu", "-q", "--dataset", "moons:n=40", "--test-fraction",
                    "0.25", "-o", out], check=True)
    return out


def damaged_copy(src, name, edit):
    dst = path(name)
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)
    return dst


def finish(what):
    """Removes the work directory; the failures, or that every case passed (`what`)."""
    shutil.rmtree(WORK, ignore_errors=True)
    if failures:
        print("\nFAILED:\n" + "\n".join(failures))
        sys.exit(1)
    print(what)
