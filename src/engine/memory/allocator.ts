// A simulation of PyTorch 2.x's CUDA caching allocator, rule for rule from
// c10/cuda/CUDACachingAllocator.cpp (DeviceCachingAllocator) with the defaults of
// c10/core/AllocatorConfig.h. Plain arithmetic on byte counts: no I/O, no CUDA.
// Not modelled: roundup_power2_divisions and garbage_collection_threshold (off by default; the
// latter also needs set_per_process_memory_fraction), record_stream's deferred frees (the caller
// frees when the block is truly free), CUDA-graph private pools and free-memory callbacks.

const MiB = 1024 * 1024;

/** CUDACachingAllocator.cpp kMinBlockSize: all sizes are rounded to at least 512 bytes. */
export const MIN_BLOCK_SIZE = 512;
/** CUDACachingAllocator.cpp kSmallSize: the largest "small" allocation is 1 MiB. */
export const SMALL_SIZE = MiB;
/** CUDACachingAllocator.cpp kSmallBuffer: small allocations are packed in 2 MiB segments. */
export const SMALL_BUFFER = 2 * MiB;
/** CUDACachingAllocator.cpp kLargeBuffer: requests of 1-10 MiB share 20 MiB segments. */
export const LARGE_BUFFER = 20 * MiB;
/** CUDACachingAllocator.cpp kMinLargeAlloc: requests from 10 MiB get a segment of their own. */
export const MIN_LARGE_ALLOC = 10 * MiB;
/** CUDACachingAllocator.cpp kRoundLarge: large segments are rounded up to 2 MiB. */
export const ROUND_LARGE = 2 * MiB;
/** AllocatorConfig.h max_non_split_rounding_size_: an oversize block may be 20 MiB too big. */
const MAX_NON_SPLIT_ROUNDING = LARGE_BUFFER;
/** CUDACachingAllocator.cpp ExpandableSegment: address space for 1 1/8 of the device's memory. */
const EXPANDABLE_ADDRESS_SPACE_FRACTION = 9 / 8;
/** Address space of an expandable segment when no capacity is given (16 TiB, never exhausted). */
const UNBOUNDED_ADDRESS_SPACE = 2 ** 44;
/** The largest block id: the timeline's keys are 32-bit (EventLog.key). */
const MAX_ID = 2 ** 31 - 1;
/** Where synthetic cudaMalloc addresses start; any page-aligned value would do. */
const FIRST_SEGMENT_ADDRESS = 2 ** 46;

/** DeviceCachingAllocator::round_size, roundup_power2_divisions off (AllocatorConfig.h default). */
export function roundSize(bytes: number): number {
  if (bytes < MIN_BLOCK_SIZE) return MIN_BLOCK_SIZE;
  return MIN_BLOCK_SIZE * Math.ceil(bytes / MIN_BLOCK_SIZE);
}

/** DeviceCachingAllocator::get_allocation_size: the cudaMalloc size for a rounded request. */
export function allocationSize(roundedBytes: number): number {
  if (roundedBytes <= SMALL_SIZE) return SMALL_BUFFER;
  if (roundedBytes < MIN_LARGE_ALLOC) return LARGE_BUFFER;
  return ROUND_LARGE * Math.ceil(roundedBytes / ROUND_LARGE);
}

export interface AllocatorOptions {
  /** Device memory cudaMalloc may hand out in all (reserved bytes); default unlimited. */
  capacityBytes?: number;
  /** PYTORCH_CUDA_ALLOC_CONF expandable_segments:True. */
  expandableSegments?: boolean;
  /** PYTORCH_CUDA_ALLOC_CONF max_split_size_mb, in bytes; default unlimited. */
  maxSplitSizeBytes?: number;
  /** The address cudaMalloc returns for a new segment (the driver's choice); else synthetic. */
  segmentAddress?: (bytes: number, stream: number) => number | undefined;
  /** Called for every segment mapped or returned, as the allocator's own trace records it. */
  onSegment?: (event: SegmentEvent) => void;
}

/** TraceEntry actions for device memory: cudaMalloc / cudaFree, or expandable-segment pages. */
export interface SegmentEvent {
  action: 'segment_alloc' | 'segment_free' | 'segment_map' | 'segment_unmap';
  address: number;
  bytes: number;
  stream: number;
}

