// The end of the network: the output head and the loss, per implementation. Each names the
// code it follows; the logits are the largest tensors of most steps.
import { softcapped } from '../autograd/attention';
import { FP32 } from '../autograd/ops';
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { LinearParams, RankModel } from './rank-model';

export interface LossSettings {
  kind: 'standard' | 'chunked' | 'fused';
  /** What 'fused' runs: Megatron's vocab-parallel cross-entropy, or Liger's fused linear
   * cross-entropy. */
  fused: 'megatron' | 'liger';
  /** Chunks the chunked loss applies the head in (torchtune: 8; litgpt: 128-token chunks). */
  chunks: number;
  /** Each chunk's cross-entropy runs on an fp32 copy (torchtune's CEWithChunkedOutputLoss
   * upcasts; litgpt's chunked_cross_entropy runs in the logits' dtype). */
  chunkFp32: boolean;
  /** The model itself returns fp32 logits (torchtune/torchtitan: self.output(h).float()). */
  fp32Logits: boolean;
  /** The fp32 logits go back to the head input's dtype after the loss, and that copy is what
   * the model returns (ModelEnds.logitsFp32 'loss'). */
  logitsCastBack: boolean;
  /** A wrapper casts whatever the model returns, every chunk of it, to fp32 after the forward
   * (Lightning Fabric's convert_output, which litgpt trains through). */
  outputsToFp32: boolean;
  /** The loss runs under torch.compile (torchtune compiles its loss, torchtitan too with
   * compile on): the upcast and log_softmax fuse into one kernel that keeps its input and a
   * per-row log-sum-exp instead of the fp32 log-probabilities. */
  compiled: boolean;
  /** The head's output multiplied by a scalar (ModelEnds.scaledLogits). */
  scaleLogits: boolean;
  /** Bytes an element of a bias buffer added to the head's output (BART's final_logits_bias,
   * in the model's dtype); 0 where there is none. */
  logitsBiasBytes: number;
  /** The loss runs on the logits as the model made them (torch.nn.CrossEntropyLoss in
   * T5ForConditionalGeneration and BartForConditionalGeneration, not ForCausalLMLoss's
   * logits.float()): fp32 only where autocast casts log_softmax's input. */
  inLogitsDtype: boolean;
  /** torch.autocast is on (its fp32 op list holds log_softmax). */
  autocast: boolean;
  /** cap * tanh(logits / cap) before the loss (Gemma-2's final_logit_softcapping). */
  softcap: boolean;
  /** The loop keeps the model's logits referenced until after backward (HF outputs). */
  retainLogits: boolean;
  /** Dropout before a sequence classifier (BERT's classifier_dropout, else hidden_dropout). */
  classifierDropout: number;
}

export interface LossOutput {
  loss: Tensor;
  /** The logits the model returned, which the loop may keep referenced. */
  logits: Tensor[];
}

/** The output head and the loss on the last stage. */
export function headAndLoss(
  nn: Nn,
  hidden: Tensor,
  head: LinearParams,
  settings: LossSettings,
): LossOutput {
  // Liger's kernel would take a logits bias (final_logits_bias) as its `bias` argument: it
  // makes no logits either way.
  if (settings.kind === 'fused' && settings.fused === 'liger') {
    return { loss: ligerLoss(nn, hidden, head), logits: [] };
  }
  const [loss, ...logits] =
    settings.kind === 'chunked'
      ? chunkedLoss(nn, hidden, head, settings)
      : standardLoss(nn, hidden, head, settings);
  return { loss, logits };
}

/** cross_entropy over fp32 logits (F.cross_entropy: log_softmax, saved, then nll_loss); the
 * backward of nll_loss writes a full-size fp32 gradient (nll_loss_backward zeros + scatter).
 * Compiled, one kernel keeps the logits it was given and one fp32 log-sum-exp per row. */
function crossEntropy(nn: Nn, logits: Tensor, compiled = false): Tensor {
  const { ops, rt } = nn;
  if (compiled) {
    const lse = rt.tensor(logits.rows, 1, FP32, false, 'logitsAndLoss');
    const loss = rt.tensor(1, 1, FP32, true, 'logitsAndLoss');
    rt.record([logits], [loss], [logits, lse], () => ops.give(logits, () => ops.gradOf(logits)));
    rt.drop(lse);
    return loss;
  }
  const logProbabilities = ops.softmax(logits); // log_softmax
  const loss = rt.tensor(1, 1, FP32, true, 'logitsAndLoss');
  rt.record([logProbabilities], [loss], [], () =>
    ops.give(logProbabilities, () => ops.gradOf(logProbabilities)),
  );
  rt.drop(logProbabilities);
  return loss;
}

