// Each layer recipe against what its model code keeps for backward, derived by hand here: one
// layer's saved activations (bytes per token, then times the tokens) read off the timeline as
// the forward-end activations with one layer more minus without it (test/support/layer-bytes).
// Shapes: 512 tokens (batch 1), hidden 256, 4 query heads of 64, 2 K/V heads, MLP 1024, bf16
// weights trained in full; every tensor is a multiple of 512 bytes, so the allocator's rounding
// adds nothing. Where a layer keeps a tensor another op of it keeps too, it is counted once.
import { ALLOCATED_COMPONENTS } from '../autograd/events';
import { architectureFromConfig, countParameters } from '../..';
import {
  allocationsOf,
  backwardEnd,
  endForwardAllocations,
  forwardEnd,
  layerForwardAllocations,
  savedPerLayer,
} from '../../../../test/support/layer-bytes';

const T = 512; // tokens
const h = 256;
const a = 4; // query heads
const d = 64; // head dim
const g = 2; // key/value heads
const f = 1024;
const BF16 = 2;
const FP32 = 4;
const INT64 = 8;
// The caching allocator rounds each block up to 512 B (CUDACachingAllocator.cpp kMinBlockSize).
const round = (bytes: number) => Math.ceil(bytes / 512) * 512;

const BASE = {
  hidden_size: h,
  intermediate_size: f,
  num_attention_heads: a,
  num_key_value_heads: g,
  vocab_size: 1024,
  max_position_embeddings: 2048,
};
const settings = (runtime: Record<string, unknown>, training: Record<string, unknown> = {}) => ({
  training: {
    method: 'full' as const,
    precision: 'bf16-pure' as const,
    microBatchSize: 1,
    sequenceLength: T,
    ...training,
  },
  runtime,
});
const HF = settings({ preset: 'hf-transformers' });
// GPT-J's fields at the shapes above (rotary on a quarter of each head).
const GPTJ = {
  model_type: 'gptj',
  n_embd: h,
  n_head: a,
  n_inner: f,
  rotary_dim: 16,
  vocab_size: 1024,
  n_positions: 2048,
};

// Hugging Face's Llama RMSNorm (modeling_llama.py): x.to(float32) kept by pow and by the product
// with rsqrt, the fp32 rsqrt per row, the cast back kept by weight * it, and the output kept by
// whatever linear reads it.
const llamaNorm = FP32 * h + FP32 + BF16 * h + BF16 * h;
// An image tower's vision_config for the tower specs: a 224-px image in 14-px patches.
const tower224 = (hidden: number, mlp: number, layers: number) => ({
  hidden_size: hidden,
  intermediate_size: mlp,
  num_hidden_layers: layers,
  num_attention_heads: 2,
  image_size: 224,
  patch_size: 14,
});
// DeBERTa-v2 at the specs' shape: 32 position buckets, shared position projections, the table's
// LayerNorm, no absolute positions.
const DEBERTA_V2 = {
  model_type: 'deberta-v2',
  hidden_size: h,
  num_attention_heads: a,
  intermediate_size: f,
  vocab_size: 1024,
  relative_attention: true,
  position_buckets: 32,
  share_att_key: true,
  pos_att_type: 'p2c|c2p',
  norm_rel_ebd: 'layer_norm',
  position_biased_input: false,
};
/** A BART config of the specs' shape (both stacks alike), with `extra` over it. */
const bart = (extra: Record<string, unknown>) => ({
  model_type: 'bart',
  d_model: h,
  encoder_attention_heads: a,
  decoder_attention_heads: a,
  encoder_ffn_dim: f,
  decoder_ffn_dim: f,
  vocab_size: 1024,
  max_position_embeddings: T,
  ...extra,
});
// LayerNorm (native_layer_norm): its input, mean and rstd (two fp32 a row); output not counted.
const layerNormStats = 2 * FP32;
/** What one SigLIP block keeps over P patches of hv (fv in its MLP), 2 heads, 16-bit: a
 * patch row, LayerNorm's two fp32 stats a patch, and the block. */
function siglipBlockBytes(P: number, hv: number, fv: number) {
  const row = BF16 * P * hv;
  const stats = 2 * FP32 * P;
  const block =
    row +
    stats +
    row + // layer_norm1: input, stats, output
    4 * row +
    FP32 * P * 2 + // q, k, v, SDPA's output and log-sum-exp
    row +
    stats +
    row + // layer_norm2 over the residual sum
    2 * BF16 * P * fv; // fc1's output (kept by gelu_pytorch_tanh) and its output (kept by fc2)
  return { row, stats, block };
}
// Flash / fused attention: q, k, v and the output, plus an fp32 log-sum-exp per head.
const lse = a * FP32;
// Llama's MLP: gate kept by SiLU, SiLU's output and up kept by the product, the product kept by
// down_proj: four tensors of the MLP's width.
const swiGluMlp = 4 * BF16 * f;

