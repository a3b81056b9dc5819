// Ops whose memory turns on a detail of PyTorch's autograd: which inputs an op saves (only
// those a needed gradient reads: gen_variable_type.py guards each save), the order a backward
// makes its gradients in (tools/autograd/load_derivatives.py runs the formulas of
// derivatives.yaml in sorted(name) order), and validate_outputs (torch/csrc/autograd/engine.cpp),
// which sums a broadcast gradient to its input's shape and casts it to its input's dtype, each
// into a new tensor. Sizes are elements x bytes per element, all multiples of 512 B.
import { deltasOf, eventsOf, liveBytes } from '../../../../test/support/event-log';
import { FP32, Ops } from './ops';
import { Param, Runtime, Tensor } from './runtime';

const BF16 = 2;
const TOKENS = 4;
const HIDDEN = 128;
const OUT = 256;
const X16 = TOKENS * HIDDEN * BF16; // 1,024 B
const X32 = TOKENS * HIDDEN * FP32; // 2,048 B
const Y16 = TOKENS * OUT * BF16; // 2,048 B
const W16 = OUT * HIDDEN * BF16; // 65,536 B
const ROW16 = 512; // a (1, HIDDEN) bf16 vector: 256 B, one 512 B block
const BIAS16 = 512; // (OUT,) bf16: 512 B

function param(rt: Runtime, rows: number, cols: number, bytes: number, trainable = true): Param {
  const p: Param = {
    name: `p${rows}x${cols}`,
    elements: rows * cols,
    storedBytes: bytes,
    trainable,
    gradientBytes: bytes,
  };
  p.storage = rt.allocate(rows * cols * bytes, 'weights');
  return p;
}

/** An activation that needs a gradient: z = leaf * 2 (MulBackward1 saves nothing), the leaf
 * a tensor the caller no longer holds. */
function activation(ops: Ops, rows: number, cols: number, bytes: number): Tensor {
  return ops.rt.scope(() => ops.unary(ops.rt.tensor(rows, cols, bytes, true)));
}

function setUp() {
  const rt = new Runtime();
  return { rt, ops: new Ops(rt) };
}

/** Runs backward from `out` with an out-sized seed; returns where backward's events start. */
function backward(rt: Runtime, out: Tensor): number {
  const seed = rt.allocate(out.bytes, 'activations');
  const start = rt.log.length;
  rt.backward(out, seed);
  return start;
}

describe('Ops.to: x.to(dtype) (ToCopyBackward0)', () => {
  it('is x itself when the dtype does not change: no allocation', () => {
    const { rt, ops } = setUp();
    const x = rt.tensor(TOKENS, HIDDEN, BF16, false);
    const start = rt.log.length;
    const same = ops.to(x, BF16);
    expect(deltasOf(rt.log, start)).toEqual([]);
    expect(same.storage).toBe(x.storage);
  });

  it('copies into the new dtype, saves nothing, and casts the gradient back', () => {
    const { rt, ops } = setUp();
    const x = activation(ops, TOKENS, HIDDEN, FP32);
    const start = rt.log.length;
    const cast = ops.to(x, BF16);
    rt.drop(x); // ToCopyBackward0 keeps only x's dtype and device, not x
    expect(deltasOf(rt.log, start)).toEqual([X16, -X32]);
    const backwardStart = backward(rt, cast);
    // grad.to(fp32): an fp32 x-sized gradient, then the bf16 incoming one goes.
    expect(deltasOf(rt.log, backwardStart).slice(0, 2)).toEqual([X32, -X16]);
  });
});

