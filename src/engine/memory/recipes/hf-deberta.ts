// One encoder layer of DeBERTa-v2 and -v3 (transformers models/deberta_v2/modeling_deberta_v2.py
// DebertaV2Layer): BertLayer's post-LN blocks (hf-bert.ts) around DisentangledSelfAttention, the
// eager attention DeBERTa always runs (it has no SDPA path). Its content scores q (k / scale)^T
// gain content-to-position and position-to-content scores: each query (key) against the
// relative position table projected by the layer, gathered at its bucketed distance to every
// key (query). And what DebertaV2Encoder.forward builds once for its layers: the (b, 1, s, s)
// mask, the relative positions and the normalised table.
import { DisentangledAttentionConfig, ModelArchitecture } from '../../vocabulary';
import { matmulNT } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { BOOL, FP32, INT64 } from '../autograd/ops';
import { Tensor } from '../autograd/runtime';
import { LayerWeights, RankModel } from '../model/rank-model';
import { AttentionPlan, AttentionRequest, planByKind } from './attention-kernel';
import { BertDropout, bertLayer } from './hf-bert';
import { linear } from './hf-llama';
import {
  LayerInputs,
  LayerRecipe,
  LayerWeightsBuilder,
  RelativeInputs,
  WeightContext,
} from './recipe';

/** transpose_for_scores: x.view(b, s, heads, d).permute(0, 2, 1, 3).contiguous(), a copy that
 * replaces the linear's output. */
function perHead(nn: Nn, x: Tensor): Tensor {
  const out = nn.ops.unary(x);
  nn.rt.drop(x);
  return out;
}

/** The relative position table through one of the layer's linears, per head, repeated for each
 * sequence of the batch (`.repeat(query_layer.size(0) // num_attention_heads, 1, 1)`). */
function projectedPositions(
  nn: Nn,
  table: Tensor,
  w: LayerWeights,
  name: string,
  sequences: number,
) {
  const heads = perHead(nn, nn.linear(table, linear(w, name)));
  const repeated = nn.ops.repeatRows(heads, sequences);
  nn.rt.drop(heads);
  return repeated;
}

/** torch.clamp(relative_pos + att_span, ...) for content-to-position (an add and a clamp), or
 * of -r_pos + att_span for position-to-content (a negation too): each step a new int64 tensor of
 * the relative positions' shape, the one before it freed. */
export function clampedPositions(nn: Nn, positions: Tensor, steps: number): Tensor {
  let current = positions;
  for (let step = 0; step < steps; step++) {
    const next = nn.rt.tensor(positions.rows, positions.cols, INT64, false);
    if (current !== positions) nn.rt.drop(current);
    current = next;
  }
  return current;
}

/** `score += scores / scale`: the scaled copy, added into the running score; the first add is
 * `0 + t` on a Python int, a new tensor, and the second is in place. */
function accumulate(nn: Nn, score: Tensor | undefined, scores: Tensor): Tensor {
  const scaled = nn.ops.unary(scores); // scores / scale.to(dtype)
  const sum = score ? nn.ops.addInPlace(score, scaled) : nn.ops.unary(scaled);
  nn.rt.drop(scaled);
  return sum;
}

/** DisentangledSelfAttention.disentangled_attention_bias: the positions projected (through
 * query_proj and key_proj where share_att_key is set, else pos_key_proj and pos_query_proj),
 * then bmm against every bucketed distance and torch.gather at each query's (c2p) and key's
 * (p2c) own; gather keeps its whole input and its index for backward. */
function relativeScores(
  nn: Nn,
  [q, k]: [Tensor, Tensor],
  table: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  config: DisentangledAttentionConfig,
): Tensor | undefined {
  return nn.rt.scope(() => {
    const { ops } = nn;
    const { heads, keys, relative } = inputs;
    const sequences = q.rows / keys;
    const distances = heads.heads * 2 * config.span;
    const project = (shared: string, own: string) =>
      projectedPositions(nn, table, w, config.sharedKey ? shared : own, sequences);
    const positionQueries =
      config.sharedKey || config.positionToContent
        ? project('q_proj', 'pos_query_proj')
        : undefined;
    const positionKeys =
      config.sharedKey || config.contentToPosition ? project('k_proj', 'pos_key_proj') : undefined;
    let score: Tensor | undefined;
    if (config.contentToPosition) {
      const all = matmulNT(nn, q, positionKeys!, distances); // bmm(query_layer, pos_key_layer^T)
      const index = clampedPositions(nn, relative!.positions, 2);
      const picked = ops.gather(all, index, heads.heads * keys);
      nn.rt.drop(all); // c2p_att rebinds to the gathered scores
      score = accumulate(nn, score, picked);
    }
    if (config.positionToContent) {
      const index = clampedPositions(nn, relative!.positions, 3);
      const all = matmulNT(nn, k, positionQueries!, distances); // bmm(key_layer, pos_query_layer^T)
      const picked = ops.gather(all, index, heads.heads * keys); // .transpose(-1, -2): a view
      nn.rt.drop(all);
      score = accumulate(nn, score, picked);
    }
    return score;
  });
}

