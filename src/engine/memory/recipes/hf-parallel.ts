// Hugging Face's LayerNorm decoders with a fused or parallel block: Falcon (models/falcon/
// modeling_falcon.py FalconDecoderLayer), GPT-NeoX (models/gpt_neox/modeling_gpt_neox.py
// GPTNeoXLayer), Phi-1/Phi-2 (models/phi/modeling_phi.py PhiDecoderLayer), StableLM
// (models/stablelm/modeling_stablelm.py StableLmDecoderLayer) and Cohere (models/cohere/
// modeling_cohere.py CohereDecoderLayer; Cohere2's, models/cohere2/modeling_cohere2.py, rotates
// q and k on its sliding-window layers only) and GPT-J (models/gptj/modeling_gptj.py GPTJBlock,
// whose eager attention computes the scores in fp32). Partial rotary is planned over the whole head and
// concatenated back (the architecture does not carry the rotary fraction; only transients differ).
import { matmulNT, repeatKv, rotary } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { FP32 } from '../autograd/ops';
import { Tensor } from '../autograd/runtime';
import { ModelArchitecture } from '../../vocabulary';
import { LayerWeights } from '../model/rank-model';
import {
  attend,
  AttentionPlan,
  AttentionRequest,
  hfAttentionPlan,
  planByKind,
} from './attention-kernel';
import { eagerScores, geluNew } from './hf-gpt2';
import { layerKind } from '../../model/layers';
import { linear } from './hf-llama';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

export type ParallelFamily =
  'falcon' | 'gpt_neox' | 'phi' | 'stablelm' | 'cohere' | 'gptj' | 'codegen';

interface ParallelBlock {
  family: ParallelFamily;
  /** Attention and MLP read the layer input side by side. */
  parallel: boolean;
  /** One norm feeds both (Phi, Falcon-7B, Cohere); else two. */
  sharedNorm: boolean;
  /** Dropout before each residual add (Phi's resid_pdrop, NeoX's hidden_dropout). */
  dropout: number;
  /** Falcon's first decoder: one shared K/V head SDPA gets as is (multi_query). */
  multiQuery: boolean;
  /** Whether layer `index` applies RoPE (Cohere2Attention: only where sliding_window is set). */
  rotates: (index: number) => boolean;
  /** The MLP's activation is NewGELUActivation written out (Phi's, GPT-J's gelu_new). */
  geluNew: boolean;
  /** attn_pdrop on the eager attention's probabilities (GPT-J's attn_dropout). */
  attentionDropout: number;
  /** GPT-J's and CodeGen's apply_rotary_pos_emb repeat-interleaves sin and cos for each of q
   * and k, fp32 tables of this fraction of the head (rotary_dim), which the products keep. */
  rotaryTablesPerCall?: number;
}

/** GPT-J and CodeGen: the eager attention with fp32 scores, the logits cast to fp32. */
const eagerFp32 = (family: ParallelFamily) => family === 'gptj' || family === 'codegen';

function blockOf(arch: ModelArchitecture, family: ParallelFamily): ParallelBlock {
  const sharedNorm = arch.normsPerLayer === 1;
  return {
    family,
    // Falcon is parallel unless parallel_attn is off; Cohere always.
    parallel: arch.parallelResidual ?? (family === 'falcon' || family === 'cohere'),
    sharedNorm,
    dropout: arch.dropout?.residual ?? 0,
    multiQuery: family === 'falcon' && sharedNorm && arch.numKeyValueHeads === 1,
    rotates: (index) => layerKind(arch, index).rope,
    geluNew: family === 'phi' || (eagerFp32(family) && arch.activation === 'gelu_new'),
    attentionDropout: arch.dropout?.attention ?? 0,
    rotaryTablesPerCall: eagerFp32(family) ? (arch.partialRotaryFactor ?? 1) : undefined,
  };
}

/** nn.LayerNorm (one fused kernel), or CohereLayerNorm written out in fp32: mean, the centred
 * input twice (for the variance and for the output), rsqrt, weight.float() times it, cast back. */
