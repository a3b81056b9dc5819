import { loadCatalog } from '../../catalog/catalog';
import { countParameters, linearShapes, loraParameters, trainableParameters } from './parameters';
import { estimatePlan } from '../../application/estimate';
import { rankParameters, splitLayers } from './placement';
import { TrainingSettings } from '../vocabulary';

const catalog = loadCatalog();
const model = (id: string) => catalog.findModel(id)!;

describe('parameter counts equal the published exact counts (../shared/catalog/models.json)', () => {
  it.each(catalog.models().map((m) => [m.id, m] as const))('%s', (_id, m) => {
    expect(m.exactParameters).toBeDefined();
    expect(countParameters(m).total).toBe(m.exactParameters);
  });

  it('Llama-2-7B: HF safetensors total 6,738,417,664 counts 32 x 64 rotary inv_freq buffers on top', () => {
    expect(countParameters(model('llama-2-7b')).total + 32 * 64).toBe(6738417664);
  });
});

describe('parameter counts written out by hand', () => {
  it('Llama-3-8B: 32 layers of attention, SwiGLU and two RMSNorms, untied 128,256-row embeddings', () => {
    const h = 4096;
    const f = 14336;
    const kv = 8 * 128;
    const layer = h * h * 2 + h * kv * 2 + 3 * h * f + 2 * h;
    expect(countParameters(model('llama-3-8b')).total).toBe(32 * layer + 2 * 128256 * h + h);
    expect(countParameters(model('llama-3-8b')).total).toBe(8030261248);
  });
  it('GPT-2 small: 124,439,808 with biases, LayerNorms, learned positions and tied embeddings', () => {
    const h = 768;
    const layer = 4 * h * h + 4 * h + 2 * h * 3072 + 3072 + h + 2 * 2 * h;
    expect(12 * layer + 50257 * h + 1024 * h + 2 * h).toBe(124439808);
    expect(countParameters(model('gpt-2')).total).toBe(124439808);
  });
  it('Mixtral-8x7B activates 2 of 8 experts: 12,879,925,248 active', () => {
    const counts = countParameters(model('mixtral-8x7b'));
    const expert = 3 * 4096 * 14336;
    expect(counts.total - counts.active).toBe(32 * 6 * expert);
    expect(counts.active).toBe(12879925248);
  });
  it('DeepSeek-V3 main model (MTP module excluded): 671,026,419,200 total, about 37B active', () => {
    const counts = countParameters(model('deepseek-v3'));
    expect(counts.total).toBe(671026419200);
    expect(counts.active / 1e9).toBeCloseTo(37.55, 1);
  });
});

describe('LoRA adapters: r (d_in + d_out) per adapted linear (Hu et al. 2021)', () => {
  it('Llama-3-8B q_proj and v_proj at rank 16: 6,815,744', () => {
    const lora = { rank: 16, alpha: 32, dropout: 0, targetModules: ['q_proj', 'v_proj'] };
    expect(loraParameters(model('llama-3-8b'), lora).total).toBe(
      32 * (16 * (4096 + 4096) + 16 * (4096 + 1024)),
    );
    expect(loraParameters(model('llama-3-8b'), lora).total).toBe(6815744);
  });
  it('all-linear covers the seven projections of every layer', () => {
    const lora = { rank: 8, alpha: 16, dropout: 0, targetModules: 'all-linear' as const };
    const h = 4096;
    const perLayer = 8 * ((h + h) * 2 + (h + 1024) * 2 + (h + 14336) * 3);
    expect(loraParameters(model('llama-3-8b'), lora).total).toBe(32 * perLayer);
  });
  it('T0_3B q_proj and v_proj: 24 encoder self-attentions, 24 decoder self- and 24 cross-attentions', () => {
    const lora = { rank: 16, alpha: 32, dropout: 0, targetModules: ['q_proj', 'v_proj'] };
    expect(loraParameters(model('t0-3b'), lora).total).toBe((24 + 2 * 24) * 2 * 16 * (2048 + 2048));
  });
  it("routed experts are v5's 3-D parameters, not nn.Linear modules: PEFT adapts none of them", () => {
    // MixtralExperts: gate_up_proj and down_proj are nn.Parameters, which neither a module name
    // nor 'all-linear' reaches; all-linear adapts q, k, v and o (the router is a gate).
    const mixtral = model('mixtral-8x7b');
    const named = { rank: 8, alpha: 16, dropout: 0, targetModules: ['gate_proj'] };
    expect(loraParameters(mixtral, named).total).toBe(0);
    const all = { ...named, targetModules: 'all-linear' as const };
    const attention = 8 * (4096 + 4096) + 2 * 8 * (4096 + 1024) + 8 * (4096 + 4096);
    expect(loraParameters(mixtral, all).total).toBe(32 * attention);
  });
});

