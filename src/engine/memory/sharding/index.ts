// How the data-parallel layout touches a rank's memory: which wrapper runs (FSDP2, DDP) and
// what each parameter keeps locally.
import { fsdpGathers } from '../buffers';
import { ModuleHooks, ModuleName } from '../autograd/hooks';
import { Runtime } from '../autograd/runtime';
import { DtypePolicy } from '../../request/dtype-policy';
import { PlanLayout, PlanRequest } from '../../vocabulary';
import { RankModel } from '../model/rank-model';
import { adapterParams } from '../recipes/recipe';
import { Ddp } from './ddp';
import { Fsdp2, FsdpUnit, shardElements } from './fsdp2';

/** A data-parallel wrapper as the timeline drives it: module hooks, and what it does around
 * each micro-batch's backward and at the end of a pipelined step. */
export interface Sharding extends ModuleHooks {
  /** Runs once the model's parameters exist (DDP's reducer is built then). */
  afterBuild(): unknown;
  /** Before a micro-batch's backward: whether its gradients are reduced now. */
  beforeMicroBatchBackward?(sync: boolean): void;
  /** After the pipeline schedule's last backward (pipelining's perform_reduce_grad). */
  finishBackward?(): void;
}

const NONE: Sharding = { afterBuild: () => undefined };

/** Ranks a parameter is sharded over: data x context parallel (torchtitan's dp_shard_cp mesh),
 * less the replicas HSDP keeps of each shard. */
export function shardDegree(layout: PlanLayout, replicas = 1): number {
  return (layout.dataParallel * layout.contextParallel) / replicas;
}

export function applySharding(
  rt: Runtime,
  model: RankModel,
  request: PlanRequest,
  layout: PlanLayout,
  policy: DtypePolicy,
): Sharding {
  const world = shardDegree(layout, request.parallelism.replicateDegree);
  const pytorch = request.runtime.dataParallelEngine === 'pytorch';
  const materialized = request.runtime.materializeBeforeSharding;
  if (pytorch && fsdpGathers(request, world)) {
    const { fsdp2, units } = fsdp(rt, model, request, world, policy);
    return Object.assign(fsdp2, {
      afterBuild: () => materialized && shardBuiltModel(rt, units),
    });
  }
  if (pytorch && request.parallelism.zeroStage === 0 && layout.dataParallel > 1) {
    const trainable = trainableInOrder(model);
    const ddp = new Ddp(rt, trainable, () => rt.step);
    return Object.assign(ddp, {
      afterBuild: () => {
        ddp.build();
        if (materialized) rt.emptyCache();
      },
    });
  }
  return NONE;
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
  return request.parallelism.pipelineParallel === 1 && !lastLayer;
}

/** fully_shard on every decoder layer, then on the root: the embedding, final norm and head
 * (or the embedding and the head as units of their own). */
function fsdp(
  rt: Runtime,
  model: RankModel,
  request: PlanRequest,
  world: number,
  policy: DtypePolicy,
) {
  const units: FsdpUnit[] = [];
  const unit = (name: string, params: RankModel['all'], reshardAfterForward: boolean) => {
    for (const p of params)
      p.local = { weight: shardElements(p, world), states: shardElements(p, world) };
    if (params.length === 0) return; // a module with no parameters gets no param group
    units.push({
      name,
      params,
      reshardAfterForward,
      gathered: false,
      grads: new Map(),
      accumulated: new Map(),
      arrived: 0,
    });
  };
  const inLayers = new Set(model.layers.flatMap((l) => [...l.order, ...adapterParams(l)]));
  const rootParams = model.all.filter((p) => !inLayers.has(p));
  const grouped = new Set<unknown>();
  const separate = request.runtime.fsdpEmbeddingUnits && !model.tiedHead;
  const root = () =>
    unit(
      'root',
      rootParams.filter((p) => !grouped.has(p)),
      false,
    );
  if (separate) [model.embedding, model.head?.weight].forEach((p) => p && grouped.add(p));
  root(); // the root's state comes first in FSDP's all_states (module order)
  if (separate && model.embedding) unit('embedding', [model.embedding], true);
  model.layers.forEach((layer, i) => {
    const last = i === model.layers.length - 1;
    const params = [...layer.order, ...adapterParams(layer)];
    unit(`layer:${layer.index}`, params, reshardsAfterForward(request, last));
  });
  if (separate && model.head) unit('head', [model.head.weight], true);
  const layers = [...model.layers].reverse().map((l): ModuleName => `layer:${l.index}`);
  const fsdp2 = new Fsdp2(
    rt,
    {
      world,
      gatheredBytes: policy.gathered,
      reduceBytes: policy.reduce,
      pipelined: request.parallelism.pipelineParallel > 1,
      reshardAfterBackward: request.runtime.fsdpReshardAfterBackward,
    },
    units,
    ['head', ...layers, 'embedding'],
  );
  return { fsdp2, units: wrappingOrder(units) };
}

/** Units in the order fully_shard wrapped them (layers, the embedding and head, the root): the
 * order a model built whole is sharded in. */
function wrappingOrder(units: FsdpUnit[]): FsdpUnit[] {
  const rank = (u: FsdpUnit) => (u.name === 'root' ? 2 : u.name.startsWith('layer') ? 0 : 1);
  return [...units].sort((a, b) => rank(a) - rank(b));
}