describe('Ops.mul: a * b (MulBackward0: other: grad * self, self: grad * other)', () => {
  it('saves each side for the other side gradient only', () => {
    const { rt, ops } = setUp();
    const a = activation(ops, TOKENS, HIDDEN, BF16);
    const frozen = param(rt, 1, HIDDEN, BF16, false);
    const start = rt.log.length;
    // a needs a gradient, the frozen b does not: b is saved (the model's own tensor), a is not.
    const out = rt.scope(() => ops.mul(a, ops.weight(frozen, 1, HIDDEN)));
    rt.drop(a, out);
    expect(deltasOf(rt.log, start)).toEqual([X16, -X16, -X16]);
  });

  it('sums a broadcast side gradient to its shape in a new tensor (validate_outputs)', () => {
    const { rt, ops } = setUp();
    const a = activation(ops, TOKENS, HIDDEN, BF16);
    const scale = param(rt, 1, HIDDEN, BF16); // a (1, HIDDEN) trained weight, broadcast
    const out = ops.mul(a, ops.weight(scale, 1, HIDDEN));
    const start = backward(rt, out);
    expect(deltasOf(rt.log, start).slice(0, 5)).toEqual([
      X16, // other's formula, grad * self: out-sized
      X16, // self's formula, grad * other
      ROW16, // validate_outputs: other's gradient summed to (1, HIDDEN)
      -X16, //   the out-sized one it replaced
      -X16, // call_function returns: the incoming gradient goes
    ]);
    expect(scale.grad?.bytes).toBe(ROW16);
  });

  it('casts a gradient of the promoted dtype back to its side dtype (validate_outputs)', () => {
    const { rt, ops } = setUp();
    const a = activation(ops, TOKENS, HIDDEN, FP32);
    const b = activation(ops, TOKENS, HIDDEN, BF16);
    const out = ops.mul(a, b); // bf16 * fp32 promotes to fp32
    expect(out.elementBytes).toBe(FP32);
    const start = backward(rt, out);
    expect(deltasOf(rt.log, start).slice(0, 5)).toEqual([
      X32, // other's (b's) formula in fp32
      X32, // self's (a's) formula in fp32: a's dtype already
      X16, // b's gradient cast to bf16
      -X32, //   the fp32 one
      -X32, // the incoming gradient
    ]);
  });
});

describe('Ops.add: a + b (AddBackward0 hands grad itself to both sides)', () => {
  it('allocates nothing for same-shaped sides and saves nothing', () => {
    const { rt, ops } = setUp();
    const a = activation(ops, TOKENS, HIDDEN, BF16);
    const b = activation(ops, TOKENS, HIDDEN, BF16);
    const out = ops.add(a, b);
    rt.drop(a, b);
    expect(liveBytes(rt.log, undefined, 'activations')).toBe(X16); // out only
    const start = backward(rt, out);
    // The seed itself reaches both nodes, and goes once the second of them is done with it.
    expect(deltasOf(rt.log, start)).toEqual([
      X16, // b's node: its leaf's gradient
      -X16, //   dropped at the leaf
      X16, // a's node: its leaf's gradient
      -X16, //   the seed, its last holder done
      -X16, //   the leaf's gradient
    ]);
  });

  it('sums a broadcast side (a bias) to its shape in a new tensor', () => {
    const { rt, ops } = setUp();
    const a = activation(ops, TOKENS, OUT, BF16);
    const bias = param(rt, 1, OUT, BF16);
    const out = ops.add(a, ops.weight(bias, 1, OUT));
    const start = backward(rt, out);
    // other (the bias): grad summed to (1, OUT); self: grad itself.
    expect(deltasOf(rt.log, start)[0]).toBe(BIAS16);
    expect(bias.grad?.bytes).toBe(BIAS16);
  });
});

