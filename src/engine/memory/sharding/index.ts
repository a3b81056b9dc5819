// How the data-parallel layout touches a rank's memory: which wrapper runs (FSDP2, DDP,
// DeepSpeed's ZeRO, Megatron's DDP) and what each parameter keeps locally.
import { ModuleHooks, ModuleName } from '../autograd/hooks';
import { Param, Runtime } from '../autograd/runtime';
import { DtypePolicy } from '../../request/dtype-policy';
import { PlanLayout, PlanRequest } from '../../vocabulary';
import { LinearParams, loraParamsOf, RankModel } from '../model/rank-model';
import { adapterParams } from '../recipes/recipe';
import { Ddp } from './ddp';
import { DeepSpeedZero12, DeepSpeedZero3, Zero3Unit } from './deepspeed';
import { MegatronDdp } from './megatron';
import { Fsdp2, FsdpUnit, shardElements } from './fsdp2';
import { shardingEngine } from './engine';
import { ShardWorld, shardWorld, worldOf } from './shard-world';

/** A data-parallel wrapper as the timeline drives it: module hooks, and what it does around
 * each micro-batch's backward, at the end of a pipelined step and around the optimizer. */
export interface Sharding extends ModuleHooks {
  /** Runs once the model's parameters exist (DDP's reducer is built then). */
  afterBuild(): unknown;
  /** Before a micro-batch's backward: whether its gradients are reduced now. */
  beforeMicroBatchBackward?(sync: boolean): void;
  /** After the pipeline schedule's last backward (pipelining's perform_reduce_grad). */
  finishBackward?(): void;
  /** What the optimizer steps, when the wrapper keeps its own flat master partition. */
  optimizerParams?(): Param[];
  beforeOptimizerStep?(): void;
  afterOptimizerStep?(): void;
}

const NONE: Sharding = { afterBuild: () => undefined };

/** Whether ZeRO-3 actually gathers parameters: sharded over more than one rank, or its
 * parameters offloaded to the host. */
export function zero3Gathers(request: PlanRequest, shardDegree: number): boolean {
  const { parallelism } = request;
  return (
    parallelism.zeroStage === 3 && (shardDegree > 1 || parallelism.offload.parameters === 'cpu')
  );
}

/** Whether gathering ZeRO-3 runs as FSDP (torch's fully_shard: a root unit around per-layer
 * units) rather than DeepSpeed's parameter coordinator. */
export function fsdpGathers(request: PlanRequest, shardDegree: number): boolean {
  return zero3Gathers(request, shardDegree) && request.runtime.dataParallelEngine === 'pytorch';
}

/** Ranks a parameter is sharded over: data x context parallel (torchtitan's dp_shard_cp mesh),
 * less the replicas HSDP keeps of each shard. */
function shardDegree(layout: PlanLayout, replicas = 1): number {
  return (layout.dataParallel * layout.contextParallel) / replicas;
}

/** The ranks a request's states shard over on `layout`: shardDegree with HSDP's replicas, and
 * the expert data-parallel ranks for the routed experts (shard-world.ts). */
export function rankShardWorld(request: PlanRequest, layout: PlanLayout): ShardWorld {
  const world = shardDegree(layout, request.parallelism.replicateDegree);
  return shardWorld(world, layout.expertParallel);
}

/** The engine that keeps the gradients and the master copy (engine.ts shardingEngine) on the
 * rank's model. */
export function applySharding(
  rt: Runtime,
  model: RankModel,
  request: PlanRequest,
  layout: PlanLayout,
  policy: DtypePolicy,
): Sharding {
  const worlds = rankShardWorld(request, layout);
  const engine = shardingEngine(request, worlds.world);
  const trainable = trainableInOrder(model);
  const states = request.training.method === 'full' ? policy.trained : policy.adapter;
  // Without ZeRO, Megatron's DDP and DeepSpeed's engine keep every state whole.
  const stateWorlds = request.parallelism.zeroStage >= 1 ? worlds : shardWorld(1, 1);
  if (engine === 'megatron') return megatron(rt, trainable, stateWorlds, states);
  if (engine === 'deepspeed') return deepSpeed(rt, model, request, stateWorlds, policy);
  return withMasterCopies(
    rt,
    pytorchWrapper(rt, model, request, policy, {
      worlds,
      trainable,
      replicas: layout.dataParallel,
    }),
    trainable,
    request.parallelism.offload.optimizer === 'cpu' ? 0 : states.master,
  );
}

