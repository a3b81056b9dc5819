// The API's door to the engine: requests in, PlanResults out; nothing is saved here.
import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { Catalog, resolveGpu, resolveModel } from '../catalog/catalog';
import { flattenValidationErrors, VALIDATION_PIPE_OPTIONS } from '../common/validation';
import { CompareEntry, compareVariants, CompareRow } from '../engine';
import { estimatePlan } from '../application/estimate';
import type { PlanRequestInput } from '../engine';
import { SearchInput, searchLayouts, SearchResult } from '../engine';
import { PlanResult, PlanValidationError } from '../engine';
import { CompareRequestDto } from './dto/compare-request.dto';
import { PlanRequestDto } from './dto/plan-request.dto';
import { SearchRequestDto } from './dto/search-request.dto';

/** Parallel settings the search keeps as given; the rest it chooses itself. */
const KEPT_PARALLELISM = ['sequenceParallel', 'pipelineSchedule', 'virtualStages'] as const;

@Injectable()
export class PlanningService {
  constructor(private readonly catalog: Catalog) {}

  /** One plan for one request; throws PlanValidationError when it cannot be planned. */
  estimate(input: PlanRequestInput): PlanResult {
    return estimatePlan(input, this.catalog);
  }

  /** Every variant of the base planned; a variant that cannot be planned keeps its errors. */
  compare(body: CompareRequestDto): { rows: CompareEntry[]; table: CompareRow[] } {
    const { base, vary, values, variants } = body;
    // An unknown base model fails the whole comparison (400) rather than every row alike.
    const shape = resolveModel(this.catalog, base.model);
    return compareVariants(base, { vary, values, variants }, (input) => this.checked(input), shape);
  }

  /** Ranked layouts that fit; settings the search chooses itself are named in `warnings`. */
  search(body: SearchRequestDto): SearchResult & { warnings: string[] } {
    const { workload, parallelism, ...rest } = body;
    if (workload === 'inference') {
      throw new PlanValidationError([
        {
          field: 'workload',
          message: "search plans training layouts; leave workload out or use 'training'",
        },
      ]);
    }
    const warnings = this.searchedSettings(body).map(
      (field) => `${field} is chosen by the search; the value given was not used`,
    );
    const kept = Object.fromEntries(
      KEPT_PARALLELISM.filter((key) => parallelism?.[key] !== undefined).map((key) => [
        key,
        parallelism?.[key],
      ]),
    );
    const input: SearchInput = {
      ...rest,
      ...(Object.keys(kept).length > 0 ? { parallelism: kept } : {}),
    };
    const context = {
      arch: resolveModel(this.catalog, body.model),
      gpu: resolveGpu(this.catalog, body.cluster.gpu),
    };
    const found = searchLayouts(input, (request) => this.estimate(request), context);
    return { ...found, warnings };
  }

  /** Fields of a search body that the search overrides. */
  private searchedSettings(body: SearchRequestDto): string[] {
    // DTO instances carry every declared field, so only fields with a value count as given.
    const parallelism = Object.entries(body.parallelism ?? {})
      .filter(
        ([key, value]) =>
          value !== undefined && !(KEPT_PARALLELISM as readonly string[]).includes(key),
      )
      .map(([key]) => `parallelism.${key}`);
    const training = ['microBatchSize', 'activationCheckpointing']
      .concat(body.globalBatchSize !== undefined ? ['gradientAccumulationSteps'] : [])
      .filter((key) => (body.training as Record<string, unknown> | undefined)?.[key] !== undefined)
      .map((key) => `training.${key}`);
    return [...parallelism, ...training];
  }

  /** A merged variant is checked by the same DTO rules as a request body before it is planned. */
  private checked(input: PlanRequestInput): PlanResult {
    const errors = flattenValidationErrors(
      validateSync(plainToInstance(PlanRequestDto, input), {
        whitelist: VALIDATION_PIPE_OPTIONS.whitelist,
        forbidNonWhitelisted: VALIDATION_PIPE_OPTIONS.forbidNonWhitelisted,
        forbidUnknownValues: VALIDATION_PIPE_OPTIONS.forbidUnknownValues,
      }),
    );
    if (errors.length > 0) throw new PlanValidationError(errors);
    return this.estimate(input);
  }
}