describe('Ops.linear: F.linear (mm, or addmm with a bias)', () => {
  it('saves x only when W needs a gradient, W only when x needs one', () => {
    const { rt, ops } = setUp();
    // A frozen base weight (LoRA, QLoRA) under a trained input: mm keeps W, not x.
    const frozen = param(rt, OUT, HIDDEN, BF16, false);
    const x = activation(ops, TOKENS, HIDDEN, BF16);
    const start = rt.log.length;
    rt.scope(() => ops.linear(x, ops.weight(frozen, OUT, HIDDEN), OUT));
    rt.drop(x);
    expect(deltasOf(rt.log, start)).toEqual([Y16, -X16]);
  });

  it('keeps both when both need gradients, and makes W gradient before x (MmBackward0)', () => {
    const { rt, ops } = setUp();
    const w = param(rt, OUT, HIDDEN, BF16);
    const x = activation(ops, TOKENS, HIDDEN, BF16);
    const start = rt.log.length;
    const y = rt.scope(() => ops.linear(x, ops.weight(w, OUT, HIDDEN), OUT));
    rt.drop(x);
    expect(deltasOf(rt.log, start)).toEqual([Y16]); // x lives on, saved
    const backwardStart = backward(rt, y);
    expect(eventsOf(rt.log, backwardStart).slice(0, 4)).toEqual([
      { kind: 1, bytes: W16, component: 'gradients', stream: 0 }, // mat2: W
      { kind: 1, bytes: X16, component: 'activations', stream: 0 }, // self: x
      { kind: -1, bytes: Y16, component: 'activations', stream: 0 }, // the incoming gradient
      { kind: -1, bytes: X16, component: 'activations', stream: 0 }, // x, saved
    ]);
  });

  it('with a bias makes x gradient, then W, then the bias (AddmmBackward0)', () => {
    // Measured: trace-50 (Qwen2.5-0.5B, k_proj with its bias, 8,192 tokens) allocates in
    // backward 14,680,064 B (x: 8192 x 896 x 2), then 229,376 B (W: 128 x 896 x 2), then 256 B
    // (the bias): alloc events 1500-1502 of data/calibration/allocator-traces/trace-50.csv.gz.
    const { rt, ops } = setUp();
    const w = param(rt, OUT, HIDDEN, BF16);
    const bias = param(rt, 1, OUT, BF16);
    const x = activation(ops, TOKENS, HIDDEN, BF16);
    const y = rt.scope(() =>
      ops.linear(x, ops.weight(w, OUT, HIDDEN), OUT, ops.weight(bias, 1, OUT)),
    );
    const start = backward(rt, y);
    expect(deltasOf(rt.log, start).slice(0, 3)).toEqual([X16, W16, BIAS16]);
  });

  it('allocates the autograd thread cuBLAS workspace at its first gemm, even a frozen W', () => {
    // The first gemm of backward may be an input gradient (a frozen head under LoRA): the
    // workspace comes with it (CublasHandlePool.cpp: per handle and stream, handle per thread).
    const { rt, ops } = setUp();
    const workspace = 32 * 2 ** 20;
    rt.blasWorkspace.backward = workspace;
    const frozen = param(rt, OUT, HIDDEN, BF16, false);
    const x = activation(ops, TOKENS, HIDDEN, BF16);
    const y = rt.scope(() => ops.linear(x, ops.weight(frozen, OUT, HIDDEN), OUT));
    const start = backward(rt, y);
    expect(deltasOf(rt.log, start).slice(0, 2)).toEqual([X16, workspace]);
  });
});

describe('Ops.dropout: native_dropout', () => {
  it('makes the output and a one-byte-per-element mask, and saves only the mask', () => {
    const { rt, ops } = setUp();
    const x = activation(ops, TOKENS, HIDDEN, BF16);
    const start = rt.log.length;
    const out = ops.dropout(x);
    rt.drop(x);
    const mask = TOKENS * HIDDEN * 1; // torch.bool: 512 B
    expect(deltasOf(rt.log, start)).toEqual([X16, mask, -X16]);
    const backwardStart = backward(rt, out);
    // grad * mask * scale: an x-sized gradient; then the incoming one and the mask go.
    expect(deltasOf(rt.log, backwardStart).slice(0, 3)).toEqual([X16, -X16, -mask]);
  });
});

describe('Ops.slice and Ops.alias: views', () => {
  it('a slice keeps the whole storage alive and its backward is a base-sized zero tensor', () => {
    const { rt, ops } = setUp();
    const x = activation(ops, TOKENS, HIDDEN, BF16);
    const start = rt.log.length;
    const half = ops.slice(x, HIDDEN / 2);
    rt.drop(x);
    expect(deltasOf(rt.log, start)).toEqual([]); // the view holds x's storage
    const backwardStart = backward(rt, half);
    // slice_backward: zeros of the base's size, the gradient written into its slice.
    expect(deltasOf(rt.log, backwardStart)[0]).toBe(X16);
  });
});
