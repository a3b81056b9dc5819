// Building blocks model code is made of (torch.nn modules and the few functions every decoder
// calls), written as the ops they run. The source each follows is named beside it.
import { QuantizationKernel } from '../../vocabulary';
import { LinearParams, LoraParams } from '../model/rank-model';
import { FP32, Ops } from './ops';
import { Param, Runtime, Tensor } from './runtime';

/** How a module reaches its weights: as stored, through autocast's cast, gathered by FSDP,
 * dequantised from 4 bits. The timeline sets one per request. */
export interface WeightAccess {
  /** The weight of a matmul as the kernel receives it. */
  matmulWeight(ops: Ops, param: Param, rows: number, cols: number): Tensor;
  /** Leaving the forward's autocast region drops its cast cache. */
  exitAutocast(ops: Ops): void;
}

/** Weights used as stored (no autocast, no sharding). */
export const STORED_WEIGHTS: WeightAccess = {
  matmulWeight: (ops, param, rows, cols) => ops.weight(param, rows, cols),
  exitAutocast: () => undefined,
};

/** torch.autocast: a matmul runs in 16 bits; the cast of an fp32 leaf that requires grad is
 * cached until the autocast region exits, whatever the grad mode (autocast_mode.cpp
 * cached_cast reads arg.requires_grad(), not GradMode), a frozen one is cast at every use. */
export class AutocastWeights implements WeightAccess {
  private readonly cache = new Map<Param, Tensor>();
  constructor(readonly castBytes: number) {}

  matmulWeight(ops: Ops, param: Param, rows: number, cols: number): Tensor {
    const stored = ops.weight(param, rows, cols);
    if (param.storedBytes === this.castBytes) return stored;
    const cached = this.cache.get(param);
    if (cached) {
      ops.rt.drop(stored);
      return ops.rt.view(cached);
    }
    const cast = ops.to(stored, this.castBytes);
    ops.rt.drop(stored);
    if (param.trainable || param.untrainedRequiresGrad) {
      this.cache.set(param, ops.rt.view(cast, cast.cols, cast.requiresGrad, false));
    }
    return cast;
  }

  exitAutocast(ops: Ops): void {
    this.cache.forEach((cast) => ops.rt.drop(cast));
    this.cache.clear();
  }
}

export interface Precision {
  /** Bytes of a matmul's inputs and outputs (2 under bf16 or autocast, 4 in fp32). */
  matmul: number;
  /** Autocast casts fp32 matmul inputs down to `matmul` bytes. */
  autocast: boolean;
  /** Which library's 4-bit linear QLoRA runs. */
  quantization: QuantizationKernel;
  /** bitsandbytes before 0.43.2 keeps each 4-bit linear's input (runtime.bitsandbytesSavesInput);
   * absent: a current release, which keeps only the packed weight. */
  bitsandbytesSavesInput?: boolean;
  /** Whose LoRA modules run: PEFT's (Hugging Face's model code; the default), torchtune's
   * LoRALinear and DoRALinear (native model code) or litgpt's. PEFT casts an adapter's input to
   * the adapter's dtype, under autocast too (lora.Linear._cast_input_dtype); torchtune's DoRA
   * orders its ops differently from PEFT's. */
  adapterModule?: 'peft' | 'torchtune' | 'litgpt';
}

/** The modules of one rank, with its precision and weight access. */
/** How a LayerNorm's input is laid out: a permuted view (Aya Vision's pixel_shuffle ends with
 * one) is copied contiguous by the kernel. */
export interface LayerNormInput {
  contiguousCopy?: boolean;
}

export class Nn {
  readonly rt: Runtime;
  /** LoRA adapters are skipped (PEFT's disable_adapter context: the base layer's result alone). */
  adaptersDisabled = false;
  constructor(
    readonly ops: Ops,
    readonly precision: Precision,
    readonly weights: WeightAccess = STORED_WEIGHTS,
  ) {
    this.rt = ops.rt;
  }