/** A block handed to the caller: where it lies and its bytes (rounded, maybe with slack). */
export interface AllocatedBlock {
  address: number;
  bytes: number;
  stream: number;
}

/** CUDACachingAllocator.cpp malloc: "CUDA out of memory" after every release-and-retry failed. */
export class AllocatorOutOfMemoryError extends Error {
  constructor(
    readonly requestedBytes: number,
    readonly allocationBytes: number,
    readonly reservedBytes: number,
    readonly allocatedBytes: number,
  ) {
    super(
      `CUDA out of memory. Tried to allocate ${allocationBytes} bytes with ${reservedBytes} ` +
        `reserved (${allocatedBytes} allocated)`,
    );
    this.name = 'AllocatorOutOfMemoryError';
  }
}

/** CUDACachingAllocator.cpp ExpandableSegment: one reserved address range mapped page by page. */
interface ExpandableSegment {
  base: number;
  pageBytes: number;
}

/** CUDACachingAllocator.cpp struct Block. A class, not an object literal, so that V8 gives
 * every block one shape (with `live` an array, bench/allocator.bench.ts replays the traces
 * about a fifth faster). */
class Block {
  readonly stream: number;
  allocated = false;
  prev: Block | null = null;
  next: Block | null = null;
  expandable: ExpandableSegment | null = null;
  constructor(
    readonly pool: BlockPool,
    public address: number,
    public size: number,
    /** Block::mapped: false only for the unbacked address space of an expandable segment. */
    public mapped: boolean,
  ) {
    this.stream = pool.stream;
  }
}

/**
 * CUDACachingAllocator.cpp struct BlockPool, one per (pool, stream): the C++ set orders by
 * (stream, size, address) and never looks past its own stream, so a set per stream is the same.
 */
interface BlockPool {
  small: boolean;
  stream: number;
  /** BlockPool::blocks (BlockComparatorSize): free mapped blocks by (size, address). */
  free: Block[];
  /** BlockPool::unmapped (BlockComparatorAddress): unbacked expandable ranges by address. */
  unmapped: Block[];
}

/** First index whose block is not below `key` in (size, address) order: std::set::lower_bound. */
function lowerBound(blocks: Block[], size: number, address: number): number {
  let low = 0;
  let high = blocks.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const block = blocks[middle];
    if (block.size < size || (block.size === size && block.address < address)) low = middle + 1;
    else high = middle;
  }
  return low;
}

// Elements moved by hand up to this many: Array.prototype.splice allocates the array of what it
// removed on every call (empty for an insertion), a third of the replay's garbage. Timed on
// random insert-remove pairs, a loop moving up to 64 references is as fast as splice's memmove
// (29-64 ns a pair at 8 blocks, splice 77-86; both 113-155 at 64) and slower past it.
const MOVED_BY_HAND = 64;

/** blocks.splice(index, 0, block) without splice's garbage array. */
function insertAt(blocks: Block[], index: number, block: Block): void {
  let i = blocks.length;
  if (i - index > MOVED_BY_HAND) return void blocks.splice(index, 0, block);
  blocks.push(block);
  for (; i > index; i--) blocks[i] = blocks[i - 1];
  blocks[index] = block;
}

/** blocks.splice(index, 1) without splice's garbage array. */
function removeAt(blocks: Block[], index: number): void {
  const last = blocks.length - 1;
  if (last - index > MOVED_BY_HAND) return void blocks.splice(index, 1);
  for (let i = index; i < last; i++) blocks[i] = blocks[i + 1];
  blocks.pop();
}

function insertSorted(blocks: Block[], block: Block): void {
  insertAt(blocks, lowerBound(blocks, block.size, block.address), block);
}

function removeSorted(blocks: Block[], block: Block): void {
  const index = lowerBound(blocks, block.size, block.address);
  if (blocks[index] !== block) throw new Error('allocator: block missing from its free set');
  removeAt(blocks, index);
}

function insertByAddress(blocks: Block[], block: Block): void {
  let index = blocks.length;
  while (index > 0 && blocks[index - 1].address > block.address) index--;
  insertAt(blocks, index, block);
}

function removeByAddress(blocks: Block[], block: Block): void {
  const index = blocks.indexOf(block);
  if (index < 0) throw new Error('allocator: block missing from its unmapped set');
  removeAt(blocks, index);
}

