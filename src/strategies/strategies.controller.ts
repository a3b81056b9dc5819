// GET /strategies: what the planner knows how to model, with constraints users can check.
import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { STRATEGIES, Strategy } from './strategies';

@ApiTags('strategies')
@Controller('strategies')
export class StrategiesController {
  @Get()
  @ApiOperation({ summary: 'Every strategy the planner models: what it shards, saves and costs' })
  list(): Strategy[] {
    return STRATEGIES;
  }
}
