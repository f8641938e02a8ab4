"""Subprocess side of tests/test_checkpoint.py (not collected by pytest: no test_ prefix).

    python checkpoint_worker.py train DIR TOTAL SAVE_AT OUT [resume]
        Trains a small Sequential with Adam on shuffled mini-batches until the optimizer has taken
        TOTAL steps, or until SAVE_AT steps, then saves with a CheckpointManager in DIR and stops.
        With "resume", first restores DIR's latest checkpoint into freshly built (unbuilt) objects.
        Writes OUT (.npz): the final variables, slots, step count and the CRC of every batch seen.
    python checkpoint_worker.py notebook DIR TOTAL SAVE_AT OUT [resume]
        The same for the seed notebook's linear fit (Dense(1), GradientDescent), one file.
    python checkpoint_worker.py save-loop DIR
        Saves over and over, each checkpoint holding one consistent fill value k in every array;
        prints "ready" after the first save. The parent kills it with SIGKILL at a random moment.
"""
import os
import sys
import zlib

import numpy as np

import tapegrad as tg


def data():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(50, 6)).astype(np.float32)
    y = rng.integers(0, 4, size=50).astype(np.int64)
    return x, y


def train(directory, total, save_at, out, resume):
    tg.random.set_seed(123)
    x_all, y_all = data()
    model = tg.Sequential([tg.Dense(16, activation="relu"), tg.nn.relu, tg.Dense(4)])
    opt = tg.Adam(0.01)
    seen_count = tg.Variable(0.0, trainable=False)
    ckpt = tg.Checkpoint(model=model, optimizer=opt, data=tg.data.batches(x_all, y_all, batch_size=8),
                         rng=tg.random, seen=seen_count)
    manager = tg.CheckpointManager(ckpt, directory, max_to_keep=2)
    if resume:
        ckpt.restore(manager.latest_checkpoint)
    seen = []
    while opt.iterations < total:
        try:
            xb, yb = next(ckpt.data)
        except StopIteration:
            ckpt.data = tg.data.batches(x_all, y_all, batch_size=8)
            continue
        with tg.GradientTape() as tape:
            loss = tg.reduce_mean(tg.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=model(xb)))
        variables = model.trainable_variables
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        seen.append(zlib.crc32(xb.numpy().tobytes()))
        seen_count.assign(seen_count + 1.0)
        if opt.iterations == save_at:
            manager.save()
            break
    arrays = {f"var{i}": v.numpy() for i, v in enumerate(model.variables)}
    arrays.update({f"slot{i}": s.numpy() for i, s in enumerate(opt.variables())})
    arrays["iterations"] = np.asarray(opt.iterations)
    arrays["seen"] = np.asarray(seen, np.int64)
    arrays["seen_count"] = seen_count.numpy()
    np.savez(out, **arrays)


def notebook(directory, total, save_at, out, resume):
    """The seed notebook's fit: labels = 3 x + 2 + noise, a one-unit Dense layer, gradient
    descent through implicit_value_and_gradients, one Checkpoint file."""
    tg.random.set_seed(0)
    inputs = tg.random.normal([1000])
    labels = inputs * 3.0 + 2.0 + tg.random.normal([1000])
    x = tg.reshape(inputs, [-1, 1])
    model = tg.Dense(1)
    opt = tg.GradientDescent(0.1)

    def loss():
        return tg.reduce_mean(tg.square(tg.reshape(model(x), [-1]) - labels))

    value_and_grads = tg.implicit_value_and_gradients(loss)
    ckpt = tg.Checkpoint(model=model, optimizer=opt)
    path = os.path.join(directory, "notebook-1")
    if resume:
        ckpt.restore(path)
    losses = []
    while opt.iterations < total:
        value, grads_and_vars = value_and_grads()
        opt.apply_gradients(grads_and_vars)
        losses.append(float(value))
        if opt.iterations == save_at:
            ckpt.save(os.path.join(directory, "notebook"))
            break
    np.savez(out, kernel=model.kernel.numpy(), bias=model.bias.numpy(), losses=np.asarray(losses),
             iterations=np.asarray(opt.iterations))


def save_loop(directory):
    big = tg.Variable(np.zeros((256, 512), np.float32))
    small = tg.Variable(np.zeros((3,), np.float64))
    ckpt = tg.Checkpoint(big=big, small=small)
    manager = tg.CheckpointManager(ckpt, directory, max_to_keep=3)
    k = 0
    while True:
        k += 1
        big.assign(np.full((256, 512), k, np.float32))
        small.assign(np.full((3,), k, np.float64))
        manager.save()
        if k == 1:
            print("ready", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "train":
        train(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], "resume" in sys.argv[6:])
    elif mode == "notebook":
        notebook(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], "resume" in sys.argv[6:])
    elif mode == "save-loop":
        save_loop(sys.argv[2])
    else:
        sys.exit(f"unknown mode {mode}")
    sys.stdout.flush()
    os._exit(0)