function norm(nn: Nn, x: Tensor, w: LayerWeights, name: string, b: ParallelBlock): Tensor {
  const weight = w.norms.get(name)!;
  if (b.family !== 'cohere') return nn.layerNorm(x, weight, w.norms.get(`${name}.bias`));
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const x32 = ops.to(x, FP32);
    const centred = ops.unary(x32); // hidden_states - mean
    const square = ops.square(centred);
    rt.drop(centred);
    const variance = ops.meanLastDim(square);
    rt.drop(square);
    const shifted = ops.unary(variance); // variance + eps
    const inverse = ops.unarySavingOutput(shifted); // torch.rsqrt
    rt.drop(variance, shifted);
    const centredAgain = ops.unary(x32); // hidden_states - mean, computed again
    const normed = ops.mul(centredAgain, inverse);
    rt.drop(centredAgain, x32);
    const weight32 = ops.to(ops.weight(weight, 1, x.cols), FP32);
    const scaled = ops.mul(weight32, normed);
    rt.drop(normed);
    return ops.to(scaled, x.elementBytes);
  });
}

/** The decoder layer: norm(s), attention, MLP, and the residual sums each family writes. */
function parallelLayer(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, b: ParallelBlock) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const first = b.family === 'falcon' && !b.sharedNorm ? 'ln_attn' : 'input_layernorm';
    const normed = norm(nn, x, w, first, b);
    const attended = nn.dropout(attention(nn, normed, w, inputs, b), b.dropout);
    if (!b.parallel) {
      const mid = ops.add(attended, x);
      rt.drop(attended, normed);
      const mlpOut = nn.dropout(
        mlp(nn, norm(nn, mid, w, 'post_attention_layernorm', b), w, b),
        b.dropout,
      );
      return ops.add(mlpOut, mid);
    }
    const second = b.family === 'falcon' ? 'ln_mlp' : 'post_attention_layernorm';
    const mlpInput = b.sharedNorm ? normed : norm(nn, x, w, second, b);
    const mlpOut = nn.dropout(mlp(nn, mlpInput, w, b), b.dropout);
    rt.drop(normed, mlpInput);
    const sum = ops.add(mlpOut, attended); // Falcon: mlp_output += attention_output (in place)
    rt.drop(mlpOut, attended);
    return ops.add(sum, x);
  });
}

/** q, k, v: views of GPT-NeoX's interleaved query_key_value output (v keeps all of it); copies
 * out of Falcon's (new decoder: flatten(2, 3) copies q out of the group layout and the
 * broadcast K/V to every query head; multi-query: one K/V head); Phi, StableLM and Cohere's
 * three projections. Then RoPE on q and k (torch.cat with the unrotated part), the kernel,
 * dense / o_proj. */
function attention(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, b: ParallelBlock) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    let [q, k, v] = projections(nn, x, w, inputs, b);
    if (w.norms.has('q_norm')) {
      // Cohere's use_qk_norm: CohereLayerNorm over each head with a weight per head.
      const [qn, kn] = [norm(nn, q, w, 'q_norm', b), norm(nn, k, w, 'k_norm', b)];
      rt.drop(q, k);
      [q, k] = [qn, kn];
    }
    let layerInputs = inputs;
    if (b.family === 'falcon' && !b.multiQuery) {
      [q, k, v] = [ops.unary(q), repeatKv(nn, k, inputs.heads), repeatKv(nn, v, inputs.heads)];
      layerInputs = { ...inputs, heads: { ...inputs.heads, kvHeads: inputs.heads.heads } };
    }
    let [qr, kr] = [q, k];
    if (b.rotates(w.index)) {
      [qr, kr] = [q, k].map((t) => ops.cat([rotated(nn, t, inputs, b)]));
      rt.drop(q, k);
    }
    const context =
      eagerFp32(b.family) && inputs.attention === 'eager'
        ? fp32QkEagerAttention(nn, [qr, kr, v], inputs, b.attentionDropout, maskSteps(b))
        : attend(nn, [qr, kr, v], layerInputs);
    return nn.linear(context, linear(w, 'o_proj'));
  });
}

