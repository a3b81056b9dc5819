// Modules whose memory hides in their Python: Hugging Face's eager RMSNorm upcasts to fp32 and
// keeps what it computed there, autocast caches a trained weight's cast for the whole forward,
// LayerNorm keeps per-row statistics, dropout(p=0) is free. Expected bytes are elements x bytes
// per element, rounded up to 512 B blocks (c10/cuda/CUDACachingAllocator.cpp kMinBlockSize).
import { deltasOf, liveBytes } from '../../../../test/support/event-log';
import { AutocastWeights, Nn, Precision } from './nn';
import { FP32, Ops } from './ops';
import { Param, Runtime, Tensor } from './runtime';

const BF16 = 2;
const TOKENS = 4;
const HIDDEN = 128;
const OUT = 256;
const BLOCK = 512;
const X16 = TOKENS * HIDDEN * BF16; // 1,024 B
const X32 = TOKENS * HIDDEN * FP32; // 2,048 B
const ROW32 = BLOCK; // TOKENS x 1 fp32: 16 B, one 512 B block

const PURE_BF16: Precision = { matmul: BF16, autocast: false, quantization: 'bitsandbytes' };
const AUTOCAST_BF16: Precision = { matmul: BF16, autocast: true, quantization: 'bitsandbytes' };

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

function nnOf(precision: Precision, autocast = false): Nn {
  const rt = new Runtime();
  return new Nn(new Ops(rt), precision, autocast ? new AutocastWeights(BF16) : undefined);
}

describe('Nn.rmsNorm: transformers LlamaRMSNorm.forward, eager', () => {
  // hidden_states.to(float32); variance = hidden_states.pow(2).mean(-1, keepdim=True);
  // hidden_states = hidden_states * torch.rsqrt(variance + eps);
  // return self.weight * hidden_states.to(input_dtype)
  function normed() {
    const nn = nnOf(PURE_BF16);
    const weight = param(nn.rt, 1, HIDDEN, BF16);
    const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
    const start = nn.rt.log.length;
    const out = nn.rmsNorm(x, weight);
    return { nn, x, out, start };
  }

  it('allocates in the order the Python runs and frees the temporaries as Python does', () => {
    const { nn, start } = normed();
    expect(deltasOf(nn.rt.log, start)).toEqual([
      X32, // .to(float32): saved by pow (PowBackward0 keeps self) and by the multiply
      X32, // .pow(2): a temporary
      ROW32, // .mean(-1, keepdim=True): variance, a Python local until return
      -X32, // the pow result, once mean has read it
      ROW32, // variance + eps: a temporary
      ROW32, // torch.rsqrt: saved (RsqrtBackward0 keeps its result) and by the multiply
      -ROW32, // variance + eps
      X32, // hidden_states * rsqrt: the local hidden_states until return
      X16, // .to(input_dtype): saved by the weight multiply
      X16, // weight * ...: the output
      -ROW32, // return: variance
      -X32, //   the normalised fp32 hidden_states (nothing saved it)
    ]);
  });

  it('keeps the fp32 upcast, the rsqrt and the bf16 cast for backward', () => {
    const { nn, x, out } = normed();
    nn.rt.drop(x, out);
    // x itself is not saved (ToCopyBackward0 keeps only its dtype): what remains is the
    // upcast (4 bytes per element), the per-row rsqrt and the cast back (2 bytes per element).
    expect(liveBytes(nn.rt.log, undefined, 'activations')).toBe(X32 + ROW32 + X16);
  });

  it('backward: the weight gradient is summed to its shape; x32 gradients meet in place', () => {
    const { nn, out } = normed();
    const seed = nn.rt.allocate(out.bytes, 'activations');
    const start = nn.rt.log.length;
    nn.rt.backward(out, seed);
    const deltas = deltasOf(nn.rt.log, start);
    expect(deltas.slice(0, 13)).toEqual([
      X16, // MulBackward0 (weight * cast), other: grad * weight
      X16, //   self: grad * cast, out-sized
      BLOCK, //   validate_outputs: the weight's gradient summed to (HIDDEN,): 256 B
      -X16, //   the out-sized one
      -X16, //   the incoming gradient
      -X16, //   cast, saved by this node only
      X32, // ToCopyBackward0: the gradient back in fp32
      -X16, //   the incoming bf16 gradient
      X32, // MulBackward0 (hidden * rsqrt), other: grad * hidden, out-sized
      X32, //   self: grad * rsqrt
      ROW32, //   validate_outputs: rsqrt's gradient summed to (TOKENS, 1)
      -X32, //   the out-sized one
      -X32, //   the incoming gradient
    ]);
    // Last, x32's two gradients meet, and x gets its own (then x's gradient goes on to x).
    expect(deltas.slice(-11, -1)).toEqual([
      X32, // PowBackward0: self.pow(1)
      X32, //   2 * that
      -X32, //   self.pow(1)
      X32, //   grad * 2 * self
      -X32, //   2 * self
      -X32, //   the incoming gradient (mean_backward's)
      -X32, //   the fp32 upcast, saved by pow last
      -X32, // the upcast's input buffer: pow's gradient added in place to the multiply's
      X16, // ToCopyBackward0: the gradient back in bf16
      -X32, //   the summed fp32 gradient
    ]);
    // In between, rsqrt, + eps and mean: mean_backward expands the gradient and divides it by
    // HIDDEN into one x-sized fp32 tensor; the rest are (TOKENS, 1) blocks.
    const middle = deltas.slice(13, -11);
    expect(middle.filter((bytes) => bytes > BLOCK)).toEqual([X32]);
  });
});