  /** A linear module: the base layer (plain, or QLoRA's 4-bit one) plus its LoRA adapter. */
  linear(x: Tensor, linear: LinearParams): Tensor {
    const base = linear.quantized ? this.linear4bit(x, linear) : this.plainLinear(x, linear);
    if (!linear.lora || this.adaptersDisabled) return base;
    return linear.lora.magnitude
      ? this.withDora(x, base, linear, linear.lora)
      : this.withAdapter(x, base, linear.lora);
  }

  /** An nn.Conv1d with its bias (DeBERTa-v2's ConvLayer, Whisper's conv1 and conv2), `rows`
   * output rows (fewer than the input's where it strides): under autocast the input, weight and
   * bias are cast first (convolution is on autocast's lower-precision list), then the op. */
  conv1d(x: Tensor, weight: Param, bias: Param, cols: number, rows = x.rows): Tensor {
    const { ops, rt } = this;
    const input = this.matmulInput(x);
    const w = this.weights.matmulWeight(ops, weight, 1, weight.elements);
    const b = this.weights.matmulWeight(ops, bias, 1, bias.elements);
    const out = ops.convolution(input, w, cols, b, rows);
    rt.drop(w, b);
    if (input !== x) rt.drop(input);
    return out;
  }

  /** nn.Linear (bias optional): autocast casts the arguments of at::linear(input, weight, bias)
   * first, in the order the compiler evaluates a call's arguments: right to left under GCC
   * (trace-40, Qwen2.5 q_proj: the bias's 1,792 B, the weight's 1,605,632 B, then the input's
   * 29,360,128 B, allocs 332-334). */
  plainLinear(x: Tensor, linear: Pick<LinearParams, 'weight' | 'bias' | 'outFeatures'>): Tensor {
    const { weight, bias, outFeatures } = linear;
    const b = bias ? this.weights.matmulWeight(this.ops, bias, 1, outFeatures) : undefined;
    const w = this.weights.matmulWeight(this.ops, weight, outFeatures, x.cols);
    const input = this.matmulInput(x);
    const out = this.ops.linear(input, w, outFeatures, b);
    this.rt.drop(w, b);
    if (input !== x) this.rt.drop(input);
    return out;
  }

  /** Whether PEFT's modules run the adapters (Precision.adapterModule). */
  private peftAdapters(): boolean {
    return (this.precision.adapterModule ?? 'peft') === 'peft';
  }

  /** The adapter's input: x in the adapter's dtype. PEFT casts it whatever autocast does (an fp32
   * copy of a bf16 input under autocast with fp32 adapters, as trace-55 records for o_proj's and
   * down_proj's inputs); torchtune's and litgpt's modules cast only outside autocast. */
  private adapterInput(x: Tensor, lora: LoraParams): Tensor {
    if (this.precision.autocast && !this.peftAdapters()) return x;
    return this.ops.to(x, lora.a.storedBytes);
  }

  /** PEFT's lora.Linear.forward: result + lora_B(lora_A(dropout(x))) * scaling, with x first
   * cast to the adapter's dtype (_cast_input_dtype) and the sum cast back to the result's;
   * litgpt's LoRAQKVLinear zero-pads lora_B's output first where it adapts only some parts. */
  private withAdapter(x: Tensor, base: Tensor, lora: NonNullable<LinearParams['lora']>): Tensor {
    return this.rt.scope(() => {
      const { ops } = this;
      const cast = this.adapterInput(x, lora);
      const dropped = lora.dropout ? ops.dropout(cast) : cast;
      const down = this.plainLinear(dropped, { weight: lora.a, outFeatures: lora.rank });
      const adapted = lora.adaptedOutFeatures ?? base.cols;
      const up = this.plainLinear(down, { weight: lora.b, outFeatures: adapted });
      this.rt.drop(down);
      // zero_pad: x.new_zeros(..., out).index_copy_(-1, index, up); index_copy's source
      // gradient is grad.index_select(dim, index).expand_as(source) (derivatives.yaml), so
      // autograd keeps the whole source.
      const full = adapted === base.cols ? up : ops.unarySavingInput(up, base.cols);
      if (full !== up) this.rt.drop(up);
      const scaled = ops.unary(full); // * scaling
      this.rt.drop(full);
      const sum = ops.add(base, scaled);
      this.rt.drop(scaled, base);
      return ops.to(sum, base.elementBytes);
    });
  }

