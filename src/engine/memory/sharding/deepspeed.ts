// DeepSpeed's ZeRO engine as it moves memory (deepspeed/runtime/zero/stage_1_and_2.py,
// stage3.py, partitioned_param_coordinator.py). ZeRO-1/2: the trained 16-bit parameters live
// in one flat buffer, an fp32 partition of them is this rank's master copy and carries the
// optimizer states; in backward each gradient is copied into a reduce bucket and the bucket,
// once full, is reduced and this rank's part kept in a 16-bit gradient partition (ZeRO-2), or
// the full gradients stay until the step reduces them (ZeRO-1); the step makes an fp32 copy of
// the partition's gradients. ZeRO-3 keeps every parameter as a partition, gathers a module's
// parameters before it runs and frees them unless they are used again soon, and reduces the
// gradients through one bucket into a flat partition of 16-bit gradients.
import { ModuleName } from '../autograd/hooks';
import { NodeTag, Param, Runtime, Storage } from '../autograd/runtime';
import { makeParam } from '../model/rank-model';
import { moduleOf } from './fsdp2';
import { Sharding } from './index';
import { partitionElements, ShardWorld, worldOf } from './shard-world';

/** The ranks the partitions are spread over (ShardWorld): the data-parallel ranks, the expert
 * data-parallel ones for the experts. */
export interface DeepSpeedSettings extends ShardWorld {
  stage: 1 | 2 | 3;
  /** reduce_bucket_size, elements. */
  reduceBucket: number;
  /** Bytes per element of the 16-bit parameters and their gradients. */
  bits: number;
  /** ZeRO-3: bytes per element a parameter is gathered in where not `bits` (a quantised base
   * weight, as stored). */
  gatheredBytesOf?: (param: Param) => number;
  /** overlap_comm: two reduce buckets alternate (on by default at stage 3 only). */
  overlapComm: boolean;
  /** offload_optimizer: the fp32 partition, its states and gradients live on the host. */
  offloadOptimizer: boolean;
  /** ZeRO-3's offload_param: the 16-bit partitions live on the host too. */
  offloadParameters: boolean;
  /** ZeRO-3: parameters a module's are kept gathered for, measured as the parameters the trace
   * runs through before their next use (stage3_max_reuse_distance; stage3_max_live_parameters
   * bounds prefetching, 1e9 each by default). */
  reuseDistance: number;
}

/** ZeRO-3 leaves parameters below stage3_param_persistence_threshold (1e5 elements by
 * default) whole on every rank (stage3.py persistent parameters). */
export const PERSISTENCE_THRESHOLD = 1e5;
// The fp32 copy and the gradients the step works on (fp32 master, Adam's fp32 states).
const FP32 = 4;

/** The fp32 partition the optimizer steps: one flat parameter carrying the states. */
function flatPartition(elements: number): Param {
  const param = makeParam('fp32 partition', elements, true, FP32, FP32);
  param.local = { weight: elements, states: elements };
  return param;
}

/** ZeRO-1 and ZeRO-2 (DeepSpeedZeroOptimizer). */
export class DeepSpeedZero12 implements Sharding {
  private readonly master: Param;
  private readonly partition: number;
  private buckets: Storage[] = [];
  private bucketElements = 0;
  /** This backward's 16-bit gradient partition (grads_in_partition). */
  private current?: Storage;
  /** Gradient partitions kept for the step (averaged_gradients). */
  private averaged?: Storage;

  constructor(
    private readonly rt: Runtime,
    private readonly params: Param[],
    private readonly settings: DeepSpeedSettings,
  ) {
    this.partition = partitionElements(params, settings);
    this.master = flatPartition(this.partition);
    if (settings.stage === 2) {
      for (const param of params) param.onGradient = (grad, p) => this.gradient(p, grad);
    }
  }

  /** Engine init: the trained parameters flattened into one buffer (the copy made, the old
   * ones freed), then the fp32 partition made from it. */
  afterBuild(): void {
    const { rt, params, settings } = this;
    if (params.length === 0) return;
    const flat = rt.allocate(
      params.reduce((s, p) => s + p.elements * p.storedBytes, 0),
      'weights',
    );
    for (const param of params) {
      rt.release(param.storage);
      rt.retain(flat);
      param.storage = flat;
    }
    rt.release(flat);
    if (!settings.offloadOptimizer) rt.allocate(this.partition * FP32, 'masterWeights');
  }