describe('Nn.plainLinear under autocast (aten/src/ATen/autocast_mode.cpp cached_cast)', () => {
  const W32 = OUT * HIDDEN * FP32; // 131,072 B stored
  const W16 = OUT * HIDDEN * BF16; // 65,536 B cast
  const Y16 = TOKENS * OUT * BF16; // 2,048 B

  it('casts a trained fp32 weight once per autocast region, its input at every use', () => {
    const nn = nnOf(AUTOCAST_BF16, true);
    const weight = param(nn.rt, OUT, HIDDEN, FP32);
    const x = nn.rt.tensor(TOKENS, HIDDEN, FP32, false);
    expect(liveBytes(nn.rt.log, undefined, 'weights')).toBe(W32);
    const start = nn.rt.log.length;
    const linear = { weight, outFeatures: OUT };
    const first = nn.plainLinear(x, linear);
    const second = nn.plainLinear(x, linear);
    // The autocast wrapper casts at::linear's arguments right to left as GCC evaluates them
    // (trace-55, Llama-3.2-3B q_proj: the weight's 18,874,368 B, then the input's 12,582,912 B,
    // allocs 742-743), then the matmul's output; the second use finds the weight's cast in
    // the cache (a leaf fp32 tensor that requires grad), the input is cast again.
    expect(deltasOf(nn.rt.log, start)).toEqual([W16, X16, Y16, X16, Y16]);
    expect([first, second].every((y) => y.elementBytes === BF16)).toBe(true);
  });

  it('frees the cached cast when the region exits, unless backward saved it', () => {
    const nn = nnOf(AUTOCAST_BF16, true);
    const weight = param(nn.rt, OUT, HIDDEN, FP32);
    const x = nn.rt.tensor(TOKENS, HIDDEN, FP32, false);
    nn.plainLinear(x, { weight, outFeatures: OUT });
    // x needs no gradient, so mm saved x's cast and not the weight's: clear_cache() on exit
    // drops the only reference to it.
    const start = nn.rt.log.length;
    nn.weights.exitAutocast(nn.ops);
    expect(deltasOf(nn.rt.log, start)).toEqual([-W16]);
  });

  it("caches a trained weight's cast under no_grad too: cached_cast reads requires_grad, not the grad mode", () => {
    const nn = nnOf(AUTOCAST_BF16, true);
    const weight = param(nn.rt, OUT, HIDDEN, FP32);
    const x = nn.rt.tensor(TOKENS, HIDDEN, FP32, false);
    const start = nn.rt.log.length;
    nn.rt.noGrad(() => {
      const linear = { weight, outFeatures: OUT };
      nn.rt.drop(nn.plainLinear(x, linear), nn.plainLinear(x, linear));
    });
    // one cast of the weight, kept by the cache; each use casts the input and frees it
    expect(deltasOf(nn.rt.log, start).filter((bytes) => bytes === W16)).toHaveLength(1);
    expect(liveBytes(nn.rt.log, undefined, 'weights')).toBe(W32 + W16);
    const exit = nn.rt.log.length;
    nn.weights.exitAutocast(nn.ops);
    expect(deltasOf(nn.rt.log, exit)).toEqual([-W16]);
  });

  it('casts a frozen fp32 weight at every use and frees each cast after its matmul', () => {
    const nn = nnOf(AUTOCAST_BF16, true);
    const frozen = param(nn.rt, OUT, HIDDEN, FP32, false);
    const x = nn.rt.tensor(TOKENS, HIDDEN, FP32, false);
    const start = nn.rt.log.length;
    const linear = { weight: frozen, outFeatures: OUT };
    nn.plainLinear(x, linear);
    nn.plainLinear(x, linear);
    // Not cached (requires_grad is False); nothing needs a gradient, so nothing is saved and
    // both casts go once the call returns.
    const deltas = deltasOf(nn.rt.log, start);
    for (const use of [deltas.slice(0, 5), deltas.slice(5)]) {
      expect(use.slice(0, 3)).toEqual([W16, X16, Y16]);
      expect(use.slice(3).sort((a, b) => a - b)).toEqual([-W16, -X16]);
    }
  });
});

