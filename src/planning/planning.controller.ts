// POST /plans/estimate: a plan computed and returned, nothing saved.
import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PlanResult } from '../engine/types';
import { PlanRequestDto } from './dto/plan-request.dto';
import { PlanningService } from './planning.service';

@ApiTags('plans')
@Controller('plans')
export class PlanningController {
  constructor(private readonly planning: PlanningService) {}

  @Post('estimate')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Compute a plan from a PlanRequest without saving it' })
  @ApiOkResponse({ description: 'the PlanResult, with the request echoed with defaults filled in' })
  @ApiBadRequestResponse({ description: 'application/problem+json naming each offending field' })
  estimate(@Body() request: PlanRequestDto): PlanResult {
    return this.planning.estimate(request);
  }
}
