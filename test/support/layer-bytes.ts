// One layer's saved activations as the timeline has them, for the recipe specs: the bytes of
// the 'activations' component live when the last step's forward ends, with one more layer
// minus without it (the embedding, the head and the loss cancel out).
import { architectureFromConfig, normalizeRequest, PlanRequestInput } from '../../src/engine';
import { ALLOCATED_COMPONENTS, Moment } from '../../src/engine/memory/autograd/events';
import { simulateRankOnce } from '../../src/engine/memory/rank';
import { splitLayers } from '../../src/engine/model/placement';
import { layoutOf } from '../../src/engine/request/layout';
import { H100_SXM } from './gpus';

type Settings = Omit<PlanRequestInput, 'model' | 'cluster'>;

const ACTIVATIONS = ALLOCATED_COMPONENTS.indexOf('activations');

function simulate(config: Record<string, unknown>, settings: Settings) {
  const arch = architectureFromConfig('spec', config);
  const gpu = H100_SXM;
  const input = { ...settings, model: 'spec', cluster: { gpu: gpu.id } } as PlanRequestInput;
  const request = normalizeRequest(input, gpu, arch);
  const span = splitLayers(arch.numLayers, 1)[0];
  const placement = { chunks: [span], rank: 0, virtualStages: 1 };
  return simulateRankOnce(request, arch, gpu, layoutOf(request), placement);
}

/** The last step's allocations, in order: the moment each was made in and its bytes. */
function lastStepAllocations(config: Record<string, unknown>, settings: Settings) {
  const { log } = simulate(config, settings);
  const lastStep = log.moments[log.moment[log.length - 1]].step;
  const made: { moment: Moment; bytes: number }[] = [];
  for (let i = 0; i < log.length; i++) {
    const moment = log.moments[log.moment[i]];
    if (moment.step === lastStep && log.kind[i] === 1) made.push({ moment, bytes: log.bytes[i] });
  }
  return made;
}

/** Allocations of exactly `bytes` in the last step, forward and backward (not the optimizer). */
export function allocationsOf(
  config: Record<string, unknown>,
  settings: Settings,
  bytes: number,
): { forward: number; backward: number } {
  const count = { forward: 0, backward: 0 };
  for (const { moment, bytes: made } of lastStepAllocations(config, settings)) {
    if (made !== bytes) continue;
    if (moment.phase === 'forward' || moment.phase === 'backward') count[moment.phase]++;
  }
  return count;
}

/** Live bytes per component when the last step's first forward ends. */
export function forwardEnd(config: Record<string, unknown>, settings: Settings) {
  const sim = simulate(config, settings);
  const { log } = sim;
  const lastStep = log.moments[log.moment[log.length - 1]].step;
  const live = new Float64Array(ALLOCATED_COMPONENTS.length);
  let end: Float64Array | undefined;
  for (let i = 0; i < log.length; i++) {
    const moment = log.moments[log.moment[i]];
    if (moment.step === lastStep && moment.phase === 'backward' && !end) end = live.slice();
    live[log.component[i]] += log.kind[i] * log.bytes[i];
  }
  return { live: end!, notes: sim.notes };
}

/** Live bytes per component when the last step's backward has ended (the optimizer's first
 * event). */
export function backwardEnd(config: Record<string, unknown>, settings: Settings) {
  const { log } = simulate(config, settings);
  const lastStep = log.moments[log.moment[log.length - 1]].step;
  const live = new Float64Array(ALLOCATED_COMPONENTS.length);
  for (let i = 0; i < log.length; i++) {
    const moment = log.moments[log.moment[i]];
    if (moment.step === lastStep && moment.phase === 'optimizer') return live;
    live[log.component[i]] += log.kind[i] * log.bytes[i];
  }
  return live;
}

/** The saved activations of one layer: forward-end activations with `layers + 1` layers minus
 * with `layers` (the layer count field named as the config names it). */
export function savedPerLayer(
  config: Record<string, unknown>,
  settings: Settings,
  layersField = 'num_hidden_layers',
  layers = 1,
): number {
  const at = (n: number) => forwardEnd({ ...config, [layersField]: n }, settings).live[ACTIVATIONS];
  return at(layers + 1) - at(layers);
}

/** The sizes of the allocations layer `layer` makes in the last step's forward, in order. */
export function layerForwardAllocations(
  config: Record<string, unknown>,
  settings: Settings,
  layer = 0,
): number[] {
  return lastStepAllocations(config, settings)
    .filter(({ moment }) => moment.phase === 'forward' && moment.layer === layer)
    .map(({ bytes }) => bytes);
}

/** The sizes of the allocations the last step's forward makes in the moment outside the layers
 * named `what` ('embedding', 'loss'), in order. */
export function endForwardAllocations(
  config: Record<string, unknown>,
  settings: Settings,
  what: string,
): number[] {
  return lastStepAllocations(config, settings)
    .filter(({ moment }) => moment.phase === 'forward' && moment.what === what)
    .map(({ bytes }) => bytes);
}