/** Block::splice: links `block` between `before` and `after`. */
function splice(block: Block, before: Block | null, after: Block | null): void {
  if (before) before.next = block;
  block.prev = before;
  if (after) after.prev = block;
  block.next = after;
}

/** get_free_block: in an expandable segment a block counts the unmapped space right after it. */
function expandableSize(block: Block): number {
  return block.size + (block.next && !block.next.mapped ? block.next.size : 0);
}

/** find_expandable_block's has_available_address_space: free or unmapped room from `block` on. */
function hasAddressSpace(block: Block | null, size: number): boolean {
  let bytes = 0;
  for (let at = block; bytes < size && at && !at.allocated; at = at.next) bytes += at.size;
  return bytes >= size;
}

/**
 * One device's caching allocator (DeviceCachingAllocator). `malloc` and `free` take the caller's
 * ids for blocks; sizes are the tensor's bytes, rounded here as the allocator rounds them.
 */
export class CachingAllocator {
  private readonly capacity: number;
  private readonly expandable: boolean;
  private readonly maxSplitSize: number;
  private readonly largePools = new Map<number, BlockPool>();
  private readonly smallPools = new Map<number, BlockPool>();
  /** Blocks handed out, indexed by the caller's id: callers number their allocations 0, 1,
   * 2, ... (the timeline's storage keys, a trace's alloc numbers), and an array so indexed is
   * cheaper to update than a Map. */
  private readonly live: (Block | undefined)[] = [];
  private nextSyntheticAddress = FIRST_SEGMENT_ADDRESS;
  private allocated = 0;
  private reserved = 0;
  private peakAllocated = 0;
  private peakReserved = 0;
  private segments = 0;
  private deviceAllocations = 0;
  private allocRetries = 0;

  constructor(private readonly options: AllocatorOptions = {}) {
    this.capacity = options.capacityBytes ?? Infinity;
    this.expandable = options.expandableSegments ?? false;
    // AllocatorConfig.h max_split_size_: SIZE_MAX unless max_split_size_mb is set.
    this.maxSplitSize = options.maxSplitSizeBytes ?? Infinity;
  }

  /** allocated_bytes.all.current: bytes of the blocks handed out (rounded, with unsplit slack). */
  get allocatedBytes(): number {
    return this.allocated;
  }

  /** reserved_bytes.all.current: bytes cudaMalloc'd (or mapped) and not yet returned. */
  get reservedBytes(): number {
    return this.reserved;
  }

  /** torch.cuda.max_memory_allocated(). */
  get peakAllocatedBytes(): number {
    return this.peakAllocated;
  }

  /** torch.cuda.max_memory_reserved(). */
  get peakReservedBytes(): number {
    return this.peakReserved;
  }

  /** Segments now held: cudaMalloc'd ones plus expandable ones (segment.all.current). */
  get segmentCount(): number {
    return this.segments;
  }

  /** num_device_alloc: cudaMalloc calls plus expandable-segment mappings so far. */
  get deviceAllocationCount(): number {
    return this.deviceAllocations;
  }

  /** num_alloc_retries: mallocs that had to free every cached block to get a segment. */
  get allocRetryCount(): number {
    return this.allocRetries;
  }

  /** DeviceCachingAllocator::malloc: a cached block, else a new segment, else free and retry. */
  malloc(id: number, bytes: number, stream = 0): AllocatedBlock {
    const block = this.place(id, bytes, stream);
    return { address: block.address, bytes: block.size, stream };
  }

  /** malloc for a caller that never reads where the block lies: the 405B plan's replays make
   * some 600,000 calls, and the object malloc returns from each would be garbage at once. */
  allocate(id: number, bytes: number, stream = 0): void {
    this.place(id, bytes, stream);
  }

  private place(id: number, bytes: number, stream: number): Block {
    // NativeCachingAllocator::allocate never calls malloc for 0 bytes: no block to simulate.
    if (!(bytes > 0 && Number.isFinite(bytes)))
      throw new RangeError(`allocator: cannot allocate ${bytes} bytes`);
    if (!(Number.isInteger(id) && id >= 0 && id <= MAX_ID))
      throw new RangeError(`allocator: block id ${id} is not an integer from 0 to ${MAX_ID}`);
    if (this.live[id]) throw new Error(`allocator: block ${id} is already allocated`);
    const size = roundSize(bytes);
    const pool = this.poolFor(size, stream);
    const found = this.getFreeBlock(pool, size) ?? this.allocateWithRetries(pool, size, bytes);
    const block = this.allocFoundBlock(found, size);
    while (this.live.length < id) this.live.push(undefined); // a packed array stays fast
    this.live[id] = block;
    return block;
  }

