// A seeded fuzzer over every endpoint that takes a body or changes data: valid requests bent by
// a few random mutations (values of every kind and size at any depth, fields added or dropped,
// bodies cut short, sent under odd headers). Each answer must be below 500, and a 4xx to a
// write must leave the saved plans and models exactly as they were.
import type { Test } from 'supertest';
import { mulberry32 } from '../../scripts/pick-held-out';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Http = () => {
  get(path: string): Test;
  post(path: string): Test;
  patch(path: string): Test;
  delete(path: string): Test;
};

const H100 = { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 };
const LLAMA_CONFIG = {
  model_type: 'llama',
  hidden_size: 1024,
  intermediate_size: 4096,
  num_hidden_layers: 8,
  num_attention_heads: 16,
  num_key_value_heads: 4,
  vocab_size: 32000,
};
const PLAN_REQUEST = {
  name: 'fuzzed',
  tags: ['fuzz'],
  model: 'llama-3.2-1b',
  cluster: H100,
  training: { microBatchSize: 1, sequenceLength: 2048, activationCheckpointing: 'full' },
  parallelism: { zeroStage: 3, tensorParallel: 1 },
  runtime: { preset: 'torchtune' },
};
const INFERENCE_REQUEST = {
  model: 'llama-3-8b',
  cluster: H100,
  workload: 'inference',
  inference: { batchSize: 4, promptLength: 1024, outputLength: 256, weightPrecision: 'int8' },
};
const INLINE_REQUEST = { model: LLAMA_CONFIG, cluster: H100, training: { method: 'lora' } };

/** Valid bodies each endpoint starts from before it is bent. */
const SEEDS: Record<string, Json[]> = {
  plan: [PLAN_REQUEST, INFERENCE_REQUEST, INLINE_REQUEST],
  compare: [
    { base: PLAN_REQUEST, vary: 'zeroStage' },
    {
      base: INLINE_REQUEST,
      variants: [{ label: 'tp2', overrides: { parallelism: { tensorParallel: 2 } } }],
    },
  ],
  search: [
    { model: 'llama-3.2-1b', cluster: { gpu: 'h100-80gb', gpus: 8 }, top: 3 },
    { model: 'llama-3-8b', cluster: { gpu: 'a100-80gb', nodes: [1, 2] }, objective: 'cost' },
  ],
  model: [{ id: 'fuzz-model', config: LLAMA_CONFIG, name: 'Fuzz' }],
  labels: [{ name: 'relabelled', tags: ['a', 'b'], notes: 'note' }, { notes: null }],
};

/** Values of every JSON kind, including the edges of numbers and sizes. */
function nastyValue(random: () => number): Json {
  const pick = <T>(values: T[]): T => values[Math.floor(random() * values.length)];
  switch (Math.floor(random() * 8)) {
    case 0:
      return pick([
        0,
        -0,
        -1,
        1,
        0.5,
        -1e308,
        1e308,
        2 ** 53,
        2 ** 53 + 2,
        9007199254740991,
        1e-300,
      ]);
    case 1:
      return pick([1, 2, 3, 4, 8, 16, 64, 1024, 65536, 1048576, 16777216, 1e9, 1e12]);
    case 2:
      return pick([
        '',
        'a',
        '1',
        'NaN',
        'Infinity',
        '-1',
        'null',
        'true',
        '__proto__',
        'ü'.repeat(300),
      ]);
    case 3:
      return pick([true, false, null]);
    case 4:
      return pick([[], [1, 2], ['x'], [null], Array.from({ length: 200 }, (_, i) => i)]);
    case 5:
      return pick([
        {},
        { a: 1 },
        { min: 1, max: 64 },
        { constructor: 1 },
        JSON.parse('{"__proto__":{"polluted":1}}') as Json,
      ]);
    case 6:
      return pick([
        'x'.repeat(10_000),
        'llama-3-8b',
        'a100-80gb',
        'lora',
        'interleaved',
        'headroom',
      ]);
    default:
      return JSON.parse('['.repeat(40) + ']'.repeat(40)) as Json;
  }
}

/** Every path to a value inside `body` (objects and lists alike). */
function paths(body: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof body !== 'object' || body === null) return [prefix];
  const keys = Array.isArray(body) ? body.map((_, i) => i) : Object.keys(body);
  return [
    prefix,
    ...keys.flatMap((key) => paths((body as Record<string, Json>)[key], [...prefix, key])),
  ];
}

/** One random change: replace a value, drop a field, add a field, or nest the body deeper. */
function mutate(body: Json, random: () => number): Json {
  const all = paths(body);
  const path = all[Math.floor(random() * all.length)];
  const copy = structuredClone(body);
  if (path.length === 0) return random() < 0.5 ? nastyValue(random) : [copy];
  const parent = path
    .slice(0, -1)
    .reduce<Json>((node, key) => (node as Record<string, Json>)[key], copy);
  const key = path[path.length - 1];
  const container = parent as Record<string | number, Json>;
  const action = random();
  if (action < 0.55) container[key] = nastyValue(random);
  else if (action < 0.7 && !Array.isArray(parent)) delete container[key];
  else if (action < 0.85 && !Array.isArray(parent))
    container[`extra${Math.floor(random() * 3)}`] = nastyValue(random);
  else container[key] = { nested: container[key] ?? null };
  return copy;
}