  optimizerParams(): Param[] {
    return this.settings.offloadOptimizer || this.params.length === 0 ? [] : [this.master];
  }

  /** ZeRO-2's gradient hook: the gradient is copied into the bucket (its own memory freed);
   * a full bucket is reduced and this rank's share copied into the partition. */
  private gradient(param: Param, grad: Storage): void {
    const { rt, settings } = this;
    if (this.buckets.length === 0) this.setupBuckets();
    if (this.bucketElements + param.elements > settings.reduceBucket) this.reduceBucket();
    rt.release(grad);
    this.bucketElements += param.elements;
  }

  /** setup_buckets: the reduce bucket (two with overlap_comm) for this backward. */
  private setupBuckets(): void {
    const bytes = this.settings.reduceBucket * this.settings.bits;
    const count = this.settings.overlapComm ? 2 : 1;
    this.buckets = Array.from({ length: count }, () => this.rt.allocate(bytes, 'buffers'));
  }

  /** reduce_ipg_grads: with the optimizer on the device, the reduced share goes into the
   * 16-bit partition made at the first copy; offloaded, it goes to the host. */
  private reduceBucket(): void {
    this.bucketElements = 0;
    if (this.settings.offloadOptimizer || this.current) return;
    this.current = this.rt.allocate(this.partition * this.settings.bits, 'gradients');
  }

  /** The backward's epilogue: the last bucket reduced, the buckets freed, this backward's
   * partition added into the one kept for the step. ZeRO-1 reduces only at the last. */
  afterBackward(): void {
    if (this.settings.stage === 2) {
      this.reduceBucket();
      this.buckets.forEach((bucket) => this.rt.release(bucket));
      this.buckets = [];
      this.keepPartition();
    }
  }

  private keepPartition(): void {
    if (!this.current) return;
    if (this.averaged) this.rt.release(this.current);
    else this.averaged = this.current;
    this.current = undefined;
  }

  /** The step: the partition's gradients flattened, cast to fp32 for the fp32 partition, the
   * 16-bit ones freed. */
  beforeOptimizerStep(): void {
    const { rt, settings } = this;
    if (settings.stage === 1) this.reduceFullGradients();
    if (settings.offloadOptimizer || !this.averaged) return;
    const flat = rt.allocate(this.partition * settings.bits, 'gradients');
    this.master.grad = rt.allocate(this.partition * FP32, 'gradients');
    rt.release(flat);
    rt.release(this.averaged);
    this.averaged = undefined;
  }

  /** ZeRO-1 reduces the full gradients the micro-batches accumulated when the step comes
   * (reduce_gradients): through the bucket into the partition, the full ones freed. */
  private reduceFullGradients(): void {
    this.setupBuckets();
    this.reduceBucket();
    for (const param of this.params) {
      this.rt.release(param.grad);
      param.grad = undefined;
    }
    this.buckets.forEach((bucket) => this.rt.release(bucket));
    this.buckets = [];
    this.keepPartition();
  }

  /** The fp32 gradients go once the step has used them. */
  afterOptimizerStep(): void {
    this.rt.release(this.master.grad);
    this.master.grad = undefined;
  }
}

/** A module ZeRO-3 gathers as one: a decoder layer, the embedding, the final norm and head. */
export interface Zero3Unit {
  name: ModuleName;
  params: Param[];
}

/** ZeRO-3 (DeepSpeedZeroOptimizer_Stage3 and its parameter coordinator). */
export class DeepSpeedZero3 implements Sharding {
  private readonly master: Param;
  private readonly partition: number;
  private gathered = new Map<Zero3Unit, Storage>();
  private readonly byName = new Map<ModuleName, Zero3Unit>();
  private readonly arrived = new Map<Zero3Unit, number>();
  private gradBuffer?: Storage;

  constructor(
    private readonly rt: Runtime,
    private readonly units: Zero3Unit[],
    private readonly settings: DeepSpeedSettings,
  ) {
    const trainable = units.flatMap((u) => u.params.filter((p) => p.trainable));
    this.partition = partitionElements(trainable, settings);
    this.master = flatPartition(this.partition);
    for (const unit of units) {
      this.byName.set(unit.name, unit);
      for (const param of unit.params) {
        const whole = param.elements < PERSISTENCE_THRESHOLD;
        const world = worldOf(param, settings);
        const shard = whole ? param.elements : Math.ceil(param.elements / world);
        const onHost = settings.offloadParameters && !whole;
        param.local = { weight: onHost ? 0 : shard, states: param.elements / world };
        if (param.trainable) param.onGradient = (grad) => this.gradient(unit, grad);
      }
    }
  }

