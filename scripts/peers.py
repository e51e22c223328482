#!/usr/bin/env python3
"""Peers of `mfa-coordinator bench kernels`: PyTorch and ONNX Runtime on the same shapes.

Reads the JSON lines of one `bench kernels --json` run (``--ours FILE``), times every case it
knows with

* PyTorch ``torch.nn.functional.scaled_dot_product_attention``, in fp32 and, where our case
  stores K/V in 16 bits (f16, bf16, and int8 decode), in bf16 too; causal where ours is; grouped
  heads through ``enable_gqa=True`` (or K/V repeated per query head beforehand when the installed
  PyTorch lacks it);
* ONNX Runtime's CPU provider in fp32 running a one-node graph built with ``onnx.helper``:
  ``com.microsoft`` ``MultiHeadAttention`` when query and K/V heads are equal (``unidirectional``
  for causal), ``GroupQueryAttention`` when they differ (always causal) and for decode (the cache
  in a ``past_key``/``past_value`` buffer shared with ``present_key``/``present_value``, so the
  step does not copy it); plain ``MatMul``/``Softmax``/``MatMul`` when the contrib operator cannot
  run,

on the thread count our run used (``torch.set_num_threads``, ``intra_op_num_threads``), and
prints one table: our rate as our bench reports it (at its best run, and at its median run), each
peer's rate at its median run, and the ratio ours/theirs of the median rates. Every rate is our
case's work (FLOPs, or K/V bytes for decode, as our bench counts them) divided by the time: for
a peer that reads fp32 K/V the decode "GB/s" is therefore the rate of our bytes, not of its own.

Each peer is run once to warm up, then timed at least ``--repeat`` times and until its runs add
up to ``--seconds`` (at most ``--max-runs``); its median is reported. A peer that is not
installed, or that fails on a case, gets a dash and a note instead of a figure.

scripts/peers.sh makes the environment and runs our benchmark first; this file only needs
Python 3.9+, and torch / onnxruntime + onnx + numpy for the peers it finds.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional, Union

# ----------------------------------------------------------------------------------------------
# Shapes: these mirror KernelBenchmarkCase.all in Sources/Coordinator/KernelTools/
# KernelBenchmarkCase.swift (keep them in step). Every prefill case has batch 1 and equal query
# and key lengths; every decode case has one query token per sequence.


@dataclass(frozen=True)
class Prefill:
    """Dense attention over one sequence: `heads` query heads, `kv_heads` K/V heads."""

    heads: int
    kv_heads: int
    length: int
    head_dim: int
    causal: bool
    storage: str


@dataclass(frozen=True)
class Decode:
    """One query token for each of `batch` sequences against `tokens` cached tokens each."""

    batch: int
    query_heads: int
    kv_heads: int
    head_dim: int
    tokens: int
    storage: str


Shape = Union[Prefill, Decode]

CASES: dict[str, Shape] = {
    "prefill-causal-d64-n4096-f16": Prefill(8, 8, 4096, 64, True, "f16"),
    "prefill-causal-d128-n4096-f16": Prefill(8, 8, 4096, 128, True, "f16"),
    "prefill-causal-d128-n4096-bf16": Prefill(8, 8, 4096, 128, True, "bf16"),
    "prefill-dense-d128-n1024-f32": Prefill(8, 8, 1024, 128, False, "f32"),
    "prefill-gqa-causal-d128-n2048-f16": Prefill(32, 8, 2048, 128, True, "f16"),
    "decode-paged-f16": Decode(8, 32, 8, 128, 4096, "f16"),
    "decode-paged-int8": Decode(8, 32, 8, 128, 4096, "int8"),
}

# Cases of ours that neither peer has a kernel for, and why they are left out.
NOT_TIMED = {
    "prefill-window256-d128-n8192-f16": (
        "a sliding window of 256 keys; neither peer has a windowed kernel, and a dense mask would do 32x the work"
    ),
}

# ----------------------------------------------------------------------------------------------
# Our run


@dataclass(frozen=True)
class OurCase:
    """One case of our `bench kernels --json` output."""

    name: str
    unit: str  # "GFLOP/s" or "GB/s"
    work: float  # FLOPs or bytes of one run, as our bench counts them
    best_seconds: float
    median_seconds: float

    def rate(self, seconds: float) -> float:
        """The case's work per second at `seconds` a run, in `unit`."""
        return self.work / seconds / 1e9