export interface FuzzTarget {
  method: 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: Json;
  raw?: string;
  headers?: Record<string, string>;
  /** Whether an answer other than 2xx must leave the saved data as it was. */
  writes: boolean;
}

const RAW_BODIES = [
  '',
  '{',
  '{"model":',
  'null',
  '"text"',
  '[1,2',
  '{"a":1}{"b":2}',
  '\u0000',
  '{"model":"llama-3-8b",}',
];
const ODD_HEADERS: Record<string, string>[] = [
  { 'content-type': 'application/json; charset=latin1' },
  { 'content-type': 'application/json; charset=utf-16' },
  { 'content-type': 'text/plain' },
  { 'content-type': 'application/x-www-form-urlencoded' },
  { 'content-type': 'application/json', 'content-encoding': 'gzip' },
  { 'content-type': 'application/json', 'content-encoding': 'xyz' },
  { 'content-type': 'application/json', 'content-encoding': 'deflate, br' },
];

/** One fuzzed request over the endpoints, against the plans and models that exist. */
export function fuzzedRequest(random: () => number, planIds: string[]): FuzzTarget {
  const pick = <T>(values: T[]): T => values[Math.floor(random() * values.length)];
  const planId =
    random() < 0.8 && planIds.length > 0
      ? pick(planIds)
      : pick(['nope', '%2e%2e', 'x'.repeat(300), '0']);
  const [method, path, seeds, writes] = pick<[FuzzTarget['method'], string, string, boolean]>([
    ['POST', '/api/v1/plans', 'plan', true],
    ['POST', '/api/v1/plans', 'plan', true],
    ['POST', '/api/v1/plans/estimate', 'plan', false],
    ['POST', '/api/v1/plans/compare', 'compare', false],
    ['POST', '/api/v1/plans/search', 'search', false],
    ['POST', '/api/v1/models', 'model', true],
    ['PATCH', `/api/v1/plans/${planId}`, 'labels', true],
    ['DELETE', `/api/v1/plans/${planId}`, '', true],
    [
      'DELETE',
      `/api/v1/models/${pick(['fuzz-model', 'llama-3-8b', 'nope', 'x'.repeat(300)])}`,
      '',
      true,
    ],
    ['POST', `/api/v1/plans/${planId}/reevaluate`, '', false],
  ]);
  if (seeds === '') return { method, path, writes };
  const shape = random();
  if (shape < 0.08)
    return {
      method,
      path,
      raw: pick(RAW_BODIES),
      headers: { 'content-type': 'application/json' },
      writes,
    };
  let body = pick(SEEDS[seeds]);
  const mutations = shape < 0.15 ? 0 : 1 + Math.floor(random() * 3);
  for (let i = 0; i < mutations; i++) body = mutate(body, random);
  if (random() < 0.06)
    return { method, path, raw: JSON.stringify(body), headers: pick(ODD_HEADERS), writes };
  return { method, path, body, writes };
}

export interface FuzzReport {
  requests: number;
  byStatus: Record<number, number>;
  /** Requests answered 500 or above (should be none). */
  serverErrors: { target: FuzzTarget; status: number; body: string }[];
  /** Writes answered with an error that still changed the saved data (should be none). */
  changedOnError: { target: FuzzTarget; status: number }[];
}

function send(http: Http, target: FuzzTarget): Test {
  const method = target.method.toLowerCase() as 'post' | 'patch' | 'delete';
  const request = http()[method](target.path);
  if (target.body === undefined && target.raw === undefined) return request;
  for (const [name, value] of Object.entries(
    target.headers ?? { 'content-type': 'application/json' },
  )) {
    request.set(name, value);
  }
  return request.send(target.raw ?? JSON.stringify(target.body));
}

/** The saved data a write may change: how many plans, the model catalog, and the plan the
 * request names (a failed create adds nothing, a failed PATCH or DELETE leaves its plan). */
async function savedState(http: Http, target: FuzzTarget): Promise<string> {
  const plans = await http().get('/api/v1/plans?limit=1');
  const models = await http().get('/api/v1/models');
  const id = /^\/api\/v1\/plans\/([^/]+)$/.exec(target.path)?.[1];
  const plan = id === undefined ? '' : (await http().get(`/api/v1/plans/${id}`)).text;
  return `${(plans.body as { total: number }).total}\n${models.text}\n${plan}`;
}

/** Sends `count` fuzzed requests from `seed`, checking each answer and the saved data. */
export async function runFuzz(http: Http, count: number, seed: number): Promise<FuzzReport> {
  const random = mulberry32(seed);
  const report: FuzzReport = { requests: 0, byStatus: {}, serverErrors: [], changedOnError: [] };
  const planIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const target = fuzzedRequest(random, planIds);
    const before = target.writes ? await savedState(http, target) : '';
    const response = await send(http, target);
    report.requests += 1;
    report.byStatus[response.status] = (report.byStatus[response.status] ?? 0) + 1;
    if (response.status >= 500) {
      report.serverErrors.push({ target, status: response.status, body: response.text });
    }
    const succeeded = response.status >= 200 && response.status < 300;
    if (target.writes && !succeeded && (await savedState(http, target)) !== before) {
      report.changedOnError.push({ target, status: response.status });
    }
    if (succeeded && target.method === 'POST' && target.path === '/api/v1/plans') {
      planIds.push((response.body as { id: string }).id);
    }
  }
  return report;
}
