// Models (with aliases and custom models that survive restarts), GPUs, strategies, the vocabulary
// and health.
import { appPerSuite, expectProblem, testEngines } from './support/app';

interface ModelBody {
  id: string;
  name: string;
  hiddenSize: number;
  numLayers: number;
  parameters: { total: number; active: number };
  custom: boolean;
}

// A two-layer Llama-style config: every field the parameter count needs, plus ignored extras.
const TINY_CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 4,
  vocab_size: 1000,
  max_position_embeddings: 2048,
  hidden_act: 'silu',
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
  rope_theta: 10000,
  eos_token_id: 2,
};

// Written out: embeddings 1000*256 twice (untied) + per layer (q,k,v,o 4*256*256 + MLP 3*256*688
// + 2 norms of 256) + final norm 256.
const TINY_PARAMETERS = 2 * 1000 * 256 + 2 * (4 * 256 * 256 + 3 * 256 * 688 + 2 * 256) + 256;

describe.each(testEngines())('catalog, strategies and health (e2e) on %s', (engine) => {
  const { http, restart } = appPerSuite(engine);

  it('answers health with the database checked', async () => {
    const response = await http().get('/api/v1/health').expect(200);
    expect(response.body).toEqual({ status: 'ok', database: 'ok' });
  });

  it('lists the models with their parameter counts', async () => {
    const models = (await http().get('/api/v1/models').expect(200)).body as ModelBody[];
    const ids = models.map((model) => model.id);
    for (const id of ['llama-2-7b', 'llama-3-8b', 'llama-3.1-70b', 'mixtral-8x7b', 'gpt-2']) {
      expect(ids).toContain(id);
    }
    const llama2 = models.find((model) => model.id === 'llama-2-7b');
    // Meta's Llama-2-7B: 6,738,415,616 trainable parameters (HF total less 2,048 inv_freq buffers).
    expect(llama2?.parameters.total).toBe(6738415616);
  });

  it('finds a model by id and by its Hugging Face alias, encoded or not', async () => {
    const byId = (await http().get('/api/v1/models/llama-3-8b').expect(200)).body as ModelBody;
    expect(byId).toEqual(
      expect.objectContaining({ id: 'llama-3-8b', hiddenSize: 4096, numLayers: 32 }),
    );
    const encoded = await http().get('/api/v1/models/meta-llama%2FMeta-Llama-3-8B').expect(200);
    expect((encoded.body as ModelBody).id).toBe('llama-3-8b');
    const plain = await http().get('/api/v1/models/meta-llama/Meta-Llama-3-8B').expect(200);
    expect((plain.body as ModelBody).id).toBe('llama-3-8b');
  });

  it('answers 404 problem+json for an unknown model', async () => {
    expectProblem(await http().get('/api/v1/models/llama-9b'), 404);
  });

  it('adds a custom model: 201 with its counted parameters, then plans with it', async () => {
    const response = await http()
      .post('/api/v1/models')
      .send({ id: 'tiny-llama', config: TINY_CONFIG })
      .expect(201);
    const model = response.body as ModelBody;
    expect(model).toEqual(expect.objectContaining({ id: 'tiny-llama', custom: true }));
    expect(model.parameters.total).toBe(TINY_PARAMETERS);

    const listed = (await http().get('/api/v1/models').expect(200)).body as ModelBody[];
    expect(listed.map((entry) => entry.id)).toContain('tiny-llama');
    const plan = await http()
      .post('/api/v1/plans/estimate')
      .send({ model: 'tiny-llama', cluster: { gpu: 'l4' }, training: { sequenceLength: 512 } })
      .expect(200);
    expect((plan.body as { model: { id: string } }).model.id).toBe('tiny-llama');
  });

  it("serves Whisper given inline: each request's 1,500 frames cached in every decoder layer", async () => {
    const whisperSmall = {
      model_type: 'whisper',
      d_model: 768,
      encoder_layers: 12,
      decoder_layers: 12,
      encoder_attention_heads: 12,
      decoder_attention_heads: 12,
      encoder_ffn_dim: 3072,
      decoder_ffn_dim: 3072,
      vocab_size: 51865,
      num_mel_bins: 80,
      max_source_positions: 1500,
      max_target_positions: 448,
    };
    const inference = { batchSize: 4, promptLength: 4, outputLength: 124 };
    const plan = await http()
      .post('/api/v1/plans/estimate')
      .send({ model: whisperSmall, cluster: { gpu: 'l4' }, workload: 'inference', inference })
      .expect(200);
    const body = plan.body as { memory: { perGpu: { breakdown: { kvCache: number } } } };
    // K and V of 768 in bf16 over the text's 128 tokens and the 1,500 frames, 12 layers, 4 requests
    expect(body.memory.perGpu.breakdown.kvCache).toBe(4 * 12 * 2 * 768 * 2 * (128 + 1500));
  });

  it('plans a model given inline as a config.json, and names its missing fields', async () => {
    const plan = await http()
      .post('/api/v1/plans/estimate')
      .send({ model: TINY_CONFIG, cluster: { gpu: 'l4' }, training: { sequenceLength: 512 } })
      .expect(200);
    const body = plan.body as { model: { parameters: { total: number } } };
    expect(body.model.parameters.total).toBe(TINY_PARAMETERS);
    const broken = await http()
      .post('/api/v1/plans/estimate')
      .send({ model: { model_type: 'llama', hidden_size: 64 }, cluster: { gpu: 'l4' } });
    expectProblem(broken, 400);
    const fields = (broken.body as { errors: { field: string }[] }).errors.map((e) => e.field);
    expect(fields).toContain('model.num_hidden_layers');
  });

  it('refuses a taken id with 409', async () => {
    expectProblem(
      await http().post('/api/v1/models').send({ id: 'tiny-llama', config: TINY_CONFIG }),
      409,
    );
    expectProblem(
      await http().post('/api/v1/models').send({ id: 'llama-3-8b', config: TINY_CONFIG }),
      409,
    );
  });

  it('lists the missing fields of an incomplete config', async () => {
    const response = await http()
      .post('/api/v1/models')
      .send({ id: 'broken', config: { hidden_size: 64 } });
    expectProblem(response, 400);
    const fields = (response.body as { errors: { field: string }[] }).errors.map((e) => e.field);
    expect(fields.some((field) => field.includes('num_hidden_layers'))).toBe(true);
    expect(fields.some((field) => field.includes('num_attention_heads'))).toBe(true);
    await http().get('/api/v1/models/broken').expect(404);
  });

  it('rejects a bad id and a missing config naming the fields', async () => {
    expectProblem(
      await http().post('/api/v1/models').send({ id: 'Not A Slug', config: TINY_CONFIG }),
      400,
      'id',
    );
    expectProblem(await http().post('/api/v1/models').send({ id: 'no-config' }), 400, 'config');
  });

  it('keeps custom models across a restart', async () => {
    await restart();
    const model = (await http().get('/api/v1/models/tiny-llama').expect(200)).body as ModelBody;
    expect(model.parameters.total).toBe(TINY_PARAMETERS);
    expect(model.custom).toBe(true);
  });

  it('lists the GPUs and finds one', async () => {
    const gpus = (await http().get('/api/v1/gpus').expect(200)).body as { id: string }[];
    const ids = gpus.map((gpu) => gpu.id);
    for (const id of ['a100-40gb', 'a100-80gb', 'h100-80gb', 'h200', 'l4', 'mi300x']) {
      expect(ids).toContain(id);
    }
    const a100 = (await http().get('/api/v1/gpus/a100-80gb').expect(200)).body as {
      memoryBytes: number;
      memoryGiB: number;
    };
    // nvidia-smi reports 81920 MiB on the A100 80GB SXM.
    expect(a100.memoryBytes).toBe(81920 * 1024 ** 2);
    expect(a100.memoryGiB).toBe(80);
    expectProblem(await http().get('/api/v1/gpus/a100-81gb'), 404);
  });

  it('describes the strategies with what they shard and their constraints', async () => {
    const strategies = (await http().get('/api/v1/strategies').expect(200)).body as {
      id: string;
      shards: string[];
      constraints: string[];
    }[];
    const ids = strategies.map((strategy) => strategy.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'ddp',
        'zero-1',
        'zero-2',
        'zero-3',
        'tensor-parallel',
        'sequence-parallel',
        'context-parallel',
        'pipeline-parallel',
        'expert-parallel',
        'lora',
        'qlora',
        'cpu-offload',
        'activation-checkpointing',
        'activation-offloading',
      ]),
    );
    const tensor = strategies.find((strategy) => strategy.id === 'tensor-parallel');
    expect(tensor?.constraints.join(' ')).toContain('num_attention_heads');
  });

  it('turns each strategy on with the request fields it names: the API plans every one', async () => {
    const strategies = (await http().get('/api/v1/strategies').expect(200)).body as {
      id: string;
      request: Record<string, unknown>;
    }[];
    // Mixtral-8x7B on one node of eight H100s: 8 experts for expert parallelism, 32 heads and
    // layers for the tensor, context and pipeline splits of 2.
    for (const strategy of strategies) {
      const body: Record<string, Record<string, unknown> | string> = {
        model: 'mixtral-8x7b',
        cluster: { gpu: 'h100-80gb', gpusPerNode: 8 },
      };
      for (const [path, value] of Object.entries(strategy.request)) {
        const [section, key] = path.split('.');
        body[section] = { ...(body[section] as Record<string, unknown>), [key]: value };
      }
      const response = await http().post('/api/v1/plans/estimate').send(body);
      expect([strategy.id, response.status]).toEqual([strategy.id, 200]);
    }
    // Fourteen plans of a 47B model that does not fit, each with its advice (re-plans and a
    // search for the GPU count): one to four seconds apiece on a loaded two-core machine.
  }, 180_000);

  it('answers unknown routes with 404 problem+json', async () => {
    expectProblem(await http().get('/api/v1/nowhere'), 404);
  });

  it('serves the vocabulary: every component a training or serving plan reports, and its defaults', async () => {
    const vocabulary = (await http().get('/api/v1/vocabulary').expect(200)).body as {
      memoryComponents: string[];
      enums: Record<string, unknown[]>;
      defaults: { training: Record<string, unknown> };
    };
    const cluster = { gpu: 'a100-80gb', gpusPerNode: 8 };
    const breakdowns = await Promise.all(
      [
        { model: 'llama-3-8b', cluster },
        { model: 'llama-3-8b', cluster, workload: 'inference' },
      ].map(async (body) => {
        const plan = await http().post('/api/v1/plans/estimate').send(body).expect(200);
        return plan.body as {
          memory: { perGpu: { breakdown: Record<string, number> } };
          request: { training: Record<string, unknown> };
        };
      }),
    );
    const reported = new Set(
      breakdowns.flatMap((plan) => Object.keys(plan.memory.perGpu.breakdown)),
    );
    expect([...reported].sort()).toEqual([...vocabulary.memoryComponents].sort());
    // A request that leaves training out comes back with the defaults the page is told.
    expect(breakdowns[0].request.training).toEqual(vocabulary.defaults.training);
  });
});