describe('Nn.layerNorm: native_layer_norm', () => {
  it('makes the output, then mean and rstd in fp32, and keeps the input and both', () => {
    const nn = nnOf(PURE_BF16);
    const weight = param(nn.rt, 1, HIDDEN, BF16);
    const bias = param(nn.rt, 1, HIDDEN, BF16);
    const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
    const start = nn.rt.log.length;
    const out = nn.layerNorm(x, weight, bias);
    expect(deltasOf(nn.rt.log, start)).toEqual([X16, ROW32, ROW32]);
    nn.rt.drop(x, out);
    expect(liveBytes(nn.rt.log, undefined, 'activations')).toBe(X16 + 2 * ROW32);
  });

  it('under autocast runs in fp32: the input cast up, the output fp32', () => {
    const nn = nnOf(AUTOCAST_BF16);
    const weight = param(nn.rt, 1, HIDDEN, FP32);
    const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
    const start = nn.rt.log.length;
    const out = nn.layerNorm(x, weight);
    // layer_norm is on autocast's fp32 list (autocast_mode.cpp): the cast is what it saves.
    expect(deltasOf(nn.rt.log, start)).toEqual([X32, X32, ROW32, ROW32]);
    expect(out.elementBytes).toBe(FP32);
  });

  it('over a permuted view (contiguousCopy): layer_norm_cuda and layer_norm_backward_cuda each copy it contiguous (expect_contiguous), a transient beside what they make', () => {
    const nn = nnOf(PURE_BF16);
    const weight = param(nn.rt, 1, HIDDEN, BF16);
    const bias = param(nn.rt, 1, HIDDEN, BF16);
    const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
    const start = nn.rt.log.length;
    const out = nn.layerNorm(x, weight, bias, { contiguousCopy: true });
    // the copy, Y, mean and rstd; the copy freed as the function returns
    expect(deltasOf(nn.rt.log, start)).toEqual([X16, X16, ROW32, ROW32, -X16]);
    const seed = nn.rt.allocate(out.bytes, 'activations');
    const backward = nn.rt.log.length;
    nn.rt.backward(out, seed);
    // the copy again, then dX, dgamma and dbeta (the weight's and bias's 256 B, a block each)
    // while it lives, freed before the saved tensors are
    expect(deltasOf(nn.rt.log, backward).slice(0, 5)).toEqual([X16, X16, BLOCK, BLOCK, -X16]);
  });
});

describe('Nn.dropout', () => {
  it('with p = 0 returns its input: no output, no mask (ATen Dropout.cpp _dropout_impl)', () => {
    const nn = nnOf(PURE_BF16);
    const x: Tensor = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
    const start = nn.rt.log.length;
    const out = nn.dropout(x, 0);
    expect(deltasOf(nn.rt.log, start)).toEqual([]);
    expect(out.storage).toBe(x.storage);
  });

  it('with p > 0 makes the output and a bool mask', () => {
    const nn = nnOf(PURE_BF16);
    const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
    const start = nn.rt.log.length;
    nn.dropout(x, 0.1);
    expect(deltasOf(nn.rt.log, start)).toEqual([X16, TOKENS * HIDDEN * 1]);
  });
});

