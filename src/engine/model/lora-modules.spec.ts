// LoRA on the model's own modules, as PEFT wraps them: a fused projection (GPT-2's c_attn,
// Falcon's, BLOOM's and GPT-NeoX's query_key_value) is one linear with one A of r x in and one B
// of r x its joined outputs; a target matches a module's path or its trailing components
// (peft tuners_utils.py check_target_module_exists). Counts written out by hand.
import { forwardEnd } from '../../../test/support/layer-bytes';
import { ALLOCATED_COMPONENTS } from '../memory/autograd/events';
import { LoraSettings, TrainingSettings } from '../vocabulary';
import { architectureFromConfig } from './architecture';
import { defaultLoraTargets, litgptRunsLayers, noPeftDefaultNote } from './lora-modules';
import { loraParameters, trainableParameters } from './parameters';
import { normalizeRequest } from '../request/normalize';
import { validateRequest } from '../request/validate';
import { H100_SXM } from '../../../test/support/gpus';

const r = 16;
const lora = (targetModules: string[] | 'all-linear'): LoraSettings => ({
  rank: r,
  alpha: 32,
  dropout: 0,
  targetModules,
});
const h = 256;
const BASE = { hidden_size: h, num_attention_heads: 4, vocab_size: 1024, num_hidden_layers: 2 };
const FALCON = {
  ...BASE,
  model_type: 'falcon',
  new_decoder_architecture: true,
  num_kv_heads: 2,
  ffn_hidden_size: 1024,
};
const GPT2 = { ...BASE, model_type: 'gpt2', n_positions: 512 };
const T5 = { ...BASE, model_type: 't5', d_kv: 64, d_ff: 1024, num_decoder_layers: 2 };
// Without a *ForSequenceClassification architecture BERT is planned as BertForMaskedLM.
const BERT = { ...BASE, model_type: 'bert', intermediate_size: 1024 };
const BERT_CLS = { ...BERT, architectures: ['BertForSequenceClassification'], num_labels: 2 };

const count = (config: Record<string, unknown>, targets: string[] | 'all-linear') =>
  loraParameters(architectureFromConfig('spec', config), lora(targets)).total;

/** A LoRA request on `config` under `preset`, normalized, and its validation errors. */
function request(
  config: Record<string, unknown>,
  preset: 'litgpt' | 'hf-transformers' | 'none',
  targets?: string[],
) {
  const arch = architectureFromConfig('lora-spec', config);
  const normalized = normalizeRequest(
    {
      model: 'lora-spec',
      cluster: { gpu: H100_SXM.id },
      training: { method: 'lora', ...(targets ? { lora: { targetModules: targets } } : {}) },
      runtime: { preset },
    },
    H100_SXM,
    arch,
  );
  return { arch, normalized, errors: validateRequest(normalized, arch, H100_SXM) };
}