  /** DeviceCachingAllocator::free (no recorded streams, so free_block at once). */
  free(id: number): void {
    const block = this.live[id];
    if (!block) throw new Error(`allocator: block ${id} is not allocated`);
    this.live[id] = undefined;
    block.allocated = false;
    this.allocated -= block.size;
    this.freeBlock(block);
  }

  /** torch.cuda.empty_cache(): DeviceCachingAllocator::emptyCache -> release_cached_blocks. */
  emptyCache(): void {
    this.releaseCachedBlocks();
  }

  /** DeviceCachingAllocator::get_pool: the small pool for <= 1 MiB, per stream. */
  private poolFor(size: number, stream: number): BlockPool {
    const small = size <= SMALL_SIZE;
    const pools = small ? this.smallPools : this.largePools;
    let pool = pools.get(stream);
    if (!pool) {
      pool = { small, stream, free: [], unmapped: [] };
      pools.set(stream, pool);
    }
    return pool;
  }

  /** DeviceCachingAllocator::get_free_block: best fit by (size, address) in the stream's pool. */
  private getFreeBlock(pool: BlockPool, size: number): Block | null {
    const blocks = pool.free;
    let index = lowerBound(blocks, size, 0);
    if (index === blocks.length) return null;
    while (
      blocks[index].expandable &&
      index + 1 < blocks.length &&
      expandableSize(blocks[index + 1]) < expandableSize(blocks[index])
    )
      index++;
    const block = blocks[index];
    // get_free_block: "Do not return an oversized block for a large request"
    if (size < this.maxSplitSize && block.size >= this.maxSplitSize) return null;
    // get_free_block: "Allow oversized block size to be rounded up but within a limit"
    if (size >= this.maxSplitSize && block.size >= size + MAX_NON_SPLIT_ROUNDING) return null;
    removeAt(blocks, index);
    return block;
  }

  /** DeviceCachingAllocator::malloc: alloc_block; free oversize blocks, retry; free all, retry. */
  private allocateWithRetries(pool: BlockPool, size: number, bytes: number): Block {
    let block = this.allocBlock(pool, size);
    if (!block && this.releaseAvailableCachedBlocks(pool, size))
      block = this.allocBlock(pool, size);
    if (!block) {
      this.releaseCachedBlocks();
      this.allocRetries++; // alloc_block(..., isRetry=true) counts stats.num_alloc_retries
      block = this.allocBlock(pool, size);
    }
    if (block) return block;
    throw new AllocatorOutOfMemoryError(bytes, allocationSize(size), this.reserved, this.allocated);
  }

  /** DeviceCachingAllocator::alloc_block: cudaMalloc a new segment (or map expandable pages). */
  private allocBlock(pool: BlockPool, size: number): Block | null {
    if (this.expandable) return this.tryAllocateExpandableBlock(pool, size);
    const bytes = allocationSize(size);
    if (this.reserved + bytes > this.capacity) return null; // cudaMalloc: cudaErrorMemoryAllocation
    const address =
      this.options.segmentAddress?.(bytes, pool.stream) ?? this.syntheticAddress(bytes);
    const block = new Block(pool, address, bytes, true);
    this.segments++;
    this.deviceAllocations++;
    this.addReserved(bytes);
    this.options.onSegment?.({ action: 'segment_alloc', address, bytes, stream: pool.stream });
    return block;
  }

  private syntheticAddress(bytes: number): number {
    const address = this.nextSyntheticAddress;
    this.nextSyntheticAddress += bytes;
    return address;
  }

  private addReserved(bytes: number): void {
    this.reserved += bytes;
    if (this.reserved > this.peakReserved) this.peakReserved = this.reserved;
  }

  /** DeviceCachingAllocator::should_split. */
  private shouldSplit(block: Block, size: number): boolean {
    const remaining = block.size - size;
    if (block.pool.small || this.expandable) return remaining >= MIN_BLOCK_SIZE;
    return size < this.maxSplitSize && remaining > SMALL_SIZE;
  }

