// POST /plans: a PlanRequest plus free-text notes kept with the saved plan.
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { PlanRequestDto } from '../../planning/dto/plan-request.dto';

export class SavePlanDto extends PlanRequestDto {
  @ApiPropertyOptional({ description: 'free text kept with the saved plan', maxLength: 4000 })
  @IsOptional()
  @IsString({ message: 'notes must be a string' })
  @MaxLength(4000, { message: 'notes must be at most 4000 characters' })
  notes?: string;
}