/** A DPO reference model's wrapper (trl/models/utils.py): under ZeRO-3 sharded as the policy
 * is, DeepSpeed's engine releasing each module after its forward (no backward comes to use it
 * again: max reuse distance 0) and FSDP resharding every unit but the root after forward (FSDP1's
 * FULL_SHARD, as Accelerate's plugin wraps it); otherwise whole on every rank (prepare_deepspeed
 * runs it at stage 0; without DeepSpeed or FSDP, Accelerate prepares it unwrapped). */
export function referenceSharding(
  rt: Runtime,
  model: RankModel,
  request: PlanRequest,
  layout: PlanLayout,
  policy: DtypePolicy,
): Sharding {
  if (!zero3Gathers(request, rankShardWorld(request, layout).world)) return { ...NONE };
  const runtime = {
    ...request.runtime,
    fsdpReshardAfterForward: 'always' as const,
    zero3LiveParameters: 0,
  };
  return applySharding(rt, model, { ...request, runtime }, layout, policy);
}

/** FSDP2 at ZeRO-3 over the `world` ranks a state shards over, DDP at ZeRO-0 over several
 * data-parallel `replicas`, or nothing; applySharding hands over what it derived. */
function pytorchWrapper(
  rt: Runtime,
  model: RankModel,
  request: PlanRequest,
  policy: DtypePolicy,
  { worlds, trainable, replicas }: { worlds: ShardWorld; trainable: Param[]; replicas: number },
): Sharding {
  const materialized = request.runtime.materializeBeforeSharding;
  if (fsdpGathers(request, worlds.world)) {
    const { fsdp2, units } = fsdp(rt, model, request, worlds, policy);
    return Object.assign(fsdp2, {
      afterBuild: () => materialized && shardBuiltModel(rt, units),
    });
  }
  if (request.parallelism.zeroStage === 0 && replicas > 1) {
    const ddp = new Ddp(rt, trainable, () => rt.step);
    return Object.assign(ddp, {
      afterBuild: () => {
        ddp.build();
        if (materialized) rt.emptyCache();
      },
    });
  }
  return { ...NONE };
}

/** 16-bit parameters with an fp32 master copy (the ZeRO paper's mixed-precision baseline)
 * under a PyTorch wrapper: the copy of what this rank steps, `masterBytes` an element, made once
 * the model is built; none on the device where the optimizer is offloaded (it steps the copy on
 * the host, as the closed form's placeStates keeps it). */
function withMasterCopies(
  rt: Runtime,
  sharding: Sharding,
  trainable: Param[],
  masterBytes: number,
): Sharding {
  if (masterBytes === 0) return sharding;
  const afterBuild = sharding.afterBuild.bind(sharding);
  sharding.afterBuild = () => {
    afterBuild();
    for (const param of trainable) {
      rt.allocate((param.local?.states ?? param.elements) * masterBytes, 'masterWeights');
    }
  };
  return sharding;
}

/** Megatron's DDP: the distributed optimizer (zeroStage 1 and up) shards the master copy and
 * the states over the data-parallel ranks. */
function megatron(
  rt: Runtime,
  trainable: Param[],
  worlds: ShardWorld,
  states: DtypePolicy['trained'],
): Sharding {
  return new MegatronDdp(rt, trainable, {
    shards: worlds,
    gradientBytes: states.gradient,
    masterBytes: states.master,
  });
}

/** DeepSpeed's engine: ZeRO-3 gathers the embedding, each layer, and the norm and head as
 * modules; ZeRO-0 runs as ZeRO-1 over one rank (its bf16 optimizer keeps an fp32 copy). */
function deepSpeed(
  rt: Runtime,
  model: RankModel,
  request: PlanRequest,
  worlds: ShardWorld,
  policy: DtypePolicy,
): Sharding {
  const { parallelism, runtime, training } = request;
  const zero = parallelism.zeroStage;
  const settings = {
    stage: zero === 0 ? (1 as const) : zero,
    ...worlds,
    reduceBucket: runtime.bucketElements,
    bits: training.method === 'full' ? policy.trained.weight : policy.adapter.weight,
    overlapComm: zero === 3, // DeepSpeedZeroConfig: overlap_comm defaults to True at stage 3 only
    offloadOptimizer: parallelism.offload.optimizer === 'cpu',
    offloadParameters: parallelism.offload.parameters === 'cpu',
    reuseDistance: runtime.zero3LiveParameters,
  };
  if (zero !== 3) return new DeepSpeedZero12(rt, trainableInOrder(model), settings);
  return new DeepSpeedZero3(rt, zero3Units(model), {
    ...settings,
    bits: policy.compute,
    gatheredBytesOf: gatheredBytesOf(model, policy.compute),
  });
}

