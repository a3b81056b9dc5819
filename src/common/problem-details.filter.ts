// Every error leaves the API as application/problem+json (RFC 9457) with a list of field errors.
import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { FieldError, PlanValidationError } from '../engine';
import { UnstorablePlanError } from '../plans/storable-figures';
import { RequestValidationException } from './validation';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The body of every error response. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors: FieldError[];
}

const PROBLEM_TYPE_BASE = 'urn:shardplan:problem:';

/** The body could not be parsed as JSON (raised by configureApp's parser hook). */
export class MalformedJsonException extends BadRequestException {
  constructor(parserMessage: string) {
    super(`the body is not valid JSON: ${parserMessage}`);
  }
}

/** A body nesting deeper than the API reads: refused before validation recurses through it. */
export class TooDeepJsonException extends BadRequestException {
  constructor(limit: number) {
    super(`the body nests deeper than ${limit} levels of objects and lists; no request needs more`);
  }
}

/** A body sent under another content type than JSON (a form, plain text): 415. */
export class NotJsonBodyException extends UnsupportedMediaTypeException {
  constructor(contentType: string | undefined) {
    super(
      `send the body as JSON with the header 'content-type: application/json' (got ${contentType ? `'${contentType}'` : 'no content type'})`,
    );
  }
}

/** Errors of Express's body parser (http-errors): a 4xx status with a message written for
 * clients (`expose`), such as 'unsupported charset "LATIN1"' or 'request entity too large'. */
interface ClientHttpError {
  status: number;
  expose: true;
  message: string;
}

function isClientHttpError(exception: unknown): exception is ClientHttpError {
  const candidate = exception as Partial<ClientHttpError> | null;
  return (
    candidate?.expose === true &&
    typeof candidate.status === 'number' &&
    candidate.status >= 400 &&
    candidate.status < 500 &&
    typeof candidate.message === 'string'
  );
}

function slug(status: number): string {
  return (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

function problem(
  status: number,
  detail: string,
  errors: FieldError[],
  type?: string,
): ProblemDetails {
  return {
    type: PROBLEM_TYPE_BASE + (type ?? slug(status)),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    errors,
  };
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemDetailsFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const request = context.getRequest<Request>();
    const response = context.getResponse<Response>();
    const body = { ...this.toProblem(exception, request), instance: request.originalUrl };
    // A stream that failed midway has sent its status already: cutting it short is all left.
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.status(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
  }

  private toProblem(exception: unknown, request: Request): ProblemDetails {
    if (exception instanceof RequestValidationException) {
      return problem(
        HttpStatus.BAD_REQUEST,
        'The request does not have the expected shape; see errors for each field.',
        exception.errors,
        'invalid-request',
      );
    }
    if (exception instanceof PlanValidationError) {
      return problem(
        HttpStatus.BAD_REQUEST,
        'The request cannot be planned as given; see errors for each field.',
        exception.errors,
        'invalid-request',
      );
    }
    if (exception instanceof MalformedJsonException || exception instanceof TooDeepJsonException) {
      const { message } = exception;
      return problem(
        HttpStatus.BAD_REQUEST,
        message,
        [{ field: 'body', message }],
        exception instanceof TooDeepJsonException ? 'too-deep-json' : 'malformed-json',
      );
    }
    if (exception instanceof NotJsonBodyException) {
      const { message } = exception;
      return problem(HttpStatus.UNSUPPORTED_MEDIA_TYPE, message, [{ field: 'body', message }]);
    }
    if (exception instanceof UnstorablePlanError) {
      return problem(HttpStatus.UNPROCESSABLE_ENTITY, exception.message, exception.errors);
    }
    if (isClientHttpError(exception)) {
      return problem(exception.status, exception.message, []);
    }
    if (exception instanceof HttpException) {
      return problem(exception.getStatus(), exception.message, []);
    }
    this.logger.error(
      `${request.method} ${request.originalUrl} failed`,
      exception instanceof Error ? exception.stack : String(exception),
    );
    return problem(
      HttpStatus.INTERNAL_SERVER_ERROR,
      'An unexpected error occurred; it has been logged.',
      [],
    );
  }
}
