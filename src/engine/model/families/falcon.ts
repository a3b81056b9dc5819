// Falcon and its RefinedWeb configs (modeling_falcon.py): multi-query or grouped K/V, parallel
// attention and MLP, one LayerNorm per layer unless the new decoder architecture.
import { PlanValidationError } from '../../vocabulary';
import { ConfigReader } from '../config-reader';
import { Family } from '../family';

/** FalconAttention with `alibi` (the falcon-rw checkpoints) adds an ALiBi bias to its scores
 * and hands SDPA that float mask instead of rotating q and k: not planned, refused by field
 * rather than planned with rotary tables it never builds. */
function refuseAlibi(read: ConfigReader): void {
  if (read.config.alibi !== true) return;
  read.fail(
    'alibi',
    "Falcon's ALiBi attention (falcon-rw) is not planned yet: give alibi false (Falcon-7B, -40B and -180B use rotary embeddings)",
  );
  throw new PlanValidationError(read.errors);
}

export const falcon: Family = {
  types: ['falcon', 'refinedweb', 'refinedwebmodel', 'rw'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: (read) => read.bool('bias'),
  defaults: { tie_word_embeddings: true }, // FalconConfig: tie_word_embeddings=True
  refine: (arch, read, { rawType }) => {
    refuseAlibi(read);
    // RefinedWeb (Falcon-40B's first config) is the new decoder: grouped K/V, two norms a layer.
    const newDecoder = read.bool('new_decoder_architecture') || rawType === 'refinedweb';
    if (read.pick('numKeyValueHeads') === undefined && !newDecoder && read.bool('multi_query')) {
      arch.numKeyValueHeads = 1;
    }
    if (read.bool('parallel_attn') && !newDecoder) arch.normsPerLayer = 1;
    arch.parallelResidual ??= newDecoder || read.flag('parallel_attn', true);
  },
};