describe('layer recipes keep what their model code keeps (bytes per token, derived by hand)', () => {
  it("Ministral 3: Mistral's kept bytes, and one more q-sized tensor made (the rotated q times Llama-4's attention scale)", () => {
    const ministral3 = { ...BASE, model_type: 'ministral3', head_dim: d };
    const mistral = { ...BASE, model_type: 'mistral', head_dim: d };
    expect(savedPerLayer(ministral3, HF)).toBe(savedPerLayer(mistral, HF));
    const qSized = (config: Record<string, unknown>) =>
      layerForwardAllocations({ ...config, num_hidden_layers: 1 }, HF).filter(
        (bytes) => bytes === T * a * d * BF16,
      ).length;
    expect(qSized(ministral3)).toBe(qSized(mistral) + 1);
    // Mistral 3 (mistral3) builds its text stack from text_config's own model_type: a Ministral
    // 3 text stack runs Ministral 3's layer under the Pixtral tower too
    const wrapped = (text: Record<string, unknown>) => ({
      model_type: 'mistral3',
      text_config: text,
      vision_config: { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1 },
    });
    expect(qSized(wrapped(ministral3))).toBe(qSized(wrapped(mistral)) + 1);
  });

  it('Hugging Face Llama: two RMSNorms, rotary q and k, v, flash attention, SwiGLU', () => {
    const perToken =
      2 * llamaNorm +
      BF16 * a * d + // rotated q, kept by flash attention
      BF16 * g * d * 2 + // rotated k and v (grouped: flash takes them as they are)
      BF16 * a * d +
      lse + // attention output (kept by o_proj too) and log-sum-exp
      swiGluMlp;
    expect(savedPerLayer({ ...BASE, model_type: 'llama' }, HF)).toBe(perToken * T);
  });

  it('Falcon (new decoder): ln_attn and ln_mlp over the same input, q and the broadcast K/V copied to every head', () => {
    const config = {
      ...BASE,
      model_type: 'falcon',
      new_decoder_architecture: true,
      num_kv_heads: g,
    };
    const perToken =
      BF16 * h +
      2 * layerNormStats + // the layer input, kept by both LayerNorms, and their stats
      BF16 * h + // ln_attn's output, kept by query_key_value
      3 * BF16 * a * d + // q, k, v after _split_heads' flatten copies (k and v to all heads) and RoPE
      BF16 * a * d +
      lse + // attention output, log-sum-exp
      BF16 * h + // ln_mlp's output, kept by dense_h_to_4h
      2 * BF16 * 4 * h; // nn.GELU keeps its input, dense_4h_to_h the GELU's output
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it('GPT-NeoX: parallel residual; v is a view of query_key_value, which stays whole', () => {
    const config = { ...BASE, model_type: 'gpt_neox', num_key_value_heads: a };
    const perToken =
      BF16 * h +
      2 * layerNormStats + // the layer input (both norms read it) and their stats
      BF16 * h + // input_layernorm's output, kept by query_key_value
      2 * BF16 * a * d + // rotated q and k (torch.cat of rotated and passed-through dims)
      BF16 * 3 * a * d + // the whole qkv output, kept through v
      BF16 * a * d +
      lse +
      BF16 * h + // post_attention_layernorm's output, kept by dense_h_to_4h
      2 * BF16 * f; // fused GELU's input and output
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it('Phi-2: one LayerNorm for attention and MLP; gelu_new written out keeps three MLP-wide tensors more', () => {
    const config = { ...BASE, model_type: 'phi', num_key_value_heads: a };
    const perToken =
      BF16 * h +
      layerNormStats +
      BF16 * h + // input, stats, output (q, k, v and fc1 read it)
      3 * BF16 * a * d + // rotated q, k, and v
      BF16 * a * d +
      lse +
      BF16 * f + // fc1's output, kept by pow(x, 3)
      BF16 * f + // tanh's output
      2 * BF16 * f + // 0.5 * x and 1 + tanh, kept by their product
      BF16 * f; // the product, kept by fc2
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it('BLOOM: ALiBi attention written out keeps the fp32 probabilities and their bf16 cast', () => {
    const config = { hidden_size: h, n_head: a, vocab_size: 1024, model_type: 'bloom' };
    const perToken =
      BF16 * h +
      layerNormStats +
      BF16 * h + // input_layernorm
      BF16 * 3 * h + // one sequence: q, k, v are views of query_key_value, kept by baddbmm/bmm
      FP32 * a * T + // softmax(dtype=float32)'s output
      BF16 * a * T + // its cast back, kept by bmm with v
      BF16 * h + // _merge_heads' copy, kept by dense
      BF16 * h +
      layerNormStats +
      BF16 * h + // post_attention_layernorm
      2 * BF16 * 4 * h; // BloomGelu's input, dense_4h_to_h's input
    expect(savedPerLayer(config, HF, 'n_layer')).toBe(perToken * T);
  });

  it('GPT-J: no SDPA path, so eager attention keeps fp32 q and k and fp32 probabilities beside their cast', () => {
    const config = GPTJ;
    const perToken =
      BF16 * h +
      layerNormStats +
      BF16 * h + // ln_1: input, stats, output (q, k, v and fc_in read it)
      2 * FP32 * a * d + // query.to(torch.float32), key.to(torch.float32), kept by the scores' matmul
      FP32 * a * T + // softmax's fp32 output
      BF16 * a * T + // its cast to value.dtype, kept by the matmul with v
      BF16 * a * d + // v
      BF16 * a * d + // _merge_heads' contiguous copy, kept by out_proj
      BF16 * f + // fc_in's output, kept by pow(x, 3)
      BF16 * f + // tanh's output
      2 * BF16 * f + // 0.5 * x and 1 + tanh, kept by their product
      BF16 * f + // the product, kept by fc_out
      4 * FP32 * 16; // sin and cos repeat-interleaved for q and again for k (rotary_dim 16, fp32)
    expect(savedPerLayer(config, HF, 'n_layer')).toBe(perToken * T);
    const { notes } = forwardEnd({ ...config, n_layer: 1 }, HF);
    expect(notes.some((note) => note.startsWith("GPT-J's model code has no SDPA path"))).toBe(true);
    // GPTJForCausalLM: lm_logits = self.lm_head(hidden_states).to(torch.float32), which the
    // loss's .float() leaves as it is: lm_head's bf16 output, its fp32 cast, log_softmax's fp32.
    const logits = T * config.vocab_size;
    const head = endForwardAllocations({ ...config, n_layer: 1 }, HF, 'loss').filter(
      (bytes) => bytes >= BF16 * logits, // past ln_f's output and stats
    );
    expect(head.slice(0, 3)).toEqual([BF16 * logits, FP32 * logits, FP32 * logits]);
    // When backward starts the model's fp32 logits and the fp32 log-probabilities are what the
    // loss holds (the bf16 output went as the name was rebound).
    const logitsAndLoss = ALLOCATED_COMPONENTS.indexOf('logitsAndLoss');
    const live = forwardEnd({ ...config, n_layer: 1 }, HF).live[logitsAndLoss];
    expect(live - 2 * FP32 * logits).toBeLessThan(BF16 * logits);
    expect(live).toBeGreaterThanOrEqual(2 * FP32 * logits);
  });

  it("DistilBERT: BERT's post-LN layer without the dropout on the attention output (one h-byte mask a token fewer)", () => {
    const encoder = {
      hidden_size: h,
      num_attention_heads: a,
      intermediate_size: f,
      vocab_size: 1024,
    };
    const bert = { ...encoder, model_type: 'bert' };
    const distilbert = {
      model_type: 'distilbert',
      dim: h,
      n_heads: a,
      hidden_dim: f,
      vocab_size: 1024,
    };
    // Both drop 0.1 of the probabilities and the FFN output; BertSelfOutput drops out_proj's
    // output too, TransformerBlock adds out_lin's straight to its input.
    const bertLayer = savedPerLayer(bert, HF);
    expect(bertLayer - savedPerLayer(distilbert, HF, 'n_layers')).toBe(1 * h * T);
  });

  it("DeBERTa-v2: BERT's post-LN layer around disentangled attention, which keeps q, k, k / scale and v, the content-to-position and position-to-content scores before they are gathered, their int64 indices and the projected positions", () => {
    const P = DEBERTA_V2.position_buckets; // the relative position table has 2P rows
    const s = T; // one sequence: every token attends over T keys
    const deberta = DEBERTA_V2;
    const perToken =
      4 * BF16 * a * d + // q, k (kept by p2c's bmm), k / scale, v: each made contiguous per head
      2 * BF16 * a * 2 * P + // c2p's and p2c's scores against all 2P positions, kept by gather
      s + // ~mask (bool), kept by masked_fill
      BF16 * a * s + // softmax's output
      a * s + // the probabilities' dropout mask
      BF16 * a * s + // the dropped probabilities, kept by the bmm with v
      BF16 * h + // the context copied back to (b, s, h), kept by attention.output.dense
      h + // its output's dropout mask
      BF16 * h + // the residual sum, kept by LayerNorm
      layerNormStats +
      BF16 * h + // LayerNorm's output, kept by intermediate.dense
      2 * BF16 * f + // GELU's input, and its output kept by output.dense
      h + // the dropout mask
      BF16 * h + // the residual sum, kept by LayerNorm
      layerNormStats +
      BF16 * h; // the layer's output
    const perLayer =
      2 * BF16 * 2 * P * a * d + // the positions through query_proj and key_proj, repeated per
      // sequence (one here), kept by the bmm's
      2 * 8 * s * s; // c2p's and p2c's clamped int64 positions, kept by gather
    expect(savedPerLayer(deberta, HF)).toBe(perToken * T + perLayer);
    // Made from the table alone, and counted with the weights as other tensors computed from
    // parameters are: pos_dropout's output (kept by query_proj and key_proj) and its mask,
    // beside the layer's own parameters.
    const weights = ALLOCATED_COMPONENTS.indexOf('weights');
    const at = (layers: number) =>
      forwardEnd({ ...deberta, num_hidden_layers: layers }, HF).live[weights];
    const layerParameters = (layers: number) =>
      countParameters(architectureFromConfig('deberta', { ...deberta, num_hidden_layers: layers }))
        .total;
    const parameterBytes = BF16 * (layerParameters(2) - layerParameters(1));
    expect(at(2) - at(1)).toBe(parameterBytes + 2 * P * h * (BF16 + 1));
    // DebertaV2Embeddings: the lookup, zeros_like(inputs_embeds) for the absent positions, the
    // LayerNorm (output, mean, rstd), the mask cast to (b, s, 1), embeddings * mask, dropout.
    const embedding = endForwardAllocations({ ...deberta, num_hidden_layers: 1 }, HF, 'embedding');
    expect(embedding.slice(0, 9)).toEqual([
      ...[BF16 * h * T, BF16 * h * T, BF16 * h * T, FP32 * T, FP32 * T, BF16 * T],
      ...[BF16 * h * T, BF16 * h * T, h * T],
    ]);
    // No rotary module: no cos and sin tables (d a token, in bf16 here) are built.
    expect(embedding).not.toContain(BF16 * T * d);
  });

  it("DeBERTa-v2's ConvLayer after the first layer: the transposed input kept by Conv1d, the masked_fill_ mask, dropout's mask, GELU's input, LayerNorm's input and statistics, the cast mask; the first layer's own output freed", () => {
    const v2 = { ...DEBERTA_V2, num_hidden_layers: 1 };
    const conv = { ...v2, conv_kernel_size: 3, conv_act: 'gelu' };
    const activations = (config: Record<string, unknown>) =>
      forwardEnd(config, HF).live[ALLOCATED_COMPONENTS.indexOf('activations')];
    const kept =
      BF16 * h * T + // hidden_states.permute(0, 2, 1).contiguous(), kept by the Conv1d
      T + // (1 - input_mask).bool(), kept by masked_fill_
      h * T + // dropout's mask
      BF16 * h * T + // dropout's output, kept by GELU
      BF16 * h * T + // y + out, kept by LayerNorm
      2 * FP32 * T + // its mean and rstd
      BF16 * T; // input_mask.to(output.dtype), kept by the product
    // the product replaces the first layer's output (which nothing keeps) as the layer output
    expect(activations(conv) - activations(v2)).toBe(kept);
    // Under LoRA the convolution and the embedding are frozen: nothing up to the activation
    // needs a gradient, so only LayerNorm's input and statistics and the cast mask are kept
    // (the first layer's adapters make its output, and so the sum, need one).
    const lora = settings({ preset: 'hf-transformers' }, { method: 'lora' });
    const loraActivations = (config: Record<string, unknown>) =>
      forwardEnd(config, lora).live[ALLOCATED_COMPONENTS.indexOf('activations')];
    expect(loraActivations(conv) - loraActivations(v2)).toBe(
      BF16 * h * T + 2 * FP32 * T + BF16 * T,
    );
    expect(endForwardAllocations(conv, HF, 'encoder conv')).toEqual([
      ...[BF16 * h * T, BF16 * h * T, BF16 * h * T], // the copy in, Conv1d's output, the copy out
      ...[INT64 * T, T], // 1 - input_mask, .bool()
      ...[BF16 * h * T, h * T, BF16 * h * T, BF16 * h * T], // dropout, its mask, GELU, the sum
      ...[BF16 * h * T, FP32 * T, FP32 * T], // LayerNorm
      ...[BF16 * T, BF16 * h * T], // the cast mask, the product
    ]);
  });

  describe("DeBERTa-v1: BERT's post-LN layer with DebertaLayerNorm, around in_proj's q, k and v views and the matmuls' reshaped operands", () => {
    const span = 1024; // max_relative_positions: a 2,048-row table, of which a sequence reads 2 x min(s, 1024)
    const deberta = {
      model_type: 'deberta',
      hidden_size: h,
      num_attention_heads: a,
      intermediate_size: f,
      vocab_size: 1024,
      relative_attention: true,
      max_relative_positions: span,
      pos_att_type: 'c2p|p2c',
      position_biased_input: false,
    };
    // DebertaLayerNorm in bf16: x.float() (not kept), x - mean kept by pow and again by the
    // division, with sqrt(variance + eps) per row; the quotient cast back, kept by weight * it.
    const tfNorm = 2 * FP32 * h + FP32 + BF16 * h;
    // Everything from the probabilities to the layer's output, as BERT's layer keeps it but
    // with DebertaLayerNorm: ~mask, softmax's output (bf16, no autocast), the dropout mask, the
    // dropped probabilities (kept by the bmm with v), the context copy (kept by the dense), its
    // dropout mask, the norm, the attention output, GELU's input and output, the dropout mask,
    // the norm and the layer's output.
    const afterScores = (s: number) =>
      s + BF16 * a * s + a * s + BF16 * a * s + BF16 * h + h + tfNorm + BF16 * h;
    const feedForward = 2 * BF16 * f + h + tfNorm + BF16 * h;

    it("one sequence: bmm receives views, keeping in_proj's whole output through k, the scaled query, v + v_bias and the projected positions", () => {
      const s = T;
      const rows = 2 * Math.min(s, span);
      const perToken =
        3 * BF16 * h + // in_proj's output, kept whole through k's view
        BF16 * h + // (q + q_bias) / scale, kept by the content and c2p bmm's
        BF16 * h + // v + v_bias, kept by the bmm with the probabilities
        2 * BF16 * a * rows + // c2p's and p2c's scores against every row, kept by gather
        afterScores(s) +
        feedForward;
      const perLayer = 2 * INT64 * s * s; // c2p's and p2c's clamped positions, kept by gather
      expect(savedPerLayer(deberta, HF)).toBe(perToken * T + perLayer);
      // in_proj's output, q + q_bias, v + v_bias, / scale, then straight to the content scores
      const firstMade = [3 * BF16 * h * T, ...Array(3).fill(BF16 * h * T), BF16 * a * s * T];
      expect(layerForwardAllocations(deberta, HF).slice(0, 5)).toEqual(firstMade);
      // Made from the table alone and counted with the weights: pos_dropout's output over all
      // 2,048 rows and its mask (the projections keep slices of it), and pos_proj's and
      // pos_q_proj's outputs over the rows read, beside the layer's parameters.
      const weights = ALLOCATED_COMPONENTS.indexOf('weights');
      const at = (layers: number) =>
        forwardEnd({ ...deberta, num_hidden_layers: layers }, HF).live[weights];
      const parameters = (layers: number) =>
        countParameters(
          architectureFromConfig('deberta', { ...deberta, num_hidden_layers: layers }),
        ).total;
      const parameterBytes = BF16 * (parameters(2) - parameters(1));
      const tensors = 2 * span * h * (BF16 + 1) + 2 * BF16 * rows * h;
      expect(at(2) - at(1)).toBe(parameterBytes + tensors);
    });

    it('two sequences: reshape copies each per-head operand (q twice, k twice, v) and the positions per sequence', () => {
      const s = T / 2;
      const rows = 2 * Math.min(s, span);
      const twoSequences = settings(
        { preset: 'hf-transformers' },
        { microBatchSize: 2, sequenceLength: s },
      );
      const perToken =
        5 * BF16 * h + // copies of q (content and c2p bmm's), of k (content and p2c) and of v
        2 * BF16 * a * rows +
        afterScores(s) +
        feedForward;
      const perLayer =
        2 * 2 * BF16 * rows * h + // pos_proj's and pos_q_proj's outputs expanded per sequence
        2 * INT64 * s * s;
      expect(savedPerLayer(deberta, twoSequences)).toBe(perToken * T + perLayer);
      // the same bytes kept as one sequence's views, but made as copies: q's and k's for the
      // content scores before bmm runs
      const firstMade = [3 * BF16 * h * T, ...Array(5).fill(BF16 * h * T), BF16 * a * s * T];
      expect(layerForwardAllocations(deberta, twoSequences).slice(0, 7)).toEqual(firstMade);
    });

    it("DebertaEmbeddings: the lookup, zeros for the absent positions, DebertaLayerNorm as tensor ops, the mask and dropout; the encoder's repeated key ids", () => {
      const embedding = endForwardAllocations(
        { ...deberta, num_hidden_layers: 1 },
        HF,
        'embedding',
      );
      const norm = [
        ...[FP32 * h * T, FP32 * T, FP32 * h * T, FP32 * h * T, FP32 * T], // x.float(), mean, x - mean, ^2, variance
        ...[FP32 * h * T, FP32 * T, FP32 * T, FP32 * h * T], // x - mean again, + eps, sqrt, the quotient
        ...[BF16 * h * T, BF16 * h * T, BF16 * h * T], // cast back, weight * it, + bias
      ];
      const masked = [BF16 * T, BF16 * h * T, BF16 * h * T, h * T]; // mask cast, * mask, dropout
      expect(embedding.slice(0, 2 + norm.length + masked.length)).toEqual([
        ...[BF16 * h * T, BF16 * h * T],
        ...norm,
        ...masked,
      ]);
      // build_relative_position: k_ids repeated to (s, s), then the distances, both int64
      expect(embedding.filter((bytes) => bytes === INT64 * T * T).length).toBe(3); // and the mask
    });
  });

  it("ModernBERT: bias-free LayerNorms before attention and the MLP, Wqkv kept whole through v's view, q and k rotated in fp32 and cast back, GeGLU's Wi kept whole through its chunks", () => {
    const modernbert = {
      model_type: 'modernbert',
      hidden_size: h,
      num_attention_heads: a,
      intermediate_size: f,
      vocab_size: 1024,
      global_attn_every_n_layers: 1, // every layer global: flash attention, no mask
    };
    const perToken =
      BF16 * h + // attn_norm's input (the residual stream)
      layerNormStats +
      BF16 * h + // its output, kept by Wqkv
      3 * BF16 * h + // Wqkv's output, kept whole by flash attention through v (a view of it)
      2 * BF16 * h + // q and k rotated (fp32 against fp32 tables) and cast back
      BF16 * h +
      lse + // the attention output (kept by Wo too) and log-sum-exp
      BF16 * h + // mlp_norm's input (the residual sum)
      layerNormStats +
      BF16 * h + // its output, kept by Wi
      2 * BF16 * f + // Wi's output, kept whole through its chunks by GELU and the product
      BF16 * f + // GELU's output, kept by the product
      BF16 * f; // the product, kept by Wo
    expect(savedPerLayer(modernbert, HF)).toBe(perToken * T);
    // layer 0 has no attn_norm: its attention reads the embeddings' output as it is, where
    // layer 1's first makes the norm's output, mean and rstd
    const twoLayers = { ...modernbert, num_hidden_layers: 2 };
    const [first, second] = [0, 1].map((layer) => layerForwardAllocations(twoLayers, HF, layer));
    expect(second).toEqual([BF16 * h * T, FP32 * T, FP32 * T, ...first]);
  });

  it("ELECTRA's layer is BERT's: the same saved bytes", () => {
    const encoder = {
      hidden_size: h,
      num_attention_heads: a,
      intermediate_size: f,
      vocab_size: 1024,
    };
    expect(savedPerLayer({ ...encoder, model_type: 'electra' }, HF)).toBe(
      savedPerLayer({ ...encoder, model_type: 'bert' }, HF),
    );
  });

  it("BERT's masked-LM head: the transform keeps its dense output, GELU's output, LayerNorm's stats and output; its weights are h x h + h + 2h", () => {
    const bert = {
      model_type: 'bert',
      hidden_size: h,
      num_attention_heads: a,
      intermediate_size: f,
      vocab_size: 1024,
      num_hidden_layers: 1,
    };
    const withTransform = forwardEnd(bert, HF).live;
    const without = forwardEnd({ ...bert, maskedLmHead: false }, HF).live;
    const at = (live: Float64Array, name: string) =>
      live[ALLOCATED_COMPONENTS.indexOf(name as (typeof ALLOCATED_COMPONENTS)[number])];
    // BertPredictionHeadTransform: dense's output (F.gelu saves its input), GELU's output
    // (layer_norm saves its input), the mean and rstd (fp32 each), LayerNorm's output (the
    // decoder's input, where without the transform the last layer's output is).
    const perToken = BF16 * h + BF16 * h + 2 * FP32 + BF16 * h;
    expect(at(withTransform, 'activations') - at(without, 'activations')).toBe(perToken * T);
    expect(at(withTransform, 'logitsAndLoss')).toBe(at(without, 'logitsAndLoss'));
    expect(at(withTransform, 'weights') - at(without, 'weights')).toBe(BF16 * (h * h + h + 2 * h));
  });

  it("CodeGen: GPT-J's layer from one qkv_proj (each of q, k, v copied out of its four shards), the mask added in place", () => {
    const codegen = { ...GPTJ, model_type: 'codegen' };
    // The same kept bytes: the q and k copies go once RoPE has read them, v's copy is the v the
    // probabilities' matmul keeps.
    expect(savedPerLayer(codegen, HF, 'n_layer')).toBe(savedPerLayer(GPTJ, HF, 'n_layer'));
    // GPT-J makes the scores, scores / scale_attn, + mask and the softmax; CodeGen's
    // attn_weights += causal_mask writes into the scores.
    const scoreMatrix = FP32 * a * T * T;
    const fullSize = (config: Record<string, unknown>) =>
      layerForwardAllocations(config, HF).filter((bytes) => bytes === scoreMatrix).length;
    expect(fullSize(GPTJ)).toBe(4);
    expect(fullSize(codegen)).toBe(3);
    // qkv_proj's output (T x 3h), then the three copies _split_heads makes (T x h each).
    const made = layerForwardAllocations(codegen, HF);
    const at = made.indexOf(BF16 * 3 * h * T);
    expect(made.slice(at + 1, at + 4)).toEqual([BF16 * h * T, BF16 * h * T, BF16 * h * T]);
  });

  it('MPT: one Wqkv kept whole through its views, ALiBi promoting the scores to fp32, exact GELU', () => {
    const config = {
      model_type: 'mpt',
      d_model: h,
      n_heads: a,
      expansion_ratio: f / h,
      vocab_size: 1024,
      max_seq_len: 2048,
    };
    const perToken =
      BF16 * h +
      layerNormStats + // the layer input, kept by norm_1, and its stats
      BF16 * h + // norm_1's output, kept by Wqkv
      3 * BF16 * h + // Wqkv's output: q and k (views) kept by the scores' matmul, v by the context's
      FP32 * a * T + // softmax's fp32 output
      BF16 * a * T + // its cast to value.dtype, kept by the matmul with v
      BF16 * h + // the context's contiguous permute, kept by out_proj
      BF16 * h +
      layerNormStats + // attention + residual, kept by norm_2
      BF16 * h + // norm_2's output, kept by up_proj
      2 * BF16 * f; // up_proj's output kept by GELU, GELU's by down_proj
    expect(savedPerLayer(config, HF, 'n_layers')).toBe(perToken * T);
    // The scores and their scaled copy in bf16; + position_bias (fp32), masked_fill and the
    // softmax in fp32; the cast back in bf16.
    const made = layerForwardAllocations({ ...config, n_layers: 1 }, HF);
    const count = (bytes: number) => made.filter((b) => b === bytes).length;
    expect(count(BF16 * a * T * T)).toBe(3);
    expect(count(FP32 * a * T * T)).toBe(3);
  });

  it("ALiBi, built once per forward: MPT's (heads, 1, max_seq_len) in fp32, BLOOM's (batch x heads, 1, seq) in the hidden dtype, no rotary tables; a checkpoint keeps it", () => {
    const mpt = { model_type: 'mpt', d_model: h, n_heads: a, n_layers: 1, vocab_size: 1024 };
    const at = (maxSeqLen: number, training: Record<string, unknown> = {}) =>
      forwardEnd(
        { ...mpt, max_seq_len: maxSeqLen },
        settings({ preset: 'hf-transformers' }, training),
      ).live[ALLOCATED_COMPONENTS.indexOf('activations')];
    expect(endForwardAllocations({ ...mpt, max_seq_len: 2048 }, HF, 'embedding')).toContain(
      FP32 * a * 2048,
    );
    // A local of MptModel.forward: gone when the forward ends, unless a checkpointed block holds
    // it as its argument until its recompute.
    expect(at(4096) - at(2048)).toBe(0);
    const checkpointed = { activationCheckpointing: 'full' };
    expect(at(4096, checkpointed) - at(2048, checkpointed)).toBe(FP32 * a * (4096 - 2048));
    const bloom = { model_type: 'bloom', hidden_size: h, n_head: a, n_layer: 1, vocab_size: 1024 };
    const made = endForwardAllocations(bloom, HF, 'embedding');
    expect(made).toContain(BF16 * a * T); // one sequence: heads x seq, bf16 here
    // No cos and sin of tokens x head dim, nor their fp32 frequencies.
    expect(made.filter((bytes) => bytes === BF16 * T * d || bytes === FP32 * T * (d / 2))).toEqual(
      [],
    );
  });

  it('GPT-Neo: no SDPA path either; bias-free q, k, v cast to fp32 for unscaled scores, gelu_new written out', () => {
    const config = {
      model_type: 'gpt_neo',
      hidden_size: h,
      num_heads: a,
      intermediate_size: f,
      vocab_size: 1024,
      max_position_embeddings: 2048,
    };
    const perToken =
      BF16 * h +
      layerNormStats + // the layer input, kept by ln_1, and its stats
      BF16 * h + // ln_1's output, kept by q_proj, k_proj and v_proj
      2 * FP32 * a * d + // query.to(torch.float32), key.to(torch.float32), kept by the scores' matmul
      FP32 * a * T + // softmax's fp32 output
      BF16 * a * T + // its cast to value.dtype, kept by the matmul with v
      BF16 * a * d + // v
      BF16 * a * d + // _merge_heads' contiguous copy, kept by out_proj
      BF16 * h +
      layerNormStats + // attn_output + residual, kept by ln_2
      BF16 * h + // ln_2's output, kept by c_fc
      BF16 * f + // c_fc's output, kept by pow(x, 3)
      BF16 * f + // tanh's output
      2 * BF16 * f + // 0.5 * x and 1 + tanh, kept by their product
      BF16 * f; // the product, kept by c_proj
    expect(savedPerLayer(config, HF, 'num_layers')).toBe(perToken * T);
    const one = { ...config, num_layers: 1 };
    const { notes } = forwardEnd(one, HF);
    expect(notes.some((note) => note.startsWith("GPT-Neo's model code has no SDPA path"))).toBe(
      true,
    );
    // GPTNeoForCausalLM: lm_head's bf16 logits, lm_logits.to(torch.float32) for the loss,
    // log_softmax's fp32 output, then lm_logits.to(hidden_states.dtype) returned.
    const logits = T * config.vocab_size;
    const head = endForwardAllocations(one, HF, 'loss').filter((bytes) => bytes >= BF16 * logits);
    expect(head).toEqual([BF16 * logits, FP32 * logits, FP32 * logits, BF16 * logits]);
  });

  it("PEFT casts a bf16 adapter input to its fp32 adapters under autocast too; litgpt's LoRA does not", () => {
    // lora.Linear.forward: x = self._cast_input_dtype(x, lora_A.weight.dtype), then
    // lora_dropout(x). Under autocast with fp32 adapters down_proj's input, act(gate) * up, is
    // bf16: an fp32 [T, f] copy and the dropout's fp32 output, in each layer (trace-55, PEFT
    // 0.21, holds both for o_proj's and down_proj's inputs). q, k, v, gate and up read the fp32
    // stream's norm, which needs no cast.
    const config = { ...BASE, model_type: 'llama', num_hidden_layers: 2, vocab_size: 1000 };
    const lora = (modelCode: 'hf-transformers' | 'litgpt') =>
      settings(
        { preset: modelCode === 'litgpt' ? 'litgpt' : 'hf-transformers', modelCode },
        {
          method: 'lora',
          precision: 'bf16-mixed',
          lora: { rank: 8, alpha: 16, dropout: 0.1, targetModules: 'all-linear' },
        },
      );
    const fp32MlpWide = T * f * FP32;
    expect(allocationsOf(config, lora('hf-transformers'), fp32MlpWide).forward).toBe(2 * 2);
    expect(allocationsOf(config, lora('litgpt'), fp32MlpWide).forward).toBe(0);
  });

  it("Granite: each residual branch scaled by residual_multiplier, which keeps nothing: Llama's layer", () => {
    const config = { ...BASE, model_type: 'granite', residual_multiplier: 0.22 };
    const llamaPerToken =
      2 * llamaNorm + BF16 * a * d + BF16 * g * d * 2 + BF16 * a * d + lse + swiGluMlp;
    expect(savedPerLayer(config, HF)).toBe(llamaPerToken * T);
  });

  it('Granite: per layer two hidden-sized tensors more in forward (the scaled branches) and two in backward (their gradients)', () => {
    const hiddenState = T * h * BF16;
    const perLayer = (model_type: string) => {
      const at = (layers: number) =>
        allocationsOf({ ...BASE, model_type, num_hidden_layers: layers }, HF, hiddenState);
      const [one, two] = [at(1), at(2)];
      return { forward: two.forward - one.forward, backward: two.backward - one.backward };
    };
    const llama = perLayer('llama');
    const granite = perLayer('granite');
    expect(granite.forward - llama.forward).toBe(2);
    expect(granite.backward - llama.backward).toBe(2); // MulBackward0: grad * residual_multiplier
  });

  it("Cohere2: RoPE on the sliding layers only, so a full-attention layer makes none of rotary's tensors", () => {
    const kSized = T * g * d * BF16;
    const forwardPerLayer = (type: string) => {
      const at = (layers: number) =>
        allocationsOf(
          {
            ...BASE,
            model_type: 'cohere2',
            num_hidden_layers: layers,
            layer_types: Array<string>(layers).fill(type),
          },
          HF,
          kSized,
        ).forward;
      return at(2) - at(1);
    };
    // apply_rotary_pos_emb on k: k * cos, rotate_half's cat, * sin, the sum, then hf-parallel's
    // torch.cat with the (here empty) unrotated part; and rotate_half's -x2 of q, whose half of
    // 4 heads has k's size (2 heads).
    expect(forwardPerLayer('sliding_attention') - forwardPerLayer('full_attention')).toBe(5 + 1);
  });

  it("SmolLM3: a NoPE layer hands attention q and k as projected, making none of rotary's tensors", () => {
    const kSized = T * g * d * BF16;
    const forwardPerLayer = (flag: number) => {
      const at = (layers: number) =>
        allocationsOf(
          {
            ...BASE,
            model_type: 'smollm3',
            num_hidden_layers: layers,
            no_rope_layers: Array<number>(layers).fill(flag),
          },
          HF,
          kSized,
        ).forward;
      return at(2) - at(1);
    };
    // apply_rotary_pos_emb on k: k * cos, rotate_half's cat, * sin, the sum; and rotate_half's
    // -x2 of q, whose half of 4 heads has k's size (2 heads).
    expect(forwardPerLayer(1) - forwardPerLayer(0)).toBe(4 + 1);
  });

  it('OPT: pre-LayerNorm, q scaled as its own tensor, ReLU keeping its output, dropout masks before both adds', () => {
    const config = { ...BASE, model_type: 'opt', ffn_dim: f };
    delete (config as Record<string, unknown>).num_key_value_heads; // OPT's heads all keep K/V
    const perToken =
      BF16 * h +
      layerNormStats + // the layer input, kept by self_attn_layer_norm, and its stats
      BF16 * h + // the normed input, kept by q_proj, k_proj and v_proj
      3 * BF16 * a * d + // q * scaling, k, v kept by flash attention
      BF16 * a * d +
      lse + // attention output (kept by out_proj too) and log-sum-exp
      1 * h + // dropout's mask (config.dropout 0.1)
      BF16 * h +
      layerNormStats + // the residual sum, kept by final_layer_norm
      BF16 * h + // its output, kept by fc1
      BF16 * f + // ReLU's output, kept by it and by fc2
      1 * h; // fc2's dropout mask
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it("OPT-350m: each LayerNorm after its add (do_layer_norm_before false), the layer input kept by q, k and v, the layer ending on final_layer_norm's output", () => {
    const config = { ...BASE, model_type: 'opt', ffn_dim: f, do_layer_norm_before: false };
    delete (config as Record<string, unknown>).num_key_value_heads;
    const perToken =
      BF16 * h + // the layer input, kept by q_proj, k_proj and v_proj
      3 * BF16 * a * d + // q * scaling, k, v kept by flash attention
      BF16 * a * d +
      lse + // attention output (kept by out_proj too) and log-sum-exp
      1 * h + // out_proj's dropout mask
      BF16 * h +
      layerNormStats + // the residual sum, kept by self_attn_layer_norm
      BF16 * h + // its output, kept by fc1 (and held as `residual`)
      BF16 * f + // ReLU's output, kept by it and by fc2
      1 * h + // fc2's dropout mask
      BF16 * h +
      layerNormStats; // the second sum, kept by final_layer_norm
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
    // The layer's last allocations: the second sum, then final_layer_norm's output, mean, rstd
    // (a pre-norm layer ends on its residual add instead).
    const made = layerForwardAllocations(config, HF);
    expect(made.slice(-4)).toEqual([BF16 * h * T, BF16 * h * T, FP32 * T, FP32 * T]);
  });

  it("BART encoder layer: OPT-350m's post-LN layer with GELU, activation dropout's mask, q unscaled (the kernel scales)", () => {
    const config = bart({ decoder_layers: 1, dropout: 0.1, activation_dropout: 0.1 });
    const perToken =
      BF16 * h + // the layer input, kept by q_proj, k_proj and v_proj
      3 * BF16 * a * d + // q, k, v kept by flash attention
      BF16 * a * d +
      lse + // attention output (kept by out_proj too) and log-sum-exp
      1 * h + // out_proj's dropout mask
      BF16 * h +
      layerNormStats + // the residual sum, kept by self_attn_layer_norm
      BF16 * h + // its output, kept by fc1
      BF16 * f + // fc1's output, kept by GELU
      1 * f + // activation_dropout's mask
      BF16 * f + // the dropped activation, kept by fc2
      1 * h + // fc2's dropout mask
      BF16 * h +
      layerNormStats; // the second sum, kept by final_layer_norm
    expect(savedPerLayer(config, HF, 'encoder_layers')).toBe(perToken * T);
  });

  it('BART decoder layer: a third post-LN sub-layer, encoder_attn over the encoder output; under eager the cross mask is held with the causal one', () => {
    const config = bart({ encoder_layers: 1, dropout: 0 });
    const sublayer = (kept: number) => kept + BF16 * h + layerNormStats + BF16 * h;
    const attention = 3 * BF16 * a * d + BF16 * a * d + lse; // q, k, v, output, log-sum-exp
    const perToken =
      sublayer(BF16 * h + attention) + // self-attention on the layer input; norm; its output
      // encoder_attn: q_proj keeps the normed states (counted above); k_proj and v_proj read
      // the encoder output, held for every decoder layer already
      sublayer(attention) +
      BF16 * f + // fc1's output, kept by GELU
      BF16 * f + // GELU's output, kept by fc2
      BF16 * h +
      layerNormStats; // the last sum, kept by final_layer_norm
    expect(savedPerLayer(config, HF, 'decoder_layers')).toBe(perToken * T);
    // Eager: the encoder's (b, 1, s, s) additive mask serves the decoder's causal one too; the
    // decoder builds one more for its cross-attention as it embeds, held while it runs. SDPA
    // gets none on full batches.
    const masks = (runtime: Record<string, unknown>) =>
      endForwardAllocations(config, settings(runtime), 'embedding').filter(
        (bytes) => bytes === BF16 * T * T,
      ).length;
    expect(masks({ preset: 'hf-transformers', attention: 'eager' })).toBe(2);
    expect(masks({ preset: 'hf-transformers' })).toBe(0);
  });

  it("mBART encoder layer: BART's modules pre-LN, each LayerNorm keeping its input, the sums left for the next norm", () => {
    const config = bart({ model_type: 'mbart', decoder_layers: 1, dropout: 0.1 });
    const perToken =
      BF16 * h +
      layerNormStats + // the layer input, kept by self_attn_layer_norm
      BF16 * h + // its output, kept by q_proj, k_proj and v_proj
      3 * BF16 * a * d + // q, k, v kept by flash attention
      BF16 * a * d +
      lse + // attention output (kept by out_proj too) and log-sum-exp
      1 * h + // out_proj's dropout mask
      BF16 * h +
      layerNormStats + // the residual sum, kept by final_layer_norm
      BF16 * h + // its output, kept by fc1
      BF16 * f + // fc1's output, kept by GELU
      BF16 * f + // GELU's output, kept by fc2
      1 * h; // fc2's dropout mask; the layer's sum is the next layer's input
    expect(savedPerLayer(config, HF, 'encoder_layers')).toBe(perToken * T);
    // activation_function 'relu': nn.ReLU keeps its output, which fc2 keeps too.
    const relu = { ...config, activation_function: 'relu' };
    expect(savedPerLayer(relu, HF, 'encoder_layers')).toBe((perToken - BF16 * f) * T);
  });

  describe('Whisper (modeling_whisper.py): the encoder over its audio frames, whatever the text', () => {
    // 64 frames (max_source_positions) from 128 log-mel frames of 80 bins; the text 128 tokens
    const F = 64;
    const S = 128;
    const config = {
      model_type: 'whisper',
      d_model: h,
      encoder_layers: 1,
      decoder_layers: 1,
      encoder_attention_heads: a,
      decoder_attention_heads: a,
      encoder_ffn_dim: f,
      decoder_ffn_dim: f,
      num_mel_bins: 80,
      max_source_positions: F,
      vocab_size: 1024,
    };
    const run = settings({ preset: 'hf-transformers' }, { sequenceLength: S });
    const row = BF16 * h;

    it("the encoder's input: the features, conv1 over 2F frames and GELU, conv2 (stride 2) and GELU over F, plus the frozen table", () => {
      expect(endForwardAllocations(config, run, 'embedding').slice(0, 6)).toEqual([
        BF16 * 80 * 2 * F, // input_features in the model's dtype
        2 * F * row, // conv1
        2 * F * row, // gelu, kept by conv2
        F * row, // conv2
        F * row, // gelu: inputs_embeds, a local until the encoder returns
        F * row, // + embed_positions.weight
      ]);
    });

    it('an encoder layer keeps over the F frames what an mBART layer keeps over its tokens, whatever the text', () => {
      const perFrame =
        2 * row + // the input and self_attn_layer_norm's output
        3 * row + // q, k and v made contiguous
        row + // the attention's output
        FP32 * a + // its log-sum-exp
        2 * row + // the residual sum and final_layer_norm's output
        2 * BF16 * f; // fc1's output (kept by GELU) and GELU's (kept by fc2)
      // each LayerNorm's mean and rstd: 64 fp32 values, a 512-B block each
      const stats = 2 * 2 * Math.ceil((FP32 * F) / 512) * 512;
      expect(savedPerLayer(config, run, 'encoder_layers')).toBe(perFrame * F + stats);
      const longer = settings({ preset: 'hf-transformers' }, { sequenceLength: 2 * S });
      expect(savedPerLayer(config, longer, 'encoder_layers')).toBe(perFrame * F + stats);
    });

    it("WhisperAttention: q_proj's output scaled, then q, k and v each made contiguous; the cross-attention's k and v over the F frames", () => {
      const decoder = layerForwardAllocations(config, run, 1);
      const T2 = S * row;
      expect(decoder.slice(3, 13)).toEqual([
        T2, // q_proj
        T2, // * self.scaling
        T2, // .transpose(1, 2).contiguous()
        T2, // k_proj
        T2, // contiguous
        T2, // v_proj
        T2, // contiguous
        T2, // SDPA's output
        FP32 * S * a, // its log-sum-exp
        T2, // out_proj
      ]);
      // encoder_attn: q over the tokens, k and v over the encoder's F frames
      expect(decoder.slice(17, 25)).toEqual([T2, T2, T2, F * row, F * row, F * row, F * row, T2]);
    });
  });

  it("OPT-350m's ends: the narrow lookup projected in before the positions are added, projected out before the head", () => {
    const width = 128; // word_embed_proj_dim under h = 256
    const config = {
      ...BASE,
      model_type: 'opt',
      ffn_dim: f,
      do_layer_norm_before: false,
      word_embed_proj_dim: width,
    };
    delete (config as Record<string, unknown>).num_key_value_heads;
    // OPTDecoder.forward: embed_tokens (T x width), embed_positions (T x h), project_in (T x h),
    // inputs_embeds + pos_embeds (T x h).
    expect(endForwardAllocations(config, HF, 'embedding').slice(0, 4)).toEqual([
      BF16 * T * width,
      BF16 * T * h,
      BF16 * T * h,
      BF16 * T * h,
    ]);
    // No final_layer_norm: project_out (T x width), then lm_head's logits (T x vocab).
    expect(endForwardAllocations(config, HF, 'loss').slice(0, 2)).toEqual([
      BF16 * T * width,
      BF16 * T * BASE.vocab_size,
    ]);
  });

  it('StarCoder2: biased LayerNorms, a plain MLP whose fused GELU keeps its input, residual_dropout masks before both adds', () => {
    const config = { ...BASE, model_type: 'starcoder2', residual_dropout: 0.1 };
    const perToken =
      BF16 * h +
      layerNormStats + // the layer input, kept by input_layernorm, and its stats
      BF16 * h + // the normed input, kept by q_proj, k_proj and v_proj
      BF16 * a * d +
      BF16 * g * d * 2 + // rotated q and k, v
      BF16 * a * d +
      lse +
      1 * h + // o_proj's dropout mask
      BF16 * h +
      layerNormStats + // the residual sum, kept by post_attention_layernorm
      BF16 * h + // its output, kept by c_fc
      2 * BF16 * f + // c_fc's output kept by gelu_pytorch_tanh, its output by c_proj
      1 * h; // c_proj's dropout mask
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  const BIGCODE = {
    model_type: 'gpt_bigcode',
    n_embd: h,
    n_inner: f,
    n_head: a,
    n_layer: 1,
    vocab_size: 1024,
    n_positions: 2048,
    resid_pdrop: 0.1,
  };

  it("GPT-BigCode: no RoPE, one c_attn kept whole by the q and single K/V head views flash keeps, resid_pdrop's masks before both adds", () => {
    const perToken =
      BF16 * h +
      layerNormStats + // the layer input, kept by ln_1, and its stats
      BF16 * h + // ln_1's output, kept by c_attn
      BF16 * (a * d + 2 * d) + // c_attn's output: q and the one K/V head are views of it
      BF16 * a * d +
      lse + // attention output, log-sum-exp
      1 * h + // attn.resid_dropout's mask
      BF16 * h +
      layerNormStats + // the residual sum, kept by ln_2
      BF16 * h + // its output, kept by c_fc
      2 * BF16 * f + // c_fc's output kept by gelu_pytorch_tanh, its output by c_proj
      1 * h; // mlp.dropout's mask
    expect(savedPerLayer(BIGCODE, HF, 'n_layer')).toBe(perToken * T);
  });

  it("GPT-BigCode's model keeps one n_positions x n_positions bool causal mask beside wpe's rows", () => {
    const WEIGHTS = ALLOCATED_COMPONENTS.indexOf('weights');
    const weights = (positions: number) =>
      forwardEnd({ ...BIGCODE, n_positions: positions }, HF).live[WEIGHTS];
    const wpe = (2048 - 1024) * h * BF16;
    const mask = (2048 * 2048 - 1024 * 1024) * 1; // GPTBigCodeModel.bias, torch.bool
    expect(weights(2048) - weights(1024)).toBe(wpe + mask);
  });

  it("Seed-OSS: Llama's layer and residual_dropout's masks on o_proj's and down_proj's outputs (flash drops the probabilities with its own RNG)", () => {
    const config = { ...BASE, model_type: 'seed_oss', head_dim: d };
    const perToken =
      2 * llamaNorm + BF16 * a * d + BF16 * g * d * 2 + BF16 * a * d + lse + swiGluMlp + 2 * 1 * h; // the two one-byte dropout masks (residual_dropout 0.1, the config's default)
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it("Arcee: Llama's layer with NemotronMLP, relu2 keeping relu's output and torch.square's", () => {
    const config = { ...BASE, model_type: 'arcee' };
    const perToken =
      2 * llamaNorm + BF16 * a * d + BF16 * g * d * 2 + BF16 * a * d + lse + 2 * BF16 * f; // relu's output (kept by relu and by square), square's (kept by down_proj)
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
    // up_proj's output, relu's, square's: three f-wide tensors made in a row (a fused GELU
    // makes two), the first freed as relu keeps only its output.
    const fWide = BF16 * f * T;
    const sizes = layerForwardAllocations({ ...config, num_hidden_layers: 1 }, HF);
    const first = sizes.indexOf(fWide);
    expect(sizes.slice(first, first + 3)).toEqual([fWide, fWide, fWide]);
  });

  it('Nemotron: LayerNorm1P and relu2 keep what LayerNorm and relu2 keep; each norm keeps weight + 1', () => {
    const config = { ...BASE, model_type: 'nemotron', head_dim: d };
    const perToken =
      2 * (BF16 * h + layerNormStats + BF16 * h) + // each norm's input and stats, its output
      BF16 * a * d +
      BF16 * g * d * 2 +
      BF16 * a * d +
      lse +
      2 * BF16 * f; // relu's output, square's
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
    // self.weight + 1: an h-vector per norm (512 B), derived from the weight, kept by the norm.
    const WEIGHTS = ALLOCATED_COMPONENTS.indexOf('weights');
    const weightsAt = (layers: number) =>
      forwardEnd({ ...config, num_hidden_layers: layers }, HF).live[WEIGHTS];
    const qkvo = BF16 * (h * a * d + 2 * h * g * d + a * d * h);
    const mlp = BF16 * 2 * h * f;
    const norms = BF16 * 2 * 2 * h; // two norms' weights and biases
    expect(weightsAt(2) - weightsAt(1)).toBe(qkvo + mlp + norms + 2 * BF16 * h);
  });

  it('Nemotron under autocast: each norm reads a bf16 copy of the stream and hands bf16 to the linears', () => {
    const config = { ...BASE, model_type: 'nemotron', head_dim: d };
    const amp = settings({ preset: 'hf-transformers' }, { precision: 'bf16-mixed' });
    const layerNorm = { ...config, model_type: 'llama', mlp: 'plain', norm: 'layernorm' };
    // Autocast's LayerNorm keeps the fp32 stream (4 B x h) and returns fp32, which q_proj, k_proj
    // and v_proj each cast to a bf16 copy they keep (3 x 2 B x h), up_proj one (2 B x h).
    // LayerNorm1P keeps a bf16 copy of the stream (2 B x h) and returns bf16 the linears keep as
    // it is (2 B x h): per token -6 B x h at the attention's norm, -2 B x h at the MLP's.
    const attentionNorm = 2 * h + 2 * h - (4 * h + 3 * 2 * h);
    const mlpNorm = 2 * h + 2 * h - (4 * h + 2 * h);
    const perToken = attentionNorm + mlpNorm;
    expect(savedPerLayer(config, amp) - savedPerLayer(layerNorm, amp)).toBe(perToken * T);
  });

  it('a config without model_type and "mlp": "plain": the Llama layer with LayerNorms and a plain MLP', () => {
    const perToken =
      2 * (BF16 * h + layerNormStats + BF16 * h) + // each LayerNorm's input and stats, its output
      BF16 * a * d +
      BF16 * g * d * 2 +
      BF16 * a * d +
      lse +
      2 * BF16 * f; // up_proj's output kept by the activation, its output by down_proj
    expect(savedPerLayer({ ...BASE, mlp: 'plain' }, HF)).toBe(perToken * T);
  });

  it("eager attention with attention_dropout (Granite's 0.1): a one-byte mask per score more", () => {
    const eager = settings({ preset: 'hf-transformers', attention: 'eager' });
    const granite = { ...BASE, model_type: 'granite' };
    const withDropout = savedPerLayer({ ...granite, attention_dropout: 0.1 }, eager);
    const without = savedPerLayer({ ...granite, attention_dropout: 0 }, eager);
    // native_dropout's bool mask; its bf16 output replaces the cast probabilities in the matmul.
    expect(withDropout - without).toBe(a * T * T * 1);
  });

  // Olmo2RMSNorm: x.float() and rsqrt kept, (weight * normed) keeps the fp32 normed.
  const olmoNorm = (width: number) => FP32 * width + FP32 + FP32 * width;
  const olmoPerToken =
    BF16 * h + // the layer input, kept by q_proj, k_proj and v_proj (no pre-norm)
    olmoNorm(a * d) +
    olmoNorm(g * d) +
    BF16 * a * d +
    BF16 * g * d +
    BF16 * g * d + // q and k rotated (and cast back to bf16), v
    BF16 * a * d +
    lse +
    olmoNorm(h) + // post_attention_layernorm
    BF16 * h + // the residual sum, kept by gate_proj and up_proj
    swiGluMlp +
    olmoNorm(h); // post_feedforward_layernorm

  it('OLMo-2: q/k norms over the whole projections and post norms, each multiplying in fp32', () => {
    expect(savedPerLayer({ ...BASE, model_type: 'olmo2' }, HF)).toBe(olmoPerToken * T);
  });

  it("GLM-4: Llama's saved bytes (biases keep nothing more; gate_up_proj's output, kept whole by both chunks, is gate and up) and the half-head cos and sin each layer repeat-interleaves; GLM-4-0414's post norms keep their internals", () => {
    const glm = { ...BASE, head_dim: d, attention_bias: true, partial_rotary_factor: 0.5 };
    const llamaPerToken =
      2 * llamaNorm +
      BF16 * a * d +
      BF16 * g * d * 2 +
      BF16 * a * d +
      lse +
      swiGluMlp +
      2 * BF16 * (d / 2); // cos and sin over the rotated half, kept by q_rot * cos and * sin
    expect(savedPerLayer({ ...glm, model_type: 'glm' }, HF)).toBe(llamaPerToken * T);
    // post_self_attn_layernorm and post_mlp_layernorm: x.to(float32), rsqrt and the cast back
    // kept; their output goes to the residual add, which keeps nothing.
    const postNorm = FP32 * h + FP32 + BF16 * h;
    expect(savedPerLayer({ ...glm, model_type: 'glm4' }, HF)).toBe(
      (llamaPerToken + 2 * postNorm) * T,
    );
  });

  it("FlexOlmo: OLMo-2's layer with OLMoE's sparse block in place of the MLP, which keeps under the post norm what it keeps under OLMoE's pre norm", () => {
    const moe = { num_experts: 4, num_experts_per_tok: 2, num_hidden_layers: 1 };
    const flex = savedPerLayer({ ...BASE, ...moe, model_type: 'flex_olmo' }, HF);
    const olmo2 = savedPerLayer({ ...BASE, model_type: 'olmo2' }, HF);
    const olmoe = savedPerLayer({ ...BASE, ...moe, model_type: 'olmoe' }, HF);
    const olmoeDense = savedPerLayer({ ...BASE, ...moe, num_experts: 0, model_type: 'olmoe' }, HF);
    expect(olmoe).toBeGreaterThan(olmoeDense);
    expect(flex - olmo2).toBe(olmoe - olmoeDense);
  });

  it("ERNIE 4.5: Llama's layer, and each layer's fp32 repeat-interleaved cos and sin kept for q's and k's gradients", () => {
    const config = { ...BASE, model_type: 'ernie4_5', head_dim: d, tie_word_embeddings: true };
    const perToken =
      2 * llamaNorm +
      BF16 * a * d + // rotated q, cast back to bf16, kept by flash attention
      BF16 * g * d * 2 +
      BF16 * a * d +
      lse +
      swiGluMlp +
      2 * FP32 * d; // cos and sin repeat-interleaved: q.float() * cos keeps cos, ... * sin sin
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it("Helium: HeliumRMSNorm's fp32 product keeps the fp32 weight it casts; each layer's repeat-interleaved cos and sin kept by rotary's products", () => {
    const config = { ...BASE, model_type: 'helium', head_dim: d };
    // x.to(float32) and rsqrt kept, the fp32 normalised tensor kept by the product with the
    // weight's fp32 copy (which the product keeps too), the bf16 cast kept by the linears.
    const heliumNorm = olmoNorm(h) + BF16 * h;
    const perToken =
      2 * heliumNorm +
      BF16 * a * d + // rotated q
      BF16 * g * d * 2 + // rotated k, v
      BF16 * a * d +
      lse +
      swiGluMlp +
      2 * BF16 * d; // cos[..., :d/2].repeat_interleave(2) and sin's, kept by q * cos and * sin
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
    // self.weight.to(torch.float32) in both norms: kept by the products until backward,
    // counted with the weights as every cast of a weight is.
    const WEIGHTS = ALLOCATED_COMPONENTS.indexOf('weights');
    const weightsAt = (layers: number) =>
      forwardEnd({ ...config, num_hidden_layers: layers }, HF).live[WEIGHTS];
    const layerWeights = BF16 * (2 * h * a * d + 2 * h * g * d + 3 * h * f + 2 * h);
    expect(weightsAt(2) - weightsAt(1)).toBe(layerWeights + 2 * FP32 * h);
  });

  it("Apertus: Qwen3's per-head q/k norms, and xIELU written out keeps its input, the mask, alpha_p * x, expm1's output and the difference", () => {
    const config = { ...BASE, model_type: 'apertus', head_dim: d };
    const norm = (width: number, rows = 1) => FP32 * width + FP32 * rows + BF16 * width;
    const xielu =
      BF16 * f + // up_proj's output, kept by alpha_p * x, * x and min(x, eps)
      1 * f + // x > 0, kept by torch.where
      BF16 * f + // alpha_p * x, kept by (alpha_p * x) * x
      BF16 * f + // expm1(min(x, eps)), kept by expm1 (its output)
      BF16 * f + // expm1(...) - x, kept by * alpha_n for alpha_n's gradient
      BF16 * f; // torch.where's output, kept by down_proj
    const perToken =
      2 * llamaNorm + // attention_layernorm, feedforward_layernorm
      norm(a * d, a) + // q_norm over each head
      norm(g * d, g) +
      BF16 * a * d + // rotated q
      BF16 * g * d * 2 + // rotated k, v
      BF16 * a * d +
      lse +
      xielu;
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
    // softplus(alpha_p) and beta + softplus(alpha_n), one element each in a 512-byte block,
    // kept by the products they scale; counted with the weights they are made from, beside
    // alpha_p and alpha_n themselves (a block each).
    const WEIGHTS = ALLOCATED_COMPONENTS.indexOf('weights');
    const weightsAt = (layers: number) =>
      forwardEnd({ ...config, num_hidden_layers: layers }, HF).live[WEIGHTS];
    const layerWeights = BF16 * (2 * h * a * d + 2 * h * g * d + 2 * h * f + 2 * h);
    const qkNorms = 2 * 512; // 64 bf16 elements each, in a 512-byte block
    expect(weightsAt(2) - weightsAt(1)).toBe(layerWeights + qkNorms + 2 * 512 + 2 * 512);
    // Under autocast the alphas are fp32 and one-dimensional, so alpha_p * x and the products
    // after it promote: x 2, the mask 1, alpha_p * x 4, expm1 2, the difference 2, and down_proj's
    // bf16 cast of the fp32 output 2 bytes per element, against SiLU's input and output (2 + 2).
    const mixed = settings({ preset: 'hf-transformers' }, { precision: 'bf16-mixed' });
    const silu = { ...config, hidden_act: 'silu' };
    expect(savedPerLayer(config, mixed) - savedPerLayer(silu, mixed)).toBe((13 - 4) * f * T);
  });

  it("EXAONE 4.0: OLMo-2's post norms and per-head q/k norms, each Llama's RMSNorm", () => {
    const config = {
      ...BASE,
      model_type: 'exaone4',
      head_dim: d,
      sliding_window: 4096, // longer than the sequence: no mask
      layer_types: ['sliding_attention', 'sliding_attention'], // for the one and two layers compared
    };
    // LlamaRMSNorm over `width` with one rsqrt per row: x.to(float32), rsqrt and the cast back
    // kept; an output that a linear reads is kept too, one that a residual add or RoPE reads not.
    const norm = (width: number, rows = 1) => FP32 * width + FP32 * rows + BF16 * width;
    const perToken =
      BF16 * h + // the layer input, kept by q_proj, k_proj and v_proj (no pre-norm)
      norm(a * d, a) + // q_norm: one rsqrt per head
      norm(g * d, g) +
      BF16 * a * d + // rotated q
      BF16 * g * d * 2 + // rotated k, v
      BF16 * a * d +
      lse +
      norm(h) + // post_attention_layernorm
      BF16 * h + // the residual sum, kept by gate_proj and up_proj
      swiGluMlp +
      norm(h); // post_feedforward_layernorm
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it('HunYuan dense: the per-head q/k RMSNorms run after rotary, and flash attention keeps their outputs', () => {
    const config = { ...BASE, model_type: 'hunyuan_v1_dense', head_dim: d };
    // query_layernorm(rotated q): x.to(float32), one rsqrt per head and the cast back kept; its
    // output is what the kernel keeps (the rotated q itself is not kept).
    const headNorm = (heads: number) => FP32 * heads * d + FP32 * heads + BF16 * heads * d;
    const perToken =
      2 * llamaNorm +
      headNorm(a) +
      BF16 * a * d + // normed q, kept by flash attention
      headNorm(g) +
      BF16 * g * d * 2 + // normed k, and v
      BF16 * a * d +
      lse +
      swiGluMlp;
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it("HunYuan's q norm follows rotary, Qwen3's precedes it: q's fp32 copy comes after rotary's products", () => {
    // heads of 40 and one K/V head, so that q's bf16 and fp32 sizes are no other tensor's
    const qWidth = a * 40;
    const [qBf16, qFp32] = [T * qWidth * BF16, T * qWidth * FP32];
    const bf16QsBeforeNorm = (model_type: string) => {
      const config = {
        ...BASE,
        model_type,
        head_dim: 40,
        num_key_value_heads: 1,
        num_hidden_layers: 1,
      };
      const sizes = layerForwardAllocations(config, HF);
      return sizes.slice(0, sizes.indexOf(qFp32)).filter((bytes) => bytes === qBf16).length;
    };
    expect(bf16QsBeforeNorm('qwen3')).toBe(1); // q_proj's output only
    // q_proj's output, then q * cos, rotate_half's cat, * sin and their sum
    expect(bf16QsBeforeNorm('hunyuan_v1_dense')).toBe(5);
  });

  it("OLMo-1: Llama's layer with OlmoLayerNorm, an fp32 LayerNorm without weight or bias", () => {
    // F.layer_norm(x.to(float32), shape, None, None).to(orig_dtype): the fp32 copy, mean and
    // rstd kept by native_layer_norm, and the bf16 cast back kept by the linears after it.
    const olmoLayerNorm = FP32 * h + 2 * FP32 + BF16 * h;
    const perToken =
      2 * olmoLayerNorm +
      BF16 * a * d + // rotated q
      BF16 * g * d * 2 + // rotated k and v
      BF16 * a * d +
      lse + // attention output and log-sum-exp
      swiGluMlp;
    expect(savedPerLayer({ ...BASE, model_type: 'olmo' }, HF)).toBe(perToken * T);
  });

  it("OLMo-3: OLMo-2's layer (a sliding window longer than the sequence needs no mask)", () => {
    const config = { ...BASE, model_type: 'olmo3', sliding_window: 4096 };
    expect(savedPerLayer(config, HF)).toBe(olmoPerToken * T);
  });

  it('Gemma-3: (1 + weight) norms in fp32, per-head q/k norms, and a sliding window shorter than the sequence sends SDPA a mask', () => {
    const config = { ...BASE, model_type: 'gemma3_text', head_dim: d, sliding_window: 128 };
    // Gemma3RMSNorm: x.float() and rsqrt kept, the fp32 normed kept by * (1 + weight).
    const gemmaNorm = (width: number, heads = 1) => FP32 * width + FP32 * heads + FP32 * width;
    const perToken =
      gemmaNorm(h) +
      BF16 * h + // input_layernorm and its cast output (q, k, v read it)
      gemmaNorm(a * d, a) + // q_norm: one rsqrt per head
      gemmaNorm(g * d, g) +
      BF16 * a * d + // rotated q
      2 * BF16 * a * d + // K and V repeated to every head (repeat_kv: no enable_gqa with a mask)
      BF16 * T + // the boolean mask converted to a bf16 bias, kept by the memory-efficient kernel
      BF16 * a * d +
      lse + // output; the kernel's log-sum-exp (512 queries: already 32-aligned)
      gemmaNorm(h) + // post_attention_layernorm
      gemmaNorm(h) +
      BF16 * h + // pre_feedforward_layernorm and its output
      swiGluMlp + // gelu_pytorch_tanh is one fused kernel, like SiLU
      gemmaNorm(h); // post_feedforward_layernorm
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it("VaultGemma: Gemma-2's layer without post_attention_layernorm and post_feedforward_layernorm", () => {
    // Layers of one kind (both sliding, both longer than the sequence) for the one and two
    // layers compared; eager attention, as Gemma-2's soft-capped scores need.
    const config = {
      ...BASE,
      head_dim: d,
      sliding_window: 4096,
      layer_types: ['sliding_attention', 'sliding_attention'],
      attn_logit_softcapping: 50,
      final_logit_softcapping: 30,
    };
    const eager = settings({ preset: 'hf-transformers', attention: 'eager' });
    // Gemma2RMSNorm after attention and after the MLP: x.float() and rsqrt kept, the fp32
    // normed kept by * (1 + weight); its output goes to the residual add, which keeps nothing.
    const postNorm = FP32 * h + FP32 + FP32 * h;
    const gemma2 = savedPerLayer({ ...config, model_type: 'gemma2' }, eager);
    const vault = savedPerLayer({ ...config, model_type: 'vaultgemma' }, eager);
    expect(gemma2 - vault).toBe(2 * postNorm * T);
  });

  it('gpt-oss: eager attention with a sink column, softmax in bf16; experts routed in pairs with the clamped GLU', () => {
    const config = {
      ...BASE,
      model_type: 'gpt_oss',
      head_dim: d,
      num_local_experts: 4,
      num_experts_per_tok: 2,
      sliding_window: 128,
    };
    const pairs = T * 2; // balanced routing: every (token, expert) pair computed once
    const perToken =
      llamaNorm +
      BF16 * a * d +
      2 * BF16 * a * d + // rotated q, repeated K (q k^T keeps both), repeated V
      BF16 * a * (T + 1) + // softmax over the scores and one sink logit, in bf16, kept
      BF16 * a * d + // the transposed context, kept by o_proj
      llamaNorm + // post_attention_layernorm (router and experts read its output)
      8 * 2 +
      BF16 * 2; // GptOssTopKRouter: topk's int64 indices, the bf16 softmax over the two chosen
    const perPair =
      BF16 * h +
      1 + // the gathered tokens (kept by the grouped matmul) and the one-byte sentinel
      BF16 * 2 * f + // gate_up, kept through the two clamps' inputs
      4 * BF16 * f + // clamped gate, sigmoid, glu, up + 1
      BF16 * f + // (up + 1) * glu, kept by the down projection
      BF16 * h +
      BF16; // down's output and the pair's routing weight, kept by their product
    expect(savedPerLayer(config, HF)).toBe(perToken * T + perPair * pairs);
  });

  it('DeepSeek-V3 dense layer: multi-latent attention keeps the latent norms, the decompressed K/V and the concatenated q and k', () => {
    const mla = { q: 128, kv: 64, nope: 32, rope: 32, v: 32 };
    const config = {
      ...BASE,
      num_key_value_heads: a,
      model_type: 'deepseek_v3',
      q_lora_rank: mla.q,
      kv_lora_rank: mla.kv,
      qk_nope_head_dim: mla.nope,
      qk_rope_head_dim: mla.rope,
      v_head_dim: mla.v,
      first_k_dense_replace: 8, // every layer of the spec dense
      n_routed_experts: 4,
      num_experts_per_tok: 2,
    };
    const rms = (width: number) => FP32 * width + FP32 + 2 * BF16 * width;
    const perToken =
      rms(h) +
      rms(mla.q) + // q_a_layernorm
      rms(mla.kv) + // kv_a_layernorm
      BF16 * a * (mla.nope + mla.v) + // kv_b_proj's output, kept through the value view
      2 * BF16 * a * (mla.nope + mla.rope) + // torch.cat of q and of k (rope part expanded)
      BF16 * a * mla.v +
      lse + // output (value-wide) and log-sum-exp
      rms(h) +
      swiGluMlp;
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it("Gemma-3's rotary module makes a pair of tables per layer type (global and local theta), each held through the layers; a stack of one kind makes one", () => {
    const gemma3 = (pattern: number) => ({
      ...BASE,
      model_type: 'gemma3_text',
      head_dim: d,
      num_hidden_layers: 2,
      sliding_window: 128,
      sliding_window_pattern: pattern, // 1: every layer global; 2: one local, one global
    });
    // a pair: the frequencies' fp32 transient (d / 2 a token), fp32 cos and sin and their casts
    const tables = (pattern: number) =>
      endForwardAllocations(gemma3(pattern), HF, 'embedding').filter(
        (bytes) => bytes === BF16 * T * d || bytes === FP32 * T * d,
      ).length;
    expect(tables(1)).toBe(5);
    expect(tables(2)).toBe(10);
  });

  // A T5 of the specs' shape with a ReLU MLP and one decoder layer (no dropout).
  const T5_BLOCK = {
    d_model: h,
    d_ff: f,
    num_heads: a,
    d_kv: d,
    vocab_size: 1024,
    model_type: 't5',
    dropout_rate: 0,
    num_decoder_layers: 1,
    feed_forward_proj: 'relu',
  };

  it('T5 encoder block: T5LayerNorm keeps the input and the fp32 copy; scores softmaxed in fp32 and cast back; ReLU keeps its output', () => {
    const config = T5_BLOCK;
    // x.to(float32) kept by pow, the rsqrt, x kept by x * rsqrt, the bf16 cast kept by
    // weight * it, the output kept by the next linears.
    const t5Norm = FP32 * h + FP32 + BF16 * h + BF16 * h + BF16 * h;
    const perToken =
      t5Norm +
      3 * BF16 * a * d + // q, k (kept by q k^T) and v (kept by @ v)
      FP32 * a * T + // softmax(scores.float())
      BF16 * a * T + // .type_as(scores), kept by @ v
      BF16 * a * d + // unshape's copy, kept by o
      t5Norm +
      BF16 * f; // ReLU keeps its output, which wo reads
    expect(savedPerLayer(config, HF, 'num_layers')).toBe(perToken * T);
    // T5Attention's positions are its relative bias: no rotary tables (an fp32 cos and sin of
    // d_kv a token, then their casts) are built.
    const narrowHeads = { ...config, d_kv: 48, num_layers: 1 };
    const rotaryTable = T * 48 * FP32;
    const built = (what: string) => endForwardAllocations(narrowHeads, HF, what);
    expect([...built('embedding'), ...built('layer')]).not.toContain(rotaryTable);
  });

  it("UMT5 block: T5's, its self-attention's own position bias keeping the int64 bucket ids where the table trains", () => {
    const t5 = T5_BLOCK;
    const umt5 = { ...t5, model_type: 'umt5' }; // its default MLP is gated: the ReLU one given
    // compute_bias: relative_attention_bias(relative_position_bucket) keeps the (s, s) ids for
    // the table's gradient (EmbeddingBackward); the (1, a, s, s) bias and its masked sum are
    // the attention's locals, gone when it returns.
    const ids = T * T * INT64;
    expect(savedPerLayer(umt5, HF, 'num_layers')).toBe(savedPerLayer(t5, HF, 'num_layers') + ids);
    const lora = settings({ preset: 'hf-transformers' }, { method: 'lora' });
    expect(savedPerLayer(umt5, lora, 'num_layers')).toBe(savedPerLayer(t5, lora, 'num_layers'));
    // Beyond T5's allocations, with 8 heads (so that no two sizes coincide): the bucket
    // arithmetic's scratch and the ids, (s, s) int64; the bias, (1, 8, s, s), and its sum
    // with the mask, (b, 8, s, s), in bf16.
    const eight = (config: Record<string, unknown>) => ({ ...config, num_heads: 8, num_layers: 1 });
    const count = (config: Record<string, unknown>, bytes: number) =>
      layerForwardAllocations(eight(config), HF).filter((made) => made === bytes).length;
    const more = (bytes: number) => count(umt5, bytes) - count(t5, bytes);
    expect([more(ids), more(8 * T * T * BF16)]).toEqual([2, 2]);
  });

  it('Mamba: MambaInnerFn keeps xz made contiguous, x_dbl, B, C, the scan states and output; the residual is fp32', () => {
    const inner = 2 * h; // expand 2
    const N = 16;
    const dtRank = Math.ceil(h / 16);
    const config = { hidden_size: h, model_type: 'mamba', vocab_size: 1024, state_size: N };
    const perToken =
      llamaNorm + // MambaRMSNorm over the bf16 cast of the fp32 residual stream
      BF16 * 2 * inner + // xz.contiguous()
      BF16 * (dtRank + 2 * N) + // x_dbl
      2 * BF16 * N + // B and C rearranged contiguous
      BF16 * inner; // the scan's output
    const states = FP32 * inner * 2 * N; // one 2048-position chunk, one sequence
    expect(savedPerLayer(config, HF)).toBe(perToken * T + states);
  });

  describe('Mamba-1 and FalconMamba: what MambaInnerFn makes besides what it keeps', () => {
    const inner = 2 * h; // expand 2
    const N = 16;
    const dtRank = Math.ceil(h / 16);
    const mamba = { hidden_size: h, model_type: 'mamba', vocab_size: 1024, state_size: N };
    const falcon = { ...mamba, model_type: 'falcon_mamba' };
    const AMP = settings({ preset: 'hf-transformers' }, { precision: 'bf16-mixed' });

    it('under autocast it keeps its own 16-bit casts of x_proj, dt_proj and out_proj, and A = -exp(A_log.float()) with the exp kept for backward', () => {
      const weights = ALLOCATED_COMPONENTS.indexOf('weights');
      const at = (layers: number) =>
        forwardEnd({ ...mamba, num_hidden_layers: layers }, AMP).live[weights];
      const parameters = (layers: number) =>
        countParameters(architectureFromConfig('mamba', { ...mamba, num_hidden_layers: layers }))
          .total;
      const casts = BF16 * (inner * (dtRank + 2 * N) + dtRank * inner + inner * h);
      const stateMatrices = 2 * FP32 * inner * N; // exp's output and its negation
      const inProjection = BF16 * h * 2 * inner; // autocast's cached cast, kept by in_proj's mm
      const layer = FP32 * (parameters(2) - parameters(1)) + casts + stateMatrices + inProjection;
      expect(at(2) - at(1)).toBe(layer);
    });

    it("each weight reaches the kernel once: dt_proj's weight through its cast, one fp32 gradient in backward", () => {
      // time_step_rank 12: dt_proj's fp32 gradient, 12 x 512 x 4 bytes, the size of no other
      // tensor of the step
      const config = { ...mamba, time_step_rank: 12, num_hidden_layers: 1 };
      expect(allocationsOf(config, AMP, FP32 * 12 * inner).backward).toBe(1);
    });

    it("FalconMamba keeps Mamba-1's tensors; its kernel normalises delta, B and C through copies freed as the scan's inputs are made", () => {
      expect(savedPerLayer(falcon, HF)).toBe(savedPerLayer(mamba, HF));
      const allocations = (config: Record<string, unknown>) =>
        layerForwardAllocations({ ...config, num_hidden_layers: 1 }, HF);
      // MambaInnerFn makes x_dbl, then delta, B and C as the scan reads them; FalconMamba's
      // then makes, for each, its ((b l), d) copy, the norm's output, its fp32 rstd and the
      // copy back, before the scan's tensors
      const mambaMade = allocations(mamba);
      const scanInputs = [inner, N, N].map((cols) => BF16 * cols * T);
      const xDbl = mambaMade.indexOf(BF16 * (dtRank + 2 * N) * T);
      expect(mambaMade.slice(xDbl + 1, xDbl + 4)).toEqual(scanInputs);
      const norms = scanInputs.flatMap((bytes) => [bytes, bytes, FP32 * T, bytes]);
      const before = mambaMade.slice(0, xDbl + 4);
      expect(allocations(falcon)).toEqual([...before, ...norms, ...mambaMade.slice(xDbl + 4)]);
    });
  });

  /** Per token, what mamba_split_conv1d_scan_combined keeps (one group): the in_proj output
   * (z, x, B, C, dt), the scan output before the gated RMSNorm and the norm's fp32 rstd. */
  const mamba2Kernel = (inner: number, N: number, heads: number) =>
    BF16 * (2 * inner + 2 * N + heads) + BF16 * inner + FP32;

  /** A Mamba-2 of the specs' width (d_inner 2h) with one group: state N, `heads` heads. */
  const mamba2Config = (N: number, heads: number) => ({
    hidden_size: h,
    model_type: 'mamba2',
    vocab_size: 1024,
    state_size: N,
    num_heads: heads,
    head_dim: (2 * h) / heads,
    n_groups: 1,
  });

  it('Mamba-2: the combined kernel keeps the in_proj output, the scan output and the gated norm rstd', () => {
    const inner = 2 * h;
    const N = 32;
    const heads = 8;
    const config = mamba2Config(N, heads);
    const perToken = llamaNorm + mamba2Kernel(inner, N, heads);
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it('Mamba-2 under autocast: the combined kernel keeps its own 16-bit cast of outproj_weight, and A = -exp(A_log.float()) (one per head) with the exp', () => {
    const inner = 2 * h;
    // 128 heads and a state of 64: every per-head vector and the conv bias a multiple of the
    // allocator's 512 bytes
    const N = 64;
    const heads = 128;
    const config = mamba2Config(N, heads);
    const AMP = settings({ preset: 'hf-transformers' }, { precision: 'bf16-mixed' });
    const weights = ALLOCATED_COMPONENTS.indexOf('weights');
    const at = (layers: number) =>
      forwardEnd({ ...config, num_hidden_layers: layers }, AMP).live[weights];
    const parameters = (layers: number) =>
      countParameters(architectureFromConfig('m2', { ...config, num_hidden_layers: layers })).total;
    const inProjection = BF16 * h * (2 * inner + 2 * N + heads); // autocast's, kept by its mm
    const outProjection = BF16 * inner * h; // ssd_combined.py: outproj_weight.to(dtype), saved
    const stateMatrices = 2 * FP32 * heads;
    expect(at(2) - at(1)).toBe(
      FP32 * (parameters(2) - parameters(1)) + inProjection + outProjection + stateMatrices,
    );
  });

  it("tensor parallelism splits a Mamba mixer's scan by head: each rank keeps its share of in_proj's output, the scan output and the rstd (Megatron-Core's MambaMixer)", () => {
    const inner = 2 * h;
    const N = 32;
    const [heads, groups] = [8, 2];
    const mamba2 = {
      hidden_size: h,
      model_type: 'mamba2',
      vocab_size: 1024,
      state_size: N,
      num_heads: heads,
      head_dim: inner / heads,
      n_groups: groups,
    };
    const ranks = (t: number) => ({ ...HF, parallelism: { tensorParallel: t } });
    // half of z, xBC and dt, of the scan output and of the groups' rstd leave each rank; the
    // norm before the mixer runs on every rank whole
    const halved = (BF16 * (2 * inner + 2 * groups * N + heads) + BF16 * inner + FP32 * groups) / 2;
    expect(savedPerLayer(mamba2, ranks(1)) - savedPerLayer(mamba2, ranks(2))).toBe(halved * T);
    // Mamba-1 (d_inner 512, d_state 16, dt_rank 16): xz and the scan output halve per token,
    // and the one 512-position chunk's fp32 scan states (d_inner x 2N); x_dbl, B and C are
    // every rank's whole
    const mamba1 = {
      hidden_size: h,
      model_type: 'mamba',
      vocab_size: 1024,
      state_size: 16,
      intermediate_size: inner,
      expand: 2,
      time_step_rank: 16,
    };
    const perToken = (BF16 * 2 * inner + BF16 * inner) / 2;
    const states = (FP32 * inner * 2 * 16) / 2;
    expect(savedPerLayer(mamba1, ranks(1)) - savedPerLayer(mamba1, ranks(2))).toBe(
      perToken * T + states,
    );
  });

  it("Granite 4.0's Mamba-2 layer: the same combined kernel between two RMSNorms, then the shared MLP (input_linear of gate and up)", () => {
    const inner = 2 * h;
    const N = 32;
    const heads = 8;
    const shared = 384;
    const config = {
      model_type: 'granitemoehybrid',
      hidden_size: h,
      num_attention_heads: a,
      num_key_value_heads: g,
      vocab_size: 1024,
      num_local_experts: 0, // the shared MLP alone
      shared_intermediate_size: shared,
      mamba_d_state: N,
      mamba_n_heads: heads,
      mamba_n_groups: 1,
      residual_multiplier: 0.22,
    };
    const perToken =
      llamaNorm + // input_layernorm
      mamba2Kernel(inner, N, heads) +
      llamaNorm + // post_attention_layernorm (the scaled residual adds keep nothing)
      4 * BF16 * shared; // input_linear's [gate, up] (kept by the activation and the product), act(gate), the product
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it("Bamba's Mamba-2 layer: the combined kernel between input_layernorm and pre_ff_layernorm, then LlamaMLP", () => {
    const inner = 2 * h;
    const N = 32;
    const heads = 8;
    const config = {
      model_type: 'bamba',
      hidden_size: h,
      intermediate_size: f,
      num_attention_heads: a,
      num_key_value_heads: g,
      vocab_size: 1024,
      mamba_d_state: N,
      mamba_n_heads: heads,
      attn_layer_indices: [],
    };
    const perToken = llamaNorm + mamba2Kernel(inner, N, heads) + llamaNorm + swiGluMlp;
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
  });

  it("LFM2's short-convolution layer: in_proj's [B, C, x], B x x, the padded conv output and the contiguous product, then Lfm2MLP", () => {
    const L = 3; // conv_L_cache
    const config = {
      model_type: 'lfm2',
      hidden_size: h,
      intermediate_size: 1536, // block_auto_adjust_ff_dim: int(2 x 1,536 / 3) = 1,024 = f
      num_attention_heads: a,
      num_key_value_heads: g,
      vocab_size: 1024,
      conv_L_cache: L,
      layer_types: ['conv', 'conv'],
      num_hidden_layers: 2,
    };
    const perToken =
      llamaNorm + // operator_norm
      BF16 * 3 * h + // in_proj's output: B, C and x are its views, kept by the two products
      BF16 * h + // B * x, kept by the convolution
      BF16 * h + // the convolution's output (its slice kept by C * it)
      BF16 * h + // the product made contiguous, kept by out_proj
      llamaNorm + // ffn_norm
      swiGluMlp; // w1 (kept by SiLU), SiLU's output, w3, the product
    // nn.Conv1d(padding=L - 1) makes L - 1 more positions per sequence, one sequence here.
    const padding = (L - 1) * BF16 * h;
    expect(savedPerLayer(config, HF)).toBe(perToken * T + padding);
  });

  it("Falcon-H1's layer: the normed input scaled for each mixer (each keeps its copy), Mamba-2's combined kernel beside flash attention, FalconH1MLP", () => {
    const inner = 512; // mamba_d_ssm: 8 heads of 64
    const N = 32;
    const config = {
      ...BASE,
      model_type: 'falcon_h1',
      head_dim: d,
      mamba_d_ssm: inner,
      mamba_n_heads: 8,
      mamba_d_head: 64,
      mamba_d_state: N,
      mamba_n_groups: 1,
    };
    // LlamaRMSNorm whose output only the two scalar multiplies read: nothing keeps it
    const normWithoutOutput = FP32 * h + FP32 + BF16 * h;
    const perToken =
      normWithoutOutput + // input_layernorm
      BF16 * h + // hidden_states * ssm_in_multiplier, kept by in_proj
      BF16 * (2 * inner + 2 * N + 8) + // in_proj's output times mup_vector (z, xBC, dt), kept by the kernel
      BF16 * inner + // the scan output before its gate (out_x); no gated RMSNorm, so no rstd
      BF16 * h + // hidden_states * attention_in_multiplier, kept by q, k and v
      BF16 * a * d + // rotated q
      BF16 * g * d * 2 + // rotated k (scaled by key_multiplier first), v
      BF16 * a * d +
      lse + // attention output, kept by o_proj, and log-sum-exp
      llamaNorm + // pre_ff_layernorm
      swiGluMlp; // up, gate x gate_multiplier (kept by SiLU), SiLU's output, the product
    expect(savedPerLayer(config, HF)).toBe(perToken * T);
    // with mamba_rms_norm the kernel keeps the gated norm's fp32 rstd (one group)
    expect(savedPerLayer({ ...config, mamba_rms_norm: true }, HF)).toBe((perToken + FP32) * T);
  });

  describe('Qwen3-Next', () => {
    // Gated DeltaNet of 2 key heads and 4 value heads of 32 (q and k repeated twice), a
    // 4-tap convolution; no experts, so each layer runs Qwen3NextMLP.
    const QWEN3_NEXT = {
      ...BASE,
      model_type: 'qwen3_next',
      head_dim: d,
      num_experts: 0,
      linear_num_key_heads: 2,
      linear_num_value_heads: 4,
      linear_key_head_dim: 32,
      linear_value_head_dim: 32,
      linear_conv_kernel_dim: 4,
    };
    const heads = 4;
    const [keyDim, valueDim] = [2 * 32, 4 * 32];
    // Qwen3NextRMSNorm (Gemma-3's): x.float() and rsqrt kept, the fp32 normed kept by
    // * (1 + weight); its bf16 output kept by the linears that read it.
    const gemmaNorm = (width: number, rows = 1) => FP32 * width + FP32 * rows + FP32 * width;
    const normAndOutput = gemmaNorm(h) + BF16 * h;
    // Its Gated DeltaNet layer's kept bytes a token (z and the convolution's input: Qwen3-Next's
    // copy of z and torch.cat, Qwen3.5's in_proj_z and in_proj_qkv outputs). A_log.float().exp()
    // and its negation ([heads] each) count under weights, as the weights' own casts do.
    const deltaNetPerToken =
      normAndOutput + // input_layernorm
      BF16 * valueDim + // z, kept by the gated norm
      BF16 * (2 * keyDim + valueDim) + // the convolution's input, kept by CausalConv1dFn
      BF16 * heads + // beta = b.sigmoid(), kept by sigmoid and by the delta rule
      2 * FP32 * heads + // a.float() + dt_bias (kept by softplus) and softplus (kept by the product)
      2 * BF16 * heads * 32 + // l2norm_fwd's q̂ and k̂ over the repeated heads
      2 * FP32 * heads + // their rstd
      BF16 * valueDim + // input_guard's contiguous copy of v
      FP32 * heads + // chunk_local_cumsum of g
      BF16 * heads * 64 + // solve_tril's A, 64 entries a token and head
      BF16 * valueDim + // o, kept by the gated norm
      FP32 * heads + // the norm's rstd, one a head
      BF16 * valueDim + // its output, kept by out_proj
      normAndOutput + // post_attention_layernorm
      swiGluMlp;

    it("Gated DeltaNet layer: z, the convolution's input, beta, g's fp32 softplus, and fla's saved q̂, k̂, rstds, v copy, g cumsum and A; the gated norm's input and output", () => {
      expect(savedPerLayer(QWEN3_NEXT, HF)).toBe(deltaNetPerToken * T);
    });

    it("Qwen3.5's Gated DeltaNet: four projections, in_proj_qkv's output handed to the convolution as it is (no reordering copies, no torch.cat); it keeps what Qwen3-Next's keeps", () => {
      const QWEN3_5 = { ...QWEN3_NEXT, model_type: 'qwen3_5_text' };
      // z is in_proj_z's output and the convolution's input in_proj_qkv's: the same sizes
      expect(savedPerLayer(QWEN3_5, HF)).toBe(deltaNetPerToken * T);
      const qkv = T * BF16 * (2 * keyDim + valueDim);
      const [z, bOrA] = [T * BF16 * valueDim, T * BF16 * heads];
      // in_proj_qkv, in_proj_z, in_proj_b, in_proj_a, then the convolution's output
      const expected = [qkv, z, bOrA, bOrA, qkv];
      const made = layerForwardAllocations(QWEN3_5, HF);
      const at = made.findIndex((_, i) => expected.every((bytes, j) => made[i + j] === bytes));
      expect(at).toBeGreaterThan(0);
      // Qwen3-Next's in_proj_qkvz (2 keys + 2 values wide) has no such run after it
      const next = layerForwardAllocations(QWEN3_NEXT, HF);
      expect(next).toContain(T * BF16 * (2 * keyDim + 2 * valueDim));
      expect(made).not.toContain(T * BF16 * (2 * keyDim + 2 * valueDim));
    });

    it('gated attention layer: per-head Gemma q/k norms, flash attention, sigmoid(gate) and the gated output o_proj keeps', () => {
      const config = { ...QWEN3_NEXT, layer_types: ['full_attention', 'full_attention'] };
      const perToken =
        normAndOutput +
        gemmaNorm(a * d, a) + // q_norm over each head (q is a view of q_proj's output)
        gemmaNorm(g * d, g) + // k_norm
        BF16 * a * d + // rotated q, kept by flash attention
        2 * BF16 * g * d + // rotated k, and v
        BF16 * a * d +
        lse + // attention output (kept by the product) and log-sum-exp
        BF16 * a * d + // sigmoid(gate), kept by sigmoid and by the product
        BF16 * a * d + // attn_output * sigmoid(gate), kept by o_proj
        normAndOutput +
        swiGluMlp;
      expect(savedPerLayer(config, HF)).toBe(perToken * T);
    });

    it('the chunk states h exist in the forward and again in backward, beside their gradient dh', () => {
      // 416 tokens: 7 chunks of 64, so h is 7 x 4 heads x 32 x 32 in bf16 (57,344 B), a size
      // no tensor of 416 tokens and no weight or gradient of these shapes has.
      const tokens = 416;
      const stateBytes = Math.ceil(tokens / 64) * heads * 32 * 32 * BF16;
      const shorter = settings({ preset: 'hf-transformers' }, { sequenceLength: tokens });
      const config = { ...QWEN3_NEXT, num_hidden_layers: 2 };
      // chunk_gated_delta_rule_fwd_h in the forward; recomputed, and dh, in the backward
      expect(allocationsOf(config, shorter, stateBytes)).toEqual({ forward: 2, backward: 4 });
    });
  });

  it('makes no rotary tables where the model code has no rotary module (Granite 4.0 without RoPE, Jamba)', () => {
    const granite = (positions: string) => ({
      model_type: 'granitemoehybrid',
      hidden_size: h,
      num_attention_heads: a,
      num_key_value_heads: g,
      vocab_size: 1000,
      num_local_experts: 0,
      shared_intermediate_size: 384,
      mamba_d_state: 32,
      mamba_n_heads: 8,
      num_hidden_layers: 2,
      layer_types: ['mamba', 'attention'],
      position_embedding_type: positions,
    });
    // [T, d/2] fp32 frequencies, cos and sin in bf16 [T, d], and rotate_half's -x2 of k
    // ([T, g, d/2] in bf16): each T x d x 2 bytes.
    const tableSized = T * d * BF16;
    expect(allocationsOf(granite('rope'), HF, tableSized).forward).toBe(4);
    // GraniteMoeHybridModel.rotary_emb is None unless position_embedding_type is 'rope'.
    expect(allocationsOf(granite('nope'), HF, tableSized).forward).toBe(0);
    const jamba = {
      model_type: 'jamba',
      hidden_size: h,
      num_attention_heads: a,
      num_key_value_heads: g,
      intermediate_size: 384,
      vocab_size: 1000,
      num_hidden_layers: 2,
      attn_layer_period: 2,
      attn_layer_offset: 1,
      num_experts: 2,
      expert_layer_period: 2,
    };
    // JambaModel has no rotary_emb; at 384 tokens the tables' size is no other tensor's.
    const tokens = 384;
    const shorter = settings({ preset: 'hf-transformers' }, { sequenceLength: tokens });
    expect(allocationsOf(jamba, shorter, tokens * d * BF16).forward).toBe(0);
  });
});

describe('framework model codes keep what their own layers keep', () => {
  const LLAMA = { ...BASE, model_type: 'llama' };
  const qkvExpanded = BF16 * a * d * 3; // q, and K and V expanded into copies for every head

  it('torchtune: eager RMSNorm, K/V expanded by expand + reshape, RoPE kept off the graph', () => {
    const perToken = 2 * llamaNorm + qkvExpanded + BF16 * a * d + lse + swiGluMlp;
    expect(savedPerLayer(LLAMA, settings({ preset: 'torchtune' }))).toBe(perToken * T);
  });

  it('torchtune compiled: fused norms keep their input and rstd, SwiGLU keeps gate and up', () => {
    const fusedNorm = BF16 * h + FP32 + BF16 * h; // input, rstd, output kept by the linears
    const perToken = 2 * fusedNorm + qkvExpanded + BF16 * a * d + lse + 3 * BF16 * f; // gate, up, product
    const compiled = settings({ preset: 'torchtune', fusedKernels: true });
    expect(savedPerLayer(LLAMA, compiled)).toBe(perToken * T);
  });

  it("torchtitan: nn.RMSNorm's fused kernel, eager SwiGLU", () => {
    const fusedNorm = BF16 * h + FP32 + BF16 * h;
    const perToken = 2 * fusedNorm + qkvExpanded + BF16 * a * d + lse + swiGluMlp;
    expect(savedPerLayer(LLAMA, settings({ preset: 'torchtitan' }))).toBe(perToken * T);
  });

  it('litgpt: fp32-weight RMSNorm, one qkv linear, RoPE then torch.cat, repeat_interleave for K/V', () => {
    // RMSNorm: x.float() and rsqrt kept, x_normed * weight.float() keeps the fp32 x_normed,
    // the cast output kept by the qkv / fc linears.
    const litNorm = FP32 * h + FP32 + FP32 * h + BF16 * h;
    const perToken = 2 * litNorm + qkvExpanded + BF16 * a * d + lse + swiGluMlp;
    expect(savedPerLayer(LLAMA, settings({ preset: 'litgpt' }))).toBe(perToken * T);
  });

  it("litgpt loads Phi-3's gate_up_proj as two linears, fc_1 and fc_2: its layer keeps what Llama's does", () => {
    const litNorm = FP32 * h + FP32 + FP32 * h + BF16 * h;
    const perToken = 2 * litNorm + qkvExpanded + BF16 * a * d + lse + swiGluMlp;
    const phi3 = { ...BASE, model_type: 'phi3' };
    expect(savedPerLayer(phi3, settings({ preset: 'litgpt' }))).toBe(perToken * T);
  });

  it("litgpt LoRA on q and v alone: zero_pad's index_copy keeps lora_B's output for backward", () => {
    const lora = (targetModules: string[]) =>
      settings(
        { preset: 'litgpt' },
        { method: 'lora', lora: { rank: 8, alpha: 16, dropout: 0.05, targetModules } },
      );
    const qv = savedPerLayer(LLAMA, lora(['q_proj', 'v_proj']));
    const qkv = savedPerLayer(LLAMA, lora(['q_proj', 'k_proj', 'v_proj']));
    // With all three adapted zero_pad returns lora_B's output as it is and nothing keeps it;
    // with q and v alone index_copy's backward (derivatives.yaml: expand_as(source)) keeps it,
    // q's and v's widths, while lora_A's output, kept by lora_B, is one rank (8) narrower.
    expect(qv - qkv).toBe((BF16 * (a * d + g * d) - BF16 * 8) * T);
  });

  it('Megatron-core with Transformer Engine: norms fused into the next linear, v a view of linear_qkv, SwiGLU keeping its input', () => {
    const normLinear = BF16 * h + FP32 + BF16 * h; // the norm's input and rsigma, its output
    const perToken =
      normLinear +
      BF16 * a * d +
      BF16 * g * d + // q and k after TE's fused RoPE
      BF16 * (a + 2 * g) * d + // linear_qkv's output, kept through v
      BF16 * a * d +
      lse +
      normLinear +
      BF16 * 2 * f + // linear_fc1's output, kept by SwiGLUFunction
      BF16 * f; // SwiGLU's output, kept by linear_fc2
    expect(savedPerLayer(LLAMA, settings({ preset: 'megatron' }))).toBe(perToken * T);
  });

  it("Liger's fused linear cross-entropy makes the head's weight gradient in forward and no logits", () => {
    const oneLayer = { ...LLAMA, num_hidden_layers: 1 };
    const { live } = forwardEnd(
      oneLayer,
      settings({ preset: 'hf-transformers', crossEntropy: 'fused' }),
    );
    const GRADIENTS = 1; // ALLOCATED_COMPONENTS order: weights, gradients, ...
    expect(live[GRADIENTS]).toBe(1024 * h * BF16); // lm_head's grad_weight, V x h
  });
});

describe('vision towers plan their activations for the images per sample asked for', () => {
  it('Gemma-3 with SigLIP: each tower layer keeps a ViT block per patch, the projector its input', () => {
    const hv = 128; // vision hidden
    const fv = 256;
    const patches = (224 / 14) ** 2;
    const tokensPerImage = 256;
    const config = {
      model_type: 'gemma3',
      mm_tokens_per_image: tokensPerImage,
      text_config: { ...BASE, head_dim: d, num_hidden_layers: 1, sliding_window: 4096 },
      vision_config: tower224(hv, fv, 2),
    };
    // eager attention takes its mask with or without images (with them Gemma-3's attend both
    // ways and SDPA is handed one too: the PaliGemma spec), so only the tower differs
    const images = (n: number) =>
      settings({ preset: 'hf-transformers', attention: 'eager' }, { imagesPerSample: n });
    const perPatchPerLayer =
      BF16 * hv +
      layerNormStats +
      BF16 * hv + // layer_norm1: input, stats, output
      3 * BF16 * hv +
      BF16 * hv +
      2 * FP32 + // q, k, v, the output and 2 heads' log-sum-exp
      BF16 * hv +
      layerNormStats +
      BF16 * hv + // layer_norm2 over the residual sum
      2 * BF16 * fv; // gelu_pytorch_tanh's input and output (fc1's output, fc2's input)
    const projectorInput = BF16 * hv * tokensPerImage; // mm_input_projection keeps its input
    const withImage = forwardEnd(config, images(1));
    const textOnly = forwardEnd(config, images(0));
    const ACTIVATIONS = 4; // ALLOCATED_COMPONENTS order
    expect(withImage.live[ACTIVATIONS] - textOnly.live[ACTIVATIONS]).toBe(
      2 * perPatchPerLayer * patches + projectorInput,
    );
    expect(textOnly.notes.join(' ')).toMatch(/activations are planned only for images per sample/);
  });
});

describe("Qwen3-VL's tower and deepstack mergers (modeling_qwen3_vl.py)", () => {
  const hv = 128; // vision hidden
  const merged = 4 * hv; // 2 x 2 patches a row (spatial_merge_size 2)
  const tokens = (448 / 14) ** 2 / 4; // one image at the nominal 448 px, 14 px patches: 256
  const qwen3Vl = (deepstack: number[]) => ({
    model_type: 'qwen3_vl',
    text_config: { ...BASE, head_dim: d, num_hidden_layers: 2 },
    vision_config: {
      depth: 3,
      hidden_size: hv,
      intermediate_size: 256,
      num_heads: 2,
      out_hidden_size: h,
      patch_size: 14,
      deepstack_visual_indexes: deepstack,
    },
  });

  it("each tower block keeps what Qwen3VLVisionBlock's code keeps: qkv's whole output, the rotated q and k, SDPA's output and torch.cat's copy", () => {
    const images = settings({ preset: 'hf-transformers' }, { imagesPerSample: 1 });
    const patches = tokens * 4;
    const perPatch =
      BF16 * hv +
      layerNormStats +
      BF16 * hv + // norm1: input, stats, output (kept by qkv)
      3 * BF16 * hv + // qkv's output: v is a view of it, saved by SDPA
      2 * BF16 * hv + // q and k rotated in fp32 and cast back, saved by SDPA
      BF16 * hv +
      2 * FP32 + // SDPA's output and two heads' log-sum-exp
      BF16 * hv + // torch.cat of the images' outputs, kept by proj
      BF16 * hv +
      layerNormStats +
      BF16 * hv + // norm2 over the residual sum
      2 * BF16 * 256; // GELU's input and output (linear_fc1's output, linear_fc2's input)
    const depth = (n: number) => ({
      ...qwen3Vl([]),
      vision_config: { ...qwen3Vl([]).vision_config, depth: n },
    });
    const ACTIVATIONS = 4; // ALLOCATED_COMPONENTS order
    const at = (n: number) => forwardEnd(depth(n), images).live[ACTIVATIONS];
    expect(at(2) - at(1)).toBe(patches * perPatch);
  });

  it("the merger keeps its norm's input and output, linear_fc1's output and GELU's; the rotary tables and the patch embedding's pixels stay for backward", () => {
    const images = (n: number) => settings({ preset: 'hf-transformers' }, { imagesPerSample: n });
    const patches = tokens * 4;
    const oneBlock = BF16 * hv * 11 + 2 * layerNormStats + 2 * FP32 + 2 * BF16 * 256; // as the test above
    const merger = BF16 * hv + layerNormStats + BF16 * hv + 2 * BF16 * hv; // norm, fc1, GELU
    // the tower's fp32 cos and sin, a head (64) wide, kept by every block's q * cos, k * sin
    const tables = 2 * FP32 * (hv / 2); // head dim: 128 over 2 heads
    // the Conv3d keeps pixel_values cast to bf16: 3 channels x 2 frames x 14 x 14 a patch
    const pixels = BF16 * 3 * 2 * 14 * 14;
    const config = {
      ...qwen3Vl([]),
      vision_config: { ...qwen3Vl([]).vision_config, depth: 1 },
    };
    const ACTIVATIONS = 4; // ALLOCATED_COMPONENTS order
    const at = (n: number) => forwardEnd(config, images(n)).live[ACTIVATIONS];
    expect(at(1) - at(0)).toBe(patches * (pixels + oneBlock + merger + tables));
  });

  it('each merger keeps its LayerNorm, linear_fc1 and GELU activations; each add keeps two index tensors', () => {
    const images = settings({ preset: 'hf-transformers' }, { imagesPerSample: 1 });
    const perMerger =
      tokens * (layerNormStats + BF16 * merged) + // LayerNorm over the merged patches: stats, output
      tokens * BF16 * merged + // linear_fc1's output, kept by GELU
      tokens * BF16 * merged; // GELU's output, kept by linear_fc2
    // _deepstack_process: hidden_states[visual_pos_masks, :] and its index_put_ each keep the
    // mask's nonzero rows and columns, two int64 per image token.
    const perAdd = 2 * tokens * 2 * 8;
    const ACTIVATIONS = 4; // ALLOCATED_COMPONENTS order
    const withMergers = forwardEnd(qwen3Vl([0, 1]), images).live[ACTIVATIONS];
    const without = forwardEnd(qwen3Vl([]), images).live[ACTIVATIONS];
    expect(withMergers - without).toBe(2 * (perMerger + perAdd));
  });
});

describe("a vision tower's parameters each get a whole gradient when images run", () => {
  it("the patch and position embeddings too: images add the tower's every parameter in bf16", () => {
    // every tower parameter a multiple of 256 elements, so the allocator's 512 B rounding adds
    // nothing; text-only batches give the tower no gradient (it does not run)
    const config = {
      model_type: 'qwen3_vl',
      text_config: { ...BASE, head_dim: d, num_hidden_layers: 1 },
      vision_config: {
        depth: 1,
        hidden_size: 256,
        intermediate_size: 256,
        num_heads: 2,
        out_hidden_size: h,
        deepstack_visual_indexes: [0],
      },
    };
    const images = (n: number) => settings({ preset: 'hf-transformers' }, { imagesPerSample: n });
    const GRADIENTS = 1; // ALLOCATED_COMPONENTS order
    const tower = countParameters(architectureFromConfig('spec', config)).vision;
    const gradients = (n: number) => backwardEnd(config, images(n))[GRADIENTS];
    expect(gradients(1) - gradients(0)).toBe(BF16 * tower);
  });
});

describe("LLaVA's CLIP tower as LlavaModel.get_image_features runs it (modeling_clip.py)", () => {
  // a 224-px image in 14-px patches: 256 patches and the class token; the vision width 256
  // and MLP 512 keep every bf16 tensor a multiple of 512 B, and the fp32 rows (LayerNorm's mean
  // and rstd, SDPA's log-sum-exp) round up to the allocator's 512-byte blocks
  const hv = 256;
  const fv = 512;
  const P = 257;
  const config = (featureLayer: number) => ({
    model_type: 'llava',
    text_config: { ...BASE, model_type: 'llama', num_hidden_layers: 1 },
    vision_config: tower224(hv, fv, 3),
    vision_feature_layer: featureLayer,
  });
  const activations = (featureLayer: number, images: number) =>
    forwardEnd(
      config(featureLayer),
      settings({ preset: 'hf-transformers' }, { imagesPerSample: images }),
    ).live[ALLOCATED_COMPONENTS.indexOf('activations')];

  it("keeps pre_layrnorm's input and stats, each feeding block's ViT tensors with quick_gelu's three, and the projector's linear_1 output and GELU's", () => {
    const row = (cols: number) => round(BF16 * P * cols);
    const stats = 2 * round(FP32 * P); // a LayerNorm's mean and rstd
    const block =
      row(hv) +
      stats +
      row(hv) + // layer_norm1: input, stats, output
      4 * row(hv) +
      round(FP32 * P * 2) + // q, k, v, SDPA's output and log-sum-exp (2 heads)
      row(hv) +
      stats +
      row(hv) + // layer_norm2 over the residual sum
      3 * row(fv); // fc1's output, sigmoid's output, their product (kept by fc2)
    const preNorm = row(hv) + stats; // the embeddings' output and pre_layrnorm's stats
    const features = row(hv); // block 2's output: the class token sliced off is a view of it
    const projector = 2 * BF16 * 256 * h; // linear_1's output (kept by GELU) and GELU's
    // vision_feature_layer -2: two of the three blocks feed the features
    expect(activations(-2, 1) - activations(-2, 0)).toBe(
      preNorm + 2 * block + features + projector,
    );
  });

  it("LLaVA-NeXT: the base crop and a 2 x 2 grid's four tiles through the tower, the projector on each crop's features (a copy folding the crops), the packing's copies keeping nothing", () => {
    const crops = 5;
    const next = {
      ...config(-2),
      model_type: 'llava_next',
      image_grid_pinpoints: [[448, 448]],
    };
    const long = (images: number) =>
      forwardEnd(
        next,
        settings({ preset: 'hf-transformers' }, { imagesPerSample: images, sequenceLength: 2048 }),
      ).live[ALLOCATED_COMPONENTS.indexOf('activations')];
    const rows = crops * P;
    const row = (cols: number) => round(BF16 * rows * cols);
    const stats = 2 * round(FP32 * rows);
    const block =
      2 * row(hv) +
      stats +
      4 * row(hv) +
      round(FP32 * rows * 2) +
      2 * row(hv) +
      stats +
      3 * row(fv);
    const preNorm = row(hv) + stats;
    const selected = BF16 * crops * 256 * hv; // each crop's 256 patches, gathered for linear_1
    const projector = 2 * BF16 * crops * 256 * h;
    expect(long(1) - long(0)).toBe(preNorm + 2 * block + selected + projector);
  });

  it('the blocks after vision_feature_layer run but keep nothing: -1 keeps one block more than -2', () => {
    const row = (cols: number) => round(BF16 * P * cols);
    const stats = 2 * round(FP32 * P);
    const block =
      2 * row(hv) + stats + 4 * row(hv) + round(FP32 * P * 2) + 2 * row(hv) + stats + 3 * row(fv);
    expect(activations(-1, 1) - activations(-2, 1)).toBe(block);
  });
});

describe("LLaVA-OneVision's SigLIP tower and packing (modeling_llava_onevision.py)", () => {
  // a 224-px image in 14-px patches: 16 x 16 patches a crop, no class token; a 448-px grid of
  // 2 x 2 tiles, whose 32 x 32 features anyres_max_1 resizes to 16 x 16 (ratio sqrt(1,024 / 256))
  const config = (maxCrops: number) => ({
    model_type: 'llava_onevision',
    image_grid_pinpoints: [[448, 448]],
    vision_aspect_ratio: `anyres_max_${maxCrops}`,
    text_config: { ...BASE, model_type: 'qwen2', num_hidden_layers: 1 },
    vision_config: {
      ...tower224(256, 512, 2),
      model_type: 'siglip_vision_model',
      vision_use_head: false,
    },
  });
  const made = (maxCrops: number) =>
    endForwardAllocations(
      config(maxCrops),
      settings({ preset: 'hf-transformers' }, { imagesPerSample: 1, sequenceLength: 2048 }),
      'vision',
    );
  const tokens = (rows: number) => BF16 * rows * h; // rows of the text width
  const merged = tokens(2048); // masked_scatter into the embedded sequence

  it('packs the tiles into their grid (a copy), resizes it (interpolate: a new tensor), ends each of its 16 rows with image_newline, then joins the base crop: 528 tokens', () => {
    expect(made(1).slice(-5)).toEqual([
      tokens(4 * 256), // image_feature.permute(...).contiguous()
      tokens(16 * 16), // nn.functional.interpolate(..., [16, 16], mode='bilinear')
      tokens(16 * 17), // torch.cat with image_newline expanded to a token a row
      tokens(256 + 16 * 17), // torch.cat((base_image_feature, image_feature))
      merged,
    ]);
  });

  it("anyres_max_9 leaves the 32 x 32 grid as it is (ratio 2/3): no resize, LLaVA-NeXT's packing", () => {
    expect(made(9).slice(-4)).toEqual([
      tokens(4 * 256),
      tokens(32 * 33),
      tokens(256 + 32 * 33),
      merged,
    ]);
  });

  it("post_layernorm runs over the last block's output, its output and statistics made and kept by nothing, before the projector", () => {
    const crops = 5 * 256; // the base crop and four tiles, 256 patches each
    const projector = [tokens(crops), tokens(crops), tokens(crops)]; // linear_1, GELU, linear_2
    const postNorm = [BF16 * crops * 256, FP32 * crops, FP32 * crops];
    expect(made(1).slice(-8 - postNorm.length, -5)).toEqual([...postNorm, ...projector]);
  });
});

describe("Aya Vision's SigLIP tower and projector (modeling_aya_vision.py)", () => {
  // a 224-px tile in 14-px patches: 16 x 16 patches, no class token; downsample_factor 2 makes
  // 8 x 8 = 64 tokens of 4 x 256; linear_1 to A = 1,024, SwiGLU halves it, linear_2 to h
  const hv = 256;
  const fv = 512;
  const P = 256;
  const A = 1024;
  const config = {
    model_type: 'aya_vision',
    downsample_factor: 2,
    alignment_intermediate_size: A,
    text_config: { ...BASE, model_type: 'llama', num_hidden_layers: 1 },
    vision_config: {
      ...tower224(hv, fv, 2),
      model_type: 'siglip_vision_model',
      vision_use_head: false,
    },
  };
  const run = settings({ preset: 'hf-transformers' }, { imagesPerSample: 1 });
  const shuffled = BF16 * 64 * 4 * hv; // a 64-row tensor 4 x 256 wide: the patches' bytes
  const stat = Math.ceil((FP32 * 64) / 512) * 512; // 64 fp32 values: one 512-B block

  it("keeps SigLIP's block tensors, then the shuffled copy LayerNorm keeps, its stats, linear_1's output (gate, a view of it, kept by SiLU), SiLU's and x (a view too) kept by the product, and the product", () => {
    const activations = (images: number) =>
      forwardEnd(config, settings({ preset: 'hf-transformers' }, { imagesPerSample: images })).live[
        ALLOCATED_COMPONENTS.indexOf('activations')
      ];
    const { block } = siglipBlockBytes(P, hv, fv);
    const norm = shuffled + 2 * stat; // its input and stats
    const projector = norm + shuffled + BF16 * 64 * A + 2 * BF16 * 64 * (A / 2);
    // post_layernorm over the last block's output runs and keeps nothing
    expect(activations(1) - activations(0)).toBe(2 * block + projector);
  });

  it("makes post_layernorm's output and stats for nothing, then pixel_shuffle's one copy, LayerNorm's contiguous transient, output and stats, linear_1, SiLU, the product and linear_2", () => {
    expect(endForwardAllocations(config, run, 'vision').slice(-13)).toEqual([
      BF16 * P * hv, // post_layernorm: last_hidden_state, held until get_image_features returns
      FP32 * P,
      FP32 * P,
      shuffled, // reshape(B, h / 2, w / 2, -1) of a permuted view: the copy
      shuffled, // layer_norm_cuda: input.expect_contiguous() of the last permute's view
      shuffled, // the LayerNorm's output
      stat,
      stat,
      BF16 * 64 * A, // linear_1
      BF16 * 64 * (A / 2), // act(gate)
      BF16 * 64 * (A / 2), // act(gate) * x
      BF16 * 64 * h, // linear_2: the image tokens
      BF16 * T * h, // masked_scatter into the embedded sequence
    ]);
  });
});

describe("Idefics2's tower and connector as Idefics2Model.forward runs them (modeling_idefics2.py)", () => {
  // a 224-px image in 14-px patches: 256 patches; a resampler of 32 latents, one layer, 4 query
  // heads of 64 over 2 K/V heads, at the text width h; modality_projection f wide
  const hv = 256;
  const fv = 512;
  const P = 256;
  const n = 32;
  const config = {
    model_type: 'idefics2',
    text_config: { ...BASE, model_type: 'mistral', num_hidden_layers: 1 },
    perceiver_config: {
      hidden_size: h,
      resampler_n_latents: n,
      resampler_depth: 1,
      resampler_n_heads: a,
      resampler_head_dim: d,
      num_key_value_heads: g,
    },
    vision_config: tower224(hv, fv, 2),
  };
  const run = (images: number) =>
    settings({ preset: 'hf-transformers' }, { imagesPerSample: images });
  const activations = (images: number) =>
    forwardEnd(config, run(images)).live[ALLOCATED_COMPONENTS.indexOf('activations')];

  it("keeps SigLIP's block tensors, post_layernorm's, modality_projection's gated MLP, and the resampler layer's norms, the joined context and latents, q, the repeated K and V, SDPA's output, log-sum-exp and mask, and its MLP", () => {
    const { row, stats, block } = siglipBlockBytes(P, hv, fv);
    // post_layernorm: its input and stats, its output kept by gate_proj and up_proj
    const postNorm = row + stats + row;
    const projection = 4 * BF16 * P * f; // gate (kept by SiLU), SiLU's, up, the product
    // LlamaRMSNorm: the fp32 copy, rsqrt, the cast kept by the weight's product; the latents'
    // output kept by q_proj and post_attention_layernorm's by gate_proj and up_proj; the
    // context's output only joined by torch.concat, which keeps nothing
    const rmsNorm = (rows: number, outputKept: boolean) =>
      round(FP32 * rows * h) +
      round(FP32 * rows) +
      round(BF16 * rows * h) +
      (outputKept ? round(BF16 * rows * h) : 0);
    const attention =
      rmsNorm(n, true) +
      rmsNorm(P, false) +
      BF16 * (P + n) * h + // the joined context and latents, kept by k_proj and v_proj
      BF16 * n * a * d + // q
      2 * BF16 * (P + n) * a * d + // K and V repeated to every query head
      BF16 * n * a * d + // SDPA's output, kept by o_proj
      round(FP32 * n * a) + // its log-sum-exp (32 queries: one aligned block)
      BF16 * n * (P + n); // the additive mask, kept by SDPA
    const mlp = rmsNorm(n, true) + 4 * BF16 * n * 4 * h;
    const finalNorm = rmsNorm(n, false); // its output, the image tokens, merged into the text
    expect(activations(1) - activations(0)).toBe(
      2 * block + postNorm + projection + attention + mlp + finalNorm,
    );
  });
});

describe("InternVL's tower as InternVLModel.get_image_features runs it (modeling_internvl.py)", () => {
  // a 224-px image in 14-px patches: 256 patches and the class token (as LLaVA's test above)
  const hv = 256;
  const fv = 512;
  const P = 257;
  const config = {
    model_type: 'internvl',
    text_config: { ...BASE, model_type: 'qwen2', num_hidden_layers: 1 },
    vision_config: tower224(hv, fv, 2),
  };
  const activations = (images: number) =>
    forwardEnd(config, settings({ preset: 'hf-transformers' }, { imagesPerSample: images })).live[
      ALLOCATED_COMPONENTS.indexOf('activations')
    ];

  it("keeps each block's ViT tensors and the outputs lambda_1 and lambda_2 scale, then the pixel-shuffled patches' LayerNorm and the projector's", () => {
    const row = (cols: number) => round(BF16 * P * cols);
    const stats = 2 * round(FP32 * P);
    const block =
      row(hv) +
      stats +
      row(hv) + // layernorm_before: input, stats, output
      4 * row(hv) +
      round(FP32 * P * 2) + // q, k, v, SDPA's output and log-sum-exp
      row(hv) + // projection_layer's output, kept by lambda_1's product
      row(hv) +
      stats +
      row(hv) + // layernorm_after over the residual sum
      2 * row(fv) + // fc1's output (kept by GELU), GELU's (kept by fc2)
      row(hv); // fc2's output, kept by lambda_2's product
    // 256 patches, 2 x 2 into one token each: 64 rows of 4 x 256; the class token sliced off and
    // the shuffle's copies keep nothing but the last, the projector LayerNorm's input
    const shuffled = BF16 * 64 * 4 * hv;
    const projector = shuffled + 2 * round(FP32 * 64) + shuffled + 2 * BF16 * 64 * h;
    expect(activations(1) - activations(0)).toBe(2 * block + projector);
  });

  it('use_qk_norm: each of q and k through an RMSNorm over the whole projection, keeping its fp32 copy, rstd and cast', () => {
    const normed = { ...config, vision_config: { ...config.vision_config, use_qk_norm: true } };
    const withNorms = (images: number) =>
      forwardEnd(normed, settings({ preset: 'hf-transformers' }, { imagesPerSample: images })).live[
        ALLOCATED_COMPONENTS.indexOf('activations')
      ];
    const rmsNorm = round(FP32 * P * hv) + round(FP32 * P) + round(BF16 * P * hv);
    const more = withNorms(1) - withNorms(0) - (activations(1) - activations(0));
    expect(more).toBe(2 * 2 * rmsNorm); // q's and k's, in each of two blocks
  });
});

describe("Idefics3's and SmolVLM's tower as get_image_features runs it (modeling_idefics3.py)", () => {
  it("keeps SigLIP's block tensors over the patches (no class token), post_layernorm's input and stats, and the pixel-shuffled patches modality_projection keeps", () => {
    const hv = 256;
    const fv = 512;
    const P = 256; // a 224-px image in 14-px patches
    const config = {
      model_type: 'smolvlm',
      scale_factor: 2,
      text_config: { ...BASE, model_type: 'llama', num_hidden_layers: 1 },
      vision_config: tower224(hv, fv, 2),
    };
    const activations = (images: number) =>
      forwardEnd(config, settings({ preset: 'hf-transformers' }, { imagesPerSample: images })).live[
        ALLOCATED_COMPONENTS.indexOf('activations')
      ];
    const { row, stats, block } = siglipBlockBytes(P, hv, fv);
    // post_layernorm keeps its input and stats; its output dies in the pixel shuffle's copies,
    // the last of which (64 rows of 4 x 256: the patches' bytes) modality_projection keeps
    expect(activations(1) - activations(0)).toBe(2 * block + row + stats + row);
  });
});

describe("PaliGemma's tower as get_image_features runs it (modeling_paligemma.py)", () => {
  const hv = 256;
  const fv = 512;
  const P = 256; // a 224-px image in 14-px patches
  const config = {
    model_type: 'paligemma',
    projection_dim: h,
    text_config: { ...BASE, model_type: 'gemma', head_dim: d, num_hidden_layers: 1 },
    vision_config: { ...tower224(hv, fv, 2), vision_use_head: false },
  };
  const imageSettings = (images: number, attention?: string) =>
    settings(
      { preset: 'hf-transformers', ...(attention ? { attention } : {}) },
      { imagesPerSample: images },
    );

  it("keeps SigLIP's block tensors over the patches, post_layernorm's input and stats and its output (kept by the projector's linear); the projection divided by sqrt(h) keeps nothing", () => {
    // eager attention takes its mask with or without images, so only the tower differs
    const activations = (images: number) =>
      forwardEnd(config, imageSettings(images, 'eager')).live[
        ALLOCATED_COMPONENTS.indexOf('activations')
      ];
    const { row, stats, block } = siglipBlockBytes(P, hv, fv);
    expect(activations(1) - activations(0)).toBe(2 * block + row + stats + row);
  });

  it('with images the prefix attends both ways: every layer is handed an explicit mask, so SDPA runs its memory-efficient kernel (Gemma-3 too, for its images); text-only batches keep flash', () => {
    const notes = (images: number, model: Record<string, unknown>) =>
      forwardEnd(model, imageSettings(images)).notes.join(' ');
    expect(notes(1, config)).toMatch(/prefix \(images and prompt\) attends to itself both ways/);
    expect(notes(0, config)).not.toMatch(/explicit mask/);
    const gemma3 = {
      ...BASE,
      model_type: 'gemma3',
      head_dim: d,
      num_hidden_layers: 1,
      vision_config: tower224(hv, fv, 1),
    };
    expect(notes(1, gemma3)).toMatch(/each image's tokens attend to one another/);
    // the memory-efficient kernel keeps the mask as a float bias (one s x s a sequence) where
    // flash kept only its log-sum-exp: the text layer's kept bytes grow by at least that
    const textOnly = {
      ...config,
      vision_config: { ...config.vision_config, num_hidden_layers: 1 },
    };
    const flash = savedPerLayer(textOnly.text_config, HF);
    const masked = (layers: number) =>
      forwardEnd(
        { ...textOnly, text_config: { ...textOnly.text_config, num_hidden_layers: layers } },
        imageSettings(1),
      ).live[ALLOCATED_COMPONENTS.indexOf('activations')];
    expect(masked(2) - masked(1)).toBeGreaterThanOrEqual(flash + BF16 * T * T);
  });
});

describe("QLoRA stores a vision tower's linears as bitsandbytes loads them", () => {
  it("4-bit under bitsandbytes (its skip list names lm_head alone), 16-bit under torchtune's torchao: each block's qkv, proj, fc1 and fc2, the merger's and the deepstack merger's linears", () => {
    const hv = 256;
    const config = {
      model_type: 'qwen3_vl',
      text_config: { ...BASE, head_dim: d, num_hidden_layers: 1 },
      vision_config: {
        depth: 2,
        hidden_size: hv,
        intermediate_size: hv,
        num_heads: 2,
        out_hidden_size: h,
        deepstack_visual_indexes: [0],
      },
    };
    const merged = 4 * hv; // 2 x 2 patches a merged row
    const blocks = 2 * (hv * 3 * hv + hv * hv + 2 * hv * hv);
    const mergers = 2 * (merged * merged + merged * h); // the tower's and the deepstack merger
    const linears = 2 * 4 + 2 * 2;
    const weights = (quantizationKernel: string) =>
      forwardEnd(config, {
        ...settings({ preset: 'hf-transformers', quantizationKernel }, { method: 'qlora' }),
      }).live[ALLOCATED_COMPONENTS.indexOf('weights')];
    // NF4 with double quantisation: 4 bits, an 8-bit absmax per 64 and an fp32 one per 256 of those
    const saved = (blocks + mergers) * (BF16 - (0.5 + 1 / 64 + 4 / (64 * 256)));
    const difference = weights('torchao') - weights('bitsandbytes');
    // each 4-bit tensor rounds up to the allocator's 512-byte blocks
    expect(difference).toBeLessThanOrEqual(saved);
    expect(difference).toBeGreaterThan(saved - 512 * linears);
  });
});

describe('the plan says which kernel runs when it is not the one asked for', () => {
  it('BLOOM has no SDPA path, gpt-oss no SDPA support, Falcon-7B hands SDPA one K/V head', () => {
    const notes = (config: Record<string, unknown>) => forwardEnd(config, HF).notes.join(' ');
    const bloom = { hidden_size: h, n_head: a, n_layer: 1, vocab_size: 1024, model_type: 'bloom' };
    expect(notes(bloom)).toMatch(/BLOOM's model code has no SDPA path/);
    const oss = { ...BASE, model_type: 'gpt_oss', num_hidden_layers: 1, num_local_experts: 4 };
    expect(notes(oss)).toMatch(/gpt-oss's model code has no SDPA path/);
    const { num_key_value_heads: _given, ...withoutKvHeads } = BASE;
    const falcon7b = {
      ...withoutKvHeads, // multi_query: one K/V head
      model_type: 'falcon',
      multi_query: true,
      parallel_attn: true,
      num_hidden_layers: 1,
    };
    expect(notes(falcon7b)).toMatch(/math kernel runs/);
  });

  it('fp32 inputs flash attention does not take: the memory-efficient kernel, or math for grouped queries', () => {
    const fp32 = settings({ preset: 'hf-transformers' }, { precision: 'fp32' });
    const notes = forwardEnd({ ...BASE, model_type: 'llama', num_hidden_layers: 1 }, fp32).notes;
    expect(notes.join(' ')).toMatch(/flash attention takes 16-bit inputs only.*math kernel/);
  });
});
