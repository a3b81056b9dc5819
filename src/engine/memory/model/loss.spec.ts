// The head and the loss, usually the largest tensors of a step: Hugging Face's ForCausalLMLoss
// (transformers loss/loss_utils.py: logits = logits.float(), then F.cross_entropy, whose
// log_softmax keeps its fp32 output for backward) against torchtune's CEWithChunkedOutputLoss
// (the head applied chunk by chunk, each chunk's cross-entropy on its own fp32 copy). Counts are
// tokens x vocabulary logits at 2 (bf16) or 4 (fp32) bytes each; the label tensors and 0-d
// scalars PyTorch also makes are 512 B blocks, left out by comparing only larger events.
import { lmHeadSetUp, STANDARD_LOSS } from '../../../../test/support/lm-head';
import { deltasOf, peakBytes } from '../../../../test/support/event-log';
import { FP32 } from '../autograd/ops';
import { Param } from '../autograd/runtime';
import { classificationLoss, headAndLoss, LossSettings } from './loss';
import { LinearParams } from './rank-model';

const BF16 = 2;
const HIDDEN = 128;
const VOCAB = 1024;
const BLOCK = 512;

const setUp = (tokens: number) => lmHeadSetUp(tokens, HIDDEN, VOCAB);

const large = (deltas: number[]) => deltas.filter((bytes) => Math.abs(bytes) > BLOCK);

describe('the standard loss (ForCausalLMLoss)', () => {
  const TOKENS = 4;
  const LOGITS16 = TOKENS * VOCAB * BF16; // 8,192 B
  const LOGITS32 = TOKENS * VOCAB * FP32; // 16,384 B

  it('holds bf16 logits, their fp32 copy and the fp32 log-probabilities: 10 B per logit', () => {
    const { rt, nn, head, hidden, start } = setUp(TOKENS);
    const { loss, logits } = headAndLoss(nn, hidden, head, STANDARD_LOSS);
    expect(large(deltasOf(rt.log, start))).toEqual([
      LOGITS16, // lm_head (saves hidden and the head weight)
      LOGITS32, // logits.float()
      LOGITS32, // log_softmax: saved (LogSoftmaxBackward0 keeps its result)
      -LOGITS32, // ForCausalLMLoss returns: its fp32 copy was saved by nothing
    ]);
    const rise = peakBytes(rt.log, start) - peakBytes(rt.log, 0, start);
    expect(rise).toBeGreaterThanOrEqual(LOGITS16 + 2 * LOGITS32);
    expect(rise).toBeLessThan(LOGITS16 + 2 * LOGITS32 + 32 * BLOCK);
    expect(loss.bytes).toBe(FP32); // a 0-d fp32 loss
    expect(logits.map((t) => t.bytes)).toEqual([LOGITS16]);
  });

  it('backward: nll_loss writes a full fp32 gradient, log_softmax another, then bf16 again', () => {
    const { rt, nn, head, hidden } = setUp(TOKENS);
    const { loss, logits } = headAndLoss(nn, hidden, head, STANDARD_LOSS);
    rt.drop(...logits); // the training loop keeps only the loss
    const start = rt.log.length;
    rt.backward(loss);
    expect(large(deltasOf(rt.log, start)).slice(0, 7)).toEqual([
      LOGITS32, // nll_loss_backward: zeros like the log-probabilities, scattered
      LOGITS32, // _log_softmax_backward_data
      -LOGITS32, //   nll_loss's gradient
      -LOGITS32, //   the log-probabilities
      LOGITS16, // ToCopyBackward0: back to bf16
      -LOGITS32, //   the fp32 gradient
      VOCAB * HIDDEN * BF16, // lm_head: the weight's gradient first (MmBackward0)
    ]);
  });

  it("CrossEntropyLoss on BART's biased bf16 logits (pure bf16): one bf16 copy, no fp32 one", () => {
    const { rt, nn, head, hidden, start } = setUp(TOKENS);
    const settings = { ...STANDARD_LOSS, logitsBiasBytes: BF16, inLogitsDtype: true };
    const { logits } = headAndLoss(nn, hidden, head, settings);
    expect(large(deltasOf(rt.log, start))).toEqual([
      LOGITS16, // lm_head
      LOGITS16, // lm_logits + final_logits_bias (bf16 buffer): AddBackward0 keeps nothing
      -LOGITS16, //   the head's output: rebound, saved by nothing
      LOGITS16, // log_softmax in bf16: saved
    ]);
    expect(logits.map((t) => t.bytes)).toEqual([LOGITS16]); // the biased logits are returned
  });

  it("under autocast an fp32 model's fp32 bias promotes the sum to fp32, which the loss reads as it is", () => {
    const { rt, nn, head, hidden, start } = setUp(TOKENS);
    const settings = {
      ...STANDARD_LOSS,
      logitsBiasBytes: FP32,
      inLogitsDtype: true,
      autocast: true,
    };
    headAndLoss(nn, hidden, head, settings);
    expect(large(deltasOf(rt.log, start))).toEqual([
      LOGITS16, // lm_head (autocast: bf16)
      LOGITS32, // bf16 + fp32 buffer: type promotion makes an fp32 sum
      -LOGITS16, //   the head's output
      LOGITS32, // log_softmax on the fp32 sum: no cast before it
    ]);
  });

  it("CrossEntropyLoss on bf16 logits under autocast: autocast casts log_softmax's input to fp32", () => {
    const { rt, nn, head, hidden, start } = setUp(TOKENS);
    headAndLoss(nn, hidden, head, { ...STANDARD_LOSS, inLogitsDtype: true, autocast: true });
    expect(large(deltasOf(rt.log, start))).toEqual([LOGITS16, LOGITS32, LOGITS32, -LOGITS32]);
  });

  it("scaled logits (Cohere's logit_scale, Granite's logits_scaling): a second bf16 copy, the first freed", () => {
    const { rt, nn, head, hidden, start } = setUp(TOKENS);
    const { logits } = headAndLoss(nn, hidden, head, { ...STANDARD_LOSS, scaleLogits: true });
    expect(large(deltasOf(rt.log, start))).toEqual([
      LOGITS16, // lm_head
      LOGITS16, // logits * logit_scale (MulBackward0 keeps the scalar only)
      -LOGITS16, //   the head's output: rebound, saved by nothing
      LOGITS32, // logits.float()
      LOGITS32, // log_softmax
      -LOGITS32, // the fp32 copy
    ]);
    expect(logits.map((t) => t.bytes)).toEqual([LOGITS16]); // the scaled logits are returned
  });

  it('with fp32 logits from the model (self.output(h).float()) makes no second fp32 copy', () => {
    const { rt, nn, head, hidden, start } = setUp(TOKENS);
    headAndLoss(nn, hidden, head, { ...STANDARD_LOSS, fp32Logits: true });
    // The model's own .float() (returned, kept), then the loss's .float() of an fp32 tensor
    // is the tensor itself (no copy: to() returns self when nothing changes).
    expect(large(deltasOf(rt.log, start))).toEqual([LOGITS16, LOGITS32, -LOGITS16, LOGITS32]);
  });

  it("cast to fp32 for the loss and back after it (GPT-Neo's lm_logits.to(hidden_states.dtype)): a bf16 copy returned", () => {
    const { rt, nn, head, hidden, start } = setUp(TOKENS);
    const settings = { ...STANDARD_LOSS, fp32Logits: true, logitsCastBack: true };
    const { logits } = headAndLoss(nn, hidden, head, settings);
    expect(large(deltasOf(rt.log, start))).toEqual([
      LOGITS16, // lm_head
      LOGITS32, // lm_logits.to(torch.float32), the bf16 output freed as the name rebinds
      -LOGITS16,
      LOGITS32, // log_softmax (the loss's .float() is the tensor itself)
      LOGITS16, // lm_logits.to(hidden_states.dtype), the fp32 logits freed
      -LOGITS32,
    ]);
    expect(logits.map((t) => t.bytes)).toEqual([LOGITS16]);
  });
});