def read_ours(path: str) -> tuple[dict, list[OurCase]]:
    """The machine record and the case records of one `bench kernels --json` run."""
    machine: dict = {}
    cases: list[OurCase] = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if record["case"] == "machine":
                machine = record
            elif "gflops" in record:
                work = record["gflops"] * 1e9 * record["best_seconds"]
                cases.append(
                    OurCase(record["case"], "GFLOP/s", work, record["best_seconds"], record["median_seconds"])
                )
            elif "gbps" in record:
                work = record["gbps"] * 1e9 * record["best_seconds"]
                cases.append(
                    OurCase(record["case"], "GB/s", work, record["best_seconds"], record["median_seconds"])
                )
    return machine, cases


# ----------------------------------------------------------------------------------------------
# Timing


@dataclass(frozen=True)
class Timing:
    """Seconds of a peer's timed runs."""

    best: float
    median: float
    runs: int


def time_runs(run: Callable[[], object], repeat: int, seconds: float, max_runs: int) -> Timing:
    """Runs `run` once to warm up, then at least `repeat` times and until the timed runs add up to
    `seconds` (at most `max_runs` unless `repeat` asks for more)."""
    run()
    times: list[float] = []
    while len(times) < repeat or (sum(times) < seconds and len(times) < max_runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return Timing(min(times), statistics.median(times), len(times))


class Inputs:
    """Random inputs of one case in float32, uniform in [-1, 1), shared by every peer: q is
    [B, Hq, Sq, D], k and v [B, Hkv, L, D] (numpy arrays)."""

    def __init__(self, shape: Shape, seed: int):
        import numpy as np

        rng = np.random.default_rng(seed)
        if isinstance(shape, Prefill):
            b, hq, hkv, sq, length, d = 1, shape.heads, shape.kv_heads, shape.length, shape.length, shape.head_dim
        else:
            b, hq, hkv, sq, length, d = (
                shape.batch, shape.query_heads, shape.kv_heads, 1, shape.tokens, shape.head_dim,
            )
        self.q = rng.uniform(-1, 1, (b, hq, sq, d)).astype(np.float32)
        self.k = rng.uniform(-1, 1, (b, hkv, length, d)).astype(np.float32)
        self.v = rng.uniform(-1, 1, (b, hkv, length, d)).astype(np.float32)


def causal_of(shape: Shape) -> bool:
    return isinstance(shape, Prefill) and shape.causal


# ----------------------------------------------------------------------------------------------
# PyTorch


class TorchPeer:
    """`scaled_dot_product_attention` on `threads` threads."""

    def __init__(self, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        self.version = torch.__version__
        self.gqa_note = ""

    def prepare(self, inputs: Inputs, shape: Shape, dtype: str) -> Callable[[], object]:
        """A closure running one attention call of `shape` in `dtype` ("fp32" or "bf16")."""
        torch = self.torch
        element = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
        q = torch.from_numpy(inputs.q).to(element).contiguous()
        k = torch.from_numpy(inputs.k).to(element).contiguous()
        v = torch.from_numpy(inputs.v).to(element).contiguous()
        causal = causal_of(shape)
        sdpa = torch.nn.functional.scaled_dot_product_attention
        grouped = q.shape[1] != k.shape[1]
        if grouped:
            try:
                with torch.inference_mode():
                    sdpa(q[:, :, :1], k[:, :, :2], v[:, :, :2], enable_gqa=True)
                self.gqa_note = "enable_gqa=True"

                def run() -> object:
                    with torch.inference_mode():
                        return sdpa(q, k, v, is_causal=causal, enable_gqa=True)

                return run
            except TypeError:
                # Older PyTorch: K/V repeated per query head once, before timing.
                group = q.shape[1] // k.shape[1]
                k = k.repeat_interleave(group, dim=1)
                v = v.repeat_interleave(group, dim=1)
                self.gqa_note = "K/V repeated per query head (no enable_gqa)"

        def run() -> object:
            with torch.inference_mode():
                return sdpa(q, k, v, is_causal=causal)

        return run

    def output(self, run: Callable[[], object]):
        """The float32 numpy output of one run, as [B, Hq, Sq, D]."""
        return run().float().numpy()


# ----------------------------------------------------------------------------------------------
# ONNX Runtime


class OnnxRuntimePeer:
    """One-node fp32 graphs on ONNX Runtime's CPU provider with `threads` intra-op threads."""

    def __init__(self, threads: int):
        import numpy
        import onnx
        import onnxruntime

        self.np = numpy
        self.onnx = onnx
        self.ort = onnxruntime
        self.threads = threads
        self.version = onnxruntime.__version__
        self.onnx_version = onnx.__version__

    def _session(self, nodes, inputs, outputs):
        helper = self.onnx.helper
        graph = helper.make_graph(nodes, "attention", inputs, outputs)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
        )
        model.ir_version = 8
        options = self.ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = self.ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return self.ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    def _tensor(self, name: str, dims, element=None):
        element = element or self.onnx.TensorProto.FLOAT
        return self.onnx.helper.make_tensor_value_info(name, element, list(dims))

    def _bound(self, session, arrays: dict, outputs: dict):
        """A closure running `session` on `arrays` (bound once, not copied per run) into
        preallocated `outputs` (name to OrtValue)."""
        binding = session.io_binding()
        for name, array in arrays.items():
            if isinstance(array, self.ort.OrtValue):
                binding.bind_ortvalue_input(name, array)
            else:
                binding.bind_cpu_input(name, array)
        for name, value in outputs.items():
            binding.bind_ortvalue_output(name, value)

        def run() -> object:
            session.run_with_iobinding(binding)
            return outputs

        return run

    def prepare(self, inputs: Inputs, shape: Shape) -> tuple[str, Callable[[], object]]:
        """The operator used and a closure running one attention call; the closure returns a dict
        whose "output" OrtValue holds [B, Sq, Hq·D] (or [B, Hq, Sq, D] for the plain graph)."""
        try:
            if isinstance(shape, Decode):
                return "GroupQueryAttention", self._decode_gqa(inputs, shape)
            if shape.heads == shape.kv_heads:
                op = "MultiHeadAttention" + (" unidirectional" if shape.causal else "")
                return op, self._prefill_mha(inputs, shape)
            return "GroupQueryAttention", self._prefill_gqa(inputs, shape)
        except Exception as error:  # noqa: BLE001 - any contrib failure falls back to plain ops
            print(f"  ONNX Runtime contrib operator failed ({first_line(error)}); using MatMul/Softmax/MatMul")
            return "MatMul/Softmax/MatMul", self._plain(inputs, shape)

    @staticmethod
    def _rows(array):
        """[B, H, S, D] to [B, S, H·D], contiguous."""
        b, h, s, d = array.shape
        return array.transpose(0, 2, 1, 3).reshape(b, s, h * d).copy()

    def _output(self, dims):
        return self.ort.OrtValue.ortvalue_from_shape_and_type(list(dims), self.np.float32)

    def _prefill_mha(self, inputs: Inputs, shape: Prefill):
        helper = self.onnx.helper
        b, h, s, d = inputs.q.shape
        node = helper.make_node(
            "MultiHeadAttention", ["query", "key", "value"], ["output"], domain="com.microsoft",
            num_heads=h, unidirectional=int(shape.causal),
        )
        session = self._session(
            [node],
            [self._tensor(n, (b, s, h * d)) for n in ("query", "key", "value")],
            [self._tensor("output", (b, s, h * d))],
        )
        arrays = {"query": self._rows(inputs.q), "key": self._rows(inputs.k), "value": self._rows(inputs.v)}
        return self._bound(session, arrays, {"output": self._output((b, s, h * d))})

    def _prefill_gqa(self, inputs: Inputs, shape: Prefill):
        helper = self.onnx.helper
        int32 = self.onnx.TensorProto.INT32
        b, hq, s, d = inputs.q.shape
        hkv = inputs.k.shape[1]
        node = helper.make_node(
            "GroupQueryAttention",
            ["query", "key", "value", "", "", "seqlens_k", "total_sequence_length"],
            ["output", "present_key", "present_value"],
            domain="com.microsoft", num_heads=hq, kv_num_heads=hkv,
        )
        session = self._session(
            [node],
            [
                self._tensor("query", (b, s, hq * d)),
                self._tensor("key", (b, s, hkv * d)),
                self._tensor("value", (b, s, hkv * d)),
                self._tensor("seqlens_k", (b,), int32),
                self._tensor("total_sequence_length", (1,), int32),
            ],
            [
                self._tensor("output", (b, s, hq * d)),
                self._tensor("present_key", (b, hkv, s, d)),
                self._tensor("present_value", (b, hkv, s, d)),
            ],
        )
        arrays = {
            "query": self._rows(inputs.q),
            "key": self._rows(inputs.k),
            "value": self._rows(inputs.v),
            "seqlens_k": self.np.full(b, s - 1, self.np.int32),
            "total_sequence_length": self.np.array([s], self.np.int32),
        }
        outputs = {
            "output": self._output((b, s, hq * d)),
            "present_key": self._output((b, hkv, s, d)),
            "present_value": self._output((b, hkv, s, d)),
        }
        return self._bound(session, arrays, outputs)

    def _decode_gqa(self, inputs: Inputs, shape: Decode):
        """The first L−1 cached tokens in the past buffer, the last one as the new key/value; the
        same OrtValue is bound as past and present, which ONNX Runtime takes as a shared buffer
        and writes the new token into in place."""
        helper = self.onnx.helper
        int32 = self.onnx.TensorProto.INT32
        b, hq, _, d = inputs.q.shape
        hkv, length = inputs.k.shape[1], inputs.k.shape[2]
        node = helper.make_node(
            "GroupQueryAttention",
            ["query", "key", "value", "past_key", "past_value", "seqlens_k", "total_sequence_length"],
            ["output", "present_key", "present_value"],
            domain="com.microsoft", num_heads=hq, kv_num_heads=hkv,
        )
        cache = (b, hkv, length, d)
        session = self._session(
            [node],
            [
                self._tensor("query", (b, 1, hq * d)),
                self._tensor("key", (b, 1, hkv * d)),
                self._tensor("value", (b, 1, hkv * d)),
                self._tensor("past_key", cache),
                self._tensor("past_value", cache),
                self._tensor("seqlens_k", (b,), int32),
                self._tensor("total_sequence_length", (1,), int32),
            ],
            [
                self._tensor("output", (b, 1, hq * d)),
                self._tensor("present_key", cache),
                self._tensor("present_value", cache),
            ],
        )
        past_key = self.ort.OrtValue.ortvalue_from_numpy(inputs.k.copy())
        past_value = self.ort.OrtValue.ortvalue_from_numpy(inputs.v.copy())
        arrays = {
            "query": self._rows(inputs.q),
            "key": self._rows(inputs.k[:, :, -1:]),
            "value": self._rows(inputs.v[:, :, -1:]),
            "past_key": past_key,
            "past_value": past_value,
            "seqlens_k": self.np.full(b, length - 1, self.np.int32),
            "total_sequence_length": self.np.array([length], self.np.int32),
        }
        outputs = {"output": self._output((b, 1, hq * d)), "present_key": past_key, "present_value": past_value}
        return self._bound(session, arrays, outputs)

    def _plain(self, inputs: Inputs, shape: Shape):
        """softmax(Q·Kᵀ/√D + causal bias)·V in standard operators, on [B, H, S, D] tensors; K/V
        repeated per query head when the heads are grouped."""
        np = self.np
        helper = self.onnx.helper
        q = inputs.q
        group = q.shape[1] // inputs.k.shape[1]
        k = np.repeat(inputs.k, group, axis=1)
        v = np.repeat(inputs.v, group, axis=1)
        b, h, s, d = q.shape
        length = k.shape[2]
        scale = helper.make_tensor("scale", self.onnx.TensorProto.FLOAT, [], [1.0 / d**0.5])
        nodes = [
            helper.make_node("Transpose", ["key"], ["key_t"], perm=[0, 1, 3, 2]),
            helper.make_node("MatMul", ["query", "key_t"], ["raw"]),
            helper.make_node("Mul", ["raw", "scale"], ["scores"]),
        ]
        initializers = [scale]
        if causal_of(shape):
            bias = np.triu(np.full((s, length), -np.inf, np.float32), k=1 + length - s)
            initializers.append(self.onnx.numpy_helper.from_array(bias, "bias"))
            nodes.append(helper.make_node("Add", ["scores", "bias"], ["masked"]))
            nodes.append(helper.make_node("Softmax", ["masked"], ["weights"], axis=-1))
        else:
            nodes.append(helper.make_node("Softmax", ["scores"], ["weights"], axis=-1))
        nodes.append(helper.make_node("MatMul", ["weights", "value"], ["output"]))
        graph = helper.make_graph(
            nodes, "attention",
            [self._tensor("query", q.shape), self._tensor("key", k.shape), self._tensor("value", v.shape)],
            [self._tensor("output", (b, h, s, d))],
            initializer=initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        options = self.ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        session = self.ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return self._bound(session, {"query": q, "key": k, "value": v}, {"output": self._output((b, h, s, d))})

    def output(self, run: Callable[[], object], like):
        """The output of one run as a float32 numpy array shaped like `like` ([B, Hq, Sq, D])."""
        out = run()["output"].numpy()
        if out.shape == like.shape:
            return out
        b, hq, s, d = like.shape
        return out.reshape(b, s, hq, d).transpose(0, 2, 1, 3)


# ----------------------------------------------------------------------------------------------
# Report


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]


def lscpu_model() -> str:
    """`Model name`, `CPU family` and `Model` from lscpu (or /proc/cpuinfo)."""
    fields: dict[str, str] = {}
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    name = fields.get("Model name") or platform.processor() or "unknown CPU"
    return f"Model name: {name}; CPU family: {fields.get('CPU family', '?')}; Model: {fields.get('Model', '?')}"


@dataclass
class Row:
    """One case's figures: our rates and each peer column's median rate (or a note)."""

    case: OurCase
    peers: dict  # column -> Timing or str (why there is no figure)


def relative_error(actual, expected) -> float:
    """max |actual − expected| / max |expected|."""
    import numpy as np

    return float(np.max(np.abs(actual - expected)) / max(float(np.max(np.abs(expected))), 1e-30))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ours", required=True, help="JSON lines of `mfa-coordinator bench kernels --json`")
    parser.add_argument("--threads", type=int, help="threads for both peers (default: the threads of our run)")
    parser.add_argument("--repeat", type=int, default=5, help="fewest timed runs per peer and case (default 5)")
    parser.add_argument("--seconds", type=float, default=1.0, help="least timed seconds per peer and case (default 1)")
    parser.add_argument("--max-runs", type=int, default=100, help="most timed runs, past --repeat (default 100)")
    args = parser.parse_args()

    machine, ours = read_ours(args.ours)
    if not ours:
        print(f"peers.py: no case records in {args.ours}", file=sys.stderr)
        return 1
    threads = args.threads or int(machine.get("threads", 1))

    notes: list[str] = []
    torch_peer: Optional[TorchPeer] = None
    ort_peer: Optional[OnnxRuntimePeer] = None
    try:
        torch_peer = TorchPeer(threads)
    except ImportError as error:
        notes.append(f"PyTorch is not installed ({first_line(error)}): its columns are empty.")
    try:
        ort_peer = OnnxRuntimePeer(threads)
    except ImportError as error:
        notes.append(f"ONNX Runtime or onnx is not installed ({first_line(error)}): its column is empty.")

    columns = ["PyTorch fp32", "PyTorch bf16", "ORT fp32"]
    rows: list[Row] = []
    details: list[str] = []
    ort_ops: dict[str, str] = {}
    for index, case in enumerate(ours):
        peers: dict = {}
        rows.append(Row(case, peers))
        shape = CASES.get(case.name)
        if shape is None:
            reason = NOT_TIMED.get(case.name, "shape unknown to peers.py")
            for column in columns:
                peers[column] = "—"
            notes.append(f"{case.name}: not timed by the peers: {reason}.")
            continue
        print(f"timing peers on {case.name}…", file=sys.stderr, flush=True)
        inputs = Inputs(shape, seed=index + 1)
        reference = None
        wanted = {"PyTorch fp32": "fp32", "PyTorch bf16": "bf16"}
        if shape.storage == "f32":
            peers["PyTorch bf16"] = "—"
            del wanted["PyTorch bf16"]
        for column, dtype in wanted.items():
            if torch_peer is None:
                peers[column] = "—"
                continue
            try:
                run = torch_peer.prepare(inputs, shape, dtype)
                peers[column] = time_runs(run, args.repeat, args.seconds, args.max_runs)
                if dtype == "fp32":
                    reference = torch_peer.output(run)
            except Exception as error:  # noqa: BLE001 - a failed peer is reported, not fatal
                peers[column] = "—"
                notes.append(f"{case.name}, {column}: failed ({first_line(error)}).")
        if ort_peer is None:
            peers["ORT fp32"] = "—"
        else:
            try:
                op, run = ort_peer.prepare(inputs, shape)
                ort_ops[case.name] = op
                peers["ORT fp32"] = time_runs(run, args.repeat, args.seconds, args.max_runs)
                if reference is not None:
                    error = relative_error(ort_peer.output(run, inputs.q), reference)
                    details.append(f"{case.name}: ORT output against PyTorch fp32, max relative difference {error:.1e}")
            except Exception as error:  # noqa: BLE001
                peers["ORT fp32"] = "—"
                notes.append(f"{case.name}, ORT fp32: failed ({first_line(error)}).")
        # Let go of this case's tensors and ONNX Runtime session (and its thread pool) before the next.
        run = inputs = reference = None

    print_report(machine, threads, rows, columns, torch_peer, ort_peer, ort_ops, notes, details)
    return 0


def print_report(machine, threads, rows, columns, torch_peer, ort_peer, ort_ops, notes, details) -> None:
    print()
    print(f"lscpu: {lscpu_model()}")
    if machine:
        print(
            f"ours: {machine.get('cpu', '?')} (family {machine.get('family', '?')}, model {machine.get('model', '?')}), "
            f"{machine.get('cores', '?')} cores; fp32 FMA peak {machine.get('fma_peak_gflops', float('nan')):.1f} GFLOP/s, "
            f"read bandwidth {machine.get('read_gbps', float('nan')):.1f} GB/s, {machine.get('threads', '?')} threads"
        )
    versions = [f"Python {platform.python_version()}"]
    if torch_peer:
        versions.append(f"PyTorch {torch_peer.version}")
    if ort_peer:
        versions.append(f"ONNX Runtime {ort_peer.version} (onnx {ort_peer.onnx_version})")
    print(f"peers: {', '.join(versions)}; {threads} threads")
    print()

    header = ["case", "unit", "ours best", "ours median"] + [f"{c} (ours/theirs)" for c in columns]
    table: list[list[str]] = [header]
    for row in rows:
        ours_median = row.case.rate(row.case.median_seconds)
        cells = [row.case.name, row.case.unit, f"{row.case.rate(row.case.best_seconds):.1f}", f"{ours_median:.1f}"]
        for column in columns:
            figure = row.peers.get(column, "—")
            if isinstance(figure, Timing):
                theirs = row.case.rate(figure.median)
                cells.append(f"{theirs:.1f} ({ours_median / theirs:.2f}x)")
            else:
                cells.append(figure)
        table.append(cells)
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for number, line in enumerate(table):
        print("| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths)) + " |")
        if number == 0:
            print("| " + " | ".join("-" * width for width in widths) + " |")
    print()
    print(
        "Rates are our case's work (FLOPs, or K/V bytes as our bench counts them) per second. Ours: at"
        " our best and median run; peers: at their median run; ratios: our median rate over theirs."
    )
    if ort_ops:
        print("ONNX Runtime operators: " + "; ".join(f"{name}: {op}" for name, op in ort_ops.items()))
    if torch_peer and torch_peer.gqa_note:
        print(f"PyTorch grouped heads: {torch_peer.gqa_note}")
    print()
    print("Times in ms, best / median (runs):")
    for row in rows:
        parts = [f"ours {row.case.best_seconds * 1e3:.2f} / {row.case.median_seconds * 1e3:.2f}"]
        for column in columns:
            figure = row.peers.get(column)
            if isinstance(figure, Timing):
                parts.append(f"{column} {figure.best * 1e3:.2f} / {figure.median * 1e3:.2f} ({figure.runs})")
        print(f"  {row.case.name}: " + ", ".join(parts))
    for line in details:
        print(f"  {line}")
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    sys.exit(main())
