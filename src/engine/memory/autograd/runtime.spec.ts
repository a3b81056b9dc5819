// The eager-runtime model against PyTorch's own rules, on a two-linear MLP small enough to count
// by hand: y = W2 silu(W1 x), tokens x hidden activations in bf16. Every expected byte count is
// written out as elements x bytes per element; the sources of each rule are named beside it.
import {
  deltasOf,
  eventsOf,
  liveBytes,
  liveWhen,
  peakBytes,
} from '../../../../test/support/event-log';
import { Ops } from './ops';
import { Param, Runtime, Tensor } from './runtime';
import { OP_LEVEL_POLICY } from './selective';

const BF16 = 2;
const TOKENS = 4;
const HIDDEN = 128;
const FFN = 256;
// Every size below is a multiple of 512 B, the allocator's block rounding (kMinBlockSize in
// c10/cuda/CUDACachingAllocator.cpp), so a tensor's bytes are its block's bytes.
const X = TOKENS * HIDDEN * BF16; // 1,024 B: the input, the output, their gradients
const H = TOKENS * FFN * BF16; // 2,048 B: the hidden activation and its gradient
const W = FFN * HIDDEN * BF16; // 65,536 B: each weight and its gradient

function weightParam(rt: Runtime, name: string, rows: number, cols: number): Param {
  const param: Param = {
    name,
    elements: rows * cols,
    storedBytes: BF16,
    trainable: true,
    gradientBytes: BF16,
  };
  param.storage = rt.allocate(rows * cols * BF16, 'weights');
  return param;
}

interface Mlp {
  rt: Runtime;
  ops: Ops;
  w1: Param;
  w2: Param;
  x: Tensor;
}

/** Two weights on the device and an input that needs no gradient (token embeddings of a frozen
 * table, say). */
function setUp(): Mlp {
  const rt = new Runtime();
  const ops = new Ops(rt);
  rt.enter('build', -1, 'model');
  const w1 = weightParam(rt, 'w1', FFN, HIDDEN);
  const w2 = weightParam(rt, 'w2', HIDDEN, FFN);
  rt.enter('forward', 0, 'layer');
  const x = rt.tensor(TOKENS, HIDDEN, BF16, false);
  return { rt, ops, w1, w2, x };
}

/** y = W2 silu(W1 x), as a Python function: its locals (h, a, the weight handles) die at
 * return. */
function forward({ rt, ops, w1, w2 }: Mlp, x: Tensor): Tensor {
  return rt.scope(() => {
    const h = ops.linear(x, ops.weight(w1, FFN, HIDDEN), FFN);
    const a = ops.unarySavingInput(h); // F.silu saves its input (derivatives.yaml silu: self)
    return ops.linear(a, ops.weight(w2, HIDDEN, FFN), HIDDEN);
  });
}

/** loss.backward() with an output-sized incoming gradient. */
function backward(rt: Runtime, y: Tensor): number {
  const seed = rt.allocate(y.bytes, 'activations');
  const start = rt.log.length;
  rt.backward(y, seed);
  return start;
}

describe('Runtime: forward of a two-linear MLP', () => {
  it('allocates each output once and keeps alive exactly what backward needs', () => {
    const mlp = setUp();
    const start = mlp.rt.log.length;
    const y = forward(mlp, mlp.x);
    // linear 1: h (x needs no gradient, so mm saves x for W1's gradient and not W1);
    // silu: a (saves h); linear 2: y (saves a for W2's gradient and W2 for a's).
    expect(deltasOf(mlp.rt.log, start)).toEqual([H, H, X]);
    // h and a are locals of the function, yet saved: nothing was freed at its return.
    expect(liveBytes(mlp.rt.log, undefined, 'activations')).toBe(X + H + H + X);
    expect(liveBytes(mlp.rt.log, undefined, 'weights')).toBe(2 * W);
    expect(y.bytes).toBe(X);
  });

  it('frees a local nothing saved when the function returns', () => {
    const { rt, ops, x } = setUp();
    const start = rt.log.length;
    const kept = rt.scope(() => {
      const scaled = ops.unary(x); // x * 2: a temporary nobody saves (x needs no grad)
      const doubled = ops.unary(scaled);
      return { doubled };
    });
    expect(deltasOf(rt.log, start)).toEqual([X, X, -X]);
    expect(kept.doubled.alive).toBe(true);
    expect(liveBytes(rt.log, undefined, 'activations')).toBe(X + X);
  });

  it('keeps a returned view, and with it the whole storage it views', () => {
    const { rt, ops, x } = setUp();
    const start = rt.log.length;
    const half = rt.scope(() => ops.slice(ops.unary(x), HIDDEN / 2));
    expect(deltasOf(rt.log, start)).toEqual([X]);
    rt.drop(half);
    expect(deltasOf(rt.log, start)).toEqual([X, -X]);
  });
});

