// The longest sequence a model with a learned absolute position table can run: its forward
// looks each position up in that table, so a longer one fails with an index error, unlike RoPE,
// ALiBi or relative positions, which run past max_position_embeddings.
import { ModelArchitecture } from '../vocabulary';

// RobertaEmbeddings.create_position_ids_from_input_ids numbers positions from padding_idx + 1
// (padding_idx = 1), so its 514-row table indexes 512 tokens; XLM-RoBERTa copies it.
const POSITION_OFFSET: Record<string, number> = { roberta: 2, 'xlm-roberta': 2 };

/** Tokens the learned position table can index (GPT-2's n_positions, OPT's
 * max_position_embeddings with its 2 offset rows kept apart, BERT's 512, RoBERTa's 514 less its
 * offset); undefined where positions are not a learned table. */
export function learnedPositionLimit(
  arch: Partial<
    Pick<ModelArchitecture, 'learnedPositionEmbeddings' | 'maxPositionEmbeddings' | 'modelType'>
  >,
): number | undefined {
  const { learnedPositionEmbeddings, maxPositionEmbeddings } = arch;
  if (!learnedPositionEmbeddings || !maxPositionEmbeddings) return undefined;
  return maxPositionEmbeddings - (POSITION_OFFSET[arch.modelType ?? ''] ?? 0);
}
