"""End-to-end fine-tuning of the backbone and heads on head-free crops, then temperature calibration.

The heads start from the logistic regression on frozen features (`heads.fit_heads`), so the first epoch
already begins from a sensible classifier; every backbone weight then learns too, pulled back towards the
parent's values (L2-SP) because a few thousand crops would otherwise overfit. Losses are weighted per
class (inverse frequency, capped) so the rare age groups count. Training stops when the validation loss
(people held out of training, never the reported test people) has not improved for `patience` epochs and
keeps the best epoch. A temperature per head, fitted on the same validation people, calibrates the
probabilities the edge's abstention thresholds read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Final

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
import optax

from anonflow.contract.errors import InputError
from anonflow.models.crops import UNKNOWN
from anonflow.models.train.augment import augment
from anonflow.models.train.heads import ABSENT_CLASS_LOGIT, GROUPS, LinearHeads
from anonflow.models.train.onnxjax import JaxGraph

MAX_CLASS_WEIGHT: Final = 10.0
TEMPERATURES: Final = np.exp(np.linspace(np.log(0.4), np.log(5.0), 60))


@dataclass(frozen=True, slots=True)
class FinetuneConfig:
    """epochs: at most this many passes; batch: crops per step; learning_rate: Adam step size of the
    backbone; head_learning_rate: that of the linear heads (they start from a fit, not from the parent,
    and can move faster without forgetting anything); cosine: decay both step sizes to zero over `epochs`
    on a cosine (else constant); anchor: L2-SP strength pulling backbone weights to the parent's;
    patience: epochs without a better validation loss before stopping; budget_seconds: wall-clock cap on
    training; seed: batches and augmentation."""

    epochs: int = 12
    batch: int = 32
    learning_rate: float = 3e-5
    head_learning_rate: float = 3e-5
    cosine: bool = False
    anchor: float = 1e-3
    patience: int = 2
    budget_seconds: float = 900.0
    seed: int = 0

    def __post_init__(self) -> None:
        checks = {
            "epochs": 1 <= self.epochs <= 500,
            "batch": 1 <= self.batch <= 512,
            "learning_rate": 1e-6 <= self.learning_rate <= 1e-1,
            "head_learning_rate": 1e-6 <= self.head_learning_rate <= 1e-1,
            "anchor": 0.0 <= self.anchor <= 10.0,
            "patience": 1 <= self.patience <= 100,
            "budget_seconds": 1.0 <= self.budget_seconds <= 86400.0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise InputError(f"fine-tuning settings out of range: {', '.join(bad)}")


@dataclass(frozen=True, slots=True)
class Finetuned:
    """params: trained backbone initializers by name; heads: calibrated linear heads;
    temperatures: per head name; history: per epoch (train loss, validation loss); best_epoch: kept."""

    params: dict[str, npt.NDArray[np.float32]]
    heads: LinearHeads
    temperatures: dict[str, float]
    history: list[tuple[float, float]] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0


def class_weights(labels: npt.NDArray[np.int64]) -> list[npt.NDArray[np.float32]]:
    """Per head, float32 [classes of that head]: inverse frequency over labelled rows, mean 1, capped."""
    out = []
    for h, (_, columns, activation) in enumerate(GROUPS):
        k = 2 if activation == "sigmoid" else columns.stop - columns.start
        known = labels[labels[:, h] != UNKNOWN, h]
        counts = np.bincount(known, minlength=k).astype(np.float64)
        w = np.where(counts > 0, len(known) / (k * np.maximum(counts, 1)), 0.0)
        out.append(np.minimum(w, MAX_CLASS_WEIGHT).astype(np.float32))
    return out


def _head_losses(
    logits: jax.Array, labels: jax.Array, weights: list[jax.Array], trained: tuple[str, ...]
) -> jax.Array:
    total = jnp.zeros(())
    for h, (name, columns, activation) in enumerate(GROUPS):
        if name not in trained:
            continue
        y = labels[:, h]
        known = y != UNKNOWN
        safe = jnp.where(known, y, 0)
        w = jnp.where(known, weights[h][safe], 0.0)
        z = logits[:, columns]
        if activation == "sigmoid":
            nll = optax.sigmoid_binary_cross_entropy(z[:, 0], safe.astype(jnp.float32))
        else:
            nll = optax.softmax_cross_entropy_with_integer_labels(z, safe)
        total = total + (w * nll).sum() / jnp.maximum(w.sum(), 1e-6)
    return total


def finetune(
    graph: JaxGraph,
    start: LinearHeads,
    *,
    images: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.int64],
    train_rows: npt.NDArray[np.intp],
    val_rows: npt.NDArray[np.intp],
    config: FinetuneConfig,
    head_l2: npt.NDArray[np.float32] | None = None,
    progress: bool = False,
) -> Finetuned:
    """Fine-tune on `train_rows`, stop early and calibrate on `val_rows` (disjoint people).

    head_l2: float32 [D, 7], the L2 coefficient of each head weight (`heads.head_penalty`: the starting
    fit's own penalty); none when omitted.
    """
    started = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    anchor = {k: jnp.asarray(v) for k, v in graph.params.items()}
    params: dict[str, Any] = {
        "backbone": dict(anchor),
        "w": jnp.asarray(start.weights),
        "b": jnp.asarray(start.bias),
    }
    weights = [jnp.asarray(w) for w in class_weights(labels[train_rows])]
    trained = start.trained

    def logits_of(p: dict[str, Any], x: jax.Array) -> jax.Array:
        return graph.forward(p["backbone"], x) @ p["w"] + p["b"]

    penalty = jnp.asarray(head_l2 if head_l2 is not None else np.zeros_like(start.weights))

    def loss(p: dict[str, Any], x: jax.Array, y: jax.Array) -> jax.Array:
        drift = sum(jnp.sum((p["backbone"][k] - anchor[k]) ** 2) for k in anchor)
        heads = jnp.sum(penalty * p["w"] ** 2)
        return _head_losses(logits_of(p, x), y, weights, trained) + config.anchor * drift + heads

    steps = max(1, -(-len(train_rows) // config.batch))

    def rate(value: float) -> optax.ScalarOrSchedule:
        return optax.cosine_decay_schedule(value, config.epochs * steps) if config.cosine else value

    groups = {"backbone": {k: "backbone" for k in anchor}, "w": "heads", "b": "heads"}
    optimiser = optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.multi_transform(
            {
                "backbone": optax.adam(rate(config.learning_rate)),
                "heads": optax.adam(rate(config.head_learning_rate)),
            },
            groups,
        ),
    )
    state = optimiser.init(params)

    @jax.jit
    def step(p, s, x, y):  # type: ignore[no-untyped-def]
        value, grads = jax.value_and_grad(loss)(p, x, y)
        updates, s = optimiser.update(grads, s, p)
        return optax.apply_updates(p, updates), s, value

    eval_logits = jax.jit(logits_of)

    def predict(p: dict[str, Any], rows: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
        # Fixed-size chunks (the last one padded): one compiled shape, not one per remainder.
        chunks = []
        for i in range(0, len(rows), config.batch):
            part = rows[i : i + config.batch]
            padded = np.resize(part, config.batch)
            chunks.append(np.asarray(eval_logits(p, _tensor(images[padded])))[: len(part)])
        return np.concatenate(chunks) if chunks else np.zeros((0, len(start.bias)), np.float32)

    def val_loss(p: dict[str, Any]) -> float:
        if len(val_rows) == 0:
            return 0.0
        return float(
            _head_losses(jnp.asarray(predict(p, val_rows)), jnp.asarray(labels[val_rows]), weights, trained)
        )

    best, best_loss, best_epoch, history = params, val_loss(params), 0, [(float("nan"), 0.0)]
    history = [(float("nan"), best_loss)]
    for epoch in range(1, config.epochs + 1):
        # Every step takes a full batch (the shuffled order wrapped round): one compiled shape.
        order = np.resize(rng.permutation(train_rows), steps * config.batch)
        losses = []
        for i in range(0, len(order), config.batch):
            rows = order[i : i + config.batch]
            x = _tensor(augment(images[rows], rng))
            params, state, value = step(params, state, x, jnp.asarray(labels[rows]))
            losses.append(float(value))
        current = val_loss(params)
        history.append((float(np.mean(losses)), current))
        if progress and epoch == 1:
            print(f"before training: validation loss {history[0][1]:.4f}", flush=True)
        if progress:
            print(
                f"epoch {epoch}: train loss {np.mean(losses):.4f}, validation loss {current:.4f}", flush=True
            )
        if current < best_loss or len(val_rows) == 0:
            best, best_loss, best_epoch = params, current, epoch
        elif epoch - best_epoch >= config.patience:
            break
        if time.perf_counter() - started > config.budget_seconds:
            break

    w, b = np.asarray(best["w"], np.float64), np.asarray(best["b"], np.float64)
    temperatures = {}
    val_logits = predict(best, val_rows).astype(np.float64)
    for h, (name, columns, activation) in enumerate(GROUPS):
        t = temperature(val_logits[:, columns], labels[val_rows, h], activation) if name in trained else 1.0
        temperatures[name] = t
        w[:, columns] /= t
        b[columns] /= t
        if name not in trained:
            w[:, columns], b[columns] = 0.0, 0.0
        elif activation == "softmax":  # a class nobody labelled stays never chosen
            present = np.bincount(
                labels[train_rows, h][labels[train_rows, h] != UNKNOWN],
                minlength=columns.stop - columns.start,
            )
            for c in np.flatnonzero(present == 0):
                w[:, columns.start + c], b[columns.start + c] = 0.0, ABSENT_CLASS_LOGIT
    heads = LinearHeads(weights=w.astype(np.float32), bias=b.astype(np.float32), trained=trained)
    return Finetuned(
        params={k: np.asarray(v, np.float32) for k, v in best["backbone"].items()},
        heads=heads,
        temperatures=temperatures,
        history=history,
        best_epoch=best_epoch,
        seconds=time.perf_counter() - started,
    )


def _tensor(crops: npt.NDArray[np.uint8]) -> jax.Array:
    return jnp.asarray(np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32))


def temperature(logits: npt.NDArray[np.float64], truth: npt.NDArray[np.int64], activation: str) -> float:
    """The temperature minimising validation NLL over a log grid; 1.0 when nothing is labelled."""
    known = truth != UNKNOWN
    if known.sum() < 2:
        return 1.0
    z, y = logits[known], truth[known]
    best, best_nll = 1.0, np.inf
    for t in TEMPERATURES:
        if activation == "sigmoid":
            s = z[:, 0] / t
            nll = np.mean(np.logaddexp(0, -s) * (y == 1) + np.logaddexp(0, s) * (y == 0))
        else:
            s = z / t
            s = s - s.max(axis=1, keepdims=True)
            nll = -np.mean(s[np.arange(len(y)), y] - np.log(np.exp(s).sum(axis=1)))
        if nll < best_nll:
            best, best_nll = float(t), float(nll)
    return best
