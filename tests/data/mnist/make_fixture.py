"""Regenerate the tiny synthetic MNIST-format fixture used by tests/test_nn_mnist.py.

Not MNIST data: 28×28 uint8 images of simple strokes (a ring for 0, a bar for 1, ...),
written in the official IDX layout and file names, gzip-compressed with mtime 0 so the
bytes are reproducible. SHA256SUMS lists the sums of the UNCOMPRESSED files, as the
official MNIST sums do. Run: python3 tests/data/mnist/make_fixture.py
"""

import gzip
import hashlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def digit(label: int, shift: int) -> np.ndarray:
    img = np.zeros((28, 28), dtype=np.uint8)
    yy, xx = np.mgrid[0:28, 0:28]
    cx, cy = 14 + shift, 14
    r = np.hypot(xx - cx, yy - cy)
    if label == 0:
        img[(r > 6) & (r < 9)] = 255
    elif label == 1:
        img[5:23, cx - 1:cx + 2] = 255
    else:  # a bar at an angle that depends on the label
        angle = np.pi * label / 10
        d = np.abs((xx - cx) * np.sin(angle) - (yy - cy) * np.cos(angle))
        img[(d < 1.5) & (r < 10)] = 128 + 12 * label
    return img


def idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def main() -> None:
    sets = {"train": [5, 0, 4, 1, 9, 2, 1, 3, 1, 4, 3, 5], "t10k": [7, 2, 1, 0, 4, 1]}
    sums = []
    for name, labels in sets.items():
        images = np.stack([digit(lab, (i % 3) - 1) for i, lab in enumerate(labels)])
        files = {f"{name}-images-idx3-ubyte": idx(images),
                 f"{name}-labels-idx1-ubyte": idx(np.array(labels, dtype=np.uint8))}
        for fname, raw in files.items():
            (HERE / f"{fname}.gz").write_bytes(gzip.compress(raw, mtime=0))
            sums.append(f"{hashlib.sha256(raw).hexdigest()}  {fname}\n")
    (HERE / "SHA256SUMS").write_text("".join(sorted(sums, key=lambda s: s.split()[1])))


if __name__ == "__main__":
    main()
