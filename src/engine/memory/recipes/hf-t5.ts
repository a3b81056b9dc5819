// One block of Hugging Face's T5 (transformers models/t5/modeling_t5.py T5Block: T5LayerSelfAttention,
// T5LayerCrossAttention in the decoder, T5LayerFF), run as an encoder stack then a decoder stack:
// T5LayerNorm (nn.ts t5Norm), attention without scaling whose scores add the stack's position bias (computed once
// per stack in its first layer, with the mask folded in, and held by the stack), softmax of
// scores.float() cast back, dropout; the feed-forward's ReLU or gelu_new gating.
import { matmulNT } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { FP32, INT64 } from '../autograd/ops';
import { Tensor } from '../autograd/runtime';
import { ModelArchitecture } from '../../vocabulary';
import { isEncoderLayer } from '../../model/layers';
import { LayerWeights } from '../model/rank-model';
import { AttentionPlan, AttentionRequest, planByKind } from './attention-kernel';
import { geluNew } from './hf-gpt2';
import { linear } from './hf-llama';
import {
  LayerInputs,
  LayerRecipe,
  LayerWeightsBuilder,
  StackTensors,
  WeightContext,
} from './recipe';

/** UMT5Attention's position bias plus the stack's mask, (b, heads, s, k): a self-attention's
 * compute_bias (the int64 bucket ids of every query and key, which the table's lookup keeps
 * for its gradient where the table trains; the lookup, (1, heads, s, k) in the table's dtype),
 * a cross-attention's zeros in the scores' dtype; the sum in the wider of that and the mask's
 * (the hidden dtype). All are the attention's locals, held until it returns. */
function umt5Bias(
  nn: Nn,
  x: Tensor,
  scores: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  cross: boolean,
) {
  const { ops, rt } = nn;
  const { keys } = inputs;
  const cols = inputs.heads.heads * keys;
  let bias: Tensor;
  if (cross) bias = rt.tensor(keys, cols, scores.elementBytes, false);
  else {
    const table = w.other.find((param) => param.name === 'relative_attention_bias')!;
    const weight = ops.weight(table, table.elements / inputs.heads.heads, inputs.heads.heads);
    ops.scratch(keys * keys * INT64); // _relative_position_bucket's arithmetic
    const ids = rt.tensor(keys, keys, INT64, false);
    bias = rt.tensor(keys, cols, weight.elementBytes, weight.requiresGrad);
    rt.record([weight], [bias], [ids], () => ops.give(weight, () => ops.gradOf(weight)));
    rt.drop(ids, weight);
  }
  return ops.addBroadcast(bias, x.rows, cols, x.elementBytes);
}

/** T5Attention.forward: q, k, v (k and v from the encoder output in cross-attention), scores
 * = q k^T, += the position bias (in place), softmax(scores.float()).type_as(scores), dropout,
 * @ v, unshape, o. T5's bias is the stack's; UMT5's each attention makes (umt5Bias). */
function t5Attention(
  nn: Nn,
  x: Tensor,
  source: Tensor,
  w: LayerWeights,
  prefix: string,
  inputs: LayerInputs,
  p: number,
  ownBias: boolean,
) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const { heads, keys } = inputs;
    const q = nn.linear(x, linear(w, `${prefix}q_proj`));
    const k = nn.linear(source, linear(w, `${prefix}k_proj`));
    const v = nn.linear(source, linear(w, `${prefix}v_proj`));
    let scores = matmulNT(nn, q, k, heads.heads * keys); // += position_bias: in place
    if (ownBias) {
      const bias = umt5Bias(nn, x, scores, w, inputs, prefix !== '');
      const biased = ops.addInPlace(scores, bias);
      rt.drop(scores);
      scores = biased;
    }
    const float = ops.to(scores, FP32);
    const probabilities = ops.softmax(float);
    rt.drop(float);
    const cast = ops.to(probabilities, scores.elementBytes); // .type_as(scores)
    rt.drop(probabilities, scores);
    const dropped = nn.dropout(cast, p);
    rt.drop(cast);
    const context = ops.unary(matmulNT(nn, dropped, v, q.cols)); // unshape
    return nn.linear(context, linear(w, `${prefix}o_proj`));
  });
}

/** A sub-layer: x + dropout(sublayer(norm(x))). */
function residual(
  nn: Nn,
  x: Tensor,
  norm: string,
  w: LayerWeights,
  p: number,
  body: (h: Tensor) => Tensor,
) {
  return nn.rt.scope(() => {
    const normed = nn.t5Norm(x, w.norms.get(norm)!);
    const out = nn.dropout(body(normed), p);
    return nn.ops.add(x, out);
  });
}

/** T5DenseActDense (wi, ReLU, dropout, wo) or T5DenseGatedActDense (gelu_new(wi_0) * wi_1,
 * dropout, wo). */
function t5Ff(nn: Nn, x: Tensor, w: LayerWeights, p: number): Tensor {
  return nn.rt.scope(() => {
    const { ops } = nn;
    const up = nn.linear(x, linear(w, 'up_proj'));
    let hidden: Tensor;
    if (w.linears.has('gate_proj')) {
      const gate = geluNew(nn, nn.linear(x, linear(w, 'gate_proj')));
      hidden = ops.mul(gate, up);
    } else {
      hidden = ops.unarySavingOutput(up); // ReLU keeps its output
    }
    return nn.linear(nn.dropout(hidden, p), linear(w, 'down_proj'));
  });
}

