// What every CLI command needs from wherever plans are computed: this process or a server.
import { CompareEntry } from '../engine';
import { SearchCounts, SearchResult } from '../engine';
import { PlanResult } from '../engine';
import type { GpusNeededAnswer } from '../application/gpus-needed-answer';
import type { PlanFigures } from '../plans/saved-plan';
import { SavedPlanView } from './table';

export interface SearchOutcome {
  /** Ranked layouts that fit, best first. */
  results: PlanResult[];
  /** Layouts planned, where the backend says. */
  examined?: number;
  counts?: SearchCounts;
  /** What the user should know about the search itself (settings it chose rather than took). */
  warnings?: string[];
}

/** Called as layouts are planned; `total` is known only once the search space is counted. */
export type SearchProgress = (done: number, total?: number) => void;

/** A search's answer as the CLI shows it, the progress bar filled now that the answer is in. */
export function searchOutcome(
  answer: SearchResult & { warnings?: string[] },
  onProgress: SearchProgress,
): SearchOutcome {
  onProgress(answer.counts.candidates, answer.counts.candidates);
  return {
    results: answer.results.map((candidate) => candidate.result),
    examined: answer.examined,
    counts: answer.counts,
    warnings: answer.warnings,
  };
}

/** A plan saved on a server, and the address it can be read back at. */
export interface SavedOutcome {
  plan: SavedPlanView;
  url: string;
}

/** Counts and totals over saved plans (GET /plans/summary). */
export type PlansSummary = { tag?: string } & PlanFigures;

export interface Backend {
  estimate(input: Record<string, unknown>): Promise<PlanResult>;
  compare(base: Record<string, unknown>, vary: string): Promise<CompareEntry[]>;
  search(input: Record<string, unknown>, onProgress: SearchProgress): Promise<SearchOutcome>;
  gpusNeeded(input: Record<string, unknown>): Promise<GpusNeededAnswer>;
  savePlan(input: Record<string, unknown>): Promise<SavedOutcome>;
  listPlans(filter: { tag?: string; limit?: number }): Promise<SavedPlanView[]>;
  summarizePlans(filter: { tag?: string }): Promise<PlansSummary>;
  exportPlansCsv(filter: { tag?: string }): Promise<string>;
  addModel(id: string, config: Record<string, unknown>): Promise<unknown>;
}