describe('Runtime: backward (torch/csrc/autograd/engine.cpp evaluate_function)', () => {
  it('runs nodes newest first; each frees its incoming gradient, then its saved tensors', () => {
    const mlp = setUp();
    const y = forward(mlp, mlp.x);
    const start = backward(mlp.rt, y);
    // Within a node: the formulas in load_derivatives.py's sorted(name) order (mm: mat2, the
    // weight, before self, the input); then call_function returns and the incoming gradients
    // die; then release_variables() frees the saved tensors; then the outputs move on.
    expect(deltasOf(mlp.rt.log, start)).toEqual([
      W, // MmBackward0 of linear 2: W2's gradient
      H, //   a's gradient
      -X, //   the incoming gradient of y
      -H, //   a, saved by linear 2 only (W2 is the model's own tensor)
      H, // SiluBackward0: h's gradient
      -H, //   a's gradient
      -H, //   h, saved by silu
      W, // MmBackward0 of linear 1: W1's gradient (x needs none)
      -H, //   h's gradient; x stays, the caller still holds it
    ]);
  });

  it('names its moments: backward starts with the forward saved tensors live', () => {
    const mlp = setUp();
    const y = forward(mlp, mlp.x);
    backward(mlp.rt, y);
    const at = (phase: string, layer: number) =>
      liveWhen(mlp.rt.log, (m) => m.phase === phase && m.layer === layer);
    // Entering forward layer 0: the weights only. Entering backward (the loss): the weights,
    // x, h, a, y and the seed; entering the layer's nodes: the same (the seed moved on to y).
    expect(at('forward', 0)).toBe(2 * W);
    expect(at('backward', -1)).toBe(2 * W + X + H + H + X + X);
    expect(at('backward', 0)).toBe(2 * W + X + H + H + X + X);
  });

  it('makes the first gradient of a weight its .grad, without a copy', () => {
    const mlp = setUp();
    const y = forward(mlp, mlp.x);
    backward(mlp.rt, y);
    // accumulate_grad.h: with no .grad yet, a gradient nobody else holds is stolen.
    expect(mlp.w1.grad?.bytes).toBe(W);
    expect(mlp.w2.grad?.bytes).toBe(W);
    expect(liveBytes(mlp.rt.log, undefined, 'gradients')).toBe(2 * W);
    // Left live: the weights, their gradients, the input and the output y.
    expect(liveBytes(mlp.rt.log)).toBe(2 * W + 2 * W + X + X);
  });

  it('adds a later micro-batch gradient into .grad in place, freeing the new one', () => {
    const mlp = setUp();
    const first = forward(mlp, mlp.x);
    backward(mlp.rt, first);
    mlp.rt.drop(first);
    mlp.rt.freeGraph();
    const y = forward(mlp, mlp.x);
    const start = backward(mlp.rt, y);
    // accumulate_grad.h: variable.grad defined, grad mode off -> variable_grad += new_grad.
    const gradients = eventsOf(mlp.rt.log, start).filter((e) => e.component === 'gradients');
    expect(gradients.map((e) => e.kind * e.bytes)).toEqual([W, -W, W, -W]);
    expect(liveBytes(mlp.rt.log, undefined, 'gradients')).toBe(2 * W);
  });

  it('frees what the graph still holds when the graph dies without a backward', () => {
    const mlp = setUp();
    const y = forward(mlp, mlp.x);
    const start = mlp.rt.log.length;
    mlp.rt.drop(y); // y itself: nothing saved it
    // The graph dies with its last reference: the saved h and a go with its nodes.
    mlp.rt.freeGraph();
    expect(deltasOf(mlp.rt.log, start)).toEqual([-X, -H, -H]);
    expect(liveBytes(mlp.rt.log, undefined, 'activations')).toBe(X);
  });
});

