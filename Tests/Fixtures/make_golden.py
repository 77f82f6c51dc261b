#!/usr/bin/env python3
"""Write the PyTorch golden fixtures that the Swift model core is checked against.

Developer tool only (issue 3, "Reference check"): it needs torch, torchvision, safetensors and
segmentation-models-pytorch, none of which the Swift package or CI depends on. Run it from the
repository root with

    nice -n 19 /work/venv-torch/bin/python Tests/Fixtures/make_golden.py

and commit the regenerated ``Tests/Fixtures/golden/*.safetensors``. ``Tests/Fixtures/README.md``
documents every file, every tensor name and the tolerances the Swift tests use.

Conventions shared by every fixture
-----------------------------------
* All floating-point tensors are float32 and were computed in float32 on the CPU with one thread
  (``torch.set_num_threads(1)``) and ``torch.use_deterministic_algorithms(True)``. Integer tensors
  (class targets, ``num_batches_tracked``) are int64, as PyTorch stores them.
* Every random number comes from a ``torch.Generator`` seeded per fixture (``SEEDS`` below), so a
  fixture does not depend on which other fixtures ran before it, and two runs write identical bytes.
  Model weights are drawn by ``randomize_`` (documented there), not by PyTorch's default
  initialisers, so batch-norm affine parameters and running statistics are non-trivial.
* Gradients: a fixed random upstream gradient ``grad_output`` is stored next to ``output`` and
  the gradients come from ``output.backward(grad_output)``. Losses are scalars and use
  ``loss.backward()`` (upstream gradient 1).
* Grouped files prefix tensor names with a case name: ``<case>.input``, ``<case>.output``, ...
  Model files use PyTorch ``state_dict`` keys behind a prefix: ``param.<key>`` (the state before
  anything ran: weights *and* batch-norm buffers, i.e. a loadable state_dict once the prefix is
  stripped), ``grad.<key>`` (parameters only), ``state_after.<key>`` (batch-norm buffers after the
  train-mode forward pass).
* Files are byte-for-byte reproducible: the safetensors library writes ``__metadata__`` from a hash
  map (random key order), so ``canonical_safetensors`` rewrites the header with sorted metadata keys.
* ``__metadata__`` (string -> string, as safetensors requires) holds ``config`` (a JSON object with
  every hyper-parameter needed to rebuild the op or model elsewhere), ``torch_version``,
  ``torchvision_version``, ``smp_version``, ``fixture`` and ``generator``.
* Dropout is random and therefore has no golden fixture; where a model contains dropout modules
  (the fastai head) they are held in eval mode (identity) while the rest of the model trains.

Self-check
----------
After writing, the script reloads every file with ``safetensors.torch.load_file`` and compares it
with what it meant to write. Unless ``--no-float64-check`` is given it also recomputes every fixture
from the same float32 inputs in float64 and reports, per file, the worst "scaled error"
``max|x32 - x64| / max|x64|`` (the form of tolerance the Swift tests use: ``atol = rtol * max|expected|``).
It fails if that error exceeds a tenth of the Swift tolerance (1e-5 forward, 1e-4 gradients and
optimizer state), so a fixture that is ill-conditioned (ties, cancellation, a batch-norm over too
few values) cannot slip in.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import re
import struct
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from safetensors.torch import load_file, save
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

import segmentation_models_pytorch as smp
from segmentation_models_pytorch.base.heads import SegmentationHead
from segmentation_models_pytorch.decoders.unet.decoder import UnetDecoder
from segmentation_models_pytorch.encoders.resnet import ResNetEncoder

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "golden"
SIZE_BUDGET = 4 * 1024 * 1024  # bytes, all fixtures together

# Tolerances the Swift tests apply (issue 3); the float64 self-check demands a 10x margin below them.
RTOL_FORWARD = 1e-4
RTOL_BACKWARD = 1e-3

# One seed per fixture, so fixtures are independent of each other and of execution order.
SEEDS = {
    "conv2d": 1001,
    "batch_norm": 1002,
    "pooling": 1003,
    "activation": 1004,
    "add_concat": 1005,
    "resize": 1006,
    "pixel_shuffle": 1007,
    "linear": 1008,
    "loss": 1009,
    "optim_adamw_onecycle": 1010,
    "optim_sgd": 1011,
    "clip_grad_norm": 1012,
    "resnet_basic": 1013,
    "resnet_bottleneck": 1014,
    "classifier_fastai": 1015,
    "unet_smp": 1016,
}

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


# --------------------------------------------------------------------------------------------
# Random numbers
# --------------------------------------------------------------------------------------------


class Rand:
    """Seeded float32 draws; the caller casts to the dtype under test (float32, or float64 for
    the self-check), so both precisions start from bit-identical float32 inputs."""

    def __init__(self, seed: int):
        self.g = torch.Generator().manual_seed(seed)

    def normal(self, *shape, std: float = 1.0, mean: float = 0.0) -> torch.Tensor:
        return torch.randn(*shape, generator=self.g, dtype=torch.float32) * std + mean

    def uniform(self, low: float, high: float, *shape) -> torch.Tensor:
        return torch.rand(*shape, generator=self.g, dtype=torch.float32) * (high - low) + low

    def randint(self, low: int, high: int, *shape) -> torch.Tensor:
        return torch.randint(low, high, shape, generator=self.g, dtype=torch.int64)

    def multi_hot(self, *shape, p: float = 0.4) -> torch.Tensor:
        return (torch.rand(*shape, generator=self.g) < p).to(torch.float32)


def leaf(t: torch.Tensor, dt: torch.dtype) -> torch.Tensor:
    return t.to(dt).detach().requires_grad_(True)


def distinct(t: torch.Tensor) -> torch.Tensor:
    """Max-pooling fixtures need inputs without ties, or the routed gradient is ambiguous."""
    assert torch.unique(t).numel() == t.numel(), "tie in a max-pool input"
    return t


def randomize_(model: nn.Module, rng: Rand) -> nn.Module:
    """Deterministic weights, in ``named_modules`` order:
    Conv2d/Linear weight ~ N(0, 2/fan_in) (He, fan-in), bias ~ N(0, 0.1²);
    BatchNorm weight ~ U(0.5, 1.5), bias ~ N(0, 0.1²), running_mean ~ N(0, 0.1²),
    running_var ~ U(0.5, 1.5), num_batches_tracked = 0."""
    with torch.no_grad():
        for _, m in model.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(rng.normal(*m.weight.shape, std=math.sqrt(2.0 / fan_in)))
                if m.bias is not None:
                    m.bias.copy_(rng.normal(*m.bias.shape, std=0.1))
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = m.num_features
                m.weight.copy_(rng.uniform(0.5, 1.5, c))
                m.bias.copy_(rng.normal(c, std=0.1))
                m.running_mean.copy_(rng.normal(c, std=0.1))
                m.running_var.copy_(rng.uniform(0.5, 1.5, c))
                m.num_batches_tracked.zero_()
    return model


def bn_buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items()
            if k.endswith(("running_mean", "running_var", "num_batches_tracked"))}


def hold_dropout_in_eval(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    return model


def feature_shapes(model: nn.Module, x: torch.Tensor, names: list[str]) -> dict[str, list[int]]:
    """Output shape of each named submodule during one (no-grad, eval) forward pass."""
    shapes: dict[str, list[int]] = {}
    handles = []
    modules = dict(model.named_modules())
    for name in names:
        def hook(_m, _i, out, name=name):
            shapes[name] = list(out.shape)
        handles.append(modules[name].register_forward_hook(hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(x)
    model.train(was_training)
    for h in handles:
        h.remove()
    return shapes


def run_backward(fn, leaves: dict[str, torch.Tensor], grad_output: torch.Tensor | None):
    """``output = fn()``; backward with ``grad_output`` (or 1 for a scalar); returns output and the
    gradient of every leaf, keyed ``grad_<leaf name>``."""
    out = fn()
    if grad_output is None:
        out.backward()
    else:
        out.backward(grad_output)
    return out, {f"grad_{k}": v.grad for k, v in leaves.items()}


# --------------------------------------------------------------------------------------------
# Per-op fixtures. Each builder takes the dtype to compute in and returns (tensors, config).
# --------------------------------------------------------------------------------------------


def build_conv2d(dt):
    rng = Rand(SEEDS["conv2d"])
    # name: (N, Cin, H, W, Cout, k, stride, padding, bias)
    cases = {
        "k1s1p0_bias": (2, 5, 7, 7, 6, 1, 1, 0, True),
        "k1s1p0_nobias": (2, 5, 7, 7, 6, 1, 1, 0, False),
        "k1s2p0_nobias": (2, 8, 15, 15, 16, 1, 2, 0, False),  # ResNet downsample.0 at 15 -> 8
        "k3s1p1_bias": (2, 3, 8, 8, 4, 3, 1, 1, True),
        "k3s1p1_nobias": (2, 3, 8, 8, 4, 3, 1, 1, False),
        "k3s1p1_c16_nobias": (2, 16, 6, 6, 32, 3, 1, 1, False),  # channel counts oneDNN blocks
        "k3s2p1_bias": (2, 4, 9, 9, 6, 3, 2, 1, True),  # odd input: 9 -> 5
        "k3s2p1_nobias": (2, 4, 8, 8, 6, 3, 2, 1, False),  # even input: 8 -> 4
        "k7s2p3_bias": (2, 3, 11, 11, 4, 7, 2, 3, True),  # odd input: 11 -> 6
        "k7s2p3_nobias": (2, 3, 12, 12, 4, 7, 2, 3, False),  # ResNet stem: 12 -> 6
    }
    tensors, cfg = {}, {}
    for name, (n, cin, h, w, cout, k, s, p, bias) in cases.items():
        x = rng.normal(n, cin, h, w)
        wt = rng.normal(cout, cin, k, k, std=math.sqrt(2.0 / (cin * k * k)))
        b = rng.normal(cout, std=0.1) if bias else None
        ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        go = rng.normal(n, cout, ho, wo)
        leaves = {"input": leaf(x, dt), "weight": leaf(wt, dt)}
        if bias:
            leaves["bias"] = leaf(b, dt)
        out, grads = run_backward(
            lambda: F.conv2d(leaves["input"], leaves["weight"], leaves.get("bias"), stride=s, padding=p),
            leaves, go.to(dt))
        assert list(out.shape) == [n, cout, ho, wo]
        for k2, v in {**leaves, "output": out, "grad_output": go, **grads}.items():
            tensors[f"{name}.{k2}"] = v
        cfg[name] = {"in_channels": cin, "out_channels": cout, "kernel_size": [k, k], "stride": [s, s],
                     "padding": [p, p], "dilation": [1, 1], "groups": 1, "bias": bias,
                     "input_shape": [n, cin, h, w], "output_shape": [n, cout, ho, wo]}
    return tensors, {"op": "torch.nn.functional.conv2d", "cases": cfg,
                     "tensors": "input, weight [Cout,Cin,kh,kw], bias (if bias), output, grad_output, "
                                "grad_input, grad_weight, grad_bias (if bias)"}


def build_batch_norm(dt):
    rng = Rand(SEEDS["batch_norm"])
    # name: (kind, input shape, training)
    cases = {
        "bn2d_train": ("2d", (4, 6, 5, 5), True),
        "bn2d_eval": ("2d", (4, 6, 5, 5), False),
        "bn2d_train_c32": ("2d", (2, 32, 4, 4), True),
        "bn1d_train": ("1d", (5, 7), True),
        "bn1d_eval": ("1d", (5, 7), False),
    }
    tensors, cfg = {}, {}
    for name, (kind, shape, training) in cases.items():
        c = shape[1]
        view = (1, c) + (1,) * (len(shape) - 2)
        # Channel means and scales away from 0 and 1 so the running-statistics update is visible.
        x = rng.normal(*shape) * rng.uniform(0.5, 2.0, c).view(view) + rng.normal(c).view(view)
        weight, bias = rng.uniform(0.5, 1.5, c), rng.normal(c, std=0.1)
        rmean, rvar = rng.normal(c, std=0.1), rng.uniform(0.5, 1.5, c)
        go = rng.normal(*shape)
        m = (nn.BatchNorm2d if kind == "2d" else nn.BatchNorm1d)(c, eps=BN_EPS, momentum=BN_MOMENTUM).to(dt)
        with torch.no_grad():
            m.weight.copy_(weight)
            m.bias.copy_(bias)
            m.running_mean.copy_(rmean)
            m.running_var.copy_(rvar)
            m.num_batches_tracked.fill_(3)
        before = {k: v.clone() for k, v in m.state_dict().items()}
        m.train(training)
        xin = leaf(x, dt)
        out = m(xin)
        out.backward(go.to(dt))
        dims = [0] + list(range(2, len(shape)))
        t = {
            "input": xin, "weight": before["weight"], "bias": before["bias"],
            "running_mean": before["running_mean"], "running_var": before["running_var"],
            "num_batches_tracked": before["num_batches_tracked"],
            "output": out, "grad_output": go, "grad_input": xin.grad,
            "grad_weight": m.weight.grad, "grad_bias": m.bias.grad,
            "running_mean_after": m.running_mean, "running_var_after": m.running_var,
            "num_batches_tracked_after": m.num_batches_tracked,
        }
        if training:
            xd = x.to(dt)
            t["batch_mean"] = xd.mean(dim=dims)
            t["batch_var_biased"] = xd.var(dim=dims, unbiased=False)
        for k, v in t.items():
            tensors[f"{name}.{k}"] = v
        cfg[name] = {"module": f"torch.nn.BatchNorm{kind}", "num_features": c, "eps": BN_EPS,
                     "momentum": BN_MOMENTUM, "affine": True, "track_running_stats": True,
                     "training": training, "input_shape": list(shape),
                     "reduced_count": int(math.prod(shape) // c)}
    notes = ("training: y = (x - mean_B) / sqrt(var_B + eps) * weight + bias with the biased batch variance; "
             "running_mean <- (1 - momentum) * running_mean + momentum * mean_B; "
             "running_var <- (1 - momentum) * running_var + momentum * var_B * n / (n - 1) (UNBIASED, "
             "n = reduced_count = N*H*W); num_batches_tracked += 1. eval: running statistics, buffers unchanged. "
             "Buffers before the step: running_mean, running_var, num_batches_tracked (int64, 3); after: *_after.")
    return tensors, {"op": "batch_norm", "cases": cfg, "notes": notes}


class AdaptiveConcatPool2d(nn.Module):
    """fastai v1 ``layers.AdaptiveConcatPool2d``: ``torch.cat([max_pool, avg_pool], 1)`` (max FIRST)."""

    def __init__(self, size: int = 1):
        super().__init__()
        self.mp, self.ap = nn.AdaptiveMaxPool2d(size), nn.AdaptiveAvgPool2d(size)

    def forward(self, x):
        return torch.cat([self.mp(x), self.ap(x)], 1)


def build_pooling(dt):
    rng = Rand(SEEDS["pooling"])
    cases = {
        "max_k3s2p1": ((2, 4, 9, 9), dict(op="max_pool2d", kernel_size=3, stride=2, padding=1),
                       lambda x: F.max_pool2d(x, 3, 2, 1)),
        "max_k3s2p1_15": ((2, 3, 15, 15), dict(op="max_pool2d", kernel_size=3, stride=2, padding=1),
                          lambda x: F.max_pool2d(x, 3, 2, 1)),  # odd size, as the stride-2 stages see at 120 px (15 -> 8)
        "max_k2s2p0": ((2, 3, 8, 8), dict(op="max_pool2d", kernel_size=2, stride=2, padding=0),
                       lambda x: F.max_pool2d(x, 2, 2, 0)),
        "avg_k2s2p0": ((2, 3, 8, 8), dict(op="avg_pool2d", kernel_size=2, stride=2, padding=0,
                                          count_include_pad=True),
                       lambda x: F.avg_pool2d(x, 2, 2, 0)),
        "avg_k3s2p1": ((2, 3, 9, 9), dict(op="avg_pool2d", kernel_size=3, stride=2, padding=1,
                                          count_include_pad=True),
                       lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=True)),
        "avg_k3s2p1_excl": ((2, 3, 9, 9), dict(op="avg_pool2d", kernel_size=3, stride=2, padding=1,
                                               count_include_pad=False),
                            lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)),
        "avg_k2s1p0": ((2, 3, 6, 6), dict(op="avg_pool2d", kernel_size=2, stride=1, padding=0,
                                          count_include_pad=True),
                       lambda x: F.avg_pool2d(x, 2, 1, 0)),  # fastai blur's AvgPool2d(2, stride=1)
        "adaptive_avg_1": ((2, 6, 5, 5), dict(op="adaptive_avg_pool2d", output_size=[1, 1]),
                           lambda x: F.adaptive_avg_pool2d(x, 1)),
        "adaptive_max_1": ((2, 6, 5, 5), dict(op="adaptive_max_pool2d", output_size=[1, 1]),
                           lambda x: F.adaptive_max_pool2d(x, 1)),
        "adaptive_concat_1": ((2, 6, 5, 5), dict(op="fastai AdaptiveConcatPool2d", output_size=[1, 1],
                                                 order="cat([adaptive_max_pool2d, adaptive_avg_pool2d], dim=1)"),
                              AdaptiveConcatPool2d(1)),
    }
    tensors, cfg = {}, {}
    for name, (shape, c, fn) in cases.items():
        x = distinct(rng.normal(*shape))
        xin = leaf(x, dt)
        with torch.no_grad():
            oshape = fn(x).shape
        go = rng.normal(*oshape)
        out, grads = run_backward(lambda: fn(xin), {"input": xin}, go.to(dt))
        for k, v in {"input": xin, "output": out, "grad_output": go, **grads}.items():
            tensors[f"{name}.{k}"] = v
        cfg[name] = {**c, "ceil_mode": False, "input_shape": list(shape), "output_shape": list(oshape)}
    notes = ("max_pool2d pads with -inf; inputs have no ties. avg_pool2d count_include_pad=True divides by "
             "kernel area including zero padding (PyTorch default), False by the in-bounds count.")
    return tensors, {"op": "pooling", "cases": cfg, "notes": notes}


def build_activation(dt):
    rng = Rand(SEEDS["activation"])
    tensors, cfg = {}, {}
    # relu: N(0,1), no exact zeros (relu'(0) is 0 in PyTorch; avoided so no convention is tested).
    x = rng.normal(2, 3, 4, 4)
    assert (x != 0).all()
    # sigmoid: wide range, including saturated values, to exercise a stable formulation.
    xs = torch.cat([rng.normal(2, 3, 4, 4, std=4.0).flatten(),
                    torch.tensor([-30.0, -20.0, -9.5, 9.5, 20.0, 30.0, 0.0, 1e-3])]).view(2, 4, 13)
    for name, inp, fn in (("relu", x, torch.relu), ("sigmoid", xs, torch.sigmoid)):
        go = rng.normal(*inp.shape)
        xin = leaf(inp, dt)
        out, grads = run_backward(lambda: fn(xin), {"input": xin}, go.to(dt))
        for k, v in {"input": xin, "output": out, "grad_output": go, **grads}.items():
            tensors[f"{name}.{k}"] = v
        cfg[name] = {"op": f"torch.{name}", "input_shape": list(inp.shape)}
    return tensors, {"op": "activation", "cases": cfg,
                     "notes": "dropout is random and has no fixture (the models hold it in eval mode)."}


def build_add_concat(dt):
    rng = Rand(SEEDS["add_concat"])
    tensors = {}
    a, b = rng.normal(2, 4, 5, 5), rng.normal(2, 4, 5, 5)
    go = rng.normal(2, 4, 5, 5)
    la, lb = leaf(a, dt), leaf(b, dt)
    out, grads = run_backward(lambda: la + lb, {"a": la, "b": lb}, go.to(dt))
    for k, v in {"a": la, "b": lb, "output": out, "grad_output": go, **grads}.items():
        tensors[f"add.{k}"] = v
    a, b = rng.normal(2, 3, 4, 4), rng.normal(2, 5, 4, 4)
    go = rng.normal(2, 8, 4, 4)
    la, lb = leaf(a, dt), leaf(b, dt)
    out, grads = run_backward(lambda: torch.cat([la, lb], dim=1), {"a": la, "b": lb}, go.to(dt))
    for k, v in {"a": la, "b": lb, "output": out, "grad_output": go, **grads}.items():
        tensors[f"concat.{k}"] = v
    cfg = {"add": {"op": "a + b (residual add)", "shape": [2, 4, 5, 5]},
           "concat": {"op": "torch.cat([a, b], dim=1) (channel concat)", "a_shape": [2, 3, 4, 4],
                      "b_shape": [2, 5, 4, 4], "dim": 1}}
    return tensors, {"op": "add_concat", "cases": cfg}


def build_resize(dt):
    rng = Rand(SEEDS["resize"])
    cases = {
        # name: (input shape, kwargs for F.interpolate)
        "nearest_x2": ((2, 3, 4, 4), dict(scale_factor=2.0, mode="nearest")),
        "nearest_8_to_15": ((2, 3, 8, 8), dict(size=(15, 15), mode="nearest")),  # smp decoder at 120 px
        "nearest_16_to_15": ((2, 3, 16, 16), dict(size=(15, 15), mode="nearest")),  # fastai DynamicUnet block1
        "nearest_8x6_to_15x11": ((2, 3, 8, 6), dict(size=(15, 11), mode="nearest")),  # catches H/W mix-ups
        "bilinear_8_to_15": ((2, 3, 8, 8), dict(size=(15, 15), mode="bilinear", align_corners=False)),
        "bilinear_x2": ((2, 3, 4, 4), dict(scale_factor=2.0, mode="bilinear", align_corners=False)),
        "bilinear_8x6_to_15x11": ((2, 3, 8, 6), dict(size=(15, 11), mode="bilinear", align_corners=False)),
    }
    tensors, cfg = {}, {}
    for name, (shape, kw) in cases.items():
        x = rng.normal(*shape)
        with torch.no_grad():
            oshape = F.interpolate(x, **kw).shape
        go = rng.normal(*oshape)
        xin = leaf(x, dt)
        out, grads = run_backward(lambda: F.interpolate(xin, **kw), {"input": xin}, go.to(dt))
        for k, v in {"input": xin, "output": out, "grad_output": go, **grads}.items():
            tensors[f"{name}.{k}"] = v
        c = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}
        cfg[name] = {**c, "input_shape": list(shape), "output_shape": list(oshape)}
    notes = ("torch.nn.functional.interpolate. mode='nearest' (legacy PyTorch nearest, used by smp and fastai): "
             "src = min(floor(dst * scale), in - 1) with scale = in / out (or 1 / scale_factor when given). "
             "bilinear, align_corners=False: src = max((dst + 0.5) * scale - 0.5, 0), the two neighbours "
             "floor(src) and min(floor(src) + 1, in - 1) weighted linearly. Backward scatters (adds) "
             "grad_output into the source pixels with the same weights.")
    return tensors, {"op": "interpolate", "cases": cfg, "notes": notes}


def build_pixel_shuffle(dt):
    rng = Rand(SEEDS["pixel_shuffle"])
    x = rng.normal(2, 8, 3, 4)
    go = rng.normal(2, 2, 6, 8)
    xin = leaf(x, dt)
    out, grads = run_backward(lambda: F.pixel_shuffle(xin, 2), {"input": xin}, go.to(dt))
    tensors = {f"r2.{k}": v for k, v in {"input": xin, "output": out, "grad_output": go, **grads}.items()}
    cfg = {"r2": {"upscale_factor": 2, "input_shape": [2, 8, 3, 4], "output_shape": [2, 2, 6, 8]}}
    return tensors, {"op": "torch.nn.functional.pixel_shuffle", "cases": cfg,
                     "notes": "out[n, c, h*r + i, w*r + j] = in[n, c*r*r + i*r + j, h, w]"}


def build_linear(dt):
    rng = Rand(SEEDS["linear"])
    tensors, cfg = {}, {}
    for name, bias in (("bias", True), ("nobias", False)):
        x = rng.normal(4, 10)
        wt = rng.normal(6, 10, std=math.sqrt(2.0 / 10))
        b = rng.normal(6, std=0.1) if bias else None
        go = rng.normal(4, 6)
        leaves = {"input": leaf(x, dt), "weight": leaf(wt, dt)}
        if bias:
            leaves["bias"] = leaf(b, dt)
        out, grads = run_backward(lambda: F.linear(leaves["input"], leaves["weight"], leaves.get("bias")),
                                  leaves, go.to(dt))
        for k, v in {**leaves, "output": out, "grad_output": go, **grads}.items():
            tensors[f"{name}.{k}"] = v
        cfg[name] = {"in_features": 10, "out_features": 6, "bias": bias, "input_shape": [4, 10]}
    return tensors, {"op": "torch.nn.functional.linear", "cases": cfg,
                     "notes": "output = input @ weight.T + bias; weight is [out_features, in_features]"}


def build_loss(dt):
    rng = Rand(SEEDS["loss"])
    tensors, cfg = {}, {}
    # BCE-with-logits, mean over all N*C cells, multi-hot targets; a few saturated logits.
    logits = rng.normal(4, 5, std=2.0)
    logits[0, 0], logits[1, 1], logits[2, 2], logits[3, 3] = 30.0, -30.0, 15.0, -15.0
    target = rng.multi_hot(4, 5)
    target[0, 0], target[1, 1], target[2, 2], target[3, 3] = 0.0, 1.0, 1.0, 0.0
    xin = leaf(logits, dt)
    loss, grads = run_backward(lambda: F.binary_cross_entropy_with_logits(xin, target.to(dt)), {"input": xin}, None)
    for k, v in {"input": xin, "target": target, "loss": loss, **grads}.items():
        tensors[f"bce_mean.{k}"] = v
    cfg["bce_mean"] = {"loss": "torch.nn.BCEWithLogitsLoss", "reduction": "mean", "pos_weight": None,
                       "input_shape": [4, 5],
                       "formula": "mean(max(x, 0) - x * y + log(1 + exp(-|x|)))"}
    # Per-pixel softmax cross-entropy; class 0 = no data.
    n, c, h, w = 2, 5, 4, 4
    weight = rng.uniform(0.5, 2.0, c)
    for name, use_weight, ignore in (("ce_ignore0_weighted", True, 0), ("ce_ignore0", False, 0),
                                     ("ce_plain", False, -100)):
        logits = rng.normal(n, c, h, w, std=2.0)
        target = rng.randint(0, c, n, h, w)
        if ignore == 0:
            assert (target == 0).any() and (target != 0).any()
        xin = leaf(logits, dt)
        wt = weight.to(dt) if use_weight else None
        loss, grads = run_backward(
            lambda: F.cross_entropy(xin, target, weight=wt, ignore_index=ignore, reduction="mean"),
            {"input": xin}, None)
        t = {"input": xin, "target": target, "loss": loss, **grads}
        if use_weight:
            t["weight"] = weight
        for k, v in t.items():
            tensors[f"{name}.{k}"] = v
        cfg[name] = {"loss": "torch.nn.CrossEntropyLoss", "reduction": "mean", "ignore_index": ignore,
                     "weight": use_weight, "label_smoothing": 0.0, "input_shape": [n, c, h, w],
                     "target_shape": [n, h, w], "target_dtype": "int64",
                     "formula": "sum over pixels with t != ignore_index of w[t] * -log_softmax(x)[t], "
                                "divided by the sum of w[t] over the same pixels (w = 1 without weights)"}
    return tensors, {"op": "loss", "cases": cfg,
                     "notes": "scalar losses; grad_input is d loss / d input (loss.backward())."}


# --------------------------------------------------------------------------------------------
# Optimizers and schedule
# --------------------------------------------------------------------------------------------

ONECYCLE = dict(pct_start=0.3, anneal_strategy="cos", div_factor=25.0, final_div_factor=1e4,
                cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, three_phase=False)
ADAMW = dict(betas=(0.95, 0.99), eps=1e-8, weight_decay=0.01, amsgrad=False)  # fastai v1 / the paper
# The training run uses fastai v2's eps 1e-5: with eps 1e-8 an Adam step maps a gradient element of
# ~1e-8 (float32 noise where the exact gradient is ~0) to a full +-lr update, so the float32 result
# of three steps depends on rounding (measured: up to 2.7e-3 scaled error against float64).
ADAMW_TRAIN = dict(ADAMW, eps=1e-5)


def fastai_v1_schedule(n: int, lr_max: float, div: float = 25.0, pct_start: float = 0.3,
                       moms=(0.95, 0.85)) -> list[dict]:
    """The paper-era schedule (fastai/fastai v1 ``callbacks/one_cycle.py`` OneCycleScheduler and
    ``callback.py`` Stepper/annealing_cos), re-derived here for comparison only: batch b (1-based)
    uses the value set after batch b-1. Nothing in the fixtures is trained with it."""
    a1 = int(n * pct_start)
    a2 = n - a1
    low = lr_max / div

    def cos(s, e, p):
        return e + (s - e) / 2 * (math.cos(math.pi * p) + 1)

    rows = [{"step": 1, "lr": low, "beta1": moms[0]}]
    for b in range(2, n + 1):
        k = b - 1  # Stepper calls made so far
        if k <= a1:
            rows.append({"step": b, "lr": cos(low, lr_max, k / a1), "beta1": cos(moms[0], moms[1], k / a1)})
        else:
            j = k - a1
            rows.append({"step": b, "lr": cos(lr_max, low / 1e4, j / a2), "beta1": cos(moms[1], moms[0], j / a2)})
    return rows


ADAMW_ALGORITHM = (
    "torch.optim.AdamW, per parameter at step t (1-based) with the group's current lr and beta1: "
    "p <- p * (1 - lr * weight_decay); m <- beta1 * m + (1 - beta1) * g; v <- beta2 * v + (1 - beta2) * g^2; "
    "p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps). The bias correction uses the "
    "beta1 of the current step (as fastai v1, which wraps torch.optim.Adam, also does). Decoupled weight decay "
    "equals fastai v1's true_wd (p *= 1 - wd*lr before the Adam step) and, as fastai v1 with bn_wd=True, "
    "applies to every parameter.")


def build_optim_adamw_onecycle(dt):
    rng = Rand(SEEDS["optim_adamw_onecycle"])
    steps = 10
    shapes = {"p0": (4, 3, 3, 3), "p1": (6, 5), "p2": (7,), "p3": (7,)}
    groups = [["p0"], ["p1"], ["p2", "p3"]]
    max_lrs = [3e-4, 3e-4, 3e-3]  # fastai v1 slice(3e-3) over 3 layer groups: [lr/10, lr/10, lr]
    init = {k: rng.normal(*s) for k, s in shapes.items()}
    grads = [{k: rng.normal(*s) for k, s in shapes.items()} for _ in range(steps)]
    params = {k: leaf(v, dt) for k, v in init.items()}
    opt = torch.optim.AdamW([{"params": [params[k] for k in g]} for g in groups], lr=max_lrs[-1], **ADAMW)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lrs, total_steps=steps, **ONECYCLE)
    tensors = {f"param.{k}": v.detach().clone() for k, v in params.items()}
    schedule = []
    for t in range(1, steps + 1):
        schedule.append({"step": t, "lr": [g["lr"] for g in opt.param_groups],
                         "beta1": [g["betas"][0] for g in opt.param_groups],
                         "beta2": [g["betas"][1] for g in opt.param_groups]})
        for k, p in params.items():
            p.grad = grads[t - 1][k].to(dt).clone()  # the optimizer must not touch the stored copy
        opt.step()
        sched.step()
        for k, p in params.items():
            st = opt.state[p]
            tensors[f"step{t}.grad.{k}"] = grads[t - 1][k]
            tensors[f"step{t}.param.{k}"] = p.detach().clone()
            tensors[f"step{t}.exp_avg.{k}"] = st["exp_avg"].clone()
            tensors[f"step{t}.exp_avg_sq.{k}"] = st["exp_avg_sq"].clone()
    cfg = {
        "optimizer": {"class": "torch.optim.AdamW", **{k: (list(v) if isinstance(v, tuple) else v)
                                                       for k, v in ADAMW.items()},
                      "maximize": False, "foreach": None,
                      "param_groups": [{"params": g, "max_lr": lr} for g, lr in zip(groups, max_lrs)],
                      "algorithm": ADAMW_ALGORITHM},
        "scheduler": {"class": "torch.optim.lr_scheduler.OneCycleLR", "total_steps": steps,
                      "max_lr": max_lrs, **ONECYCLE,
                      "formula": "initial_lr = max_lr / div_factor, min_lr = initial_lr / final_div_factor "
                                 "(= max_lr / 2.5e5, fastai v1's final lr). Step s = t - 1 (0-based): phase 1 "
                                 "for s <= pct_start * total_steps - 1 =: e1, lr = cos_anneal(initial_lr, max_lr, "
                                 "s / e1), beta1 = cos_anneal(max_momentum, base_momentum, s / e1); phase 2 "
                                 "lr = cos_anneal(max_lr, min_lr, (s - e1) / (total_steps - 1 - e1)), beta1 = "
                                 "cos_anneal(base_momentum, max_momentum, same). cos_anneal(a, b, p) = "
                                 "b + (a - b) / 2 * (1 + cos(pi * p)). The optimizer's betas[0] is overwritten "
                                 "with beta1."},
        "steps": steps,
        "schedule_used": schedule,
        "fastai_v1_schedule_for_comparison": {
            "note": "NOT used for the tensors above. fastai v1 (the paper) indexes the cycle differently: it "
                    "peaks one batch later and never uses its final lr. Derived from fastai/fastai v1 "
                    "fastai/callbacks/one_cycle.py + fastai/callback.py; lr of the last group (lr_max 3e-3).",
            "rows": fastai_v1_schedule(steps, max_lrs[-1])},
        "shapes": {k: list(s) for k, s in shapes.items()},
        "tensors": "param.<p> before step 1; step<t>.grad.<p> (the gradient fed to step t), step<t>.param.<p>, "
                   "step<t>.exp_avg.<p>, step<t>.exp_avg_sq.<p> after step t",
    }
    return tensors, cfg


def build_optim_sgd(dt):
    rng = Rand(SEEDS["optim_sgd"])
    steps = 3
    hp = dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.01, nesterov=False)
    shapes = {"p0": (5, 4), "p1": (6,)}
    init = {k: rng.normal(*s) for k, s in shapes.items()}
    grads = [{k: rng.normal(*s) for k, s in shapes.items()} for _ in range(steps)]
    params = {k: leaf(v, dt) for k, v in init.items()}
    opt = torch.optim.SGD(list(params.values()), **hp)
    tensors = {f"param.{k}": v.detach().clone() for k, v in params.items()}
    for t in range(1, steps + 1):
        for k, p in params.items():
            p.grad = grads[t - 1][k].to(dt).clone()  # the optimizer must not touch the stored copy
        opt.step()
        for k, p in params.items():
            tensors[f"step{t}.grad.{k}"] = grads[t - 1][k]
            tensors[f"step{t}.param.{k}"] = p.detach().clone()
            tensors[f"step{t}.momentum_buffer.{k}"] = opt.state[p]["momentum_buffer"].clone()
    cfg = {"optimizer": {"class": "torch.optim.SGD", **hp, "maximize": False},
           "steps": steps, "shapes": {k: list(s) for k, s in shapes.items()},
           "algorithm": "g <- g + weight_decay * p (coupled L2); buf <- g at step 1, else momentum * buf + "
                        "(1 - dampening) * g; p <- p - lr * buf",
           "tensors": "param.<p> before step 1; step<t>.grad.<p>, step<t>.param.<p>, step<t>.momentum_buffer.<p>"}
    return tensors, cfg


def build_clip_grad_norm(dt):
    rng = Rand(SEEDS["clip_grad_norm"])
    tensors, cfg = {}, {}
    for name, scale, max_norm in (("clipped", 1.0, 1.0), ("unclipped", 0.05, 1.0)):
        grads = {"g0": rng.normal(3, 4) * scale, "g1": rng.normal(5) * scale}
        ps = {k: torch.zeros(v.shape, dtype=dt, requires_grad=True) for k, v in grads.items()}
        for k, p in ps.items():
            p.grad = grads[k].to(dt).clone()  # clipped in place; the stored copy stays
        total = torch.nn.utils.clip_grad_norm_(list(ps.values()), max_norm=max_norm, norm_type=2.0)
        for k in grads:
            tensors[f"{name}.grad.{k}"] = grads[k]
            tensors[f"{name}.clipped.{k}"] = ps[k].grad.clone()
        tensors[f"{name}.total_norm"] = total
        cfg[name] = {"max_norm": max_norm, "norm_type": 2.0, "error_if_nonfinite": False}
    return tensors, {"op": "torch.nn.utils.clip_grad_norm_", "cases": cfg,
                     "formula": "total_norm = ||(||g_i||_2)_i||_2 over all parameters; every gradient is "
                                "multiplied by min(1, max_norm / (total_norm + 1e-6)); total_norm is returned "
                                "before clipping"}


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------

_PLANES_INDEX = {64: 0, 128: 1, 256: 2, 512: 3}


class _ReducedWidths:
    """Mixin over torchvision's ``ResNet``: ``_make_layer`` maps torchvision's planes 64/128/256/512 to
    ``self._widths``; the stem is rebuilt with ``widths[0]`` channels afterwards. Module names are
    torchvision's, because torchvision's own ``__init__`` builds the modules."""

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        if planes == 64:
            self.inplanes = self._widths[0]
        return super()._make_layer(block, self._widths[_PLANES_INDEX[planes]], blocks, stride, dilate)

    def _rebuild_stem(self):
        w0 = self._widths[0]
        self.conv1 = nn.Conv2d(3, w0, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w0)


class ReducedResNet(_ReducedWidths, ResNet):
    def __init__(self, block, layers, widths, num_classes):
        object.__setattr__(self, "_widths", tuple(widths))
        super().__init__(block, layers, num_classes=num_classes)
        self._rebuild_stem()
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)


class ReducedResNetBody(ReducedResNet):
    """fastai's ``create_body``: the ResNet without avgpool and fc (cut = -2)."""

    def __init__(self, block, layers, widths):
        super().__init__(block, layers, widths, num_classes=1)
        del self.avgpool
        del self.fc

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class ReducedResNetEncoder(_ReducedWidths, ResNetEncoder):
    """smp's ``ResNetEncoder`` (a torchvision ResNet subclass) with reduced widths."""

    def __init__(self, block, layers, widths, depth=5):
        object.__setattr__(self, "_widths", tuple(widths))
        e = block.expansion
        out_channels = [3, widths[0], widths[0] * e, widths[1] * e, widths[2] * e, widths[3] * e]
        super().__init__(out_channels=out_channels, depth=depth, block=block, layers=layers)
        self._rebuild_stem()


