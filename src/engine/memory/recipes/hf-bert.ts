// One encoder layer of Hugging Face's BERT (transformers models/bert/modeling_bert.py BertLayer:
// BertAttention = BertSelfAttention + BertSelfOutput, BertIntermediate, BertOutput): post-LN
// blocks with biases everywhere, dropout on the attention probabilities and before each
// residual add, GELU (the fused kernel, ACT2FN['gelu'] = GELUActivation).
import { matmulNT } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { Param, Tensor } from '../autograd/runtime';
import { LayerWeights } from '../model/rank-model';
import { attend } from './attention-kernel';
import { linear } from './hf-llama';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

export interface BertDropout {
  /** attention_probs_dropout_prob */
  attention: number;
  /** hidden_dropout_prob */
  hidden: number;
  /** Dropout on the attention output before its add, where it differs from `hidden`
   * (DistilBERT's TransformerBlock has none there). */
  attentionOutput?: number;
}

/** A layer's self-attention: its context, before the output dense. */
export type SelfAttention = (nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs) => Tensor;

/** The norm over a residual sum: nn.LayerNorm (BERT, DeBERTa-v2), or DeBERTa-v1's
 * DebertaLayerNorm (Nn.tfLayerNorm). */
export type ResidualNorm = (nn: Nn, sum: Tensor, weight: Param, bias?: Param) => Tensor;

const LAYER_NORM: ResidualNorm = (nn, sum, weight, bias) => nn.layerNorm(sum, weight, bias);

/** BertLayer.forward: attention (self-attention, dense, dropout, LayerNorm(h + input)), then
 * the feed-forward chunk (intermediate dense and GELU, output dense, dropout, LayerNorm). */
export function bertLayer(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  p: BertDropout,
  attention: SelfAttention = (n, h, weights, i) => selfAttention(n, h, weights, i, p.attention),
  norm: ResidualNorm = LAYER_NORM,
) {
  return nn.rt.scope(() => {
    const context = attention(nn, x, w, inputs);
    const projected = nn.linear(context, linear(w, 'o_proj'));
    const attentionDropout = p.attentionOutput ?? p.hidden;
    const attended = addAndNorm(nn, [projected, x], w, 'attention', attentionDropout, norm);
    nn.rt.drop(context);
    const up = nn.linear(attended, linear(w, 'up_proj'));
    const activated = nn.ops.unarySavingInput(up); // GELUActivation: F.gelu saves its input
    nn.rt.drop(up);
    const down = nn.linear(activated, linear(w, 'down_proj'));
    nn.rt.drop(activated);
    return addAndNorm(nn, [down, attended], w, 'output', p.hidden, norm);
  });
}

/** BertSelfOutput / BertOutput: dropout(dense output), then LayerNorm(that + residual). */
function addAndNorm(
  nn: Nn,
  [dense, residual]: [Tensor, Tensor],
  w: LayerWeights,
  module: 'attention' | 'output',
  p: number,
  norm: ResidualNorm,
): Tensor {
  return nn.rt.scope(() => {
    const dropped = nn.dropout(dense, p);
    nn.rt.drop(dense);
    const sum = nn.ops.add(dropped, residual);
    nn.rt.drop(dropped);
    const name = `${module}.LayerNorm`;
    return norm(nn, sum, w.norms.get(name)!, w.norms.get(`${name}.bias`));
  });
}

/** BertSelfAttention.forward: query, key and value linears viewed as heads, then the
 * attention function the model is configured with. */
function selfAttention(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, p: number) {
  return nn.rt.scope(() => {
    const qkv = ['q_proj', 'k_proj', 'v_proj'].map((name) => nn.linear(x, linear(w, name)));
    const [q, k, v] = qkv as [Tensor, Tensor, Tensor];
    if (inputs.attention !== 'eager') return attend(nn, [q, k, v], inputs);
    return bertEagerAttention(nn, [q, k, v], inputs, p);
  });
}

/** modeling_bert.py eager_attention_forward: q @ k^T * scaling, + the extended mask (the
 * model's dtype, so fp32 under autocast and the sum with it), softmax in its input dtype (fp32
 * under autocast: softmax is on autocast's fp32 list), dropout, @ v, transposed contiguous. */
function bertEagerAttention(nn: Nn, qkv: [Tensor, Tensor, Tensor], inputs: LayerInputs, p: number) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const [q, k, v] = qkv.map((t) => nn.matmulInput(t));
    const scores = matmulNT(nn, q, k, inputs.heads.heads * inputs.keys);
    let logits = ops.unary(scores); // * scaling
    rt.drop(scores);
    if (inputs.mask) {
      const masked = ops.add(logits, inputs.mask);
      rt.drop(logits);
      logits = masked;
    }
    const input = nn.fp32Input(logits);
    const probabilities = ops.softmax(input);
    rt.drop(logits, input);
    const dropped = nn.dropout(probabilities, p);
    rt.drop(probabilities);
    const weights = nn.matmulInput(dropped);
    const context = matmulNT(nn, weights, v, q.cols);
    rt.drop(dropped, weights);
    return ops.unary(context); // transpose(1, 2).contiguous()
  });
}

/** BertLayer's modules in __init__ order: attention.self (query, key, value),
 * attention.output (dense, LayerNorm), intermediate.dense, output (dense, LayerNorm). */
function bertWeights(context: WeightContext, layer: number): LayerWeights {
  const h = context.arch.hiddenSize;
  return new LayerWeightsBuilder(context, layer)
    .linears('q_proj', 'k_proj', 'v_proj', 'o_proj')
    .norm('attention.LayerNorm', h)
    .linears('up_proj', 'down_proj')
    .norm('output.LayerNorm', h)
    .build();
}

export function hfBertRecipe(dropout: BertDropout): LayerRecipe {
  return {
    source: 'transformers models/bert/modeling_bert.py (BertLayer)',
    weights: bertWeights,
    forward: (nn, x, weights, inputs) => bertLayer(nn, x, weights, inputs, dropout),
    ends: { embeddingLocal: 'output' }, // BertModel.forward: embedding_output = self.embeddings(...)
  };
}
