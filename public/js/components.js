// @ts-check
// The segments of a memory bar: the engine's components in the vocabulary's order, each with the
// colour and words it keeps everywhere, plus the allocator's reserve the page draws between them.

/** @typedef {import('../../src/engine/vocabulary').RankMemory} RankMemory */
/** @typedef {import('../../src/engine/vocabulary').MemoryComponent} MemoryComponent */
/** @typedef {{ key: string, label: string, color: string }} Segment */

/** reserved - allocated: what PyTorch's caching allocator holds beyond live tensors. */
export const ALLOCATOR_RESERVE = 'allocatorReserve';

/** The component the reserve is drawn under: the runtime sits outside the allocator. */
const OUTSIDE_ALLOCATOR = 'runtimeOverhead';

/** Words and colour per component (Tableau 10, so neighbours stay apart); unknown ones fall
 * back to their key and grey. @type {Record<string, { label: string, color: string }>} */
const LOOK = {
  weights: { label: 'weights', color: '#4e79a7' },
  gradients: { label: 'gradients', color: '#f28e2b' },
  optimizerStates: { label: 'optimizer states', color: '#e15759' },
  masterWeights: { label: 'master weights', color: '#76b7b2' },
  activations: { label: 'activations', color: '#59a14f' },
  logitsAndLoss: { label: 'logits and loss', color: '#edc948' },
  buffers: { label: 'buffers', color: '#b07aa1' },
  kvCache: { label: 'KV cache', color: '#ff9da7' },
  [ALLOCATOR_RESERVE]: { label: 'allocator reserve', color: '#d3cec9' },
  runtimeOverhead: { label: 'CUDA context + NCCL', color: '#9c755f' },
};

/** Grey for a component the page has no colour for yet. */
const UNKNOWN_COLOR = '#999999';

/**
 * A component's words for people.
 * @param {string} key
 */
export function componentLabel(key) {
  return LOOK[key]?.label ?? key;
}

/**
 * The bar's segments bottom first: the vocabulary's components, with the allocator's reserve
 * under what lives outside the allocator, keeping those some rank holds bytes of.
 * @param {readonly string[]} order the vocabulary's memoryComponents
 * @param {RankMemory[]} ranks
 * @returns {Segment[]}
 */
export function segmentsFor(order, ranks) {
  const keys = [...order];
  const outside = keys.indexOf(OUTSIDE_ALLOCATOR);
  keys.splice(outside === -1 ? keys.length : outside, 0, ALLOCATOR_RESERVE);
  return keys
    .filter((key) => ranks.some((rank) => segmentValue(rank, key, 1) > 0))
    .map((key) => ({ key, label: componentLabel(key), color: LOOK[key]?.color ?? UNKNOWN_COLOR }));
}

/**
 * The GiB of one segment on one rank.
 * @param {RankMemory} rank
 * @param {string} key
 * @param {number} unit bytes per shown unit (GIB)
 */
export function segmentValue(rank, key, unit) {
  if (key === ALLOCATOR_RESERVE)
    return Math.max(0, rank.reservedPeakBytes - rank.allocatedPeakBytes) / unit;
  return (rank.breakdown[/** @type {MemoryComponent} */ (key)] ?? 0) / unit;
}
