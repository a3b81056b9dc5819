// FSDP2 (torch.distributed.fsdp fully_shard) as it moves memory: each parameter kept as its
// dim-0 shard; a unit (a decoder layer, the root) all-gathered into one flat buffer on the
// all-gather stream and copied out into per-parameter unsharded tensors before it computes;
// resharded after forward (the last layer and the root are not); in backward the next unit
// prefetched, and the unit's unsharded gradients reduce-scattered from a reduce-dtype copy into
// sharded gradients on the reduce-scatter stream (torch/distributed/fsdp/_fully_shard/
// _fsdp_collectives.py foreach_all_gather, foreach_all_gather_copy_out, foreach_reduce).
// Without gradient sync (set_requires_gradient_sync(False): accumulation, and every micro-batch
// under pipelining) a unit's unsharded gradients stay, upcast once to the reduce dtype, until a
// backward with sync reduces them (_fsdp_param_group.py post_backward, _fsdp_param.py
// to_accumulated_grad_if_needed / accumulate_unsharded_grad_if_needed).
import { ModuleHooks, ModuleName } from '../autograd/hooks';
import { NodeTag, Param, Runtime, Storage } from '../autograd/runtime';
import { ShardWorld, worldOf } from './shard-world';

/** The ranks shards spread over (ShardWorld): a unit's experts gather from and reduce-scatter
 * to the expert data-parallel ranks only. */
export interface Fsdp2Settings extends ShardWorld {
  /** Bytes per element of a gathered parameter (MixedPrecisionPolicy param_dtype). */
  gatheredBytes: number;
  /** Per parameter, where some are gathered in another dtype (torchao's fp8 all-gather). */
  gatheredBytesOf?: (param: Param) => number;
  /** Bytes per element the gradients are reduced in (reduce_dtype). */
  reduceBytes: number;
  /** torch.distributed.pipelining drives this wrapper: the reduction waits for the step's end
   * (stage.py backward_maybe_with_nosync, then perform_reduce_grad). */
  pipelined: boolean;
  /** Under pipelining, unsharded parameters are freed after each micro-batch's backward
   * (set_reshard_after_backward(True)) instead of staying until the step's end. */
  reshardAfterBackward: boolean;
  /** CPUOffloadPolicy: the shards and their gradients live on the host; a reduce-scatter's
   * output is copied there and freed (_fsdp_collectives.py foreach_reduce). */
  offload: boolean;
}

export interface FsdpUnit {
  name: string;
  params: Param[];
  reshardAfterForward: boolean;
  gathered: boolean;
  /** The all-gather output waiting to be copied out (a prefetch). */
  pending?: Storage;
  /** This backward's unsharded gradients, by parameter. */
  grads: Map<Param, Storage>;
  /** Unsharded gradients kept across backwards without sync (unsharded_accumulated_grad, or
   * the unsharded parameter's own .grad when it is already in the reduce dtype). */
  accumulated: Map<Param, Storage>;
  /** Gradients this backward has delivered so far. */
  arrived: number;
}

// The all-gather and reduce-scatter streams: their blocks live in pools of their own.
const REDUCE_SCATTER_STREAM = 1;
export const ALL_GATHER_STREAM = 2;

/** A parameter's shard: its rows padded to a multiple of the world (FSDPParam._init_sharded_param). */
export function shardElements(param: Param, world: number): number {
  const [rows, cols] = param.shape ?? [param.elements, 1];
  return Math.ceil(rows / world) * cols;
}

/** Bytes of `params` on this rank (their shards) and gathered whole (each shard times the ranks
 * it came from, rows padded as sharded), at `bytes` per element. */
function unitBytes(params: Param[], worlds: ShardWorld, bytes: (param: Param) => number) {
  let shards = 0;
  let unsharded = 0;
  for (const param of params) {
    const world = worldOf(param, worlds);
    const shard = shardElements(param, world) * bytes(param);
    shards += shard;
    unsharded += shard * world;
  }
  return { shards, unsharded };
}

export class Fsdp2 implements ModuleHooks {
  /** The all-gather buffer of the unit copied out last, held until the next copy-out. */
  private held?: Storage;
  /** The last reduce-scatter input, held until the next reduce-scatter or backward's end. */
  private reduceInput?: Storage;
  private readonly units = new Map<string, FsdpUnit>();
  /** requires_gradient_sync for the backward running now. */
  private sync = true;
  /** reshard_after_backward for the backward running now. */
  private reshardAfterBackward = true;
  /** Modules the forward ran (their pre-forward hooks fired). */
  private readonly ranForward = new Set<ModuleName>();

