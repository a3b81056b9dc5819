// One layer of Hugging Face's BART (transformers models/bart/modeling_bart.py BartEncoderLayer,
// BartDecoderLayer, BartAttention; Marian's modeling_marian.py copies them), run as an encoder
// stack then a decoder stack: each sub-layer's output dropped out, added to its input, then
// LayerNorm'd (post-LN; mBART's modeling_mbart.py and Pegasus's modeling_pegasus.py normalise
// each sub-layer's input instead, pre-LN); the decoder's
// cross-attention (encoder_attn) reads the encoder output; fc1, the activation, activation
// dropout, fc2. Attention goes through transformers' attention interface: q, k and v as
// projected (the kernel takes self.scaling), SDPA or flash without a mask on full batches, or
// eager_attention_forward with 4-D additive masks and softmax in the scores' dtype.
import { eagerAttention } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { ModelArchitecture } from '../../vocabulary';
import { bartClassPrefix } from '../../model/families/bart';
import { isEncoderLayer } from '../../model/layers';
import { LayerWeights } from '../model/rank-model';
import {
  AttentionPlan,
  AttentionRequest,
  attend,
  AttentionKernelRun,
  hfAttentionPlan,
} from './attention-kernel';
import { linear } from './hf-llama';
import {
  LayerInputs,
  LayerRecipe,
  LayerWeightsBuilder,
  StackTensors,
  WeightContext,
} from './recipe';

/** One of a layer's attentions: self-attention (`source` is `x`) or the decoder's
 * cross-attention (`source` the encoder's output, `prefix` 'cross_attn.'). */
type LayerAttentionFn = (
  nn: Nn,
  x: Tensor,
  source: Tensor,
  w: LayerWeights,
  prefix: string,
  inputs: LayerInputs,
) => Tensor;

/** BartAttention.forward: q_proj, k_proj and v_proj (of the encoder output in encoder_attn),
 * the kernel, out_proj. */
const bartAttention: LayerAttentionFn = (nn, x, source, w, prefix, inputs) =>
  nn.rt.scope(() => {
    const q = nn.linear(x, linear(w, `${prefix}q_proj`));
    const k = nn.linear(source, linear(w, `${prefix}k_proj`));
    const v = nn.linear(source, linear(w, `${prefix}v_proj`));
    const qkv = [q, k, v].map((t) => nn.matmulInput(t)) as [Tensor, Tensor, Tensor];
    const context = interfaceKernel(nn, qkv, inputs);
    nn.rt.drop(...qkv, q, k, v);
    return nn.linear(context, linear(w, `${prefix}o_proj`));
  });

/** transformers' attention interface as BART's and Whisper's attentions call it:
 * eager_attention_forward (softmax in the scores' dtype, no soft-cap), or SDPA and flash. */
function interfaceKernel(nn: Nn, qkv: [Tensor, Tensor, Tensor], inputs: LayerInputs): Tensor {
  if (inputs.attention !== 'eager') return attend(nn, qkv, inputs);
  const { heads, keys, mask, dropout } = inputs;
  return eagerAttention(nn, qkv, heads, keys, mask, false, dropout, false);
}

/** WhisperAttention.forward: q_proj's output times self.scaling (a new tensor; a product by a
 * Python float keeps nothing), q, k and v each viewed per head, transposed and made
 * .contiguous() (a copy, the projection's output then freed), the kernel at scaling 1.0,
 * out_proj. The encoder's self-attention and the cross-attention attend over the audio's
 * `frames` keys and get no mask; the decoder's over its tokens, causal. */
function whisperAttention(frames: number): LayerAttentionFn {
  return (nn, x, source, w, prefix, inputs) =>
    nn.rt.scope(() => {
      const { ops, rt } = nn;
      // a new tensor made from t (keeping nothing), t's handle let go
      const replaced = (t: Tensor) => {
        const out = ops.unary(t);
        rt.drop(t);
        return out;
      };
      // * self.scaling, then .contiguous(); k's and v's .contiguous()
      const q = replaced(replaced(nn.linear(x, linear(w, `${prefix}q_proj`))));
      const [k, v] = ['k_proj', 'v_proj'].map((name) =>
        replaced(nn.linear(source, linear(w, `${prefix}${name}`))),
      );
      const qkv = [q, k, v].map((t) => nn.matmulInput(t)) as [Tensor, Tensor, Tensor];
      const decoderSelf = source === x && inputs.encoderStates !== undefined;
      const layerInputs: LayerInputs = decoderSelf
        ? inputs
        : { ...inputs, keys: frames, mask: undefined };
      const context = interfaceKernel(nn, qkv, layerInputs);
      rt.drop(...qkv, q, k, v);
      return nn.linear(context, linear(w, `${prefix}o_proj`));
    });
}

