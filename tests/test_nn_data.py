"""Toy data sets and the MNIST loader (on the committed synthetic fixture; no network)."""

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import nn
from nn import mnist

FIXTURE = Path(__file__).parent / "data" / "mnist"
SUMS = {line.split()[1]: line.split()[0] for line in (FIXTURE / "SHA256SUMS").read_text().splitlines()}


@pytest.mark.parametrize("make", [nn.two_moons, nn.circles, nn.spirals])
def test_toy_sets_are_seeded_and_balanced(make):
    X, y = make(101, seed=3)
    X2, y2 = make(101, rng=np.random.default_rng(3))
    assert X.shape == (101, 2) and y.shape == (101,) and np.issubdtype(y.dtype, np.integer)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, make(101, seed=4)[0])
    assert abs(np.sum(y == 0) - np.sum(y == 1)) <= 1


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.two_moons(1), ValueError, r"two_moons\(n\) must be an int ≥ 2, got 1"),
    (lambda: nn.two_moons(10.0), TypeError, r"two_moons\(n\) must be an int ≥ 2, got float"),
    (lambda: nn.circles(10, noise=-0.1), ValueError, r"circles\(noise\) must be a finite number ≥ 0"),
    (lambda: nn.circles(10, factor=1.5), ValueError, r"circles\(factor\) must lie in \(0, 1\)"),
    (lambda: nn.circles(10, factor="a"), TypeError, r"circles\(factor\) must be"),
    (lambda: nn.spirals(10, classes=True), TypeError, r"spirals\(classes\) must be an int ≥ 2"),
    (lambda: nn.spirals(10, turns=float("nan")), ValueError, r"spirals\(turns\) must be a finite number"),
])
def test_toy_sets_name_a_bad_argument(call, error, message):
    """The data sets check their arguments with autodiff.validate's rules: a wrong kind of
    value is a TypeError, a wrong value a ValueError, each naming the function and argument."""
    with pytest.raises(error, match=message):
        call()


def test_toy_set_geometry_without_noise():
    X, y = nn.two_moons(50, noise=0.0, seed=0)
    upper = X[y == 0]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    lower = X[y == 1]
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    X, y = nn.circles(40, noise=0.0, factor=0.3, seed=0)
    np.testing.assert_allclose(np.hypot(*X.T), np.where(y == 0, 1.0, 0.3))
    X, y = nn.spirals(90, classes=3, seed=0)
    assert set(y.tolist()) == {0, 1, 2} and np.all(np.hypot(*X.T) <= 1.0 + 1e-12)
    X, y = nn.xor()
    assert np.array_equal(y, np.logical_xor(X[:, 0], X[:, 1]).astype(int))
    with pytest.raises(ValueError, match="noise"):
        nn.two_moons(10, noise=-1)


def test_fixture_files_match_their_sums_and_loader_reads_them():
    for name, digest in SUMS.items():
        raw = gzip.decompress((FIXTURE / f"{name}.gz").read_bytes())
        assert hashlib.sha256(raw).hexdigest() == digest
    images, labels = nn.load_mnist(FIXTURE, "train", sums=SUMS)
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4, 3, 5]
    test_images, test_labels = nn.load_mnist(FIXTURE, "test", sums=SUMS)
    assert test_images.shape == (6, 28, 28) and test_labels.tolist() == [7, 2, 1, 0, 4, 1]
    X, y = nn.mnist_arrays(FIXTURE, "train", n=4, start=1, sums=SUMS)
    assert X.shape == (4, 784) and y.tolist() == [0, 4, 1, 9]
    assert X.max() == pytest.approx(255 / 256)


def test_official_sums_are_enforced_by_default():
    with pytest.raises(mnist.ChecksumError, match="expected " + mnist.OFFICIAL_SHA256["train-images-idx3-ubyte"]):
        nn.load_mnist(FIXTURE, "train")  # the fixture is not the official file


