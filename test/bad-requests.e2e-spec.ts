// Requests the planner cannot honour: 400 problem+json naming the field, and nothing saved.
import { appPerSuite, expectProblem, testEngines } from './support/app';

const VALID = {
  model: 'llama-3-8b',
  cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
  training: { microBatchSize: 1, sequenceLength: 4096 },
  parallelism: { zeroStage: 3 },
};

/** VALID with `patch` merged one level deep into each section. */
function variant(patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...VALID };
  for (const [key, value] of Object.entries(patch)) {
    const base = (VALID as Record<string, unknown>)[key];
    merged[key] =
      typeof value === 'object' && value !== null && !Array.isArray(value) && base
        ? { ...(base as object), ...value }
        : value;
  }
  return merged;
}

// [what is wrong, body, the field the answer must name, what its message must say].
// Every row has four entries: Jest reads a fourth test parameter as a `done` callback.
const BAD_REQUESTS: [string, Record<string, unknown>, string, RegExp | null][] = [
  ['an unknown model', variant({ model: 'llama-9b' }), 'model', /llama-9b/],
  ['an unknown GPU', variant({ cluster: { gpu: 'a100-81gb' } }), 'cluster.gpu', /a100-81gb/],
  [
    'tensorParallel not dividing the heads',
    variant({ parallelism: { tensorParallel: 3 } }),
    'parallelism.tensorParallel',
    /num_attention_heads \(32\)/,
  ],
  [
    'a cluster the parallel degrees do not tile',
    variant({ parallelism: { tensorParallel: 4, pipelineParallel: 4 } }),
    'cluster',
    /multiple of/,
  ],
  [
    'a negative microBatchSize',
    variant({ training: { microBatchSize: -1 } }),
    'training.microBatchSize',
    /integer from 1 to 65536, e\.g\. 1 /,
  ],
  ['an unknown top-level field', variant({ foo: 1 }), 'foo', /remove/],
  [
    "a GPU count where a plan takes nodes and GPUs per node (the search's field)",
    variant({ cluster: { gpus: 16 } }),
    'cluster.gpus',
    /a plan takes nodes and gpusPerNode/,
  ],
  [
    'an unknown nested field',
    variant({ training: { learningRate: 1e-4 } }),
    'training.learningRate',
    /remove/,
  ],
  [
    'a wrong enum',
    variant({ training: { precision: 'fp8-magic' } }),
    'training.precision',
    /bf16-mixed/,
  ],
  [
    'a non-integer count',
    variant({ cluster: { gpusPerNode: 2.5 } }),
    'cluster.gpusPerNode',
    /integer from 1 to 1024/,
  ],
  [
    'a number sent as text',
    variant({ training: { sequenceLength: '4096' } }),
    'training.sequenceLength',
    null,
  ],
  [
    'LoRA targeting modules the model does not have',
    variant({ training: { method: 'lora', lora: { targetModules: ['attn_proj'] } } }),
    'training.lora.targetModules',
    /attn_proj/,
  ],
  [
    "LoRA's default targets (q_proj, v_proj) on a model without them",
    variant({ model: 'deepseek-v3', cluster: { nodes: 8 }, training: { method: 'lora' } }),
    'training.lora.targetModules',
    /the default, .* used when none are given\) for deepseek-v3; use 'all-linear'/,
  ],
  [
    "PEFT on GPT-2 given q_proj, which GPT-2's code calls c_attn",
    variant({
      model: 'gpt-2',
      training: { method: 'lora', sequenceLength: 1024, lora: { targetModules: ['q_proj'] } },
      parallelism: { zeroStage: 0 },
      runtime: { preset: 'hf-transformers' },
    }),
    'training.lora.targetModules',
    /q_proj is in attn\.c_attn.*use 'all-linear' or some of: .*c_attn/,
  ],
  [
    'DoRA switched on with text',
    variant({ training: { method: 'lora', lora: { useDora: 'yes' } } }),
    'training.lora.useDora',
    /true or false/,
  ],
  [
    'DoRA under litgpt, whose LoRA layers have none',
    variant({
      training: { method: 'lora', lora: { useDora: true } },
      runtime: { preset: 'litgpt' },
    }),
    'training.lora.useDora',
    /litgpt's LoRA layers have no DoRA/,
  ],
  [
    "a LayerNorm without weights on a model whose code reads one (OLMo-1's alone has none)",
    variant({
      model: {
        model_type: 'gpt2',
        n_embd: 256,
        n_layer: 2,
        n_head: 4,
        vocab_size: 1000,
        norm: 'layernorm-weightless',
      },
    }),
    'model.norm',
    /model_type 'olmo'/,
  ],
  [
    'a router kind the planner does not know',
    variant({
      model: {
        model_type: 'mixtral',
        hidden_size: 256,
        intermediate_size: 512,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        vocab_size: 1000,
        moe: {
          numExperts: 4,
          expertsPerToken: 2,
          expertIntermediateSize: 512,
          sharedExperts: 0,
          sharedExpertIntermediateSize: 0,
          firstDenseLayers: 0,
          routerBias: false,
          router: 'sparsemixer',
        },
      },
    }),
    'model.moe.router',
    /softmax, fp32-softmax, grouped-sigmoid/,
  ],
  [
    'pipelining an encoder-decoder model',
    variant({ model: 't0-3b', parallelism: { pipelineParallel: 2 } }),
    'parallelism.pipelineParallel',
    /encoder-decoder model \(t0-3b\): use 1/,
  ],
  [
    'zeroStage 4',
    variant({ parallelism: { zeroStage: 4 } }),
    'parallelism.zeroStage',
    /0, 1, 2, 3/,
  ],
  [
    'more pipeline stages than layers',
    variant({ cluster: { nodes: 8 }, parallelism: { pipelineParallel: 64 } }),
    'parallelism.pipelineParallel',
    /num_hidden_layers \(32\)/,
  ],
  [
    'expert parallelism on a dense model',
    variant({ parallelism: { expertParallel: 2 } }),
    'parallelism.expertParallel',
    /dense/,
  ],
  ['a missing GPU', { model: 'llama-3-8b', cluster: { nodes: 1 } }, 'cluster.gpu', /required/],
  ['a missing model', { cluster: VALID.cluster }, 'model', /required/],
  ['a cluster that is not an object', variant({ cluster: 'a100-80gb' }), 'cluster', /object/],
  // A list where an object belongs must not pass as an empty object nor lose what it holds.
  ['a cluster sent as a list', variant({ cluster: [VALID.cluster] }), 'cluster', /object/],
  [
    'parallelism sent as a list',
    variant({ parallelism: [{ zeroStage: 3 }] }),
    'parallelism',
    /object/,
  ],
  [
    'LoRA settings sent as a list',
    variant({ training: { method: 'lora', lora: [{ rank: 64 }] } }),
    'training.lora',
    /object/,
  ],
  [
    'a count past its documented range',
    variant({ training: { gradientAccumulationSteps: 1e300 } }),
    'training.gradientAccumulationSteps',
    /from 1 to 65536/,
  ],
  ['an mfu above 1', variant({ runtime: { mfu: 1.5 } }), 'runtime.mfu', /\(0, 1\]/],
  [
    'an unknown model code',
    variant({ runtime: { modelCode: 'vllm' } }),
    'runtime.modelCode',
    /native, hf-transformers, litgpt/,
  ],
  [
    'an unknown quantization kernel',
    variant({ runtime: { quantizationKernel: 'bnb' } }),
    'runtime.quantizationKernel',
    /bitsandbytes, bitsandbytes-lightning, torchao/,
  ],
  [
    'previousStepAlive as a string',
    variant({ runtime: { previousStepAlive: 'yes' } }),
    'runtime.previousStepAlive',
    /true or false/,
  ],
  [
    'softmaxSavesInput as a number',
    variant({ runtime: { softmaxSavesInput: 1 } }),
    'runtime.softmaxSavesInput',
    /true or false/,
  ],
  [
    'bitsandbytesSavesInput as a number',
    variant({ runtime: { bitsandbytesSavesInput: 1 } }),
    'runtime.bitsandbytesSavesInput',
    /true or false/,
  ],
  [
    'fsdpEmbeddingUnits as a string',
    variant({ runtime: { fsdpEmbeddingUnits: 'yes' } }),
    'runtime.fsdpEmbeddingUnits',
    /true or false/,
  ],
  [
    'fp32Logits as a string',
    variant({ runtime: { fp32Logits: 'fp32' } }),
    'runtime.fp32Logits',
    /true or false/,
  ],
  [
    'DPO over tensor parallelism (TRL runs on data parallelism)',
    variant({ training: { preference: 'dpo' }, parallelism: { tensorParallel: 2 } }),
    'parallelism.tensorParallel',
    /TRL's DPOTrainer is planned on Accelerate's data parallelism .* set tensorParallel to 1/,
  ],
  [
    'DPO on an encoder-decoder',
    variant({ model: 't0-3b', training: { preference: 'dpo' } }),
    'training.preference',
    /this model is an encoder-decoder: use preference 'none'/,
  ],
  [
    'DPO with a chunked cross-entropy',
    variant({ training: { preference: 'dpo' }, runtime: { crossEntropy: 'chunked' } }),
    'runtime.crossEntropy',
    /set crossEntropy to 'standard'/,
  ],
  [
    'an unknown preference objective',
    variant({ training: { preference: 'ppo' } }),
    'training.preference',
    /none, dpo/,
  ],
  [
    'precomputeReferenceLogProbs as a string',
    variant({ training: { preference: 'dpo', dpo: { precomputeReferenceLogProbs: 'yes' } } }),
    'training.dpo.precomputeReferenceLogProbs',
    /true or false/,
  ],
  [
    'KTO on a micro-batch of one (its KL term pairs completions within the micro-batch)',
    variant({ training: { preference: 'kto', microBatchSize: 1 } }),
    'training.microBatchSize',
    /KTO estimates its KL term .* set microBatchSize to 2 or more/,
  ],
  [
    "KTO's precomputeReferenceLogProbs as a number",
    variant({ training: { preference: 'kto', kto: { precomputeReferenceLogProbs: 1 } } }),
    'training.kto.precomputeReferenceLogProbs',
    /true or false/,
  ],
  [
    'a prefill chunk of zero tokens',
    { ...VALID, workload: 'inference', inference: { prefillChunkTokens: 0 } },
    'inference.prefillChunkTokens',
    /integer from 1 to 16777216, e\.g\. 8192/,
  ],
];