  /** DoRA: PEFT's DoraLinearVariant.forward (tuners/lora/variants.py) adds
   * DoraLinearLayer.forward's output (tuners/lora/dora.py) to the base result and casts the sum
   * back to its dtype; torchtune's DoRALinear.forward (modules/peft/dora.py) returns the same
   * sum. */
  private withDora(x: Tensor, base: Tensor, linear: LinearParams, lora: LoraParams): Tensor {
    return this.rt.scope(() => {
      const { ops } = this;
      const cast = this.adapterInput(x, lora);
      const input = lora.dropout ? ops.dropout(cast) : cast;
      // DoraLinearLayer.forward's locals (the eye, lora_weight, the weight) die at its return.
      const dora = this.rt.scope(() => this.doraOutput(input, base, linear, lora));
      const sum = ops.add(base, dora);
      this.rt.drop(dora, base);
      return ops.to(sum, base.elementBytes);
    });
  }

  /** (m / ||W + s B A|| - 1) * base + m / ||W + s B A|| * lora_B(lora_A(x)) * s, each product
   * in the wider dtype of its factors: the magnitude's gradient keeps the base result and the
   * adapter's output. PEFT computes the norm first and, with lora_dropout, the base result
   * again from the dropped x (base_result=None); torchtune computes the adapter's output first
   * and always uses the base output. */
  private doraOutput(x: Tensor, base: Tensor, linear: LinearParams, lora: LoraParams): Tensor {
    const { ops, rt } = this;
    const peft = this.peftAdapters();
    const adapterOutput = () => {
      const down = this.plainLinear(x, { weight: lora.a, outFeatures: lora.rank });
      const up = this.plainLinear(down, { weight: lora.b, outFeatures: linear.outFeatures });
      rt.drop(down);
      return up;
    };
    const early = peft ? undefined : adapterOutput();
    const weight = this.doraBaseWeight(linear, x.elementBytes);
    const norm = rt.noGrad(() => this.doraWeightNorm(x, weight, linear, lora));
    // magnitude / weight_norm: DivBackward0 keeps the divisor for the magnitude's gradient,
    // as MulBackward0 keeps the other factor.
    const scale = ops.mul(ops.weight(lora.magnitude!, 1, linear.outFeatures), norm);
    const up = early ?? adapterOutput();
    const baseResult = peft && lora.dropout ? this.doraBaseResult(x, weight, linear) : base;
    const shifted = ops.unary(scale); // mag_norm_scale - 1
    const baseTerm = ops.mul(shifted, baseResult);
    const product = ops.mul(scale, up);
    rt.drop(up);
    const adapterTerm = ops.unary(product); // * scaling
    rt.drop(product);
    const output = ops.add(baseTerm, adapterTerm);
    rt.drop(baseTerm, adapterTerm);
    return output;
  }

  /** dequantize_module_weight(base_layer).to(x.dtype) (torchtune: self.weight.to(x.dtype)): the
   * stored weight itself, a 4-bit weight dequantised to 16 bits, copied where x's dtype
   * differs. */
  private doraBaseWeight(linear: LinearParams, elementBytes: number): Tensor {
    const { ops, rt } = this;
    const stored = linear.quantized
      ? rt.tensor(linear.outFeatures, linear.inFeatures, 2, false, 'buffers')
      : ops.weight(linear.weight, linear.outFeatures, linear.inFeatures);
    const weight = ops.to(stored, elementBytes);
    rt.drop(stored);
    return weight;
  }