/** Hugging Face's ForCausalLMLoss (transformers loss/loss_utils.py): lm_head in the compute
 * dtype, logits.float(), cross_entropy. With fp32 logits from the model the copy is its own. */
function standardLoss(nn: Nn, hidden: Tensor, head: LinearParams, settings: LossSettings) {
  return nn.rt.scope((): Tensor[] => {
    const { ops, rt } = nn;
    const logits = headLogits(nn, hidden, head, settings);
    if (settings.kind === 'fused') return [megatronCrossEntropy(nn, logits), logits];
    // Compiled, the loss's own upcast is fused into its kernel.
    const logits32 = upcastsForLoss(logits, settings) ? ops.to(logits, FP32) : logits;
    const loss = crossEntropy(nn, logits32, settings.compiled);
    if (logits32 !== logits) rt.drop(logits32);
    if (!settings.logitsCastBack) return [loss, logits];
    const returned = ops.to(logits, hidden.elementBytes); // lm_logits.to(hidden_states.dtype)
    rt.drop(logits);
    return [loss, returned];
  });
}

/** The logits as the model returns them: lm_head in the compute dtype, then the model code's
 * scale, bias and soft cap, and an fp32 copy where the model or a wrapper around it makes one. */
export function headLogits(
  nn: Nn,
  hidden: Tensor,
  head: LinearParams,
  settings: LossSettings,
): Tensor {
  const { ops, rt } = nn;
  let logits = nn.linear(hidden, head);
  if (settings.scaleLogits) {
    const scaled = ops.unary(logits); // logits * logit_scale: MulBackward saves only the scalar
    rt.drop(logits);
    logits = scaled;
  }
  if (settings.logitsBiasBytes > 0) logits = biasedLogits(nn, logits, settings.logitsBiasBytes);
  if (settings.softcap) {
    const capped = softcapped(nn, logits); // Gemma-2's final_logit_softcapping
    rt.drop(logits);
    logits = capped;
  }
  if (settings.fp32Logits || settings.outputsToFp32) {
    const float = ops.to(logits, FP32); // self.output(h).float(), or a wrapper's convert_output
    rt.drop(logits);
    logits = float;
  }
  return logits;
}

/** `lm_logits + self.final_logits_bias` (BartForConditionalGeneration.forward): a new tensor in
 * the promoted dtype (fp32 where autocast left the logits 16-bit beside an fp32 model's
 * buffer); AddBackward keeps nothing, the buffer having no gradient. */
function biasedLogits(nn: Nn, logits: Tensor, biasBytes: number): Tensor {
  const { ops, rt } = nn;
  const biased = biasBytes > logits.elementBytes ? ops.to(logits, biasBytes) : ops.unary(logits);
  rt.drop(logits);
  return biased;
}

/** Whether an fp32 copy of the logits is made for the loss: by the loss code itself
 * (ForCausalLMLoss), or by autocast for CrossEntropyLoss on 16-bit logits; a compiled loss
 * fuses its upcast into its kernel. */
function upcastsForLoss(logits: Tensor, settings: LossSettings): boolean {
  if (settings.compiled) return false;
  if (!settings.inLogitsDtype) return true;
  return settings.autocast && logits.elementBytes !== FP32;
}

/** The head applied chunk by chunk along the sequence, each chunk's cross-entropy in fp32
 * (torchtune CEWithChunkedOutputLoss): every chunk's logits live until the loss is summed. */
function chunkedLoss(nn: Nn, hidden: Tensor, head: LinearParams, settings: LossSettings) {
  return nn.rt.scope((): Tensor[] => {
    const { ops, rt } = nn;
    const pieces = ops.chunkRows(hidden, settings.chunks);
    let chunks = pieces.map((piece) => nn.linear(piece, head));
    rt.drop(...pieces);
    // Each chunk's logits plus its columns' share of a bias buffer (final_logits_bias).
    const biasBytes = settings.logitsBiasBytes;
    if (biasBytes > 0) chunks = chunks.map((chunk) => biasedLogits(nn, chunk, biasBytes));
    if (settings.outputsToFp32) {
      // apply_to_collection builds the fp32 list while the returned one is still referenced.
      const floats = chunks.map((chunk) => ops.to(chunk, FP32));
      rt.drop(...chunks);
      chunks = floats;
    }
    let total: Tensor | undefined;
    for (const chunk of chunks) {
      const float = settings.chunkFp32 && !settings.compiled ? ops.to(chunk, FP32) : chunk;
      const loss = crossEntropy(nn, float, settings.compiled);
      if (float !== chunk) rt.drop(float);
      total = total ? ops.add(total, loss) : loss;
    }
    return [total!, ...chunks];
  });
}

