// PATCH /plans/:id: the labels of a saved plan; its request and figures never change.
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { IsLabelList } from '../../common/validators';

/** Fields left out stay as they are; `notes: null` clears the notes. */
export class UpdatePlanDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @ValidateIf((_, value) => value !== undefined)
  @IsString({ message: 'name must be a string' })
  @MinLength(1, { message: 'name must not be empty' })
  @MaxLength(200, { message: 'name must be at most 200 characters' })
  name?: string;

  @ApiPropertyOptional({ type: [String], example: ['budget-q3'] })
  @ValidateIf((_, value) => value !== undefined)
  @IsLabelList(32, 64)
  tags?: string[];

  @ApiPropertyOptional({
    description: 'free text; null clears it',
    maxLength: 4000,
    nullable: true,
  })
  @IsOptional()
  @IsString({ message: 'notes must be a string, or null to clear them' })
  @MaxLength(4000, { message: 'notes must be at most 4000 characters' })
  notes?: string | null;
}