def torchvision_keys(block, layers, num_classes) -> list[str]:
    """Key list of torchvision's own ResNet with the same block and layer counts (full widths)."""
    return list(ResNet(block, layers, num_classes=num_classes).state_dict().keys())


def check_keys(mine: list[str], reference: list[str], what: str):
    if mine != reference:
        missing = [k for k in reference if k not in mine]
        extra = [k for k in mine if k not in reference]
        raise AssertionError(f"{what}: key mismatch; missing {missing[:5]}, extra {extra[:5]}")


def check_shapes_scale(model: nn.Module, reference: nn.Module, what: str):
    """Same keys and same tensor ranks as the reference (widths differ, structure does not)."""
    a, b = model.state_dict(), reference.state_dict()
    check_keys(list(a), list(b), what)
    for k in a:
        assert a[k].dim() == b[k].dim(), f"{what}: rank of {k}"


def arch_config(block, layers, widths, num_classes=None):
    e = block.expansion
    cfg = {"block": block.__name__, "expansion": e, "layers": list(layers), "widths": list(widths),
           "stage_out_channels": [w * e for w in widths], "stem": "conv7x7/2 p3 (no bias) -> bn -> relu -> "
           "maxpool3x3/2 p1", "in_channels": 3, "groups": 1, "width_per_group": 64, "zero_init_residual": False,
           "downsample": "conv1x1(stride) no bias -> bn, when stride != 1 or in != planes*expansion",
           "bottleneck_stride": "on the 3x3 conv (torchvision v1.5)" if block is Bottleneck else None,
           "batch_norm": {"eps": BN_EPS, "momentum": BN_MOMENTUM},
           "torchvision": f"torchvision.models.resnet.ResNet({block.__name__}, {list(layers)}) with planes "
                          f"64/128/256/512 replaced by {list(widths)}; identical module names"}
    if num_classes is not None:
        cfg["num_classes"] = num_classes
    return cfg


