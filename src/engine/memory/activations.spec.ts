import {
  layerTokenBytes,
  megatronLayerBytesPerToken,
  quantizedLinearInputBytes,
} from './activations';
import { architectureFromConfig } from '../model/architecture';
import { normalizeRequest } from '../request/normalize';
import { loadCatalog } from '../../catalog/catalog';
import { PlanRequest } from '../vocabulary';

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
  const qlora = (dropout: number, adapterDtype: 'fp32' | 'bf16') =>
    normalizeRequest({
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-80gb' },
      training: {
        method: 'qlora',
        precision: 'bf16-pure',
        lora: { rank: 8, alpha: 16, dropout, targetModules: ['q_proj', 'v_proj'] },
      },
      runtime: {
        fusedKernels: true,
        attention: 'flash',
        quantizationKernel: 'bitsandbytes',
        adapterDtype,
      },
    });
  const total = (dropout: number, adapterDtype: 'fp32' | 'bf16' = 'bf16') => {
    const parts = layerTokenBytes(llama3_8b, qlora(dropout, adapterDtype), 0);
    return parts.insideTp + parts.outsideTp;
  };
  it('MatMul4Bit saves every frozen input, so the layer is the full-model set plus 2r per adapter', () => {
    // 12h + 4gd + 6f for the base (as above), plus each adapter's rank-8 bf16 intermediate.
    expect(total(0)).toBe(139264 + 4 * a + 2 * (2 * 8));
  });
  it('dropout adds a dropped bf16 copy and a 1-byte mask of each adapted input: 2 x 3h', () => {
    expect(total(0.05) - total(0)).toBe(2 * 3 * h);
  });
  it('PEFT’s fp32 adapters save their own fp32 cast of the input and an fp32 intermediate', () => {
    expect(total(0, 'fp32')).toBe(139264 + 4 * a + 2 * (4 * h + 4 * 8));
    // With dropout the dropped fp32 copy replaces the cast; only the 1-byte mask is added.
    expect(total(0.05, 'fp32') - total(0, 'fp32')).toBe(2 * h);
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

describe('measured on an H100 (tools/measure): Llama-3.2-1B, Hugging Face code, per token per layer', () => {
  const llama1b = loadCatalog().findModel('llama-3.2-1b')!;
  const h = 2048;
  const f = 8192;
  const a = 32;
  const g = 8;
  const d = 64;
  const hf = (
    training: Record<string, unknown>,
    runtime: Record<string, unknown> = {},
  ): PlanRequest =>
    normalizeRequest({
      model: 'llama-3.2-1b',
      cluster: { gpu: 'h100-80gb' },
      training: { precision: 'bf16-pure', ...training },
      runtime: { preset: 'hf-transformers', ...runtime },
    });
  const perToken = (req: PlanRequest) => {
    const parts = layerTokenBytes(llama1b, req, 0);
    return parts.insideTp + parts.outsideTp;
  };

  it('full bf16: two eager RMSNorms (8h each), q k v at their own heads, the output and its copy, the fp32 LSE, SiLU MLP (8f)', () => {
    // The anatomy of run 10 lists these tensors: 16h + 2(2h + 2gd + 2h + 2h) + 4a + 8f.
    const expected = 2 * 8 * h + 2 * (a * d + 2 * g * d + a * d + a * d) + 4 * a + 8 * f;
    expect(perToken(hf({ method: 'full' }))).toBe(expected);
  });
  it('fp32 SDPA over grouped heads runs the math kernel: the fp32 softmax is saved, K/V expanded', () => {
    const parts = layerTokenBytes(llama1b, hf({ method: 'full', precision: 'fp32' }), 0);
    expect(parts.scoresPerSeqToken).toBe(4 * a); // one fp32 a x s softmax per token
    // q, k, v expanded to a heads, the output and its copy, all fp32; no log-sum-exp.
    const attention = 4 * (a * d + 2 * a * d + a * d + a * d);
    expect(parts.insideTp).toBe(attention + 4 * 4 * f);
  });
  it('LoRA with PEFT’s fp32 adapters: frozen norms keep only their fp32 input, each adapter its own fp32 cast', () => {
    const lora = (targets: string[], dropout = 0) =>
      hf({ method: 'lora', lora: { rank: 8, alpha: 16, dropout, targetModules: targets } });
    // q and v read the same norm output but cast it separately: 2 x 4h, plus 2 x 4r.
    const qv = perToken(lora(['q_proj', 'v_proj']));
    const vOnly = perToken(lora(['v_proj']));
    expect(qv - vOnly).toBe(4 * h + 4 * 8);
    // Dropout keeps the dropped fp32 copy in place of the cast and adds a 1-byte mask.
    expect(perToken(lora(['q_proj', 'v_proj'], 0.1)) - qv).toBe(2 * h);
  });
  it('frozen eager RMSNorm saves no normalized copy: 4h each, and no 16-bit linear input', () => {
    // Adapters only on o_proj (bf16, no cast): the norms keep 2 x 4h, attention q k v out + copy
    // + LSE, the MLP without the frozen down projection's input (7f), o_proj's adapter 2r.
    const req = hf(
      { method: 'lora', lora: { rank: 8, alpha: 16, dropout: 0, targetModules: ['o_proj'] } },
      { adapterDtype: 'bf16' },
    );
    const attention = 2 * (a * d + 2 * g * d + a * d + a * d) + 4 * a;
    expect(perToken(req)).toBe(2 * 4 * h + attention + 2 * 3 * f + 2 * 8);
  });
  it('autocast over fp32 adapters: each adapter saves a 16-bit cast of its input (2h each)', () => {
    const lora = (targets: string[]) =>
      hf({
        method: 'lora',
        precision: 'bf16-mixed',
        lora: { rank: 8, alpha: 16, dropout: 0, targetModules: targets },
      });
    expect(perToken(lora(['q_proj', 'v_proj'])) - perToken(lora(['v_proj']))).toBe(2 * h + 2 * 8);
  });
});

describe('model code that saves more than its formula (H100 anatomy)', () => {
  const gpt2 = loadCatalog().findModel('gpt-2')!;
  const h = 768;
  const f = 3072;
  const req = (precision: 'bf16-pure' | 'bf16-mixed', preset: 'hf-transformers' | 'litgpt') =>
    normalizeRequest({
      model: 'gpt-2',
      cluster: { gpu: 'h100-80gb' },
      training: { method: 'full', precision },
      runtime: { preset, attention: 'flash' },
    });
  it('HF’s Python gelu_new saves tanh, 1 + tanh and 0.5x besides its input: +3e per f', () => {
    const hf = layerTokenBytes(gpt2, req('bf16-pure', 'hf-transformers'), 0);
    const plain = layerTokenBytes(gpt2, req('bf16-pure', 'litgpt'), 0);
    // litgpt's GELU is one kernel; its MHA fused qkv view keeps q and k alive too (+2e x h).
    expect(hf.insideTp - (plain.insideTp - 2 * 2 * h)).toBe(3 * 2 * f);
  });
  it('under autocast the chain runs in fp32: +12 bytes per f over the 16-bit pair', () => {
    const amp = layerTokenBytes(gpt2, req('bf16-mixed', 'hf-transformers'), 0);
    const pure = layerTokenBytes(gpt2, req('bf16-pure', 'hf-transformers'), 0);
    expect(amp.insideTp - pure.insideTp).toBe(12 * f - 3 * 2 * f);
  });
  it('torch LayerNorm is one kernel: input and output per norm, no fp32 copy', () => {
    const parts = layerTokenBytes(gpt2, req('bf16-pure', 'hf-transformers'), 0);
    expect(parts.outsideTp).toBe(2 * (2 * 2 * h));
  });
});

describe('bitsandbytes MatMul4Bit keeps each 4-bit linear’s input as a ctx attribute', () => {
  // Llama-3-8B: h 4096, 32 heads of 128, FFN 14336, 32 layers; pure bf16, 2 x 512 tokens.
  const llama3 = llama3_8b;
  const request = normalizeRequest({
    model: 'llama-3-8b',
    cluster: { gpu: 'a10g' },
    training: { method: 'qlora', precision: 'bf16-pure', microBatchSize: 2, sequenceLength: 512 },
  });
  it('q/k/v input, o_proj input, gate/up input and down input: 2 (3 x 4096 + 14336) per token', () => {
    const perTokenLayer = 2 * (4096 + 32 * 128 + 4096 + 14336);
    expect(quantizedLinearInputBytes(llama3, request, 0, 32, false)).toBe(
      perTokenLayer * 32 * 1024,
    );
  });
  it('a quantised head adds its input, the final norm’s 2 x 4096-byte output per token', () => {
    const withHead = quantizedLinearInputBytes(llama3, request, 0, 32, true);
    expect(withHead - quantizedLinearInputBytes(llama3, request, 0, 32, false)).toBe(
      2 * 4096 * 1024,
    );
  });
});

describe('attention score tensors of eager code', () => {
  const gemma2 = loadCatalog().findModel('gemma-2-9b')!;
  const eager = (runtime: Partial<PlanRequest['runtime']>) =>
    normalizeRequest({
      model: 'gemma-2-9b',
      cluster: { gpu: 'h100-80gb' },
      training: { precision: 'bf16-pure' },
      runtime: { preset: 'hf-transformers', attention: 'eager', ...runtime },
    });
  const a = 16; // Gemma-2-9B's query heads
  it('Gemma-2’s soft-capped scores keep tanh’s output beside the fp32 softmax and its cast: (4 + 2 + 2)a', () => {
    expect(layerTokenBytes(gemma2, eager({}), 0).scoresPerSeqToken).toBe((4 + 2 + 2) * a);
  });
  it('SDPA never materialises the scores, so the cap costs nothing there', () => {
    expect(layerTokenBytes(gemma2, eager({ attention: 'flash' }), 0).scoresPerSeqToken).toBe(0);
  });
  it('PyTorch before 1.11 keeps softmax’s 16-bit input too: 2a more', () => {
    const old = layerTokenBytes(gemma2, eager({ softmaxSavesInput: true }), 0);
    expect(old.scoresPerSeqToken).toBe((4 + 2 + 2 + 2) * a);
  });
  it('BERT-large under AMP before PyTorch 1.11: the fp32 softmax input joins 38h + 7as (11as)', () => {
    const [h, heads, s] = [1024, 16, 512];
    const amp = { residual: 4, matmul: 2, softmax: 4, softmaxInput: 4 };
    expect(megatronLayerBytesPerToken(h, heads, s, 1, false, 'none', amp)).toBe(
      38 * h + 11 * heads * s,
    );
  });
});

describe('HF Phi-3 slices q, k and v out of one qkv_proj output', () => {
  const phi3 = loadCatalog().findModel('phi-3-mini-4k-instruct')!;
  const llamaShaped = { ...phi3, fusedQkv: false, fusedGateUp: false };
  const bf16 = normalizeRequest({
    model: 'phi-3-mini-4k-instruct',
    cluster: { gpu: 'h100-80gb' },
    training: { precision: 'bf16-pure' },
    runtime: { preset: 'hf-transformers' },
  });
  it('the v view SDPA saves keeps the whole output alive: q and k parts, 2 x 2 x 3072 B more', () => {
    const fused = layerTokenBytes(phi3, bf16, 0);
    const split = layerTokenBytes(llamaShaped, bf16, 0);
    expect(fused.insideTp - split.insideTp).toBe(2 * (3072 + 3072));
  });
});