  /** DoraLinearLayer.get_weight_norm(weight, lora_weight.detach(), scaling), with lora_weight =
   * lora_B(lora_A(eye(in))).T (PEFT PR #1806: through the modules, for FSDP's hooks). No
   * gradient reaches any of it (the norm is detached, the eye's graph dies with the function),
   * so it runs as under no_grad; the eye and lora_weight stay until the function returns.
   * Autocast caches its casts of A and B from here in a real run, and from lora_A(x) on in
   * this one: r x (in + out) 16-bit elements, a few hundred KiB, held a little later.
   * W + s * lora_weight is made and freed here; linalg_vector_norm runs in fp32 under autocast
   * (autocast_mode.cpp fp32_set_opt_dtype) and is cast to the sum's dtype. */
  private doraWeightNorm(x: Tensor, weight: Tensor, linear: LinearParams, lora: LoraParams) {
    const { ops, rt } = this;
    const { inFeatures: inputs, outFeatures: outputs } = linear;
    const eye = rt.tensor(inputs, inputs, x.elementBytes, false);
    const eyeDown = this.plainLinear(eye, { weight: lora.a, outFeatures: lora.rank });
    const loraWeight = this.plainLinear(eyeDown, { weight: lora.b, outFeatures: outputs });
    const scaled = rt.tensor(outputs, inputs, loraWeight.elementBytes, false);
    const sumBytes = Math.max(weight.elementBytes, loraWeight.elementBytes);
    const sum = rt.tensor(outputs, inputs, sumBytes, false);
    rt.drop(scaled);
    const normBytes = this.precision.autocast ? FP32 : sumBytes;
    const computed = rt.tensor(1, outputs, normBytes, false);
    const norm = ops.to(computed, sumBytes);
    rt.drop(computed, sum);
    return norm;
  }

  /** PEFT with lora_dropout: F.linear(dropout(x), W) again, W as DoRA read it (autocast casts
   * it for the matmul); the matmul keeps W for x's gradient. */
  private doraBaseResult(x: Tensor, weight: Tensor, linear: LinearParams): Tensor {
    const { ops, rt } = this;
    const w = this.precision.autocast ? ops.to(weight, this.precision.matmul) : rt.view(weight);
    const input = this.matmulInput(x);
    const out = ops.linear(input, w, linear.outFeatures);
    rt.drop(w);
    if (input !== x) rt.drop(input);
    return out;
  }

  /** QLoRA's 4-bit base layer. bitsandbytes (Linear4bit, MatMul4Bit) casts x to the compute
   * dtype and dequantises the weight for each matmul in the dtype it was quantised from. Before
   * 0.43.2 it kept x as a ctx attribute (`ctx.tensors = (A, B)`), which backward does not free;
   * since (PR #1270, bitsandbytes/autograd/_functions.py) only the packed weight. Lightning's
   * plugin quantised from fp16, so its dequantised weight is cast once more; torchao's
   * linear_nf4 keeps only the weight. */
  private linear4bit(x: Tensor, linear: LinearParams): Tensor {
    const { ops, rt } = this;
    const kernel = this.precision.quantization;
    const input = ops.to(x, this.precision.matmul);
    // F.dequantize_4bit(B, state).to(A.dtype): the fp16 weight Lightning quantised from, then
    // its bf16 copy (fp16 and bf16 are both 2 B, so ops.to would see no cast), the fp16 one
    // freed as the expression moves on.
    const dequantise = () => {
      const weight = rt.tensor(linear.outFeatures, linear.inFeatures, 2, false, 'buffers');
      if (kernel !== 'bitsandbytes-lightning' || input.elementBytes !== 2) return weight;
      const cast = rt.tensor(linear.outFeatures, linear.inFeatures, 2, false, 'buffers');
      rt.drop(weight);
      return cast;
    };
    const weight = dequantise();
    const out = ops.empty(input, input.requiresGrad, linear.outFeatures);
    rt.drop(weight);
    const held = kernel !== 'torchao' && this.precision.bitsandbytesSavesInput ? [input] : [];
    rt.record(
      [input],
      [out],
      [],
      () => {
        const again = dequantise();
        ops.give(input, () => ops.gradOf(input));
        rt.drop(again);
      },
      held,
    );
    rt.drop(input);
    const result = ops.to(out, x.elementBytes);
    rt.drop(out);
    return result;
  }

  /** What an op on autocast's fp32 list reads (pow, softmax, layer_norm, rsqrt, exp, sum:
   * autocast_mode.cpp): x, or its fp32 cast under autocast. */
  fp32Input(x: Tensor): Tensor {
    if (!this.precision.autocast || x.elementBytes === FP32) return x;
    return this.ops.to(x, FP32);
  }