def test_raw_files_dotted_names_and_environment_variable(tmp_path, monkeypatch):
    for name in SUMS:  # uncompressed, with the dotted file names some copies use
        raw = gzip.decompress((FIXTURE / f"{name}.gz").read_bytes())
        (tmp_path / name.replace("-idx", ".idx")).write_bytes(raw)
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path))
    images, labels = nn.load_mnist(split="test", sums=SUMS)
    assert images.shape == (6, 28, 28) and labels[0] == 7


def test_corrupted_file_raises_a_checksum_error(tmp_path):
    for name in SUMS:
        shutil.copy(FIXTURE / f"{name}.gz", tmp_path / f"{name}.gz")
    raw = bytearray(gzip.decompress((tmp_path / "train-images-idx3-ubyte.gz").read_bytes()))
    raw[500] ^= 0xFF  # flip one pixel: still a well-formed IDX file
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(mnist.ChecksumError, match="train-images-idx3-ubyte.gz: SHA-256"):
        nn.load_mnist(tmp_path, "train", sums=SUMS)
    nn.load_mnist(tmp_path, "test", sums=SUMS)  # the other split is intact
    images, _ = nn.load_mnist(tmp_path, "train", sums=False)  # explicit opt-out reads it
    assert images.shape == (12, 28, 28)


def test_malformed_idx_is_reported():
    with pytest.raises(ValueError, match="not an IDX file"):
        mnist.parse_idx(b"\x01\x02\x03\x04", "f")
    header = bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big")
    with pytest.raises(ValueError, match="shape"):
        mnist.parse_idx(header + b"\x00" * 4, "f")
    assert mnist.parse_idx(header + bytes(range(5)), "f").tolist() == [0, 1, 2, 3, 4]


def test_missing_data_explains_the_options(tmp_path, monkeypatch):
    monkeypatch.delenv(mnist.ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match="BACKPROPLAB_MNIST"):
        nn.load_mnist(cache_dir=tmp_path / "empty")


def test_download_into_the_cache_from_a_local_mirror(tmp_path, monkeypatch):
    """The download path, exercised with file:// mirrors (never the network)."""
    monkeypatch.delenv(mnist.ENV_VAR, raising=False)
    broken, good = tmp_path / "broken", tmp_path / "good"
    broken.mkdir()
    shutil.copytree(FIXTURE, good)
    (broken / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"junk"))
    mirrors = [broken.as_uri() + "/", good.as_uri() + "/"]
    cache = tmp_path / "cache"
    images, labels = nn.load_mnist(split="train", download=True, sums=SUMS, cache_dir=cache, mirrors=mirrors)
    assert images.shape == (12, 28, 28) and labels[0] == 5
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{n}.gz" for n in SUMS)
    # now found in the cache without downloading
    assert mnist.find_mnist_dir(cache_dir=cache) == cache
    with pytest.raises(OSError, match="could not download"):
        mnist.download_mnist(tmp_path / "cache2", mirrors=[broken.as_uri() + "/"], sums=SUMS)


@pytest.mark.skipif(not __import__("os").environ.get(mnist.ENV_VAR),
                    reason="needs the official MNIST files: set BACKPROPLAB_MNIST to a directory holding them")
def test_speed_of_learning_at_init_matches_golden_task5():
    """‖∂C/∂b^l‖ at Nielsen's network2 init on the first 1000 training images (golden task 5)."""
    import json
    golden = json.loads((Path(__file__).parent / "data" / "golden.json").read_text())
    runs = golden["task5_mnist_init_bias_grad_norms"]["default_init_pixels_div256_5seeds"]["[784,30,30,10]"]
    X, y = nn.mnist_arrays(split="train", n=1000)
    for seed in (0, 1):
        model = nn.MLP(784, [30, 30, 10], activation="sigmoid", output_activation="sigmoid",
                         init="network2", seed=seed)
        speeds = nn.layer_speeds(model, X, y, loss="binary_cross_entropy", hidden_only=True)
        np.testing.assert_allclose(speeds, runs["per_seed"][seed], rtol=1e-9)
