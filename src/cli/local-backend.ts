// The CLI's commands run in this process over the shipped catalog, through src/application as
// the HTTP controllers run them: the same shape checks, the same search, the same answers.
import { comparePlansAhead } from '../application/compare';
import { estimateWithAdviceAhead } from '../application/advice';
import { GpusNeededAnswer, gpusNeededAhead } from '../application/gpus-needed';
import { searchPlansAhead } from '../application/search';
import { checkedRequest } from '../application/validate-request';
import { Catalog, loadCatalog } from '../catalog/catalog';
import { architectureFromConfig, CompareEntry, countParameters, PlanResult } from '../engine';
import { PlanValidationError } from '../engine';
import { CliUsageError } from './args';
import {
  Backend,
  PlansSummary,
  SavedOutcome,
  SearchOutcome,
  SearchProgress,
  searchOutcome,
} from './backend';
import { SavedPlanView } from './table';

/** Plans are saved in a server's database; this process has none. */
function noStore(): never {
  throw new CliUsageError([
    { field: 'server', message: 'saved plans live on a server: add --server http://host:3000' },
  ]);
}

export class LocalBackend implements Backend {
  constructor(private readonly catalog: Catalog = loadCatalog()) {}

  async estimate(input: Record<string, unknown>): Promise<PlanResult> {
    return estimateWithAdviceAhead(checkedRequest('plan', input), this.catalog);
  }

  async compare(base: Record<string, unknown>, vary: string): Promise<CompareEntry[]> {
    return (await comparePlansAhead(checkedRequest('compare', { base, vary }), this.catalog)).rows;
  }

  async search(input: Record<string, unknown>, onProgress: SearchProgress): Promise<SearchOutcome> {
    const found = await searchPlansAhead(checkedRequest('search', input), this.catalog, onProgress);
    return searchOutcome(found, onProgress);
  }

  async gpusNeeded(input: Record<string, unknown>): Promise<GpusNeededAnswer> {
    return gpusNeededAhead(checkedRequest('gpus-needed', input), this.catalog);
  }

  async savePlan(): Promise<SavedOutcome> {
    return noStore();
  }

  async listPlans(): Promise<SavedPlanView[]> {
    return noStore();
  }

  async summarizePlans(): Promise<PlansSummary> {
    return noStore();
  }

  async exportPlansCsv(): Promise<string> {
    return noStore();
  }

  /** Without a server nothing is stored: the config is checked and its architecture shown. */
  async addModel(id: string, config: Record<string, unknown>): Promise<unknown> {
    if (this.catalog.findModel(id)) {
      throw new PlanValidationError([
        { field: 'id', message: `a model with id '${id}' already exists; choose another id` },
      ]);
    }
    const architecture = architectureFromConfig(id, config);
    const { total, active } = countParameters(architecture);
    return { ...architecture, parameters: { total, active }, stored: false };
  }
}
