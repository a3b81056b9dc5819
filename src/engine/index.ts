// The engine's one door: plain functions from requests to plans, no Nest and no I/O.
export * from './vocabulary';
export { architectureFromConfig } from './model/architecture';
export { architectureLimitErrors, MAX_PARAMETERS } from './model/limits';
export { MAX_GPUS, REQUEST_LIMITS } from './request/limits';
export type { RequestRange } from './request/limits';
export { countParameters, loraParameters, trainableParameters } from './model/parameters';
export { normalizeRequest, PRESETS } from './request/normalize';
export type { PlanRequestInput } from './request/normalize';
export { planFromRequest } from './plan';
export { compareVariants, deepMerge, MAX_COMPARE_ROWS, VARY_FIELDS } from './search/compare';
export type { CompareEntry, CompareRow, DeepPartial, VaryField } from './search/compare';
export { MAX_SEARCH_MICRO_BATCH, searchLayouts, SEARCH_OBJECTIVES } from './search/search';
export type {
  NodeChoice,
  SearchCandidate,
  SearchCounts,
  SearchInput,
  SearchObjective,
  SearchResult,
} from './search/search';