  /** nn.Dropout(p) in training: output and mask when p > 0, the input itself otherwise. */
  dropout(x: Tensor, p: number): Tensor {
    return p > 0 ? this.ops.dropout(x) : this.rt.view(x);
  }

  /** `x = dropout(x)`: the dropout's output, the caller's handle on x gone. */
  dropoutReplacing(x: Tensor, p: number): Tensor {
    const out = this.dropout(x, p);
    this.rt.drop(x);
    return out;
  }

  /** What a matmul reads: x, or its 16-bit cast under autocast. */
  matmulInput(x: Tensor): Tensor {
    if (!this.precision.autocast || x.elementBytes === this.precision.matmul) return x;
    return this.ops.to(x, this.precision.matmul);
  }

  /** Hugging Face's eager RMSNorm (modeling_llama.py LlamaRMSNorm): an fp32 copy, its variance
   * and rsqrt, the normalised fp32 tensor cast back, then times the weight. */
  rmsNorm(x: Tensor, weight: Param, width = x.cols): Tensor {
    return this.rt.scope(() => {
      const { ops } = this;
      const normed = this.normalisedFp32(x, width);
      const cast = ops.to(normed, x.elementBytes);
      const w = ops.weight(weight, 1, x.cols);
      return ops.mul(w, cast);
    });
  }

  /** OLMo-2's RMSNorm (modeling_olmo2.py Olmo2RMSNorm): Llama's statistics, then
   * (weight * normalised) in fp32, the product keeping the fp32 normalised tensor, cast back.
   * Helium's (modular_helium.py HeliumRMSNorm) casts the weight first (`castWeight`):
   * self.weight.to(torch.float32), an fp32 copy of a 16-bit weight that the product keeps. */
  rmsNormFp32Weight(x: Tensor, weight: Param, width = x.cols, castWeight = false): Tensor {
    return this.rt.scope(() => {
      const { ops } = this;
      const normed = this.normalisedFp32(x, width);
      const stored = ops.weight(weight, 1, x.cols);
      const w = castWeight ? ops.to(stored, FP32) : stored;
      const scaled = ops.mul(w, normed);
      return ops.to(scaled, x.elementBytes);
    });
  }

  /** x.float() * rsqrt(x.float().pow(2).mean(-1) + eps) over groups of `width` columns (a
   * norm over each head has one statistic per head): the fp32 copy and the inverse kept. */
  private normalisedFp32(x: Tensor, width = x.cols): Tensor {
    const { ops } = this;
    const x32 = ops.to(x, FP32);
    const square = ops.square(x32);
    const variance = ops.meanLastDim(square, x.cols / width);
    this.rt.drop(square);
    const shifted = ops.unary(variance); // variance + eps
    const inverse = ops.unarySavingOutput(shifted); // torch.rsqrt
    this.rt.drop(shifted);
    return ops.mul(x32, inverse);
  }

  /** Llama-4's weightless L2 norm (modeling_llama4.py Llama4TextL2Norm): the fp32 statistics
   * of Llama's RMSNorm, cast back (type_as). */
  l2Norm(x: Tensor, width = x.cols): Tensor {
    return this.rt.scope(() => this.ops.to(this.normalisedFp32(x, width), x.elementBytes));
  }

  /** T5's RMS norm (modeling_t5.py T5LayerNorm): the variance of hidden_states.to(float32),
   * hidden_states (as it is) * rsqrt promoted to fp32, cast to the weight's 16-bit dtype, then
   * weight * that. */
  t5Norm(x: Tensor, weight: Param): Tensor {
    return this.rt.scope(() => {
      const { ops, rt } = this;
      const x32 = ops.to(x, FP32);
      const square = ops.square(x32);
      const variance = ops.meanLastDim(square);
      rt.drop(square, x32);
      const shifted = ops.unary(variance); // variance + eps
      const inverse = ops.unarySavingOutput(shifted);
      rt.drop(shifted);
      const normed = ops.mul(x, inverse);
      const cast = weight.storedBytes < FP32 ? ops.to(normed, weight.storedBytes) : normed;
      return ops.mul(ops.weight(weight, 1, x.cols), cast);
    });
  }

