// The engine's vocabulary: architecture, hardware, request, result, enums and errors.
export * from './architecture';
export * from './enums';
export * from './errors';
export * from './hardware';
export * from './request';
export * from './result';