describe('Runtime: gradients that meet (torch/csrc/autograd/input_buffer.cpp accumulate)', () => {
  const SQUARE = HIDDEN * HIDDEN * BF16; // 32,768 B

  it('sums a weight used twice in its input buffer, out of place, before AccumulateGrad', () => {
    const { rt, ops, x } = setUp();
    const w = weightParam(rt, 'tied', HIDDEN, HIDDEN);
    const y = rt.scope(() => {
      const h = ops.linear(x, ops.weight(w, HIDDEN, HIDDEN), HIDDEN);
      return ops.linear(h, ops.weight(w, HIDDEN, HIDDEN), HIDDEN);
    });
    const start = backward(rt, y);
    // mm's weight gradient is a transposed view whose base the view keeps, so the buffered one
    // fails can_accumulate_inplace (storage use_count 1) and old_var + var is a new tensor;
    // AccumulateGrad then runs once, with the sum (dependencies counted per edge).
    expect(deltasOf(rt.log, start)).toEqual([
      SQUARE, // linear 2: W's first gradient, buffered
      X, //   h's gradient
      -X, //   the incoming gradient of y
      -X, //   h, saved by linear 2
      SQUARE, // linear 1: W's second gradient
      -X, //   h's gradient
      SQUARE, // the buffer: old_var + var
      -SQUARE, //   old_var
      -SQUARE, //   var
    ]);
    expect(w.grad?.bytes).toBe(SQUARE);
    expect(liveBytes(rt.log, undefined, 'gradients')).toBe(SQUARE);
    expect(peakBytes(rt.log, start, undefined, 'gradients')).toBe(3 * SQUARE);
  });

  /** z = W x, read by two branches whose sum is the output; W is square, x needs no grad. */
  function branches(branch: (ops: Ops, z: Tensor) => Tensor) {
    const { rt, ops, x } = setUp();
    const w = weightParam(rt, 'w', HIDDEN, HIDDEN);
    const y = rt.scope(() => {
      const z = ops.linear(x, ops.weight(w, HIDDEN, HIDDEN), HIDDEN);
      return ops.add(branch(ops, z), branch(ops, z));
    });
    const start = backward(rt, y);
    return { rt, w, start };
  }

  it('adds into an activation gradient in place when the buffered one is a fresh tensor', () => {
    // Each branch z * 2 (MulBackward: grad * 2, a fresh tensor).
    const { rt, w, start } = branches((ops, z) => ops.unary(z));
    expect(deltasOf(rt.log, start)).toEqual([
      X, // branch 2: z's gradient, buffered (AddBackward0 passed the seed on to both)
      X, // branch 1: z's gradient
      -X, //   the seed, once both branches are done with it
      -X, //   branch 1's gradient, added into the buffered one (old_var.add_(var))
      SQUARE, // z's linear: W's gradient
      -X, //   z's summed gradient
    ]);
    expect(w.grad?.bytes).toBe(SQUARE);
  });

  it('sums an activation gradient out of place when the buffered one is a view', () => {
    const w2 = { value: undefined as Param | undefined };
    // Each branch a linear: mm's input gradient comes back through a reshape (a view).
    const { rt, start } = branches((ops, z) => {
      w2.value ??= weightParam(ops.rt, 'w2', FFN, HIDDEN);
      return ops.linear(z, ops.weight(w2.value, FFN, HIDDEN), FFN);
    });
    const activations = eventsOf(rt.log, start)
      .filter((e) => e.component === 'activations')
      .map((e) => e.kind * e.bytes);
    expect(activations).toEqual([
      X, // branch 2: z's gradient (a view), buffered
      X, // branch 1: z's gradient
      -H, //   the seed, once both linears are done with it
      -X, //   z, saved by both linears, freed with the second's saved tensors
      X, // the buffer: old_var + var
      -X, //   old_var
      -X, //   var
      -X, // z's linear: the summed gradient
    ]);
  });
});