describe.each(testEngines())('bad requests (e2e) on %s', (engine) => {
  const { http } = appPerSuite(engine);
  const savedCount = async () =>
    ((await http().get('/api/v1/plans').expect(200)).body as { total: number }).total;

  beforeAll(async () => {
    await http().post('/api/v1/plans').send(VALID).expect(201);
  });

  it.each(BAD_REQUESTS)('answers %s with 400 naming the field', async (_, body, field, message) => {
    const response = await http().post('/api/v1/plans').send(body);
    expectProblem(response, 400, field);
    if (message !== null) {
      const errors = (response.body as { errors: { field: string; message: string }[] }).errors;
      expect(errors.find((error) => error.field === field)?.message).toMatch(message);
    }
    expect(await savedCount()).toBe(1);
    // The estimate endpoint shares the checks.
    expectProblem(await http().post('/api/v1/plans/estimate').send(body), 400, field);
  });

  it('answers malformed JSON with 400 and saves nothing', async () => {
    const response = await http()
      .post('/api/v1/plans')
      .set('content-type', 'application/json')
      .send('{"model": "llama-3-8b", "cluster": {"gpu": ');
    expectProblem(response, 400, 'body');
    expect(await savedCount()).toBe(1);
  });

  it('answers a JSON body sent as a form or as text with 415 saying which header to send', async () => {
    // `curl -d` without a content type sends a form: the body must not read as "model is required".
    for (const contentType of ['application/x-www-form-urlencoded', 'text/plain']) {
      const response = await http()
        .post('/api/v1/plans')
        .set('content-type', contentType)
        .send(JSON.stringify(VALID));
      expectProblem(response, 415, 'body');
      const [error] = (response.body as { errors: { message: string }[] }).errors;
      expect(error.message).toContain("'content-type: application/json'");
      expect(error.message).toContain(contentType);
    }
    expect(await savedCount()).toBe(1);
  });

  it('names every offending field at once', async () => {
    const response = await http()
      .post('/api/v1/plans')
      .send(variant({ training: { microBatchSize: 0, precision: 'fp9' }, bar: true }));
    expectProblem(response, 400);
    const fields = (response.body as { errors: { field: string }[] }).errors.map((e) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining(['training.microBatchSize', 'training.precision', 'bar']),
    );
    expect(await savedCount()).toBe(1);
  });
});
