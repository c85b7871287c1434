#!/usr/bin/env python3
"""A 20-line safetensors reader (no numpy needed): prints each tensor's name, dtype, shape and sum,
then the metadata. `python3 -c "from safetensors.numpy import load_file; ..."` reads the same files."""
import json, struct, sys
from array import array

def load(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        values = array({"F32": "f", "F64": "d"}[t["dtype"]], data[begin:end])  # little-endian hosts
        tensors[name] = (t["dtype"], t["shape"], values)
    return tensors, meta

if __name__ == "__main__":
    tensors, meta = load(sys.argv[1])
    for name, (dtype, shape, values) in sorted(tensors.items()):
        print(f"{name} {dtype} {shape} {sum(values):.6g}")
    for k, v in sorted(meta.items()):
        print(f"meta {k} {v}")
