// Llama-3.2-1B (h 2,048, 16 layers, vocabulary 128,256, tied head) planned one rank at a time,
// for the preference-training specs. Its parameters, written out: the embedding
// 128,256 x 2,048 = 262,668,288; each layer q and o 2,048 x 2,048, k and v 2,048 x 512, the MLP
// 3 x 2,048 x 8,192 and two norms of 2,048; the final norm 2,048: 1,235,814,400 (Meta's 1.24B).
import { loadCatalog } from '../../src/catalog/catalog';
import { normalizeRequest, PlanRequestInput } from '../../src/engine';
import { EventLog } from '../../src/engine/memory/autograd/events';
import { simulateRankOnce } from '../../src/engine/memory/rank';
import { virtualStageSpans } from '../../src/engine/model/placement';
import { layoutOf } from '../../src/engine/request/layout';
import { validateRequest } from '../../src/engine/request/validate';

export const catalog = loadCatalog();
export const H = 2048;
export const LAYERS = 16;
export const VOCAB = 128256;
export const EMBEDDING = VOCAB * H;
export const LAYER_LINEARS = 2 * H * H + 2 * H * 512 + 3 * H * 8192; // 60,817,408
export const PARAMETERS = EMBEDDING + LAYERS * LAYER_LINEARS + LAYERS * 2 * H + H;
export const FP32 = 4;
export const BF16 = 2;
/** Each parameter's storage is rounded up to the caching allocator's 512 B. */
export const ROUNDING = 512 * (LAYERS * 9 + 2);

const gpu = catalog.findGpu('h100-80gb')!;
export const arch = catalog.findModel('llama-3.2-1b')!;

/** A request for `gpus` H100s (ZeRO-3 over several) with Hugging Face's preset. */
export const llama1b = (training: PlanRequestInput['training'], gpus = 1): PlanRequestInput => ({
  model: 'llama-3.2-1b',
  cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: gpus },
  training: { sequenceLength: 1024, ...training },
  parallelism: { zeroStage: gpus > 1 ? 3 : 0 },
  runtime: { preset: 'hf-transformers' },
});

/** The timeline of the rank (the whole model, one stage); the request must be valid. */
export function rankTimeline(input: PlanRequestInput): EventLog {
  const request = normalizeRequest(input, gpu);
  expect(validateRequest(request, arch, gpu)).toEqual([]);
  const spans = virtualStageSpans(LAYERS, 1, { firstStageLessLayers: 0, lastStageLessLayers: 0 });
  const placement = { chunks: spans, rank: 0, virtualStages: 1 };
  return simulateRankOnce(request, arch, gpu, layoutOf(request), placement).log;
}