describe('Runtime: non-reentrant checkpointing (torch/utils/checkpoint.py)', () => {
  /** The MLP as one checkpointed region, optionally ended by a residual add of its input. */
  function checkpointed(mlp: Mlp, residual = false): Tensor {
    const { rt, ops, x } = mlp;
    return rt.checkpoint([x], () =>
      rt.scope(() => {
        const y = forward(mlp, x);
        return residual ? ops.add(y, x) : y;
      }),
    );
  }

  it('saves nothing in forward but its inputs: the locals die at return', () => {
    const mlp = setUp();
    const start = mlp.rt.log.length;
    checkpointed(mlp);
    // _checkpoint_hook's pack_hook keeps a holder, not the tensor: h and a die with the frame.
    expect(deltasOf(mlp.rt.log, start)).toEqual([H, H, X, -H, -H]);
    expect(liveBytes(mlp.rt.log, undefined, 'activations')).toBe(X + X); // x and y
  });

  it('keeps nothing when no op of the region needs a gradient (frozen weights, an input without one)', () => {
    const mlp = setUp();
    mlp.w1.trainable = false;
    mlp.w2.trainable = false;
    checkpointed(mlp);
    mlp.rt.drop(mlp.x); // the caller lets go of x: nothing else references it
    expect(liveBytes(mlp.rt.log, undefined, 'activations')).toBe(X); // y only
  });

  it('keeps the region input referenced until the region is done in backward', () => {
    const mlp = setUp();
    const y = checkpointed(mlp);
    mlp.rt.drop(mlp.x); // the caller lets go of x: the checkpoint still holds it
    expect(liveBytes(mlp.rt.log, undefined, 'activations')).toBe(X + X);
    const start = backward(mlp.rt, y);
    // The region's earliest node (linear 1) is the last to need x: x goes after it.
    const deltas = deltasOf(mlp.rt.log, start);
    expect(deltas.slice(-2)).toEqual([-H, -X]);
    expect(liveBytes(mlp.rt.log, undefined, 'activations')).toBe(X); // y only
  });

  it('recomputes before the first backward node runs, then frees node by node', () => {
    const mlp = setUp();
    const y = checkpointed(mlp);
    const start = backward(mlp.rt, y);
    const deltas = deltasOf(mlp.rt.log, start);
    // Recomputation: h and a again (the unpack of linear 2's saved a starts it).
    expect(deltas.slice(0, 2)).toEqual([H, H]);
    // Then the same backward as without checkpointing (see above), ending with linear 1.
    expect(deltas.slice(-9)).toEqual([W, H, -X, -H, H, -H, -H, W, -H]);
    expect(liveBytes(mlp.rt.log, undefined, 'activations')).toBe(X + X);
  });

  // _recomputation_hook.pack_hook raises _StopRecomputationError when the last tensor the
  // forward saved is packed again. Autograd packs an op's saved inputs before its kernel runs
  // (gen_variable_type.py emit_save_inputs precedes the call), so the op that saves last never
  // computes its output in the recompute, and nothing after it runs.
  it('stops recomputing at the last saved tensor, before that op computes', () => {
    const mlp = setUp();
    const y = checkpointed(mlp, true);
    const start = backward(mlp.rt, y);
    const deltas = deltasOf(mlp.rt.log, start);
    // h and a, then linear 2's backward: neither y nor the residual sum is made again.
    expect(deltas.slice(0, 4)).toEqual([H, H, W, H]);
  });
});