/** A sequence classifier's head and loss: BERT's pooler (the first token through dense and
 * tanh, dropout) then its classifier (modeling_bert.py BertPooler, BertForSequenceClassification;
 * RoBERTa's head drops the first token out before its dense layer too),
 * or a decoder's score over every token pooled at the last one; cross-entropy over the labels. */
export function classificationLoss(
  nn: Nn,
  hidden: Tensor,
  head: NonNullable<RankModel['classifier']>,
  sequences: number,
  settings: LossSettings,
): LossOutput {
  return nn.rt.scope((): LossOutput => {
    const { ops, rt } = nn;
    let features: Tensor;
    if (head.pooler) {
      const p = settings.classifierDropout;
      const gathered = ops.gatherRows(hidden, sequences); // hidden_states[:, 0]
      // RobertaClassificationHead: x = self.dropout(features[:, 0, :]) before its dense layer.
      const first = head.dropoutFirst ? nn.dropoutReplacing(gathered, p) : gathered;
      const dense = nn.linear(first, head.pooler);
      // tanh and ReLU keep their output for backward, GELU its input (derivatives.yaml).
      const activated =
        head.activation === 'gelu' ? ops.unarySavingInput(dense) : ops.unarySavingOutput(dense);
      // ModernBertPredictionHead: norm(act(dense(x)))
      const pooled = head.norm ? nn.layerNorm(activated, head.norm[0], head.norm[1]) : activated;
      features = nn.dropout(pooled, p);
      rt.drop(first, dense, activated, pooled);
    } else {
      features = hidden;
    }
    const scores = nn.linear(features, head.classifier);
    const logits = head.pooler ? scores : ops.gatherRows(scores, sequences); // [arange, last]
    const float = nn.fp32Input(logits); // cross_entropy is on autocast's fp32 list
    const loss = crossEntropy(nn, float);
    return { loss, logits: [] };
  });
}

/** Megatron's vocab-parallel cross-entropy (megatron/core/tensor_parallel/cross_entropy.py
 * VocabParallelCrossEntropy, fusions/fused_cross_entropy.py): the logits upcast to fp32, exp
 * taken in place and kept as the softmax; backward turns that same tensor into the gradient in
 * place, and the upcast's backward casts it back. */
function megatronCrossEntropy(nn: Nn, logits: Tensor): Tensor {
  const { ops, rt } = nn;
  const exp = ops.to(logits, FP32);
  const loss = rt.tensor(1, 1, FP32, true, 'logitsAndLoss');
  rt.record([exp], [loss], [exp], () => ops.pass(exp, exp.storage));
  rt.drop(exp);
  return loss;
}

/** Liger's fused linear cross-entropy (liger_kernel/ops/fused_linear_cross_entropy.py
 * fused_linear_cross_entropy_forward): the head never materialises all logits; the forward
 * makes the input's and the weight's gradients (zeros_like each), walks chunks of
 * next_power_of_2(ceil(BT / ceil(V / H))) rows whose logits become their own gradient in place,
 * and keeps both gradients, which backward hands on as they are. */
function ligerLoss(nn: Nn, hidden: Tensor, head: LinearParams): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const weight = ops.weight(head.weight, head.outFeatures, head.inFeatures);
    const gradWeight = weight.requiresGrad
      ? rt.tensor(weight.rows, weight.cols, weight.elementBytes, false, 'gradients')
      : undefined;
    const gradInput = rt.tensor(hidden.rows, hidden.cols, hidden.elementBytes, false);
    const lossRows = rt.tensor(hidden.rows, 1, FP32, false, 'logitsAndLoss'); // loss_1d
    const increase = Math.ceil(head.outFeatures / head.inFeatures);
    const chunk = 2 ** Math.ceil(Math.log2(Math.ceil(hidden.rows / increase)));
    rt.beforeMatmul('forward');
    for (let start = 0; start < hidden.rows; start += chunk) {
      const rows = Math.min(chunk, hidden.rows - start);
      ops.scratch(rows * head.outFeatures * hidden.elementBytes, 'logitsAndLoss'); // logits_chunk
    }
    const loss = rt.tensor(1, 1, FP32, true, 'logitsAndLoss');
    const saved = [gradInput, ...(gradWeight ? [gradWeight] : [])];
    rt.record([hidden, weight], [loss], saved, () => {
      ops.pass(hidden, gradInput.storage);
      if (gradWeight) ops.pass(weight, gradWeight.storage);
    });
    rt.drop(lossRows, gradInput, gradWeight, weight);
    return loss;
  });
}
