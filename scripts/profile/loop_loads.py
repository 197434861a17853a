#!/usr/bin/env python3
"""Where the time loop of a sweep kernel waits for its global loads, from the SASS alone (no GPU).

For each forward/backward kernel of one kernel-cache file (`flashrnn compile-kernels --fill-cache`
with FLASHRNN_CACHE_DIR set): the time loop (the longest backward branch), its global loads, how
many sit inside a branch (BSSY…BSYNC) and how many are consumed before the loop's next CTA barrier (bar.sync 0),
i.e. waited for in the step that issued them.

Usage: NVDISASM=/path/to/nvdisasm scripts/profile/loop_loads.py CACHE_FILE
"""
import os
import re
import struct
import subprocess
import sys
import tempfile


def cubin(path):
    # Cache file: magic (8 bytes), u64 names length, names, u64 cubin length, cubin, checksum.
    data = open(path, "rb").read()
    offset = 8
    names = struct.unpack("<Q", data[offset:offset + 8])[0]
    offset += 8 + names
    size = struct.unpack("<Q", data[offset:offset + 8])[0]
    offset += 8
    return data[offset:offset + size]


def main():
    nvdisasm = os.environ.get("NVDISASM", "nvdisasm")
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(cubin(sys.argv[1]))
        f.flush()
        sass = subprocess.run([nvdisasm, "-c", f.name], capture_output=True, text=True, check=True).stdout
    for function in re.split(r"\n\s*\.text\.", sass)[1:]:
        name = function.split(":")[0]
        if not re.search(r"(forward|backward)\w*_kernel", name):
            continue
        labels, code = {}, []
        for line in function.split("\n"):
            label = re.match(r"(\.L_x_\d+):", line.strip())
            if label:
                labels[label.group(1)] = len(code)
                continue
            instruction = re.search(r"/\*[0-9a-f]{4,}\*/\s+(.*?);", line)
            if instruction:
                code.append(instruction.group(1).strip())
        loop = None
        for i, text in enumerate(code):
            target = re.search(r"BRA\s+`?\(?(\.L_x_\d+)", text)
            if target and target.group(1) in labels and labels[target.group(1)] < i:
                span = (i - labels[target.group(1)], labels[target.group(1)], i)
                loop = max(loop, span) if loop else span
        if not loop:
            continue
        body = code[loop[1]:loop[2] + 1]
        depth = loads = in_branch = early = 0
        for k, text in enumerate(body):
            depth += "BSSY" in text
            if "BSYNC" in text:
                depth = max(0, depth - 1)
            load = re.search(r"LDG\S*\s+(R\d+)", text)
            if not load:
                continue
            loads += 1
            in_branch += depth > 0
            register = load.group(1)
            for later in body[k + 1:]:
                if re.search(r"BAR\.SYNC\S*\s+0x0$", later):   # the CTA barrier ending a step
                    break
                registers = re.findall(r"\bR\d+\b", later)
                mnemonic = re.sub(r"^@!?U?P\d+\s+", "", later).split()[0]
                if register in (registers if mnemonic.startswith("ST") else registers[1:]):
                    early += 1
                    break
                if registers and registers[0] == register:
                    break
        print(f"{name[:90]}: loop {len(body)} instructions, {loads} global loads, {in_branch} in branches, "
              f"{early} consumed before the step's barrier")


if __name__ == "__main__":
    main()
