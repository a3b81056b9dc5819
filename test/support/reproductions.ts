// The requests issue #24 reported as stopping or corrupting the service, each with the 4xx it
// must now get. Shared by test/reproductions.e2e-spec.ts and bench/reproductions.ts.

export interface Reproduction {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  /** A JSON body, or raw text sent as it is. */
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  status: number;
}

const LLAMA_CONFIG = {
  model_type: 'llama',
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  vocab_size: 128256,
};

const T5_CONFIG = {
  model_type: 't5',
  d_model: 1024,
  d_ff: 2816,
  d_kv: 64,
  num_heads: 16,
  num_layers: 24,
  vocab_size: 32128,
  feed_forward_proj: 'gated-gelu',
};

const BERT_CONFIG = {
  architectures: ['BertForMaskedLM'],
  model_type: 'bert',
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  vocab_size: 30522,
  max_position_embeddings: 512,
};

const DEEPSEEK_MLA_CONFIG = {
  model_type: 'deepseek_v3',
  hidden_size: 7168,
  intermediate_size: 18432,
  num_hidden_layers: 61,
  num_attention_heads: 128,
  vocab_size: 129280,
  kv_lora_rank: 512,
};

const H100 = { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 };

/** A PlanRequest planning `model` on one 8 x H100 node. */
function planOf(model: unknown): Record<string, unknown> {
  return { model, cluster: H100 };
}

/** JSON nested `depth` lists deep: [[[...]]]. */
export function deeplyNested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

const DEEP = deeplyNested(2000);

/** The write and compute endpoints a body reaches (PATCH on a plan id that need not exist). */
const BODY_ENDPOINTS: [Reproduction['method'], string][] = [
  ['POST', '/api/v1/plans'],
  ['POST', '/api/v1/plans/estimate'],
  ['POST', '/api/v1/plans/compare'],
  ['POST', '/api/v1/plans/search'],
  ['POST', '/api/v1/models'],
  ['PATCH', '/api/v1/plans/00000000-0000-0000-0000-000000000000'],
];

export const REPRODUCTIONS: Reproduction[] = [
  {
    name: '1. a custom model of 1e9 layers',
    method: 'POST',
    path: '/api/v1/models',
    body: { id: 'billion-layers', config: { ...LLAMA_CONFIG, num_hidden_layers: 1_000_000_000 } },
    status: 400,
  },
  {
    name: '2. a search over 2^53-1 nodes of 2^53-1 GPUs',
    method: 'POST',
    path: '/api/v1/plans/search',
    body: {
      model: 'llama-3-8b',
      cluster: { gpu: 'h100-80gb', nodes: 9007199254740991, gpusPerNode: 9007199254740991 },
    },
    status: 400,
  },
  {
    name: '3a. an inline model of 1e6 layers',
    method: 'POST',
    path: '/api/v1/plans/estimate',
    body: planOf({ ...LLAMA_CONFIG, num_hidden_layers: 1_000_000 }),
    status: 400,
  },
  {
    name: '3b. an inline model of 1e7 layers, saved',
    method: 'POST',
    path: '/api/v1/plans',
    body: planOf({ ...LLAMA_CONFIG, num_hidden_layers: 10_000_000 }),
    status: 400,
  },
  {
    name: "3c. t5's num_decoder_layers 1e308",
    method: 'POST',
    path: '/api/v1/plans/estimate',
    body: planOf({ ...T5_CONFIG, num_decoder_layers: 1e308 }),
    status: 400,
  },
  {
    name: '3d. compare over 32 variants of that t5',
    method: 'POST',
    path: '/api/v1/plans/compare',
    body: {
      base: planOf({ ...T5_CONFIG, num_decoder_layers: 1e308 }),
      vary: 'microBatchSize',
      values: Array.from({ length: 32 }, (_, i) => i + 1),
    },
    status: 400,
  },
  {
    name: '3e. a headroom search over 64 node counts, micro-batches to 1024, offload, top 100',
    method: 'POST',
    path: '/api/v1/plans/search',
    body: {
      model: 'llama-3-8b',
      cluster: { gpu: 'h100-80gb', nodes: { min: 1, max: 64 } },
      objective: 'headroom',
      maxMicroBatchSize: 1024,
      allowOffload: true,
      top: 100,
    },
    status: 400,
  },
  {
    name: '4a. a BERT with type_vocab_size -1e9, saved',
    method: 'POST',
    path: '/api/v1/plans',
    body: planOf({ ...BERT_CONFIG, type_vocab_size: -1e9 }),
    status: 400,
  },
  {
    name: "4b. mla { kvLoraRank: 'a' }, saved",
    method: 'POST',
    path: '/api/v1/plans',
    body: planOf({ ...DEEPSEEK_MLA_CONFIG, mla: { kvLoraRank: 'a' } }),
    status: 400,
  },
  ...BODY_ENDPOINTS.map(([method, path]): Reproduction => ({
    name: `5a. JSON nested 2,000 levels deep: ${method} ${path}`,
    method,
    path,
    raw: DEEP,
    status: 400,
  })),
  {
    name: '5b. content-type application/json; charset=latin1',
    method: 'POST',
    path: '/api/v1/plans/estimate',
    raw: JSON.stringify(planOf('llama-3-8b')),
    headers: { 'content-type': 'application/json; charset=latin1' },
    status: 415,
  },
  {
    name: '5c. content-encoding xyz',
    method: 'POST',
    path: '/api/v1/plans',
    raw: JSON.stringify(planOf('llama-3-8b')),
    headers: { 'content-encoding': 'xyz' },
    status: 415,
  },
  {
    name: '7. GET /vendor/chartjs/',
    method: 'GET',
    path: '/vendor/chartjs/',
    status: 404,
  },
];
