// FSDP2 (torch.distributed.fsdp fully_shard) as it moves memory: each parameter kept as its
// dim-0 shard; a unit (a decoder layer, the root) all-gathered into one flat buffer on the
// all-gather stream and copied out into per-parameter unsharded tensors before it computes;
// resharded after forward (the last layer and the root are not); in backward the next unit
// prefetched, and the unit's unsharded gradients reduce-scattered from a reduce-dtype copy into
// sharded gradients on the reduce-scatter stream (torch/distributed/fsdp/_fully_shard/
// _fsdp_collectives.py foreach_all_gather, foreach_all_gather_copy_out, foreach_reduce).
import { ModuleHooks, ModuleName } from '../autograd/hooks';
import { NodeTag, Param, Runtime, Storage } from '../autograd/runtime';

export interface Fsdp2Settings {
  world: number;
  /** Bytes per element of a gathered parameter (MixedPrecisionPolicy param_dtype). */
  gatheredBytes: number;
  /** Bytes per element the gradients are reduced in (reduce_dtype). */
  reduceBytes: number;
}

export interface FsdpUnit {
  name: string;
  params: Param[];
  reshardAfterForward: boolean;
  gathered: boolean;
  /** The all-gather output waiting to be copied out (a prefetch). */
  pending?: Storage;
  grads: Storage[];
  /** The sharded gradients of the unit: one reduce-scatter output, viewed per parameter. */
  sharded?: Storage;
}

// The all-gather and reduce-scatter streams: their blocks live in pools of their own.
const REDUCE_SCATTER_STREAM = 1;
const ALL_GATHER_STREAM = 2;

/** A parameter's shard: its rows padded to a multiple of the world (FSDPParam._init_sharded_param). */
export function shardElements(param: Param, world: number): number {
  const [rows, cols] = param.shape ?? [param.elements, 1];
  return Math.ceil(rows / world) * cols;
}

export class Fsdp2 implements ModuleHooks {
  /** The all-gather buffer of the unit copied out last, held until the next copy-out. */
  private held?: Storage;
  /** The last reduce-scatter input, held until the next reduce-scatter or backward's end. */
  private reduceInput?: Storage;
  private readonly units = new Map<string, FsdpUnit>();

  constructor(
    private readonly rt: Runtime,
    private readonly settings: Fsdp2Settings,
    units: FsdpUnit[],
    /** Modules in the order backward reaches them: the head, the layers down, the embedding. */
    private readonly backwardOrder: ModuleName[],
    private readonly microBatch: () => number,
  ) {
    for (const unit of units) {
      this.units.set(unit.name, unit);
      for (const param of unit.params) {
        if (param.trainable) param.onGradient = (grad) => this.gradient(unit, grad);
      }
    }
  }

  private unitOf(module: ModuleName): FsdpUnit | undefined {
    return (
      this.units.get(module) ?? (module.startsWith('layer') ? undefined : this.units.get('root'))
    );
  }

  beforeForward(module: ModuleName): void {
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
    const module = moduleOf(tag);
    const unit = this.unitOf(module);
    if (!unit) return;
    this.unshard(unit, false);
    const next = this.backwardOrder[this.backwardOrder.indexOf(module) + 1];
    const prefetch = next ? this.unitOf(next) : undefined;
    if (prefetch && prefetch !== unit && !prefetch.gathered && !prefetch.pending) {
      prefetch.pending = this.allGather(prefetch);
    }
  }

  /** The final callback: the last reduce-scatter input and all-gather buffer go. */
  afterBackward(): void {
    this.rt.release(this.reduceInput);
    this.reduceInput = undefined;
    this.rt.release(this.held);
    this.held = undefined;
    for (const unit of this.units.values()) if (unit.gathered) this.reshard(unit);
  }

  /** foreach_all_gather: a copy-in of this rank's shards, the flat output, the copy-in freed. */
  private allGather(unit: FsdpUnit): Storage {
    const { rt, settings } = this;
    const full = unit.params.reduce((sum, p) => sum + shardElements(p, settings.world), 0);
    return onStream(rt, ALL_GATHER_STREAM, () => {
      const input = rt.allocate(full * settings.gatheredBytes, 'buffers');
      const output = rt.allocate(full * settings.world * settings.gatheredBytes, 'buffers');
      rt.release(input);
      return output;
    });
  }

  /** foreach_all_gather_copy_out: per-parameter unsharded tensors. In forward the buffer is
   * held until the next unit's copy-out; in backward it goes at once (trace-202 of the
   * calibration set shows both). */
  private unshard(unit: FsdpUnit, holdBuffer = true): void {
    if (unit.gathered) return;
    const buffer = unit.pending ?? this.allGather(unit);
    unit.pending = undefined;
    for (const param of unit.params) {
      const bytes = this.settings.gatheredBytes;
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

  private gradient(unit: FsdpUnit, grad: Storage): void {
    unit.grads.push(grad);
    const expected = unit.params.filter((p) => p.trainable).length;
    if (unit.grads.length === expected) this.postBackward(unit);
  }

  /** Post-backward: reshard, then foreach_reduce: the unsharded gradients copied into one
   * reduce-dtype input, freed, and reduce-scattered into the unit's sharded gradients. */
  private postBackward(unit: FsdpUnit): void {
    const { rt, settings } = this;
    this.reshard(unit);
    const full = unit.params
      .filter((p) => p.trainable)
      .reduce((sum, p) => sum + shardElements(p, settings.world), 0);
    rt.release(this.reduceInput);
    this.reduceInput = rt.allocate(full * settings.world * settings.reduceBytes, 'buffers');
    unit.grads.forEach((grad) => rt.release(grad));
    unit.grads = [];
    const output = onStream(rt, REDUCE_SCATTER_STREAM, () =>
      rt.allocate(full * settings.reduceBytes, 'gradients'),
    );
    if (unit.sharded && this.microBatch() > 0)
      rt.release(output); // added into the sharded gradients
    else this.keepSharded(unit, output);
  }

  /** The sharded gradients are views of the reduce-scatter output: the first trainable
   * parameter's .grad holds the buffer, so zero_grad frees it once. */
  private keepSharded(unit: FsdpUnit, output: Storage): void {
    unit.sharded = output;
    const first = unit.params.find((p) => p.trainable)!;
    first.grad = output;
  }
}

/** The module whose backward a node belongs to. */
function moduleOf(tag: NodeTag): ModuleName {
  if (tag.layer >= 0) return `layer:${tag.layer}`;
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
