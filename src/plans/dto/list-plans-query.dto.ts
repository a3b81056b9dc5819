// GET /plans query: exact filters and offset pagination, newest first.
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Max } from 'class-validator';
import { IsNonNegativeInteger, IsPositiveInteger, IsTrueOrFalse } from '../../common/validators';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Query strings arrive as text: numerals become numbers, anything else stays for the message. */
function numeral({ value }: { value: unknown }): unknown {
  return typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

function flag({ value }: { value: unknown }): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

/** Which saved plans: used by the list, the summary and the CSV export. */
export class PlanCriteriaQueryDto {
  @ApiPropertyOptional({ description: 'plans carrying exactly this tag' })
  @IsOptional()
  @IsString({ message: 'tag must be given once, as text' })
  tag?: string;

  @ApiPropertyOptional({ description: 'model catalog id or alias', example: 'llama-3-8b' })
  @IsOptional()
  @IsString({ message: 'model must be given once, as text' })
  model?: string;

  @ApiPropertyOptional({ description: 'GPU catalog id', example: 'a100-80gb' })
  @IsOptional()
  @IsString({ message: 'gpu must be given once, as text' })
  gpu?: string;

  @ApiPropertyOptional({ description: 'true: plans that fit; false: plans that do not' })
  @IsOptional()
  @Transform(flag)
  @IsTrueOrFalse()
  fits?: boolean;
}

export class ListPlansQueryDto extends PlanCriteriaQueryDto {
  @ApiPropertyOptional({ default: DEFAULT_PAGE_SIZE, minimum: 1, maximum: MAX_PAGE_SIZE })
  @IsOptional()
  @Transform(numeral)
  @IsPositiveInteger(DEFAULT_PAGE_SIZE)
  @Max(MAX_PAGE_SIZE, { message: `limit must be at most ${MAX_PAGE_SIZE}` })
  limit?: number;

  @ApiPropertyOptional({ default: 0, minimum: 0 })
  @IsOptional()
  @Transform(numeral)
  @IsNonNegativeInteger(0)
  offset?: number;
}