  constructor(
    private readonly rt: Runtime,
    private readonly settings: Fsdp2Settings,
    units: FsdpUnit[],
    /** Modules in the order backward reaches them: the head, the layers down, the embedding. */
    private readonly backwardOrder: ModuleName[],
  ) {
    for (const unit of units) {
      this.units.set(unit.name, unit);
      for (const param of unit.params) {
        if (param.trainable) param.onGradient = (grad, p) => this.gradient(unit, p, grad);
      }
    }
  }

  /** Before a micro-batch's backward: pipelining never syncs nor reshards until the step's end
   * (unless told to reshard after each backward); plain accumulation syncs on the last. */
  beforeMicroBatchBackward(sync: boolean): void {
    const { pipelined } = this.settings;
    this.sync = sync && !pipelined;
    this.reshardAfterBackward = !pipelined || this.settings.reshardAfterBackward;
  }

  /** The end of a pipelined step (perform_reduce_grad): every unit's post-backward with sync
   * and resharding, in wrapping order, then the root's final callback. */
  finishBackward(): void {
    if (!this.settings.pipelined) return;
    this.sync = true;
    this.reshardAfterBackward = true;
    for (const unit of this.units.values()) this.postBackward(unit);
    this.afterBackward();
  }

  private unitOf(module: ModuleName): FsdpUnit | undefined {
    return (
      this.units.get(module) ?? (module.startsWith('layer') ? undefined : this.units.get('root'))
    );
  }

  beforeForward(module: ModuleName): void {
    this.ranForward.add(module);
    const unit = this.unitOf(module);
    if (unit) this.unshard(unit);
  }

  /** Post-forward: a unit reshards; the root's post-forward also lets the last all-gather
   * buffer go. */
  afterForward(module: ModuleName): void {
    const unit = this.units.get(module);
    if (unit && unit.reshardAfterForward) this.reshard(unit);
    if (module !== 'root') return;
    this.rt.release(this.held);
    this.held = undefined;
  }

  /** Pre-backward: the unit is gathered (copied out if prefetched) and the unit backward
   * reaches next is prefetched. */
  beforeBackward(tag: NodeTag): void {
    // The tower's first node in backward is the merge into the embedding's output, whose
    // gradient fires the embedding unit's pre-backward hook (FSDP2 hooks a module's outputs).
    const tagged = moduleOf(tag);
    const module = tagged === 'vision' ? 'embedding' : tagged;
    const unit = this.unitOf(module);
    if (!unit) return;
    this.unshard(unit, false);
    const next = this.nextInBackward(module);
    const prefetch = next ? this.unitOf(next) : undefined;
    if (prefetch && prefetch !== unit && !prefetch.gathered && !prefetch.pending) {
      prefetch.pending = this.allGather(prefetch);
    }
  }

  /** The module backward reaches after `module`, of those the forward ran (FSDP2 prefetches by
   * post_forward_order: a layer the model's loop passed by is never gathered). */
  private nextInBackward(module: ModuleName): ModuleName | undefined {
    const order = this.backwardOrder;
    for (let i = order.indexOf(module) + 1; i < order.length; i++) {
      if (!order[i].startsWith('layer') || this.ranForward.has(order[i])) return order[i];
    }
    return undefined;
  }

  /** The final callback: the last reduce-scatter input and all-gather buffer go; units still
   * gathered reshard (those pipelining keeps gathered stay). */
  afterBackward(): void {
    if (this.sync) {
      this.rt.release(this.reduceInput);
      this.reduceInput = undefined;
    }
    this.rt.release(this.held);
    this.held = undefined;
    if (!this.reshardAfterBackward) return;
    for (const unit of this.units.values()) if (unit.gathered) this.reshard(unit);
  }

  /** foreach_all_gather: a copy-in of this rank's shards, the flat output, the copy-in freed. */
  private allGather(unit: FsdpUnit): Storage {
    const { rt, settings } = this;
    const { shards, unsharded } = unitBytes(unit.params, settings, (p) => this.gatheredBytes(p));
    return onStream(rt, ALL_GATHER_STREAM, () => {
      const input = rt.allocate(shards, 'buffers');
      const output = rt.allocate(unsharded, 'buffers');
      rt.release(input);
      return output;
    });
  }

  private gatheredBytes(param: Param): number {
    return this.settings.gatheredBytesOf?.(param) ?? this.settings.gatheredBytes;
  }

  /** foreach_all_gather_copy_out: per-parameter unsharded tensors. In forward the buffer is
   * held until the next unit's copy-out; in backward it goes at once (trace-202 of the
   * calibration set shows both). */
  private unshard(unit: FsdpUnit, holdBuffer = true): void {
    if (unit.gathered) return;
    const buffer = unit.pending ?? this.allGather(unit);
    unit.pending = undefined;
    for (const param of unit.params) {
      const bytes = this.gatheredBytes(param);
      if (param.gathered) this.rt.restore(param.gathered.storage);
      else param.gathered = { storage: this.rt.allocate(param.elements * bytes, 'buffers'), bytes };
    }
    unit.gathered = true;
    this.rt.release(this.held);
    this.held = holdBuffer ? buffer : undefined;
    if (!holdBuffer) this.rt.release(buffer);
  }