  /** Optimizer setup: the fp32 partition, the flat 16-bit gradient partitions and the
   * reduce bucket, all kept for the run (stage3.py _setup_for_real_optimizer). */
  afterBuild(): void {
    const { rt, settings } = this;
    if (this.partition === 0) return;
    if (!settings.offloadOptimizer) {
      rt.allocate(this.partition * FP32, 'masterWeights');
      this.gradBuffer = rt.allocate(this.partition * settings.bits, 'gradients');
    }
    rt.allocate(settings.reduceBucket * settings.bits, 'buffers');
  }

  optimizerParams(): Param[] {
    return this.settings.offloadOptimizer || this.partition === 0 ? [] : [this.master];
  }

  beforeForward(module: ModuleName): void {
    const unit = this.unitOf(module);
    if (unit) this.fetch(unit);
  }

  /** release_sub_module: a module's parameters are freed unless the trace uses them again
   * within the reuse distance: after forward, the rest of the forward and as much of the
   * backward, before it comes back to this module. */
  afterForward(module: ModuleName): void {
    const unit = this.byName.get(module);
    if (!unit) return;
    const index = this.units.indexOf(unit);
    const after = this.units.slice(index + 1).reduce((s, u) => s + elements(u), 0);
    if (2 * after >= this.settings.reuseDistance) this.release(unit);
  }

  beforeBackward(tag: NodeTag): void {
    const unit = this.unitOf(moduleOf(tag));
    if (unit) this.fetch(unit);
  }

  /** After backward a module is next used by the next step's forward: kept only when the
   * units before it, walked twice, fit in the reuse distance. */
  private afterUnitBackward(unit: Zero3Unit): void {
    const index = this.units.indexOf(unit);
    const before = this.units.slice(0, index).reduce((s, u) => s + elements(u), 0);
    if (2 * before >= this.settings.reuseDistance) this.release(unit);
  }

  private unitOf(module: ModuleName): Zero3Unit | undefined {
    return this.byName.get(module);
  }

  /** fetch_sub_module: an all-gather into one flat buffer of the module's full parameters;
   * freeing it empties the buffer even where autograd saved a parameter (ZeRO-3's linear
   * saves the parameter and gathers it again for backward). */
  private fetch(unit: Zero3Unit): void {
    const known = this.gathered.get(unit);
    if (known) return this.rt.restore(known);
    const bytes = unit.params.reduce((sum, p) => sum + p.elements * this.gatheredBytes(p), 0);
    const storage = this.rt.allocate(bytes, 'buffers');
    this.gathered.set(unit, storage);
    for (const param of unit.params) param.gathered = { storage, bytes: this.gatheredBytes(param) };
  }

  private gatheredBytes(param: Param): number {
    return this.settings.gatheredBytesOf?.(param) ?? this.settings.bits;
  }

  private release(unit: Zero3Unit): void {
    const storage = this.gathered.get(unit);
    if (storage) this.rt.evict(storage);
  }

  /** A gradient is copied into the reduce bucket (freed), reduce-scattered and added into
   * this rank's flat gradient partition; the module goes once all its parameters this graph
   * used have (post_sub_module_backward_function runs after the module's backward). */
  private gradient(unit: Zero3Unit, grad: Storage): void {
    this.rt.release(grad);
    const count = (this.arrived.get(unit) ?? 0) + 1;
    const expected = unit.params.filter((p) => p.trainable && this.rt.usedInGraph(p)).length;
    if (count < expected) {
      this.arrived.set(unit, count);
      return;
    }
    this.arrived.delete(unit);
    this.afterUnitBackward(unit);
  }

  /** Modules with no trained parameter go after their backward too. */
  afterBackward(): void {
    for (const [unit, storage] of this.gathered) {
      const frozen = !unit.params.some((p) => p.trainable);
      if (frozen && storage.resident) this.afterUnitBackward(unit);
    }
  }

  /** The step's fp32 gradients for the partition, freed once used. */
  beforeOptimizerStep(): void {
    if (!this.gradBuffer) return;
    this.master.grad = this.rt.allocate(this.partition * FP32, 'gradients');
  }

  afterOptimizerStep(): void {
    this.rt.release(this.master.grad);
    this.master.grad = undefined;
  }
}

function elements(unit: Zero3Unit): number {
  return unit.params.reduce((sum, p) => sum + p.elements, 0);
}