RESNET_FEATURES = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]


def resnet_forward_backward(model, x, go, prefix, tensors, grad_keys=None):
    """eval output from the initial state, then one train-mode forward/backward from the same state."""
    initial = copy.deepcopy(model.state_dict())
    model.eval()
    with torch.no_grad():
        tensors[f"{prefix}output_eval"] = model(x)
    model.load_state_dict(initial)
    model.train()
    model.zero_grad(set_to_none=True)
    xin = x.detach().clone().requires_grad_(True)
    out = model(xin)
    out.backward(go)
    tensors[f"{prefix}input"] = x
    tensors[f"{prefix}output"] = out
    tensors[f"{prefix}grad_output"] = go
    tensors[f"{prefix}grad_input"] = xin.grad
    for k, p in model.named_parameters():
        if grad_keys is None or k in grad_keys:
            tensors[f"{prefix}grad.{k}"] = p.grad
    for k, v in bn_buffers(model).items():
        tensors[f"{prefix}state_after.{k}"] = v.clone()
    model.load_state_dict(initial)


def build_resnet(dt, name, block, layers, widths, num_classes, shape, at120):
    rng = Rand(SEEDS[name])
    torch.manual_seed(SEEDS[name])  # only module construction; every value is overwritten by randomize_
    model = randomize_(ReducedResNet(block, layers, widths, num_classes), rng)
    check_keys(list(model.state_dict()), torchvision_keys(block, layers, num_classes), name)
    x = rng.normal(*shape)
    go = rng.normal(shape[0], num_classes)
    x120 = rng.normal(1, 3, 120, 120) if at120 else None
    go120 = rng.normal(1, num_classes) if at120 else None
    model = model.to(dt)
    tensors = {f"param.{k}": v.clone() for k, v in model.state_dict().items()}
    resnet_forward_backward(model, x.to(dt), go.to(dt), "", tensors)
    cfg = {"model": arch_config(block, layers, widths, num_classes), "input_shape": list(shape),
           "feature_shapes": feature_shapes(model, x.to(dt), RESNET_FEATURES + ["avgpool", "fc"]),
           "order": "output_eval: model.eval() on param.*; then, from param.* again, model.train(), "
                    "output = model(input), output.backward(grad_output) -> grad_input, grad.*, state_after.*",
           "param_count": sum(p.numel() for p in model.parameters())}
    if at120:
        # Of the parameter gradients only the first and last layer's are stored (whole-chain checks).
        resnet_forward_backward(model, x120.to(dt), go120.to(dt), "at120.", tensors,
                                grad_keys=("conv1.weight", "fc.weight"))
        cfg["at120"] = {"input_shape": [1, 3, 120, 120],
                        "feature_shapes": feature_shapes(model, x120.to(dt), RESNET_FEATURES + ["avgpool", "fc"]),
                        "tensors": "at120.input, at120.output_eval, at120.output, at120.grad_output, "
                                   "at120.grad_input, at120.grad.conv1.weight, at120.grad.fc.weight, "
                                   "at120.state_after.* (same weights: param.*; other parameter gradients "
                                   "not stored)"}
    return tensors, cfg


