// Selective activation checkpointing (torch.utils.checkpoint.create_selective_checkpoint_contexts):
// inside a checkpointed region a policy marks some ops MUST_SAVE. Their outputs are cached in
// forward and handed back when the region is recomputed, so those ops do not run again; every
// other op is recomputed as under full checkpointing.
import { Storage, Tensor } from './runtime';

/** The ops a policy can name: aten.mm (a linear without bias), aten.addmm (with one) and SDPA's
 * flash or memory-efficient kernel (its output and log-sum-exp). */
export type PolicyOp = 'mm' | 'addmm' | 'sdpa';

/** CheckpointPolicy as a predicate: MUST_SAVE for the op, given how many of that op this pass
 * (the forward, or the recompute) has run so far, this one included. */
export type SelectivePolicy = (op: PolicyOp, count: number) => boolean;

/** torchtitan's op-level policy (torchtitan/distributed/activation_checkpoint.py, _save_list
 * and _custom_policy; torchtune's copy in training/_activation_checkpoint.py): save the outputs
 * of SDPA and of every mm except every second one (mm_count % 2 == 0 is recomputed). */
export const OP_LEVEL_POLICY: SelectivePolicy = (op, count) =>
  op === 'sdpa' || (op === 'mm' && count % 2 === 1);

/** One region's cache: the outputs its forward kept, taken back in order by its recompute. */
export class SelectiveCache {
  private readonly counts = { forward: new Map<PolicyOp, number>(), recompute: new Map() };
  private readonly kept: Tensor[][] = [];

  constructor(private readonly policy: SelectivePolicy) {}

  /** Counts the op in this pass and says whether the policy saves it. */
  saves(op: PolicyOp, pass: 'forward' | 'recompute'): boolean {
    const counts = this.counts[pass];
    const count = (counts.get(op) ?? 0) + 1;
    counts.set(op, count);
    return this.policy(op, count);
  }

  /** Forward: the outputs are kept (the cache holds one reference to each). */
  keep(outputs: Tensor[], retain: (storage: Storage) => void): void {
    outputs.forEach((output) => retain(output.storage));
    this.kept.push(outputs);
  }

  /** Recompute: the next kept outputs, whose references move to the recomputed op. */
  take(): Tensor[] | undefined {
    return this.kept.shift();
  }

  /** The region's backward is done: what the recompute did not take back is freed. */
  release(release: (storage: Storage) => void): void {
    for (const outputs of this.kept.splice(0)) outputs.forEach((t) => release(t.storage));
  }
}