  /** DeviceCachingAllocator::alloc_found_block: split off the front if worth it, mark allocated. */
  private allocFoundBlock(found: Block, size: number): Block {
    const block = this.shouldSplit(found, size) ? this.splitFront(found, size) : found;
    block.allocated = true;
    this.allocated += block.size;
    if (this.allocated > this.peakAllocated) this.peakAllocated = this.allocated;
    return block;
  }

  /** alloc_found_block: a new block takes the first `size` bytes; the rest stays in the pool. */
  private splitFront(remaining: Block, size: number): Block {
    const block = new Block(remaining.pool, remaining.address, size, true);
    block.expandable = remaining.expandable;
    splice(block, remaining.prev, remaining);
    remaining.address += size;
    remaining.size -= size;
    insertSorted(remaining.pool.free, remaining);
    return block;
  }

  /** DeviceCachingAllocator::free_block: merge with free neighbours, back into the pool. */
  private freeBlock(block: Block): void {
    const { prev, next } = block;
    this.tryMergeBlocks(block, prev);
    this.tryMergeBlocks(block, next);
    insertSorted(block.pool.free, block);
  }

  /** DeviceCachingAllocator::try_merge_blocks: `dst` absorbs a free neighbour of the same kind. */
  private tryMergeBlocks(dst: Block, src: Block | null): void {
    if (!src || src.allocated || src.mapped !== dst.mapped) return;
    if (dst.prev === src) {
      dst.address = src.address;
      dst.prev = src.prev;
      if (dst.prev) dst.prev.next = dst;
    } else {
      dst.next = src.next;
      if (dst.next) dst.next.prev = dst;
    }
    dst.size += src.size;
    if (src.mapped) removeSorted(dst.pool.free, src);
    else removeByAddress(dst.pool.unmapped, src);
  }

  /**
   * DeviceCachingAllocator::release_available_cached_blocks: with max_split_size set, cudaFree the
   * smallest oversize block that covers the request, else the largest ones until they do.
   */
  private releaseAvailableCachedBlocks(pool: BlockPool, size: number): boolean {
    if (this.maxSplitSize === Infinity) return false; // the C++ returns at once for SIZE_MAX
    const target = Math.max(size, this.maxSplitSize);
    const blocks = pool.free;
    const index = lowerBound(blocks, target, 0);
    if (index < blocks.length) {
      this.releaseBlock(blocks[index]);
      return true;
    }
    let released = 0;
    for (let at = blocks.length - 1; at >= 0 && released < target; at--) {
      if (blocks[at].size < this.maxSplitSize) break;
      released += blocks[at].size;
      this.releaseBlock(blocks[at]);
    }
    return released >= target;
  }

  /** DeviceCachingAllocator::release_cached_blocks: release_blocks on large pools, then small. */
  private releaseCachedBlocks(): void {
    for (const pools of [this.largePools, this.smallPools]) {
      const streams = [...pools.keys()].sort((a, b) => a - b);
      for (const stream of streams) this.releaseBlocks(pools.get(stream)!);
    }
  }

  /** DeviceCachingAllocator::release_blocks: cudaFree whole free segments, unmap free pages. */
  private releaseBlocks(pool: BlockPool): void {
    const toUnmap: Block[] = [];
    for (const block of [...pool.free]) {
      if (block.expandable) toUnmap.push(block);
      else if (!block.prev && !block.next) this.releaseBlock(block);
    }
    for (const block of toUnmap) {
      this.unmapBlock(block);
      if (!block.prev && !block.next) this.releaseExpandableSegment(block);
    }
  }

  /** DeviceCachingAllocator::release_block: cudaFree one whole, free segment. */
  private releaseBlock(block: Block): void {
    removeSorted(block.pool.free, block);
    this.segments--;
    this.reserved -= block.size;
    this.options.onSegment?.({
      action: 'segment_free',
      address: block.address,
      bytes: block.size,
      stream: block.stream,
    });
  }

  /** DeviceCachingAllocator::release_expandable_segment: the whole segment is unmapped. */
  private releaseExpandableSegment(block: Block): void {
    removeByAddress(block.pool.unmapped, block);
    this.segments--;
  }