/** T5Block.forward, and at the encoder's end its final_layer_norm and dropout. */
function t5Block(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  p: number,
  ownBias: boolean,
) {
  return nn.rt.scope(() => {
    let h = residual(nn, x, 'self_norm', w, p, (n) =>
      t5Attention(nn, n, n, w, '', inputs, p, ownBias),
    );
    if (inputs.encoderStates) {
      const states = inputs.encoderStates;
      const crossed = residual(nn, h, 'cross_norm', w, p, (n) =>
        t5Attention(nn, n, states, w, 'cross_attn.', inputs, p, ownBias),
      );
      nn.rt.drop(h);
      h = crossed;
    }
    const out = residual(nn, h, 'ff_norm', w, p, (n) => t5Ff(nn, n, w, p));
    const final = w.norms.get('final_layer_norm');
    return final ? nn.dropout(nn.t5Norm(out, final), p) : out;
  });
}

/** T5Block's modules in __init__ order, the first block of a stack holding its relative
 * attention bias (UMT5's every block), the encoder's last its final_layer_norm. */
function t5Weights(context: WeightContext, layer: number): LayerWeights {
  const { arch } = context;
  const h = arch.hiddenSize;
  const encoder = arch.encoder!;
  const builder = new LayerWeightsBuilder(context, layer).linears(
    'q_proj',
    'k_proj',
    'v_proj',
    'o_proj',
  );
  if (layer === 0 || layer === encoder.numLayers || encoder.relativeBiasPerLayer) {
    builder.other(
      'relative_attention_bias',
      encoder.relativeAttentionBuckets * arch.numAttentionHeads,
    );
  }
  builder.norm('self_norm', h, false);
  if (!isEncoderLayer(arch, layer)) {
    builder.linears(
      'cross_attn.q_proj',
      'cross_attn.k_proj',
      'cross_attn.v_proj',
      'cross_attn.o_proj',
    );
    builder.norm('cross_norm', h, false);
  }
  builder.linears('gate_proj', 'up_proj', 'down_proj').norm('ff_norm', h, false);
  if (layer === encoder.numLayers - 1) builder.norm('final_layer_norm', h, false);
  return builder.build();
}

/** T5Stack.forward: the first block computes the position bias (a (b, heads, s, s) tensor with
 * the mask folded in) that the whole stack reads; the decoder's first block also makes the
 * cross-attention's zero bias. UMT5Stack holds the masks alone: the encoder's (b, 1, 1, s),
 * the decoder's causal (b, 1, s, s) (_update_causal_mask's clone) and its inverted (b, 1, 1, s)
 * cross-attention mask, in the hidden dtype. */
function t5Stacks(arch: ModelArchitecture): StackTensors {
  return {
    decoderStart: arch.encoder!.numLayers,
    build(nn, tokens, keys, bytes, decoder) {
      if (arch.encoder!.relativeBiasPerLayer) {
        const padding = nn.rt.tensor(tokens / keys, keys, bytes, false);
        return decoder ? [nn.rt.tensor(tokens, keys, bytes, false), padding] : [padding];
      }
      const heads = arch.numAttentionHeads;
      const biases = [nn.rt.tensor(tokens, heads * keys, bytes, false)];
      if (decoder) biases.push(nn.rt.tensor(tokens, heads * keys, bytes, false));
      return biases;
    },
  };
}

/** T5Attention has no SDPA path: its own code runs whatever is asked. */
function t5AttentionPlan(request: AttentionRequest): AttentionPlan {
  const notes = new Set<string>();
  if (request.asked !== 'eager')
    notes.add(
      "T5's attention adds a relative position bias and has no SDPA path: its own code keeps every score matrix",
    );
  return planByKind(request.arch, () => ({ kernel: 'eager' }), notes);
}

export function hfT5Recipe(arch: ModelArchitecture): LayerRecipe {
  const p = arch.dropout?.residual ?? 0;
  const ownBias = arch.encoder?.relativeBiasPerLayer === true;
  return {
    source: ownBias
      ? 'transformers models/umt5/modeling_umt5.py (UMT5Block, UMT5Stack)'
      : 'transformers models/t5/modeling_t5.py (T5Block, T5Stack)',
    weights: t5Weights,
    forward: (nn, x, weights, inputs) => t5Block(nn, x, weights, inputs, p, ownBias),
    attention: t5AttentionPlan,
    stacks: t5Stacks(arch),
    // T5ForConditionalGeneration: final_layer_norm, dropout, and with a tied head the output
    // scaled by model_dim ** -0.5 before lm_head.
    ends: {
      noRotary: true, // T5Attention's positions are its relative bias
      finalNorm: 't5',
      finalDropout: p,
      headInputScale: arch.tieWordEmbeddings,
      lossInLogitsDtype: true, // T5ForConditionalGeneration: CrossEntropyLoss(ignore_index=-100)
      // T5Stack keeps each stack's inputs_embeds until that stack returns: not yet planned.
      embeddingLocal: 'none',
    },
  };
}
