// Parameters of a vision-language model's image encoder and projector.
import { DeepstackMerger, VisionTower } from '../vocabulary';
import { trailingNames } from './lora-modules';

/** One encoder layer: its linears (blockShapes) and their biases (blockBiases), two norms (a
 * ViT block), and InternVL's q and k norms and two layer scales (h each). */
export function visionLayerParameters(tower: VisionTower): number {
  const h = tower.hiddenSize;
  const biases = blockBiases(tower);
  const linears = blockShapes(tower).reduce(
    (sum, [inFeatures, outFeatures], k) =>
      sum + inFeatures * outFeatures + (biases[k] ? outFeatures : 0),
    0,
  );
  const extras = (tower.qkNorm ? 2 * h : 0) + (tower.layerScale ? 2 * h : 0);
  const norms = 2 * (tower.norm === 'layernorm' ? 2 * h : h);
  return linears + extras + norms;
}

/** One of the tower's linears as the model names it: its module path and shape. */
export interface VisionLinear {
  path: string;
  inFeatures: number;
  outFeatures: number;
  /** An nn.Parameter used as a matrix, which LoRA does not adapt. */
  parameter?: boolean;
}

/** The module paths of one block's linears, attention's then the MLP's. */
export function blockLinearNames(tower: VisionTower): string[] {
  if (tower.linearNames) return tower.linearNames;
  const attention = ['q_proj', 'k_proj', 'v_proj', 'o_proj'].map((n) => `self_attn.${n}`);
  const mlp = tower.mlp === 'gated' ? ['gate_proj', 'up_proj', 'down_proj'] : ['fc1', 'fc2'];
  return [...attention, ...mlp.map((n) => `mlp.${n}`)];
}

/** A block's attention linears: qkv and proj in the Qwen layout, else q, k, v and o. */
export function attentionLinearCount(tower: VisionTower): number {
  return tower.layout === 'qwen' ? 2 : 4;
}

/** A block's linears as [in, out] features, attention's then the MLP's. */
export function blockShapes(tower: VisionTower): [number, number][] {
  const h = tower.hiddenSize;
  const f = tower.intermediateSize;
  const shape = (inFeatures: number, outFeatures: number): [number, number] => [
    inFeatures,
    outFeatures,
  ];
  const square = shape(h, h);
  const attention =
    tower.layout === 'qwen' ? [shape(h, 3 * h), square] : [square, square, square, square];
  const up = shape(h, f);
  const down = shape(f, h);
  return [...attention, ...(tower.mlp === 'gated' ? [up, up, down] : [up, down])];
}

/** Whether each of a block's linears, in blockShapes' order, has a bias: q, k and v (or qkv) by
 * attentionBias, the attention's output linear by projectionBias where given, the MLP's by
 * mlpBias. */
export function blockBiases(tower: VisionTower): boolean[] {
  const output = attentionLinearCount(tower) - 1; // o_proj, proj, out_proj, projection_layer
  const outputBias = tower.projectionBias ?? tower.attentionBias;
  return blockShapes(tower).map((_, k) =>
    k === output ? outputBias : k < output ? tower.attentionBias : tower.mlpBias,
  );
}

/** Every linear of the tower in the order buildVisionWeights creates them: each block's (one
 * qkv and proj in the Qwen layout, else q, k, v and o; then the MLP's), the projector's and the
 * deepstack mergers'. */
export function visionLinears(tower: VisionTower): VisionLinear[] {
  const shapes = blockShapes(tower);
  const names = blockLinearNames(tower);
  const linears: VisionLinear[] = [];
  for (let i = 0; i < tower.layers; i++) {
    shapes.forEach(([inFeatures, outFeatures], k) =>
      linears.push({ path: `vision.blocks.${i}.${names[k]}`, inFeatures, outFeatures }),
    );
  }
  for (const { name, inFeatures, outFeatures, parameter } of tower.projector)
    linears.push({ path: name, inFeatures, outFeatures, parameter });
  (tower.deepstack ?? []).forEach((merger, i) => {
    const m = merger.inFeatures;
    const name = `deepstack_merger_list.${i}`;
    linears.push({ path: `${name}.linear_fc1`, inFeatures: m, outFeatures: m });
    linears.push({ path: `${name}.linear_fc2`, inFeatures: m, outFeatures: merger.outFeatures });
  });
  return linears;
}

/** The LoRA target names the tower's linears answer to: each block linear's path and its
 * trailing components (attn.qkv, qkv), the projector's and the deepstack mergers'. */
export function visionTargetNames(tower: VisionTower): string[] {
  const paths = [
    ...blockLinearNames(tower),
    ...tower.projector.filter((p) => !p.parameter).map((p) => p.name),
    ...(tower.deepstack?.length ? ['linear_fc1', 'linear_fc2'] : []),
  ];
  return [...new Set(paths.flatMap(trailingNames))];
}

/** The weights of the tower's nn.Linear modules (each block's, the projector's but Gemma-3's
 * matrix parameter, the deepstack mergers'): what bitsandbytes' conversion makes 4-bit. */
export function visionLinearWeights(tower: VisionTower): number {
  return visionLinears(tower)
    .filter((linear) => !linear.parameter)
    .reduce((sum, linear) => sum + linear.inFeatures * linear.outFeatures, 0);
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
