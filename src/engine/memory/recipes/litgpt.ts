// One block of litgpt's own model code (litgpt/model.py Block, CausalSelfAttention, GptNeoxMLP,
// LLaMAMLP, GemmaMLP, RMSNorm), which plans every family litgpt trains: one fused qkv linear
// whose q, k and v are views of its output (v keeps the whole of it where it is not repeated),
// RoPE applied to the first rope_n_elem dims and concatenated back, K/V repeat_interleave'd for
// grouped queries, SDPA with is_causal, parallel or sequential residuals.
import { repeatKv, rotary } from '../autograd/attention';
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { ModelArchitecture } from '../../vocabulary';
import { LayerWeights } from '../model/rank-model';
import {
  attend,
  AttentionPlan,
  AttentionRequest,
  LayerAttention,
  planByKind,
  sdpaKernel,
} from './attention-kernel';
import { layerKind } from '../../model/layers';
import { linearShapes } from '../../model/parameters';
import { linear } from './hf-llama';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

// litgpt's fine-tuning scripts apply the head 128 positions at a time.
const LM_HEAD_CHUNK = 128;

type LitNorm = 'layer' | 'rms' | 'rms-unit-offset';

/** What differs between the families litgpt's Block runs (litgpt/config.py flags). */
interface LitgptBlock {
  norm: LitNorm;
  parallel: boolean;
  /** Phi: norm_2 is norm_1's output (shared_attention_norm). */
  sharedNorm: boolean;
  mlp: 'gpt-neox' | 'llama' | 'gemma';
}

function blockOf(arch: ModelArchitecture): LitgptBlock {
  const gemma = arch.modelType?.startsWith('gemma') ?? false;
  const rms = arch.norm === 'rmsnorm';
  return {
    norm: gemma ? 'rms-unit-offset' : rms ? 'rms' : 'layer',
    parallel: Boolean(arch.parallelResidual),
    sharedNorm: Boolean(arch.parallelResidual) && arch.normsPerLayer === 1,
    mlp: arch.mlp === 'plain' ? 'gpt-neox' : gemma ? 'gemma' : 'llama',
  };
}

/** litgpt's norm_class: torch's LayerNorm, or its RMSNorm (x.float(), x * x mean, rsqrt,
 * (x_normed * weight.float()).to(dtype); Gemma's with add_unit_offset: (1 + weight)). */
function norm(nn: Nn, x: Tensor, w: LayerWeights, name: string, kind: LitNorm): Tensor {
  const weight = w.norms.get(name)!;
  if (kind === 'layer') return nn.layerNorm(x, weight, w.norms.get(`${name}.bias`));
  return kind === 'rms' ? nn.rmsNormFp32Weight(x, weight) : nn.gemmaRmsNorm(x, weight);
}

/** Block.forward: x_normed = norm_1(x); attention; parallel: norm_2(x) (or norm_1's output
 * shared), x = attention + x; sequential: x = attention + x, norm_2(x); mlp(x_normed) + x. */
function block(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs, b: LitgptBlock) {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const normed = norm(nn, x, w, 'norm_1', b.norm);
    const attended = selfAttention(nn, normed, w, inputs);
    let mlpInput = normed;
    if (b.parallel && !b.sharedNorm) mlpInput = norm(nn, x, w, 'norm_2', b.norm);
    const residual = ops.add(attended, x);
    rt.drop(attended);
    if (!b.parallel) mlpInput = norm(nn, residual, w, 'norm_2', b.norm);
    if (mlpInput !== normed) rt.drop(normed);
    const mlpOut = mlp(nn, mlpInput, w, b);
    rt.drop(mlpInput);
    return ops.add(mlpOut, residual);
  });
}

/** CausalSelfAttention.forward: qkv, split into views, RoPE on q and k (apply_rope, then
 * torch.cat with the unrotated part), repeat_interleave for grouped K/V, SDPA, proj. */
function selfAttention(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const { heads } = inputs;
    const qkv = nn.linear(x, linear(w, 'qkv'));
    const kvCols = heads.kvHeads * heads.headDim;
    const [q0, k0, v0] = [heads.heads * heads.headDim, kvCols, kvCols].map((cols) =>
      ops.slice(qkv, cols),
    );
    rt.drop(qkv);
    const [q, k] = [q0, k0].map((t) => roped(nn, t, inputs));
    rt.drop(q0, k0);
    const grouped = heads.kvHeads < heads.heads;
    const keys = grouped ? repeatKv(nn, k, heads) : k;
    const values = grouped ? repeatKv(nn, v0, heads) : v0;
    const context = attend(nn, [q, keys, values], inputs);
    return nn.linear(context, linear(w, 'o_proj'));
  });
}

/** apply_rope(x[..., :rope_n_elem]) then torch.cat((roped, x[..., rope_n_elem:])): the rotated
 * copy, cast back to x's dtype (roped.to(dtype=x.dtype)), and the concatenation. */
function roped(nn: Nn, x: Tensor, inputs: LayerInputs): Tensor {
  return nn.rt.scope(() => {
    const rotated = rotary(nn, x, inputs.cos, inputs.sin);
    const cast = nn.ops.to(rotated, x.elementBytes);
    return nn.ops.cat([cast]);
  });
}