/** RoPE on q or k: the shared tables, or GPT-J's and CodeGen's own per call
 * (torch.repeat_interleave(sin[:, :, None, :], 2, 3) and cos's, from the fp32 embed_positions
 * their attention keeps outside the module's buffers), kept by the products. */
function rotated(nn: Nn, t: Tensor, inputs: LayerInputs, b: ParallelBlock): Tensor {
  if (b.rotaryTablesPerCall === undefined) return rotary(nn, t, inputs.cos, inputs.sin);
  return nn.rt.scope(() => {
    const width = Math.round(inputs.heads.headDim * b.rotaryTablesPerCall!);
    const [sin, cos] = [0, 1].map(() => nn.rt.tensor(inputs.cos.rows, width, FP32, false));
    return rotary(nn, t, cos, sin);
  });
}

/** GPTJAttention._attn and GPTNeoSelfAttention._attn: query.to(torch.float32) and
 * key.to(torch.float32), the copies the scores' matmul keeps (autocast casts them back to 16
 * bits for it, and those casts are kept instead), then the scores as eagerScores runs them (two
 * full-size steps: GPT-J's / scale_attn and GPT-Neo's torch.where with its causal buffer, then
 * the additive mask; the fp32 softmax kept beside its cast to value.dtype). In GPT-J's code the
 * rotary's fp32 sin and cos have already made q and k fp32 (the plan rotates in their dtype and
 * casts here: the same kept bytes); the sin and cos each rotation repeat_interleaves are kept
 * (rotated). */
export function fp32QkEagerAttention(
  nn: Nn,
  qkv: Tensor[],
  inputs: LayerInputs,
  p: number,
  scoreSteps: 1 | 2 = 2,
): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const [q, k, v] = qkv;
    const [q32, k32] = [q, k].map((t) => ops.to(t, FP32));
    const [qm, km] = [q32, k32].map((t) => nn.matmulInput(t));
    const scores = matmulNT(nn, qm, km, inputs.heads.heads * inputs.keys);
    rt.drop(q32, k32, qm, km);
    return eagerScores(nn, scores, v, q.cols, p, scoreSteps);
  });
}

/** CodeGenAttention._attn adds the mask in place (attn_weights += causal_mask), then divides
 * by scale_attn: one full-size step between the scores and the softmax, where GPT-J has two. */
function maskSteps(b: ParallelBlock): 1 | 2 {
  return b.family === 'codegen' ? 1 : 2;
}

function projections(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  b: ParallelBlock,
): Tensor[] {
  const { heads } = inputs;
  const kvCols = heads.kvHeads * heads.headDim;
  if (b.family === 'codegen') {
    // qkv_proj's output split into query, value and key (views), each through _split_heads,
    // whose second reshape merges the four shards' non-adjacent strides: a copy each, whose
    // backward hands the gradient back as a view.
    const qkv = nn.linear(x, linear(w, 'qkv_proj'));
    const parts = nn.ops.split(qkv, 3);
    const copies = parts.map((part) => nn.ops.cat([part]));
    nn.rt.drop(qkv, ...parts);
    return copies;
  }
  if (b.family === 'falcon' || b.family === 'gpt_neox') {
    const qkv = nn.linear(x, linear(w, 'query_key_value'));
    const parts = [heads.heads * heads.headDim, kvCols, kvCols].map((cols) =>
      nn.ops.slice(qkv, cols),
    );
    nn.rt.drop(qkv);
    return parts;
  }
  return ['q_proj', 'k_proj', 'v_proj'].map((name) => nn.linear(x, linear(w, name)));
}

