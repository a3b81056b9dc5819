// Real Hugging Face config.json files, as published on the Hub, mapped and counted: each total is
// the model's published exact count (shared/catalog/models.json) or is written out by hand here.
import { architectureFromConfig } from './architecture';
import { BERT_BASE as BERT_BASE_CONFIG } from '../../../test/support/bert';
import { countParameters, linearShapes } from './parameters';
import { pipelinable, tensorParallelizable } from './placement';
import { sequenceLimit } from './positions';
import { PlanValidationError } from '../vocabulary';

const LLAMA_3_8B = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 8192,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 500000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

const GPT2 = {
  activation_function: 'gelu_new',
  architectures: ['GPT2LMHeadModel'],
  attn_pdrop: 0.1,
  bos_token_id: 50256,
  embd_pdrop: 0.1,
  eos_token_id: 50256,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-5,
  model_type: 'gpt2',
  n_ctx: 1024,
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 1024,
  resid_pdrop: 0.1,
  summary_type: 'cls_index',
  vocab_size: 50257,
};

const MIXTRAL_8X7B = {
  architectures: ['MixtralForCausalLM'],
  attention_dropout: 0.0,
  hidden_act: 'silu',
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mixtral',
  num_attention_heads: 32,
  num_experts_per_tok: 2,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  num_local_experts: 8,
  output_router_logits: false,
  rms_norm_eps: 1e-5,
  rope_theta: 1e6,
  router_aux_loss_coef: 0.02,
  sliding_window: null,
  tie_word_embeddings: false,
  vocab_size: 32000,
};

const QWEN2_5_7B = {
  architectures: ['Qwen2ForCausalLM'],
  hidden_act: 'silu',
  hidden_size: 3584,
  intermediate_size: 18944,
  max_position_embeddings: 131072,
  max_window_layers: 28,
  model_type: 'qwen2',
  num_attention_heads: 28,
  num_hidden_layers: 28,
  num_key_value_heads: 4,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 131072,
  tie_word_embeddings: false,
  use_sliding_window: false,
  vocab_size: 152064,
};

const QWEN3_30B_A3B = {
  architectures: ['Qwen3MoeForCausalLM'],
  attention_bias: false,
  decoder_sparse_step: 1,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 2048,
  intermediate_size: 6144,
  max_position_embeddings: 40960,
  mlp_only_layers: [],
  model_type: 'qwen3_moe',
  moe_intermediate_size: 768,
  norm_topk_prob: true,
  num_attention_heads: 32,
  num_experts: 128,
  num_experts_per_tok: 8,
  num_hidden_layers: 48,
  num_key_value_heads: 4,
  rms_norm_eps: 1e-6,
  sliding_window: null,
  tie_word_embeddings: false,
  use_sliding_window: false,
  vocab_size: 151936,
};

const GEMMA_2_9B = {
  architectures: ['Gemma2ForCausalLM'],
  attention_bias: false,
  attn_logit_softcapping: 50.0,
  final_logit_softcapping: 30.0,
  head_dim: 256,
  hidden_activation: 'gelu_pytorch_tanh',
  hidden_size: 3584,
  intermediate_size: 14336,
  max_position_embeddings: 8192,
  model_type: 'gemma2',
  num_attention_heads: 16,
  num_hidden_layers: 42,
  num_key_value_heads: 8,
  query_pre_attn_scalar: 256,
  rms_norm_eps: 1e-6,
  sliding_window: 4096,
  vocab_size: 256000,
};

const DEEPSEEK_V3 = {
  architectures: ['DeepseekV3ForCausalLM'],
  first_k_dense_replace: 3,
  hidden_act: 'silu',
  hidden_size: 7168,
  intermediate_size: 18432,
  kv_lora_rank: 512,
  max_position_embeddings: 163840,
  model_type: 'deepseek_v3',
  moe_intermediate_size: 2048,
  moe_layer_freq: 1,
  n_group: 8,
  n_routed_experts: 256,
  n_shared_experts: 1,
  norm_topk_prob: true,
  num_attention_heads: 128,
  num_experts_per_tok: 8,
  num_hidden_layers: 61,
  num_key_value_heads: 128,
  num_nextn_predict_layers: 1,
  q_lora_rank: 1536,
  qk_nope_head_dim: 128,
  qk_rope_head_dim: 64,
  routed_scaling_factor: 2.5,
  scoring_func: 'sigmoid',
  tie_word_embeddings: false,
  topk_group: 4,
  topk_method: 'noaux_tc',
  v_head_dim: 128,
  vocab_size: 129280,
};

const FALCON_40B = {
  alibi: false,
  architectures: ['FalconForCausalLM'],
  bias: false,
  hidden_size: 8192,
  layer_norm_epsilon: 1e-5,
  model_type: 'falcon',
  new_decoder_architecture: true,
  num_attention_heads: 128,
  num_hidden_layers: 60,
  num_kv_heads: 8,
  parallel_attn: true,
  vocab_size: 65024,
};

// tiiuae/falcon-7b as first published: the RefinedWebModel config with multi-query attention.
const FALCON_7B_RW = {
  alibi: false,
  architectures: ['RWForCausalLM'],
  bias: false,
  hidden_size: 4544,
  model_type: 'RefinedWebModel',
  multi_query: true,
  n_head: 71,
  n_layer: 32,
  parallel_attn: true,
  vocab_size: 65024,
};

