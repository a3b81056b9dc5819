// The CLI's commands against a running Shardplan server (--server URL), through global fetch.
import { FieldError, PlanResult } from '../engine';
import { CompareEntry } from '../engine';
import { SearchResult } from '../engine';
import type { GpusNeededAnswer } from '../application/gpus-needed-answer';
import {
  Backend,
  PlansSummary,
  SavedOutcome,
  SearchOutcome,
  SearchProgress,
  searchOutcome,
} from './backend';
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

/** `?tag=...` when a tag is given. */
function queryOf(filter: { tag?: string }): string {
  return filter.tag ? `?${new URLSearchParams({ tag: filter.tag })}` : '';
}

export class HttpBackend implements Backend {
  private readonly server: string;
  private readonly base: string;

  constructor(server: string) {
    this.server = server.replace(/\/+$/, '');
    this.base = `${this.server}/api/v1`;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.exchange<T>(method, path, body)).payload;
  }

  /** One request: the answer's body (JSON, or text where it is not JSON) and its headers. */
  private async exchange<T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ payload: T; headers: Headers }> {
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
    const json = /json/.test(response.headers.get('content-type') ?? 'application/json');
    const payload: unknown = json ? (text ? JSON.parse(text) : null) : text;
    if (!response.ok) {
      const problem = (payload ?? {}) as { title?: string; detail?: string; errors?: FieldError[] };
      throw new ApiProblemError(
        response.status,
        problem.detail ?? problem.title ?? `HTTP ${response.status}`,
        Array.isArray(problem.errors) ? problem.errors : [],
      );
    }
    return { payload: payload as T, headers: response.headers };
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

  gpusNeeded(input: Record<string, unknown>): Promise<GpusNeededAnswer> {
    return this.call('POST', '/plans/gpus-needed', input);
  }

  /** POST /plans; the plan's address is the Location header, on this server. */
  async savePlan(input: Record<string, unknown>): Promise<SavedOutcome> {
    const { payload, headers } = await this.exchange<SavedPlanView>('POST', '/plans', input);
    const location = headers.get('location') ?? `/api/v1/plans/${payload.id}`;
    return { plan: payload, url: new URL(location, `${this.server}/`).toString() };
  }

  summarizePlans(filter: { tag?: string }): Promise<PlansSummary> {
    return this.call('GET', `/plans/summary${queryOf(filter)}`);
  }

  exportPlansCsv(filter: { tag?: string }): Promise<string> {
    return this.call('GET', `/plans/export.csv${queryOf(filter)}`);
  }

  addModel(id: string, config: Record<string, unknown>): Promise<unknown> {
    return this.call('POST', '/models', { id, config });
  }
}
