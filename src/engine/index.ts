// The engine's one door: plain functions from requests to plans, no Nest and no I/O.
export * from './vocabulary';
export { architectureFromConfig } from './model/architecture';
export { architectureLimitErrors, MAX_PARAMETERS } from './model/limits';
export { MAX_GPUS, REQUEST_LIMITS } from './request/limits';
export type { RequestRange } from './request/limits';
export { countParameters, loraParameters, trainableParameters } from './model/parameters';
export { attendsLayer, isMoeLayer, layerKind, layerType } from './model/layers';
export { visionLayerParameters, visionParameters } from './model/vision';
export {
  DEFAULT_CLUSTER,
  DEFAULT_DPO,
  DEFAULT_KTO,
  DEFAULT_INFERENCE,
  DEFAULT_LORA,
  DEFAULT_PARALLELISM,
  DEFAULT_QLORA,
  DEFAULT_RUNTIME,
  DEFAULT_TRAINING,
  DEFAULT_WORKLOAD,
  normalizeRequest,
  PRESETS,
} from './request/normalize';
export type { PlanRequestInput } from './request/normalize';
export { planFromRequest, rankSimulationJobs } from './plan';
export { trainedArchitecture } from './request/preference';
export {
  isRankSimulationRemembered,
  rememberRankSimulation,
  runRankSimulationJob,
} from './memory/remembered-ranks';
export type { RankSimulationJob } from './memory/remembered-ranks';
export type { RankSimulation } from './memory/rank';
export {
  compareVariants,
  compareWalk,
  deepMerge,
  MAX_COMPARE_ROWS,
  VARY_FIELDS,
} from './search/compare';
export type {
  CompareEntry,
  CompareRow,
  CompareSpec,
  CompareVariant,
  DeepPartial,
  VaryField,
} from './search/compare';
export {
  MAX_SEARCH_MICRO_BATCH,
  MIN_TOKENS_PER_CONTEXT_RANK,
  searchLayouts,
  searchWalk,
  SEARCH_OBJECTIVES,
} from './search/search';
export { walkedAhead, walkedThrough } from './search/plan-walk';
export type { PlansAhead, PlanWalk } from './search/plan-walk';
export type {
  NodeChoice,
  SearchCandidate,
  SearchCounts,
  SearchInput,
  SearchObjective,
  SearchResult,
} from './search/search';
export {
  errorQuantiles,
  kindWeights,
  measuredRange,
  SHRINK_ROWS,
  TARGET_COVERAGE,
  weightedQuantiles,
} from './uncertainty/bands';
export type { BandKey, CalibrationError, CalibrationOrigin } from './uncertainty/bands';
export {
  buildErrorBands,
  fitTail,
  heldOutCoverage,
  nestedCoverage,
  TAIL_GRID,
} from './uncertainty/fit';
export type { Coverage, ErrorBand, ErrorBands } from './uncertainty/fit';
export { bandKeyOf, verdictOf, withUncertainty } from './uncertainty/verdict';
