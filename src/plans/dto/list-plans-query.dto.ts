// GET /plans query: exact filters, then a page by cursor (keyset) or by offset, newest first.
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Max, MaxLength, ValidateBy, ValidateIf } from 'class-validator';
import { IsNonNegativeInteger, IsPositiveInteger, IsTrueOrFalse } from '../../common/validators';
import { decodeCursor } from '../plan-cursor';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** Filters are catalog ids and labels; nothing longer than a model id (100) or name is stored. */
const MAX_FILTER_LENGTH = 200;

/** Query strings arrive as text: numerals become numbers, anything else stays for the message. */
function numeral({ value }: { value: unknown }): unknown {
  return typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

function flag({ value }: { value: unknown }): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

/** A cursor this API handed out as `nextCursor`. */
function IsPlanCursor(): PropertyDecorator {
  return ValidateBy({
    name: 'isPlanCursor',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && decodeCursor(value) !== null,
      defaultMessage: () =>
        'cursor must be the nextCursor of a previous page, given once and unchanged',
    },
  });
}

/** Which saved plans: used by the list, the summary and the CSV export. */
export class PlanCriteriaQueryDto {
  @ApiPropertyOptional({ description: 'plans carrying exactly this tag' })
  @IsOptional()
  @IsString({ message: 'tag must be given once, as text' })
  @MaxLength(MAX_FILTER_LENGTH, { message: `tag must be at most ${MAX_FILTER_LENGTH} characters` })
  tag?: string;

  @ApiPropertyOptional({ description: 'model catalog id or alias', example: 'llama-3-8b' })
  @IsOptional()
  @IsString({ message: 'model must be given once, as text' })
  @MaxLength(MAX_FILTER_LENGTH, {
    message: `model must be at most ${MAX_FILTER_LENGTH} characters`,
  })
  model?: string;

  @ApiPropertyOptional({ description: 'GPU catalog id', example: 'a100-80gb' })
  @IsOptional()
  @IsString({ message: 'gpu must be given once, as text' })
  @MaxLength(MAX_FILTER_LENGTH, { message: `gpu must be at most ${MAX_FILTER_LENGTH} characters` })
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

  @ApiPropertyOptional({
    default: 0,
    minimum: 0,
    description: 'plans to skip; for deep pages prefer cursor',
  })
  @IsOptional()
  @Transform(numeral)
  @IsNonNegativeInteger(0)
  offset?: number;

  @ApiPropertyOptional({
    description: "the previous page's nextCursor: the page after it, as fast on page 1,000",
  })
  @ValidateIf((query: ListPlansQueryDto) => query.cursor !== undefined)
  @IsPlanCursor()
  @ValidateBy({
    name: 'cursorOrOffset',
    validator: {
      validate: (_: unknown, args) => (args?.object as ListPlansQueryDto).offset === undefined,
      defaultMessage: () => 'give cursor or offset, not both',
    },
  })
  cursor?: string;
}