describe('the chunked loss (torchtune CEWithChunkedOutputLoss, 8 chunks)', () => {
  const TOKENS = 16;
  const CHUNK16 = (TOKENS / 8) * VOCAB * BF16; // 4,096 B
  const CHUNK32 = (TOKENS / 8) * VOCAB * FP32; // 8,192 B

  it('makes every chunk of logits first, then one chunk fp32 copy at a time', () => {
    const { rt, nn, head, hidden, start } = setUp(TOKENS);
    headAndLoss(nn, hidden, head, { ...STANDARD_LOSS, kind: 'chunked' });
    const perChunk = [CHUNK32, CHUNK32, -CHUNK32]; // .float(), log_softmax (saved), copy freed
    expect(large(deltasOf(rt.log, start))).toEqual([
      ...Array<number>(8).fill(CHUNK16),
      ...Array.from({ length: 8 }, () => perChunk).flat(),
    ]);
  });

  it("adds a bias buffer's columns to each chunk (final_logits_bias): a second bf16 chunk each, the first freed", () => {
    const { rt, nn, head, hidden, start } = setUp(TOKENS);
    headAndLoss(nn, hidden, head, { ...STANDARD_LOSS, kind: 'chunked', logitsBiasBytes: BF16 });
    const biased = Array.from({ length: 8 }, () => [CHUNK16, -CHUNK16]).flat();
    expect(large(deltasOf(rt.log, start)).slice(0, 24)).toEqual([
      ...Array<number>(8).fill(CHUNK16),
      ...biased,
    ]);
  });

  it('peaks at 6.5 B per logit, where the standard loss reaches 10', () => {
    const chunked = setUp(TOKENS);
    headAndLoss(chunked.nn, chunked.hidden, chunked.head, { ...STANDARD_LOSS, kind: 'chunked' });
    const standard = setUp(TOKENS);
    headAndLoss(standard.nn, standard.hidden, standard.head, STANDARD_LOSS);
    const logits = TOKENS * VOCAB;
    // All bf16 chunks (2 B), every log-probability (4 B), one chunk's fp32 copy (4 B / 8); the
    // loss scalars are 512 B blocks on top.
    const rise = (s: ReturnType<typeof setUp>) =>
      peakBytes(s.rt.log, s.start) - peakBytes(s.rt.log, 0, s.start);
    expect(rise(chunked)).toBeGreaterThanOrEqual(6.5 * logits);
    expect(rise(chunked)).toBeLessThan(6.5 * logits + 32 * BLOCK);
    expect(rise(standard)).toBeGreaterThanOrEqual(10 * logits);
    expect(rise(standard)).toBeLessThan(10 * logits + 32 * BLOCK);
  });
});

