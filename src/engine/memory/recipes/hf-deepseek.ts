// One decoder layer of Hugging Face's DeepSeek-V3 (transformers models/deepseek_v3/
// modeling_deepseek_v3.py DeepseekV3DecoderLayer, DeepseekV3Attention): multi-latent attention
// (q through a low-rank q_a_proj, its RMSNorm and q_b_proj; keys and values decompressed from
// kv_a_proj_with_mqa's latent by kv_b_proj; RoPE on a rope-dims slice, concatenated back), the
// first layers dense, the others MoE with shared experts (router planned as Mixtral's).
import { flashAttention, rotary } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { MlaConfig, ModelArchitecture } from '../../vocabulary';
import { isMoeLayer } from '../../model/layers';
import { LayerWeights } from '../model/rank-model';
import { attend, AttentionPlan, AttentionRequest, planByKind } from './attention-kernel';
import { feedForwardHalf, linear } from './hf-llama';
import { addMoeWeights } from './hf-moe';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

/** DeepseekV3DecoderLayer.forward: RMSNorm, MLA, residual; RMSNorm, MLP or MoE, residual. */
function deepseekLayer(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, mla: MlaConfig) {
  return nn.rt.scope(() => {
    const { rt } = nn;
    const normed = nn.rmsNorm(x, w.norms.get('input_layernorm')!);
    const attended = latentAttention(nn, normed, w, inputs, mla);
    rt.drop(normed);
    return feedForwardHalf(nn, x, attended, w, inputs);
  });
}

/** DeepseekV3Attention.forward: q_b_proj(q_a_layernorm(q_a_proj(x))) split into q_pass and
 * q_rot (views); kv_a_proj_with_mqa split into the latent and k_rot; kv_b_proj(
 * kv_a_layernorm(latent)) split into k_pass and the values (views of it); RoPE on q_rot and the
 * one-head k_rot, which is expanded; torch.cat builds q and k; SDPA; o_proj. */
function latentAttention(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, mla: MlaConfig) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const heads = inputs.heads.heads;
    const q = queries(nn, x, w);
    const qPass = ops.slice(q, heads * mla.qkNopeHeadDim);
    const qRot = ops.slice(q, heads * mla.qkRopeHeadDim);
    const compressed = nn.linear(x, linear(w, 'kv_a_proj_with_mqa'));
    const latent = ops.slice(compressed, mla.kvLoraRank);
    const kRot = ops.slice(compressed, mla.qkRopeHeadDim);
    const latentNormed = nn.rmsNorm(latent, w.norms.get('kv_a_layernorm')!);
    const kv = nn.linear(latentNormed, linear(w, 'kv_b_proj'));
    rt.drop(latentNormed);
    const kPass = ops.slice(kv, heads * mla.qkNopeHeadDim);
    const values = ops.slice(kv, heads * mla.vHeadDim);
    const qRoped = rotary(nn, qRot, inputs.cos, inputs.sin);
    const kRoped = rotary(nn, kRot, inputs.cos, inputs.sin);
    const query = ops.cat([qPass, qRoped]);
    const key = ops.cat([kPass, ops.alias(kRoped, heads * mla.qkRopeHeadDim)]); // expand
    rt.drop(q, compressed, kv, qRot, kRot, qRoped, kRoped, qPass, kPass);
    const context =
      inputs.attention === 'flash'
        ? flashAttention(nn, query, key, values, inputs.heads, heads * mla.vHeadDim)
        : attend(nn, [query, key, values], inputs);
    return nn.linear(context, linear(w, 'o_proj'));
  });
}

/** q_b_proj(q_a_layernorm(q_a_proj(x))), or q_proj(x) where q_lora_rank is absent. */
function queries(nn: Nn, x: Tensor, w: LayerWeights): Tensor {
  if (!w.linears.has('q_a_proj')) return nn.linear(x, linear(w, 'q_proj'));
  return nn.rt.scope(() => {
    const down = nn.linear(x, linear(w, 'q_a_proj'));
    const normed = nn.rmsNorm(down, w.norms.get('q_a_layernorm')!);
    nn.rt.drop(down);
    return nn.linear(normed, linear(w, 'q_b_proj'));
  });
}

/** DeepseekV3DecoderLayer's modules in __init__ order. */
function deepseekWeights(mla: MlaConfig) {
  return (context: WeightContext, layer: number): LayerWeights => {
    const { arch } = context;
    const builder = new LayerWeightsBuilder(context, layer).linears('q_a_proj', 'q_proj');
    if (mla.qLoraRank > 0) builder.norm('q_a_layernorm', mla.qLoraRank, false);
    builder.linears('q_b_proj', 'kv_a_proj_with_mqa');
    builder.norm('kv_a_layernorm', mla.kvLoraRank, false).linears('kv_b_proj', 'o_proj', 'eh_proj');
    if (arch.moe && isMoeLayer(arch, layer)) addMoeWeights(builder, context, arch.moe);
    else builder.linears('gate_proj', 'up_proj', 'down_proj');
    builder
      .norm('input_layernorm', arch.hiddenSize)
      .norm('post_attention_layernorm', arch.hiddenSize);
    if (layer >= arch.numLayers)
      builder.norm('enorm', arch.hiddenSize).norm('hnorm', arch.hiddenSize);
    return builder.build();
  };
}

/** SDPA with q/k head dims (nope + rope) wider than the values': flash attention takes equal
 * head dims only, so the memory-efficient kernel runs (it keeps no scores either). */
function mlaAttention(request: AttentionRequest): AttentionPlan {
  const notes = new Set<string>();
  if (request.asked === 'eager')
    return planByKind(
      request.arch,
      () => ({ kernel: 'eager', mask: { key: 'full', additive: true } }),
      notes,
    );
  notes.add(
    "DeepSeek's multi-latent attention has query/key heads wider than its value heads: SDPA runs the memory-efficient kernel (flash takes equal head dims), which keeps no scores either",
  );
  return planByKind(request.arch, () => ({ kernel: 'flash' }), notes);
}

export function hfDeepseekRecipe(arch: ModelArchitecture): LayerRecipe {
  const mla = arch.mla!;
  return {
    source: 'transformers models/deepseek_v3/modeling_deepseek_v3.py (DeepseekV3DecoderLayer)',
    weights: deepseekWeights(mla),
    forward: (nn, x, weights, inputs) => deepseekLayer(nn, x, weights, inputs, mla),
    attention: mlaAttention,
  };
}
