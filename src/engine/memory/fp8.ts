// fp8 linears as the libraries run them, as far as memory goes. torchao's Float8Linear
// (torchao/float8/float8_linear.py matmul_with_hp_or_float8_args) saves the high-precision
// input and weight for backward and casts to fp8 only around each matmul: the input and the
// weight (unless FSDP gathered it in fp8) in forward; in backward the output gradient (twice
// under rowwise scaling, once per axis), the weight and the input. Transformer Engine's Linear
// (transformer_engine/pytorch/module/linear.py) saves the fp8 cast of its input and keeps an
// fp8 copy of each weight and its transpose across micro-batches (_fp8_workspaces,
// is_first_microbatch). The output head and anything not a trained 2-D weight stay 16-bit
// (torchtitan's float8 filter skips the output; Megatron keeps it in bf16).
import { DtypePolicy, FP8 } from '../request/dtype-policy';
import { Nn, Precision, WeightAccess } from './autograd/nn';
import { Ops } from './autograd/ops';
import { Param, Storage, Tensor } from './autograd/runtime';
import { LinearParams } from './model/rank-model';

type Linear = Pick<LinearParams, 'weight' | 'bias' | 'outFeatures'>;
type Fp8Policy = NonNullable<DtypePolicy['fp8']>;

// torchao converts a linear only when both of its dimensions are multiples of 16 (the fp8
// GEMM's alignment; torchtitan's module filter).
const FP8_ALIGNMENT = 16;

export class Fp8Nn extends Nn {
  /** Transformer Engine's fp8 weight and transpose per weight, kept for the run. */
  private readonly caches = new Map<Param, Storage>();

  constructor(
    ops: Ops,
    precision: Precision,
    weights: WeightAccess,
    private readonly fp8?: Fp8Policy,
  ) {
    super(ops, precision, weights);
  }

  override plainLinear(x: Tensor, linear: Linear): Tensor {
    if (!this.fp8 || !converts(linear, x.cols)) return super.plainLinear(x, linear);
    return this.fp8.recipe === 'transformer-engine'
      ? this.engineLinear(x, linear)
      : this.torchaoLinear(x, linear);
  }

  /** Float8Linear.forward: fp8 casts live only while the matmul runs. */
  private torchaoLinear(x: Tensor, linear: Linear): Tensor {
    const { ops, rt } = this;
    const { input, w, b } = this.operands(x, linear);
    const casts = [rt.allocate(input.rows * input.cols * FP8, 'activations')];
    if (w.elementBytes !== FP8) casts.push(rt.allocate(w.rows * w.cols * FP8, 'buffers'));
    const requiresGrad = input.requiresGrad || w.requiresGrad || !!b?.requiresGrad;
    const out = ops.empty(input, requiresGrad, linear.outFeatures, this.precision.matmul);
    casts.forEach((cast) => rt.release(cast));
    const inputs = b ? [input, w, b] : [input, w];
    rt.record(inputs, [out], [input, w], () => this.torchaoBackward(input, w, b, out));
    rt.drop(w, b);
    if (input !== x) rt.drop(input);
    return out;
  }

  /** What both fp8 linears read before the matmul, autocast's cast and the weight as stored or
   * gathered: the input, the weight and the bias (plainLinear's order, nn.ts). */
  private operands(x: Tensor, linear: Linear): { input: Tensor; w: Tensor; b?: Tensor } {
    const input = this.matmulInput(x);
    const w = this.weights.matmulWeight(this.ops, linear.weight, linear.outFeatures, x.cols);
    const b = linear.bias
      ? this.weights.matmulWeight(this.ops, linear.bias, 1, linear.outFeatures)
      : undefined;
    this.rt.beforeMatmul('forward');
    return { input, w, b };
  }

  /** The input's gradient from fp8 output gradient and weight, then the weight's from the
   * output gradient (cast again along the other axis under rowwise scaling) and fp8 input. */
  private torchaoBackward(input: Tensor, w: Tensor, b: Tensor | undefined, out: Tensor): void {
    const { ops, rt } = this;
    rt.beforeMatmul('backward');
    const gradOut = rt.allocate(out.rows * out.cols * FP8, 'activations');
    const weight8 =
      w.elementBytes === FP8 ? undefined : rt.allocate(w.rows * w.cols * FP8, 'buffers');
    ops.give(input, () => ops.gradOf(input));
    rt.release(weight8);
    const rowwise = this.fp8?.recipe === 'rowwise';
    const gradOutT = rowwise ? rt.allocate(out.rows * out.cols * FP8, 'activations') : undefined;
    const input8 = rt.allocate(input.rows * input.cols * FP8, 'activations');
    ops.give(w, () => rt.allocate(w.rows * w.cols * this.gradientBytes(w), 'gradients'));
    if (b) ops.give(b, () => ops.gradOf(b));
    [input8, gradOutT, gradOut].forEach((cast) => rt.release(cast));
  }

  /** te.Linear: the input cast to fp8 and saved; the weight's fp8 copy and transpose cached. */
  private engineLinear(x: Tensor, linear: Linear): Tensor {
    const { ops, rt } = this;
    const { input, w, b } = this.operands(x, linear);
    this.weightCache(linear.weight, w);
    const input8 = rt.tensor(input.rows, input.cols, FP8, false);
    const requiresGrad = input.requiresGrad || w.requiresGrad || !!b?.requiresGrad;
    const out = ops.empty(input, requiresGrad, linear.outFeatures, this.precision.matmul);
    const inputs = b ? [input, w, b] : [input, w];
    rt.record(inputs, [out], [input8], () => {
      rt.beforeMatmul('backward');
      const gradOut = rt.allocate(out.rows * out.cols * FP8, 'activations');
      ops.give(input, () => ops.gradOf(input));
      ops.give(w, () => rt.allocate(w.rows * w.cols * this.gradientBytes(w), 'gradients'));
      if (b) ops.give(b, () => ops.gradOf(b));
      rt.release(gradOut);
    });
    rt.drop(input8, w, b);
    if (input !== x) rt.drop(input);
    return out;
  }

  private weightCache(param: Param, w: Tensor): void {
    if (this.caches.has(param)) return;
    this.caches.set(param, this.rt.allocate(2 * w.rows * w.cols * FP8, 'buffers'));
  }

  /** A weight's gradient comes in its high-precision dtype even where it was gathered in fp8. */
  private gradientBytes(w: Tensor): number {
    return w.elementBytes === FP8 ? this.precision.matmul : w.elementBytes;
  }
}

/** A trained 2-D weight of a decoder layer whose dimensions fit the fp8 GEMM. */
function converts(linear: Linear, inFeatures: number): boolean {
  const weight = linear.weight;
  if (!weight.trainable || !weight.shape || weight.name === 'lm_head') return false;
  if (weight.name.includes('lora_')) return false;
  return linear.outFeatures % FP8_ALIGNMENT === 0 && inFeatures % FP8_ALIGNMENT === 0;
}
