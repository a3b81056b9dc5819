// When the embedding's output and the last layer's output are freed. Hugging Face's
// LlamaModel.forward keeps `inputs_embeds` as a local until it returns, after the final norm;
// torchtitan rebinds `h = layer(h)`, so only what saves its lookup for backward keeps it. Every model code
// rebinds its hidden state to the final norm's output, so the last layer's output is gone before
// the head. The real run behind trace-212 (data/calibration/allocator-traces: Llama-3.2-1B, HF
// model code) shows both: the step's first allocation, the 8 MiB lookup, and the last layer's
// 8 MiB output are freed between the final norm and the head's 501 MiB logits.
import { COMPONENT_INDEX, EventLog, Moment } from '../autograd/events';
import { liveWhen, simulateTiny, TINY } from '../../../../test/support/timeline';

const SEQUENCE = 1024;
// One sequence of bf16 hidden states.
const HIDDEN_BYTES = SEQUENCE * TINY.hidden * 2;

const request = (preset: 'hf-transformers' | 'torchtitan') => ({
  training: { sequenceLength: SEQUENCE, precision: 'bf16-pure' as const },
  runtime: { preset },
  gpus: 1,
});

const eventsOf = (log: EventLog) =>
  Array.from({ length: log.length }, (_, i) => ({
    index: i,
    kind: log.kind[i],
    key: log.key[i],
    bytes: log.bytes[i],
    component: log.component[i],
    moment: log.moments[log.moment[i]],
  }));

/** The second step's forward: the lookup's key and where it is freed, the end of the layers,
 * the head's first logits allocation, and the hidden-state frees between the two. */
function secondForward(log: EventLog) {
  const events = eventsOf(log).filter((e) => e.moment.step === 2);
  const at = (m: Moment, phase: string, what: string) => m.phase === phase && m.what === what;
  const lookup = events.find((e) => e.kind === 1 && at(e.moment, 'forward', 'embedding'))!;
  const lookupFreed = events.find((e) => e.kind === -1 && e.key === lookup.key)!;
  const lastLayer = events.filter((e) => at(e.moment, 'forward', 'layer')).pop()!;
  const logits = events.find((e) => e.kind === 1 && e.component === COMPONENT_INDEX.logitsAndLoss)!;
  const hiddenFreesBeforeHead = events.filter(
    (e) =>
      e.kind === -1 &&
      e.bytes === HIDDEN_BYTES &&
      e.index > lastLayer.index &&
      e.index < logits.index,
  ).length;
  return { lookup, lookupFreed, lastLayer, logits, hiddenFreesBeforeHead };
}

describe('the embedding local and the final norm input', () => {
  it("Hugging Face: inputs_embeds lives through the layers and goes, with the last layer's output, before the head", () => {
    const f = secondForward(simulateTiny(request('hf-transformers')).log);
    expect(f.lookup.bytes).toBe(HIDDEN_BYTES);
    expect(f.lookupFreed.index).toBeGreaterThan(f.lastLayer.index);
    expect(f.lookupFreed.index).toBeLessThan(f.logits.index);
    expect(f.hiddenFreesBeforeHead).toBe(2); // the last layer's output, inputs_embeds
  });

  it("torchtitan: no local keeps the lookup: the fused norms that save them for backward keep it and the last layer's output", () => {
    const f = secondForward(simulateTiny(request('torchtitan')).log);
    expect(f.lookup.bytes).toBe(HIDDEN_BYTES);
    expect(f.lookupFreed.moment.phase).toBe('backward');
    expect(f.hiddenFreesBeforeHead).toBe(0); // F.rms_norm saves the last layer's output too
  });
});

