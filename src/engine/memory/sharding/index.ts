// How the data-parallel layout touches a rank's memory: which wrapper runs (FSDP2, DDP) and
// what each parameter keeps locally.
import { fsdpGathers } from '../buffers';
import { ModuleName } from '../autograd/hooks';
import { Runtime } from '../autograd/runtime';
import { DtypePolicy } from '../../request/dtype-policy';
import { PlanLayout, PlanRequest } from '../../vocabulary';
import { RankModel } from '../model/rank-model';
import { adapterParams } from '../recipes/recipe';
import { Ddp } from './ddp';
import { Fsdp2, FsdpUnit, shardElements } from './fsdp2';

export interface Sharding {
  /** Runs once the model's parameters exist (DDP's reducer is built then). */
  afterBuild(): unknown;
}

const NONE: Sharding = { afterBuild: () => undefined };

/** FSDP shards over data x context parallel ranks (torchtitan's dp_shard_cp mesh). */
export function shardDegree(layout: PlanLayout): number {
  return layout.dataParallel * layout.contextParallel;
}

export function applySharding(
  rt: Runtime,
  model: RankModel,
  request: PlanRequest,
  layout: PlanLayout,
  policy: DtypePolicy,
): Sharding {
  const world = shardDegree(layout);
  const pytorch = request.runtime.dataParallelEngine === 'pytorch';
  const materialized = request.runtime.materializeBeforeSharding;
  if (pytorch && fsdpGathers(request, world)) {
    const units = fsdp(rt, model, request, world, policy);
    return { afterBuild: () => materialized && shardBuiltModel(rt, units) };
  }
  if (pytorch && request.parallelism.zeroStage === 0 && layout.dataParallel > 1) {
    const trainable = trainableInOrder(model);
    const ddp = new Ddp(rt, trainable, () => rt.step);
    rt.hooks.add(ddp);
    return {
      afterBuild: () => {
        ddp.build();
        if (materialized) rt.emptyCache();
      },
    };
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

/** fully_shard on every decoder layer (the last one kept gathered after forward, as torchtitan
 * does), then on the root: the embedding, final norm and head. */
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
    units.push({ name, params, reshardAfterForward, gathered: false, grads: [] });
  };
  const inLayers = new Set(model.layers.flatMap((l) => [...l.order, ...adapterParams(l)]));
  model.layers.forEach((layer, i) => {
    const last = i === model.layers.length - 1;
    unit(`layer:${layer.index}`, [...layer.order, ...adapterParams(layer)], !last);
  });
  const separate = request.runtime.fsdpEmbeddingUnits && !model.tiedHead;
  const rootParams = model.all.filter((p) => !inLayers.has(p));
  if (separate && model.embedding) unit('embedding', [model.embedding], true);
  if (separate && model.head) unit('head', [model.head.weight], true);
  const grouped = new Set(units.flatMap((u) => u.params));
  unit(
    'root',
    rootParams.filter((p) => !grouped.has(p)),
    false,
  );
  const layers = [...model.layers].reverse().map((l): ModuleName => `layer:${l.index}`);
  const fsdp2 = new Fsdp2(
    rt,
    { world, gatheredBytes: policy.gathered, reduceBytes: policy.reduce },
    units,
    ['head', ...layers, 'embedding'],
    () => rt.microBatch,
  );
  rt.hooks.add(fsdp2);
  return units;
}
