// PEFT's LoRA on an embedding (peft/tuners/lora/layer.py Embedding.forward): the base lookup,
// plus the adapter's own lookup of lora_embedding_A^T (tokens x r, in the adapter's dtype)
// times lora_embedding_B^T, scaled, added and cast back to the base result's dtype.
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { RankModel } from './rank-model';

export function embeddingAdapter(
  nn: Nn,
  base: Tensor,
  lora: NonNullable<RankModel['embeddingLora']>,
  tokens: number,
): Tensor {
  return nn.rt.scope(() => {
    const { ops, rt } = nn;
    const table = ops.weight(lora.a, lora.a.elements / lora.rank, lora.rank);
    const afterA = ops.embedding(tokens, table, lora.rank); // F.embedding(x, lora_embedding_A.T)
    rt.drop(table);
    const up = nn.plainLinear(afterA, { weight: lora.b, outFeatures: base.cols });
    rt.drop(afterA);
    const scaled = ops.unary(up); // * scaling
    rt.drop(up);
    const sum = ops.add(base, scaled);
    rt.drop(scaled);
    return ops.to(sum, base.elementBytes);
  });
}
