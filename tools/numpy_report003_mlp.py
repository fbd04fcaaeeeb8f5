"""Report 003's MLP as its sections 4-6 describe it, in NumPy (the report's own tool), outside the
crate: an independent check of notebook 04's experiment 4. Five hidden layers of 128 ReLU, He
initialisation, inverted dropout after each hidden layer (its mask reused in the backward pass),
softmax + cross-entropy, mini-batch gradient descent (lr 0.01, batch 128) on 80 % of all 70,000
images; validation and test accuracy every 5 epochs (last-epoch weights).

    ~/.cache/fashion-lab-peers/bin/python tools/numpy_report003_mlp.py DROPOUT EPOCHS [SEED] [--masked-list-only]

--masked-list-only: the other reading of section 4.1 ("stored in the activations list", then "the
activations are updated"): the masked activations go into the list the backward pass uses, while
the next layer is computed from the unmasked ones. Dropout then only adds noise to the gradients.

(any Python with NumPy; `../shared/peers/setup.sh` makes that venv.)
"""
import gzip, os, sys
import numpy as np

DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read(name, offset):
    with gzip.open(os.path.join(DIR, name), "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    masked_list_only = "--masked-list-only" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--masked-list-only"]
    if len(args) < 2:
        sys.exit(__doc__)
    p, epochs = float(args[0]), int(args[1])
    seed = int(args[2]) if len(args) > 2 else 0
    if not 0.0 <= p < 1.0 or epochs < 1:
        sys.exit("dropout must be in [0, 1) and epochs at least 1")
    x = np.concatenate([read("train-images-idx3-ubyte.gz", 16), read("t10k-images-idx3-ubyte.gz", 16)])
    x = x.reshape(-1, 784).astype(np.float32) / 255.0
    y = np.concatenate([read("train-labels-idx1-ubyte.gz", 8), read("t10k-labels-idx1-ubyte.gz", 8)]).astype(np.int64)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    train, val, test = order[:56000], order[56000:63000], order[63000:]
    sizes = [784] + [128] * 5 + [10]
    w = [(rng.standard_normal((m, n)) * np.sqrt(2.0 / m)).astype(np.float32) for m, n in zip(sizes, sizes[1:])]
    b = [np.zeros(n, np.float32) for n in sizes[1:]]

    def forward(batch, training):
        a, acts, zs, masks = batch, [batch], [], []
        for i in range(len(w) - 1):
            z = a @ w[i] + b[i]
            a = np.maximum(z, 0.0)
            mask, stored = None, a
            if training and p > 0:
                mask = (rng.random(a.shape) > p).astype(np.float32) / (1.0 - p)
                stored = a * mask
                if not masked_list_only:
                    a = stored
            zs.append(z), masks.append(mask), acts.append(stored)
        z = a @ w[-1] + b[-1]
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True), acts, zs, masks

    def accuracy(rows):
        return (forward(x[rows], False)[0].argmax(1) == y[rows]).mean()

    for epoch in range(1, epochs + 1):
        shuffled = rng.permutation(train)
        for start in range(0, len(shuffled), 128):
            rows = shuffled[start:start + 128]
            probs, acts, zs, masks = forward(x[rows], True)
            grad = probs
            grad[np.arange(len(rows)), y[rows]] -= 1.0
            grad /= len(rows)
            for i in range(len(w) - 1, -1, -1):
                gw, gb = acts[i].T @ grad, grad.sum(0)
                if i > 0:
                    grad = grad @ w[i].T
                    if masks[i - 1] is not None:
                        grad = grad * masks[i - 1]
                    grad = grad * (zs[i - 1] > 0)
                w[i] -= 0.01 * gw
                b[i] -= 0.01 * gb
        if epoch % 5 == 0 or epoch == 1 or epoch == epochs:
            print(f"dropout {p}{' (masked list only)' if masked_list_only else ''} epoch {epoch}: validation {accuracy(val):.4f} test {accuracy(test):.4f}", flush=True)


if __name__ == "__main__":
    main()
