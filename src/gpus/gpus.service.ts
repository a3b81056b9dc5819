// The GPU catalog as served: each spec plus its memory in GiB for people to read.
import { Injectable, NotFoundException } from '@nestjs/common';
import { Catalog } from '../catalog/catalog';
import { GpuSpec } from '../engine';

const GIB = 1024 ** 3;

export type GpuView = GpuSpec & { memoryGiB: number };

function toGpuView(gpu: GpuSpec): GpuView {
  return { ...gpu, memoryGiB: Math.round((gpu.memoryBytes / GIB) * 100) / 100 };
}

@Injectable()
export class GpusService {
  constructor(private readonly catalog: Catalog) {}

  list(): GpuView[] {
    return this.catalog.gpus().map(toGpuView);
  }

  get(id: string): GpuView {
    const gpu = this.catalog.findGpu(id);
    if (!gpu)
      throw new NotFoundException(`unknown GPU '${id}'; GET /api/v1/gpus lists the catalog`);
    return toGpuView(gpu);
  }
}
