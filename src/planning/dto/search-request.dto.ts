// POST /plans/search: a model, training settings, a GPU type and a GPU count or cluster shapes.
import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsOptional,
  Max,
  ValidateBy,
  ValidateNested,
  ValidationArguments,
} from 'class-validator';
import {
  IsIntegerInRange,
  IsOneOf,
  IsPlainObject,
  IsPositiveInteger,
  IsTrueOrFalse,
  IsGpuId,
} from '../../common/validators';
import {
  MAX_GPUS,
  MAX_SEARCH_MICRO_BATCH,
  NodeChoice,
  REQUEST_LIMITS,
  SEARCH_OBJECTIVES,
  SearchObjective,
} from '../../engine';
import { ParallelismDto, PlanRequestDto } from './plan-request.dto';

/** Ranked layouts one search may return. */
export const MAX_SEARCH_TOP = 100;

/** A node count: from 1 to the most GPUs a plan may have (one GPU a node). */
function isWholeNumber(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= MAX_GPUS;
}

/** A node count, a list of them, or an inclusive range { min, max }. */
function IsNodeChoice(): PropertyDecorator {
  return ValidateBy({
    name: 'isNodeChoice',
    validator: {
      validate: (value: unknown) => {
        if (isWholeNumber(value)) return true;
        if (Array.isArray(value)) return value.length > 0 && value.every(isWholeNumber);
        if (typeof value !== 'object' || value === null) return false;
        const keys = Object.keys(value).sort().join(',');
        const range = value as { min?: unknown; max?: unknown };
        return keys === 'max,min' && isWholeNumber(range.min) && isWholeNumber(range.max);
      },
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property} must be a node count (4), a list of counts ([2, 4, 8]) or a range ({ "min": 1, "max": 16 }) of counts from 1 to ${MAX_GPUS}`,
    },
  });
}

export class SearchClusterDto {
  @ApiProperty({ description: 'GPU catalog id (GET /api/v1/gpus)', example: 'h100-80gb' })
  @IsGpuId('h100-80gb')
  gpu: string;

  @ApiPropertyOptional({
    description: 'total GPUs, in nodes of gpusPerNode',
    example: 64,
    minimum: 1,
    maximum: MAX_GPUS,
  })
  @IsOptional()
  @IsIntegerInRange({ min: 1, max: MAX_GPUS, example: 64 })
  gpus?: number;

  @ApiPropertyOptional({
    description: 'node counts to try instead of gpus: a count, a list, or { min, max }',
    oneOf: [
      { type: 'integer', example: 8 },
      { type: 'array', items: { type: 'integer' } },
      { type: 'object', properties: { min: { type: 'integer' }, max: { type: 'integer' } } },
    ],
  })
  @IsOptional()
  @IsNodeChoice()
  nodes?: NodeChoice;

  @ApiPropertyOptional({
    description: 'default 8 (or gpus when fewer)',
    example: 8,
    minimum: REQUEST_LIMITS.gpusPerNode.min,
    maximum: REQUEST_LIMITS.gpusPerNode.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.gpusPerNode)
  gpusPerNode?: number;
}

/** The search itself: what a PlanRequest holds minus what the search chooses, plus its knobs. */
export class SearchRequestDto extends PickType(PlanRequestDto, [
  'workload',
  'model',
  'training',
  'runtime',
]) {
  @ApiProperty({ type: SearchClusterDto })
  @IsDefined({ message: 'cluster is required, e.g. { "gpu": "h100-80gb", "gpus": 64 }' })
  @IsPlainObject()
  @ValidateNested()
  @Type(() => SearchClusterDto)
  cluster: SearchClusterDto;

  @ApiPropertyOptional({
    type: ParallelismDto,
    description:
      'kept as given: sequenceParallel, pipelineSchedule, virtualStages; the degrees, ZeRO stage and offload are searched',
  })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => ParallelismDto)
  parallelism?: ParallelismDto;

  @ApiPropertyOptional({ enum: SEARCH_OBJECTIVES, default: 'throughput' })
  @IsOptional()
  @IsOneOf(SEARCH_OBJECTIVES)
  objective?: SearchObjective;

  @ApiPropertyOptional({ default: 10, minimum: 1, maximum: MAX_SEARCH_TOP })
  @IsOptional()
  @IsPositiveInteger(10)
  @Max(MAX_SEARCH_TOP, { message: `top must be at most ${MAX_SEARCH_TOP}` })
  top?: number;

  @ApiPropertyOptional({
    description: 'sequences per optimizer step; fixes gradient accumulation',
    minimum: REQUEST_LIMITS.globalBatchSize.min,
    maximum: REQUEST_LIMITS.globalBatchSize.max,
  })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.globalBatchSize)
  globalBatchSize?: number;

  @ApiPropertyOptional({
    default: 8,
    description: 'largest micro-batch tried (powers of two)',
    minimum: 1,
    maximum: MAX_SEARCH_MICRO_BATCH,
  })
  @IsOptional()
  @IsIntegerInRange({ min: 1, max: MAX_SEARCH_MICRO_BATCH, example: 8 })
  maxMicroBatchSize?: number;

  @ApiPropertyOptional({ default: false, description: 'also try the optimizer offloaded to CPU' })
  @IsOptional()
  @IsTrueOrFalse()
  allowOffload?: boolean;

  @ApiPropertyOptional({
    default: false,
    description:
      'bound every layout and skip none by the pruning rules; the finalists are still the only layouts planned on the full timeline (counts.boundEvaluated, counts.planned)',
  })
  @IsOptional()
  @IsTrueOrFalse()
  exhaustive?: boolean;
}