const BLOOM_7B1 = {
  apply_residual_connection_post_layernorm: false,
  architectures: ['BloomForCausalLM'],
  hidden_size: 4096,
  layer_norm_epsilon: 1e-5,
  model_type: 'bloom',
  n_head: 32,
  n_inner: null,
  n_layer: 30,
  offset_alibi: 100,
  pretraining_tp: 1,
  vocab_size: 250880,
};

const COMMAND_R_PLUS = {
  architectures: ['CohereForCausalLM'],
  hidden_act: 'silu',
  hidden_size: 12288,
  intermediate_size: 33792,
  layer_norm_eps: 1e-5,
  logit_scale: 0.8333333333333334,
  max_position_embeddings: 8192,
  model_type: 'cohere',
  num_attention_heads: 96,
  num_hidden_layers: 64,
  num_key_value_heads: 8,
  rope_theta: 75000000.0,
  use_qk_norm: true,
  vocab_size: 256000,
};

const PHI_3_MINI = {
  architectures: ['Phi3ForCausalLM'],
  attention_bias: false,
  hidden_act: 'silu',
  hidden_size: 3072,
  intermediate_size: 8192,
  max_position_embeddings: 4096,
  model_type: 'phi3',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  original_max_position_embeddings: 4096,
  rms_norm_eps: 1e-5,
  sliding_window: 2047,
  tie_word_embeddings: false,
  vocab_size: 32064,
};

// google/t5-v1_1-xl, the shape T0_3B is fine-tuned from.
const T5_V1_1_XL = {
  architectures: ['T5ForConditionalGeneration'],
  d_ff: 5120,
  d_kv: 64,
  d_model: 2048,
  feed_forward_proj: 'gated-gelu',
  is_encoder_decoder: true,
  layer_norm_epsilon: 1e-6,
  model_type: 't5',
  num_decoder_layers: 24,
  num_heads: 32,
  num_layers: 24,
  relative_attention_num_buckets: 32,
  tie_word_embeddings: false,
  vocab_size: 32128,
};

// The original t5-small: ReLU MLP (feed_forward_proj defaults to 'relu'), tied embeddings.
const T5_SMALL = {
  architectures: ['T5ForConditionalGeneration'],
  d_ff: 2048,
  d_kv: 64,
  d_model: 512,
  model_type: 't5',
  n_positions: 512,
  num_heads: 8,
  num_layers: 6,
  relative_attention_num_buckets: 32,
  vocab_size: 32128,
};

const total = (config: Record<string, unknown>) =>
  countParameters(architectureFromConfig('m', config)).total;

function fieldErrors(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof PlanValidationError) return error.errors.map((e) => e.field);
    throw error;
  }
  throw new Error('expected a PlanValidationError');
}

