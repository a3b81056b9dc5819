// POST /plans/gpus-needed: a job (model, training, runtime) and a GPU type; the answer is how many.
import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsOptional, Max, ValidateNested } from 'class-validator';
import {
  IsIntegerInRange,
  IsPlainObject,
  IsPositiveInteger,
  IsGpuId,
} from '../../common/validators';
import { REQUEST_LIMITS } from '../../engine';
import { DEFAULT_MAX_GPUS, DEFAULT_NODE_SIZE } from '../../application/gpus-needed';
import { SearchRequestDto } from './search-request.dto';

/** Largest cluster one question may search: 512 nodes of 8. */
export const MAX_GPUS_NEEDED = 4096;

export class GpusNeededClusterDto {
  @ApiProperty({ description: 'GPU catalog id (GET /api/v1/gpus)', example: 'l40s' })
  @IsGpuId('h100-80gb')
  gpu: string;

  @ApiPropertyOptional({
    description: 'GPUs in a node; clusters of up to a node try 1, 2, 4, ... GPUs',
    default: DEFAULT_NODE_SIZE,
    minimum: REQUEST_LIMITS.gpusPerNode.min,
    maximum: REQUEST_LIMITS.gpusPerNode.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.gpusPerNode)
  gpusPerNode?: number;

  @ApiPropertyOptional({
    description: 'largest cluster to try, in GPUs',
    default: DEFAULT_MAX_GPUS,
    maximum: MAX_GPUS_NEEDED,
  })
  @IsOptional()
  @IsPositiveInteger(1024)
  @Max(MAX_GPUS_NEEDED, { message: `maxGpus must be at most ${MAX_GPUS_NEEDED}` })
  maxGpus?: number;
}

/** The job as a search takes it, with a GPU type for the cluster instead of a count. */
export class GpusNeededRequestDto extends PickType(SearchRequestDto, [
  'workload',
  'model',
  'training',
  'runtime',
  'parallelism',
  'globalBatchSize',
  'maxMicroBatchSize',
  'allowOffload',
]) {
  @ApiProperty({ type: GpusNeededClusterDto })
  @IsDefined({ message: 'cluster is required, e.g. { "gpu": "l40s" }' })
  @IsPlainObject()
  @ValidateNested()
  @Type(() => GpusNeededClusterDto)
  cluster: GpusNeededClusterDto;
}
