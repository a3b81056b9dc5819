// The API's door to the engine: requests in, PlanResults out; nothing is saved here.
import { Injectable } from '@nestjs/common';
import { Catalog } from '../catalog/catalog';
import { estimatePlan } from '../engine/plan';
import type { PlanRequestInput } from '../engine/request';
import { PlanResult } from '../engine/types';

@Injectable()
export class PlanningService {
  constructor(private readonly catalog: Catalog) {}

  /** One plan for one request; throws PlanValidationError when it cannot be planned. */
  estimate(input: PlanRequestInput): PlanResult {
    return estimatePlan(input, this.catalog);
  }
}