  /** DeviceCachingAllocator::unmap_block: give back the whole pages inside a free block. */
  private unmapBlock(block: Block): void {
    const { base, pageBytes } = block.expandable!;
    // ExpandableSegment::unmap: segmentRight(ptr) to segmentLeft(ptr + size), whole pages only.
    const start = base + Math.ceil((block.address - base) / pageBytes) * pageBytes;
    const end = base + Math.floor((block.address + block.size - base) / pageBytes) * pageBytes;
    if (start >= end) return;
    removeSorted(block.pool.free, block);
    const before = start - block.address;
    const after = block.address + block.size - end;
    if (before > 0) this.insertFreePiece(block, block.prev, block, block.address, before);
    if (after > 0) this.insertFreePiece(block, block, block.next, end, after);
    block.address = start;
    block.size = end - start;
    block.mapped = false;
    this.tryMergeBlocks(block, block.prev);
    this.tryMergeBlocks(block, block.next);
    insertByAddress(block.pool.unmapped, block);
    this.reserved -= end - start;
    const event = { address: start, bytes: end - start, stream: block.stream };
    this.options.onSegment?.({ action: 'segment_unmap', ...event });
  }

  /** unmap_block's before_free / after_free: a mapped free piece beside the unmapped pages. */
  private insertFreePiece(
    of: Block,
    before: Block | null,
    after: Block | null,
    address: number,
    size: number,
  ): void {
    const piece = new Block(of.pool, address, size, true);
    piece.expandable = of.expandable;
    splice(piece, before, after);
    insertSorted(of.pool.free, piece);
  }

  /** DeviceCachingAllocator::try_allocate_expandable_block: map pages until `size` fits. */
  private tryAllocateExpandableBlock(pool: BlockPool, size: number): Block | null {
    let candidate = this.findExpandableBlock(pool, size);
    if (!candidate.mapped && !this.mapBlock(candidate, Math.min(candidate.size, size))) return null;
    while (candidate.size < size) {
      const next = candidate.next!;
      if (!this.mapBlock(next, Math.min(size - candidate.size, next.size))) return null;
      candidate = next;
    }
    removeSorted(pool.free, candidate);
    return candidate;
  }

  /** DeviceCachingAllocator::find_expandable_block: the lowest address with room for `size`. */
  private findExpandableBlock(pool: BlockPool, size: number): Block {
    for (const unmapped of pool.unmapped) {
      const start = unmapped.prev && !unmapped.prev.allocated ? unmapped.prev : unmapped;
      if (hasAddressSpace(start, size)) return start;
    }
    // find_expandable_block: segment_size = is_small ? kSmallBuffer : kLargeBuffer (page size)
    const pageBytes = pool.small ? SMALL_BUFFER : LARGE_BUFFER;
    const space =
      this.capacity === Infinity
        ? UNBOUNDED_ADDRESS_SPACE
        : Math.ceil((this.capacity * EXPANDABLE_ADDRESS_SPACE_FRACTION) / pageBytes) * pageBytes;
    const block = new Block(pool, this.syntheticAddress(space), space, false);
    block.expandable = { base: block.address, pageBytes };
    insertByAddress(pool.unmapped, block);
    this.segments++;
    return block;
  }

  /** DeviceCachingAllocator::map_block: back the first `size` bytes of `block` with whole pages. */
  private mapBlock(block: Block, size: number): boolean {
    const { pageBytes } = block.expandable!;
    const bytes = Math.ceil(size / pageBytes) * pageBytes; // ExpandableSegment::map: whole pages
    if (this.reserved + bytes > this.capacity) return false; // cuMemCreate: out of memory
    removeByAddress(block.pool.unmapped, block);
    block.mapped = true;
    if (bytes < block.size) {
      const rest = new Block(block.pool, block.address + bytes, block.size - bytes, false);
      rest.expandable = block.expandable;
      splice(rest, block, block.next);
      insertByAddress(block.pool.unmapped, rest);
      block.size = bytes;
    }
    const event = { address: block.address, bytes, stream: block.stream };
    this.tryMergeBlocks(block, block.prev);
    this.tryMergeBlocks(block, block.next);
    insertSorted(block.pool.free, block);
    this.deviceAllocations++;
    this.addReserved(bytes);
    this.options.onSegment?.({ action: 'segment_map', ...event });
    return true;
  }
}