/** Both DisentangledSelfAttention forwards from the summed scores (freed once masked; the
 * masked scores and the bool mask stay locals of the caller's scope): masked_fill with the mask
 * cast to bool (.bool()) and inverted (kept by masked_fill), softmax (fp32 under autocast: on
 * autocast's fp32 list), dropout: the probabilities @ v reads. */
export function maskedProbabilities(
  nn: Nn,
  scores: Tensor,
  inputs: LayerInputs,
  dropout: number,
): Tensor {
  const { ops, rt } = nn;
  const mask = rt.tensor(inputs.mask!.rows, inputs.mask!.cols, BOOL, false); // .bool()
  const inverted = rt.tensor(mask.rows, mask.cols, BOOL, false); // ~attention_mask
  const masked = ops.maskedFill(scores, inverted);
  rt.drop(inverted, scores);
  const input = nn.fp32Input(masked);
  const probabilities = ops.softmax(input);
  if (input !== masked) rt.drop(input);
  const dropped = nn.dropout(probabilities, dropout);
  rt.drop(probabilities);
  return dropped;
}

/** DisentangledSelfAttention.forward: q, k and v per head; the content scores; the relative
 * scores added (`rel_att` stays a local until the forward returns, as do the masked scores);
 * masked_fill with the mask cast to bool and inverted; softmax (fp32 under autocast); dropout;
 * @ v; back to (b, s, h). */
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
    const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((name) =>
      perHead(nn, nn.linear(x, linear(w, name))),
    );
    const scaledKeys = ops.unary(k); // key_layer.transpose(-1, -2) / scale (a CPU scalar)
    let scores = matmulNT(nn, q, scaledKeys, heads.heads * keys);
    rt.drop(scaledKeys);
    if (config) {
      const table = nn.dropout(inputs.relative!.embeddings, p.hidden); // self.pos_dropout
      const relativeScore = relativeScores(nn, [q, k], table, w, inputs, config);
      const sum = relativeScore ? ops.add(scores, relativeScore) : ops.unary(scores); // + 0
      rt.drop(scores);
      scores = sum;
    }
    const dropped = maskedProbabilities(nn, scores, inputs, p.attention);
    const weights = nn.matmulInput(dropped);
    const context = matmulNT(nn, weights, v, q.cols);
    rt.drop(dropped, weights);
    return ops.unary(context); // .permute(0, 2, 1, 3).contiguous()
  });
}

/** DebertaV2Layer's modules in __init__ order: attention.self (query_proj, key_proj,
 * value_proj, then pos_key_proj and pos_query_proj where share_att_key is off),
 * attention.output (dense, LayerNorm), intermediate.dense, output (dense, LayerNorm). */
function debertaWeights(context: WeightContext, layer: number): LayerWeights {
  const h = context.arch.hiddenSize;
  return new LayerWeightsBuilder(context, layer)
    .linears('q_proj', 'k_proj', 'v_proj', 'pos_key_proj', 'pos_query_proj', 'o_proj')
    .norm('attention.LayerNorm', h)
    .linears('up_proj', 'down_proj')
    .norm('output.LayerNorm', h)
    .build();
}

/** DeBERTa (v1 and v2) has no SDPA path: its own attention runs whatever is asked, against the
 * (b, 1, s, s) product of the int64 attention_mask with itself (get_attention_mask; a collator's
 * attention_mask is int64). */
export function debertaAttentionPlan(request: AttentionRequest): AttentionPlan {
  const notes = new Set<string>();
  if (request.asked !== 'eager')
    notes.add(
      "DeBERTa's disentangled attention has no SDPA path: its own code keeps every score matrix, and the content-to-position and position-to-content scores before they are gathered",
    );
  const mask = { key: 'full', additive: false, elementBytes: INT64 };
  return planByKind(request.arch, () => ({ kernel: 'eager', mask }), notes);
}

/** build_relative_position with make_log_bucket_position: q_ids[:, None] - k_ids[None, :] in
 * int64, then where bucketed the sign, the clipped absolute distance and the fp32 log bucket
 * (each an (s, s) tensor, freed as make_log_bucket_position returns) and .to(torch.long).
 * DeBERTa-v1's (modeling_deberta.py) subtracts k_ids.view(1, -1).repeat(query_size, 1), an
 * (s, s) int64 copy freed once the distances exist. */
