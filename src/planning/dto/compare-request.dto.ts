// POST /plans/compare: a base PlanRequest and either a knob to vary or labelled variants.
import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDefined,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import {
  IsIntegerInRange,
  IsModelReference,
  IsNotNull,
  IsOneOf,
  IsPlainObject,
  IsGpuId,
} from '../../common/validators';
import { MAX_COMPARE_ROWS, REQUEST_LIMITS, VARY_FIELDS, VaryField } from '../../engine';
import { PlanRequestDto } from './plan-request.dto';

/** A cluster override: every field optional, the GPU included. */
export class ClusterOverridesDto {
  @ApiPropertyOptional({ description: 'GPU catalog id', example: 'h100-80gb' })
  @IsGpuId('a100-80gb', true)
  gpu?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: REQUEST_LIMITS.nodes.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.nodes)
  nodes?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: REQUEST_LIMITS.gpusPerNode.max })
  @IsOptional()
  @IsIntegerInRange(REQUEST_LIMITS.gpusPerNode)
  gpusPerNode?: number;
}

/** A partial PlanRequest: the same fields and rules, none required. */
export class PlanOverridesDto extends OmitType(PlanRequestDto, ['model', 'cluster']) {
  @ApiPropertyOptional({ description: 'a catalog id or an inline config.json object' })
  @IsOptional()
  @IsModelReference()
  model?: string | Record<string, unknown>;

  @ApiPropertyOptional({ type: ClusterOverridesDto })
  @IsOptional()
  @IsPlainObject()
  @ValidateNested()
  @Type(() => ClusterOverridesDto)
  cluster?: ClusterOverridesDto;
}

export class CompareVariantDto {
  @ApiProperty({ example: 'ZeRO-3, full recompute', maxLength: 100 })
  @IsDefined({ message: 'label is required: the name of the row, e.g. "ZeRO-3"' })
  @IsString({ message: 'label must be a string' })
  @MinLength(1, { message: 'label must not be empty' })
  @MaxLength(100, { message: 'label must be at most 100 characters' })
  label: string;

  @ApiProperty({
    type: PlanOverridesDto,
    description: 'a partial PlanRequest merged into the base (objects merge, values replace)',
  })
  @IsDefined({ message: 'overrides is required, e.g. { "parallelism": { "zeroStage": 3 } }' })
  @IsPlainObject()
  @ValidateNested()
  @Type(() => PlanOverridesDto)
  overrides: PlanOverridesDto;
}

export class CompareRequestDto {
  @ApiProperty({ type: PlanRequestDto, description: 'the request every row starts from' })
  @IsDefined({ message: 'base is required: a PlanRequest every row starts from' })
  @IsPlainObject()
  @ValidateNested()
  @Type(() => PlanRequestDto)
  base: PlanRequestDto;

  @ApiPropertyOptional({
    enum: VARY_FIELDS,
    description: 'one knob over its usual values (zeroStage: 0, 1, 2, 3), or over `values`',
  })
  @IsOptional()
  @IsOneOf(VARY_FIELDS)
  vary?: VaryField;

  @ApiPropertyOptional({
    description: 'the values of `vary` to plan, e.g. [1, 2, 4]',
    type: 'array',
    items: {},
  })
  @IsOptional()
  @IsArray({ message: 'values must be a list, e.g. [1, 2, 4]' })
  @IsNotNull({ each: true, message: 'values must not hold null: list the values to plan' })
  @ArrayMinSize(1, { message: 'values must list at least one value' })
  @ArrayMaxSize(MAX_COMPARE_ROWS, { message: `values may list at most ${MAX_COMPARE_ROWS} values` })
  values?: unknown[];

  @ApiPropertyOptional({ type: [CompareVariantDto] })
  @IsOptional()
  @IsArray({ message: 'variants must be a list of { label, overrides }' })
  @IsPlainObject({ each: true, message: 'each of variants must be an object { label, overrides }' })
  @ArrayMinSize(1, { message: 'variants must list at least one { label, overrides }' })
  @ArrayMaxSize(MAX_COMPARE_ROWS, {
    message: `variants may list at most ${MAX_COMPARE_ROWS} rows`,
  })
  @ValidateNested({ each: true })
  @Type(() => CompareVariantDto)
  variants?: CompareVariantDto[];
}