describe('DoRA: a magnitude per output feature of each adapted linear (Liu et al. 2024)', () => {
  // PEFT's DoraLinearLayer.update_layer: lora_magnitude_vector = ||W + s B A|| row-wise, one
  // element per output feature, trained with A and B.
  it("Llama-3-8B q_proj and v_proj at rank 16: LoRA's 6,815,744 plus 32 x (4,096 + 1,024)", () => {
    const lora = { rank: 16, alpha: 32, dropout: 0, targetModules: ['q_proj', 'v_proj'] };
    const dora = { ...lora, useDora: true };
    expect(loraParameters(model('llama-3-8b'), dora).total).toBe(6815744 + 32 * (4096 + 1024));
  });
  it("the output head's magnitude spans the vocabulary: Llama-3-8B lm_head at rank 8", () => {
    const lora = { rank: 8, alpha: 16, dropout: 0, targetModules: ['lm_head'], useDora: true };
    expect(loraParameters(model('llama-3-8b'), lora).total).toBe(8 * (4096 + 128256) + 128256);
  });
  it('one rank holding the whole model holds every magnitude in its model states', () => {
    const arch = model('llama-3-8b');
    const lora = { rank: 8, alpha: 16, dropout: 0, targetModules: ['q_proj', 'lm_head'] };
    const dora = { ...lora, useDora: true };
    const [whole] = splitLayers(arch.numLayers, 1);
    const degrees = { tensorParallel: 1, pipelineParallel: 1, expertParallel: 1 };
    const held = (settings: typeof lora) => rankParameters(arch, whole, degrees, settings).adapters;
    expect(held(dora) - held(lora)).toBe(32 * 4096 + 128256);
  });
});

describe('layer shapes', () => {
  it('DeepSeek-V3 MLA projections and a dense first layer, then 256 routed experts', () => {
    const arch = model('deepseek-v3');
    const names = linearShapes(arch, 0).map((shape) => shape.name);
    expect(names).toEqual([
      'q_a_proj',
      'q_b_proj',
      'kv_a_proj_with_mqa',
      'kv_b_proj',
      'o_proj',
      'gate_proj',
      'up_proj',
      'down_proj',
    ]);
    const kvA = linearShapes(arch, 0).find((shape) => shape.name === 'kv_a_proj_with_mqa')!;
    expect(kvA.outFeatures).toBe(512 + 64); // kv_lora_rank + qk_rope_head_dim
    const experts = linearShapes(arch, 3).filter((shape) => shape.group === 'expert');
    expect(experts.map((shape) => shape.copies)).toEqual([256, 256, 256]);
  });
  it('GPT-2 has a plain MLP: up_proj and down_proj only', () => {
    const names = linearShapes(model('gpt-2'), 0)
      .filter((shape) => shape.group === 'mlp')
      .map((shape) => shape.name);
    expect(names).toEqual(['up_proj', 'down_proj']);
  });
});

describe('trainable parameters', () => {
  const training = (method: TrainingSettings['method']): TrainingSettings => ({
    method,
    precision: 'bf16-mixed',
    optimizer: 'adamw',
    microBatchSize: 1,
    sequenceLength: 4096,
    gradientAccumulationSteps: 1,
    activationCheckpointing: 'none',
    preference: 'none',
    lora: { rank: 16, alpha: 32, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
  });
  it('full fine-tuning trains everything; LoRA and QLoRA train the adapters only', () => {
    expect(trainableParameters(model('llama-3-8b'), training('full'), training('full').lora)).toBe(
      8030261248,
    );
    expect(trainableParameters(model('llama-3-8b'), training('lora'), training('lora').lora)).toBe(
      6815744,
    );
    expect(
      trainableParameters(model('llama-3-8b'), training('qlora'), training('qlora').lora),
    ).toBe(6815744);
  });
  it("DeepSeek-V3 trains all but its routers' e_score_correction_bias buffers: 58 MoE layers x 256", () => {
    const total = countParameters(model('deepseek-v3')).total;
    expect(trainableParameters(model('deepseek-v3'), training('full'), training('full').lora)).toBe(
      total - 58 * 256,
    );
  });
});

describe('Phi-3’s fused projections as PEFT sees them', () => {
  const phi3 = loadCatalog().findModel('phi-3-mini-4k-instruct')!;
  const lora = (targetModules: string[] | 'all-linear') =>
    loraParameters(phi3, { rank: 16, alpha: 32, dropout: 0, targetModules });
  const [h, f, layers] = [3072, 8192, 32];
  it('all-linear adapts qkv_proj, o_proj, gate_up_proj and down_proj: r x (in + out) each', () => {
    const perLayer = 16 * (h + 3 * h + (h + h) + (h + 2 * f) + (f + h));
    expect(lora('all-linear').total).toBe(perLayer * layers);
  });
  it('the linears are named as in the checkpoint: qkv_proj and gate_up_proj', () => {
    expect(lora(['qkv_proj', 'gate_up_proj']).modules.sort()).toEqual(['gate_up_proj', 'qkv_proj']);
  });
  it('a LoRA plan without targets adapts qkv_proj, PEFT’s default for phi3', () => {
    const result = estimatePlan(
      {
        model: 'phi-3-mini-4k-instruct',
        cluster: { gpu: 'h100-80gb' },
        training: { method: 'lora' },
      },
      loadCatalog(),
    );
    expect(result.request.training.lora?.targetModules).toEqual(['qkv_proj']);
  });
});