function relativePositionIds(
  nn: Nn,
  keys: number,
  { logBuckets, repeatedKeys }: NonNullable<RankModel['relativePositions']>,
): Tensor {
  const { rt } = nn;
  const square = (bytes: number) => rt.tensor(keys, keys, bytes, false);
  const repeated = repeatedKeys ? square(INT64) : undefined;
  const distances = square(INT64);
  rt.drop(repeated);
  if (!logBuckets) return distances;
  const sign = square(INT64); // torch.sign(relative_pos)
  const near = square(BOOL); // (relative_pos < mid) & (relative_pos > -mid)
  const absolute = square(INT64); // torch.abs(relative_pos)
  const clipped = square(INT64); // torch.where(near, mid - 1, abs)
  rt.drop(near, absolute);
  // ceil(log(abs_pos / mid) / log(...) * (mid - 1)) + mid: a chain of fp32 tensors, each
  // freed once the next exists
  const step = square(FP32);
  const logarithm = square(FP32);
  rt.drop(step);
  const inside = square(BOOL); // abs_pos <= mid
  const cast = square(FP32); // relative_pos.type_as(log_pos)
  const signed = square(FP32); // log_pos * sign
  const bucketed = square(FP32); // torch.where(...)
  rt.drop(inside, cast, signed, logarithm, clipped, sign, distances);
  const ids = square(INT64); // rel_pos_ids.to(torch.long)
  rt.drop(bucketed);
  return ids;
}

/** What DebertaV2Encoder.forward hands every layer: relative_pos (get_rel_pos), then
 * rel_embeddings (get_rel_embedding: the table, through its LayerNorm where norm_rel_ebd asks). */
export function relativeInputs(
  nn: Nn,
  tables: NonNullable<RankModel['relativePositions']>,
  keys: number,
): RelativeInputs {
  const positions = relativePositionIds(nn, keys, tables);
  const [rows, cols] = tables.table.shape!;
  const table = nn.ops.weight(tables.table, rows, cols);
  if (!tables.norm) return { positions, embeddings: table };
  const embeddings = nn.layerNorm(table, tables.norm[0], tables.norm[1]);
  nn.rt.drop(table);
  return { positions, embeddings };
}

/** ConvLayer.forward (DebertaV2Encoder.conv) over the encoder's input `x` and the first layer's
 * output `y`: x.permute(0, 2, 1).contiguous() (a copy nn.Conv1d keeps for its weight's gradient,
 * beside the weight for its input's; autocast runs conv1d in 16 bits), the output permuted back
 * (.contiguous(): a copy, the Conv1d's own freed), `(1 - input_mask).bool()` (an int64 (b, s),
 * then the bool the in-place masked_fill_ keeps), dropout, the activation (GELU keeps its input,
 * tanh its output), LayerNorm(y + it), times input_mask cast to the output's dtype (kept by the
 * product). */
export function encoderConvLayer(
  nn: Nn,
  x: Tensor,
  y: Tensor,
  conv: NonNullable<RankModel['encoderConv']>,
): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const contiguous = ops.unary(x); // hidden_states.permute(0, 2, 1).contiguous()
    const convolved = nn.conv1d(contiguous, conv.weight, conv.bias, x.cols);
    rt.drop(contiguous);
    const out = ops.unary(convolved); // .permute(0, 2, 1).contiguous()
    rt.drop(convolved);
    const rmask = rt.tensor(x.rows, 1, INT64, false); // 1 - input_mask
    const inverted = rt.tensor(x.rows, 1, BOOL, false); // .bool()
    rt.drop(rmask);
    const filled = ops.maskedFillInPlace(out, inverted); // out.masked_fill_(rmask, 0)
    const dropped = nn.dropout(filled, conv.dropout);
    const activated =
      conv.activation === 'gelu' ? ops.unarySavingInput(dropped) : ops.unarySavingOutput(dropped);
    const sum = ops.add(y, activated); // layer_norm_input
    const normed = nn.layerNorm(sum, conv.norm[0], conv.norm[1]);
    const mask = rt.tensor(x.rows, 1, normed.elementBytes, false); // input_mask.to(output.dtype)
    return ops.mul(normed, mask);
  });
}

/** attention_probs_dropout_prob and hidden_dropout_prob (also pos_dropout's). */
export function hfDebertaV2Recipe(arch: ModelArchitecture): LayerRecipe {
  const dropout = { attention: arch.dropout?.attention ?? 0, hidden: arch.dropout?.residual ?? 0 };
  const config = arch.disentangled;
  return {
    source: 'transformers models/deberta_v2/modeling_deberta_v2.py (DebertaV2Layer)',
    weights: debertaWeights,
    forward: (nn, x, weights, inputs) =>
      bertLayer(nn, x, weights, inputs, dropout, (n, h, w, i) =>
        disentangledAttention(n, h, w, i, dropout, config),
      ),
    attention: debertaAttentionPlan,
    // DebertaV2Model.forward keeps embedding_output (the encoder's hidden states too, which
    // the layers keep anyway) until it returns.
    ends: { embeddingLocal: 'output', maskedEmbeddings: true, noRotary: true },
  };
}
