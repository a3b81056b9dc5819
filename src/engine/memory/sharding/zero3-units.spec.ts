// DeepSpeed ZeRO-3 partitions every parameter (stage3.py: each module's parameters are
// converted), so every parameter a rank builds, adapters included, sits in exactly one unit;
// only the vision tower is held whole (planned as such, sharding/index.ts zero3Units). Buffers
// (GPT-2's and GPT-BigCode's causal masks) are not parameters: no unit holds them.
import { normalizeRequest, PlanRequestInput } from '../../index';
import { architectureFromConfig } from '../../model/architecture';
import { splitLayers } from '../../model/placement';
import { dtypePolicy } from '../../request/dtype-policy';
import { H100_SXM } from '../../../../test/support/gpus';
import { buildRankModel } from '../model/build';
import { layerRecipe } from '../recipes';
import { adapterParams } from '../recipes/recipe';
import { zero3Units } from './index';

const SMALL = {
  hidden_size: 256,
  num_attention_heads: 4,
  intermediate_size: 1024,
  vocab_size: 1024,
};

function unitsOf(config: Record<string, unknown>, training: PlanRequestInput['training']) {
  const arch = architectureFromConfig('spec', { ...SMALL, num_hidden_layers: 2, ...config });
  const input = { model: 'spec', cluster: { gpu: H100_SXM.id }, training };
  const request = normalizeRequest(input, H100_SXM, arch);
  const storage = { policy: dtypePolicy(request), request, nf4Bytes: 0.5 };
  const context = { arch, storage, tensorParallel: 1, expertParallel: 1 };
  const model = buildRankModel(context, splitLayers(2, 1)[0], layerRecipe(arch, request), [0, 1]);
  const all = [...model.all, ...model.layers.flatMap((layer) => adapterParams(layer))];
  return {
    built: all.filter((p) => !p.buffer),
    buffers: all.filter((p) => p.buffer),
    placed: zero3Units(model).flatMap((unit) => unit.params),
  };
}

describe('ZeRO-3 units', () => {
  const lora = (targetModules: string[] | 'all-linear') => ({
    method: 'lora' as const,
    sequenceLength: 128,
    lora: { targetModules },
  });
  it.each([
    [
      'a BERT masked LM (embedding LayerNorm, transform, decoder bias)',
      { model_type: 'bert' },
      { sequenceLength: 128 },
    ],
    [
      'its LoRA on every linear and the word embeddings',
      { model_type: 'bert' },
      lora(['query', 'dense', 'word_embeddings', 'decoder']),
    ],
    [
      'a RoBERTa classifier under LoRA (PEFT copies its head)',
      { model_type: 'roberta', architectures: ['RobertaForSequenceClassification'] },
      lora(['query', 'value']),
    ],
    [
      'OPT-350m with its projections adapted',
      { model_type: 'opt', ffn_dim: 1024, word_embed_proj_dim: 128 },
      lora('all-linear'),
    ],
    [
      'a Llama with a tied head',
      { model_type: 'llama', tie_word_embeddings: true },
      { sequenceLength: 128 },
    ],
    [
      "BART (each stack's own positions and embedding LayerNorm)",
      { model_type: 'bart', encoder_layers: 1, decoder_layers: 1, max_position_embeddings: 128 },
      { sequenceLength: 128 },
    ],
  ])('%s: every parameter in exactly one unit', (_, config, training) => {
    const { built, placed } = unitsOf(config, training);
    expect(new Set(placed).size).toBe(placed.length);
    expect(new Set(placed)).toEqual(new Set(built));
  });

  it.each([
    ["GPT-2 (each layer's attn.bias)", { model_type: 'gpt2', n_positions: 512 }, 2],
    [
      "GPT-BigCode (the model's one causal mask)",
      { model_type: 'gpt_bigcode', n_positions: 512 },
      1,
    ],
  ])('%s: its buffers in no unit, its parameters each in one', (_, config, count) => {
    const { built, buffers, placed } = unitsOf(config, { sequenceLength: 128 });
    expect(buffers.map((p) => p.elements)).toEqual(Array(count).fill(512 * 512));
    expect(new Set(placed)).toEqual(new Set(built));
  });

  it("BART's final_logits_bias: a buffer of one row of the vocabulary, in no unit", () => {
    const bart = { model_type: 'bart', encoder_layers: 1, decoder_layers: 1 };
    const { buffers, placed } = unitsOf(bart, { sequenceLength: 128 });
    expect(buffers.map((p) => [p.name, p.elements])).toEqual([['final_logits_bias', 1024]]);
    expect(placed).not.toContain(buffers[0]);
  });
});