def build_resnet_basic(dt):
    return build_resnet(dt, "resnet_basic", BasicBlock, [1, 1, 1, 1], (8, 16, 32, 64), 5, (2, 3, 64, 64), True)


def build_resnet_bottleneck(dt):
    return build_resnet(dt, "resnet_bottleneck", Bottleneck, [1, 2, 1, 1], (4, 8, 16, 32), 5, (2, 3, 64, 64), False)


class FastaiClassifier(nn.Module):
    """fastai v1 ``cnn_learner`` model: ``Sequential(body, head)``, here with readable names
    ``body`` (torchvision names inside) and ``head`` (fastai's Sequential indices inside)."""

    def __init__(self, body: nn.Module, nf: int, hidden: int, n_classes: int, ps=(0.25, 0.5)):
        super().__init__()
        self.body = body
        self.head = nn.Sequential(
            AdaptiveConcatPool2d(1),  # head.0
            nn.Flatten(),  # head.1
            nn.BatchNorm1d(nf),  # head.2
            nn.Dropout(ps[0]),  # head.3
            nn.Linear(nf, hidden),  # head.4
            nn.ReLU(inplace=True),  # head.5
            nn.BatchNorm1d(hidden),  # head.6
            nn.Dropout(ps[1]),  # head.7
            nn.Linear(hidden, n_classes),  # head.8
        )

    def forward(self, x):
        return self.head(self.body(x))


