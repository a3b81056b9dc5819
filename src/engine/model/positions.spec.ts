// A learned position table bounds the sequence: the rows its embedding can look up, from each
// model code's own numbering.
import { normalizeRequest } from '../request/normalize';
import { validateRequest } from '../request/validate';
import { H100_SXM } from '../../../test/support/gpus';
import { architectureFromConfig } from './architecture';
import { sequenceLimit } from './positions';

const BERT = {
  model_type: 'bert',
  hidden_size: 256,
  num_attention_heads: 4,
  intermediate_size: 1024,
  num_hidden_layers: 2,
  vocab_size: 1024,
  max_position_embeddings: 512,
};

describe("what fixes the sequence length: learned position tables, MPT's ALiBi", () => {
  it("index max_position_embeddings tokens (GPT-2's n_positions, BERT's 512), RoBERTa's two fewer; MPT's ALiBi spans max_seq_len", () => {
    const gpt2 = {
      model_type: 'gpt2',
      n_embd: 256,
      n_head: 4,
      n_layer: 2,
      vocab_size: 1024,
      n_positions: 1024,
    };
    expect(sequenceLimit(architectureFromConfig('gpt2', gpt2))?.tokens).toBe(1024);
    expect(sequenceLimit(architectureFromConfig('bert', BERT))?.tokens).toBe(512);
    // RobertaEmbeddings numbers positions from padding_idx + 1 = 2: 514 rows, 512 tokens.
    const roberta = { ...BERT, model_type: 'roberta', max_position_embeddings: 514 };
    expect(sequenceLimit(architectureFromConfig('roberta', roberta))?.tokens).toBe(512);
    // MptAttention slices its ALiBi tensor (built to max_seq_len) to the keys and adds it;
    // BLOOM builds its ALiBi for the sequence given.
    const mpt = { model_type: 'mpt', d_model: 256, n_heads: 4, n_layers: 2, vocab_size: 1024 };
    expect(
      sequenceLimit(architectureFromConfig('mpt', { ...mpt, max_seq_len: 2048 }))?.tokens,
    ).toBe(2048);
    const bloom = {
      model_type: 'bloom',
      hidden_size: 256,
      n_head: 4,
      n_layer: 2,
      vocab_size: 1024,
    };
    expect(sequenceLimit(architectureFromConfig('bloom', bloom))).toBeUndefined();
    // Marian's frozen sinusoidal table is looked up like a learned one; M2M100's (NLLB's) is
    // rebuilt for a longer sequence (M2M100SinusoidalPositionalEmbedding.make_weights).
    const seq2seq = { d_model: 256, encoder_attention_heads: 4, decoder_attention_heads: 4 };
    const marian = { ...seq2seq, model_type: 'marian', max_position_embeddings: 512 };
    expect(sequenceLimit(architectureFromConfig('marian', marian))).toEqual({
      tokens: 512,
      what: '512 positions its sinusoidal position table indexes',
    });
    const nllb = { ...marian, model_type: 'm2m_100' };
    expect(sequenceLimit(architectureFromConfig('nllb', nllb))).toBeUndefined();
    // RoPE has no table to run out of.
    const llama = { ...BERT, model_type: 'llama', architectures: ['LlamaForCausalLM'] };
    expect(sequenceLimit(architectureFromConfig('llama', llama))).toBeUndefined();
  });

  it('a request that sends no sequence length gets the table, one that sends a longer one a 400', () => {
    const arch = architectureFromConfig('bert-spec', BERT);
    const cluster = { gpu: H100_SXM.id };
    const byDefault = normalizeRequest({ model: 'bert-spec', cluster }, H100_SXM, arch);
    expect(byDefault.training.sequenceLength).toBe(512);
    expect(validateRequest(byDefault, arch, H100_SXM)).toEqual([]);
    const longer = normalizeRequest(
      { model: 'bert-spec', cluster, training: { sequenceLength: 1024 } },
      H100_SXM,
      arch,
    );
    const errors = validateRequest(longer, arch, H100_SXM);
    expect(errors.map((e) => e.field)).toEqual(['training.sequenceLength']);
    expect(errors[0].message).toMatch(/use at most 512/);
  });

  it("DeBERTa-v3's relative positions run past max_position_embeddings, which the default sequence follows (the length they were trained over)", () => {
    const deberta = {
      model_type: 'deberta-v2',
      hidden_size: 256,
      num_attention_heads: 4,
      num_hidden_layers: 2,
      intermediate_size: 1024,
      vocab_size: 1024,
      relative_attention: true,
      position_buckets: 256,
      position_biased_input: false,
    };
    const arch = architectureFromConfig('deberta-spec', deberta);
    expect(sequenceLimit(arch)).toBeUndefined();
    const cluster = { gpu: H100_SXM.id };
    const byDefault = normalizeRequest({ model: 'deberta-spec', cluster }, H100_SXM, arch);
    expect(byDefault.training.sequenceLength).toBe(512);
    const longer = normalizeRequest(
      { model: 'deberta-spec', cluster, training: { sequenceLength: 2048 } },
      H100_SXM,
      arch,
    );
    expect(validateRequest(longer, arch, H100_SXM)).toEqual([]);
  });

  it('a served sequence (prompt and every token generated) stays within the table: the default prompt leaves room, a longer request is a 400', () => {
    const gpt2 = { model_type: 'gpt2', n_embd: 256, n_head: 4, n_layer: 2, vocab_size: 1024 };
    const arch = architectureFromConfig('gpt2-spec', { ...gpt2, n_positions: 1024 });
    const cluster = { gpu: H100_SXM.id };
    const serve = (inference: Record<string, number>) =>
      normalizeRequest(
        { model: 'gpt2-spec', cluster, workload: 'inference', inference },
        H100_SXM,
        arch,
      );
    // The default 256 generated tokens after a prompt of 1,024 - 256 = 768 fill the 1,024 rows.
    const byDefault = serve({});
    expect(byDefault.inference).toMatchObject({ promptLength: 768, outputLength: 256 });
    expect(validateRequest(byDefault, arch, H100_SXM)).toEqual([]);
    expect(
      validateRequest(serve({ promptLength: 1000, outputLength: 24 }), arch, H100_SXM),
    ).toEqual([]);
    const tooMuchOutput = validateRequest(
      serve({ promptLength: 1000, outputLength: 25 }),
      arch,
      H100_SXM,
    );
    expect(tooMuchOutput.map((e) => e.field)).toEqual(['inference.outputLength']);
    expect(tooMuchOutput[0].message).toMatch(/generate at most 24 tokens/);
    const tooLongPrompt = validateRequest(serve({ promptLength: 1024 }), arch, H100_SXM);
    expect(tooLongPrompt.map((e) => e.field)).toEqual(['inference.promptLength']);
    // An output that alone fills the table names the output, though the prompt is the default.
    const tooLongOutput = validateRequest(serve({ outputLength: 1024 }), arch, H100_SXM);
    expect(tooLongOutput.map((e) => e.field)).toEqual(['inference.outputLength']);
    expect(tooLongOutput[0].message).toMatch(/generate fewer than 1024 tokens/);
    // RoPE runs past max_position_embeddings: a longer context is a warning, not a 400.
    const llama = { ...BERT, model_type: 'llama', architectures: ['LlamaForCausalLM'] };
    const rope = architectureFromConfig('llama-spec', llama);
    const long = normalizeRequest(
      { model: 'llama-spec', cluster, workload: 'inference', inference: { promptLength: 4096 } },
      H100_SXM,
      rope,
    );
    expect(long.inference!.promptLength).toBe(4096);
    expect(validateRequest(long, rope, H100_SXM)).toEqual([]);
  });
});
