// The longest sequence a model's own code can run: a learned absolute position table is looked up
// position by position, and MPT's ALiBi tensor is built to max_seq_len and added to the scores,
// so a longer sequence fails (an index error; shapes that do not broadcast). RoPE, BLOOM's ALiBi
// and relative positions are computed for the sequence given and run past
// max_position_embeddings.
import { ModelArchitecture } from '../vocabulary';

// RobertaEmbeddings.create_position_ids_from_input_ids numbers positions from padding_idx + 1
// (padding_idx = 1), so its 514-row table indexes 512 tokens; XLM-RoBERTa copies it.
const POSITION_OFFSET: Record<string, number> = { roberta: 2, 'xlm-roberta': 2, camembert: 2 };

/** The most tokens a sequence may hold, and what fixes it; undefined where nothing does. */
export interface SequenceLimit {
  tokens: number;
  /** What the limit is, to finish "exceeds the ... ". */
  what: string;
}

/** GPT-2's n_positions, OPT's max_position_embeddings (its 2 offset rows kept apart), BERT's
 * 512, RoBERTa's 514 less its offset; MPT's max_seq_len (MptAttention slices position_bias to
 * the keys and adds it). */
export function sequenceLimit(
  arch: Partial<
    Pick<
      ModelArchitecture,
      'learnedPositionEmbeddings' | 'maxPositionEmbeddings' | 'modelType' | 'positionTable'
    >
  >,
): SequenceLimit | undefined {
  const { learnedPositionEmbeddings, maxPositionEmbeddings: positions, modelType } = arch;
  if (!positions) return undefined;
  // M2M100SinusoidalPositionalEmbedding.forward rebuilds its table for a longer sequence.
  if (arch.positionTable === 'buffer') return undefined;
  if (learnedPositionEmbeddings) {
    const tokens = positions - (POSITION_OFFSET[modelType ?? ''] ?? 0);
    const kind = arch.positionTable === 'frozen' ? 'sinusoidal' : 'learned'; // Marian's, Pegasus's
    return { tokens, what: `${tokens} positions its ${kind} position table indexes` };
  }
  if (modelType === 'mpt')
    return { tokens: positions, what: `${positions} keys its ALiBi tensor spans (max_seq_len)` };
  return undefined;
}