FASTAI_KEY_MAP = ("fastai v1 names the model nn.Sequential(body, head): body.conv1 -> 0.0, body.bn1 -> 0.1, "
                  "body.layer1 -> 0.4, body.layer2 -> 0.5, body.layer3 -> 0.6, body.layer4 -> 0.7 "
                  "(relu 0.2 and maxpool 0.3 have no parameters); head.<i> -> 1.<i>.")


def build_classifier_fastai(dt):
    name = "classifier_fastai"
    rng = Rand(SEEDS[name])
    torch.manual_seed(SEEDS[name])
    block, layers, widths, n_classes, hidden = BasicBlock, [1, 1, 1, 1], (4, 8, 16, 32), 5, 32
    nf = 2 * widths[3] * block.expansion
    model = randomize_(FastaiClassifier(ReducedResNetBody(block, layers, widths), nf, hidden, n_classes), rng)
    body_ref = [k for k in torchvision_keys(block, layers, n_classes) if not k.startswith("fc.")]
    check_keys([k[5:] for k in model.state_dict() if k.startswith("body.")], body_ref, name)
    # BatchNorm1d in train mode needs several samples: batch 4 (a batch of 2 would normalise each
    # feature to +-1 and make the gradient through it vanish).
    x = rng.normal(4, 3, 32, 32)
    target = rng.multi_hot(4, n_classes)
    model = model.to(dt)
    x = x.to(dt)
    initial = copy.deepcopy(model.state_dict())
    tensors = {f"param.{k}": v.clone() for k, v in initial.items()}
    tensors["input"], tensors["target"] = x, target
    loss_fn = nn.BCEWithLogitsLoss()

    model.eval()
    with torch.no_grad():
        tensors["output_eval"] = model(x)
    model.load_state_dict(initial)
    hold_dropout_in_eval(model.train())
    xin = x.detach().clone().requires_grad_(True)
    out = model(xin)
    loss = loss_fn(out, target.to(dt))
    loss.backward()
    tensors["output"], tensors["loss"], tensors["grad_input"] = out, loss, xin.grad
    for k, p in model.named_parameters():
        tensors[f"grad.{k}"] = p.grad
    for k, v in bn_buffers(model).items():
        tensors[f"state_after.{k}"] = v.clone()

    # Tiny training run from the same initial state: AdamW + OneCycleLR, same batch every step.
    model.load_state_dict(initial)
    model.zero_grad(set_to_none=True)
    total_steps, run_steps, max_lr = 10, 3, 3e-3
    opt = torch.optim.AdamW(model.parameters(), lr=max_lr, **ADAMW_TRAIN)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total_steps, **ONECYCLE)
    losses, schedule = [], []
    for t in range(1, run_steps + 1):
        schedule.append({"step": t, "lr": opt.param_groups[0]["lr"], "beta1": opt.param_groups[0]["betas"][0]})
        hold_dropout_in_eval(model.train())
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), target.to(dt))
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.detach())
    tensors["train.loss"] = torch.stack(losses)
    for k, v in model.state_dict().items():
        tensors[f"train.final.{k}"] = v.clone()

    cfg = {
        "body": arch_config(block, layers, widths),
        "head": {"layers": ["AdaptiveConcatPool2d(1) [cat(max, avg)]", "Flatten", f"BatchNorm1d({nf})",
                            "Dropout(0.25)", f"Linear({nf}, {hidden})", "ReLU", f"BatchNorm1d({hidden})",
                            "Dropout(0.5)", f"Linear({hidden}, {n_classes})"],
                 "nf": nf, "hidden": hidden, "n_classes": n_classes, "dropout_p": [0.25, 0.5],
                 "dropout_mode": "held in eval mode (identity) throughout, for determinism",
                 "reduced_from": "fastai v1 create_head(nf=4096, nc, lin_ftrs=[512]) for ResNet-50",
                 "batch_norm": {"eps": BN_EPS, "momentum": BN_MOMENTUM}},
        "naming": "body.<torchvision key>, head.<fastai Sequential index>.<param>. " + FASTAI_KEY_MAP,
        "loss": {"class": "torch.nn.BCEWithLogitsLoss", "reduction": "mean"},
        "input_shape": [4, 3, 32, 32], "target_shape": [4, n_classes],
        "param_count": sum(p.numel() for p in model.parameters()),
        "feature_shapes": feature_shapes(model.body, x, RESNET_FEATURES),
        "order": "output_eval: eval mode on param.*; then from param.*: train mode (dropout held in eval), "
                 "output = model(input), loss = BCEWithLogits(output, target), loss.backward() -> grad_input, "
                 "grad.*, state_after.*",
        "train_run": {
            "start": "param.* (fresh state, not the state after the single step above)",
            "data": "input/target every step", "steps_run": run_steps,
            "optimizer": {"class": "torch.optim.AdamW", "param_groups": "one group, all parameters (weight "
                          "decay on batch-norm and bias too, as fastai v1 bn_wd=True)",
                          **{k: (list(v) if isinstance(v, tuple) else v) for k, v in ADAMW_TRAIN.items()},
                          "eps_note": "eps 1e-5 (fastai v2), not 1e-8 (fastai v1): with 1e-8 the float32 "
                                      "result is dominated by rounding where a gradient element is ~0",
                          "algorithm": ADAMW_ALGORITHM},
            "scheduler": {"class": "torch.optim.lr_scheduler.OneCycleLR", "max_lr": max_lr,
                          "total_steps": total_steps, **ONECYCLE,
                          "note": "only the first 3 of 10 steps run (the warm-up, lr max/25 -> max); "
                                  "see optim_adamw_onecycle for the whole cycle"},
            "step": "train mode (dropout held in eval), zero_grad, loss.backward(), optimizer.step(), "
                    "scheduler.step()",
            "schedule_used": schedule,
            "tensors": "train.loss [3] (loss of each step, before its update), train.final.<key> (full state_dict "
                       "after step 3, batch-norm buffers included)"},
    }
    return tensors, cfg