describe('architectureFromConfig on published config.json files', () => {
  it.each([
    ['meta-llama/Meta-Llama-3-8B', LLAMA_3_8B, 8030261248],
    ['openai-community/gpt2', GPT2, 124439808],
    ['mistralai/Mixtral-8x7B-v0.1', MIXTRAL_8X7B, 46702792704],
    ['Qwen/Qwen2.5-7B', QWEN2_5_7B, 7615616512],
    ['Qwen/Qwen3-30B-A3B', QWEN3_30B_A3B, 30532122624],
    ['google/gemma-2-9b', GEMMA_2_9B, 9241705984],
    ['microsoft/Phi-3-mini-4k-instruct', PHI_3_MINI, 3821079552],
    ['bigscience/bloom-7b1', BLOOM_7B1, 7069016064],
    ['deepseek-ai/DeepSeek-V3 (main model, MTP layer excluded)', DEEPSEEK_V3, 671026419200],
    ['tiiuae/falcon-40b (lm_head tied to the embedding)', FALCON_40B, 41303293952],
    ['google/t5-v1_1-xl (keras-hub t5_1.1_xl)', T5_V1_1_XL, 2849757184],
  ])('%s', (_name, config, expected) => {
    expect(total(config)).toBe(expected);
  });

  it("Falcon's ALiBi configs (falcon-rw) are refused by field, not planned with rotary tables", () => {
    expect(() => architectureFromConfig('falcon-rw', { ...FALCON_40B, alibi: true })).toThrow(
      /config.alibi/,
    );
  });

  it('Mixtral experts take intermediate_size (the config has no moe_intermediate_size)', () => {
    const arch = architectureFromConfig('mixtral', MIXTRAL_8X7B);
    expect(arch.moe).toEqual(
      expect.objectContaining({ numExperts: 8, expertsPerToken: 2, expertIntermediateSize: 14336 }),
    );
    expect(countParameters(arch).active).toBe(12879925248);
  });

  it('Qwen3-30B-A3B activates 8 of 128 experts: 3,353,032,704 active', () => {
    expect(countParameters(architectureFromConfig('q', QWEN3_30B_A3B)).active).toBe(3353032704);
  });

  it("Qwen3-MoE's mlp_only_layers and decoder_sparse_step leave layers dense (Qwen3MoeDecoderLayer.__init__)", () => {
    // Layer i routes unless listed in mlp_only_layers, and only where (i + 1) % step == 0; a
    // dense layer is Qwen3MoeMLP of intermediate_size (3 x 2,048 x 6,144 weights) where the
    // sparse block was a router (2,048 x 128) and 128 experts of 3 x 2,048 x 768.
    const dense = 3 * 2048 * 6144;
    const sparse = 2048 * 128 + 128 * 3 * 2048 * 768;
    const routed = (extra: Record<string, unknown>) => total({ ...QWEN3_30B_A3B, ...extra });
    expect(routed({ mlp_only_layers: [0, 47] })).toBe(30532122624 + 2 * (dense - sparse));
    // step 2: the 24 even-indexed layers (i + 1 odd) run the dense MLP
    expect(routed({ decoder_sparse_step: 2 })).toBe(30532122624 + 24 * (dense - sparse));
  });

  it('Qwen2 keeps q/k/v biases and ignores a sliding window it does not use', () => {
    const arch = architectureFromConfig('qwen', QWEN2_5_7B);
    expect(arch.qkvBias).toBe(true);
    expect(arch.attentionOutputBias).toBe(false);
    expect(arch.slidingWindow).toBeUndefined();
  });

  it('Gemma-2 has four norms per layer, tied embeddings and sliding windows on half the layers', () => {
    const arch = architectureFromConfig('gemma', GEMMA_2_9B);
    expect(arch.normsPerLayer).toBe(4);
    expect(arch.tieWordEmbeddings).toBe(true);
    expect(arch.slidingWindow).toBe(4096);
    expect(arch.slidingWindowLayerFraction).toBe(0.5);
  });

  it('Gemma-2 soft-caps its scores at 50 and its logits at 30 (config.json)', () => {
    const arch = architectureFromConfig('gemma', GEMMA_2_9B);
    expect(arch.attentionLogitSoftcapping).toBe(50);
    expect(arch.finalLogitSoftcapping).toBe(30);
  });

  it('Phi-3 computes q/k/v and gate/up with one linear each, as its checkpoint names them', () => {
    const arch = architectureFromConfig('phi3', PHI_3_MINI);
    expect(linearShapes(arch, 0).map((shape) => shape.name)).toEqual([
      'qkv_proj',
      'o_proj',
      'gate_up_proj',
      'down_proj',
    ]);
  });

  it('Command-R+: one bias-free LayerNorm per layer and q/k norms with a weight per head', () => {
    const h = 12288;
    const kv = 8 * 128;
    const layer = 2 * h * h + 2 * h * kv + 3 * h * 33792 + h + (96 + 8) * 128;
    expect(total(COMMAND_R_PLUS)).toBe(64 * layer + 256000 * h + h);
    expect(total(COMMAND_R_PLUS)).toBe(103810674688);
  });

  it('Falcon-7B (RefinedWebModel, multi-query): fused qkv of (71 + 2) heads, one LayerNorm per layer', () => {
    const h = 4544;
    const layer = h * (71 + 2) * 64 + h * h + 2 * h * 4 * h + 2 * h;
    expect(total(FALCON_7B_RW)).toBe(32 * layer + 65024 * h + 2 * h);
    expect(total(FALCON_7B_RW)).toBe(6921720704);
  });

  it('T5: encoder and decoder stacks, cross-attention, relative position buckets', () => {
    const arch = architectureFromConfig('t5', T5_V1_1_XL);
    expect(arch.encoder).toEqual({ numLayers: 24, relativeAttentionBuckets: 32 });
    expect(arch.numLayers).toBe(48);
    const counts = countParameters(arch);
    const encoder = counts.layers.slice(0, 24).reduce((sum, layer) => sum + layer.total, 0);
    const decoder = counts.layers.slice(24).reduce((sum, layer) => sum + layer.total, 0);
    const attention = 4 * 2048 * 2048;
    const mlp = 3 * 2048 * 5120;
    // Encoder: 24 x (attention + GeGLU + 2 norms) + 32 x 32 buckets + final norm.
    expect(encoder).toBe(24 * (attention + mlp + 2 * 2048) + 32 * 32 + 2048);
    expect(encoder).toBe(1157729280);
    // Decoder: 24 x (self- and cross-attention + GeGLU + 3 norms) + buckets; its final norm is
    // the model's final norm.
    expect(decoder + counts.finalNorm).toBe(24 * (2 * attention + mlp + 3 * 2048) + 32 * 32 + 2048);
    expect(decoder + counts.finalNorm).toBe(1560431616);
  });

  it('t5-small: ReLU MLP and tied embeddings, 60,506,624 parameters', () => {
    const h = 512;
    const encoderLayer = 4 * h * h + 2 * h * 2048 + 2 * h;
    const decoderLayer = 8 * h * h + 2 * h * 2048 + 3 * h;
    const stacks = 6 * encoderLayer + 6 * decoderLayer + 2 * (32 * 8 + h);
    expect(total(T5_SMALL)).toBe(32128 * h + stacks);
    expect(total(T5_SMALL)).toBe(60506624);
  });

  describe('sequence classifiers: their head in place of the vocabulary head', () => {
    // bert-base-uncased's shape (BertForSequenceClassification, 2 labels).
    const BERT_BASE = { ...BERT_BASE_CONFIG, architectures: ['BertForSequenceClassification'] };
    const h = 768;
    const encoderLayer = 4 * (h * h + h) + (h * 3072 + 3072) + (3072 * h + h) + 2 * 2 * h;
    const pooledHead = h * h + h + (h * 2 + 2); // pooler (or RoBERTa's dense), classifier
    // RoBERTa's shape over `vocab` tokens (514 positions, numbered from padding_idx + 1, and one
    // token type), as the config.json of `modelType` gives it with the classifier `architecture`
    const robertaShaped = (modelType: string, architecture: string, vocab: number) => ({
      ...BERT_BASE,
      architectures: [architecture],
      model_type: modelType,
      vocab_size: vocab,
      max_position_embeddings: 514,
      type_vocab_size: 1,
    });
    const robertaEmbeddings = (vocab: number) => vocab * h + 514 * h + 1 * h + 2 * h;

    it('bert-base-uncased with 2 labels: 109,483,778 parameters, the pooler and classifier, no LM head', () => {
      const embeddings = 30522 * h + 512 * h + 2 * h + 2 * h; // words, positions, types, LayerNorm
      expect(total(BERT_BASE)).toBe(embeddings + 12 * encoderLayer + pooledHead);
      expect(total(BERT_BASE)).toBe(109483778);
    });

    it('roberta-base with 2 labels: 124,647,170 parameters, RobertaClassificationHead for the pooler', () => {
      // roberta-base's config.json (architectures changed to the classifier).
      const ROBERTA_BASE = robertaShaped('roberta', 'RobertaForSequenceClassification', 50265);
      const embeddings = robertaEmbeddings(50265);
      expect(total(ROBERTA_BASE)).toBe(embeddings + 12 * encoderLayer + pooledHead);
      expect(total(ROBERTA_BASE)).toBe(124647170);
    });

    it("camembert-base with 2 labels: RoBERTa's modules over its 32,005-token vocabulary", () => {
      // camembert-base's config.json (architectures changed to the classifier): 110,623,490.
      const CAMEMBERT_BASE = robertaShaped(
        'camembert',
        'CamembertForSequenceClassification',
        32005,
      );
      const embeddings = robertaEmbeddings(32005);
      expect(total(CAMEMBERT_BASE)).toBe(embeddings + 12 * encoderLayer + pooledHead);
      expect(total(CAMEMBERT_BASE)).toBe(110_623_490);
      // CamembertEmbeddings numbers positions from padding_idx + 1, as RoBERTa's do.
      expect(sequenceLimit(architectureFromConfig('camembert', CAMEMBERT_BASE))?.tokens).toBe(512);
    });

    it('distilbert-base-uncased with 2 labels: 66,955,010 parameters, its own field names, pre_classifier and classifier', () => {
      // distilbert-base-uncased's config.json (architectures changed to the classifier).
      const DISTILBERT = {
        architectures: ['DistilBertForSequenceClassification'],
        model_type: 'distilbert',
        dim: 768,
        n_layers: 6,
        n_heads: 12,
        hidden_dim: 3072,
        vocab_size: 30522,
        max_position_embeddings: 512,
        dropout: 0.1,
        attention_dropout: 0.1,
        seq_classif_dropout: 0.2,
        sinusoidal_pos_embds: false,
      };
      const embeddings = 30522 * h + 512 * h + 2 * h; // words, positions, LayerNorm: no types
      expect(total(DISTILBERT)).toBe(embeddings + 6 * encoderLayer + pooledHead);
      expect(total(DISTILBERT)).toBe(66955010);
      const arch = architectureFromConfig('distilbert', DISTILBERT);
      expect(arch.dropout).toEqual({ attention: 0.1, residual: 0.1, embedding: 0.1 });
      expect(() =>
        architectureFromConfig('distilbert', { ...DISTILBERT, sinusoidal_pos_embds: true }),
      ).toThrow(/config.sinusoidal_pos_embds/);
    });

    it('electra-base-discriminator fine-tuned with 2 labels: 109,483,778 parameters, no pooler, ElectraClassificationHead', () => {
      // google/electra-base-discriminator's config.json, architectures set to the classifier.
      const ELECTRA_BASE = {
        ...BERT_BASE,
        architectures: ['ElectraForSequenceClassification'],
        model_type: 'electra',
        embedding_size: 768,
      };
      const embeddings = 30522 * h + 512 * h + 2 * h + 2 * h;
      expect(total(ELECTRA_BASE)).toBe(embeddings + 12 * encoderLayer + pooledHead);
      expect(total(ELECTRA_BASE)).toBe(109483778);
      // The hub's own head, an embedding narrower than the layers and relative positions are
      // refused by field.
      const refused = (extra: Record<string, unknown>) => () =>
        architectureFromConfig('electra', { ...ELECTRA_BASE, ...extra });
      expect(refused({ architectures: ['ElectraForPreTraining'] })).toThrow(/config.architectures/);
      expect(refused({ embedding_size: 128 })).toThrow(/config.embedding_size/);
      expect(refused({ position_embedding_type: 'relative_key' })).toThrow(
        /config.position_embedding_type/,
      );
    });

    describe('DeBERTa-v2 and -v3 (modeling_deberta_v2.py): BERT-shaped layers, a relative position table', () => {
      // microsoft/deberta-v3-base's config.json, architectures set to the classifier.
      const DEBERTA_V3_BASE = {
        model_type: 'deberta-v2',
        architectures: ['DebertaV2ForSequenceClassification'],
        num_labels: 2,
        hidden_size: 768,
        num_hidden_layers: 12,
        num_attention_heads: 12,
        intermediate_size: 3072,
        hidden_act: 'gelu',
        max_position_embeddings: 512,
        vocab_size: 128100,
        type_vocab_size: 0,
        relative_attention: true,
        position_buckets: 256,
        norm_rel_ebd: 'layer_norm',
        share_att_key: true,
        pos_att_type: 'p2c|c2p',
        max_relative_positions: -1,
        position_biased_input: false,
      };
      const words = 128100 * h + 2 * h; // word_embeddings and their LayerNorm: no positions, no types
      const relativeTable = 2 * 256 * h + 2 * h; // rel_embeddings (2 x 256 rows) and its LayerNorm

      it('deberta-v3-base with 2 labels: 184,423,682 parameters, 86M in the layers and 98M in the embedding (its model card)', () => {
        const backbone = words + relativeTable + 12 * encoderLayer;
        expect(backbone).toBe(183_831_552);
        expect(total(DEBERTA_V3_BASE)).toBe(backbone + pooledHead);
        expect(total(DEBERTA_V3_BASE)).toBe(184_423_682);
        const arch = architectureFromConfig('deberta', DEBERTA_V3_BASE);
        expect(arch.disentangled).toEqual({
          span: 256,
          contentToPosition: true,
          positionToContent: true,
          sharedKey: true,
          normalized: true,
          logBuckets: true,
        });
      });

      it('without share_att_key each layer projects the positions itself (pos_key_proj, pos_query_proj); position_biased_input adds a learned table', () => {
        const own = { ...DEBERTA_V3_BASE, share_att_key: false };
        expect(total(own)).toBe(184_423_682 + 12 * 2 * (h * h + h));
        const onlyContentToPosition = { ...own, pos_att_type: ['c2p'] };
        expect(total(onlyContentToPosition)).toBe(184_423_682 + 12 * (h * h + h));
        const positioned = { ...DEBERTA_V3_BASE, position_biased_input: true };
        expect(total(positioned)).toBe(184_423_682 + 512 * h);
      });

      it("deberta-v2-xlarge (24 layers of 1,536, its first layer's ConvLayer): 884,593,152 parameters without a head, its card's 900M", () => {
        // microsoft/deberta-v2-xlarge's config.json: conv_kernel_size 3, conv_act 'gelu', 24
        // heads of 64, FFN 6,144, 256 position buckets, the table's LayerNorm
        const xlarge = {
          ...DEBERTA_V3_BASE,
          architectures: ['DebertaV2Model'],
          hidden_size: 1536,
          num_hidden_layers: 24,
          num_attention_heads: 24,
          intermediate_size: 6144,
          conv_kernel_size: 3,
          conv_act: 'gelu',
        };
        const x = 1536;
        const layer = 4 * (x * x + x) + (x * 6144 + 6144) + (6144 * x + x) + 2 * 2 * x;
        const conv = x * x * 3 + x + 2 * x; // Conv1d(1536, 1536, 3) and its bias, LayerNorm
        const backbone = 128100 * x + 2 * x + 24 * layer + (2 * 256 * x + 2 * x) + conv;
        expect(backbone).toBe(884_593_152);
        // planned as the masked LM: its transform and decoder bias come off
        const head = x * x + x + 2 * x + 128100;
        expect(total(xlarge) - head).toBe(backbone);
        expect(Math.abs(backbone / 900e6 - 1)).toBeLessThan(0.02);
        expect(architectureFromConfig('deberta', xlarge).encoderConv).toEqual({
          kernel: 3,
          groups: 1,
          activation: 'gelu',
        });
      });

      it("a convolution's other activations and a projected embedding are refused by field; tensor and pipeline parallelism are refused for its relative scores", () => {
        const refused = (extra: Record<string, unknown>) => () =>
          architectureFromConfig('deberta', { ...DEBERTA_V3_BASE, ...extra });
        expect(refused({ conv_kernel_size: 3, conv_act: 'relu' })).toThrow(/config.conv_act/);
        expect(refused({ embedding_size: 128 })).toThrow(/config.embedding_size/);
        expect(refused({ pos_att_type: 3 })).toThrow(/config.pos_att_type/);
        const arch = architectureFromConfig('deberta', DEBERTA_V3_BASE);
        expect(pipelinable(arch)).toBe(false);
        expect(tensorParallelizable(arch)).toBe(false);
        expect(tensorParallelizable({ ...arch, disentangled: undefined })).toBe(true);
      });
    });

    describe("DeBERTa-v1 (modeling_deberta.py): one bias-free in_proj, q_bias and v_bias, the layer's own pos_proj and pos_q_proj", () => {
      // microsoft/deberta-base's config.json, architectures set to the classifier.
      const DEBERTA_BASE = {
        model_type: 'deberta',
        architectures: ['DebertaForSequenceClassification'],
        num_labels: 2,
        hidden_size: 768,
        num_hidden_layers: 12,
        num_attention_heads: 12,
        intermediate_size: 3072,
        hidden_act: 'gelu',
        max_position_embeddings: 512,
        vocab_size: 50265,
        type_vocab_size: 0,
        relative_attention: true,
        max_relative_positions: -1,
        pos_att_type: 'c2p|p2c',
        position_biased_input: false,
        layer_norm_eps: 1e-7,
      };
      // in_proj (3h x h, no bias), q_bias and v_bias (h each), pos_proj (h x h, no bias),
      // pos_q_proj (h x h + h), attention.output.dense and its DebertaLayerNorm, the FFN and its.
      const layer = (width: number, ffn: number) =>
        3 * width * width +
        2 * width +
        width * width +
        (width * width + width) +
        (width * width + width) +
        2 * width +
        (width * ffn + ffn) +
        (ffn * width + width) +
        2 * width;

      it('deberta-base with 2 labels: 139,193,858 parameters (the word embedding and its norm, 12 layers, a 1,024-row table, the pooled head)', () => {
        const words = 50265 * h + 2 * h; // no positions (position_biased_input false), no types
        const table = 2 * 512 * h; // rel_embeddings: 2 x max_position_embeddings, no LayerNorm
        expect(layer(h, 3072)).toBe(8_267_520);
        expect(total(DEBERTA_BASE)).toBe(words + 12 * layer(h, 3072) + table + pooledHead);
        expect(total(DEBERTA_BASE)).toBe(139_193_858);
        expect(architectureFromConfig('deberta', DEBERTA_BASE).disentangled).toEqual({
          span: 512,
          contentToPosition: true,
          positionToContent: true,
          sharedKey: false,
          normalized: false,
          logBuckets: false,
          inProjection: true,
        });
      });

      it("deberta-xlarge (48 layers of 1,024): 757,804,032 parameters without a head, its model card's 750M", () => {
        const xlarge = {
          ...DEBERTA_BASE,
          architectures: ['DebertaModel'],
          hidden_size: 1024,
          num_hidden_layers: 48,
          num_attention_heads: 16,
          intermediate_size: 4096,
        };
        // DebertaModel has no head: planned as the masked LM, whose transform and decoder bias
        // (LegacyDebertaLMPredictionHead) come off here.
        const head = 1024 * 1024 + 1024 + 2 * 1024 + 50265;
        const backbone = 50265 * 1024 + 2 * 1024 + 48 * layer(1024, 4096) + 2 * 512 * 1024;
        expect(backbone).toBe(757_804_032);
        expect(total(xlarge) - head).toBe(backbone);
        expect(Math.abs(backbone / 750e6 - 1)).toBeLessThan(0.011);
      });

      it('relative_attention false, talking heads, the non-legacy masked-LM head and a projected embedding are refused by field', () => {
        const refused = (extra: Record<string, unknown>) => () =>
          architectureFromConfig('deberta', { ...DEBERTA_BASE, ...extra });
        expect(refused({ relative_attention: false })).toThrow(/config.relative_attention/);
        expect(refused({ talking_head: true })).toThrow(/config.talking_head/);
        expect(refused({ embedding_size: 128 })).toThrow(/config.embedding_size/);
        const maskedLm = { architectures: ['DebertaForMaskedLM'], legacy: false };
        expect(refused(maskedLm)).toThrow(/config.legacy/);
        expect(refused({ legacy: false })).not.toThrow(); // the classifier has no LM head
        const arch = architectureFromConfig('deberta', DEBERTA_BASE);
        expect(pipelinable(arch)).toBe(false);
        expect(tensorParallelizable(arch)).toBe(false);
      });
    });

    describe('the same encoders as masked LMs: the transform and the decoder bias, no pooler', () => {
      // BertOnlyMLMHead / RobertaLMHead / DistilBERT's vocab_transform: dense h x h + h,
      // LayerNorm 2h; the decoder tied to the embedding, with its own bias of V.
      const transform = h * h + h + 2 * h;

      it('bert-base-uncased as BertForMaskedLM: 109,514,298 parameters', () => {
        const config = { ...BERT_BASE, architectures: ['BertForMaskedLM'] };
        const embeddings = 30522 * h + 512 * h + 2 * h + 2 * h;
        expect(total(config)).toBe(embeddings + 12 * encoderLayer + transform + 30522);
        expect(total(config)).toBe(109514298);
      });

      it('roberta-base as RobertaForMaskedLM: 124,697,433 parameters', () => {
        const config = robertaShaped('roberta', 'RobertaForMaskedLM', 50265);
        const embeddings = robertaEmbeddings(50265);
        expect(total(config)).toBe(embeddings + 12 * encoderLayer + transform + 50265);
        expect(total(config)).toBe(124697433);
      });

      it('an ELECTRA generator as ElectraForMaskedLM: generator_predictions and the tied generator_lm_head', () => {
        const config = {
          ...BERT_BASE,
          model_type: 'electra',
          architectures: ['ElectraForMaskedLM'],
        };
        const embeddings = 30522 * h + 512 * h + 2 * h + 2 * h;
        expect(total(config)).toBe(embeddings + 12 * encoderLayer + transform + 30522);
      });

      it('distilbert-base-uncased as DistilBertForMaskedLM: 66,985,530 parameters', () => {
        const config = { model_type: 'distilbert', architectures: ['DistilBertForMaskedLM'] };
        const embeddings = 30522 * h + 512 * h + 2 * h;
        expect(total(config)).toBe(embeddings + 6 * encoderLayer + transform + 30522);
        expect(total(config)).toBe(66985530);
      });
    });

    it('Llama-3-8B as LlamaForSequenceClassification: a bias-free score of h x labels, no lm_head', () => {
      const config = { ...LLAMA_3_8B, architectures: ['LlamaForSequenceClassification'] };
      expect(total(config)).toBe(8030261248 - 128256 * 4096 + 4096 * 2);
    });
  });

  it("google/mt5-small: T5's modules with MT5Config's untied head and gated GeLU, 300,176,768 parameters", () => {
    // google/mt5-small's config.json gives its shape; MT5Config supplies the same defaults.
    const MT5_SMALL = {
      architectures: ['MT5ForConditionalGeneration'],
      model_type: 'mt5',
      d_ff: 1024,
      d_kv: 64,
      d_model: 512,
      num_heads: 6,
      num_layers: 8,
      vocab_size: 250112,
      feed_forward_proj: 'gated-gelu',
      tie_word_embeddings: false,
    };
    const h = 512;
    const inner = 6 * 64;
    const gatedMlp = 2 * h * 1024 + 1024 * h; // wi_0, wi_1, wo
    const encoderLayer = 4 * h * inner + gatedMlp + 2 * h;
    const decoderLayer = 8 * h * inner + gatedMlp + 3 * h;
    const stacks = 8 * encoderLayer + 8 * decoderLayer + 2 * (32 * 6 + h);
    expect(total(MT5_SMALL)).toBe(2 * 250112 * h + stacks); // shared embedding, untied lm_head
    expect(total(MT5_SMALL)).toBe(300176768); // the Hub's count
    // The same from MT5Config's defaults alone.
    expect(total({ model_type: 'mt5' })).toBe(300176768);
    expect(architectureFromConfig('mt5', MT5_SMALL).modelType).toBe('t5');
  });

  it("google/umt5-base: mT5's modules, every self-attention with its own relative bias (32 buckets x 12 heads)", () => {
    // google/umt5-base's config.json: 12 + 12 layers of 768, 12 heads of 64, a gated GeLU MLP
    // of 2,048, 256,384 tokens, an untied head.
    const UMT5_BASE = {
      architectures: ['UMT5ForConditionalGeneration'],
      model_type: 'umt5',
      d_ff: 2048,
      d_kv: 64,
      d_model: 768,
      num_heads: 12,
      num_layers: 12,
      vocab_size: 256384,
      feed_forward_proj: 'gated-gelu',
      tie_word_embeddings: false,
    };
    const h = 768;
    const bias = 32 * 12; // UMT5LayerSelfAttention's relative_attention_bias, in every block
    const gatedMlp = 2 * h * 2048 + 2048 * h;
    const encoderLayer = 4 * h * h + bias + gatedMlp + 2 * h;
    const decoderLayer = 8 * h * h + bias + gatedMlp + 3 * h; // EncDecAttention has none
    const stacks = 12 * encoderLayer + 12 * decoderLayer + 2 * h; // each stack's final norm
    expect(total(UMT5_BASE)).toBe(2 * 256384 * h + stacks);
    expect(total(UMT5_BASE)).toBe(592_043_520);
    expect(architectureFromConfig('umt5', UMT5_BASE).modelType).toBe('umt5');
  });

  it('Qwen1.5-MoE-A2.7B: 60 experts, one gated shared expert, 14,315,784,192 parameters', () => {
    const config = {
      architectures: ['Qwen2MoeForCausalLM'],
      decoder_sparse_step: 1,
      hidden_size: 2048,
      intermediate_size: 5632,
      model_type: 'qwen2_moe',
      moe_intermediate_size: 1408,
      num_attention_heads: 16,
      num_experts: 60,
      num_experts_per_tok: 4,
      num_hidden_layers: 24,
      num_key_value_heads: 16,
      shared_expert_intermediate_size: 5632,
      tie_word_embeddings: false,
      vocab_size: 151936,
    };
    const h = 2048;
    const attention = 4 * h * h + 3 * h; // q/k/v biases
    const experts = 60 * 3 * h * 1408 + h * 60; // routed experts + router
    const shared = 3 * h * 5632 + h; // shared expert + its h x 1 gate
    const layer = attention + experts + shared + 2 * h;
    expect(total(config)).toBe(24 * layer + 2 * 151936 * h + h);
    expect(total(config)).toBe(14315784192);
  });

  it('Phi-2: one LayerNorm per parallel block, biases everywhere including the output head', () => {
    const config = {
      architectures: ['PhiForCausalLM'],
      hidden_act: 'gelu_new',
      hidden_size: 2560,
      intermediate_size: 10240,
      max_position_embeddings: 2048,
      model_type: 'phi',
      num_attention_heads: 32,
      num_hidden_layers: 32,
      num_key_value_heads: 32,
      partial_rotary_factor: 0.4,
      tie_word_embeddings: false,
      vocab_size: 51200,
    };
    const h = 2560;
    const layer = 4 * (h * h + h) + (h * 10240 + 10240) + (10240 * h + h) + 2 * h;
    expect(total(config)).toBe(32 * layer + 51200 * h + 2 * h + (51200 * h + 51200));
    expect(total(config)).toBe(2779683840);
  });

  it('GPT-3 175B as a GPT-2-style config: the shared catalog computed 174,604,259,328', () => {
    const gpt3 = { model_type: 'gpt2', n_embd: 12288, n_layer: 96, n_head: 96, n_positions: 2048 };
    expect(total({ ...gpt3, vocab_size: 50257 })).toBe(174604259328);
  });

  it('finds the family from `architectures` alone, picking the most specific name', () => {
    const { model_type: _llama, ...llama } = LLAMA_3_8B;
    expect(total(llama)).toBe(8030261248);
    const { model_type: _gemma2, ...gemma2 } = GEMMA_2_9B;
    expect(architectureFromConfig('g', gemma2).normsPerLayer).toBe(4);
    const { model_type: _qwen3, ...qwen3Moe } = QWEN3_30B_A3B;
    expect(total(qwen3Moe)).toBe(30532122624);
  });

  it('accepts its own camelCase field names', () => {
    const own = architectureFromConfig('own', {
      hiddenSize: 4096,
      numLayers: 32,
      numAttentionHeads: 32,
      numKeyValueHeads: 8,
      intermediateSize: 14336,
      vocabSize: 128256,
    });
    expect(countParameters(own).total).toBe(8030261248);
  });
});