/** The modules ZeRO-3 gathers in forward order: the embedding's, the image tower's, each
 * layer's, and the head unit with every other parameter of the stage (the final norm, the head,
 * a tied head's embedding, classifiers, end adapters), so none is left outside a unit. ZeRO-3
 * partitions every parameter of the model (zero.Init), the tower's too, and steps them in its
 * flat partition whether or not a batch reached them; the tower is gathered as one unit, as a
 * layer is (DeepSpeed fetches each submodule with prefetch: at most the tower's size). */
export function zero3Units(model: RankModel): Zero3Unit[] {
  const units: Zero3Unit[] = [];
  const tied = model.tiedHead ? [] : [model.embedding];
  const adapter = model.embeddingLora ? [model.embeddingLora.a, model.embeddingLora.b] : [];
  const embedding = [
    ...tied,
    model.positions,
    ...(model.embeddingNorm ?? []),
    model.decoderEmbedding?.positions,
    ...(model.decoderEmbedding?.norm ?? []),
    ...adapter,
    ...linearParamsOf(model.projectIn),
  ];
  const embeddingParams = shardedParams(embedding.filter((p): p is Param => !!p));
  if (embeddingParams.length > 0) units.push({ name: 'embedding', params: embeddingParams });
  const vision = shardedParams(model.vision?.all ?? []);
  if (vision.length > 0) units.push({ name: 'vision', params: vision });
  for (const layer of model.layers) {
    const params = shardedParams([...layer.order, ...adapterParams(layer)]);
    units.push({ name: `layer:${layer.index}`, params });
  }
  const placed = new Set(units.flatMap((unit) => unit.params));
  const head = shardedParams(model.all.filter((p) => !placed.has(p)));
  if (head.length > 0) units.push({ name: 'head', params: head });
  return units;
}

/** What FSDP's fully_shard and DeepSpeed's ZeRO-3 partition of a module's tensors: its
 * parameters, not its buffers (fully_shard shards module.parameters(); ZeRO-3's Init converts
 * parameters), which stay whole where the model was built. */
function shardedParams(params: Param[]): Param[] {
  return params.filter((p) => !p.buffer);
}

/** A linear's weight and its adapter's parameters (OPT-350m's projections), none if absent. */
function linearParamsOf(linear: LinearParams | undefined): Param[] {
  if (!linear) return [];
  return [linear.weight, ...(linear.lora ? loraParamsOf(linear.lora) : [])];
}

/** Parameters that train, in the order the optimizer (and DDP) walks them. */
export function trainableInOrder(model: RankModel) {
  const adapters = model.layers.flatMap((layer) => adapterParams(layer));
  return [...model.all.filter((p) => p.trainable), ...adapters];
}

/** fully_shard over a model built whole: each parameter's shard made, the whole one freed,
 * unit by unit in wrapping order; then the cache emptied (tools/measure/sharded.py). */
function shardBuiltModel(rt: Runtime, units: FsdpUnit[]): void {
  for (const unit of units) {
    for (const param of unit.params) {
      const whole = param.storage!;
      param.storage = rt.allocate(
        (param.local?.weight ?? param.elements) * param.storedBytes,
        'weights',
      );
      rt.release(whole);
    }
  }
  rt.emptyCache();
}

/** Whether a unit reshards after forward (torchtitan's fsdp_reshard_after_forward): by default
 * not under pipelining (torchtitan/distributed/fsdp.py get_fsdp_reshard_after_forward_policy),
 * otherwise every layer but the last, which backward needs at once. The root never does: FSDP2
 * keeps it gathered for backward (_fsdp_state.py _lazy_init). */
function reshardsAfterForward(request: PlanRequest, lastLayer: boolean): boolean {
  const policy = request.runtime.fsdpReshardAfterForward;
  if (policy !== 'default') return policy === 'always';
  return !underPipelining(request) && !lastLayer;
}

/** Whether torch.distributed.pipelining drives the rank: a pipeline, or the search's probe of
 * one of its stages. */
function underPipelining(request: PlanRequest): boolean {
  const { pipelineParallel, probedPipelineStage } = request.parallelism;
  return pipelineParallel > 1 || probedPipelineStage === true;
}

/** fully_shard on every decoder layer, then on the root: the embedding, final norm and head
 * (or the embedding and the head as units of their own). */