interface Dropouts {
  /** config.dropout: on each sub-layer's output. */
  residual: number;
  /** config.activation_dropout: after the MLP's activation. */
  activation: number;
  /** activation_function 'relu' (else GELU or SiLU, which keep their input; bart.ts refuses
   * the others). */
  relu: boolean;
}

/** A sub-layer around `body`: BART's `norm(x + dropout(body(x)))` (post-LN: LayerNorm keeps
 * what its backward needs, so rebinding frees the sum), or mBART's
 * `x + dropout(body(norm(x)))`. */
type Residual = (input: Tensor, norm: string, body: (t: Tensor) => Tensor) => Tensor;

function residualOf(nn: Nn, w: LayerWeights, p: Dropouts, postNorm: boolean): Residual {
  const { ops, rt } = nn;
  const norm = (t: Tensor, name: string) =>
    nn.layerNorm(t, w.norms.get(name)!, w.norms.get(`${name}.bias`));
  return (input, name, body) => {
    const normed = postNorm ? input : norm(input, name);
    const out = nn.dropoutReplacing(body(normed), p.residual);
    if (normed !== input) rt.drop(normed);
    const sum = ops.add(input, out);
    rt.drop(out);
    if (!postNorm) return sum;
    const after = norm(sum, name);
    rt.drop(sum);
    return after;
  };
}

/** BartEncoderLayer.forward and BartDecoderLayer.forward (MBart's too): self-attention, the
 * decoder's cross-attention and the MLP, each a residual sub-layer; MBartEncoder's layer_norm
 * after its last layer. */
function bartLayer(
  nn: Nn,
  x: Tensor,
  w: LayerWeights,
  inputs: LayerInputs,
  p: Dropouts,
  postNorm: boolean,
  attention: LayerAttentionFn = bartAttention,
) {
  return nn.rt.scope(() => {
    const { rt } = nn;
    const residual = residualOf(nn, w, p, postNorm);
    let h = residual(x, 'self_attn_layer_norm', (t) => attention(nn, t, t, w, '', inputs));
    const states = inputs.encoderStates;
    if (states) {
      const crossed = residual(h, 'encoder_attn_layer_norm', (t) =>
        attention(nn, t, states, w, 'cross_attn.', inputs),
      );
      rt.drop(h);
      h = crossed;
    }
    const out = residual(h, 'final_layer_norm', (t) => bartMlp(nn, t, w, p));
    rt.drop(h);
    const stackNorm = w.norms.get('encoder_layer_norm');
    if (!stackNorm) return out;
    const normed = nn.layerNorm(out, stackNorm, w.norms.get('encoder_layer_norm.bias'));
    rt.drop(out);
    return normed;
  });
}

/** fc1, the activation (ACT2FN: F.gelu and F.silu keep their input, nn.ReLU its output),
 * activation dropout, fc2. */
function bartMlp(nn: Nn, x: Tensor, w: LayerWeights, p: Dropouts): Tensor {
  return nn.rt.scope(() => {
    const up = nn.linear(x, linear(w, 'up_proj'));
    const activated = p.relu ? nn.ops.unarySavingOutput(up) : nn.ops.unarySavingInput(up);
    nn.rt.drop(up);
    const dropped = nn.dropoutReplacing(activated, p.activation);
    return nn.linear(dropped, linear(w, 'down_proj'));
  });
}

/** The modules of BartEncoderLayer and BartDecoderLayer in __init__ order: self_attn (k_proj,
 * v_proj, q_proj, out_proj), self_attn_layer_norm, the decoder's encoder_attn and
 * encoder_attn_layer_norm, fc1, fc2, final_layer_norm; MBartEncoder's layer_norm carried by
 * its last layer. */
function bartWeights(context: WeightContext, layer: number): LayerWeights {
  const { arch } = context;
  const h = arch.hiddenSize;
  const encoder = arch.encoder!;
  const endsEncoder = encoder.finalNorm === true && layer === encoder.numLayers - 1;
  const builder = new LayerWeightsBuilder(context, layer)
    .linears('k_proj', 'v_proj', 'q_proj', 'o_proj')
    .norm('self_attn_layer_norm', h);
  if (!isEncoderLayer(context.arch, layer)) {
    builder
      .linears('cross_attn.k_proj', 'cross_attn.v_proj', 'cross_attn.q_proj', 'cross_attn.o_proj')
      .norm('encoder_attn_layer_norm', h);
  }
  builder.linears('up_proj', 'down_proj').norm('final_layer_norm', h);
  if (endsEncoder) builder.norm('encoder_layer_norm', h);
  return builder.build();
}

