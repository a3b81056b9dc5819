// Helpers for specs that read a rank's simulated timeline: a small Llama-shaped model whose
// parameter counts are easy to write out, one rank simulated, and the live bytes per component
// at the moment a chosen part of the step begins.
import type { GpuSpec, PlanRequestInput } from '../../src/engine';
import { normalizeRequest } from '../../src/engine';
import { architectureFromConfig } from '../../src/engine/model/architecture';
import { virtualStageSpans } from '../../src/engine/model/placement';
import { layoutOf } from '../../src/engine/request/layout';
import {
  ALLOCATED_COMPONENTS,
  Component,
  EventLog,
  Moment,
} from '../../src/engine/memory/autograd/events';
import { RankSimulation, SimulationDepth, simulateRankOnce } from '../../src/engine/memory/rank';
import { rankChunks } from '../../src/engine/memory/schedule';
import { H100_SXM } from './gpus';

export const MIB = 2 ** 20;

/** A Llama with h = 1024, f = 2048, 8 heads of 128 (no grouped K/V), a 8,192-token vocabulary
 * and an untied head: a layer holds 4 h^2 + 3 h f + 2 h parameters. */
export const TINY = { hidden: 1024, ffn: 2048, vocab: 8192 };
export const TINY_LAYER = 4 * 1024 * 1024 + 3 * 1024 * 2048 + 2 * 1024;

export function tinyArch(layers = 4, config: Record<string, unknown> = {}) {
  return architectureFromConfig('tiny-llama', {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: TINY.hidden,
    intermediate_size: TINY.ffn,
    num_hidden_layers: layers,
    num_attention_heads: 8,
    num_key_value_heads: 8,
    vocab_size: TINY.vocab,
    max_position_embeddings: 8192,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: false,
    ...config,
  });
}

/** A request without its model and cluster: `gpus` H100s, and config.json fields that change
 * the tiny Llama (its architecture, say). */
type Input = Omit<PlanRequestInput, 'model' | 'cluster'> & {
  gpus?: number;
  config?: Record<string, unknown>;
};

/** One rank of a request over the tiny model on H100s (or the card given). */
export function simulateTiny(
  input: Input,
  rank = 0,
  layers = 4,
  depth: SimulationDepth = 'full',
  gpu: GpuSpec = H100_SXM,
): RankSimulation & { log: EventLog } {
  const { gpus = 8, config, ...rest } = input;
  const arch = tinyArch(layers, config);
  const request = normalizeRequest(
    { ...rest, model: 'tiny-llama', cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: gpus } },
    gpu,
  );
  const { pipelineParallel, virtualStages } = request.parallelism;
  const spans = virtualStageSpans(arch.numLayers, pipelineParallel * virtualStages, {
    firstStageLessLayers: request.runtime.pipelineFirstStageLessLayers,
    lastStageLessLayers: request.runtime.pipelineLastStageLessLayers,
  });
  const chunks = rankChunks(spans, pipelineParallel, rank);
  const placement = { chunks, rank, virtualStages: spans.length };
  return simulateRankOnce(request, arch, gpu, layoutOf(request), placement, Infinity, depth);
}

/** Live bytes per component when the first moment matching `at` begins. */
export function liveWhen(log: EventLog, at: (m: Moment) => boolean): Record<Component, number> {
  const live = new Float64Array(ALLOCATED_COMPONENTS.length);
  for (let i = 0; i < log.length; i++) {
    if (at(log.moments[log.moment[i]])) break;
    live[log.component[i]] += log.kind[i] * log.bytes[i];
  }
  return Object.fromEntries(ALLOCATED_COMPONENTS.map((c, i) => [c, live[i]])) as Record<
    Component,
    number
  >;
}
