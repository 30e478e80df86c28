#!/usr/bin/env python3
"""A portable build runs on any x86-64 CPU: outside the CPU backend's
per-instruction-set versions (GCC's clones *.arch_x86_64_v3 / *.arch_x86_64_v4,
and the versions written per target, named *_avx2 / *_avx512; chosen at run
time), the binary holds no AVX/AVX2/AVX-512 instruction (VEX or EVEX encoded: a
v-prefixed mnemonic, a ymm/zmm or mask register), and those versions are there.

usage: check_vector_code.py BINARY
"""
import re
import subprocess
import sys


def main():
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", sys.argv[1]], check=True,
                         capture_output=True, text=True).stdout
    func, outside, clones = None, {}, {"v3": set(), "v4": set()}
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if m:
            func = m.group(1)
            continue
        parts = line.split("\t")
        if func is None or len(parts) < 2 or not parts[-1].strip():
            continue
        ins = parts[-1].strip()
        mnemonic = ins.split()[0]
        vector = (mnemonic.startswith("v") and mnemonic not in ("verr", "verw")) or re.search(r"%[yz]mm|%k[0-7]\b", ins)
        if not vector:
            continue
        name = func.replace("(anonymous namespace)", "").split("(")[0]
        level = ("v4" if ".arch_x86_64_v4" in func or name.endswith("_avx512") else
                 "v3" if ".arch_x86_64_v3" in func or name.endswith("_avx2") else None)
        if level:
            clones[level].add(name)
        else:
            outside.setdefault(func, ins)
    print(f"{len(clones['v4'])} AVX-512 and {len(clones['v3'])} AVX2 clones; "
          f"{len(outside)} functions with AVX instructions outside them")
    for f, ins in list(outside.items())[:10]:
        print(f"  {f[:140]}: {ins}")
    if outside:
        print("FAIL: the binary would stop with SIGILL on a CPU without AVX")
        return 1
    if not clones["v4"] or not clones["v3"]:
        print("FAIL: no AVX2/AVX-512 clones: the CPU backend would run baseline code everywhere")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