describe("an encoder-decoder's embeddings (BartEncoder.forward, MarianEncoder.forward)", () => {
  // Two sequences of 1,024 tokens, bf16, no dropout; one sequence of hidden states is HIDDEN.
  const TWO = 2 * HIDDEN_BYTES;
  /** One two-layer encoder and decoder of model_type `type` over the tiny model's widths. */
  const simulate = (type: string, sequenceLength = SEQUENCE) =>
    simulateTiny({
      training: { sequenceLength, microBatchSize: 2, precision: 'bf16-pure' },
      runtime: { preset: 'hf-transformers' },
      gpus: 1,
      config: {
        model_type: type,
        architectures: [],
        encoder_layers: 2,
        decoder_layers: 2,
        encoder_ffn_dim: TINY.ffn,
        decoder_ffn_dim: TINY.ffn,
        encoder_attention_heads: 8,
        decoder_attention_heads: 8,
        max_position_embeddings: 1024,
        dropout: 0,
      },
    }).log;

  /** The second step's allocations (+bytes) and frees (-bytes) while a stack embeds, in order. */
  function embeddingEvents(type: string): number[] {
    return eventsOf(simulate(type))
      .filter((e) => e.moment.step === 2 && e.moment.phase === 'forward')
      .filter((e) => e.moment.what === 'embedding' && e.bytes >= HIDDEN_BYTES)
      .map((e) => e.kind * e.bytes);
  }

  it("Marian: the scaled lookup is inputs_embeds, the frozen table's rows one per position (s, h), both kept until the decoder's embedding", () => {
    // inputs_embeds = embed_tokens(input_ids) * embed_scale (the lookup freed), then
    // embed_pos = embed_positions(input_shape): arange(seq_len) rows, broadcast in the add.
    const stack = [TWO, TWO, -TWO, HIDDEN_BYTES, TWO];
    // The encoder's inputs_embeds and embed_pos go when the decoder starts.
    expect(embeddingEvents('marian')).toEqual([...stack, ...stack, -TWO, -HIDDEN_BYTES]);
  });

  it('M2M100 (NLLB): its buffer table looked up per token (create_position_ids_from_input_ids), no layernorm_embedding', () => {
    const stack = [TWO, TWO, -TWO, TWO, TWO];
    expect(embeddingEvents('m2m_100')).toEqual([...stack, ...stack, -TWO, -TWO]);
  });

  it("M2M100's buffer tables, held beside the weights, are rebuilt longer for a longer sequence", () => {
    // make_weights(padding_idx + 1 + s + offset) once padding_idx + 1 + s outgrows the
    // max_position_embeddings + 2 rows (1,026 here): 2,052 rows at 2,048 tokens, per stack.
    const weightsAtStart = (sequence: number) =>
      liveWhen(simulate('m2m_100', sequence), (m) => m.step === 2).weights;
    const rowBytes = TINY.hidden * 2;
    expect(weightsAtStart(2 * SEQUENCE) - weightsAtStart(SEQUENCE)).toBe(
      2 * (2052 - 1026) * rowBytes,
    );
  });

  it("GPT-2: wpe's rows one per position too (position_ids = cache_position.unsqueeze(0))", () => {
    const log = simulateTiny({
      training: { sequenceLength: SEQUENCE, microBatchSize: 2, precision: 'bf16-pure' },
      runtime: { preset: 'hf-transformers' },
      gpus: 1,
      config: { model_type: 'gpt2', architectures: [], n_embd: TINY.hidden, n_head: 8 },
    }).log;
    const embedding = eventsOf(log)
      .filter((e) => e.moment.step === 2 && e.moment.phase === 'forward')
      .filter((e) => e.moment.what === 'embedding' && e.bytes >= HIDDEN_BYTES)
      .map((e) => e.kind * e.bytes);
    // wte's lookup, wpe's, their sum (GPT-2 has no embedding scale or norm).
    expect(embedding.slice(0, 3)).toEqual([TWO, HIDDEN_BYTES, TWO]);
  });

  it('BART: its learned positions expanded to the batch, (b, s, h), then layernorm_embedding', () => {
    const stack = [TWO, TWO, -TWO, TWO, TWO, TWO]; // the last: layernorm_embedding's output
    expect(embeddingEvents('bart')).toEqual([...stack, ...stack, -TWO, -TWO]);
  });
});