UNET_ENCODER_FEATURES = ["encoder.relu", "encoder.layer1", "encoder.layer2", "encoder.layer3", "encoder.layer4"]


def build_unet_smp(dt):
    name = "unet_smp"
    rng = Rand(SEEDS[name])
    torch.manual_seed(SEEDS[name])
    block, layers, widths = Bottleneck, [1, 1, 1, 1], (4, 8, 16, 32)
    decoder_channels, classes = (16, 8, 8, 4, 4), 3
    model = smp.Unet(encoder_name="resnet50", encoder_weights=None, encoder_depth=5,
                     decoder_channels=decoder_channels, decoder_use_norm="batchnorm",
                     decoder_interpolation="nearest", in_channels=3, classes=classes)
    reference_keys = [k for k in model.state_dict()
                      if not re.match(r"encoder\.layer\d\.[1-9]", k)]  # smp resnet50 keys, layers cut to [1,1,1,1]
    model.encoder = ReducedResNetEncoder(block, layers, widths)
    model.decoder = UnetDecoder(encoder_channels=model.encoder.out_channels, decoder_channels=decoder_channels,
                                n_blocks=5, use_norm="batchnorm", attention_type=None, add_center_block=False,
                                interpolation_mode="nearest")
    model.segmentation_head = SegmentationHead(in_channels=decoder_channels[-1], out_channels=classes,
                                               activation=None, kernel_size=3)
    check_keys(list(model.state_dict()), reference_keys, name)
    randomize_(model, rng)
    x = rng.normal(1, 3, 120, 120)
    target = rng.randint(0, classes, 1, 120, 120)
    model = model.to(dt)
    x = x.to(dt)
    initial = copy.deepcopy(model.state_dict())
    tensors = {f"param.{k}": v.clone() for k, v in initial.items()}
    tensors["input"], tensors["target"] = x, target
    loss_fn = nn.CrossEntropyLoss(ignore_index=0)
    model.train()
    out = model(x)
    loss = loss_fn(out, target)
    loss.backward()
    tensors["output"], tensors["loss"] = out, loss
    for k, p in model.named_parameters():
        tensors[f"grad.{k}"] = p.grad
    for k, v in bn_buffers(model).items():
        tensors[f"state_after.{k}"] = v.clone()
    model.load_state_dict(initial)
    enc = model.encoder.out_channels
    in_ch = [enc[-1]] + list(decoder_channels[:-1])
    skip_ch = list(enc[1:-1][::-1]) + [0]
    cfg = {
        "encoder": {**arch_config(block, layers, widths), "smp_out_channels": enc, "depth": 5},
        "decoder": {"class": "smp UnetDecoder", "decoder_channels": list(decoder_channels), "n_blocks": 5,
                    "use_norm": "batchnorm", "interpolation_mode": "nearest", "attention_type": None,
                    "center": "Identity", "block_in_channels": in_ch, "block_skip_channels": skip_ch,
                    "block": "interpolate(nearest, size of the next feature) -> cat(x, skip) -> "
                             "[conv3x3 p1 no bias -> BN -> ReLU] x2 (conv1.0/conv1.1, conv2.0/conv2.1)",
                    "batch_norm": {"eps": BN_EPS, "momentum": BN_MOMENTUM},
                    "reduced_from": "smp default (256, 128, 64, 32, 16)"},
        "segmentation_head": {"conv": f"Conv2d({decoder_channels[-1]}, {classes}, 3, padding=1, bias=True)",
                              "upsampling": "Identity", "activation": None},
        "classes": classes, "smp_version": smp.__version__,
        "naming": "smp: encoder.<torchvision key> (no fc), decoder.blocks.<i>.conv1.0.weight, "
                  "decoder.blocks.<i>.conv1.1.{weight,bias,running_mean,running_var,num_batches_tracked}, "
                  "conv2.*, segmentation_head.0.{weight,bias}",
        "loss": {"class": "torch.nn.CrossEntropyLoss", "ignore_index": 0, "weight": None, "reduction": "mean"},
        "input_shape": [1, 3, 120, 120], "target_shape": [1, 120, 120],
        "feature_shapes": feature_shapes(model, x, UNET_ENCODER_FEATURES +
                                         [f"decoder.blocks.{i}" for i in range(5)] + ["segmentation_head"]),
        "order": "train mode from param.*: output = model(input), loss = CE(output, target), loss.backward() "
                 "-> grad.*, state_after.* (no eval output and no grad_input: kept small)",
        "param_count": sum(p.numel() for p in model.parameters()),
    }
    return tensors, cfg


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

