// torchtune's activation offloading (torchtune/training/_activation_offloading.py
// OffloadActivations, with streams): each activation of 1,024 bytes or more that a forward node
// saves (parameters and buffers excepted) is copied to the host; the graph keeps the device
// copy only until 5 later saves (max_fwd_stash_size), then only the host copy. Backward brings
// a tensor back just before its node runs and frees it once the node is done; the last saves of
// the forward are still on the device and are used as they are. The output projection runs
// under NoOpManager: the head and the loss keep their tensors.
import { Runtime, SavedTensorsHooks, Storage } from './autograd/runtime';

// OffloadActivations defaults: min_offload_size and max_fwd_stash_size.
const MIN_OFFLOAD_BYTES = 1024;
const MAX_FORWARD_STASH = 5;

export class ActivationOffloading implements SavedTensorsHooks {
  private stash: Storage[] = [];
  private readonly onHost = new Set<Storage>();

  constructor(private readonly rt: Runtime) {}

  pack(_holder: Storage[], storage: Storage): void {
    if (!this.offloads(storage)) return;
    this.stash.push(storage);
    if (this.stash.length > MAX_FORWARD_STASH) this.toHost(this.stash.shift()!);
  }

  /** Backward needs the holder's tensors: those on the host are copied back; the forward's
   * last stash stays on the device. */
  unpack(holder: Storage[]): void {
    this.stash = [];
    for (const storage of holder) {
      if (!this.onHost.delete(storage)) continue;
      this.rt.restore(storage);
    }
  }

  /** Activations saved in a forward outside the head and loss (recomputation in backward runs
   * under the checkpoint's own hooks). */
  private offloads(storage: Storage): boolean {
    const moments = this.rt.log.moments;
    const moment = moments[moments.length - 1];
    return (
      storage.component === 'activations' &&
      storage.bytes >= MIN_OFFLOAD_BYTES &&
      moment?.phase === 'forward' &&
      moment.what !== 'loss'
    );
  }

  /** The graph's reference now points at the host copy: the device memory goes once nothing
   * else (a Python variable, another saved reference) holds the tensor. Tensors still held
   * elsewhere are left on the device. */
  private toHost(storage: Storage): void {
    if (storage.refs !== 1 || !storage.resident) return;
    this.rt.evict(storage);
    this.onHost.add(storage);
  }
}