/** FalconMLP and GPTNeoXMLP (dense_h_to_4h, nn.GELU's fused kernel, dense_4h_to_h), PhiMLP
 * (fc1, gelu_new written out, fc2), StableLM's and Cohere's gated SiLU MLP. */
function mlp(nn: Nn, x: Tensor, w: LayerWeights, b: ParallelBlock): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    if (w.linears.has('gate_proj')) {
      const gate = nn.linear(x, linear(w, 'gate_proj'));
      const activated = ops.unarySavingInput(gate);
      rt.drop(gate);
      const up = nn.linear(x, linear(w, 'up_proj'));
      const product = ops.mul(activated, up);
      rt.drop(activated, up);
      return nn.linear(product, linear(w, 'down_proj'));
    }
    const up = nn.linear(x, linear(w, 'up_proj'));
    const activated = b.geluNew ? geluNew(nn, up) : ops.unarySavingInput(up);
    rt.drop(up);
    return nn.linear(activated, linear(w, 'down_proj'));
  });
}

/** Each family's modules in __init__ order. */
function parallelWeights(family: ParallelFamily) {
  return (context: WeightContext, layer: number): LayerWeights => {
    const { arch } = context;
    const h = arch.hiddenSize;
    const builder = new LayerWeightsBuilder(context, layer);
    const fused = family === 'falcon' || family === 'gpt_neox';
    const falconTwoNorms = family === 'falcon' && arch.normsPerLayer === 2;
    if (family !== 'falcon' || !falconTwoNorms) builder.norm('input_layernorm', h);
    if (falconTwoNorms) builder.norm('ln_attn', h).norm('ln_mlp', h);
    if (fused) builder.module('query_key_value', ['q_proj', 'k_proj', 'v_proj', 'qkv_proj']);
    else if (family === 'codegen') builder.module('qkv_proj', ['q_proj', 'k_proj', 'v_proj']);
    else builder.linears('q_proj', 'k_proj', 'v_proj');
    if (arch.qkNormPerHead) {
      builder.norm('q_norm', arch.numAttentionHeads * arch.headDim, false);
      builder.norm('k_norm', arch.numKeyValueHeads * arch.headDim, false);
    }
    builder.linears('o_proj', 'gate_proj', 'up_proj', 'down_proj');
    if (arch.normsPerLayer === 2 && !falconTwoNorms) builder.norm('post_attention_layernorm', h);
    return builder.build();
  };
}

/** Falcon's first decoder (falcon-7b) gives SDPA one K/V head against every query head without
 * enable_gqa: neither fused kernel takes that, so the math kernel runs and keeps the scores. */
function falconAttention(request: AttentionRequest): AttentionPlan {
  const { arch } = request;
  const multiQuery = arch.normsPerLayer === 1 && arch.numKeyValueHeads === 1;
  if (!multiQuery || request.asked === 'eager') return hfAttentionPlan(request);
  const note =
    "Falcon's multi-query attention hands SDPA one key/value head for every query head without enable_gqa: no fused kernel takes that, so SDPA's math kernel runs and keeps every score matrix";
  return planByKind(arch, () => ({ kernel: 'math' }), new Set([note]));
}

export function hfParallelRecipe(arch: ModelArchitecture, family: ParallelFamily): LayerRecipe {
  const b = blockOf(arch, family);
  const type = arch.modelType === 'cohere2' ? 'cohere2' : family;
  return {
    source: `transformers models/${type}/modeling_${type}.py`,
    weights: parallelWeights(family),
    forward: (nn, x, weights, inputs) => parallelLayer(nn, x, weights, inputs, b),
    attention: family === 'falcon' ? falconAttention : undefined,
    ends: {
      finalNorm: 'layer',
      // CohereForCausalLM.forward: logits = logits * self.logit_scale.
      scaledLogits: family === 'cohere',
      // GPTJForCausalLM.forward (CodeGen's alike): lm_logits = self.lm_head(hidden_states)
      // .to(torch.float32)
      logitsFp32: eagerFp32(family) ? 'returned' : undefined,
    },
  };
}