describe('architectureFromConfig errors', () => {
  it('lists every missing field, each named as in config.json', () => {
    const fields = fieldErrors(() =>
      architectureFromConfig('x', { model_type: 'llama', hidden_size: 64, rope_theta: 1e4 }),
    );
    expect(fields).toEqual(
      expect.arrayContaining([
        'config.num_hidden_layers',
        'config.num_attention_heads',
        'config.vocab_size',
        'config.intermediate_size',
      ]),
    );
    expect(fields).not.toContain('config.hidden_size');
  });

  it('names an unknown model_type and what is supported', () => {
    try {
      const rwkv = { ...LLAMA_3_8B, model_type: 'rwkv', architectures: ['RwkvForCausalLM'] };
      architectureFromConfig('x', rwkv);
      throw new Error('expected a PlanValidationError');
    } catch (error) {
      expect(error).toBeInstanceOf(PlanValidationError);
      const [first] = (error as PlanValidationError).errors;
      expect(first.field).toBe('config.model_type');
      expect(first.message).toContain('llama');
    }
  });

  it('reads a model_type it does not know by the class `architectures` names, with a note', () => {
    // Kimi-K2 publishes model_type kimi_k2 on DeepseekV3ForCausalLM (its remote code).
    const kimi = { ...LLAMA_3_8B, model_type: 'kimi_k2', architectures: ['LlamaForCausalLM'] };
    const arch = architectureFromConfig('x', kimi);
    expect(countParameters(arch).total).toBe(
      countParameters(architectureFromConfig('y', LLAMA_3_8B)).total,
    );
    expect(arch.notes?.join(' ')).toMatch(
      /model_type 'kimi_k2' is not one the planner reads: planned as LlamaForCausalLM, Hugging Face's llama code/,
    );
  });

  it('refuses a head count that does not divide hidden_size when head_dim is not given', () => {
    const fields = fieldErrors(() =>
      architectureFromConfig('x', { ...LLAMA_3_8B, num_attention_heads: 30 }),
    );
    expect(fields).toContain('config.head_dim');
  });

  it('refuses K/V heads that do not split the query heads into equal groups', () => {
    // Llama-3-8B has 32 query heads: 8 K/V heads make groups of 4, 6 cannot.
    const fields = fieldErrors(() =>
      architectureFromConfig('x', { ...LLAMA_3_8B, num_key_value_heads: 6 }),
    );
    expect(fields).toEqual(['config.num_key_value_heads']);
  });

  it('refuses a LayerNorm without weights outside OLMo-1, whose recipe alone runs one', () => {
    const fields = fieldErrors(() =>
      architectureFromConfig('x', {
        ...LLAMA_3_8B,
        model_type: 'gpt2',
        norm: 'layernorm-weightless',
      }),
    );
    expect(fields).toEqual(['config.norm']);
  });

  it('refuses routing a token to more experts than the model has', () => {
    const fields = fieldErrors(() =>
      architectureFromConfig('x', {
        ...LLAMA_3_8B,
        model_type: 'mixtral',
        num_local_experts: 2,
        num_experts_per_tok: 4,
      }),
    );
    expect(fields).toEqual(['config.num_experts_per_tok']);
  });
});