describe('Runtime: reentrant checkpointing (use_reentrant=True)', () => {
  /** The MLP and a custom Function after it that keeps its input as a ctx attribute (as
   * bitsandbytes' MatMul4Bit kept ctx.tensors = (A, B) before 0.43), plus a residual add. */
  function checkpointedWithFunction(mlp: Mlp): Tensor {
    const { rt, ops, x } = mlp;
    return rt.checkpoint([x], () =>
      rt.scope(() => {
        const y = forward(mlp, x);
        const a = ops.unary(y); // X bytes: the Function's input, kept in ctx
        const out = ops.empty(a, true);
        rt.record([a], [out], [], () => ops.give(a, () => ops.gradOf(a)), [a]);
        return ops.add(out, x);
      }),
    );
  }

  it("a Function's ctx attribute outlives a non-reentrant forward, not a reentrant one", () => {
    const live = (reentrant: boolean) => {
      const mlp = setUp();
      mlp.rt.reentrantCheckpointing = reentrant;
      checkpointedWithFunction(mlp);
      return liveBytes(mlp.rt.log, undefined, 'activations');
    };
    // x and the region's output either way; the saved-tensor hooks cannot see ctx attributes,
    // so non-reentrant keeps the Function's input too (torch/utils/checkpoint.py).
    expect(live(true)).toBe(X + X);
    expect(live(false)).toBe(X + X + X);
  });

  it('reruns the whole region in backward: no early stop', () => {
    const mlp = setUp();
    mlp.rt.reentrantCheckpointing = true;
    const y = checkpointedWithFunction(mlp);
    const start = backward(mlp.rt, y);
    // h and a of the MLP, y, the Function's input and output, and the residual sum: six
    // allocations before any gradient (CheckpointFunction.backward runs run_function in full).
    expect(deltasOf(mlp.rt.log, start).slice(0, 6)).toEqual([H, H, X, X, X, X]);
  });
});

describe('Runtime: selective checkpointing with the op-level policy', () => {
  // torchtitan's policy saves mm #1 (W1 x = h) and recomputes mm #2 (W2 a) and silu.
  function selective(mlp: Mlp): Tensor {
    const { rt, x } = mlp;
    return rt.checkpoint([x], () => forward(mlp, x), OP_LEVEL_POLICY);
  }

  it('keeps the saved matmul output through forward, and nothing else of the region', () => {
    const mlp = setUp();
    const start = mlp.rt.log.length;
    selective(mlp);
    // h, a and y are made; a dies with the frame, h stays in the policy's cache.
    expect(deltasOf(mlp.rt.log, start)).toEqual([H, H, X, -H]);
    expect(liveBytes(mlp.rt.log, undefined, 'activations')).toBe(X + H + X); // x, h, y
  });

  it('hands the cached output back to the recompute instead of running that mm again', () => {
    const mlp = setUp();
    const y = selective(mlp);
    const start = backward(mlp.rt, y);
    // Only silu's output a is recomputed (h comes from the cache; linear 2, the last saving op,
    // packs a before its kernel, so y is not made again), then linear 2's backward: W, H.
    expect(deltasOf(mlp.rt.log, start).slice(0, 3)).toEqual([H, W, H]);
  });
});

