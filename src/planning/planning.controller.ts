// POST /plans/estimate, /plans/compare and /plans/search: the application's plans, nothing saved.
import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { comparePlansAhead, Comparison } from '../application/compare';
import { GpusNeededAnswer, gpusNeededAhead } from '../application/gpus-needed';
import { rememberedEstimate } from '../application/remembered-estimate';
import { SearchAnswer, searchPlansAhead } from '../application/search';
import { Catalog } from '../catalog/catalog';
import { PlanResult } from '../engine';
import { CompareRequestDto } from './dto/compare-request.dto';
import { PlanRequestDto } from './dto/plan-request.dto';
import { GpusNeededRequestDto } from './dto/gpus-needed-request.dto';
import { SearchRequestDto } from './dto/search-request.dto';

@ApiTags('plans')
@Controller('plans')
export class PlanningController {
  constructor(private readonly catalog: Catalog) {}

  @Post('estimate')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Compute a plan from a PlanRequest without saving it' })
  @ApiOkResponse({
    description:
      "the PlanResult, with the request echoed with defaults filled in, each rank's 80% range and verdict, and advice when it does not fit or is tight",
  })
  @ApiBadRequestResponse({ description: 'application/problem+json naming each offending field' })
  estimate(@Body() request: PlanRequestDto): PlanResult | Promise<PlanResult> {
    return rememberedEstimate(request, this.catalog);
  }

  @Post('compare')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary:
      'Plan a base request side by side with variants (vary one knob, or labelled overrides)',
  })
  @ApiOkResponse({
    description: '{ rows: [{ label, result | errors }], table: [{ label, per-GPU figures }] }',
  })
  @ApiBadRequestResponse({ description: 'application/problem+json naming each offending field' })
  compare(@Body() body: CompareRequestDto): Promise<Comparison> {
    return comparePlansAhead(body, this.catalog);
  }

  @Post('search')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Search parallel layouts and strategies for a model, GPU type and GPU count or shapes',
  })
  @ApiOkResponse({
    description:
      '{ objective, results: [{ rank, label, request, result, figures }], counts, warnings }',
  })
  @ApiBadRequestResponse({ description: 'application/problem+json naming each offending field' })
  search(@Body() body: SearchRequestDto): Promise<SearchAnswer> {
    return searchPlansAhead(body, this.catalog);
  }

  @Post('gpus-needed')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary:
      'The fewest GPUs of a type on which a layout of the job fits (at the top of its 80% range), and the cheapest cluster',
  })
  @ApiOkResponse({
    description:
      '{ gpu, fewest: { gpus, nodes, gpusPerNode, label, request, figures } | null, cheapest, tried, warnings }',
  })
  @ApiBadRequestResponse({ description: 'application/problem+json naming each offending field' })
  gpusNeeded(@Body() body: GpusNeededRequestDto): Promise<GpusNeededAnswer> {
    return gpusNeededAhead(body, this.catalog);
  }
}
