// One encoder layer of DeBERTa-v1 (transformers models/deberta/modeling_deberta.py DebertaLayer):
// BertLayer's post-LN blocks (hf-bert.ts) with DebertaLayerNorm (Nn.tfLayerNorm) around
// DisentangledSelfAttention, the eager attention DeBERTa always runs. Unlike DeBERTa-v2's
// (hf-deberta.ts), q, k and v are views of one bias-free in_proj output, per head but not made
// contiguous, with q_bias and v_bias added; the query is scaled; and torch.matmul's 4-D operands
// reach bmm through reshape, which copies each per-head view and each position tensor expanded
// over the batch unless the batch is one sequence (ATen LinearAlgebra.cpp _matmul_impl).
import { DisentangledAttentionConfig, ModelArchitecture } from '../../vocabulary';
import { matmulNT } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { LayerWeights } from '../model/rank-model';
import { BertDropout, bertLayer, ResidualNorm } from './hf-bert';
import { clampedPositions, debertaAttentionPlan, maskedProbabilities } from './hf-deberta';
import { linear } from './hf-llama';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

/** How the layer's batched matmuls reach bmm for this batch. */
interface BatchShape {
  /** Sequences in the micro-batch (b). */
  sequences: number;
  /** A per-head view (b, heads, s, d) merges b with the heads into bmm's batch as a view: one
   * sequence, or one head; otherwise reshape copies it. */
  merges: boolean;
}

/** How an operand of torch.matmul is laid out: a per-head view (b, heads, s, d) of a (b, s, h)
 * tensor; the table's projected positions (1, heads, 2 x span, d), expanded over the batch; or
 * a contiguous (b, heads, s, s) tensor. */
type Operand = 'per-head' | 'positions' | 'contiguous';

/** An operand reshaped to bmm's (b x heads, rows, cols): a view where it merges (contiguous
 * scores; a per-head view of one sequence or one head; positions for one sequence), else a copy
 * (CloneBackward0 keeps nothing), the positions' one per sequence (its backward sums them). */
function reshapedForBmm(nn: Nn, x: Tensor, layout: Operand, batch: BatchShape): Tensor {
  if (layout === 'contiguous' || (layout === 'per-head' && batch.merges)) return nn.ops.alias(x);
  if (layout === 'per-head') return nn.ops.unary(x);
  return batch.sequences === 1 ? nn.ops.alias(x) : nn.ops.repeatRows(x, batch.sequences);
}

/** torch.matmul(a, b^T) of 4-D tensors: autocast casts both arguments to 16 bits first (a new
 * tensor for an fp32 one), then _matmul_impl reshapes each for bmm, which keeps what it
 * receives; the casts and the reshaped handles die as matmul returns. */
function batchedMatmul(
  nn: Nn,
  inputs: [Tensor, Tensor],
  layouts: [Operand, Operand],
  batch: BatchShape,
  cols: number,
): Tensor {
  const casts = inputs.map((x) => nn.matmulInput(x));
  const [a, b] = casts.map((x, i) => reshapedForBmm(nn, x, layouts[i], batch));
  const out = matmulNT(nn, a, b, cols);
  nn.rt.drop(a, b, ...casts.filter((cast, i) => cast !== inputs[i]));
  return out;
}

const PER_HEAD_BY_POSITIONS: [Operand, Operand] = ['per-head', 'positions'];

/** DisentangledSelfAttention.disentangled_att_bias: the table's rows the sequence reaches
 * (att_span = min(s, max_relative_positions) each side, a view), through pos_proj for
 * content-to-position scores (query x positions) and pos_q_proj for position-to-content ones
 * (key x positions; `pos_query_layer /= scale` is in place), each gathered at every query's
 * (key's) own distance; gather keeps its whole input and its index. `score = 0; score +=
 * c2p_att` makes a new tensor, the second `+=` adds in place; both gathered tensors stay locals
 * until the function returns. */
function relativeScores(
  nn: Nn,
  [query, key]: [Tensor, Tensor],
  table: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  config: DisentangledAttentionConfig,
  batch: BatchShape,
): Tensor | undefined {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const { heads, keys, relative } = inputs;
    const span = Math.min(keys, config.span);
    const rows = ops.sliceRows(table, 2 * span); // rel_embeddings[max - att_span : max + att_span]
    const distances = heads.heads * 2 * span;
    let score: Tensor | undefined;
    if (config.contentToPosition) {
      const positions = nn.linear(rows, linear(w, 'pos_key_proj')); // pos_key_layer
      const all = batchedMatmul(nn, [query, positions], PER_HEAD_BY_POSITIONS, batch, distances);
      const index = clampedPositions(nn, relative!.positions, 2); // relative_pos + att_span, clamp
      const picked = ops.gather(all, index, heads.heads * keys);
      rt.drop(all); // c2p_att rebinds to the gathered scores
      score = ops.unary(picked); // 0 + c2p_att
    }
    if (config.positionToContent) {
      const positions = nn.linear(rows, linear(w, 'pos_query_proj')); // pos_query_layer
      const index = clampedPositions(nn, relative!.positions, 3); // -r_pos, + att_span, clamp
      const all = batchedMatmul(nn, [key, positions], PER_HEAD_BY_POSITIONS, batch, distances);
      const picked = ops.gather(all, index, heads.heads * keys); // .transpose(-1, -2): a view
      rt.drop(all);
      score = score ? ops.addInPlace(score, picked) : ops.unary(picked);
    }
    return score;
  });
}

