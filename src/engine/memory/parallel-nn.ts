// Tensor- and context-parallel collectives around the linears, as far as memory goes. The recipes already
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
// Context parallelism runs attention as a ring (torch/distributed/tensor/experimental/
// _attention.py _templated_ring_attention and its backward, torchtitan's context_parallel): K and
// V travel in a concatenated send buffer and a receive buffer, the output accumulates in fp32
// with its log-sum-exp; backward accumulates dQ, dK and dV in fp32 and passes dK, dV around in
// fp32 rotation buffers. Those live only inside the attention op, so they appear as a spike
// where it sits: after the projections, before the attention's output projection, and in
// backward between that projection's backward and the attention's.
import { DtypePolicy } from '../request/dtype-policy';
import { WeightAccess, Precision } from './autograd/nn';
import { ModuleHooks } from './autograd/hooks';
import { Ops } from './autograd/ops';
import { Storage, Tensor } from './autograd/runtime';
import { Fp8Nn } from './fp8';
import { LinearParams } from './model/rank-model';

type Linear = Pick<LinearParams, 'weight' | 'bias' | 'outFeatures'>;

export interface TensorParallelSettings {
  /** Tensor-parallel ranks (1: none). */
  degree: number;
  sequenceParallel: boolean;
  /** Whose layers: torchtitan's DTensor plans, or Megatron's parallel linears. */
  engine: 'pytorch' | 'megatron';
  /** Linear names whose input features are split (their outputs are partial sums). */
  rowParallel: Set<string>;
  /** Rows of one micro-batch's whole sequence on this rank. */
  tokens: number;
}

/** Context parallelism's ring over this rank's share of the sequence. */
export interface ContextParallelSettings {
  /** Elements of this rank's queries and of its keys (values alike). */
  queryElements: number;
  keyElements: number;
  /** Rows of the queries' log-sum-exp (tokens x heads on this rank). */
  lseElements: number;
  computeBytes: number;
  /** The attention output projections (o_proj): the ring attention runs right before. */
  attentionOutputs: Set<string>;
}

// _cp_options.convert_to_f32 (default True): the ring's accumulators are fp32.
const ACCUMULATOR_BYTES = 4;

export class ParallelNn extends Fp8Nn implements ModuleHooks {
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
    private readonly cp?: ContextParallelSettings,
  ) {
    super(ops, precision, weights, fp8);
    ops.rt.hooks.add(this);
  }

  override plainLinear(x0: Tensor, linear: Linear): Tensor {
    const x = this.cp?.attentionOutputs.has(linear.weight.name) ? this.ringAttention(x0) : x0;
    const out = this.parallelLinear(x, linear);
    if (x !== x0) this.rt.drop(x);
    return out;
  }

  private parallelLinear(x: Tensor, linear: Linear): Tensor {
    if (this.tp.degree === 1) return super.plainLinear(x, linear);
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

  /** The ring's forward buffers, freed as it returns; an identity node on its output whose
   * backward holds the backward ring's for the moment before the attention's backward. */
  private ringAttention(context: Tensor): Tensor {
    const { ops, rt } = this;
    const cp = this.cp!;
    const kv = 2 * cp.keyElements * cp.computeBytes; // torch.cat([key, value])
    const forward = [
      rt.allocate(kv, 'buffers'), // the send buffer
      rt.allocate(kv, 'buffers'), // the rotater's receive buffer
      rt.allocate(cp.queryElements * ACCUMULATOR_BYTES, 'activations'), // merged output
      rt.allocate(cp.lseElements * ACCUMULATOR_BYTES, 'activations'), // merged log-sum-exp
    ];
    forward.forEach((buffer) => rt.release(buffer));
    const marked = ops.alias(context);
    const node = marked.node;
    // a recompute refills the recorded node; only a fresh identity node is marked
    if (!node || node === context.node) return marked;
    const pass = node.backward;
    node.backward = (grads) => {
      const backward = [
        rt.allocate(cp.queryElements * ACCUMULATOR_BYTES, 'activations'), // grad_query
        rt.allocate(2 * cp.keyElements * ACCUMULATOR_BYTES, 'activations'), // grad_key, grad_value
        rt.allocate(kv, 'buffers'), // kv send
        rt.allocate(kv, 'buffers'), // kv receive
        rt.allocate(2 * cp.keyElements * ACCUMULATOR_BYTES, 'buffers'), // dkv send
        rt.allocate(2 * cp.keyElements * ACCUMULATOR_BYTES, 'buffers'), // dkv receive
      ];
      backward.forEach((buffer) => rt.release(buffer));
      pass(grads);
    };
    return marked;
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