describe('Nn.linear on a 4-bit weight (bitsandbytes MatMul4Bit)', () => {
  // torch.nn.functional.linear(A, F.dequantize_4bit(B, state).to(A.dtype).t(), bias): the
  // weight comes back in the dtype it was quantised from, then is cast to the input's dtype.
  const W16 = OUT * HIDDEN * BF16; // 65,536 B, one dequantised weight
  const Y16 = TOKENS * OUT * BF16; // 2,048 B, the output
  const linear = (nn: Nn) => ({
    name: 'proj',
    weight: param(nn.rt, OUT, HIDDEN / 4, 1, false), // NF4: half a byte per weight
    inFeatures: HIDDEN,
    outFeatures: OUT,
    quantized: true,
  });

  it("Hugging Face's bitsandbytes quantised from bf16: one dequantised weight, no cast", () => {
    const nn = nnOf(PURE_BF16);
    const layer = linear(nn);
    const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
    const start = nn.rt.log.length;
    nn.linear(x, layer);
    expect(deltasOf(nn.rt.log, start)).toEqual([W16, Y16, -W16]);
  });

  it("Lightning's plugin quantised from fp16: the fp16 weight, its bf16 copy, then the matmul", () => {
    const nn = nnOf({ ...PURE_BF16, quantization: 'bitsandbytes-lightning' });
    const layer = linear(nn);
    const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
    const start = nn.rt.log.length;
    nn.linear(x, layer);
    // fp16 and bf16 are both 2 B a weight: the cast is a copy all the same.
    expect(deltasOf(nn.rt.log, start)).toEqual([W16, W16, -W16, Y16, -W16]);
  });
});