/** DisentangledSelfAttention.forward: in_proj's output chunked into q, k and v (views); q + q_bias
 * and v + v_bias (new tensors, fp32 under autocast against fp32 biases); the query divided by
 * the scale; the content scores q k^T; the relative scores added (`rel_att` and every rebound
 * local live until the forward returns); masked_fill with the mask cast to bool and inverted;
 * softmax (fp32 under autocast); dropout; @ v; back to (b, s, h). */
function disentangledAttention(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  p: BertDropout,
  config: DisentangledAttentionConfig | undefined,
): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const { heads, keys } = inputs;
    const sequences = x.rows / keys;
    const batch = { sequences, merges: sequences === 1 || heads.heads === 1 };
    const width = heads.heads * heads.headDim;
    const bias = (name: string) =>
      ops.weight(
        w.other.find((q) => q.name === name)!,
        1,
        width,
      );
    const [q, k, v] = ops.split(nn.linear(x, linear(w, 'qkv_proj')), 3); // in_proj, chunk(3)
    const biased = ops.add(q, bias('q_bias'));
    const values = ops.add(v, bias('v_bias'));
    const query = ops.unary(biased); // query_layer / scale.to(dtype)
    rt.drop(biased);
    let scores = batchedMatmul(nn, [query, k], ['per-head', 'per-head'], batch, heads.heads * keys);
    const table = config && nn.dropout(inputs.relative!.embeddings, p.hidden); // pos_dropout
    const relative = table && relativeScores(nn, [query, k], table, w, inputs, config!, batch);
    const sum = relative ? ops.add(scores, relative) : ops.unary(scores); // + rel_att (or + 0)
    rt.drop(scores);
    scores = sum;
    const dropped = maskedProbabilities(nn, scores, inputs, p.attention);
    const context = batchedMatmul(nn, [dropped, values], ['contiguous', 'per-head'], batch, width);
    const out = ops.unary(context); // .permute(0, 2, 1, 3).contiguous()
    rt.drop(context);
    return out;
  });
}

/** DebertaLayer's parameters in named_parameters() order: attention.self's own q_bias and
 * v_bias, then its in_proj, pos_proj and pos_q_proj; attention.output (dense, LayerNorm),
 * intermediate.dense, output (dense, LayerNorm). */
function debertaWeights(context: WeightContext, layer: number): LayerWeights {
  const { arch } = context;
  const h = arch.hiddenSize;
  const width = arch.numAttentionHeads * arch.headDim;
  return new LayerWeightsBuilder(context, layer)
    .other('q_bias', width)
    .other('v_bias', width)
    .linears('qkv_proj', 'pos_key_proj', 'pos_query_proj', 'o_proj')
    .norm('attention.LayerNorm', h)
    .linears('up_proj', 'down_proj')
    .norm('output.LayerNorm', h)
    .build();
}

/** DebertaSelfOutput's and DebertaOutput's DebertaLayerNorm. */
const TF_LAYER_NORM: ResidualNorm = (nn, sum, weight, bias) => nn.tfLayerNorm(sum, weight, bias!);

/** attention_probs_dropout_prob and hidden_dropout_prob (also pos_dropout's). */
export function hfDebertaRecipe(arch: ModelArchitecture): LayerRecipe {
  const dropout = { attention: arch.dropout?.attention ?? 0, hidden: arch.dropout?.residual ?? 0 };
  const config = arch.disentangled;
  return {
    source: 'transformers models/deberta/modeling_deberta.py (DebertaLayer)',
    weights: debertaWeights,
    forward: (nn, x, weights, inputs) =>
      bertLayer(
        nn,
        x,
        weights,
        inputs,
        dropout,
        (n, h, w, i) => disentangledAttention(n, h, w, i, dropout, config),
        TF_LAYER_NORM,
      ),
    attention: debertaAttentionPlan,
    // DebertaModel.forward keeps embedding_output until it returns; DebertaEmbeddings' norm is
    // DebertaLayerNorm too.
    ends: {
      embeddingLocal: 'output',
      maskedEmbeddings: true,
      noRotary: true,
      embeddingNorm: 'tf-layer',
    },
  };
}