function fsdp(
  rt: Runtime,
  model: RankModel,
  request: PlanRequest,
  worlds: ShardWorld,
  policy: DtypePolicy,
) {
  const offload = request.parallelism.offload.parameters === 'cpu';
  const units = fsdpUnits(model, request, worlds, offload);
  const layers = [...model.layers].reverse().map((l): ModuleName => `layer:${l.index}`);
  const fsdp2 = new Fsdp2(
    rt,
    {
      ...worlds,
      gatheredBytes: policy.gathered,
      gatheredBytesOf: gatheredBytesOf(model, policy.gathered, fp8Gathered(policy)),
      reduceBytes: policy.reduce,
      pipelined: underPipelining(request),
      reshardAfterBackward: request.runtime.fsdpReshardAfterBackward,
      offload,
    },
    units,
    ['head', ...layers, 'embedding'],
  );
  return { fsdp2, units: wrappingOrder(units) };
}

/** The units in FSDP's all_states order: the root (module order puts it first), the embedding
 * unit, the layers, the head unit; each parameter given its shard (none on the device when
 * offloaded). A module with no parameters gets no param group. */
function fsdpUnits(model: RankModel, request: PlanRequest, worlds: ShardWorld, offload: boolean) {
  const units: FsdpUnit[] = [];
  const unit = (name: string, modules: RankModel['all'], reshardAfterForward: boolean) => {
    const params = shardedParams(modules);
    for (const p of params) {
      const shard = shardElements(p, worldOf(p, worlds));
      p.local = { weight: offload ? 0 : shard, states: shard };
    }
    if (params.length === 0) return;
    const state = { grads: new Map(), accumulated: new Map(), arrived: 0, gathered: false };
    units.push({ name, params, reshardAfterForward, ...state });
  };
  const separate = request.runtime.fsdpEmbeddingUnits && !model.tiedHead;
  const ownUnits = separate ? [model.embedding, model.head?.weight] : [];
  const inLayers = new Set(model.layers.flatMap((l) => [...l.order, ...adapterParams(l)]));
  unit(
    'root',
    model.all.filter((p) => !inLayers.has(p) && !ownUnits.includes(p)),
    false,
  );
  if (separate && model.embedding) unit('embedding', [model.embedding], true);
  model.layers.forEach((layer, i) => {
    const last = i === model.layers.length - 1;
    const params = [...layer.order, ...adapterParams(layer)];
    unit(`layer:${layer.index}`, params, reshardsAfterForward(request, last));
  });
  if (separate && model.head) unit('head', [model.head.weight], true);
  return units;
}

/** Quantised base weights are all-gathered as they are stored, not in the compute dtype:
 * torchao's NF4Tensor.fsdp_pre_all_gather gathers quantized_data, quantized_scalers and
 * quantization_factor (dtypes/nf4tensor.py), and bitsandbytes' packed weight is sharded and
 * gathered as its quant_storage tensor, under FSDP and ZeRO-3 alike. */
function quantizedWeights(model: RankModel): Set<Param> {
  const linears = model.layers.flatMap((l) => [...l.linears.values()]);
  const ends = [model.projectIn, model.projectOut, model.headTransform?.dense, model.head];
  for (const end of ends) if (end) linears.push(end);
  // A tower's linears load 4-bit too (model-states.ts quantizesTower), gathered as ZeRO-3 unit.
  const tower = model.vision;
  if (tower) linears.push(...tower.layers.flatMap((l) => l.linears), ...tower.projector);
  return new Set(linears.filter((linear) => linear.quantized).map((linear) => linear.weight));
}

/** torchao's fp8 all-gather: the bytes its converted linear weights go in, where not the
 * compute dtype's. */
function fp8Gathered(policy: DtypePolicy): number | undefined {
  const fp8 = policy.fp8;
  return fp8 && fp8.gathered !== policy.gathered ? fp8.gathered : undefined;
}

/** Bytes per element a rank gathers a parameter in: its quantised bytes, the fp8 of torchao's
 * fp8 all-gather for the layers' converted trained linears (FSDP2 only), or `bytes`. */
function gatheredBytesOf(model: RankModel, bytes: number, fp8Gathered?: number) {
  const quantized = quantizedWeights(model);
  const converted = new Set(
    fp8Gathered === undefined
      ? []
      : model.layers.flatMap((l) => [...l.linears.values()].map((linear) => linear.weight)),
  );
  if (quantized.size === 0 && converted.size === 0) return undefined;
  return (param: Param) => {
    if (quantized.has(param)) return param.storedBytes;
    return converted.has(param) && param.trainable ? fp8Gathered! : bytes;
  };
}

/** Units in the order fully_shard wrapped them (layers, the embedding and head, the root): the
 * order a model built whole is sharded in. */
function wrappingOrder(units: FsdpUnit[]): FsdpUnit[] {
  const rank = (u: FsdpUnit) => (u.name === 'root' ? 2 : u.name.startsWith('layer') ? 0 : 1);
  return [...units].sort((a, b) => rank(a) - rank(b));
}
