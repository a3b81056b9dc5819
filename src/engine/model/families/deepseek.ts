// DeepSeek-V2/V3 (modeling_deepseek_v3.py): multi-latent attention, dense first layers, then
// routed and shared experts (their routers: memory/recipes/hf-moe-routers.ts); V3's
// multi-token-prediction modules counted on request.
import { Family, readNormTopkProb } from '../family';

export const deepseek: Family = {
  types: ['deepseek_v2', 'deepseek_v3'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  refine: (arch, read, { type }) => {
    // DeepseekV3TopkRouter: an fp32 linear, sigmoid scores, group-limited top-k; DeepSeek-V2's
    // DeepseekV2Moe: the fp32 linear and a softmax, its weights left in fp32.
    if (arch.moe && !read.config.moe)
      arch.moe.router = type === 'deepseek_v3' ? 'grouped-sigmoid' : 'fp32-softmax';
    if (type === 'deepseek_v3') readNormTopkProb(arch, read, true);
    const modules = read.numberOr(0, 'num_nextn_predict_layers');
    if (read.bool('use_mtp')) {
      // Each module: a decoder layer, enorm, hnorm and eh_proj (DeepSeek-V3 report, 2.2).
      arch.mtp = { layers: Math.max(1, modules) };
      arch.notes = [
        `${arch.mtp.layers} multi-token-prediction module(s) counted and trained after the last layer; their activations are not yet planned`,
      ];
    } else if (modules > 0) {
      arch.notes = [
        `${uncountedMtpNote(modules, 'DeepseekV3')}; add "use_mtp": true to count and train them`,
      ];
    }
  },
};

/** The note for multi-token-prediction modules a checkpoint carries and the model code drops. */
export function uncountedMtpNote(modules: number, modelClass: string): string | undefined {
  if (modules <= 0) return undefined;
  return `the checkpoint carries ${modules} multi-token-prediction module(s) (num_nextn_predict_layers), not counted: Hugging Face's ${modelClass} drops them`;
}
