// Saved plans: create, list, export, read, relabel, re-evaluate, delete.
import {
  Body,
  Controller,
  Delete,
  Get,
  Inject,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
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
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { savePlan } from '../application/save';
import { Catalog } from '../catalog/catalog';
import { ChangesData } from '../common/api-key.guard';
import { API_PREFIX } from '../common/configure-app';
import { ListPlansQueryDto, PlanCriteriaQueryDto } from './dto/list-plans-query.dto';
import { SavePlanDto } from './dto/save-plan.dto';
import { UpdatePlanDto } from './dto/update-plan.dto';
import { PLANS_REPOSITORY, PlansRepository } from './plans.repository';
import { PlansService, Reevaluation } from './plans.service';
import { PlanFigures, PlanPage, SavedPlan } from './saved-plan';

@ApiTags('plans')
@Controller('plans')
export class PlansController {
  constructor(
    private readonly plans: PlansService,
    private readonly catalog: Catalog,
    @Inject(PLANS_REPOSITORY) private readonly repository: PlansRepository,
  ) {}

  @Post()
  @ChangesData()
  @ApiOperation({ summary: 'Compute a plan and save it' })
  @ApiCreatedResponse({ description: 'the saved plan; Location names it' })
  @ApiBadRequestResponse({ description: 'application/problem+json naming each offending field' })
  async save(
    @Body() body: SavePlanDto,
    @Res({ passthrough: true }) response: Response,
  ): Promise<SavedPlan> {
    const saved = await savePlan(body, this.catalog, this.repository);
    response.location(`/${API_PREFIX}/plans/${saved.id}`);
    return saved;
  }

  @Get()
  @ApiOperation({ summary: 'Saved plans, newest first, filtered, a page by cursor or offset' })
  @ApiOkResponse({ description: '{ items, total, limit, offset | cursor, nextCursor }' })
  list(@Query() query: ListPlansQueryDto): Promise<PlanPage<SavedPlan>> {
    return this.plans.list(query);
  }

  // Declared before ':id' so these names are not read as plan ids.
  @Get('summary')
  @ApiOperation({ summary: 'Counts and totals over the saved plans the filters select' })
  @ApiOkResponse({
    description: '{ tag?, plans, fitting, notFitting, budgeted, gpuHours, totalUsd }',
  })
  summary(@Query() query: PlanCriteriaQueryDto): Promise<{ tag?: string } & PlanFigures> {
    return this.plans.summary(query);
  }

  @Get('export.csv')
  @ApiOperation({ summary: 'The saved plans the filters select, as CSV, streamed' })
  @ApiProduces('text/csv')
  async exportCsv(@Query() query: PlanCriteriaQueryDto, @Res() response: Response): Promise<void> {
    response.setHeader('Content-Type', 'text/csv; charset=utf-8');
    response.setHeader('Content-Disposition', 'attachment; filename="shardplan-plans.csv"');
    // A failure after the first batch can only cut the stream short: the status is already sent.
    await pipeline(Readable.from(this.plans.csvRecords(query)), response);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One saved plan, exactly as saved' })
  @ApiNotFoundResponse({ description: 'no plan has this id' })
  get(@Param('id') id: string): Promise<SavedPlan> {
    return this.plans.get(id);
  }

  @Patch(':id')
  @ChangesData()
  @ApiOperation({ summary: 'Change the name, tags or notes of a saved plan (never its figures)' })
  @ApiOkResponse({ description: 'the saved plan with its new labels' })
  @ApiBadRequestResponse({ description: 'a field other than name, tags or notes, or a bad value' })
  @ApiNotFoundResponse({ description: 'no plan has this id' })
  update(@Param('id') id: string, @Body() body: UpdatePlanDto): Promise<SavedPlan> {
    return this.plans.update(id, body);
  }

  @Post(':id/reevaluate')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Plan a saved request with the current engine, next to the saved figures',
  })
  @ApiOkResponse({
    description: '{ id, engineVersion: { saved, current }, saved, current, differences }',
  })
  @ApiNotFoundResponse({ description: 'no plan has this id' })
  reevaluate(@Param('id') id: string): Promise<Reevaluation> {
    return this.plans.reevaluate(id);
  }

  @Delete(':id')
  @ChangesData()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete a saved plan' })
  @ApiNoContentResponse({ description: 'deleted' })
  @ApiNotFoundResponse({ description: 'no plan has this id' })
  delete(@Param('id') id: string): Promise<void> {
    return this.plans.delete(id);
  }
}