/** What each stack builds for its layers beyond the shared mask: under eager attention the
 * decoder's cross-attention mask, (b, 1, s, s) in the hidden dtype (_prepare_4d_attention_mask
 * of encoder_attention_mask), held while the decoder runs; the encoder's mask and the decoder's
 * causal one are the layers' shared mask. SDPA and flash get no mask on full batches. */
function bartStacks(arch: ModelArchitecture): StackTensors {
  return {
    decoderStart: arch.encoder!.numLayers,
    build(nn, tokens, keys, bytes, decoder, kernel: AttentionKernelRun) {
      return decoder && kernel === 'eager' ? [nn.rt.tensor(tokens, keys, bytes, false)] : [];
    },
  };
}

/** config.dropout, activation_dropout and the activation's kind, as the layers read them. */
function dropoutsOf(arch: ModelArchitecture): Dropouts {
  return {
    residual: arch.dropout?.residual ?? 0,
    activation: arch.dropout?.activation ?? 0,
    relu: arch.activation === 'relu',
  };
}

export function hfBartRecipe(arch: ModelArchitecture): LayerRecipe {
  const dropouts = dropoutsOf(arch);
  const postNorm = arch.normAfterResidual === true;
  const type = arch.modelType ?? 'bart';
  const prefix = bartClassPrefix(type);
  return {
    source: `transformers models/${type}/modeling_${type}.py (${prefix}EncoderLayer, ${prefix}DecoderLayer)`,
    weights: bartWeights,
    forward: (nn, x, weights, inputs) => bartLayer(nn, x, weights, inputs, dropouts, postNorm),
    attention: hfAttentionPlan,
    stacks: bartStacks(arch),
    ends: {
      noRotary: true, // position tables, added to each stack's embedding
      // BartScaledWordEmbedding (Marian's and Pegasus's forward) multiplies the lookup by
      // embed_scale (1.0 unless scale_embedding), a new tensor, before the positions are added.
      scaledEmbedding: 'lookup',
      // Marian's and Pegasus's sinusoidal tables are looked up over arange(seq_len), (s, h),
      // broadcast in the add; BartLearnedPositionalEmbedding expands its positions to the batch.
      positionsPerSequence: arch.positionTable === 'frozen',
      // BartEncoder.forward and BartDecoder.forward keep inputs_embeds and the positions until
      // each returns (causal-lm.ts StackState drops the encoder's at the decoder's start).
      embeddingLocal: 'lookup',
      finalNorm: 'layer', // MBartDecoder's layer_norm (BART's decoder has none)
      // M2M100ForConditionalGeneration registers no final_logits_bias.
      logitsBias: arch.modelType !== 'm2m_100',
      lossInLogitsDtype: true,
    },
  };
}

/** Whisper's kernels as transformers picks them (hfAttentionPlan), with no mask for the
 * encoder's layers (WhisperEncoder hands its layers attention_mask=None) and no cross-attention
 * mask (encoder_attention_mask stays None): the decoder's self-attention alone is causal. */
function whisperAttentionPlan(request: AttentionRequest): AttentionPlan {
  const plan = hfAttentionPlan(request);
  const { arch } = request;
  return {
    notes: plan.notes,
    // full attention without a window or an explicit mask: SDPA's kernel is the unmasked one
    attentionFor: (index) => {
      const chosen = plan.attentionFor(index);
      return isEncoderLayer(arch, index) ? { kernel: chosen.kernel } : chosen;
    },
  };
}

/** WhisperForConditionalGeneration's layers: mBART's (pre-LN, a layer_norm ending each stack)
 * with WhisperAttention, the encoder over the audio's frames; its ends: a decoder embedding
 * without a scale or LayerNorm and a learned table looked up over arange(s) (a view of (s, h)),
 * no final_logits_bias, the tied proj_out. */
export function hfWhisperRecipe(arch: ModelArchitecture): LayerRecipe {
  const bart = hfBartRecipe(arch);
  const dropouts = dropoutsOf(arch);
  const attention = whisperAttention(arch.encoder!.audio!.frames);
  return {
    ...bart,
    source:
      'transformers models/whisper/modeling_whisper.py (WhisperEncoderLayer, WhisperDecoderLayer)',
    forward: (nn, x, weights, inputs) =>
      bartLayer(nn, x, weights, inputs, dropouts, false, attention), // pre-LN, as mBART's
    attention: whisperAttentionPlan,
    stacks: { decoderStart: arch.encoder!.numLayers, build: () => [] },
    ends: {
      ...bart.ends,
      scaledEmbedding: false,
      positionsPerSequence: true,
      logitsBias: false,
    },
  };
}
