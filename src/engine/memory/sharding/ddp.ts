// DistributedDataParallel as it moves memory (torch/nn/parallel/distributed.py, reducer.cpp):
// at construction the parameters are broadcast through 250 MB flat buffers and the reducer
// makes one flat bucket holding a copy of every gradient; after the first step it rebuilds its
// buckets in the order the gradients became ready, capped at 25 MiB (the first at 1 MiB).
// With gradient_as_bucket_view=False (the default) the buckets are a second copy of the
// gradients, alive for the whole run.
import { ModuleHooks, ModuleName } from '../autograd/hooks';
import { Param, Runtime, Storage } from '../autograd/runtime';

const MIB = 2 ** 20;
// distributed.py _sync_module_states: broadcast_bucket_size = 250 MB.
const BROADCAST_BUCKET = 250 * 2 ** 20;
// dist._DEFAULT_FIRST_BUCKET_BYTES and bucket_cap_mb's default.
const FIRST_BUCKET = 1 * MIB;
const BUCKET_CAP = 25 * MIB;

export class Ddp implements ModuleHooks {
  private buckets: Storage[] = [];
  private readonly ready: Param[] = [];
  private rebuilt = false;

  constructor(
    private readonly rt: Runtime,
    private readonly params: Param[],
    private readonly step: () => number,
  ) {
    for (const param of params) param.afterGradient = (p) => this.gradientReady(p);
  }

  /** Construction: the broadcast's flat buffers (two alive at a time), then one bucket of all
   * gradients (the first iteration's bucket_size_limits = [sys.maxsize]). */
  build(): void {
    let previous: Storage | undefined;
    for (const group of groupsBySize(this.params, BROADCAST_BUCKET, BROADCAST_BUCKET)) {
      if (group.length === 1) continue; // a tensor alone is broadcast as it is, no flat copy
      const flat = this.rt.allocate(bytesOf(group), 'buffers');
      this.rt.release(previous);
      previous = flat;
    }
    this.rt.release(previous);
    this.buckets = [this.rt.allocate(bytesOf(this.params), 'buffers')];
  }

  private gradientReady(param: Param): void {
    if (this.step() === 1 && !this.ready.includes(param)) this.ready.push(param);
  }

  /** _rebuild_buckets in the second iteration's pre-forward. */
  beforeForward(module: ModuleName): void {
    if (module !== 'root' || this.rebuilt || this.step() < 2) return;
    this.rebuilt = true;
    // reducer.cpp rebuild_buckets runs once: should_rebuild_buckets() needs !has_rebuilt_bucket_.
    this.rt.onceInRun(() => {
      this.buckets.forEach((bucket) => this.rt.release(bucket));
      const order = [...this.ready, ...this.params.filter((p) => !this.ready.includes(p))];
      this.buckets = groupsBySize(order, FIRST_BUCKET, BUCKET_CAP).map((group) =>
        this.rt.allocate(bytesOf(group), 'buffers'),
      );
    });
  }
}

function bytesOf(params: Param[]): number {
  return params.reduce((sum, p) => sum + p.elements * p.gradientBytes, 0);
}

/** Consecutive groups, each closed once it reaches its cap (the first cap for the first). */
function groupsBySize(params: Param[], firstCap: number, cap: number): Param[][] {
  const groups: Param[][] = [];
  let group: Param[] = [];
  for (const param of params) {
    group.push(param);
    if (bytesOf(group) >= (groups.length === 0 ? firstCap : cap)) {
      groups.push(group);
      group = [];
    }
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