describe('config.json names without model_type', () => {
  const HINTED = {
    hidden_size: 4096,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    vocab_size: 128256,
    intermediate_size: 14336,
  };

  it('the refusal names what to add, and the hinted body is then accepted', () => {
    let message = '';
    try {
      architectureFromConfig('x', HINTED);
    } catch (error) {
      message = (error as PlanValidationError).errors[0].message;
    }
    expect(message).toContain(
      'give hidden_size, num_hidden_layers, num_attention_heads, vocab_size, intermediate_size and "mlp": "gated"',
    );
    const arch = architectureFromConfig('x', { ...HINTED, mlp: 'gated' });
    const h = 4096;
    // Llama-style: q, k, v, o of h x h (no K/V grouping given), SwiGLU, two RMSNorms, untied.
    expect(countParameters(arch).total).toBe(
      32 * (4 * h * h + 3 * h * 14336 + 2 * h) + 2 * 128256 * h + h,
    );
    expect(arch.notes?.join()).toContain('no model_type given: read as a Llama-style decoder');
  });

  it('a SiLU activation with an MLP width is unambiguous: a gated Llama-style decoder', () => {
    const { model_type: _type, architectures: _archs, ...bare } = LLAMA_3_8B;
    expect(total(bare)).toBe(8030261248);
  });

  it('"mlp": "plain" reads a GPT-style decoder with LayerNorms', () => {
    const arch = architectureFromConfig('x', { ...HINTED, mlp: 'plain' });
    expect(arch.mlp).toBe('plain');
    expect(arch.norm).toBe('layernorm');
  });

  it('an unknown model_type is refused with the same working hint', () => {
    const fields = fieldErrors(() =>
      architectureFromConfig('x', { ...HINTED, model_type: 'rwkv', mlp: 'gated' }),
    );
    expect(fields).toEqual(['config.model_type']);
  });
});
