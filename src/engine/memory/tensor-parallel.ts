// Tensor-parallel collectives around the linears, as far as memory goes. The recipes already
// split heads and MLP widths over the tensor-parallel ranks; this adds what moves between them.
// Without sequence parallelism a row-parallel linear's partial output is summed across ranks:
// torchtitan's DTensor redistributes Partial to Replicate with an out-of-place all-reduce (a
// new tensor, the partial one freed); Megatron all-reduces in place. With sequence parallelism
// (torchtitan's SequenceParallel / PrepareModuleInput, Megatron's --sequence-parallel) the
// norms, residuals and dropouts hold 1/t of the sequence: a column-parallel linear's input is
// all-gathered (once per module input: q, k and v share one gather) and a row-parallel
// linear's output reduce-scattered. torchtitan's matmuls save the gathered input; Megatron's
// save the sequence shard and gather again in backward into a global buffer kept for the run
// (megatron/core/tensor_parallel/layers.py LinearWithGradAccumulationAndAsyncCommunication,
// utils.py GlobalMemoryBuffer).
import { DtypePolicy } from '../request/dtype-policy';
import { WeightAccess, Precision } from './autograd/nn';
import { ModuleHooks } from './autograd/hooks';
import { Ops } from './autograd/ops';
import { Storage, Tensor } from './autograd/runtime';
import { Fp8Nn } from './fp8';
import { LinearParams } from './model/rank-model';

type Linear = Pick<LinearParams, 'weight' | 'bias' | 'outFeatures'>;

export interface TensorParallelSettings {
  degree: number;
  sequenceParallel: boolean;
  /** Whose layers: torchtitan's DTensor plans, or Megatron's parallel linears. */
  engine: 'pytorch' | 'megatron';
  /** Linear names whose input features are split (their outputs are partial sums). */
  rowParallel: Set<string>;
  /** Rows of one micro-batch's whole sequence on this rank. */
  tokens: number;
}

export class TensorParallelNn extends Fp8Nn implements ModuleHooks {
  /** The last gathered input, shared by the linears that read the same module input. */
  private gathered?: { shard: Storage; full: Tensor };
  /** Megatron's global memory buffer for gathered inputs. */
  private globalBuffer?: Storage;

  constructor(
    ops: Ops,
    precision: Precision,
    weights: WeightAccess,
    fp8: DtypePolicy['fp8'],
    private readonly tp: TensorParallelSettings,
  ) {
    super(ops, precision, weights, fp8);
    ops.rt.hooks.add(this);
  }

  override plainLinear(x: Tensor, linear: Linear): Tensor {
    if (this.tp.rowParallel.has(linear.weight.name)) {
      return this.combine(super.plainLinear(x, linear));
    }
    if (!this.sharded(x)) return super.plainLinear(x, linear);
    if (this.tp.engine === 'megatron') return this.megatronGatheredLinear(x, linear);
    const full = this.gather(x);
    const out = super.plainLinear(full, linear);
    this.rt.drop(full);
    return out;
  }

  /** The embedding's partial rows (vocabulary-parallel) summed, or reduce-scattered to the
   * sequence shard under sequence parallelism (VocabParallelEmbedding, torchtitan's
   * RowwiseParallel on tok_embeddings). */
  combine(partial: Tensor): Tensor {
    const { ops, rt, tp } = this;
    if (!tp.sequenceParallel) {
      if (tp.engine === 'megatron') return partial; // all_reduce in place
      // funcol.all_reduce writes a new tensor; its backward hands the gradient straight back
      const out = ops.empty(partial, partial.requiresGrad);
      rt.record([partial], [out], [], ([grad]) => ops.pass(partial, grad));
      rt.drop(partial);
      return out;
    }
    const shard = rt.tensor(
      Math.ceil(partial.rows / tp.degree),
      partial.cols,
      partial.elementBytes,
      partial.requiresGrad,
      partial.storage.component,
    );
    rt.record([partial], [shard], [], () => ops.give(partial, () => ops.gradOf(partial)));
    rt.drop(partial);
    return shard;
  }

  private sharded(x: Tensor): boolean {
    return this.tp.sequenceParallel && x.rows < this.tp.tokens;
  }

  /** all_gather along the sequence; its backward reduce-scatters the gradient to the shard. */
  private gather(x: Tensor): Tensor {
    const { ops, rt } = this;
    if (this.gathered?.shard === x.storage) return rt.view(this.gathered.full);
    this.forget();
    const full = rt.tensor(
      this.tp.tokens,
      x.cols,
      x.elementBytes,
      x.requiresGrad,
      x.storage.component,
    );
    rt.record([x], [full], [], () => ops.give(x, () => ops.gradOf(x)));
    this.gathered = { shard: x.storage, full: rt.view(full, full.cols, full.requiresGrad, false) };
    return full;
  }

  private forget(): void {
    if (this.gathered) this.rt.drop(this.gathered.full);
    this.gathered = undefined;
  }

  /** A module's forward ends, or backward reaches another part: gathers are not shared on. */
  afterForward = () => this.forget();
  beforeBackward = () => this.forget();

  /** Megatron's column-parallel linear: gathered into the global buffer, the shard saved,
   * gathered again in backward; the full input gradient reduce-scattered to the shard. */
  private megatronGatheredLinear(x: Tensor, linear: Linear): Tensor {
    const { ops, rt } = this;
    const fullBytes = this.tp.tokens * x.cols * x.elementBytes;
    this.globalBuffer ??= rt.allocate(fullBytes, 'buffers');
    const w = this.weights.matmulWeight(ops, linear.weight, linear.outFeatures, x.cols);
    rt.beforeMatmul('forward');
    const out = rt.tensor(this.tp.tokens, linear.outFeatures, x.elementBytes, true);
    rt.record([x, w], [out], [x, w], () => {
      rt.beforeMatmul('backward');
      ops.give(w, () => ops.gradOf(w));
      ops.give(x, () => {
        const full = rt.allocate(fullBytes, x.storage.component);
        const shard = ops.gradOf(x);
        rt.release(full);
        return shard;
      });
    });
    rt.drop(w);
    return out;
  }
}