describe('Runtime: storage given back and taken again (storage.resize_)', () => {
  // FSDP2 frees an unsharded parameter with untyped_storage().resize_(0) and allocates it again
  // with resize_(n) (torch/distributed/fsdp/_fully_shard/_fsdp_param.py free_storage and
  // alloc_storage): the memory goes, the storage object and its references stay.
  it('frees on evict and allocates on restore, once each, keeping the storage', () => {
    const rt = new Runtime();
    const storage = rt.allocate(W, 'weights');
    rt.evict(storage);
    rt.evict(storage);
    expect(deltasOf(rt.log)).toEqual([W, -W]);
    rt.restore(storage);
    rt.restore(storage);
    expect(deltasOf(rt.log)).toEqual([W, -W, W]);
    expect(liveBytes(rt.log, undefined, 'weights')).toBe(W);
  });

  it('makes no event when the last reference to an evicted storage goes', () => {
    const rt = new Runtime();
    const storage = rt.allocate(W, 'weights');
    rt.retain(storage); // a tensor saved for backward still references it
    rt.evict(storage);
    rt.release(storage);
    rt.release(storage);
    expect(deltasOf(rt.log)).toEqual([W, -W]);
  });
});

describe('Runtime: streams and the cache', () => {
  it('frees a block on the stream it was allocated on, whatever stream is current', () => {
    // A block belongs to the pool of the stream that allocated it (CUDACachingAllocator.cpp:
    // Block::stream; free() returns it there).
    const rt = new Runtime();
    rt.stream = 2;
    const comm = rt.allocate(W, 'buffers');
    rt.stream = 0;
    rt.release(comm);
    expect(eventsOf(rt.log).map((e) => [e.kind, e.stream])).toEqual([
      [1, 2],
      [-1, 2],
    ]);
  });

  it('frees a restored storage on the stream that restored it', () => {
    const rt = new Runtime();
    const storage = rt.allocate(W, 'weights');
    rt.evict(storage);
    rt.stream = 1; // FSDP2 all-gathers into the unsharded parameter on its own stream
    rt.restore(storage);
    rt.stream = 0;
    rt.evict(storage);
    expect(eventsOf(rt.log).map((e) => [e.kind, e.stream])).toEqual([
      [1, 0],
      [-1, 0],
      [1, 1],
      [-1, 1],
    ]);
  });

  it('marks torch.cuda.empty_cache() with a bytes-free event that changes nothing live', () => {
    const rt = new Runtime();
    rt.allocate(X, 'activations');
    rt.emptyCache();
    expect(eventsOf(rt.log)).toEqual([
      { kind: 1, bytes: X, component: 'activations', stream: 0 },
      { kind: 0, bytes: 0, component: 'weights', stream: 0 },
    ]);
    expect(liveBytes(rt.log)).toBe(X);
  });

  it('rounds every block to 512 bytes, the smallest block 512', () => {
    // CUDACachingAllocator.cpp round_size: kMinBlockSize * ceil(size / kMinBlockSize).
    const rt = new Runtime();
    rt.allocate(4, 'logitsAndLoss'); // a 0-d fp32 loss
    rt.allocate(512, 'activations');
    rt.allocate(513, 'activations');
    expect(deltasOf(rt.log)).toEqual([512, 512, 1024]);
  });
});

describe('Runtime: cuBLAS workspaces (aten/src/ATen/cuda/CublasHandlePool.cpp)', () => {
  // One workspace per (handle, stream), handles one per thread: the forward's main thread and
  // autograd's device thread each make one at their first matmul, and never free it.
  const WORKSPACE = 32 * 2 ** 20; // 4096 KiB x 8 on compute capability 9.0 (Hopper)

  it('appears once in forward after the first matmul output, once in backward', () => {
    const mlp = setUp();
    mlp.rt.blasWorkspace.forward = WORKSPACE;
    mlp.rt.blasWorkspace.backward = WORKSPACE;
    const start = mlp.rt.log.length;
    const y = forward(mlp, mlp.x);
    expect(deltasOf(mlp.rt.log, start)).toEqual([H, WORKSPACE, H, X]);
    const backwardStart = backward(mlp.rt, y);
    // mm_mat2_backward allocates W2's gradient, then its gemm needs the thread's handle.
    expect(deltasOf(mlp.rt.log, backwardStart).slice(0, 3)).toEqual([W, WORKSPACE, H]);
    expect(liveBytes(mlp.rt.log, undefined, 'buffers')).toBe(2 * WORKSPACE);
  });
});