describe("litgpt's chunked loss behind Lightning Fabric (bf16 chunks, convert_output to fp32)", () => {
  const TOKENS = 16;
  const CHUNK16 = (TOKENS / 8) * VOCAB * BF16; // 4,096 B
  const CHUNK32 = (TOKENS / 8) * VOCAB * FP32; // 8,192 B
  const LITGPT: LossSettings = {
    ...STANDARD_LOSS,
    kind: 'chunked',
    chunkFp32: false,
    outputsToFp32: true,
  };

  it('casts every returned chunk to fp32, frees the bf16 list, then runs each loss in fp32', () => {
    const { rt, nn, head, hidden, start } = setUp(TOKENS);
    const { logits } = headAndLoss(nn, hidden, head, LITGPT);
    expect(large(deltasOf(rt.log, start))).toEqual([
      ...Array<number>(8).fill(CHUNK16), // GPT.forward: [lm_head(x_i) for x_i in x.split(128)]
      ...Array<number>(8).fill(CHUNK32), // _FabricModule.forward: convert_output, chunk by chunk
      ...Array<number>(8).fill(-CHUNK16), // the returned bf16 list is dropped
      ...Array<number>(8).fill(CHUNK32), // chunked_cross_entropy: each log_softmax, saved
    ]);
    expect(logits.map((t) => t.bytes)).toEqual(Array<number>(8).fill(CHUNK32));
  });

  it('peaks at 8 B per logit: fp32 logits kept by the loop and fp32 log-probabilities', () => {
    const { rt, nn, head, hidden, start } = setUp(TOKENS);
    headAndLoss(nn, hidden, head, LITGPT);
    const rise = peakBytes(rt.log, start) - peakBytes(rt.log, 0, start);
    expect(rise).toBeGreaterThanOrEqual(8 * TOKENS * VOCAB);
    expect(rise).toBeLessThan(8 * TOKENS * VOCAB + 32 * BLOCK);
  });
});

describe("a sequence classifier's head (BERT's pooler, RoBERTa's classification head)", () => {
  const SEQUENCES = 8;
  const TOKENS = SEQUENCES * 64;
  const FIRST = SEQUENCES * HIDDEN * BF16; // hidden_states[:, 0]: 2,048 B
  const MASK = SEQUENCES * HIDDEN; // a dropout's one-byte mask: 1,024 B

  function classifierRun(dropoutFirst: boolean): number[] {
    const { rt, nn, hidden } = setUp(TOKENS);
    const linear = (name: string, outFeatures: number): LinearParams => {
      const weight: Param = {
        name,
        elements: outFeatures * HIDDEN,
        storedBytes: BF16,
        trainable: true,
        gradientBytes: BF16,
      };
      weight.storage = rt.allocate(outFeatures * HIDDEN * BF16, 'weights');
      return { name, weight, inFeatures: HIDDEN, outFeatures, quantized: false };
    };
    const [pooler, classifier] = [linear('dense', HIDDEN), linear('out', 2)];
    const head = { pooler, classifier, dropoutFirst, params: [pooler.weight, classifier.weight] };
    const from = rt.log.length;
    classificationLoss(nn, hidden, head, SEQUENCES, { ...STANDARD_LOSS, classifierDropout: 0.1 });
    return deltasOf(rt.log, from).filter((bytes) => bytes > 0);
  }

  it("RoBERTa drops the first token out before its dense layer too: one more mask and output than BERT's pooler", () => {
    const count = (made: number[], bytes: number) => made.filter((b) => b === bytes).length;
    const bert = classifierRun(false); // first token, dense, tanh, dropout
    const roberta = classifierRun(true); // first token, dropout, dense, tanh, dropout
    expect(count(bert, FIRST)).toBe(4);
    expect(count(roberta, FIRST)).toBe(5);
    expect(count(bert, MASK)).toBe(1);
    expect(count(roberta, MASK)).toBe(2);
  });
});
