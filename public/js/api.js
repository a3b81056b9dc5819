// @ts-check
// The API under /api/v1: JSON in, JSON out, problems (application/problem+json) as ApiError.

const API = 'api/v1';

/** @typedef {{ field: string, message: string }} FieldError */
/** @typedef {{ type?: string, title?: string, status?: number, detail?: string, errors?: FieldError[] }} Problem */

/** A 4xx or 5xx answer, with the problem the API sent. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Problem} problem
   */
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * The path of an API resource relative to the page, for links such as the CSV export.
 * @param {string} path
 */
export function apiUrl(path) {
  return `${API}${path}`;
}

/**
 * Calls the API; resolves with the parsed body (null for 204), rejects with ApiError.
 * @param {string} path
 * @param {{ method?: string, body?: unknown }} [options]
 * @returns {Promise<any>}
 */
export async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(apiUrl(path), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  const payload = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) {
    throw new ApiError(
      response.status,
      typeof payload === 'object' ? payload : { detail: String(payload) },
    );
  }
  return payload;
}
