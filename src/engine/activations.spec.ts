import { layerTokenBytes, megatronLayerBytesPerToken } from './activations';
import { architectureFromConfig } from './architecture';
import { normalizeRequest } from './request';
import { loadCatalog } from '../catalog/catalog';
import { PlanRequest } from './types';

describe('Korthikanti et al. 2022: GPT-3 175B activations per layer (h 12288, a 96, s 2048)', () => {
  const h = 12288;
  const a = 96;
  const s = 2048;
  const b = 1;
  const t = 8;
  const perLayer = (tp: number, sp: boolean, recompute: 'none' | 'selective' | 'full') =>
    megatronLayerBytesPerToken(h, a, s, tp, sp, recompute) * s * b;

  it('no parallelism, no recompute: s b h (34 + 5 a s / h)', () => {
    expect(perLayer(1, false, 'none')).toBe(s * b * h * (34 + (5 * a * s) / h));
  });
  it('tensor parallel 8: s b h (10 + 24 / t + 5 a s / (h t))', () => {
    expect(perLayer(t, false, 'none')).toBeCloseTo(
      s * b * h * (10 + 24 / t + (5 * a * s) / (h * t)),
      0,
    );
  });
  it('tensor + sequence parallel 8: s b h / t (34 + 5 a s / h)', () => {
    expect(perLayer(t, true, 'none')).toBeCloseTo(((s * b * h) / t) * (34 + (5 * a * s) / h), 0);
  });
  it('tensor + sequence parallel with selective recompute: 34 s b h / t', () => {
    expect(perLayer(t, true, 'selective')).toBe((34 * s * b * h) / t);
  });
  it('full recompute keeps the layer input: 2 s b h', () => {
    expect(perLayer(1, false, 'full')).toBe(2 * s * b * h);
  });
  it('fp32 activations double the tensors but not the 1-byte dropout masks: 66h + 9as', () => {
    const fp32 = { residual: 4, matmul: 4, softmax: 4 };
    expect(megatronLayerBytesPerToken(h, a, s, 1, false, 'none', fp32)).toBe(66 * h + 9 * a * s);
  });
  it('AMP keeps LayerNorm inputs and the softmax in fp32: 38h + 7as', () => {
    const amp = { residual: 4, matmul: 2, softmax: 4 };
    expect(megatronLayerBytesPerToken(h, a, s, 1, false, 'none', amp)).toBe(38 * h + 7 * a * s);
  });
  it('the paper’s 96-layer totals: 5 a s / h = 80 and 34 + 80 = 114 bytes per s b h', () => {
    expect((5 * a * s) / h).toBe(80);
    expect(perLayer(1, false, 'none') * 96).toBe(96 * s * b * h * 114);
  });
});

const llama3_8b = loadCatalog().findModel('llama-3-8b')!;

function request(runtime: Partial<PlanRequest['runtime']>): PlanRequest {
  return normalizeRequest({
    model: 'llama-3-8b',
    cluster: { gpu: 'a100-80gb' },
    training: { precision: 'bf16-pure' },
    runtime,
  });
}

describe('modern decoder (memory-model.md section 4), Llama-3-8B per token per layer', () => {
  const h = 4096;
  const f = 14336;
  const g = 8;
  const d = 128;
  const a = 32;
  it('fused kernels with flash attention: 12h + 4gd + 6f (= 139,264 B) plus the fp32 log-sum-exp', () => {
    const parts = layerTokenBytes(
      llama3_8b,
      request({ fusedKernels: true, attention: 'flash' }),
      0,
    );
    expect(12 * h + 4 * g * d + 6 * f).toBe(139264);
    expect(parts.insideTp + parts.outsideTp).toBe(139264 + 4 * a);
    expect(parts.scoresPerSeqToken).toBe(0);
  });
  it('eager code adds an fp32 input per norm (4h), 2f for SiLU and the product, K/V expanded to all heads and a copy of the attention output', () => {
    const parts = layerTokenBytes(
      llama3_8b,
      request({ fusedKernels: false, attention: 'flash' }),
      0,
    );
    const expected = 139264 + 4 * a + 2 * 4 * h + 2 * f + 2 * 2 * (a - g) * d + 2 * a * d;
    expect(parts.insideTp + parts.outsideTp).toBe(expected);
  });
  it('eager attention keeps the fp32 softmax and its 16-bit copy: (4 + 2) a s per token', () => {
    const parts = layerTokenBytes(
      llama3_8b,
      request({ fusedKernels: true, attention: 'eager' }),
      0,
    );
    expect(parts.scoresPerSeqToken).toBe(6 * a);
    expect(parts.insideTp + parts.outsideTp).toBe(139264);
  });
});

describe('QLoRA on bitsandbytes keeps the adapters’ own saved tensors too', () => {
  const h = 4096;
  const a = 32;
  const qlora = (dropout: number) =>
    normalizeRequest({
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-80gb' },
      training: {
        method: 'qlora',
        precision: 'bf16-pure',
        lora: { rank: 8, alpha: 16, dropout, targetModules: ['q_proj', 'v_proj'] },
      },
      runtime: { fusedKernels: true, attention: 'flash', quantizationKernel: 'bitsandbytes' },
    });
  const total = (dropout: number) => {
    const parts = layerTokenBytes(llama3_8b, qlora(dropout), 0);
    return parts.insideTp + parts.outsideTp;
  };
  it('MatMul4Bit saves every frozen input, so the layer is the full-model set plus 2r per adapter', () => {
    // 12h + 4gd + 6f for the base (as above), plus each adapter's rank-8 bf16 intermediate.
    expect(total(0)).toBe(139264 + 4 * a + 2 * (2 * 8));
  });
  it('dropout adds a dropped bf16 copy and a 1-byte mask of each adapted input: 2 x 3h', () => {
    expect(total(0.05) - total(0)).toBe(2 * 3 * h);
  });
});

describe('parallel blocks normalise one layer input twice (GPT-NeoX use_parallel_residual)', () => {
  const h = 4096;
  const neox = (parallel: boolean) =>
    architectureFromConfig('neox', {
      model_type: 'gpt_neox',
      hidden_size: h,
      intermediate_size: 4 * h,
      num_hidden_layers: 16,
      num_attention_heads: 32,
      vocab_size: 50688,
      use_parallel_residual: parallel,
    });
  const fullBf16 = normalizeRequest({
    model: 'x',
    cluster: { gpu: 'a100-80gb' },
    training: { method: 'full', precision: 'bf16-pure' },
    runtime: { fusedKernels: true, attention: 'flash' },
  });
  const outside = (parallel: boolean) => layerTokenBytes(neox(parallel), fullBf16, 0).outsideTp;
  it('sequential: two norms, each with its own 16-bit input and output (4 x 2h)', () => {
    expect(outside(false)).toBe(4 * 2 * h);
  });
  it('parallel: both norms read x, so its 2h is saved once (3 x 2h)', () => {
    expect(outside(true)).toBe(3 * 2 * h);
  });
  it('HF defaults: GPT-NeoX is parallel unless the config says otherwise', () => {
    const config = {
      model_type: 'gpt_neox',
      hidden_size: h,
      num_hidden_layers: 2,
      num_attention_heads: 32,
      vocab_size: 50688,
    };
    expect(architectureFromConfig('neox', config).parallelResidual).toBe(true);
  });
});
