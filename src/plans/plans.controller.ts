// Saved plans: create, list, read, delete.
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { API_PREFIX } from '../common/configure-app';
import { ListPlansQueryDto } from './dto/list-plans-query.dto';
import { SavePlanDto } from './dto/save-plan.dto';
import { PlansService } from './plans.service';
import { PlanPage, SavedPlan } from './saved-plan';

@ApiTags('plans')
@Controller('plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  @Post()
  @ApiOperation({ summary: 'Compute a plan and save it' })
  @ApiCreatedResponse({ description: 'the saved plan; Location names it' })
  @ApiBadRequestResponse({ description: 'application/problem+json naming each offending field' })
  async save(
    @Body() body: SavePlanDto,
    @Res({ passthrough: true }) response: Response,
  ): Promise<SavedPlan> {
    const saved = await this.plans.save(body);
    response.location(`/${API_PREFIX}/plans/${saved.id}`);
    return saved;
  }

  @Get()
  @ApiOperation({ summary: 'Saved plans, newest first, filtered and paginated' })
  @ApiOkResponse({ description: '{ items, total, limit, offset }' })
  list(@Query() query: ListPlansQueryDto): Promise<PlanPage<SavedPlan>> {
    return this.plans.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One saved plan, exactly as saved' })
  @ApiNotFoundResponse({ description: 'no plan has this id' })
  get(@Param('id') id: string): Promise<SavedPlan> {
    return this.plans.get(id);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete a saved plan' })
  @ApiNoContentResponse({ description: 'deleted' })
  @ApiNotFoundResponse({ description: 'no plan has this id' })
  delete(@Param('id') id: string): Promise<void> {
    return this.plans.delete(id);
  }
}
