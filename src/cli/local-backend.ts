// The CLI's commands run by the engine in this process, over the shipped catalog.
import { Catalog, loadCatalog, resolveGpu, resolveModel } from '../catalog/catalog';
import { architectureFromConfig } from '../engine';
import { CompareEntry, compareVariants, VaryField } from '../engine';
import { countParameters } from '../engine';
import { estimatePlan } from '../application/estimate';
import { PlanRequestInput } from '../engine';
import { searchLayouts, SearchInput } from '../engine';
import { PlanResult, PlanValidationError } from '../engine';
import { CliUsageError } from './args';
import { checkedRequest } from './check-request';
import { Backend, SearchOutcome, SearchProgress } from './backend';
import { SavedPlanView } from './table';

export class LocalBackend implements Backend {
  constructor(private readonly catalog: Catalog = loadCatalog()) {}

  async estimate(input: Record<string, unknown>): Promise<PlanResult> {
    return estimatePlan(checkedRequest(input), this.catalog);
  }

  async compare(base: Record<string, unknown>, vary: string): Promise<CompareEntry[]> {
    const request = checkedRequest(base);
    const arch = resolveModel(this.catalog, request.model);
    const run = (variant: PlanRequestInput) => estimatePlan(variant, this.catalog);
    return compareVariants(request, { vary: vary as VaryField }, run, arch).rows;
  }

  async search(input: Record<string, unknown>, onProgress: SearchProgress): Promise<SearchOutcome> {
    const search = input as unknown as SearchInput;
    if (typeof search.model !== 'string' && typeof search.model !== 'object') {
      throw new PlanValidationError([
        { field: 'model', message: 'model is required (--model llama-3-8b)' },
      ]);
    }
    if (typeof search.cluster?.gpu !== 'string') {
      throw new PlanValidationError([
        { field: 'cluster.gpu', message: 'gpu is required (--gpu a100-80gb)' },
      ]);
    }
    const context = {
      arch: resolveModel(this.catalog, search.model),
      gpu: resolveGpu(this.catalog, search.cluster.gpu),
    };
    let planned = 0;
    const plan = (request: PlanRequestInput) => {
      onProgress(++planned);
      return estimatePlan(request, this.catalog);
    };
    const found = searchLayouts(search, plan, context);
    onProgress(found.counts.candidates, found.counts.candidates);
    return {
      results: found.results.map((c) => c.result),
      examined: found.examined,
      counts: found.counts,
    };
  }

  async listPlans(): Promise<SavedPlanView[]> {
    throw new CliUsageError([
      { field: 'server', message: 'saved plans live on a server: add --server http://host:3000' },
    ]);
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