  /** Resharding frees the unsharded parameters' memory (their storage resized to 0), even
   * while saved tensors still reference them; unsharding allocates it again. */
  private reshard(unit: FsdpUnit): void {
    for (const param of unit.params) if (param.gathered) this.rt.evict(param.gathered.storage);
    unit.gathered = false;
  }

  /** AccumulateGrad hands a unit parameter's unsharded gradient over; an accumulated one in
   * the same dtype takes it in place. The unit's post-backward (RegisterPostBackwardFunction,
   * after the unit's backward) runs once every parameter this graph used has its gradient. */
  private gradient(unit: FsdpUnit, param: Param, grad: Storage): void {
    if (unit.accumulated.has(param) && !this.upcasts()) this.rt.release(grad);
    else unit.grads.set(param, grad);
    const expected = unit.params.filter((p) => p.trainable && this.rt.usedInGraph(p)).length;
    if (++unit.arrived < expected) return;
    unit.arrived = 0;
    this.postBackward(unit);
  }

  /** The gradients are reduced in a wider dtype than they are computed in. */
  private upcasts(): boolean {
    return this.settings.reduceBytes !== this.settings.gatheredBytes;
  }

  /** Post-backward: this backward's gradients added into the accumulated ones; without sync
   * they stay (upcast to the reduce dtype the first time); with sync, reshard, then
   * foreach_reduce: the unsharded gradients copied into one reduce-dtype input, freed, and
   * reduce-scattered into the unit's sharded gradients. */
  private postBackward(unit: FsdpUnit): void {
    const { rt, settings } = this;
    this.accumulate(unit);
    if (!this.sync) {
      if (this.reshardAfterBackward) this.reshard(unit);
      this.toAccumulated(unit);
      return;
    }
    const grads = [...unit.grads.values(), ...unit.accumulated.values()];
    if (this.reshardAfterBackward) this.reshard(unit);
    if (grads.length === 0) return;
    const trained = unit.params.filter((p) => p.trainable);
    const { shards, unsharded } = unitBytes(trained, settings, () => settings.reduceBytes);
    rt.release(this.reduceInput);
    this.reduceInput = rt.allocate(unsharded, 'buffers');
    grads.forEach((grad) => rt.release(grad));
    unit.grads.clear();
    unit.accumulated.clear();
    const output = onStream(rt, REDUCE_SCATTER_STREAM, () => rt.allocate(shards, 'gradients'));
    this.keepSharded(unit, output);
  }

  /** accumulate_unsharded_grad_if_needed: a gradient computed in the parameter dtype is added
   * into the accumulated reduce-dtype one and freed. */
  private accumulate(unit: FsdpUnit): void {
    for (const [param, grad] of unit.grads) {
      if (!unit.accumulated.has(param)) continue;
      this.rt.release(grad);
      unit.grads.delete(param);
    }
  }

  /** to_accumulated_grad_if_needed: a fresh unsharded gradient becomes the accumulated one,
   * upcast to the reduce dtype (a new tensor, the old one freed) where the dtypes differ. */
  private toAccumulated(unit: FsdpUnit): void {
    for (const [param, grad] of unit.grads) {
      if (!this.upcasts()) {
        unit.accumulated.set(param, grad);
        continue;
      }
      const upcast = this.rt.allocate(param.elements * this.settings.reduceBytes, 'gradients');
      unit.accumulated.set(param, upcast);
      this.rt.release(grad);
    }
    unit.grads.clear();
  }

  /** The sharded gradients are views of the reduce-scatter output: the first trainable
   * parameter's .grad holds the buffer, so zero_grad frees it once. A later reduction in the
   * same step adds into it (the output is freed), as does the host's copy under offload. */
  private keepSharded(unit: FsdpUnit, output: Storage): void {
    const trainable = unit.params.filter((p) => p.trainable);
    if (this.settings.offload || trainable[0].grad) this.rt.release(output);
    else trainable[0].grad = output;
    // foreach_reduce runs the sharded parameters' post-accumulate-grad hooks
    for (const param of trainable) param.afterGradient?.(param);
  }
}

/** The module whose backward a node belongs to. */
export function moduleOf(tag: NodeTag): ModuleName {
  if (tag.layer >= 0) return `layer:${tag.layer}`;
  if (tag.what === 'vision') return 'vision'; // causal-lm.ts withImages: the tower and its merge
  return tag.what === 'loss' ? 'head' : 'embedding';
}

function onStream<T>(rt: Runtime, stream: number, body: () => T): T {
  const previous = rt.stream;
  rt.stream = stream;
  try {
    return body();
  } finally {
    rt.stream = previous;
  }
}
