// The CLI's commands against a running Shardplan server (--server URL), through global fetch.
import { FieldError, PlanResult } from '../engine';
import { CompareEntry } from '../engine';
import { SearchResult } from '../engine';
import { Backend, SearchOutcome, SearchProgress, searchOutcome } from './backend';
import { SavedPlanView } from './table';

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

  async compare(base: Record<string, unknown>, vary: string): Promise<CompareEntry[]> {
    const answer = await this.call<{ rows: CompareEntry[] }>('POST', '/plans/compare', {
      base,
      vary,
    });
    return answer.rows;
  }

  async search(input: Record<string, unknown>, onProgress: SearchProgress): Promise<SearchOutcome> {
    // The server answers once: until then the bar only shows that the search is running.
    onProgress(0);
    const heartbeat = setInterval(() => onProgress(0), 250);
    try {
      const answer = await this.call<SearchResult & { warnings?: string[] }>(
        'POST',
        '/plans/search',
        input,
      );
      return searchOutcome(answer, onProgress);
    } finally {
      clearInterval(heartbeat);
    }
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