describe('Nn.linear with DoRA (PEFT DoraLinearLayer.forward, torchtune DoRALinear.forward)', () => {
  // result + (m / ||W + s B A|| - 1) * result + m / ||W + s B A|| * lora_B(lora_A(x)) * s,
  // with ||.|| the row norms of W + s * lora_B(lora_A(eye(in))).T, detached.
  const RANK = 8;
  const EYE16 = HIDDEN * HIDDEN * BF16; // torch.eye(in): 32,768 B
  const EYE_DOWN16 = HIDDEN * RANK * BF16; // lora_A(eye): 2,048 B
  const W16 = OUT * HIDDEN * BF16; // lora_weight, s * lora_weight, W + s * lora_weight: 65,536 B
  const Y16 = TOKENS * OUT * BF16; // an [tokens x out] output: 2,048 B
  const Y32 = TOKENS * OUT * FP32; // the same in fp32: 4,096 B
  const DOWN16 = BLOCK; // lora_A(x): 4 x 8 bf16, 64 B in one block
  const VECTOR = BLOCK; // anything [out]: 512 B in bf16, one block

  function doraLinear(
    nn: Nn,
    adapterBytes: number,
    base: { bytes: number; quantized: boolean },
    rank = RANK,
  ) {
    const weightCols = base.quantized ? HIDDEN / 4 : HIDDEN; // NF4: half a byte per weight
    return {
      name: 'q_proj',
      weight: param(nn.rt, OUT, weightCols, base.bytes, false),
      inFeatures: HIDDEN,
      outFeatures: OUT,
      quantized: base.quantized,
      lora: {
        a: param(nn.rt, rank, HIDDEN, adapterBytes),
        b: param(nn.rt, OUT, rank, adapterBytes),
        magnitude: param(nn.rt, 1, OUT, adapterBytes),
        rank,
        dropout: false,
      },
    };
  }

  it("PEFT in bf16: the norm's [out x in] temporaries come and go in forward", () => {
    const nn = nnOf(PURE_BF16);
    const layer = doraLinear(nn, BF16, { bytes: BF16, quantized: false });
    const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
    const start = nn.rt.log.length;
    nn.linear(x, layer);
    expect(deltasOf(nn.rt.log, start)).toEqual([
      Y16, // base_layer(x)
      EYE16, // torch.eye(in, dtype=x.dtype)
      EYE_DOWN16, // lora_A(x_eye)
      W16, // lora_weight = lora_B(...).T
      W16, // scaling * lora_weight
      W16, // weight + scaling * lora_weight
      -W16, // scaling * lora_weight, once added
      VECTOR, // torch.linalg.norm(weight, dim=1)
      -W16, // W + s * lora_weight, at get_weight_norm's return
      VECTOR, // magnitude / weight_norm
      DOWN16, // lora_A(x)
      Y16, // lora_B(...): lora_result
      VECTOR, // mag_norm_scale - 1
      Y16, // (mag_norm_scale - 1) * base_result
      Y16, // mag_norm_scale * lora_result
      Y16, // ... * scaling
      -Y16, // mag_norm_scale * lora_result, once scaled
      Y16, // result_dora = the sum of the two terms
      -Y16,
      -Y16, // both terms, once added
      -EYE16, // DoraLinearLayer.forward returns: x_eye, lora_A(x_eye) and lora_weight go
      -EYE_DOWN16,
      -W16,
      Y16, // result + result_dora
      -Y16, // result_dora
    ]);
  });

  it('keeps the base result and the adapter output for the magnitude gradient', () => {
    const live = (dora: boolean) => {
      const nn = nnOf(PURE_BF16);
      const layer = doraLinear(nn, BF16, { bytes: BF16, quantized: false });
      if (!dora) delete (layer.lora as { magnitude?: Param }).magnitude;
      const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
      const start = nn.rt.log.length;
      nn.linear(x, layer);
      return liveBytes(nn.rt.log) - liveBytes(nn.rt.log, start);
    };
    // LoRA keeps lora_A(x) (lora_B's input) and returns its sum; DoRA also keeps
    // base_result and lora_result (MulBackward0 saves the other factor), the detached norm
    // (DivBackward0 saves the divisor) and mag_norm_scale - 1 (saved for base_result's own
    // gradient) and mag_norm_scale (for lora_result's).
    expect(live(false)).toBe(DOWN16 + Y16);
    expect(live(true)).toBe(DOWN16 + Y16 + Y16 + Y16 + 3 * VECTOR);
  });

  it('under autocast with fp32 adapters: the products are fp32, the sum cast back', () => {
    const nn = nnOf(AUTOCAST_BF16, true);
    // rank 4: lora_B's bf16 cast (256 x 4 x 2 B) is no [tokens x out] fp32 size
    const layer = doraLinear(nn, FP32, { bytes: BF16, quantized: false }, 4);
    const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
    const start = nn.rt.log.length;
    const y = nn.linear(x, layer);
    const allocated = deltasOf(nn.rt.log, start).filter((d) => d > 0);
    // (fp32 [1 x out]) * (bf16 [tokens x out]) promotes: both products, the scaled one, their
    // sum and result + result_dora are fp32; .to(torch_result_dtype) makes the bf16 output.
    expect(allocated.filter((d) => d === Y32)).toHaveLength(5);
    expect(y.elementBytes).toBe(BF16);
  });

  it('PEFT QLoRA with lora_dropout keeps each dequantised weight until backward', () => {
    const kept = (dropout: boolean) => {
      const nn = nnOf(PURE_BF16);
      const layer = doraLinear(nn, BF16, { bytes: 1, quantized: true });
      layer.lora.dropout = dropout;
      const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
      const start = nn.rt.log.length;
      nn.linear(x, layer);
      return liveBytes(nn.rt.log, undefined, 'buffers') - liveBytes(nn.rt.log, start, 'buffers');
    };
    // base_result=None: F.linear(dropout(x), dequantised W) saves W for x's gradient.
    expect(kept(false)).toBe(0);
    expect(kept(true)).toBe(W16);
  });

  it('torchtune runs lora_b(lora_a(x)) before the eye, and reuses base_out under dropout', () => {
    const forward = (adapterModule: 'peft' | 'torchtune') => {
      const nn = nnOf({ ...PURE_BF16, adapterModule });
      const layer = doraLinear(nn, BF16, { bytes: BF16, quantized: false });
      layer.lora.dropout = true;
      const x = nn.rt.tensor(TOKENS, HIDDEN, BF16, true);
      const start = nn.rt.log.length;
      nn.linear(x, layer);
      return deltasOf(nn.rt.log, start);
    };
    const mask = TOKENS * HIDDEN; // dropout's one-byte mask: 512 B
    expect(forward('torchtune').slice(0, 6)).toEqual([Y16, X16, mask, DOWN16, Y16, EYE16]);
    // PEFT's base_result=None computes F.linear(dropout(x), W) once more: one [tokens x out]
    // allocation torchtune does not make.
    const outputs = (deltas: number[]) => deltas.filter((d) => d === Y16).length;
    expect(outputs(forward('peft')) - outputs(forward('torchtune'))).toBe(1);
  });
});
