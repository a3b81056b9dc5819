// Field-level errors and the one exception the engine throws for a request it cannot plan.
/** A field-level complaint about a request; the HTTP layer turns these into a 400. */
export interface FieldError {
  field: string;
  message: string;
}

/** Thrown by the engine when a request is valid in shape but cannot be planned. */
export class PlanValidationError extends Error {
  constructor(public readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
    this.name = 'PlanValidationError';
  }
}

export const ENGINE_VERSION = '1.0.0';
