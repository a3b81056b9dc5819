// The distributed checks a request meets before it is planned: the framework's own pipeline
// split, HSDP's replica count, what optimizer in backward cannot do.
import { H100_SXM } from '../../../test/support/gpus';
import { tinyArch } from '../../../test/support/timeline';
import { architectureFromConfig } from '../model/architecture';
import { PlanRequestInput } from './normalize';
import { normalizeRequest } from './normalize';
import { validateRequest } from './validate';

const arch126 = tinyArch(126); // Llama-3.1-405B's 126 layers
const check = (input: Omit<PlanRequestInput, 'model' | 'cluster'>, gpus = 64, arch = arch126) =>
  validateRequest(
    normalizeRequest(
      { ...input, model: 'tiny', cluster: { gpu: 'h100-80gb', nodes: gpus / 8, gpusPerNode: 8 } },
      H100_SXM,
    ),
    arch,
    H100_SXM,
  );

describe('pipeline splits', () => {
  it('accepts 126 layers in 8 x 2 virtual stages, which torchtitan and Megatron split unevenly', () => {
    const parallelism = {
      pipelineParallel: 8,
      pipelineSchedule: 'interleaved' as const,
      virtualStages: 2,
    };
    expect(check({ parallelism })).toEqual([]);
  });

  it('refuses a split that leaves a stage empty, naming the field', () => {
    const errors = check({ parallelism: { pipelineParallel: 8 } }, 64, tinyArch(4));
    expect(errors.map((e) => e.field)).toContain('parallelism.pipelineParallel');
  });

  it("refuses to pipeline an encoder-decoder (T5): the decoder's stages need the embedding and the encoder's output", () => {
    const t5 = { ...tinyArch(8), encoder: { numLayers: 4, relativeAttentionBuckets: 32 } };
    const errors = check({ parallelism: { pipelineParallel: 2 } }, 64, t5);
    expect(errors.map((e) => e.field)).toEqual(['parallelism.pipelineParallel']);
    expect(errors[0].message).toMatch(/encoder-decoder .*use 1/);
    expect(check({ parallelism: { pipelineParallel: 1 } }, 64, t5)).toEqual([]);
  });

  it('refuses context parallelism where attention is written out (eager): no SDPA kernel for the ring to replace', () => {
    const field = (input: Parameters<typeof check>[0]) => check(input, 64).map((e) => e.field);
    const cp = { contextParallel: 2 };
    expect(field({ parallelism: cp, runtime: { attention: 'eager' } })).toEqual([
      'parallelism.contextParallel',
    ]);
    expect(field({ parallelism: cp, runtime: { attention: 'flash' } })).toEqual([]);
    expect(field({ parallelism: { contextParallel: 1 }, runtime: { attention: 'eager' } })).toEqual(
      [],
    );
  });

  it("refuses context parallelism where a sliding window shorter than the sequence sends SDPA a mask: the ring's memory-efficient kernel takes no attn_bias", () => {
    const field = (arch: typeof arch126) =>
      check(
        { parallelism: { contextParallel: 2 }, training: { sequenceLength: 4096 } },
        64,
        arch,
      ).map((e) => e.field);
    const windowed = { ...tinyArch(8), slidingWindow: 1024 };
    expect(field(windowed)).toEqual(['parallelism.contextParallel']);
    expect(
      check(
        { parallelism: { contextParallel: 2 }, training: { sequenceLength: 4096 } },
        64,
        windowed,
      )[0].message,
    ).toMatch(/memory-efficient kernel with a mask/);
    // A window longer than the sequence sends no mask: flash, which the ring replaces.
    expect(field({ ...tinyArch(8), slidingWindow: 8192 })).toEqual([]);
  });

  it("refuses context parallelism over a Mamba scan or LFM2's convolution, which run along the whole sequence", () => {
    const hybrid = (layerTypes: ('full_attention' | 'mamba2' | 'conv')[]) => ({
      ...tinyArch(4),
      modelType: layerTypes.includes('mamba2') ? 'bamba' : 'lfm2', // model codes that run them
      layerTypes,
      ssm: layerTypes.includes('mamba2')
        ? {
            version: 2 as const,
            stateSize: 16,
            convKernel: 4,
            expand: 2,
            innerSize: 128,
            dtRank: 4,
            groups: 1,
            heads: 4,
            headDim: 32,
            convBias: true,
            projBias: false,
          }
        : undefined,
      shortConv: layerTypes.includes('conv') ? { cacheLength: 3, bias: false } : undefined,
    });
    const cp = { parallelism: { contextParallel: 2 } };
    const mamba = check(cp, 64, hybrid(['full_attention', 'mamba2', 'full_attention', 'mamba2']));
    expect(mamba.map((e) => e.field)).toEqual(['parallelism.contextParallel']);
    expect(mamba[0].message).toMatch(/layer 1 needs a Mamba-2 scan's state/);
    const conv = check(cp, 64, hybrid(['conv', 'full_attention', 'conv', 'full_attention']));
    expect(conv[0].message).toMatch(/layer 0 needs LFM2's short convolution/);
    expect(check({}, 64, hybrid(['conv', 'full_attention', 'conv', 'full_attention']))).toEqual([]);
  });

  it("refuses context parallelism over Qwen3-Next's Gated DeltaNet, and tensor parallelism that splits a key head", () => {
    const qwen3Next = architectureFromConfig('qwen3-next-tiny', {
      model_type: 'qwen3_next',
      hidden_size: 256,
      num_hidden_layers: 4,
      num_attention_heads: 8,
      num_key_value_heads: 8,
      head_dim: 32,
      num_experts: 0,
      linear_num_key_heads: 2,
      linear_num_value_heads: 4,
      linear_key_head_dim: 32,
      linear_value_head_dim: 32,
    });
    const cp = check({ parallelism: { contextParallel: 2 } }, 64, qwen3Next);
    expect(cp.map((e) => e.field)).toEqual(['parallelism.contextParallel']);
    expect(cp[0].message).toMatch(/layer 0 needs a Gated DeltaNet's recurrent state/);
    const tp = check({ parallelism: { tensorParallel: 4 } }, 64, qwen3Next);
    expect(tp.map((e) => e.field)).toEqual(['parallelism.tensorParallel']);
    expect(tp[0].message).toMatch(/linear_num_key_heads \(2\)/);
    expect(check({ parallelism: { tensorParallel: 2 } }, 64, qwen3Next)).toEqual([]);
  });

  it("refuses training tensor parallelism that splits a Mamba-2 mixer's group of heads, as Megatron-Core's MambaMixer does; serving engines replicate the groups", () => {
    const bamba = architectureFromConfig('bamba-tiny', {
      model_type: 'bamba',
      hidden_size: 256,
      num_hidden_layers: 2,
      num_attention_heads: 8,
      num_key_value_heads: 8,
      mamba_n_heads: 8,
      mamba_d_state: 32,
      mamba_n_groups: 1,
      attn_layer_indices: [1],
    });
    const tp = check({ parallelism: { tensorParallel: 2 } }, 64, bamba);
    expect(tp.map((e) => e.field)).toEqual(['parallelism.tensorParallel']);
    expect(tp[0].message).toMatch(/groups .*\(1\)/);
    const serving = { workload: 'inference' as const, parallelism: { tensorParallel: 2 } };
    expect(check(serving, 64, bamba)).toEqual([]);
  });

  it("refuses tensor parallelism over OPT-350m's projected embedding, naming the field", () => {
    const projected = { ...tinyArch(8), embeddingWidth: 32 };
    const errors = check({ parallelism: { tensorParallel: 2 } }, 64, projected);
    expect(errors.map((e) => e.field)).toEqual(['parallelism.tensorParallel']);
    expect(errors[0].message).toMatch(/project_in and project_out.*use 1/);
    expect(check({ parallelism: { pipelineParallel: 2 } }, 64, projected)).toEqual([]);
  });

  it('refuses a fractional layer weight for the embedding', () => {
    const errors = check({ runtime: { pipelineFirstStageLessLayers: 0.5 } });
    expect(errors.map((e) => e.field)).toEqual(['runtime.pipelineFirstStageLessLayers']);
  });
});

describe('HSDP', () => {
  it('needs the replica count to divide the data-parallel ranks (64 GPUs: dp 64)', () => {
    expect(check({ parallelism: { zeroStage: 3, replicateDegree: 8 } })).toEqual([]);
    const errors = check({ parallelism: { zeroStage: 3, replicateDegree: 6 } });
    expect(errors.map((e) => e.field)).toEqual(['parallelism.replicateDegree']);
  });
});

describe('optimizer in backward', () => {
  it('cannot accumulate gradients over micro-batches', () => {
    const errors = check({
      training: { gradientAccumulationSteps: 4 },
      runtime: { optimizerInBackward: true },
    });
    expect(errors.map((e) => e.field)).toEqual(['runtime.optimizerInBackward']);
  });

  it("is left off by torchtune's preset when the run accumulates", () => {
    const request = normalizeRequest(
      {
        model: 'tiny',
        cluster: { gpu: 'h100-80gb' },
        training: { gradientAccumulationSteps: 4 },
        runtime: { preset: 'torchtune' },
      },
      H100_SXM,
    );
    expect(request.runtime.optimizerInBackward).toBe(false);
  });
});

describe('fp8', () => {
  it('needs fp8 tensor cores, and tensorwise scaling to gather fp8 weights', () => {
    const noFp8 = { ...H100_SXM, id: 'a100-80gb', fp8: false };
    const request = normalizeRequest(
      {
        model: 'tiny',
        cluster: { gpu: 'a100-80gb' },
        runtime: { fp8Recipe: 'rowwise', fp8AllGather: true },
      },
      noFp8,
    );
    const fields = validateRequest(request, tinyArch(4), noFp8).map((e) => e.field);
    expect(fields).toEqual(['runtime.fp8Recipe', 'runtime.fp8AllGather']);
  });
});

describe('LoRA targets', () => {
  it("accepts the head (lm_head, torchtune's output) and the embedding (embed_tokens)", () => {
    const training = {
      method: 'lora' as const,
      lora: { targetModules: ['q_proj', 'lm_head', 'output', 'embed_tokens'] },
    };
    expect(check({ training }, 8, tinyArch(4))).toEqual([]);
  });

  it('refuses lm_head on a sequence classifier, which has its classifier there instead', () => {
    const training = { method: 'lora' as const, lora: { targetModules: ['q_proj', 'lm_head'] } };
    const classifier = { ...tinyArch(4), sequenceClassificationLabels: 2 };
    const errors = check({ training }, 8, classifier);
    expect(errors.map((e) => e.field)).toEqual(['training.lora.targetModules']);
    expect(errors[0].message).toMatch(/unknown target module\(s\) lm_head/);
  });
});

describe('DoRA', () => {
  const dora = (targetModules: string[], preset?: 'litgpt' | 'torchtune') => ({
    training: { method: 'lora' as const, lora: { targetModules, useDora: true } },
    ...(preset ? { runtime: { preset } } : {}),
  });
  const fields = (input: ReturnType<typeof dora>) =>
    check(input, 8, tinyArch(4)).map((e) => e.field);

  it("plans PEFT's and torchtune's linears, the output head included", () => {
    expect(fields(dora(['q_proj', 'v_proj', 'lm_head']))).toEqual([]);
    expect(fields(dora(['q_proj', 'output'], 'torchtune'))).toEqual([]);
  });

  it("refuses litgpt, whose LoRA layers have none, and PEFT's DoRA embedding", () => {
    expect(fields(dora(['q_proj'], 'litgpt'))).toEqual(['training.lora.useDora']);
    expect(fields(dora(['q_proj', 'embed_tokens']))).toEqual(['training.lora.useDora']);
  });
});

describe("Megatron's data parallelism", () => {
  const fields = (parallelism: object) =>
    check({ parallelism, runtime: { preset: 'megatron' } }).map((e) => e.field);

  it('plans zeroStage 0 and 1 (DDP, the distributed optimizer)', () => {
    expect(fields({ zeroStage: 0 })).toEqual([]);
    expect(fields({ zeroStage: 1 })).toEqual([]);
  });

  it('refuses ZeRO-2 and 3 and offloading, which its engine does not shard or offload', () => {
    expect(fields({ zeroStage: 2 })).toEqual(['parallelism.zeroStage']);
    expect(fields({ zeroStage: 3, offload: { optimizer: 'cpu', parameters: 'cpu' } })).toEqual([
      'parallelism.zeroStage',
      'parallelism.offload.optimizer',
      'parallelism.offload.parameters',
    ]);
    const [error] = check({ parallelism: { zeroStage: 3 }, runtime: { preset: 'megatron' } });
    expect(error.message).toMatch(/use zeroStage 0 to 1.*'deepspeed' or 'torchtitan' preset/);
  });

  it("refuses them where only the engine is Megatron's", () => {
    const runtime = { dataParallelEngine: 'megatron' as const };
    expect(check({ parallelism: { zeroStage: 3 }, runtime }).map((e) => e.field)).toEqual([
      'parallelism.zeroStage',
    ]);
  });
});

describe('images and the text width', () => {
  // Qwen3VLConfig's defaults: a 4,096-wide text stack, a tower whose merger ends at 3,584.
  const defaults = architectureFromConfig('qwen3-vl', {
    model_type: 'qwen3_vl',
    vision_config: {},
  });
  const images = (n: number) => ({ training: { imagesPerSample: n } });

  it('refuses images whose tokens the text stack cannot take, naming the field', () => {
    const errors = check(images(1), 8, defaults);
    expect(errors.map((e) => e.field)).toEqual(['training.imagesPerSample']);
    expect(errors[0].message).toMatch(/3584 wide but the text stack's are 4096/);
  });

  it('plans the same model on text-only batches, where the tower does not run', () => {
    expect(check(images(0), 8, defaults)).toEqual([]);
  });
});

describe('images and the sequence', () => {
  // LLaVA-1.5's defaults: 576 image tokens an image (24 x 24 patches of a 336-px image)
  const llava = architectureFromConfig('llava', { model_type: 'llava' });
  const run = (imagesPerSample: number, sequenceLength: number) =>
    check({ training: { imagesPerSample, sequenceLength } }, 8, llava);

  it("refuses images whose tokens the sample's sequence cannot hold, naming the field", () => {
    // 4 x 576 = 2,304 positions in a 2,048-token sample
    const errors = run(4, 2048);
    expect(errors.map((e) => e.field)).toEqual(['training.imagesPerSample']);
    expect(errors[0].message).toMatch(/4 image\(s\) of 576 tokens take 2304 positions/);
    expect(run(3, 2048)).toEqual([]);
  });
});

describe("Whisper's audio encoder", () => {
  // whisper-tiny (WhisperConfig's defaults): 1,500 frames, 448 decoder positions
  const whisper = architectureFromConfig('whisper-tiny', { model_type: 'whisper' });
  const fields = (input: Omit<PlanRequestInput, 'model' | 'cluster'>) =>
    check({ training: { sequenceLength: 256 }, ...input }, 8, whisper).map((e) => e.field);

  it("plans training on data parallelism and ZeRO, the text up to the decoder's 448 positions", () => {
    expect(fields({ parallelism: { zeroStage: 3 } })).toEqual([]);
    expect(fields({ training: { sequenceLength: 449 } })).toEqual(['training.sequenceLength']);
  });

  it('refuses by the field what splits the stacks apart: tensor, pipeline and context parallelism', () => {
    expect(fields({ parallelism: { tensorParallel: 2 } })).toEqual(['parallelism.tensorParallel']);
    expect(fields({ parallelism: { pipelineParallel: 2 } })).toEqual([
      'parallelism.pipelineParallel',
    ]);
    expect(fields({ parallelism: { contextParallel: 2 } })).toEqual([
      'parallelism.contextParallel',
    ]);
  });

  it('serves on whole replicas: a split is refused with advice for serving, not ZeRO', () => {
    const served = { workload: 'inference' as const, inference: { promptLength: 64 } };
    expect(fields(served)).toEqual([]);
    const split = check({ ...served, parallelism: { tensorParallel: 2 } }, 8, whisper);
    expect(split.map((e) => e.field)).toEqual(['parallelism.tensorParallel']);
    expect(split[0].message).toMatch(/use 1, and serve on more replicas/);
  });
});