describe("LoRA on a model's own modules (PEFT)", () => {
  it("Falcon's query_key_value: one adapter over q, k and v joined, r x (h + (a + 2g) d)", () => {
    const qkvOut = (4 + 2 * 2) * 64;
    expect(count(FALCON, ['query_key_value'])).toBe(2 * r * (h + qkvOut));
    // Where Hugging Face's code runs under another framework's vocabulary (runtime.modelCode
    // 'native'), q_proj names a part of the same module, which that code adapts whole.
    expect(count(FALCON, ['q_proj', 'v_proj'])).toBe(2 * r * (h + qkvOut));
    expect(count(FALCON, ['dense_h_to_4h', 'dense'])).toBe(2 * r * (h + 1024 + h + h));
  });

  it("GPT-2's c_proj matches attn.c_proj and mlp.c_proj; attn.c_proj only the first", () => {
    expect(count(GPT2, ['c_attn'])).toBe(2 * r * (h + 3 * h));
    expect(count(GPT2, ['c_proj'])).toBe(2 * r * (h + h + 4 * h + h));
    expect(count(GPT2, ['attn.c_proj'])).toBe(2 * r * (h + h));
  });

  it("Granite's shared_mlp: input_linear is one adapter over gate and up, output_linear the down projection, beside experts or alone", () => {
    const shared = 384;
    const granite = (modelType: string, experts: number) => ({
      ...BASE,
      model_type: modelType,
      intermediate_size: 512,
      num_local_experts: experts,
      shared_intermediate_size: shared,
      num_experts_per_tok: 2,
      layer_types: ['attention', 'attention'],
    });
    // input_linear r (h + 2 x 384), output_linear r (384 + h), in each of the two layers
    const perLayer = r * (h + 2 * shared) + r * (shared + h);
    for (const config of [granite('granitemoeshared', 4), granite('granitemoehybrid', 0)]) {
      expect(count(config, ['input_linear', 'output_linear'])).toBe(2 * perLayer);
      expect(count(config, ['shared_mlp.output_linear'])).toBe(2 * r * (shared + h));
    }
  });

  it("GPT-J's out_proj, fc_in and fc_out are its own names for o, up and down", () => {
    const GPTJ = { ...BASE, model_type: 'gptj', n_inner: 1024, rotary_dim: 16 };
    // each layer: out_proj r (h + h), fc_in r (h + 1024), fc_out r (1024 + h)
    const perLayer = r * (2 * h) + 2 * r * (h + 1024);
    expect(count(GPTJ, ['out_proj', 'fc_in', 'fc_out'])).toBe(2 * perLayer);
    expect(count(GPTJ, ['out_proj', 'fc_in', 'fc_out'])).toBe(
      count(GPTJ, 'all-linear') - 2 * 3 * r * 2 * h,
    );
  });

  it("T5's q and v adapt the self-attention of both stacks and the decoder's cross-attention", () => {
    const selfQv = 2 * r * (h + h);
    // Two encoder layers (self q, v) and two decoder layers (self and EncDecAttention q, v).
    expect(count(T5, ['q', 'v'])).toBe(2 * selfQv + 2 * 2 * selfQv);
    expect(count(T5, ['wi', 'wo'])).toBe(4 * r * (h + 1024 + 1024 + h));
  });

  it("BART's q_proj and v_proj (PEFT's default) reach the decoder's encoder_attn too; out_proj, fc1 and fc2 by its names", () => {
    const BART = {
      model_type: 'bart',
      d_model: h,
      encoder_layers: 2,
      decoder_layers: 2,
      encoder_attention_heads: 4,
      decoder_attention_heads: 4,
      encoder_ffn_dim: 1024,
      decoder_ffn_dim: 1024,
      vocab_size: 1024,
    };
    const qv = 2 * r * (h + h);
    // Two encoder layers (self_attn q, v) and two decoder layers (self_attn and encoder_attn).
    expect(count(BART, defaultLoraTargets({ modelType: 'bart' }))).toBe(2 * qv + 2 * 2 * qv);
    expect(count(BART, ['encoder_attn.out_proj'])).toBe(2 * r * (h + h));
    expect(count(BART, ['out_proj'])).toBe((2 + 2 * 2) * r * (h + h));
    expect(count(BART, ['fc1', 'fc2'])).toBe(4 * r * (h + 1024 + 1024 + h));
  });

  it("BERT's dense matches the attention output, intermediate and output linears, and the masked-LM head's transform", () => {
    expect(count(BERT, ['query', 'value'])).toBe(2 * 2 * r * (h + h));
    const layers = 2 * r * (h + h + h + 1024 + 1024 + h);
    const transform = r * (h + h); // cls.predictions.transform.dense, h -> h
    expect(count(BERT, ['dense'])).toBe(layers + transform);
    expect(count(BERT, ['transform.dense'])).toBe(transform);
    // 'all-linear' wraps every nn.Linear but the decoder (the output layer).
    expect(count(BERT, 'all-linear')).toBe(count(BERT, ['query', 'key', 'value', 'dense']));
    const DISTIL = { ...BASE, model_type: 'distilbert', dim: h, n_heads: 4, hidden_dim: 1024 };
    expect(count(DISTIL, ['vocab_transform'])).toBe(transform);
  });

  it("a sequence classifier trains PEFT's copy of its classifier beside the adapters (modules_to_save)", () => {
    // PeftModelForSequenceClassification adds 'classifier' and 'score' to modules_to_save.
    const trainable = (config: Record<string, unknown>, targets: string[]) =>
      trainableParameters(
        architectureFromConfig('spec', config),
        { method: 'lora' } as TrainingSettings,
        lora(targets),
      );
    const adapters = 2 * 2 * r * (h + h); // query and value in two layers
    // BERT: `classifier` (h x 2 + 2), not the pooler.
    expect(trainable(BERT_CLS, ['query', 'value'])).toBe(adapters + h * 2 + 2);
    // RoBERTa: `classifier` is RobertaClassificationHead, its dense and out_proj together.
    const roberta = {
      ...BERT_CLS,
      model_type: 'roberta',
      architectures: ['RobertaForSequenceClassification'],
    };
    expect(trainable(roberta, ['query', 'value'])).toBe(adapters + h * h + h + h * 2 + 2);
    // A decoder's bias-free `score`.
    const llama = {
      ...BASE,
      intermediate_size: 1024,
      architectures: ['LlamaForSequenceClassification'],
    };
    expect(trainable(llama, ['q_proj', 'v_proj'])).toBe(adapters + h * 2);
    // roberta-base's figures (12 layers, h 768, r 8): 294,912 adapters + 592,130 head.
    const robertaBase = {
      ...roberta,
      hidden_size: 768,
      num_attention_heads: 12,
      intermediate_size: 3072,
      num_hidden_layers: 12,
      vocab_size: 50265,
    };
    expect(
      trainableParameters(
        architectureFromConfig('spec', robertaBase),
        { method: 'lora' } as TrainingSettings,
        { ...lora(['query', 'value']), rank: 8 },
      ),
    ).toBe(12 * 2 * 8 * (768 + 768) + (768 * 768 + 768) + (768 * 2 + 2));
  });

  it("a pooled classifier's dense outside modules_to_save takes an adapter as any linear: BERT's pooler.dense, DistilBERT's pre_classifier, not RoBERTa's classifier.dense", () => {
    const layers = 2 * r * (h + h + h + 1024 + 1024 + h); // attention output, intermediate, output
    const pooler = r * (h + h);
    expect(count(BERT_CLS, ['dense'])).toBe(layers + pooler);
    expect(count(BERT_CLS, ['pooler.dense'])).toBe(pooler);
    expect(count(BERT_CLS, 'all-linear')).toBe(count(BERT_CLS, ['query', 'key', 'value', 'dense']));
    const roberta = {
      ...BERT_CLS,
      model_type: 'roberta',
      architectures: ['RobertaForSequenceClassification'],
    };
    expect(count(roberta, ['dense'])).toBe(layers);
    const DISTIL = {
      ...BASE,
      model_type: 'distilbert',
      architectures: ['DistilBertForSequenceClassification'],
      dim: h,
      n_heads: 4,
      hidden_dim: 1024,
    };
    expect(count(DISTIL, ['pre_classifier'])).toBe(pooler);
  });

  it("the head and the embedding answer to the model's own module names (GPT-2's wte, GPT-NeoX's embed_in and embed_out, BERT's decoder)", () => {
    const V = 1024;
    const embedding = r * (V + h); // lora_embedding_A (r x vocab) and lora_embedding_B (h x r)
    const head = r * (h + V);
    expect(count(GPT2, ['c_attn', 'wte'])).toBe(count(GPT2, ['c_attn']) + embedding);
    const NEOX = { ...BASE, model_type: 'gpt_neox', intermediate_size: 1024 };
    expect(count(NEOX, ['embed_in', 'embed_out'])).toBe(embedding + head);
    expect(count(BERT, ['decoder'])).toBe(head);
    expect(count(BERT, ['word_embeddings'])).toBe(embedding);
    // The request is checked against the same names: each is known.
    const arch = architectureFromConfig('neox', NEOX);
    const request = normalizeRequest(
      {
        model: 'neox',
        cluster: { gpu: H100_SXM.id },
        training: { method: 'lora', sequenceLength: 256, lora: lora(['embed_out']) },
      },
      H100_SXM,
      arch,
    );
    expect(validateRequest(request, arch, H100_SXM)).toEqual([]);
  });

  it("the common end names are not a model's whose code names its ends otherwise: they match no module there, or one PEFT cannot wrap", () => {
    const unknownTargets = (config: Record<string, unknown>, targets: string[]) => {
      const arch = architectureFromConfig('spec', config);
      const request = normalizeRequest(
        {
          model: 'spec',
          cluster: { gpu: H100_SXM.id },
          training: { method: 'lora', sequenceLength: 256, lora: lora(targets) },
        },
        H100_SXM,
        arch,
      );
      const errors = validateRequest(request, arch, H100_SXM);
      return errors.filter((e) => e.field === 'training.lora.targetModules').length;
    };
    // GPT-2 has no embed_tokens (transformer.wte) and no module named output.
    expect(unknownTargets(GPT2, ['c_attn', 'embed_tokens'])).toBe(1);
    expect(unknownTargets(GPT2, ['c_attn', 'output'])).toBe(1);
    expect(unknownTargets(GPT2, ['c_attn', 'lm_head', 'wte'])).toBe(0);
    // BERT's `output`s are BertSelfOutput and BertOutput, RoBERTa's lm_head is RobertaLMHead:
    // modules, not linears ("Target module ... is not supported").
    expect(unknownTargets(BERT, ['query', 'output'])).toBe(1);
    expect(unknownTargets(BERT, ['query', 'lm_head'])).toBe(1);
    const ROBERTA = { ...BERT, model_type: 'roberta', max_position_embeddings: 514 };
    expect(unknownTargets(ROBERTA, ['query', 'lm_head'])).toBe(1);
    expect(unknownTargets(ROBERTA, ['query', 'lm_head.decoder'])).toBe(0);
    // A Llama-style decoder keeps both: Hugging Face's lm_head and torchtune's output.
    const LLAMA = { ...BASE, model_type: 'llama', intermediate_size: 1024 };
    expect(unknownTargets(LLAMA, ['q_proj', 'lm_head', 'output', 'embed_tokens'])).toBe(0);
  });

  it("PEFT's default targets per model type, Llama's q_proj and v_proj elsewhere", () => {
    const type = (modelType: string, fusedQkv = false) =>
      defaultLoraTargets({ modelType, fusedQkv });
    expect(type('gpt2')).toEqual(['c_attn']);
    expect(type('falcon')).toEqual(['query_key_value']);
    expect(type('phi')).toEqual(['q_proj', 'v_proj', 'fc1', 'fc2']);
    expect(type('llama')).toEqual(['q_proj', 'v_proj']);
    expect(type('phi3', true)).toEqual(['qkv_proj']);
  });

  it('says where the targets stand in for a default PEFT lacks (Phi-3, Cohere), not where PEFT has one or they were chosen', () => {
    const note = (
      config: Record<string, unknown>,
      preset: 'none' | 'litgpt',
      targets?: string[],
    ) => {
      const { arch, normalized } = request(config, preset, targets);
      return noPeftDefaultNote(arch, normalized);
    };
    const phi3 = { ...BASE, model_type: 'phi3', intermediate_size: 512 };
    const cohere = { ...BASE, model_type: 'cohere', intermediate_size: 512 };
    const llama = { ...BASE, model_type: 'llama', intermediate_size: 512 };
    expect(note(phi3, 'none')).toMatch(/qkv_proj are the planner's default for model_type 'phi3'/);
    expect(note(cohere, 'none')).toMatch(/q_proj, v_proj are the planner's default .* 'cohere'/);
    expect(note(llama, 'none')).toBeUndefined(); // PEFT's mapping has llama
    expect(note(cohere, 'none', ['o_proj'])).toBeUndefined();
    expect(note(cohere, 'litgpt')).toBeUndefined(); // litgpt's own flags
    // OLMo-2's q/k norms keep litgpt's Block off its layers: Hugging Face's code and PEFT run
    // them under the litgpt preset too, so the stand-in targets are said there as well.
    const olmo2 = { ...BASE, model_type: 'olmo2', intermediate_size: 512 };
    expect(note(olmo2, 'litgpt')).toMatch(/q_proj, v_proj are the planner's default .* 'olmo2'/);
    // PEFT's mapping names bart but not mbart, marian or pegasus (utils/constants.py).
    const encoderDecoder = (model_type: string) =>
      note(
        { model_type, d_model: h, encoder_attention_heads: 4, decoder_attention_heads: 4 },
        'none',
      );
    expect(encoderDecoder('bart')).toBeUndefined();
    for (const type of ['mbart', 'marian', 'pegasus'])
      expect(encoderDecoder(type)).toMatch(new RegExp(`default for model_type '${type}'`));
    // CamemBERT copies RoBERTa's modules, which PEFT maps, under a type it does not: the
    // stand-in targets are named as its code names them, which PEFT would find.
    const camembert = { ...BASE, model_type: 'camembert', intermediate_size: 512 };
    expect(note(camembert, 'none')).toMatch(/LoRA targets query, value are the planner's default/);
    expect(defaultLoraTargets(architectureFromConfig('camembert', camembert))).toEqual([
      'query',
      'value',
    ]);
    // A vision-language wrapper's loaded config is its own (llava, aya_vision), whose model_type
    // PEFT's mapping lacks even where its text stack's (llama) is there.
    const tower = { hidden_size: 64, num_attention_heads: 2, image_size: 56, patch_size: 14 };
    const wrapped = (model_type: string) =>
      note(
        { model_type, text_config: { ...llama, model_type: 'llama' }, vision_config: tower },
        'none',
      );
    expect(wrapped('llava')).toMatch(
      /q_proj, v_proj are the planner's default for model_type 'llava'/,
    );
    expect(wrapped('aya_vision')).toMatch(/default for model_type 'aya_vision'/);
  });

  it("CodeGen's qkv_proj is one adapter over q, k and v joined (PEFT's default target for it)", () => {
    const CODEGEN = { ...BASE, model_type: 'codegen', n_inner: 1024, rotary_dim: 16 };
    expect(count(CODEGEN, ['qkv_proj'])).toBe(2 * r * (h + 3 * h));
    expect(count(CODEGEN, ['q_proj'])).toBe(2 * r * (h + 3 * h)); // only adaptable whole
    expect(count(CODEGEN, ['out_proj', 'fc_in'])).toBe(2 * (r * (h + h) + r * (h + 1024)));
    expect(defaultLoraTargets(architectureFromConfig('codegen', CODEGEN))).toEqual(['qkv_proj']);
  });

  it("GPT-BigCode's c_attn is one adapter over q and its one K/V head (PEFT's default target), c_proj both projections", () => {
    const BIGCODE = { ...BASE, model_type: 'gpt_bigcode' }; // multi_query, n_inner 4h
    const cAttnOut = h + 2 * 64; // embed_dim + 2 x kv_dim
    expect(count(BIGCODE, ['c_attn'])).toBe(2 * r * (h + cAttnOut));
    expect(count(BIGCODE, ['c_proj'])).toBe(2 * r * (h + h + 4 * h + h));
    expect(count(BIGCODE, ['c_fc'])).toBe(2 * r * (h + 4 * h));
    expect(defaultLoraTargets(architectureFromConfig('gpt_bigcode', BIGCODE))).toEqual(['c_attn']);
  });

  it("GPT-Neo's out_proj, c_fc and c_proj are its own names for o, up and down", () => {
    const NEO = { ...BASE, model_type: 'gpt_neo', intermediate_size: 1024 };
    expect(count(NEO, ['out_proj', 'c_fc'])).toBe(2 * (r * (h + h) + r * (h + 1024)));
    expect(count(NEO, ['q_proj', 'v_proj'])).toBe(2 * 2 * r * (h + h)); // PEFT's default
    expect(count(NEO, ['mlp.c_proj'])).toBe(2 * r * (1024 + h));
  });

  it("OPT-350m's project_in and project_out: nn.Linear modules 'all-linear' wraps and names can reach", () => {
    const width = 128;
    const OPT = { ...BASE, model_type: 'opt', ffn_dim: 1024, word_embed_proj_dim: width };
    const layer = 4 * r * (h + h) + r * (h + 1024) + r * (1024 + h); // q, k, v, out_proj, fc1, fc2
    const projection = r * (width + h); // width -> h, h -> width alike
    expect(count(OPT, 'all-linear')).toBe(2 * layer + 2 * projection);
    expect(count(OPT, ['q_proj', 'project_out'])).toBe(2 * r * (h + h) + projection);
    // A model without the projections has no such modules.
    expect(count({ ...OPT, word_embed_proj_dim: h }, 'all-linear')).toBe(2 * layer);
  });

  it('the simulation keeps the adapters the count says: fp32 AdamW states, 8 bytes each', () => {
    const states = ALLOCATED_COMPONENTS.indexOf('optimizerStates');
    for (const [config, targets] of [
      [FALCON, ['query_key_value', 'dense_4h_to_h']],
      [GPT2, ['c_attn', 'c_proj']],
      [T5, ['q', 'v', 'wo']],
      [BERT, ['query', 'dense']],
      [BERT, 'all-linear'],
      [{ ...BASE, model_type: 'opt', ffn_dim: 1024, word_embed_proj_dim: 128 }, 'all-linear'],
    ] as const) {
      const named = targets === 'all-linear' ? targets : [...targets];
      const settings = {
        training: {
          method: 'lora' as const,
          sequenceLength: 256,
          lora: lora(named),
        },
        runtime: { preset: 'hf-transformers' as const },
      };
      const live = forwardEnd(config, settings).live;
      expect(live[states]).toBe(8 * count(config, named));
    }
    // PEFT's classifier copy (fp32 as the model loads) has its two fp32 states too: the weight's
    // h x 2, the bias's 2 elements each in a 512-byte block of its own.
    const settings = {
      training: { method: 'lora' as const, sequenceLength: 256, lora: lora(['query', 'value']) },
      runtime: { preset: 'hf-transformers' as const },
    };
    const classifierStates = 2 * (4 * h * 2) + 2 * 512;
    for (const targets of [
      ['query', 'value'],
      ['query', 'dense'],
    ]) {
      const live = forwardEnd(BERT_CLS, {
        ...settings,
        training: { ...settings.training, lora: lora(targets) },
      }).live;
      expect(live[states]).toBe(8 * count(BERT_CLS, targets) + classifierStates);
    }
  });
});

describe("LoRA reaches a vision tower's linears as PEFT's matching does", () => {
  // Qwen2.5-VL at a small shape: a text stack of 2 layers (h 256, 4 heads of 64, 2 K/V heads,
  // MLP 1024) and a tower of 2 blocks (w 128, gated MLP 256) whose merger goes 4w -> 4w -> h.
  const w = 128;
  const config = {
    model_type: 'qwen2_5_vl',
    ...BASE,
    num_key_value_heads: 2,
    intermediate_size: 1024,
    vision_config: { depth: 2, hidden_size: w, intermediate_size: 256, out_hidden_size: h },
  };
  const qv = 2 * (r * (h + h) + r * (h + 128)); // the text's q_proj and v_proj, two layers
  const block = r * (w + 3 * w) + r * (w + w) + 3 * r * (w + 256); // attn.qkv, attn.proj, MLP
  const merger = r * (4 * w + 4 * w) + r * (4 * w + h); // merger.mlp.0 and merger.mlp.2

  it("its own names (attn.qkv) adapt the tower; the text's q_proj and v_proj do not reach it", () => {
    expect(count(config, ['q_proj', 'v_proj'])).toBe(qv);
    expect(count(config, ['qkv'])).toBe(2 * r * (w + 3 * w));
    // The request is checked against the same names: the tower's are known.
    const arch = architectureFromConfig('qwen2.5-vl', config);
    const request = normalizeRequest(
      {
        model: 'qwen2.5-vl',
        cluster: { gpu: H100_SXM.id },
        training: { method: 'lora', sequenceLength: 256, lora: lora(['attn.qkv', 'merger.mlp.0']) },
      },
      H100_SXM,
      arch,
    );
    expect(validateRequest(request, arch, H100_SXM)).toEqual([]);
  });

  it("'all-linear' adapts every block's linears and the merger's too", () => {
    const text = count({ ...config, vision_config: undefined }, 'all-linear');
    expect(count(config, 'all-linear')).toBe(text + 2 * block + merger);
  });

  it("the SigLIP tower's q_proj and v_proj answer to Gemma-3's default targets; its projector, a Parameter, to none", () => {
    const gemma3 = {
      model_type: 'gemma3',
      text_config: { ...BASE, head_dim: 64, num_key_value_heads: 2, intermediate_size: 1024 },
      vision_config: { hidden_size: w, intermediate_size: 256, num_hidden_layers: 2 },
    };
    const text = count({ ...gemma3, vision_config: undefined }, ['q_proj', 'v_proj']);
    expect(count(gemma3, ['q_proj', 'v_proj'])).toBe(text + 2 * 2 * r * (w + w));
    const allText = count({ ...gemma3, vision_config: undefined }, 'all-linear');
    const siglipBlock = 4 * r * (w + w) + r * (w + 256) + r * (256 + w);
    expect(count(gemma3, 'all-linear')).toBe(allText + 2 * siglipBlock);
  });
});

describe("LoRA as litgpt's Block runs it (litgpt/lora.py LoRAQKVLinear)", () => {
  // GPT-NeoX's parallel block, which litgpt's Block runs: its query_key_value holds q, k and v.
  const NEOX = { ...BASE, model_type: 'gpt_neox', intermediate_size: 1024, rotary_pct: 0.25 };
  // Phi-3's fused qkv_proj and gate_up_proj; litgpt loads gate_up_proj as fc_1 and fc_2.
  const PHI3 = { ...BASE, model_type: 'phi3', intermediate_size: 512 };
  const partsCount = (config: Record<string, unknown>, targets: string[] | 'all-linear') =>
    loraParameters(architectureFromConfig('spec', config), {
      ...lora(targets),
      adaptsParts: true,
    }).total;
  it('litgpt runs these layers; Hugging Face code stands in for GPT-2 (learned positions)', () => {
    const runs = (config: Record<string, unknown>) => {
      const { arch, normalized } = request(config, 'litgpt');
      return litgptRunsLayers(arch, normalized);
    };
    expect([runs(NEOX), runs(PHI3), runs(GPT2)]).toEqual([true, true, false]);
  });

  it('each enabled part has its own A (r x in) and its rows of B (its outputs x r)', () => {
    // lora_query alone: r x h and h x r, where PEFT's query_key_value adapter has B of 3h x r.
    expect(partsCount(NEOX, ['q_proj'])).toBe(2 * r * (h + h));
    // The module's name enables q, k and v: A of 3r x h, B of 3h x r.
    expect(partsCount(NEOX, ['query_key_value'])).toBe(2 * (3 * r * h + r * 3 * h));
    expect(count(NEOX, ['query_key_value'])).toBe(2 * r * (h + 3 * h));
  });

  it("Phi-3's qkv_proj is three parts under litgpt and gate_up_proj two adapters (fc_1, fc_2), one each under PEFT", () => {
    const o = r * (h + h);
    const down = r * (512 + h);
    // litgpt: q, k and v each an A of r x h and their B rows; PEFT: one A, B of 3h x r.
    const qkvParts = 3 * r * (h + h);
    expect(partsCount(PHI3, 'all-linear')).toBe(2 * (qkvParts + o + 2 * r * (h + 512) + down));
    expect(count(PHI3, 'all-linear')).toBe(2 * (r * (h + 3 * h) + o + r * (h + 2 * 512) + down));
  });

  it("Phi-3 with grouped heads (Phi-3-medium's shape) under litgpt: lora_query and lora_value adapt q and v, not qkv_proj whole", () => {
    const grouped = { ...PHI3, num_key_value_heads: 2 }; // q 4 x 64 = 256 wide, k and v 128
    const { arch, normalized, errors } = request(grouped, 'litgpt');
    expect(errors).toEqual([]);
    expect(normalized.training.lora?.targetModules).toEqual(['q_proj', 'v_proj']);
    const adapters = trainableParameters(arch, normalized.training, {
      ...normalized.training.lora!,
      adaptsParts: true,
    });
    // Per layer: A of 2r x h, B of (256 + 128) x r; the whole module's would be r x h and
    // (256 + 2 x 128) x r.
    expect(adapters).toBe(2 * (2 * r * h + r * (256 + 128)));
    expect(partsCount(grouped, ['qkv_proj'])).toBe(2 * (3 * r * h + r * (256 + 2 * 128)));
  });

  it('the simulation keeps the adapters the count says: bf16 AdamW states (bf16-true), 4 bytes each', () => {
    const states = ALLOCATED_COMPONENTS.indexOf('optimizerStates');
    for (const [config, targets] of [
      [NEOX, ['query_key_value']],
      [NEOX, ['q_proj', 'v_proj']],
      [NEOX, ['dense_h_to_4h']],
      [PHI3, 'all-linear'],
      [{ ...PHI3, num_key_value_heads: 2 }, ['q_proj', 'v_proj']],
    ] as const) {
      const named = targets === 'all-linear' ? targets : [...targets];
      const settings = {
        training: { method: 'lora' as const, sequenceLength: 256, lora: lora(named) },
        runtime: { preset: 'litgpt' as const },
      };
      expect(forwardEnd(config, settings).live[states]).toBe(4 * partsCount(config, named));
    }
  });

  it("litgpt's default flags (lora_query, lora_value) where its Block runs the layers, PEFT's elsewhere", () => {
    expect(request(NEOX, 'litgpt').normalized.training.lora?.targetModules).toEqual([
      'q_proj',
      'v_proj',
    ]);
    expect(request(NEOX, 'hf-transformers').normalized.training.lora?.targetModules).toEqual([
      'query_key_value',
    ]);
    const { normalized, arch } = request(NEOX, 'litgpt');
    expect(
      trainableParameters(arch, normalized.training, {
        ...normalized.training.lora!,
        adaptsParts: true,
      }),
    ).toBe(2 * 2 * r * (h + h));
  });

  it("PEFT's names only under Hugging Face's code: q_proj on Falcon is a 400 naming the module that holds it", () => {
    const { errors } = request(FALCON, 'hf-transformers', ['q_proj', 'v_proj']);
    expect(errors.map((e) => e.field)).toEqual(['training.lora.targetModules']);
    expect(errors[0].message).toMatch(/q_proj is in self_attention\.query_key_value/);
    expect(errors[0].message).toMatch(/use 'all-linear' or some of: .*query_key_value/);
    expect(request(FALCON, 'hf-transformers', ['query_key_value']).errors).toEqual([]);
    // Other frameworks' LoRA flags name the parts: q_proj stays a target there.
    expect(request(FALCON, 'none', ['q_proj', 'v_proj']).errors).toEqual([]);
    expect(request(NEOX, 'litgpt', ['q_proj', 'query_key_value']).errors).toEqual([]);
  });
});

describe("LoRA around the linears Mamba's fused kernel takes by weight", () => {
  // mamba_inner_fn takes x_proj, dt_proj and out_proj's weights (modeling_mamba.py
  // cuda_kernels_forward): PEFT wraps those modules, but nothing calls them. d_inner 512,
  // dt_rank ceil(256 / 16) = 16, d_state 16.
  const MAMBA = {
    hidden_size: h,
    vocab_size: 1024,
    num_hidden_layers: 2,
    model_type: 'mamba',
    state_size: 16,
  };
  const settings = {
    training: { method: 'lora' as const, sequenceLength: 256, lora: lora('all-linear') },
    runtime: { preset: 'hf-transformers' as const },
  };

  it("counts every adapter as trainable, and only in_proj's gets a gradient and fp32 AdamW states", () => {
    const inProj = r * (h + 2 * 512);
    const kernelRead = r * (512 + 16 + 2 * 16) + r * (16 + 512) + r * (512 + h);
    expect(count(MAMBA, 'all-linear')).toBe(2 * (inProj + kernelRead));
    const states = ALLOCATED_COMPONENTS.indexOf('optimizerStates');
    expect(forwardEnd(MAMBA, settings).live[states]).toBe(8 * 2 * inProj);
  });

  it('the plan says so where a target reaches them, and not for in_proj alone', () => {
    const note = /LoRA adapters on x_proj, dt_proj, out_proj .* do not train/;
    expect(forwardEnd(MAMBA, settings).notes.join('\n')).toMatch(note);
    const inProjOnly = { ...settings, training: { ...settings.training, lora: lora(['in_proj']) } };
    expect(forwardEnd(MAMBA, inProjOnly).notes.join('\n')).not.toMatch(/LoRA adapters on/);
  });
});

describe("ModernBERT's modules (modular_modernbert.py)", () => {
  const modernbert = architectureFromConfig('modernbert-spec', {
    model_type: 'modernbert',
    hidden_size: 256,
    intermediate_size: 384,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    vocab_size: 1024,
  });
  const cluster = { gpu: H100_SXM.id };
  const errorsFor = (lora: Partial<LoraSettings>) =>
    validateRequest(
      normalizeRequest(
        { model: 'modernbert-spec', cluster, training: { method: 'lora', lora } },
        H100_SXM,
        modernbert,
      ),
      modernbert,
      H100_SXM,
    );

  it('PEFT has no default target_modules for it: a request that names none is a 400 by field', () => {
    expect(defaultLoraTargets(modernbert)).toEqual([]);
    const errors = errorsFor({});
    expect(errors.map((e) => e.field)).toEqual(['training.lora.targetModules']);
    expect(errors[0].message).toMatch(/PEFT has no default ones/);
  });

  it('Wqkv and Wi adapt as one linear each, over their joined outputs; Wo reaches both Wo modules', () => {
    expect(errorsFor({ targetModules: ['Wqkv', 'Wo', 'Wi'] })).toEqual([]);
    const lora = (targetModules: string[]): LoraSettings => ({
      rank: r,
      alpha: 2 * r,
      dropout: 0,
      targetModules,
    });
    const perLayer = r * (256 + 3 * 256) + r * (256 + 256) + r * (256 + 2 * 384) + r * (384 + 256);
    expect(loraParameters(modernbert, lora(['Wqkv', 'Wo', 'Wi'])).total).toBe(2 * perLayer);
  });
});

describe("DeBERTa-v1's modules (modeling_deberta.py)", () => {
  const deberta = architectureFromConfig('deberta-spec', {
    ...BASE,
    model_type: 'deberta',
    intermediate_size: 1024,
    relative_attention: true,
    pos_att_type: 'c2p|p2c',
    position_biased_input: false,
  });

  it("PEFT's default target is in_proj (utils/constants.py 'deberta'), q, k and v in one linear: r x h and 3h x r a layer", () => {
    expect(defaultLoraTargets(deberta)).toEqual(['in_proj']);
    expect(loraParameters(deberta, lora(['in_proj'])).total).toBe(2 * (r * h + r * 3 * h));
  });

  it('pos_proj and pos_q_proj adapt by their own names, attention.output.dense by its path', () => {
    const positions = r * (h + h);
    expect(loraParameters(deberta, lora(['pos_proj', 'pos_q_proj'])).total).toBe(2 * 2 * positions);
    expect(loraParameters(deberta, lora(['attention.output.dense'])).total).toBe(2 * r * (h + h));
  });
});
