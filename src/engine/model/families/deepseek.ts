// DeepSeek-V2/V3 (modeling_deepseek_v3.py): multi-latent attention, dense first layers, then
// routed and shared experts; V3's multi-token-prediction modules counted on request.
import { Family } from '../family';

export const deepseek: Family = {
  types: ['deepseek_v2', 'deepseek_v3'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  refine: (arch, read) => {
    const modules = read.numberOr(0, 'num_nextn_predict_layers');
    if (read.bool('use_mtp')) {
      // Each module: a decoder layer, enorm, hnorm and eh_proj (DeepSeek-V3 report, 2.2).
      arch.mtp = { layers: Math.max(1, modules) };
      arch.notes = [
        `${arch.mtp.layers} multi-token-prediction module(s) counted and trained after the last layer; their activations are not yet planned`,
      ];
    } else if (modules > 0) {
      arch.notes = [
        `the checkpoint carries ${modules} multi-token-prediction module(s) (num_nextn_predict_layers), not counted: Hugging Face's DeepseekV3 drops them; add "use_mtp": true to count and train them`,
      ];
    }
  },
};
