// The CLI's commands against a running Shardplan server (--server URL), through global fetch.
import { FieldError, PlanResult } from '../engine/types';
import { CompareRow, SavedPlanView } from './table';

/** A 4xx/5xx answer of the API, read from its problem+json body. */
export class ApiProblemError extends Error {
  constructor(
    public readonly status: number,
    public readonly title: string,
    public readonly errors: FieldError[],
  ) {
    super(errors.length > 0 ? errors.map((e) => `${e.field}: ${e.message}`).join('; ') : title);
    this.name = 'ApiProblemError';
  }
}

export interface SearchOutcome {
  results: PlanResult[];
  /** How many layouts were looked at, where the backend says. */
  examined?: number;
}

/** What every command needs from wherever the plans are computed. */
export interface Backend {
  estimate(input: Record<string, unknown>): Promise<PlanResult>;
  compare(base: Record<string, unknown>, vary: string): Promise<CompareRow[]>;
  search(
    input: Record<string, unknown>,
    onProgress: (done: number, total: number) => void,
  ): Promise<SearchOutcome>;
  listPlans(filter: { tag?: string; limit?: number }): Promise<SavedPlanView[]>;
  addModel(id: string, config: Record<string, unknown>): Promise<unknown>;
}

/** Lists arrive as arrays or pages ({ items, ... }). */
function itemsOf<T>(payload: unknown, key = 'items'): T[] {
  if (Array.isArray(payload)) return payload as T[];
  const page = payload as Record<string, unknown> | null;
  for (const candidate of [key, 'items', 'results', 'data']) {
    if (page && Array.isArray(page[candidate])) return page[candidate] as T[];
  }
  return [];
}

export class HttpBackend implements Backend {
  private readonly base: string;

  constructor(server: string) {
    this.base = `${server.replace(/\/+$/, '')}/api/v1`;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (cause) {
      throw new Error(`cannot reach ${this.base}: ${(cause as Error).message}`);
    }
    const text = await response.text();
    const payload: unknown = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const problem = (payload ?? {}) as { title?: string; detail?: string; errors?: FieldError[] };
      throw new ApiProblemError(
        response.status,
        problem.detail ?? problem.title ?? `HTTP ${response.status}`,
        Array.isArray(problem.errors) ? problem.errors : [],
      );
    }
    return payload as T;
  }

  estimate(input: Record<string, unknown>): Promise<PlanResult> {
    return this.call('POST', '/plans/estimate', input);
  }

  async compare(base: Record<string, unknown>, vary: string): Promise<CompareRow[]> {
    const answer = await this.call<{ rows: CompareRow[] }>('POST', '/plans/compare', {
      base,
      vary,
    });
    return answer.rows;
  }

  async search(
    input: Record<string, unknown>,
    onProgress: (done: number, total: number) => void,
  ): Promise<SearchOutcome> {
    // One request: the bar moves from nothing to done when the server answers.
    onProgress(0, 1);
    const answer = await this.call<unknown>('POST', '/plans/search', input);
    const results = itemsOf<PlanResult | { result: PlanResult }>(answer, 'results').map((item) =>
      'result' in item ? item.result : item,
    );
    onProgress(1, 1);
    const examined = (answer as { examined?: number } | null)?.examined;
    return { results, examined };
  }

  async listPlans(filter: { tag?: string; limit?: number }): Promise<SavedPlanView[]> {
    const query = new URLSearchParams();
    if (filter.tag) query.set('tag', filter.tag);
    if (filter.limit) query.set('limit', String(filter.limit));
    const suffix = query.size > 0 ? `?${query}` : '';
    return itemsOf<SavedPlanView>(await this.call<unknown>('GET', `/plans${suffix}`));
  }

  addModel(id: string, config: Record<string, unknown>): Promise<unknown> {
    return this.call('POST', '/models', { id, config });
  }
}