/** GptNeoxMLP (fc, F.gelu, proj), LLaMAMLP (fc_1, fc_2, F.silu(fc_1) * fc_2, proj) and
 * GemmaMLP (the same with F.gelu): the fused activations keep their input. */
function mlp(nn: Nn, x: Tensor, w: LayerWeights, b: LitgptBlock): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    if (b.mlp === 'gpt-neox') {
      const up = nn.linear(x, linear(w, 'up_proj'));
      const activated = ops.unarySavingInput(up);
      rt.drop(up);
      return nn.linear(activated, linear(w, 'down_proj'));
    }
    const gate = nn.linear(x, linear(w, 'gate_proj'));
    const up = nn.linear(x, linear(w, 'up_proj'));
    const activated = ops.unarySavingInput(gate);
    rt.drop(gate);
    const product = ops.mul(activated, up);
    rt.drop(activated, up);
    return nn.linear(product, linear(w, 'down_proj'));
  });
}

/** Block's modules in __init__ order: norm_1, attn (qkv, proj), norm_2 (absent when shared),
 * mlp (fc / fc_1, fc_2, proj). */
function litgptWeights(context: WeightContext, layer: number): LayerWeights {
  const { arch } = context;
  const h = arch.hiddenSize;
  const builder = new LayerWeightsBuilder(context, layer).norm('norm_1', h);
  if (arch.fusedQkv) builder.fusedQkvParts('qkv');
  else builder.fused('qkv', ['q_proj', 'k_proj', 'v_proj'], true);
  builder.linears('o_proj');
  if (arch.normsPerLayer >= 2) builder.norm('norm_2', h);
  if (arch.fusedGateUp) splitGateUp(builder, context, layer);
  return builder.linears('gate_proj', 'up_proj', 'down_proj').build();
}

/** Phi-3's gate_up_proj as litgpt loads it: two linears, fc_1 and fc_2, each half of it
 * (scripts/convert_hf_checkpoint.py copy_weights_phi: weight.chunk(2, dim=0)); LoRA targets
 * naming gate_up_proj adapt both. */
function splitGateUp(builder: LayerWeightsBuilder, context: WeightContext, layer: number): void {
  const fused = linearShapes(context.arch, layer).find((s) => s.name === 'gate_up_proj');
  if (!fused) return;
  const half = { ...fused, outFeatures: fused.outFeatures / 2 };
  builder
    .custom({ ...half, name: 'gate_proj' }, ['gate_up_proj', 'gate_proj'])
    .custom({ ...half, name: 'up_proj' }, ['gate_up_proj', 'up_proj']);
}

/** CausalSelfAttention.scaled_dot_product_attention: SDPA with is_causal, whatever the request
 * asks; with soft-capping its own q @ k^T code and a (T, T) mask; a sliding window shorter than
 * the sequence passes a (T, T) float mask, so the memory-efficient kernel runs. */
function litgptAttention(request: AttentionRequest): AttentionPlan {
  const { arch, asked, computeBytes, keys } = request;
  const notes = new Set<string>();
  if (asked === 'eager') notes.add('litgpt has no eager attention: it always calls SDPA');
  const unmasked = sdpaKernel(computeBytes, arch.headDim, false); // K/V already repeated
  const choose = (index: number): LayerAttention => {
    if (arch.attentionLogitSoftcapping) {
      return { kernel: 'eager', mask: { key: 'causal', additive: true, shared: true } };
    }
    const window = layerKind(arch, index).attentionWindow;
    if (window.kind !== 'full' && keys > window.size) {
      notes.add(
        'litgpt passes its sliding-window mask to SDPA: the memory-efficient kernel runs and keeps it',
      );
      return {
        kernel: 'efficient',
        mask: { key: `window-${window.size}`, additive: true, shared: true },
      };
    }
    if (unmasked.note) notes.add(unmasked.note);
    return { kernel: unmasked.kernel };
  };
  return planByKind(arch, choose, notes);
}

export function litgptRecipe(arch: ModelArchitecture): LayerRecipe {
  const b = blockOf(arch);
  return {
    source: 'litgpt/model.py (Block, CausalSelfAttention)',
    weights: litgptWeights,
    forward: (nn, x, weights, inputs) => block(nn, x, weights, inputs, b),
    attention: litgptAttention,
    ends: {
      scaledEmbedding: b.norm === 'rms-unit-offset', // GPT.forward: scale_embeddings (Gemma)
      finalNorm: b.norm === 'layer' ? 'layer' : b.norm === 'rms' ? 'fp32-weight' : 'gemma',
      rotaryBuffer: true, // GPT.cos / GPT.sin: buffers sliced to the sequence
      embeddingLocal: 'none', // GPT.forward: x = self.transformer.wte(idx), then x = block(x, ...)
      chunkPositions: LM_HEAD_CHUNK, // finetune/*.py: model(input_ids, lm_head_chunk_size=128)
      chunkFp32: false, // utils.py chunked_cross_entropy: F.cross_entropy on the chunk as it is
      fp32Outputs: true, // lightning/fabric/wrappers.py _FabricModule.forward: convert_output
    },
  };
}