BUILDERS = {
    "conv2d": build_conv2d,
    "batch_norm": build_batch_norm,
    "pooling": build_pooling,
    "activation": build_activation,
    "add_concat": build_add_concat,
    "resize": build_resize,
    "pixel_shuffle": build_pixel_shuffle,
    "linear": build_linear,
    "loss": build_loss,
    "optim_adamw_onecycle": build_optim_adamw_onecycle,
    "optim_sgd": build_optim_sgd,
    "clip_grad_norm": build_clip_grad_norm,
    "resnet_basic": build_resnet_basic,
    "resnet_bottleneck": build_resnet_bottleneck,
    "classifier_fastai": build_classifier_fastai,
    "unet_smp": build_unet_smp,
}


def finalize(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in tensors.items():
        v = v.detach()
        if v.is_floating_point():
            v = v.to(torch.float32)
        else:
            assert v.dtype == torch.int64, (k, v.dtype)
        out[k] = v.contiguous().clone()
    return dict(sorted(out.items()))


def metadata(name: str, config: dict) -> dict[str, str]:
    return {
        "config": json.dumps(config, sort_keys=True),
        "fixture": name,
        "generator": "Tests/Fixtures/make_golden.py",
        "torch_version": str(torch.__version__),
        "torchvision_version": str(torchvision.__version__),
        "smp_version": str(smp.__version__),
    }


def canonical_safetensors(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> bytes:
    """``safetensors.torch.save`` with a reproducible header. The library keeps ``__metadata__`` in a
    hash map, so its key order (and the file's bytes) change from run to run; this re-serialises the
    header with the metadata keys sorted and leaves the tensor entries and the data section as the
    library wrote them (offsets are relative to the data section, so they do not move)."""
    raw = save(tensors, metadata=meta)
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    ordered = {"__metadata__": header.pop("__metadata__"), **header}
    text = json.dumps(ordered, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data section stays 8-byte aligned, as the library does it
    return struct.pack("<Q", len(text)) + text + raw[8 + n:]


def is_backward_key(key: str) -> bool:
    """Gradients, optimizer state and anything after an optimizer step get the looser tolerance."""
    return bool(re.search(r"(^|\.)(grad|grad_\w+|exp_avg|exp_avg_sq|momentum_buffer|clipped|train|step\d+)(\.|$)",
                          key)) or key.startswith(("train.", "step"))


def scaled_error(a: torch.Tensor, ref: torch.Tensor) -> float:
    a, ref = a.double(), ref.double()
    scale = ref.abs().max().item() if ref.numel() else 0.0
    err = (a - ref).abs().max().item() if ref.numel() else 0.0
    return 0.0 if err == 0.0 else err / max(scale, 1e-30)


def float64_check(name: str, t32: dict[str, torch.Tensor]) -> tuple[float, str, float, str]:
    tensors64, _ = BUILDERS[name](torch.float64)
    t64 = {k: v.detach() for k, v in tensors64.items()}
    assert set(t64) == set(t32), f"{name}: float64 run produced different tensor names"
    worst_f, worst_f_key, worst_b, worst_b_key = 0.0, "", 0.0, ""
    for k, v in t32.items():
        if not v.is_floating_point():
            assert torch.equal(v, t64[k]), f"{name}: integer tensor {k} differs in float64"
            continue
        e = scaled_error(v, t64[k])
        if is_backward_key(k):
            if e > worst_b:
                worst_b, worst_b_key = e, k
        elif e > worst_f:
            worst_f, worst_f_key = e, k
    return worst_f, worst_f_key, worst_b, worst_b_key


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    ap.add_argument("--only", nargs="*", choices=sorted(BUILDERS), help="write only these fixtures")
    ap.add_argument("--no-float64-check", action="store_true", help="skip the float64 self-check")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)

    args.out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(BUILDERS)
    failures = []
    for name in names:
        tensors, config = BUILDERS[name](torch.float32)
        tensors = finalize(tensors)
        path = args.out / f"{name}.safetensors"
        path.write_bytes(canonical_safetensors(tensors, metadata(name, config)))
        back = load_file(str(path))
        assert list(back) == list(tensors) or set(back) == set(tensors), f"{name}: keys changed on reload"
        for k, v in tensors.items():
            assert back[k].dtype == v.dtype and torch.equal(back[k], v), f"{name}: {k} changed on reload"
        line = f"{name:22s} {path.stat().st_size:9d} B  {len(tensors):4d} tensors"
        if not args.no_float64_check:
            ef, kf, eb, kb = float64_check(name, tensors)
            line += f"  float64 scaled err: forward {ef:.1e} ({kf or '-'}), backward {eb:.1e} ({kb or '-'})"
            if ef > RTOL_FORWARD / 10 or eb > RTOL_BACKWARD / 10:
                failures.append(f"{name}: float32 reference too far from float64 ({ef:.2e} / {eb:.2e})")
        print(line, flush=True)

    total = sum(p.stat().st_size for p in args.out.glob("*.safetensors"))
    print(f"total {total} B ({total / 1024 / 1024:.2f} MiB) in {args.out}")
    if total > SIZE_BUDGET:
        failures.append(f"fixtures total {total} B, over the {SIZE_BUDGET} B budget")
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