  /** Gemma's RMSNorm (modeling_gemma2.py Gemma2RMSNorm, also Gemma and Gemma-3): the
   * normalised fp32 tensor times (1 + weight.float()), both kept by the product, then cast back
   * (Llama casts first and multiplies in the input dtype). */
  gemmaRmsNorm(x: Tensor, weight: Param, width = x.cols): Tensor {
    return this.rt.scope(() => {
      const { ops } = this;
      const normed = this.normalisedFp32(x, width);
      const w = ops.weight(weight, 1, x.cols);
      const w32 = ops.to(w, FP32);
      const onePlus = ops.unary(w32); // 1.0 + weight.float()
      const scaled = ops.mul(normed, onePlus);
      return ops.to(scaled, x.elementBytes);
    });
  }

  /** One fused RMSNorm kernel: torch's F.rms_norm on CUDA (_fused_rms_norm), or what
   * torch.compile makes of an RMSNorm: the output in x's dtype, x and the fp32 per-row rstd
   * kept for backward (the weight's gradient recomputes the normalised x from them). */
  fusedRmsNorm(x: Tensor, weight: Param): Tensor {
    const { ops, rt } = this;
    const w = ops.weight(weight, 1, x.cols);
    const out = ops.empty(x, x.requiresGrad || w.requiresGrad);
    const rstd = rt.tensor(x.rows, 1, FP32, false);
    rt.record([x, w], [out], [x, rstd, w], () => {
      ops.give(x, () => ops.gradOf(x));
      ops.give(w, () => ops.gradOf(w));
    });
    rt.drop(rstd, w);
    return out;
  }

  /** act(gate) * up as one fused kernel (torch.compile's pointwise fusion, Liger's SwiGLU):
   * the product out, gate and up kept, the activation recomputed in backward. */
  fusedGatedProduct(gate: Tensor, up: Tensor): Tensor {
    const { ops, rt } = this;
    const out = ops.empty(up, gate.requiresGrad || up.requiresGrad);
    rt.record([gate, up], [out], [gate, up], () => {
      ops.give(gate, () => ops.gradOf(gate));
      ops.give(up, () => ops.gradOf(up));
    });
    return out;
  }

  /** OLMo-1's OlmoLayerNorm (modular_olmo.py): F.layer_norm(x.to(float32), shape, None, None)
   * .to(orig_dtype): the fp32 copy, native_layer_norm's fp32 output with its mean and rstd (it
   * keeps the input and both), and the cast back. */
  weightlessLayerNorm(x: Tensor): Tensor {
    return this.rt.scope(() => {
      const { ops, rt } = this;
      const x32 = ops.to(x, FP32);
      const out = ops.empty(x32, x32.requiresGrad);
      const mean = rt.tensor(x32.rows, 1, FP32, false);
      const rstd = rt.tensor(x32.rows, 1, FP32, false);
      rt.record([x32], [out], [x32, mean, rstd], () => ops.give(x32, () => ops.gradOf(x32)));
      rt.drop(mean, rstd);
      return ops.to(out, x.elementBytes);
    });
  }

  /** nn.LayerNorm (native_layer_norm): one kernel that keeps its input and per-row statistics,
   * allocated as the output, then mean and rstd, two tensors of the accumulate type (fp32 for
   * 16-bit inputs: aten/src/ATen/native/cuda/layer_norm_kernel.cu layer_norm_cuda). */
  layerNorm(x0: Tensor, weight: Param, bias?: Param, input: LayerNormInput = {}): Tensor {
    const x = this.fp32Input(x0);
    const w = this.ops.weight(weight, 1, x.cols);
    const b = bias ? this.ops.weight(bias, 1, x.cols) : undefined;
    const out = this.nativeLayerNorm(x, w, b, input.contiguousCopy);
    this.rt.drop(w, b);
    if (x !== x0) this.rt.drop(x);
    return out;
  }

