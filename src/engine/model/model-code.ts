// Whose model code runs a request's layers: a framework's own (litgpt's Block, torchtune's and
// torchtitan's Llama decoders, Megatron's GPT layer) where it covers the architecture, otherwise
// Hugging Face's. The layer recipes and LoRA's adapters both follow it.
import { hasCrossAttention } from './layers';
import { ModelArchitecture, PlanRequest } from '../vocabulary';

/** What keeps litgpt's Block (litgpt/model.py, as recipes/litgpt.ts plans it) from running the
 * architecture's layers, or undefined when it runs them. */
function litgptGap(arch: ModelArchitecture): string | undefined {
  if (arch.moe) return 'mixture-of-experts layers';
  if (arch.ssm) return 'state-space mixers';
  if (arch.shortConv) return 'short convolutions';
  if (arch.gatedDelta) return 'Gated DeltaNet mixers';
  if (arch.attentionOutputGate) return "gated attention (a sigmoid gate on the attention's output)";
  if (arch.encoder) return 'an encoder-decoder stack';
  if (arch.mla) return 'multi-latent attention';
  if (arch.sequenceClassificationLabels) return 'a classification head';
  if (hasCrossAttention(arch)) return 'cross-attention layers';
  if (arch.qkNorm) return 'q/k norms';
  if (arch.norm === 'layernorm-weightless') return 'LayerNorms without weights';
  if (arch.norm === 'layernorm1p') return "Nemotron's LayerNorm1P";
  if (arch.embeddingWidth) return 'an embedding projected to the hidden size';
  if (arch.normAfterResidual) return 'norms after the residual adds';
  if (arch.noRopeLayers?.length) return 'layers without RoPE';
  // litgpt's GPT has no position table (wte, h, ln_f): its positions are rotary only.
  if (arch.learnedPositionEmbeddings > 0) return 'learned position embeddings';
  // Block: a sequential block has norm_1 and norm_2; one norm means a parallel block.
  if (arch.normsPerLayer < 2 && !arch.parallelResidual) return 'one norm in a sequential block';
  // recipes/litgpt.ts builds norm_1 and norm_2 only, not Block's post_attention_norm and
  // post_mlp_norm (Gemma-2's, GLM-4-0414's)
  if (arch.normsPerLayer > 2) return `${arch.normsPerLayer} norms a layer`;
  return undefined;
}

/** What keeps torchtune's and torchtitan's Llama decoders (and Megatron's GPT layer as
 * recipes/megatron.ts plans it) from running the layers: they are gated RMSNorm decoders with
 * separate q, k and v projections and two norms a layer. */
function nativeGap(arch: ModelArchitecture): string | undefined {
  const gap = litgptGap(arch);
  if (gap) return gap;
  if (arch.mlp !== 'gated') return 'a plain MLP';
  if (arch.norm !== 'rmsnorm') return 'LayerNorms';
  if (arch.normsPerLayer !== 2) return `${arch.normsPerLayer} norms a layer`;
  if (arch.fusedQkv) return 'a fused qkv projection';
  if (arch.fusedGateUp) return 'a fused gate_up projection';
  if (arch.parallelResidual) return 'a parallel residual block';
  return undefined;
}

/** The framework whose own model code the request runs, and what keeps it from this model. */
export function frameworkCode(
  arch: ModelArchitecture,
  request: Pick<PlanRequest, 'runtime'>,
): { framework: 'litgpt' | 'torchtune' | 'torchtitan' | 'megatron'; gap?: string } | undefined {
  const { modelCode, preset } = request.runtime;
  if (modelCode === 'litgpt') return { framework: 'litgpt', gap: litgptGap(arch) };
  if (modelCode !== 'native') return undefined;
  if (preset === 'torchtune' || preset === 'torchtitan' || preset === 'megatron')
    return { framework: preset, gap: nativeGap(arch) };
  return undefined;
}
