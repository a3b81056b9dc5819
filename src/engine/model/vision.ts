// Parameters of a vision-language model's image encoder and projector.
import { DeepstackMerger, VisionTower } from '../vocabulary';

/** One encoder layer: q, k, v, o (h x h), the MLP and two norms (a ViT block). */
export function visionLayerParameters(tower: VisionTower): number {
  const h = tower.hiddenSize;
  const f = tower.intermediateSize;
  const attention = 4 * h * h + (tower.attentionBias ? 4 * h : 0);
  const mlp =
    tower.mlp === 'gated'
      ? 3 * h * f + (tower.mlpBias ? 2 * f + h : 0)
      : 2 * h * f + (tower.mlpBias ? f + h : 0);
  const norms = 2 * (tower.norm === 'layernorm' ? 2 * h : h);
  return attention + mlp + norms;
}

/** One deepstack merger: its LayerNorm's weight and bias, Linear(in, in) and Linear(in, out)
 * with biases (Qwen3VLVisionPatchMerger). */
export function deepstackMergerParameters(merger: DeepstackMerger): number {
  const { inFeatures: m, outFeatures: out } = merger;
  return 2 * m + (m * m + m) + (m * out + out);
}

/** The whole tower: its layers, embeddings, gates, projector linears and norms, and deepstack
 * mergers. */
export function visionParameters(tower: VisionTower): number {
  const projector = tower.projector.reduce(
    (sum, p) => sum + p.inFeatures * p.outFeatures + (p.bias ? p.outFeatures : 0),
    0,
  );
  return (
    tower.layers * visionLayerParameters(tower) +
    (tower.layerGates ?? 0) +
    tower.embeddingParameters +
    projector +
    tower.projectorNormParameters +
    (tower.deepstack ?? []).reduce((sum, merger) => sum + deepstackMergerParameters(merger), 0)
  );
}
