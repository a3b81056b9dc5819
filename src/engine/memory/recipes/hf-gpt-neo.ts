// One block of Hugging Face's GPT-Neo (transformers models/gpt_neo/modeling_gpt_neo.py
// GPTNeoBlock, GPTNeoSelfAttention, GPTNeoMLP): GPT-2's block with bias-free q_proj, k_proj and
// v_proj and a biased out_proj, and the eager attention GPT_NEO_ATTENTION_CLASSES runs for any
// request but flash_attention_2: query and key cast to fp32, unscaled scores.
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { baseModelBytes, LayerWeights } from '../model/rank-model';
import { geluNewMlp } from './hf-gpt2';
import { linear } from './hf-llama';
import { fp32QkEagerAttention } from './hf-parallel';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

export interface GptNeoDropout {
  /** attention_dropout, on the probabilities. */
  attention: number;
  /** resid_dropout, on out_proj's and c_proj's outputs. */
  residual: number;
}

/** GPTNeoBlock.forward: ln_1, attention, residual; ln_2, MLP, residual. */
function gptNeoBlock(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, p: GptNeoDropout) {
  return nn.rt.scope(() => {
    const normed = nn.layerNorm(x, w.norms.get('ln_1')!, w.norms.get('ln_1.bias'));
    const attended = gptNeoAttention(nn, normed, w, inputs, p);
    nn.rt.drop(normed);
    const mid = nn.ops.add(attended, x); // attn_output + residual
    nn.rt.drop(attended);
    const normed2 = nn.layerNorm(mid, w.norms.get('ln_2')!, w.norms.get('ln_2.bias'));
    // GPTNeoMLP.forward: c_fc, gelu_new, c_proj, dropout.
    const mlp = geluNewMlp(nn, normed2, linear(w, 'up_proj'), linear(w, 'down_proj'), p.residual);
    nn.rt.drop(normed2);
    return nn.ops.add(mid, mlp); // residual + feed_forward_hidden_states
  });
}

/** GPTNeoSelfAttention.forward: q_proj, k_proj, v_proj split into heads (views), _attn,
 * _merge_heads, out_proj, resid_dropout. */
function gptNeoAttention(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  p: GptNeoDropout,
) {
  return nn.rt.scope(() => {
    const projected = ['q_proj', 'k_proj', 'v_proj'].map((name) => nn.linear(x, linear(w, name)));
    const context = fp32QkEagerAttention(nn, projected, inputs, p.attention);
    nn.rt.drop(...projected);
    const out = nn.linear(context, linear(w, 'o_proj'));
    nn.rt.drop(context);
    return nn.dropoutReplacing(out, p.residual);
  });
}

/** GPTNeoBlock's modules in __init__ order: ln_1, attn.attention (its causal buffer, a bool
 * max_positions x max_positions, and masked_bias, a scalar cast with the model; k_proj, v_proj,
 * q_proj, out_proj), ln_2, mlp (c_fc, c_proj). */
function gptNeoWeights(context: WeightContext, layer: number): LayerWeights {
  const { arch, storage } = context;
  const h = arch.hiddenSize;
  const positions = arch.maxPositionEmbeddings;
  return new LayerWeightsBuilder(context, layer)
    .norm('ln_1', h)
    .buffer('attn.attention.bias', positions * positions, 1)
    .buffer('attn.attention.masked_bias', 1, baseModelBytes(storage))
    .linears('k_proj', 'v_proj', 'q_proj', 'o_proj')
    .norm('ln_2', h)
    .linears('up_proj', 'down_proj')
    .build();
}

export function hfGptNeoRecipe(dropout: GptNeoDropout): LayerRecipe {
  return {
    source: 'transformers models/gpt_neo/modeling_gpt_neo.py (GPTNeoBlock)',
    weights: gptNeoWeights,
    forward: (nn, x, weights, inputs) => gptNeoBlock(nn, x, weights, inputs, dropout),
    // GPTNeoForCausalLM.forward: lm_logits.to(torch.float32) for the loss, then
    // lm_logits.to(hidden_states.dtype) returned.
    // GPTNeoModel.forward: position_ids = cache_position.unsqueeze(0), wpe's lookup (1, s, h).
    ends: { finalNorm: 'layer', logitsFp32: 'loss', positionsPerSequence: true },
  };
}