  /** DeBERTa's DebertaLayerNorm (modeling_deberta.py, "TF style"), its statistics written as
   * tensor ops in fp32: x.float() (x itself when fp32), the mean, x - mean (kept by pow), the
   * mean of its square, x - mean again (kept by the division, with sqrt(variance + eps), one
   * value per row), the quotient cast back to x's dtype (kept by weight * it), then + bias. */
  tfLayerNorm(x: Tensor, weight: Param, bias: Param): Tensor {
    return this.rt.scope(() => {
      const { ops, rt } = this;
      const x32 = ops.to(x, FP32);
      const mean = ops.meanLastDim(x32);
      const centred = ops.sub(x32, mean);
      const square = ops.square(centred);
      rt.drop(centred);
      const variance = ops.meanLastDim(square);
      rt.drop(square);
      const centredAgain = ops.sub(x32, mean);
      const shifted = ops.unary(variance); // variance + self.variance_epsilon
      const deviation = ops.unarySavingOutput(shifted); // torch.sqrt: SqrtBackward0 keeps its result
      rt.drop(shifted);
      const normed = ops.mul(centredAgain, deviation); // DivBackward0 keeps both, as a product does
      // `hidden_states = (hidden_states - mean) / ...` rebinds the fp32 input
      rt.drop(centredAgain, deviation, x32);
      const cast = ops.to(normed, x.elementBytes);
      rt.drop(normed);
      const w = ops.weight(weight, 1, x.cols);
      const product = ops.mul(w, cast);
      rt.drop(cast);
      const out = ops.add(product, ops.weight(bias, 1, x.cols));
      rt.drop(product);
      return out;
    });
  }

  /** Nemotron's NemotronLayerNorm1P (modeling_nemotron.py): F.layer_norm(input, shape,
   * self.weight + 1, self.bias) with autocast switched off, every argument first cast to the
   * autocast dtype where autocast is on (_cast_if_autocast_enabled): the weight + 1 vector is a
   * new tensor the norm keeps, and under autocast the norm runs on a 16-bit copy of its input. */
  layerNorm1p(x0: Tensor, weight: Param, bias: Param): Tensor {
    const { ops, rt } = this;
    const cast = (t: Tensor) => (this.precision.autocast ? ops.to(t, this.precision.matmul) : t);
    const x = cast(x0);
    const stored = ops.weight(weight, 1, x0.cols);
    const onePlus = ops.unary(stored); // self.weight + 1
    rt.drop(stored);
    const w = cast(onePlus);
    const storedBias = ops.weight(bias, 1, x0.cols);
    const b = cast(storedBias);
    const out = this.nativeLayerNorm(x, w, b);
    rt.drop(w, b);
    if (w !== onePlus) rt.drop(onePlus);
    if (b !== storedBias) rt.drop(storedBias);
    if (x !== x0) rt.drop(x);
    return out;
  }

  /** native_layer_norm: the output in x's dtype, an fp32 mean and rstd per row, keeping x, them
   * and the weight for backward, which makes x's, the weight's and the bias's gradients. A
   * non-contiguous x is copied contiguous first, in forward and again in backward, each copy a
   * transient (layer_norm_cuda and layer_norm_backward_cuda: input.expect_contiguous()). */
  private nativeLayerNorm(x: Tensor, w: Tensor, b?: Tensor, contiguousCopy = false): Tensor {
    const { ops, rt } = this;
    const copy = contiguousCopy ? rt.tensor(x.rows, x.cols, x.elementBytes, false) : undefined;
    const out = ops.empty(x, x.requiresGrad || w.requiresGrad);
    const mean = rt.tensor(x.rows, 1, FP32, false);
    const rstd = rt.tensor(x.rows, 1, FP32, false);
    const inputs = b ? [x, w, b] : [x, w];
    rt.record(inputs, [out], [x, mean, rstd, w], () => {
      const again = contiguousCopy ? rt.allocate(x.bytes, 'activations') : undefined;
      ops.give(x, () => ops.gradOf(x));
      ops.give(w, () => ops.gradOf(w));
      if (b) ops.give(b, () => ops.gradOf(b));
      rt.release(again);
    });
    rt.drop(copy, mean, rstd);
    return out;
  }
}
